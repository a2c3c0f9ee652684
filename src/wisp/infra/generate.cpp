// The infrastructure stack's template: the template's non-wisp resources and SAM's
// expansions, references into wisp's side as parameters, values wisp's side needs as outputs,
// and the early/late split (see infra.hpp).

#include <wisp/infra/detail.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace wisp::infra {

namespace json = boost::json;
using detail::Reference;

bool StackTemplate::empty() const {
  const auto* resources = body.if_contains("Resources");
  return resources == nullptr || !resources->is_object() || resources->as_object().empty();
}

namespace {

const std::set<std::string, std::less<>> k_wisp_types = {
    "AWS::Serverless::Function", "AWS::Lambda::Function", "AWS::Serverless::Api",
    "AWS::Serverless::HttpApi", "AWS::Serverless::LayerVersion"};

// SAM resource types wisp cannot put in the stack yet: a clear error, never a silent skip.
const std::map<std::string, std::string, std::less<>> k_refused = {
    {"AWS::Serverless::Connector", "AWS::Serverless::Connector is not deployed by wisp yet; write "
                                   "the policies it stands for in Policies"},
    {"AWS::Serverless::GraphQLApi", "AWS::Serverless::GraphQLApi is not deployed by wisp yet"},
    {"AWS::Serverless::WebSocketApi", "AWS::Serverless::WebSocketApi is not deployed by wisp yet"},
    {"AWS::Serverless::CapacityProvider",
     "AWS::Serverless::CapacityProvider is not deployed by wisp yet"},
};

// Types that check, when CloudFormation creates them, that the function they name exists
// (and, for S3 notifications, that it may be invoked).
const std::set<std::string, std::less<>> k_needs_function = {
    "AWS::Lambda::Permission",        "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::EventInvokeConfig", "AWS::Lambda::Url",
    "AWS::Logs::SubscriptionFilter",  "AWS::CloudFormation::CustomResource"};

// Properties that name a function to invoke: given the stage alias there, not the name.
bool qualified_property(std::string_view type, std::string_view property) {
  if (property != "FunctionName")
    return false;
  return type == "AWS::Lambda::Permission" || type == "AWS::Lambda::EventSourceMapping" ||
         type == "AWS::Lambda::EventInvokeConfig";
}

struct Param {
  std::string value;
  bool unknown = false;        // the value does not exist before the functions phase
  bool needs_function = false; // a function alias this deploy creates
  bool needs_role = false;     // a role this deploy creates (after the stack's first change set)
  bool no_echo = false;
  std::string of{}; // the logical id of what of wisp's side it is the value of
};

class Generator {
public:
  Generator(const sam::Model& model, const Inputs& inputs) : m_model(model), m_in(inputs) {}

  support::Result<StackTemplate> run() {
    // What is wisp's.
    for (const auto& f : m_in.functions)
      m_functions[f.logical_id] = &f;
    for (const auto& a : m_in.apis)
      m_apis[a.logical_id] = &a;
    for (const auto& r : m_in.roles)
      m_roles[r.logical_id] = &r;
    for (const auto& a : m_in.alarms)
      m_alarms[a.logical_id] = &a;

    detail::ExpandContext context{m_model, m_in, m_resources, m_out.sources, m_out.warnings};
    // Plain resources and SAM's resource expansions, in template order.
    for (const auto& resource : m_model.resources) {
      if (wisp_owned(resource, m_in))
        continue;
      if (auto refused = k_refused.find(resource.type); refused != k_refused.end())
        return fail_at(resource.source,
                       fmt::format("{}: {}", resource.logical_id, refused->second));
      const auto nested = m_in.nested_urls.find(resource.logical_id);
      if (resource.type == "AWS::Serverless::Application") {
        // A local Location is uploaded (nested_templates); a remote one is refused there.
        json::object body{{"Type", resource.type}, {"Properties", resource.properties}};
        application_to_stack(body,
                             nested == m_in.nested_urls.end() ? std::string() : nested->second);
        m_resources[resource.logical_id] = std::move(body);
        m_out.sources[resource.logical_id] = resource.source;
      } else if (resource.type == "AWS::Serverless::SimpleTable") {
        WISP_TRY(detail::expand_simple_table(resource, context));
      } else if (resource.type == "AWS::Serverless::StateMachine") {
        WISP_TRY(detail::expand_state_machine(resource, context));
      } else if (resource.type.starts_with("AWS::Serverless::")) {
        return fail_at(resource.source, fmt::format("{}: {} is not deployed by wisp yet",
                                                    resource.logical_id, resource.type));
      } else {
        json::object body{{"Type", resource.type}};
        if (!resource.properties.empty())
          body["Properties"] = resource.properties;
        if (nested != m_in.nested_urls.end()) // a local TemplateURL, uploaded
          body["Properties"].as_object()["TemplateURL"] = nested->second;
        if (!resource.metadata.empty())
          body["Metadata"] = resource.metadata;
        m_resources[resource.logical_id] = std::move(body);
        m_out.sources[resource.logical_id] = resource.source;
      }
      // Resource attributes and DependsOn go on the resource SAM's expansion names alike.
      if (auto* body = m_resources.if_contains(resource.logical_id); body && body->is_object()) {
        for (const auto& item : resource.attributes)
          body->as_object()[item.key()] = item.value();
        if (!resource.depends_on.empty()) {
          json::array depends;
          for (const auto& d : resource.depends_on)
            depends.emplace_back(d);
          body->as_object()["DependsOn"] = std::move(depends);
        }
      }
    }
    // Function event sources.
    for (const auto& function : m_model.functions)
      for (const auto& event : function.events) {
        if (function.logical_id.find('/') != std::string::npos)
          break; // a nested stack's function: its events are that stack's (nested_generate.cpp)
        WISP_TRY_ASSIGN(const bool done, detail::expand_function_event(function, event, context));
        if (done)
          m_out.deployed_events.insert(function.logical_id + "." + event.name);
      }
    for (const auto& item : m_resources)
      m_out.types[std::string(item.key())] = type_of(item.value());

    // References into wisp's side become parameters; DependsOn on wisp's side goes.
    for (auto& item : m_resources) {
      const std::string id(item.key());
      auto& body = item.value().as_object();
      const auto type = type_of(item.value());
      if (auto* depends = body.if_contains("DependsOn")) {
        json::array kept;
        const auto keep = [&](const json::value& d) {
          if (d.is_string() && m_resources.contains(d.as_string()))
            kept.push_back(d);
        };
        if (depends->is_string())
          keep(*depends);
        else if (depends->is_array())
          for (const auto& d : depends->as_array())
            keep(d);
        if (kept.empty())
          body.erase("DependsOn");
        else
          *depends = std::move(kept);
      }
      if (auto* properties = body.if_contains("Properties"); properties && properties->is_object())
        for (auto& property : properties->as_object()) {
          const bool qualified = qualified_property(type, property.key());
          auto done = detail::rewrite_references(property.value(), [&](const Reference& r) {
            return rewrite(r, qualified, m_used[id]);
          });
          if (!done)
            return fail_at(m_out.sources[id], fmt::format("{}: {}", id, done.error().message));
        }
    }

    // Values wisp's side needs: outputs.
    WISP_TRY(collect_exports());
    // The template's own Outputs, when everything they name is in the stack. One naming what
    // exists only after the functions phase (a new API's id) is late: the early template goes
    // without it, the final one has it, so the next deploy finds the stack as it wants it.
    json::object outputs;
    for (const auto& item : m_model.outputs) {
      if (!item.value().is_object() || item.value().as_object().contains("Condition"))
        continue;
      json::value output = item.value();
      std::set<std::string> used;
      bool ok = true;
      auto done = detail::rewrite_references(output, [&](const Reference& r) {
        auto replaced = rewrite(r, false, used);
        if (!replaced)
          ok = false;
        return replaced ? std::move(replaced)
                        : support::Result<std::optional<json::value>>(std::nullopt);
      });
      if (!done || !ok)
        continue;
      outputs[item.key()] = std::move(output);
      m_output_uses[std::string(item.key())] = std::move(used);
    }
    for (const auto& e : m_out.exports)
      outputs[e.output] = json::object{
          {"Value",
           e.attribute.empty()
               ? json::value(json::object{{"Ref", e.logical_id}})
               : json::value(json::object{{"Fn::GetAtt", json::array{json::value(e.logical_id),
                                                                     json::value(e.attribute)}}})}};

    hide_secrets(outputs);
    WISP_TRY(split(outputs));
    for (const auto& item : m_resources) {
      const auto& attrs = item.value().as_object();
      if (const auto* policy = attrs.if_contains("DeletionPolicy");
          policy && policy->is_string() && policy->as_string() != "Delete")
        m_out.retained.emplace_back(item.key());
    }
    return std::move(m_out);
  }

private:
  static std::string type_of(const json::value& body) {
    if (body.is_object())
      if (const auto* t = body.as_object().if_contains("Type"); t && t->is_string())
        return std::string(t->as_string());
    return {};
  }

  static tl::unexpected<support::Error> fail_at(const sam::SourceRef& where,
                                                const std::string& message) {
    if (where.file.empty() || message.starts_with(where.file + ":"))
      return tl::unexpected(support::Error{message, {}, support::ExitCode::failure});
    return tl::unexpected(
        support::Error{fmt::format("{}:{}:{}: {}", where.file, where.line, where.column, message),
                       {},
                       support::ExitCode::failure});
  }

  // A parameter for a value of wisp's side.
  json::value parameter(const std::string& key, Param param) {
    auto [it, inserted] = m_params.emplace(key, param);
    if (!inserted) {
      if (it->second.of.empty())
        it->second.of = param.of;
      it->second.unknown = it->second.unknown || param.unknown;
      it->second.needs_function = it->second.needs_function || param.needs_function;
    }
    return json::object{{"Ref", key}};
  }

  support::Result<std::optional<json::value>> rewrite(const Reference& r, bool qualified,
                                                      std::set<std::string>& used) {
    if (m_resources.contains(r.id) || m_in.parameters.contains(r.id))
      return std::nullopt;
    const auto use = [&](const std::string& key, Param param) -> std::optional<json::value> {
      used.insert(key);
      if (param.of.empty())
        param.of = r.id;
      return parameter(key, std::move(param));
    };
    const auto base = "Wisp" + detail::alphanumeric(r.id);
    // A function, its stage alias (SAM's "<F>Alias<alias>" and "F.Alias"), its role.
    const auto alias_of = [&](const WispFunction& f) {
      Param alias{f.alias_arn, false, !f.exists};
      alias.of = f.logical_id;
      return use("Wisp" + detail::alphanumeric(f.logical_id) + "Alias", std::move(alias));
    };
    if (auto it = m_functions.find(r.id); it != m_functions.end()) {
      const auto& f = *it->second;
      // `${Fn.Arn}:live` in a Fn::Sub: the template names the alias itself; the function's
      // own ARN, not its stage alias's (which would read `...:live:live`).
      if (r.attribute == "Arn" && r.qualified && f.alias_arn.ends_with(":" + f.alias))
        return use(base + "Arn",
                   Param{f.alias_arn.substr(0, f.alias_arn.size() - f.alias.size() - 1), false,
                         !f.exists});
      if (r.attribute == "Alias" || r.attribute == "Arn" || (r.attribute.empty() && qualified))
        return alias_of(f);
      if (r.attribute.empty())
        return use(base + "Name", Param{f.name, false, false});
      return support::failf("Fn::GetAtt {}.{}: wisp knows the function's Arn (its stage alias) "
                            "and name, not {}",
                            r.id, r.attribute, r.attribute);
    }
    for (const auto& f : m_in.functions) {
      if (r.id == fmt::format("{}Alias{}", f.logical_id, detail::alphanumeric(f.alias)))
        return alias_of(f);
      if (r.id == f.logical_id + "Role" && !f.role_name.empty()) {
        if (r.attribute == "Arn")
          return use(base + "Arn", Param{f.role_arn, false, false, !f.exists && !f.role_exists});
        if (r.attribute.empty())
          return use(base + "Name", Param{f.role_name, false, false, !f.exists && !f.role_exists});
      }
    }
    for (const auto* things : {&m_roles, &m_alarms}) {
      auto it = things->find(r.id);
      if (it == things->end())
        continue;
      const bool later = !it->second->exists;
      if (r.attribute == "Arn")
        return use(base + "Arn", Param{it->second->arn, false, false, later});
      if (r.attribute.empty())
        return use(base + "Name", Param{it->second->name, false, false, later});
      return support::failf("Fn::GetAtt {}.{}: wisp knows the Arn and the name of {}, not {}", r.id,
                            r.attribute, r.id, r.attribute);
    }
    for (const auto& layer : m_in.layers)
      if (layer.logical_id == r.id) {
        if (!r.attribute.empty())
          return support::failf("Fn::GetAtt {}.{}: a layer has no attributes", r.id, r.attribute);
        return use(base + "Arn", Param{layer.arn, layer.arn.empty()});
      }
    if (auto it = m_apis.find(r.id); it != m_apis.end()) {
      const auto& api = *it->second;
      if (r.attribute.empty())
        return use(base + "Id", Param{api.id, api.id.empty()});
      if (r.attribute == "ApiEndpoint")
        return use(base + "Endpoint",
                   Param{api.id.empty() ? std::string()
                                        : fmt::format("https://{}.execute-api.{}.amazonaws.com",
                                                      api.id, m_in.region),
                         api.id.empty()});
      // SAM's `!Ref Api.Stage` (and `${Api.Stage}` in Fn::Sub): the stage's name, as
      // aws-sam-translator resolves it (to the Ref of the stage it generates); known once the
      // API is, so what names it waits for the API like the API's id.
      if (r.attribute == "Stage")
        return use(base + "Stage", Param{api.stage, api.id.empty()});
      return support::failf("Fn::GetAtt {}.{}: not known for an API wisp deploys", r.id,
                            r.attribute);
    }
    for (const auto& api : m_in.apis)
      if (r.id == api.logical_id + detail::alphanumeric(api.stage) + "Stage" && r.attribute.empty())
        return std::optional<json::value>(json::value(api.stage));
    if (const auto* resource = m_model.find_resource(r.id))
      return support::failf("{} ({}) is deployed by wisp, and the stack cannot name it", r.id,
                            resource->type);
    return support::failf("{} names nothing in the template (a parameter without a value? pass "
                          "it with --parameter-overrides {}=VALUE)",
                          r.id, r.id);
  }

  // References from wisp's side (functions, their roles and policies, APIs, alarms) into the
  // stack: each becomes an output wisp reads after the stack is deployed.
  support::Status collect_exports() {
    std::set<std::pair<std::string, std::string>> seen;
    const auto collect = [&](const json::value& value, const std::string& owner) {
      detail::for_each_reference(value, [&](const Reference& r) {
        if (!m_resources.contains(r.id))
          return;
        auto attribute = r.attribute;
        if (!seen.emplace(r.id, attribute).second)
          return;
        Export e;
        e.logical_id = r.id;
        e.attribute = attribute;
        e.type = m_out.types[r.id];
        e.output = attribute.empty()
                       ? "WispRef" + detail::alphanumeric(r.id)
                       : "WispAtt" + detail::alphanumeric(r.id) + detail::alphanumeric(attribute);
        m_export_from[e.output] = owner;
        m_out.exports.push_back(std::move(e));
      });
    };
    for (const auto& resource : m_model.resources) {
      if (!wisp_owned(resource, m_in))
        continue;
      for (const auto& item : resource.properties)
        if (item.key() != "Events")
          collect(item.value(), resource.logical_id);
    }
    // An API's OpenAPI body read from a file (DefinitionUri, AWS::Include) is not in its
    // properties: its integrations' roles, queues and tables are references too.
    for (const auto& api : m_model.apis)
      if (api.definition_body && std::any_of(m_model.resources.begin(), m_model.resources.end(),
                                             [&](const sam::Resource& r) {
                                               return r.logical_id == api.logical_id &&
                                                      wisp_owned(r, m_in);
                                             }))
        collect(*api.definition_body, api.logical_id);
    return {};
  }

  // NoEcho parameter values and the stand-in AWS::StackId the loader used go back to being
  // references, so the template never carries a secret.
  void hide_secrets(json::object& outputs) {
    struct Hidden {
      std::string text;
      std::string reference; // a parameter (NoEcho) or AWS::StackId
    };
    std::vector<Hidden> hidden;
    for (const auto& name : m_model.no_echo_parameters) {
      auto it = m_model.parameters.find(name);
      if (it != m_model.parameters.end() && !it->second.empty())
        hidden.push_back({it->second, "WispSecret" + detail::alphanumeric(name)});
    }
    hidden.push_back(
        {fmt::format("arn:{}:cloudformation:{}:{}:stack/{}/00000000-0000-0000-0000-000000000000",
                     m_in.region.starts_with("cn-") ? "aws-cn" : "aws", m_in.region, m_in.account,
                     m_in.stack),
         "AWS::StackId"});
    std::map<std::string, std::string> used; // parameter → value
    const std::function<void(json::value&)> walk = [&](json::value& v) {
      if (v.is_string()) {
        const std::string text(v.as_string());
        for (const auto& h : hidden) {
          if (text.find(h.text) == std::string::npos)
            continue;
          if (h.reference != "AWS::StackId")
            used[h.reference] = h.text;
          json::array parts;
          std::size_t at = 0;
          for (auto pos = text.find(h.text); pos != std::string::npos;
               pos = text.find(h.text, at)) {
            if (pos > at)
              parts.emplace_back(text.substr(at, pos - at));
            parts.push_back(json::object{{"Ref", h.reference}});
            at = pos + h.text.size();
          }
          if (at < text.size())
            parts.emplace_back(text.substr(at));
          v = parts.size() == 1
                  ? parts[0]
                  : json::value(json::object{{"Fn::Join", json::array{"", std::move(parts)}}});
          return;
        }
      } else if (v.is_array()) {
        for (auto& item : v.as_array())
          walk(item);
      } else if (v.is_object()) {
        for (auto& item : v.as_object())
          walk(item.value());
      }
    };
    for (auto& item : m_resources)
      walk(item.value());
    for (auto& item : outputs)
      walk(item.value());
    for (const auto& [key, value] : used)
      m_params[key] = Param{.value = value, .no_echo = true};
  }

  // Resources that must wait for the functions phase, and the templates before and after.
  support::Status split(const json::object& outputs) {
    // Which stack resources each resource names (Ref/GetAtt/Sub), apart from DependsOn.
    std::map<std::string, std::set<std::string>> names;
    for (const auto& item : m_resources) {
      const std::string id(item.key());
      if (const auto* p = item.value().as_object().if_contains("Properties"))
        detail::for_each_reference(*p, [&](const Reference& r) {
          if (m_resources.contains(r.id))
            names[id].insert(r.id);
        });
    }
    // Why a late resource waits: what of wisp's side it names and why that matters, or the
    // late resource of the stack it names (why empty).
    std::map<std::string, std::pair<std::string, std::string>> waits_for;
    const auto late_by_params = [&](const std::string& id, const json::value& body) {
      const auto type = type_of(body);
      for (const auto& key : m_used[id]) {
        const auto& p = m_params[key];
        if (p.unknown || p.needs_role) { // IAM checks that a role exists (policies, assumers)
          waits_for[id] = {p.of, p.needs_role
                                     ? "a role wisp creates after the stack's first change set; "
                                       "IAM checks that a role exists"
                                     : "known only after wisp's functions phase"};
          return true;
        }
        if (p.needs_function && (k_needs_function.contains(type) || type.starts_with("Custom::"))) {
          waits_for[id] = {p.of, fmt::format("a function wisp creates after the stack's first "
                                             "change set; {} checks that it exists",
                                             type)};
          return true;
        }
      }
      return false;
    };
    auto& late = m_out.late;
    for (const auto& item : m_resources)
      if (late_by_params(std::string(item.key()), item.value()))
        late.insert(std::string(item.key()));
    // S3 buckets keep their place: only their notifications to new functions wait.
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& item : m_resources) {
        const std::string id(item.key());
        if (late.contains(id))
          continue;
        bool is_late = false;
        for (const auto& other : names[id])
          if (late.contains(other) && !notification_only(item.value(), other)) {
            is_late = true;
            waits_for.emplace(id, std::pair{other, std::string()});
          }
        if (is_late) {
          late.insert(id);
          grew = true;
        }
      }
    }
    // A value wisp's side needs cannot wait for wisp's side.
    for (const auto& e : m_out.exports)
      if (late.contains(e.logical_id)) {
        const auto& from = m_export_from[e.output];
        // The chain from the exported resource to what of wisp's side it waits for.
        std::string chain;
        std::set<std::string> seen;
        for (std::string at = e.logical_id; seen.insert(at).second;) {
          auto it = waits_for.find(at);
          if (it == waits_for.end())
            break;
          const auto& [target, why] = it->second;
          chain += fmt::format("{}{} exists{}", chain.empty() ? "" : ", and that after ", target,
                               why.empty() ? "" : " (" + why + ")");
          if (!why.empty())
            break;
          at = target;
        }
        return fail_at(m_out.sources[e.logical_id],
                       fmt::format("{} and {} need each other: {} names {}{}, and {} ({}) can only "
                                   "be created after {}; pass the value as a parameter or give "
                                   "the resource a fixed name",
                                   from, e.logical_id, from, e.logical_id,
                                   e.attribute.empty() ? "" : "." + e.attribute, e.logical_id,
                                   m_out.types[e.logical_id],
                                   chain.empty() ? from + " exists" : chain));
      }

    const auto assemble = [&](bool early) {
      json::object resources;
      std::set<std::string> params;
      for (const auto& item : m_resources) {
        const std::string id(item.key());
        if (early && late.contains(id))
          continue;
        json::value body = item.value();
        if (early)
          strip_late(body, late);
        // `Properties: {}` where the template has none: the same resource to CloudFormation;
        // moto stores it so and then takes every later change set for a change of it (one
        // without an update, e.g. a log group, then loses its physical id).
        if (auto& attrs = body.as_object(); !attrs.contains("Properties"))
          attrs["Properties"] = json::object();
        resources[id] = std::move(body);
        // Parameters of what stays.
        detail::for_each_reference(resources[id], [&](const Reference& r) {
          if (m_params.contains(r.id))
            params.insert(r.id);
        });
      }
      json::object outs;
      for (const auto& item : outputs) {
        bool skip = false;
        if (early)
          detail::for_each_reference(item.value(), [&](const Reference& r) {
            if (late.contains(r.id) || (m_params.contains(r.id) && m_params[r.id].unknown))
              skip = true;
          });
        if (skip)
          continue;
        detail::for_each_reference(item.value(), [&](const Reference& r) {
          if (m_params.contains(r.id))
            params.insert(r.id);
        });
        outs[item.key()] = item.value();
      }
      json::object declared;
      for (const auto& key : params) {
        json::object p{{"Type", "String"}};
        if (m_params[key].no_echo)
          p["NoEcho"] = true;
        declared[key] = std::move(p);
      }
      json::object t{
          {"AWSTemplateFormatVersion", "2010-09-09"},
          {"Description", fmt::format("Infrastructure of {} (made by wisp deploy from {})",
                                      m_in.stack, m_model.template_path.filename().string())}};
      if (!declared.empty())
        t["Parameters"] = std::move(declared);
      t["Resources"] = std::move(resources);
      if (!outs.empty())
        t["Outputs"] = std::move(outs);
      return t;
    };
    m_out.body = assemble(false);
    m_out.early = assemble(true); // equal to body when nothing waits
    for (const auto& [key, p] : m_params)
      m_out.parameters.push_back({key, p.value, p.no_echo});
    return {};
  }

  // True when `body` names `other` only from an S3 notification entry (stripped early).
  bool notification_only(const json::value& body, const std::string& other) const {
    if (type_of(body) != "AWS::S3::Bucket")
      return false;
    bool elsewhere = false;
    const auto& object = body.as_object();
    if (const auto* p = object.if_contains("Properties"); p && p->is_object())
      for (const auto& item : p->as_object())
        if (item.key() != "NotificationConfiguration")
          detail::for_each_reference(item.value(), [&](const Reference& r) {
            if (r.id == other)
              elsewhere = true;
          });
    return !elsewhere;
  }

  // The early form of a resource: DependsOn on late resources and S3 notifications naming
  // late things go.
  void strip_late(json::value& body, const std::set<std::string>& late) {
    auto& object = body.as_object();
    if (auto* depends = object.if_contains("DependsOn"); depends && depends->is_array()) {
      json::array kept;
      for (const auto& d : depends->as_array())
        if (!(d.is_string() && late.contains(std::string(d.as_string()))))
          kept.push_back(d);
      if (kept.empty())
        object.erase("DependsOn");
      else
        *depends = std::move(kept);
    }
    if (type_of(body) != "AWS::S3::Bucket")
      return;
    auto* p = object.if_contains("Properties");
    if (p == nullptr || !p->is_object())
      return;
    auto* n = p->as_object().if_contains("NotificationConfiguration");
    if (n == nullptr || !n->is_object())
      return;
    auto* lambdas = n->as_object().if_contains("LambdaConfigurations");
    if (lambdas == nullptr || !lambdas->is_array())
      return;
    json::array kept;
    for (const auto& entry : lambdas->as_array()) {
      bool waits = false;
      detail::for_each_reference(entry, [&](const Reference& r) {
        if (late.contains(r.id))
          waits = true;
        if (auto it = m_params.find(r.id);
            it != m_params.end() && (it->second.unknown || it->second.needs_function))
          waits = true;
      });
      if (!waits)
        kept.push_back(entry);
    }
    if (kept.empty())
      n->as_object().erase("LambdaConfigurations");
    else
      *lambdas = std::move(kept);
    if (n->as_object().empty())
      p->as_object().erase("NotificationConfiguration");
  }

  const sam::Model& m_model;
  const Inputs& m_in;
  StackTemplate m_out;
  json::object m_resources;
  std::map<std::string, const WispFunction*> m_functions;
  std::map<std::string, const WispApi*> m_apis;
  std::map<std::string, const WispName*> m_roles;
  std::map<std::string, const WispName*> m_alarms;
  std::map<std::string, Param> m_params;
  std::map<std::string, std::set<std::string>> m_used; // resource → parameters it uses
  std::map<std::string, std::set<std::string>> m_output_uses;
  std::map<std::string, std::string> m_export_from; // output → the wisp resource needing it
};

} // namespace

bool wisp_owned(const sam::Resource& resource, const Inputs& inputs) {
  if (k_wisp_types.contains(resource.type))
    return true;
  const auto listed = [&](const std::vector<WispName>& names) {
    return std::any_of(names.begin(), names.end(),
                       [&](const WispName& n) { return n.logical_id == resource.logical_id; });
  };
  return (resource.type == "AWS::IAM::Role" && listed(inputs.roles)) ||
         (resource.type == "AWS::CloudWatch::Alarm" && listed(inputs.alarms)) ||
         (resource.type == "AWS::Lambda::LayerVersion" && listed(inputs.layers));
}

support::Result<StackTemplate> generate(const sam::Model& model, const Inputs& inputs) {
  WISP_TRY_ASSIGN(auto stack, Generator(model, inputs).run());
  WISP_TRY(detail::generate_children(model, inputs, stack, generate));
  return stack;
}

} // namespace wisp::infra
