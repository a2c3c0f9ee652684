#pragma once
// Internal to the deploy area: what build_desired (desired.cpp) shares with the OpenAPI and
// CORS pieces of APIs (desired_openapi.cpp): the resolver of references wisp's side knows,
// and the translations of an OpenAPI body's operations, models and CORS into API specs.

#include <wisp/deploy/desired.hpp>
#include <wisp/deploy/naming.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::deploy::detail {

namespace json = boost::json;

// Resolves what the template loader left symbolic because it names a resource: Ref and
// Fn::GetAtt of functions, roles, alarms and the infrastructure stack's resources, inside
// Fn::Sub and Fn::Join too.
class DeployResolver {
public:
  DeployResolver(const sam::Model& model, const Desired& desired, const InfraValues* infra)
      : m_model(model), m_desired(desired), m_infra(infra) {}

  // Every intrinsic inside `value` resolved to a string (policy documents, parameters).
  support::Result<json::value> deep(const json::value& value, std::string_view context) const {
    if (value.is_array()) {
      json::array out;
      for (const auto& item : value.as_array()) {
        WISP_TRY_ASSIGN(auto resolved, deep(item, context));
        out.push_back(std::move(resolved));
      }
      return out;
    }
    if (!value.is_object())
      return value;
    const auto& object = value.as_object();
    if (object.size() == 1) {
      const auto key = std::string_view(object.begin()->key());
      if (key == "Ref" || key.starts_with("Fn::")) {
        WISP_TRY_ASSIGN(auto text_value, text(value, context));
        return json::value(text_value);
      }
    }
    json::object out;
    for (const auto& item : object) {
      WISP_TRY_ASSIGN(auto resolved, deep(item.value(), context));
      out[item.key()] = std::move(resolved);
    }
    return out;
  }

  support::Result<std::string> text(const json::value& value, std::string_view context) const {
    if (value.is_string())
      return std::string(value.as_string());
    if (value.is_int64() || value.is_uint64() || value.is_double() || value.is_bool())
      return json::serialize(value);
    if (value.is_object() && value.as_object().size() == 1) {
      const auto& item = *value.as_object().begin();
      const auto key = std::string_view(item.key());
      if (key == "Ref" && item.value().is_string())
        return ref(std::string(item.value().as_string()), context);
      if (key == "Fn::GetAtt") {
        std::vector<std::string> parts;
        if (item.value().is_string())
          parts = support::split(std::string(item.value().as_string()), '.');
        else if (item.value().is_array())
          for (const auto& p : item.value().as_array())
            if (p.is_string())
              parts.emplace_back(p.as_string());
        if (parts.size() == 2)
          return get_att(parts[0], parts[1], context);
      }
      if (key == "Fn::Sub")
        return sub(item.value(), context);
      if (key == "Fn::Join" && item.value().is_array() && item.value().as_array().size() == 2 &&
          item.value().as_array()[0].is_string() && item.value().as_array()[1].is_array()) {
        std::string out;
        bool first = true;
        for (const auto& part : item.value().as_array()[1].as_array()) {
          WISP_TRY_ASSIGN(auto piece, text(part, context));
          if (!first)
            out += item.value().as_array()[0].as_string();
          out += piece;
          first = false;
        }
        return out;
      }
      if (key == "Fn::Select")
        return select(item.value(), context);
      return support::failf("{}: {} cannot be resolved before deploying", context, key);
    }
    return support::failf("{}: expected a string", context);
  }

private:
  support::Result<std::string> ref(const std::string& name, std::string_view context) const {
    const auto dot = name.find('.');
    if (dot != std::string::npos) {
      const auto base = name.substr(0, dot);
      const auto attribute = name.substr(dot + 1);
      if (attribute == "Alias")
        if (const auto* f = m_desired.function(base))
          return f->arn + ":" + f->alias;
      return support::failf("{}: Ref {} cannot be resolved before deploying", context, name);
    }
    if (const auto* f = m_desired.function(name))
      return f->name;
    if (auto it = m_desired.roles.find(name); it != m_desired.roles.end())
      return it->second.name;
    for (const auto& alarm : m_desired.alarms)
      if (alarm.logical_id == name)
        return alarm.name;
    if (auto value = infra(name))
      return *value;
    if (const auto* resource = m_model.find_resource(name))
      return support::failf("{}: Ref {} ({}) cannot be resolved: wisp deploys functions, APIs, "
                            "roles and alarms, not {}; pass its name as a parameter",
                            context, name, resource->type, resource->type);
    return support::failf("{}: Ref {} names nothing in the template (a parameter without a "
                          "value? pass it with --parameter-overrides {}=VALUE)",
                          context, name, name);
  }

  support::Result<std::string> get_att(const std::string& resource, const std::string& attribute,
                                       std::string_view context) const {
    if (const auto* f = m_desired.function(resource)) {
      if (attribute == "Arn")
        return f->arn;
    }
    if (auto it = m_desired.roles.find(resource); it != m_desired.roles.end()) {
      if (attribute == "Arn")
        return it->second.arn;
    }
    for (const auto& alarm : m_desired.alarms)
      if (alarm.logical_id == resource && attribute == "Arn")
        return fmt::format("arn:{}:cloudwatch:{}:{}:alarm:{}", partition(m_desired.region),
                           m_desired.region, m_desired.account, alarm.name);
    if (auto value = infra(resource + "." + attribute))
      return *value;
    return support::failf("{}: Fn::GetAtt {}.{} cannot be resolved before deploying", context,
                          resource, attribute);
  }

  support::Result<std::string> sub(const json::value& argument, std::string_view context) const {
    std::string pattern;
    std::map<std::string, std::string> variables;
    if (argument.is_string()) {
      pattern = std::string(argument.as_string());
    } else if (argument.is_array() && argument.as_array().size() == 2 &&
               argument.as_array()[0].is_string() && argument.as_array()[1].is_object()) {
      pattern = std::string(argument.as_array()[0].as_string());
      for (const auto& item : argument.as_array()[1].as_object()) {
        WISP_TRY_ASSIGN(variables[std::string(item.key())], text(item.value(), context));
      }
    } else {
      return support::failf("{}: malformed Fn::Sub", context);
    }
    std::string out;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (pattern[i] == '$' && i + 1 < pattern.size() && pattern[i + 1] == '{') {
        const auto close = pattern.find('}', i);
        if (close == std::string::npos)
          return support::failf("{}: unterminated ${{ in Fn::Sub", context);
        const auto name = pattern.substr(i + 2, close - i - 2);
        if (!name.empty() && name[0] == '!') {
          out += "${" + name.substr(1) + "}";
        } else if (auto it = variables.find(name); it != variables.end()) {
          out += it->second;
        } else if (const auto dot = name.find('.');
                   dot != std::string::npos && name.substr(dot + 1) != "Alias") {
          WISP_TRY_ASSIGN(auto value, get_att(name.substr(0, dot), name.substr(dot + 1), context));
          out += value;
        } else {
          WISP_TRY_ASSIGN(auto value, ref(name, context));
          out += value;
        }
        i = close;
        continue;
      }
      out += pattern[i];
    }
    return out;
  }

  // Fn::Select from a list written out or made by Fn::Split (how apps take a part of an ARN:
  // `!Select [3, !Split ["/", !GetAtt Table.StreamArn]]`). A value of the stack not deployed
  // yet stays pending (for the plan only).
  support::Result<std::string> select(const json::value& argument, std::string_view context) const {
    if (!argument.is_array() || argument.as_array().size() != 2)
      return support::failf("{}: Fn::Select needs [index, list]", context);
    const auto& args = argument.as_array();
    WISP_TRY_ASSIGN(const auto index_text, text(args[0], context));
    std::size_t index = 0;
    const auto* first = index_text.data();
    const auto* last = first + index_text.size();
    if (const auto [end, ec] = std::from_chars(first, last, index);
        ec != std::errc() || end != last)
      return support::failf("{}: Fn::Select index {} is not a whole number", context, index_text);
    std::vector<std::string> items;
    const auto& list = args[1];
    if (list.is_array()) {
      for (const auto& item : list.as_array()) {
        WISP_TRY_ASSIGN(auto value, text(item, context));
        items.push_back(std::move(value));
      }
    } else if (const auto* split = list.is_object() && list.as_object().size() == 1
                                       ? list.as_object().if_contains("Fn::Split")
                                       : nullptr) {
      if (!split->is_array() || split->as_array().size() != 2 ||
          !split->as_array()[0].is_string() || split->as_array()[0].as_string().empty())
        return support::failf("{}: Fn::Split needs [delimiter, string]", context);
      const std::string delimiter(split->as_array()[0].as_string());
      WISP_TRY_ASSIGN(const auto source, text(split->as_array()[1], context));
      if (is_pending(source))
        return source;
      std::size_t at = 0;
      for (auto next = source.find(delimiter); next != std::string::npos;
           at = next + delimiter.size(), next = source.find(delimiter, at))
        items.push_back(source.substr(at, next - at));
      items.push_back(source.substr(at));
    } else {
      return support::failf("{}: Fn::Select of this list cannot be resolved before deploying",
                            context);
    }
    if (index >= items.size())
      return support::failf("{}: Fn::Select cannot select nonexistent value at index {}", context,
                            index);
    return items[index];
  }

  // A value of the infrastructure stack ("Table" or "Table.Arn"); pending before it deployed.
  std::optional<std::string> infra(const std::string& reference) const {
    if (m_infra == nullptr)
      return std::nullopt;
    const auto id = reference.substr(0, reference.find('.'));
    if (!m_infra->ids.contains(id))
      return std::nullopt;
    if (auto it = m_infra->values.find(reference); it != m_infra->values.end())
      return it->second;
    return pending_value(reference);
  }

  const sam::Model& m_model;
  const Desired& m_desired;
  const InfraValues* m_infra;
};

std::string upper(std::string text);

// Python's truth of a template value (what aws-sam-translator's `if value:` tests).
bool truthy(const json::value& v);

// An OpenAPI operation whose x-amazon-apigateway-integration is not a Lambda proxy
// integration to a function of the template, as the bodies of API Gateway's PutMethod,
// PutIntegration, PutIntegrationResponse and PutMethodResponse (what API Gateway's import
// makes of it).
support::Result<RouteSpec> other_route(const DeployResolver& resolver, const std::string& method,
                                       const std::string& path, const json::object& operation,
                                       const json::object& path_item, const std::string& where);

// An HTTP API operation whose x-amazon-apigateway-integration is not a Lambda proxy
// integration to a function of the template, as the body of API Gateway v2's CreateIntegration.
support::Result<RouteSpec> http_other_route(const DeployResolver& resolver,
                                            const std::string& method, const std::string& path,
                                            const json::object& operation,
                                            const std::string& where);

// A REST API's Cors (resolved), as aws-sam-translator's api_generator._add_cors reads it.
struct RestCors {
  json::value origin = "'*'";
  json::value headers;
  json::value methods;
  json::value max_age;
  bool credentials = false;
};

support::Result<RestCors> rest_cors(const json::value& value);

// The OPTIONS operation SAM's SwaggerEditor.add_cors puts on a path (see desired_openapi.cpp).
json::object cors_operation(const RestCors& c, const std::vector<std::string>& keys);

// An HTTP API's CORS configuration in API Gateway v2's form; nullopt when there is none.
support::Result<std::optional<json::object>> http_cors(const json::value* property,
                                                       const json::value* extension);

// Models, request validators and gateway responses of a REST API's body, and each route's
// validator and request models, as API Gateway's import makes them.
support::Status definition_extras(const DeployResolver& resolver, const sam::Api& api,
                                  ApiSpec& spec, std::vector<std::string>& warnings);

} // namespace wisp::deploy::detail
