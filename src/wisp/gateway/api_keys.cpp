// API keys (api_keys.hpp).

#include <wisp/gateway/api_keys.hpp>
#include <wisp/gateway/text.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

namespace wisp::gateway {

namespace json = boost::json;

namespace {

const json::value* member(const json::value* value, std::string_view key) {
  if (value == nullptr || !value->is_object())
    return nullptr;
  return value->as_object().if_contains(key);
}

std::optional<bool> boolean(const json::value* value) {
  if (value == nullptr)
    return std::nullopt;
  if (value->is_bool())
    return value->as_bool();
  if (value->is_string() && (value->as_string() == "true" || value->as_string() == "false"))
    return value->as_string() == "true";
  return std::nullopt;
}

// Does the first requirement of an OpenAPI `security` list name an API key scheme?
// nullopt: no requirement written.
std::optional<bool> requires_key(const sam::Api& api, const json::value* security) {
  if (security == nullptr || !security->is_array())
    return std::nullopt;
  if (security->as_array().empty())
    return false;
  const auto& first = security->as_array().front();
  if (!first.is_object())
    return false;
  for (const auto& entry : first.as_object())
    if (is_api_key_scheme(api, entry.key()))
      return true;
  return false;
}

} // namespace

bool is_api_key_scheme(const sam::Api& api, std::string_view name) {
  if (!api.definition_body)
    return false;
  const auto* body = &*api.definition_body;
  for (const auto* schemes : {member(body, "securityDefinitions"),
                              member(member(body, "components"), "securitySchemes")}) {
    const auto* scheme = member(schemes, name);
    if (scheme == nullptr || !scheme->is_object())
      continue;
    const auto text = [&](std::string_view key) -> std::string_view {
      const auto* value = member(scheme, key);
      return value != nullptr && value->is_string() ? std::string_view(value->as_string())
                                                    : std::string_view();
    };
    if (text("type") == "apiKey" && iequals_ascii(text("name"), "x-api-key") &&
        text("in") == "header" && member(scheme, "x-amazon-apigateway-authtype") == nullptr)
      return true;
  }
  return false;
}

bool api_key_required(const sam::Model& model, const sam::Api& api, const sam::Route& route) {
  if (api.kind != sam::ApiKind::rest)
    return false;
  if (!route.event_name.empty()) {
    // An Api event of a function: its Auth, else the API's.
    if (const auto* function = model.find_resource(route.function_logical_id)) {
      const auto* events = function->properties.if_contains("Events");
      const auto* event = member(events, route.event_name);
      if (auto own = boolean(member(member(member(event, "Properties"), "Auth"), "ApiKeyRequired")))
        return *own;
    }
    if (const auto* resource = model.find_resource(api.logical_id))
      return boolean(member(resource->properties.if_contains("Auth"), "ApiKeyRequired"))
          .value_or(false);
    return false;
  }
  // An AWS::ApiGateway::Method (the route was read from the resource at its line).
  for (const auto& resource : model.resources)
    if (resource.type == "AWS::ApiGateway::Method" && resource.source.line == route.source.line &&
        resource.source.file == route.source.file)
      return boolean(resource.properties.if_contains("ApiKeyRequired")).value_or(false);
  // An operation of the OpenAPI DefinitionBody: an AWS::Serverless::Api's
  // Auth.ApiKeyRequired puts the api_key security on every operation of its body (SAM's
  // set_path_default_apikey_required, even over `security: []`); else the body's own.
  // An OPTIONS operation keeps none when AddApiKeyRequiredToCorsPreflight is false.
  if (const auto* resource = model.find_resource(api.logical_id);
      resource != nullptr && resource->type == "AWS::Serverless::Api") {
    const auto* auth = resource->properties.if_contains("Auth");
    if (boolean(member(auth, "ApiKeyRequired")).value_or(false))
      return route.method != "OPTIONS" ||
             boolean(member(auth, "AddApiKeyRequiredToCorsPreflight")).value_or(true);
  }
  if (api.definition_body) {
    std::string method = route.method == "ANY" ? "x-amazon-apigateway-any-method" : route.method;
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto* body = &*api.definition_body;
    const auto* operation = member(member(member(body, "paths"), route.path), method);
    if (auto own = requires_key(api, member(operation, "security")))
      return *own;
    return requires_key(api, member(body, "security")).value_or(false);
  }
  return false;
}

bool preflight_api_key_required(const sam::Model& model, const sam::Api& api) {
  if (api.kind != sam::ApiKind::rest || !api.cors)
    return false;
  const auto* resource = model.find_resource(api.logical_id);
  if (resource == nullptr || resource->type != "AWS::Serverless::Api")
    return false;
  const auto* auth = resource->properties.if_contains("Auth");
  return boolean(member(auth, "ApiKeyRequired")).value_or(false) &&
         boolean(member(auth, "AddApiKeyRequiredToCorsPreflight")).value_or(true);
}

ApiKeys::ApiKeys(const sam::Model& model) {
  for (const auto& resource : model.resources) {
    if (resource.type != "AWS::ApiGateway::ApiKey")
      continue;
    const auto* value = resource.properties.if_contains("Value");
    if (value == nullptr || !value->is_string() || value->as_string().empty())
      continue; // generated by API Gateway: not known locally
    Key key;
    key.id = stable_id("api key " + resource.logical_id, 10);
    // CreateApiKey's default: a key is disabled unless Enabled is true.
    const auto* enabled = resource.properties.if_contains("Enabled");
    key.enabled = enabled != nullptr && ((enabled->is_bool() && enabled->as_bool()) ||
                                         (enabled->is_string() && enabled->as_string() == "true"));
    m_keys.emplace(std::string(value->as_string()), std::move(key));
  }
}

std::optional<std::string> ApiKeys::id_of(std::string_view key) const {
  if (key.empty())
    return std::nullopt;
  if (m_keys.empty())
    return stable_id("api key " + std::string(key), 10);
  const auto it = m_keys.find(key);
  if (it == m_keys.end() || !it->second.enabled)
    return std::nullopt;
  return it->second.id;
}

} // namespace wisp::gateway
