#include <wisp/deploy/desired.hpp>
#include <wisp/deploy/desired_detail.hpp>

#include <wisp/artifact/zip.hpp>
#include <wisp/deploy/naming.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

namespace wisp::deploy {

namespace json = boost::json;

const FunctionSpec* Desired::function(std::string_view logical_id) const {
  for (const auto& f : functions)
    if (f.logical_id == logical_id)
      return &f;
  return nullptr;
}

std::string resolve_stage(const sam::Model& model, const std::string& stage_flag) {
  if (!stage_flag.empty())
    return stage_flag;
  std::set<std::string> aliases;
  for (const auto& function : model.functions)
    if (!function.auto_publish_alias.empty())
      aliases.insert(function.auto_publish_alias);
  if (aliases.size() == 1)
    return *aliases.begin();
  return "live";
}

std::string AuthorizerSpec::digest() const {
  json::array sources;
  for (const auto& s : identity_sources)
    sources.emplace_back(s);
  json::array providers;
  for (const auto& p : provider_arns)
    providers.emplace_back(p);
  json::array audiences;
  for (const auto& a : audience)
    audiences.emplace_back(a);
  return support::sha256_hex(canonical_json(json::array{
      json::value(name), json::value(type), json::value(uri), std::move(sources), ttl_seconds,
      json::value(validation_expression), std::move(providers), json::value(issuer),
      std::move(audiences), json::value(payload_format_version), simple_responses}));
}

std::string pending_value(std::string_view reference) {
  return fmt::format("<{} once the stack is deployed>", reference);
}

bool is_pending(std::string_view value) {
  return value.find(" once the stack is deployed>") != std::string_view::npos;
}

json::object usage_plan_fields(const json::value& plan) {
  json::object out;
  if (!plan.is_object())
    return out;
  const auto& o = plan.as_object();
  const auto number = [](const json::value& v) -> std::optional<double> {
    if (v.is_number())
      return v.to_number<double>();
    if (v.is_string()) {
      try {
        return std::stod(std::string(v.as_string()));
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
    return std::nullopt;
  };
  if (const auto* d = o.if_contains("description");
      d != nullptr && d->is_string() && !d->as_string().empty())
    out["description"] = *d;
  if (const auto* q = o.if_contains("quota"); q != nullptr && q->is_object()) {
    json::object quota;
    for (const char* key : {"limit", "offset"})
      if (const auto* v = q->as_object().if_contains(key))
        if (auto n = number(*v); n && !(std::string_view(key) == "offset" && *n == 0))
          quota[key] = static_cast<std::int64_t>(*n);
    if (const auto* v = q->as_object().if_contains("period"); v != nullptr && v->is_string())
      quota["period"] = *v;
    if (!quota.empty())
      out["quota"] = std::move(quota);
  }
  if (const auto* t = o.if_contains("throttle"); t != nullptr && t->is_object()) {
    json::object throttle;
    if (const auto* v = t->as_object().if_contains("burstLimit"))
      if (auto n = number(*v))
        throttle["burstLimit"] = static_cast<std::int64_t>(*n);
    if (const auto* v = t->as_object().if_contains("rateLimit"))
      if (auto n = number(*v))
        throttle["rateLimit"] = *n;
    if (!throttle.empty())
      out["throttle"] = std::move(throttle);
  }
  return out;
}

namespace {

using detail::cors_operation;
using detail::definition_extras;
using detail::DeployResolver;
using detail::http_cors;
using detail::http_other_route;
using detail::other_route;
using detail::rest_cors;
using detail::truthy;
using detail::upper;

std::string rest_integration_uri(const Desired& d, const std::string& function_arn,
                                 const std::string& alias_expression) {
  return fmt::format("arn:{}:apigateway:{}:lambda:path/2015-03-31/functions/{}:{}/invocations",
                     partition(d.region), d.region, function_arn, alias_expression);
}

const json::object& properties_of(const sam::Model& model, std::string_view logical_id) {
  static const json::object k_empty;
  const auto* resource = model.find_resource(logical_id);
  return resource != nullptr ? resource->properties : k_empty;
}

support::Status template_role(const sam::Model& model, const DeployResolver& resolver,
                              const std::string& logical_id, Desired& desired) {
  if (desired.roles.contains(logical_id))
    return {};
  const auto* resource = model.find_resource(logical_id);
  if (resource == nullptr || resource->type != "AWS::IAM::Role")
    return support::failf("Role {} is not an AWS::IAM::Role of the template", logical_id);
  auto resolved = resolver.deep(resource->properties, logical_id);
  if (!resolved)
    return support::fail(support::Diagnostic{resource->source.file, resource->source.line,
                                             resource->source.column, support::Severity::error,
                                             "deploy", resolved.error().message});
  const auto& p = resolved->as_object();
  RoleSpec role;
  role.logical_id = logical_id;
  if (const auto* name = p.if_contains("RoleName"); name != nullptr && name->is_string())
    role.name = std::string(name->as_string());
  else
    role.name = resource_name(desired.stack, logical_id, k_role_name_max);
  role.arn =
      fmt::format("arn:{}:iam::{}:role/{}", partition(desired.region), desired.account, role.name);
  const auto* trust = p.if_contains("AssumeRolePolicyDocument");
  if (trust == nullptr || !trust->is_object())
    return support::fail(support::Diagnostic{
        resource->source.file, resource->source.line, resource->source.column,
        support::Severity::error, "deploy",
        fmt::format("{}: AssumeRolePolicyDocument must be an object", logical_id)});
  role.document.trust = trust->as_object();
  std::set<std::string> managed;
  if (const auto* arns = p.if_contains("ManagedPolicyArns"); arns != nullptr && arns->is_array())
    for (const auto& arn : arns->as_array())
      if (arn.is_string())
        managed.insert(std::string(arn.as_string()));
  role.document.managed.assign(managed.begin(), managed.end());
  if (const auto* policies = p.if_contains("Policies"); policies != nullptr && policies->is_array())
    for (const auto& policy : policies->as_array()) {
      if (!policy.is_object())
        continue;
      const auto* name = policy.as_object().if_contains("PolicyName");
      const auto* document = policy.as_object().if_contains("PolicyDocument");
      if (name != nullptr && name->is_string() && document != nullptr && document->is_object())
        role.document.inline_policies[std::string(name->as_string())] = document->as_object();
    }
  role.digest = role.document.digest();
  desired.roles[logical_id] = std::move(role);
  return {};
}

support::Status alarm_spec(const sam::Model& model, const std::string& logical_id,
                           Desired& desired) {
  for (const auto& alarm : desired.alarms)
    if (alarm.logical_id == logical_id)
      return {};
  const auto* resource = model.find_resource(logical_id);
  if (resource == nullptr || resource->type != "AWS::CloudWatch::Alarm")
    return support::failf("alarm {} is not an AWS::CloudWatch::Alarm of the template", logical_id);
  AlarmSpec alarm;
  alarm.logical_id = logical_id;
  const auto& p = resource->properties;
  if (const auto* name = p.if_contains("AlarmName"); name != nullptr && name->is_string())
    alarm.name = std::string(name->as_string());
  else
    alarm.name = resource_name(desired.stack, logical_id);
  desired.alarms.push_back(std::move(alarm));
  return {};
}

// Fills an alarm's PutMetricAlarm parameters once every function name is known.
support::Status alarm_parameters(const sam::Model& model, const DeployResolver& resolver,
                                 AlarmSpec& alarm) {
  const auto& p = properties_of(model, alarm.logical_id);
  const auto context = fmt::format("alarm {}", alarm.logical_id);
  alarm.parameters = {{"AlarmName", alarm.name}};
  alarm.compare = {};
  static const char* const k_scalars[] = {"AlarmDescription",   "MetricName",        "Namespace",
                                          "Statistic",          "ExtendedStatistic", "Period",
                                          "EvaluationPeriods",  "DatapointsToAlarm", "Threshold",
                                          "ComparisonOperator", "TreatMissingData",  "Unit",
                                          "ActionsEnabled"};
  for (const char* key : k_scalars) {
    const auto* value = p.if_contains(key);
    if (value == nullptr)
      continue;
    WISP_TRY_ASSIGN(auto text, resolver.text(*value, fmt::format("{} {}", context, key)));
    alarm.parameters.emplace_back(key, text);
    alarm.compare[key] = text;
  }
  for (const char* list : {"AlarmActions", "OKActions", "InsufficientDataActions"}) {
    const auto* value = p.if_contains(list);
    if (value == nullptr || !value->is_array())
      continue;
    int index = 1;
    for (const auto& item : value->as_array()) {
      WISP_TRY_ASSIGN(auto text, resolver.text(item, fmt::format("{} {}", context, list)));
      alarm.parameters.emplace_back(fmt::format("{}.member.{}", list, index++), text);
    }
  }
  if (const auto* dimensions = p.if_contains("Dimensions");
      dimensions != nullptr && dimensions->is_array()) {
    int index = 1;
    json::object compare_dimensions;
    for (const auto& item : dimensions->as_array()) {
      if (!item.is_object())
        continue;
      const auto* name = item.as_object().if_contains("Name");
      const auto* value = item.as_object().if_contains("Value");
      if (name == nullptr || value == nullptr)
        continue;
      WISP_TRY_ASSIGN(auto name_text, resolver.text(*name, context + " Dimensions"));
      WISP_TRY_ASSIGN(auto value_text, resolver.text(*value, context + " Dimensions"));
      alarm.parameters.emplace_back(fmt::format("Dimensions.member.{}.Name", index), name_text);
      alarm.parameters.emplace_back(fmt::format("Dimensions.member.{}.Value", index), value_text);
      compare_dimensions[name_text] = value_text;
      ++index;
    }
    alarm.compare["Dimensions"] = std::move(compare_dimensions);
  }
  if (p.if_contains("Metrics") != nullptr)
    return support::failf("{}: metric math alarms (Metrics) are not deployed by wisp yet", context);
  return {};
}

support::Result<CodeSpec> code_for(const sam::Model& model, const sam::Function& function,
                                   const artifact::BuildReport& artifacts, const Location& location,
                                   const std::map<std::string, CodeSpec>* s3_code,
                                   const std::map<std::string, CodeSpec>* images) {
  CodeSpec code;
  if (function.package_type == sam::PackageType::image) {
    // Tags resolved, images built from the template assembled (images.cpp).
    if (images != nullptr)
      if (auto found = images->find(function.logical_id); found != images->end())
        return found->second;
    const auto& uri = function.image_uri;
    const auto at = uri.find("@sha256:");
    const auto hex = at == std::string::npos ? std::string() : uri.substr(at + 8);
    if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        }))
      return support::fail(support::Diagnostic{
          function.source.file, function.source.line, function.source.column,
          support::Severity::error, "deploy",
          fmt::format("{}: the image ({}) was not resolved to a digest", function.logical_id,
                      uri.empty() ? std::string("Metadata DockerContext") : uri)});
    code.image_uri = uri;
    code.sha256_hex = hex;
    code.sha256_base64 = hex;
    code.uri_sha256 = support::sha256_hex(uri);
    code.s3_key = "image:" + uri; // never uploaded (see image_uri)
    return code;
  }
  if (!function.code_s3_uri.empty()) {
    if (s3_code != nullptr)
      if (auto found = s3_code->find(function.logical_id); found != s3_code->end())
        return found->second;
    return support::failf("{}: the code in S3 ({}) was not read", function.logical_id,
                          function.code_s3_uri);
  }
  if (function.inline_code) {
    const bool node = function.runtime.starts_with("nodejs");
    const auto path = model.base_dir / ".wisp" / "build" / (function.logical_id + ".inline.zip");
    std::vector<artifact::ZipInput> entries(1);
    entries[0].name = node ? "index.js" : "index.py";
    entries[0].data = *function.inline_code;
    entries[0].size = function.inline_code->size();
    WISP_TRY_ASSIGN(auto zipped, artifact::write_zip(std::move(entries), path));
    code.zip = path;
    code.sha256_hex = zipped.digest.hex;
    code.sha256_base64 = zipped.digest.base64;
    code.size = zipped.digest.size;
  } else {
    const auto* built = artifacts.find(function.logical_id);
    if (built == nullptr)
      return support::failf("{}: no built artifact (the build failed or skipped it)",
                            function.logical_id);
    code.zip = built->zip_path;
    code.sha256_hex = built->zip_digest.hex;
    code.sha256_base64 = built->zip_digest.base64;
    code.size = built->zip_digest.size;
  }
  code.s3_key = location.artifact_key(code.sha256_hex);
  return code;
}

support::Result<std::string> role_arn_literal(const std::string& literal, const Desired& desired) {
  if (literal.starts_with("arn:"))
    return literal;
  return fmt::format("arn:{}:iam::{}:role/{}", partition(desired.region), desired.account, literal);
}

// Auth.ApiKeyRequired of a route of its own: its event's, or (an OpenAPI operation) a
// `security` entry naming an apiKey scheme; nullopt when the API's default applies.
std::optional<bool> route_api_key(const sam::Model& model, const sam::Api& api,
                                  const sam::Route& route) {
  if (!route.event_name.empty()) {
    for (const auto& function : model.functions) {
      if (function.logical_id != route.function_logical_id)
        continue;
      for (const auto& event : function.events) {
        if (event.name != route.event_name)
          continue;
        const auto* auth = event.properties.if_contains("Auth");
        if (auth != nullptr && auth->is_object())
          if (const auto* key = auth->as_object().if_contains("ApiKeyRequired");
              key != nullptr && key->is_bool())
            return key->as_bool();
      }
    }
    return std::nullopt;
  }
  if (!api.definition_body || !api.definition_body->is_object())
    return std::nullopt;
  const auto& body = api.definition_body->as_object();
  std::set<std::string> schemes; // apiKey schemes that are not authorizers
  const auto collect = [&](const json::value* defs) {
    if (defs == nullptr || !defs->is_object())
      return;
    for (const auto& d : defs->as_object())
      if (d.value().is_object() && d.value().as_object().contains("type") &&
          d.value().as_object().at("type") == json::value("apiKey") &&
          !d.value().as_object().contains("x-amazon-apigateway-authtype") &&
          !d.value().as_object().contains("x-amazon-apigateway-authorizer"))
        schemes.insert(std::string(d.key()));
  };
  collect(body.if_contains("securityDefinitions"));
  if (const auto* components = body.if_contains("components");
      components != nullptr && components->is_object())
    collect(components->as_object().if_contains("securitySchemes"));
  const auto* paths = body.if_contains("paths");
  if (paths == nullptr || !paths->is_object())
    return std::nullopt;
  const auto* path = paths->as_object().if_contains(route.path);
  if (path == nullptr || !path->is_object())
    return std::nullopt;
  for (const auto& operation : path->as_object()) {
    std::string method(operation.key());
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (method == "X-AMAZON-APIGATEWAY-ANY-METHOD")
      method = "ANY";
    if (method != route.method || !operation.value().is_object())
      continue;
    const auto* security = operation.value().as_object().if_contains("security");
    if (security == nullptr || !security->is_array())
      return std::nullopt;
    for (const auto& requirement : security->as_array())
      if (requirement.is_object())
        for (const auto& name : requirement.as_object())
          if (schemes.contains(std::string(name.key())))
            return true;
  }
  return std::nullopt;
}

// Auth.UsagePlan of an API: nullopt for CreateUsagePlan NONE.
support::Result<std::optional<UsagePlanSpec>>
usage_plan_of(const json::value& value, const Desired& desired, const std::string& api,
              const std::string& stage, const std::optional<UsagePlanSpec>& shared) {
  const auto fail = [&](std::string_view what) {
    return support::failf("{}: Auth.UsagePlan: {}", api, what);
  };
  if (!value.is_object())
    return fail("is an object with CreateUsagePlan");
  const auto& o = value.as_object();
  const auto* mode = o.if_contains("CreateUsagePlan");
  if (mode == nullptr || !mode->is_string())
    return fail("CreateUsagePlan is PER_API, SHARED or NONE");
  const std::string kind(mode->as_string());
  if (kind == "NONE")
    return std::optional<UsagePlanSpec>();
  if (kind != "PER_API" && kind != "SHARED")
    return fail(fmt::format("CreateUsagePlan {} is not PER_API, SHARED or NONE", kind));
  if (kind == "SHARED" && shared)
    return std::optional<UsagePlanSpec>(*shared);
  const std::string prefix = kind == "SHARED" ? std::string("Serverless") : api;
  UsagePlanSpec plan;
  plan.logical_id = prefix + "UsagePlan";
  plan.name = resource_name(desired.stack, plan.logical_id + "-" + stage);
  if (const auto* name = o.if_contains("UsagePlanName"); name != nullptr && name->is_string())
    plan.name = std::string(name->as_string());
  plan.key_name = resource_name(desired.stack, prefix + "ApiKey-" + stage);
  json::object body;
  if (const auto* d = o.if_contains("Description"); d != nullptr && d->is_string())
    body["description"] = *d;
  if (const auto* q = o.if_contains("Quota"); q != nullptr && q->is_object()) {
    json::object quota;
    for (const auto& [from, to] : {std::pair{"Limit", "limit"}, std::pair{"Offset", "offset"},
                                   std::pair{"Period", "period"}})
      if (const auto* v = q->as_object().if_contains(from))
        quota[to] = *v;
    body["quota"] = std::move(quota);
  }
  if (const auto* t = o.if_contains("Throttle"); t != nullptr && t->is_object()) {
    json::object throttle;
    for (const auto& [from, to] :
         {std::pair{"BurstLimit", "burstLimit"}, std::pair{"RateLimit", "rateLimit"}})
      if (const auto* v = t->as_object().if_contains(from))
        throttle[to] = *v;
    body["throttle"] = std::move(throttle);
  }
  plan.body = usage_plan_fields(body);
  return std::optional<UsagePlanSpec>(std::move(plan));
}

} // namespace

support::Result<Desired> build_desired(const sam::Model& model,
                                       const artifact::BuildReport& artifacts,
                                       const DesiredInputs& inputs) {
  Desired desired;
  desired.stack = inputs.stack;
  desired.stage = resolve_stage(model, inputs.stage);
  desired.region = inputs.region;
  desired.account = inputs.account;
  desired.location = inputs.location;
  if (inputs.nested_urls != nullptr)
    desired.nested_urls = *inputs.nested_urls;
  desired.nested = inputs.nested;
  WISP_TRY(validate_stack_name(desired.stack));
  WISP_TRY(validate_stage_name(desired.stage));
  const PolicyContext policy_context{desired.region, desired.account, desired.stack};

  // Names first: functions refer to each other (environment, policies, alarms, hooks).
  std::set<std::string> names;
  for (const auto& function : model.functions) {
    FunctionSpec spec;
    spec.logical_id = function.logical_id;
    spec.name = function_name(desired.stack, function.logical_id, function.function_name);
    if (!names.insert(spec.name).second)
      return support::failf("two functions would both be named {}", spec.name);
    spec.arn = fmt::format("arn:{}:lambda:{}:{}:function:{}", partition(desired.region),
                           desired.region, desired.account, spec.name);
    spec.alias = !inputs.stage.empty()                  ? inputs.stage
                 : !function.auto_publish_alias.empty() ? function.auto_publish_alias
                                                        : desired.stage;
    WISP_TRY(validate_stage_name(spec.alias));
    desired.functions.push_back(std::move(spec));
  }
  const DeployResolver resolver(model, desired, inputs.infra);
  for (const auto& function : model.functions) {
    auto& spec =
        *std::find_if(desired.functions.begin(), desired.functions.end(),
                      [&](const FunctionSpec& f) { return f.logical_id == function.logical_id; });
    const auto where_function = [&](const std::string& message) {
      return support::fail(support::Diagnostic{function.source.file, function.source.line,
                                               function.source.column, support::Severity::error,
                                               "deploy", message});
    };
    if (!function.role.logical_id.empty()) {
      WISP_TRY(template_role(model, resolver, function.role.logical_id, desired));
      spec.role_logical_id = function.role.logical_id;
    } else if (function.role.literal.empty()) {
      auto policies = resolver.deep(function.policies, function.logical_id + ": Policies");
      if (!policies)
        return where_function(policies.error().message);
      auto document = function_role(function, *policies, policy_context);
      if (!document)
        return support::fail(support::Diagnostic{function.source.file, function.source.line,
                                                 function.source.column, support::Severity::error,
                                                 "deploy", document.error().message});
      const auto& raw = properties_of(model, function.logical_id);
      json::value dead_letter;
      if (const auto* dlq = raw.if_contains("DeadLetterQueue")) {
        auto resolved = resolver.deep(*dlq, function.logical_id + ": DeadLetterQueue");
        if (!resolved)
          return where_function(resolved.error().message);
        dead_letter = std::move(*resolved);
      }
      add_function_extras(*document, raw.contains("VpcConfig"), dead_letter, policy_context);
      RoleSpec role;
      role.logical_id = function.logical_id;
      role.name = role_name(desired.stack, function.logical_id);
      role.arn = fmt::format("arn:{}:iam::{}:role/{}", partition(desired.region), desired.account,
                             role.name);
      role.document = std::move(*document);
      role.digest = role.document.digest();
      desired.roles[function.logical_id] = std::move(role);
      spec.role_logical_id = function.logical_id;
    }
    if (function.deployment_preference && function.deployment_preference->enabled) {
      const auto& preference = *function.deployment_preference;
      auto plan = shift_plan(preference.type, inputs.step_interval);
      if (!plan)
        return support::fail(
            support::Diagnostic{preference.source.file, preference.source.line,
                                preference.source.column, support::Severity::error, "deploy",
                                fmt::format("{}: {}", function.logical_id, plan.error().message)});
      spec.shift = std::move(*plan);
      for (const auto& alarm : preference.alarms) {
        if (!alarm.logical_id.empty()) {
          WISP_TRY(alarm_spec(model, alarm.logical_id, desired));
          for (const auto& a : desired.alarms)
            if (a.logical_id == alarm.logical_id)
              spec.alarms.push_back(a.name);
        } else if (!alarm.literal.empty()) {
          spec.alarms.push_back(alarm.literal);
        }
      }
      for (const auto* hook : {&preference.pre_traffic_hook, &preference.post_traffic_hook}) {
        if (hook->empty())
          continue;
        if (hook->logical_id.empty() || model.find_function(hook->logical_id) == nullptr)
          return support::failf("{}: the traffic hook must be a function of the template",
                                function.logical_id);
        (hook == &preference.pre_traffic_hook ? spec.pre_traffic_hook : spec.post_traffic_hook) =
            hook->logical_id;
      }
    }
  }

  for (auto& alarm : desired.alarms)
    WISP_TRY(alarm_parameters(model, resolver, alarm));

  for (const auto& function : model.functions) {
    auto& spec =
        *std::find_if(desired.functions.begin(), desired.functions.end(),
                      [&](const FunctionSpec& f) { return f.logical_id == function.logical_id; });
    WISP_TRY_ASSIGN(spec.code, code_for(model, function, artifacts, desired.location,
                                        inputs.s3_code, inputs.images));
    std::string role_arn;
    if (!spec.role_logical_id.empty()) {
      role_arn = desired.roles.at(spec.role_logical_id).arn;
    } else {
      WISP_TRY_ASSIGN(role_arn, role_arn_literal(function.role.literal, desired));
    }
    json::object config{
        {"Role", role_arn}, {"MemorySize", function.memory_size}, {"Timeout", function.timeout}};
    if (spec.code.image_uri.empty()) { // an image brings its runtime and command
      config["Runtime"] = function.runtime;
      config["Handler"] = function.handler;
    } else if (const auto& ic = function.image_config;
               !ic.entry_point.empty() || !ic.command.empty() || !ic.working_directory.empty()) {
      // What the image's own ENTRYPOINT, CMD and WORKDIR are replaced with.
      json::object image_config;
      if (!ic.entry_point.empty())
        image_config["EntryPoint"] = json::array(ic.entry_point.begin(), ic.entry_point.end());
      if (!ic.command.empty())
        image_config["Command"] = json::array(ic.command.begin(), ic.command.end());
      if (!ic.working_directory.empty())
        image_config["WorkingDirectory"] = ic.working_directory;
      config["ImageConfig"] = std::move(image_config);
    }
    // Environment: resolved values, with what the loader left symbolic resolved here.
    json::object variables;
    const auto& raw_properties = properties_of(model, function.logical_id);
    const auto where_config = [&](const std::string& message) {
      return support::fail(support::Diagnostic{function.source.file, function.source.line,
                                               function.source.column, support::Severity::error,
                                               "deploy", message});
    };
    const json::object* raw_variables = nullptr;
    if (const auto* env = raw_properties.if_contains("Environment");
        env != nullptr && env->is_object())
      if (const auto* vars = env->as_object().if_contains("Variables");
          vars != nullptr && vars->is_object())
        raw_variables = &vars->as_object();
    // The model resolves a Ref to a resource to its logical id (what SAM CLI does locally);
    // deployed, it is the physical name: values the template left symbolic are resolved here.
    for (const auto& [key, value] : function.environment) {
      const json::value* raw = raw_variables != nullptr ? raw_variables->if_contains(key) : nullptr;
      if (raw != nullptr && raw->is_object()) {
        auto text =
            resolver.text(*raw, fmt::format("{}: Environment {}", function.logical_id, key));
        if (!text)
          return support::fail(support::Diagnostic{function.source.file, function.source.line,
                                                   function.source.column, support::Severity::error,
                                                   "deploy", text.error().message});
        variables[key] = *text;
      } else {
        variables[key] = value;
      }
    }
    for (const auto& key : function.unresolved_environment) {
      if (variables.contains(key) && !variables[key].as_string().empty())
        continue; // resolved above
      const json::value* raw = raw_variables != nullptr ? raw_variables->if_contains(key) : nullptr;
      if (raw == nullptr) {
        desired.warnings.push_back(fmt::format(
            "{}: environment variable {} is unresolved and set to \"\"", function.logical_id, key));
        variables[key] = "";
        continue;
      }
      auto text = resolver.text(*raw, fmt::format("{}: Environment {}", function.logical_id, key));
      if (!text)
        return support::fail(support::Diagnostic{function.source.file, function.source.line,
                                                 function.source.column, support::Severity::error,
                                                 "deploy", text.error().message});
      variables[key] = *text;
    }
    if (!variables.empty())
      config["Environment"] = json::object{{"Variables", std::move(variables)}};
    json::array architectures;
    for (const auto& a : function.architectures)
      architectures.emplace_back(a);
    if (architectures.empty())
      architectures.emplace_back("x86_64");
    config["Architectures"] = std::move(architectures);
    config["EphemeralStorage"] = json::object{{"Size", function.ephemeral_storage}};
    // Settings that may name the infrastructure (subnets, security groups, queues, keys).
    for (const auto& [property, field] : std::vector<std::pair<const char*, const char*>>{
             {"VpcConfig", "VpcConfig"},
             {"KmsKeyArn", "KMSKeyArn"},
             {"DeadLetterQueue", "DeadLetterConfig"}}) {
      const auto* raw = raw_properties.if_contains(property);
      if (raw == nullptr)
        continue;
      auto resolved = resolver.deep(*raw, fmt::format("{}: {}", function.logical_id, property));
      if (!resolved)
        return where_config(resolved.error().message);
      if (std::string_view(property) == "DeadLetterQueue") {
        const auto* target =
            resolved->is_object() ? resolved->as_object().if_contains("TargetArn") : nullptr;
        if (target == nullptr)
          return where_config(
              fmt::format("{}: DeadLetterQueue needs TargetArn", function.logical_id));
        config[field] = json::object{{"TargetArn", *target}};
      } else {
        config[field] = std::move(*resolved);
      }
    }
    if (!function.tracing.empty())
      config["TracingConfig"] = json::object{{"Mode", function.tracing}};
    json::array layers;
    for (const auto& layer : function.layers) {
      if (layer.logical_id.empty()) {
        layers.emplace_back(layer.literal);
        continue;
      }
      if (model.find_layer(layer.logical_id) == nullptr)
        return where_config(fmt::format("{}: Layers names {}, which is not a layer of the template",
                                        function.logical_id, layer.logical_id));
      std::string arn = pending_value(layer.logical_id);
      if (inputs.layer_arns != nullptr)
        if (auto it = inputs.layer_arns->find(layer.logical_id); it != inputs.layer_arns->end())
          arn = it->second;
      layers.emplace_back(arn);
    }
    if (!layers.empty())
      config["Layers"] = std::move(layers);
    if (!function.log_format.empty() || !function.log_group.empty()) {
      json::object logging;
      if (!function.log_format.empty())
        logging["LogFormat"] = function.log_format;
      std::string log_group = function.log_group;
      if (const auto* lc = raw_properties.if_contains("LoggingConfig"); lc && lc->is_object())
        if (const auto* lg = lc->as_object().if_contains("LogGroup"); lg && lg->is_object()) {
          auto text = resolver.text(*lg, function.logical_id + ": LoggingConfig.LogGroup");
          if (!text)
            return where_config(text.error().message);
          log_group = *text;
        }
      if (!log_group.empty())
        logging["LogGroup"] = log_group;
      config["LoggingConfig"] = std::move(logging);
    }
    spec.config_digest = support::sha256_hex(canonical_json(config));
    spec.config = std::move(config);
    spec.tags = function.tags;
    for (const auto& [k, v] : inputs.tags)
      spec.tags[k] = v;
    spec.tags["wisp:stack"] = desired.stack;
    spec.reserved_concurrency = function.reserved_concurrency;
    // What wisp does not deploy yet is said out loud, never skipped silently.
    std::vector<std::string> skipped_events;
    for (const auto& event : function.events)
      if (event.type != "Api" && event.type != "HttpApi" &&
          !(inputs.infra != nullptr &&
            inputs.infra->deployed_events.contains(function.logical_id + "." + event.name)))
        skipped_events.push_back(fmt::format("{} ({})", event.name, event.type));
    if (!skipped_events.empty())
      desired.warnings.push_back(fmt::format("{}: event sources are not deployed by wisp yet: {}",
                                             function.logical_id,
                                             support::join(skipped_events, ", ")));
    if (function.provisioned_concurrency)
      desired.warnings.push_back(fmt::format(
          "{}: ProvisionedConcurrencyConfig is not deployed by wisp yet", function.logical_id));
    if (function.function_url_config)
      desired.warnings.push_back(
          fmt::format("{}: FunctionUrlConfig is not deployed by wisp yet", function.logical_id));
  }
  for (const auto& resource : model.resources) {
    if (resource.type != "AWS::IAM::Policy" && resource.type != "AWS::IAM::ManagedPolicy")
      continue;
    const auto* roles = resource.properties.if_contains("Roles");
    if (roles == nullptr || !roles->is_array())
      continue;
    for (const auto& entry : roles->as_array()) {
      const auto* ref = entry.is_object() ? entry.as_object().if_contains("Ref") : nullptr;
      if (ref == nullptr || !ref->is_string())
        continue;
      std::string id(ref->as_string());
      if (!desired.roles.contains(id) && id.ends_with("Role"))
        id.resize(id.size() - 4); // SAM's <Function>Role
      if (auto it = desired.roles.find(id); it != desired.roles.end())
        it->second.shared = true;
    }
  }
  for (const auto& resource : model.resources) {
    static const std::set<std::string, std::less<>> k_handled = {
        "AWS::Serverless::Function", "AWS::Lambda::Function",         "AWS::Serverless::Api",
        "AWS::Serverless::HttpApi",  "AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"};
    const bool used_role =
        resource.type == "AWS::IAM::Role" && desired.roles.contains(resource.logical_id);
    const bool used_alarm =
        resource.type == "AWS::CloudWatch::Alarm" &&
        std::any_of(desired.alarms.begin(), desired.alarms.end(),
                    [&](const AlarmSpec& a) { return a.logical_id == resource.logical_id; });
    const bool in_stack =
        inputs.infra != nullptr && inputs.infra->ids.contains(resource.logical_id);
    if (!k_handled.contains(resource.type) && !used_role && !used_alarm && !in_stack)
      desired.warnings.push_back(
          fmt::format("{} ({}) is not deployed by wisp", resource.logical_id, resource.type));
  }
  // Layers.
  for (const auto& layer : model.layers) {
    LayerSpec spec;
    spec.logical_id = layer.logical_id;
    spec.name = !layer.layer_name.empty() ? layer.layer_name : layer.logical_id;
    // A nested stack's layer without a LayerName (the loader names it by its own id): named
    // with its stack path, `Child-Layer`, unique across children.
    if (const auto slash = layer.logical_id.rfind('/');
        slash != std::string::npos && spec.name == layer.logical_id.substr(slash + 1))
      spec.name = layer.logical_id;
    spec.name = aws::path_name(spec.name);
    spec.runtimes = layer.compatible_runtimes;
    spec.architectures = layer.compatible_architectures;
    if (!layer.content_s3_uri.empty()) {
      const std::string_view uri = layer.content_s3_uri;
      const auto rest = uri.starts_with("s3://") ? uri.substr(5) : std::string_view();
      const auto slash = rest.find('/');
      if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size())
        return support::failf("{}: ContentUri {} is not s3://bucket/key", layer.logical_id,
                              layer.content_s3_uri);
      spec.s3_bucket = std::string(rest.substr(0, slash));
      spec.s3_key = std::string(rest.substr(slash + 1));
      spec.description = "wisp " + support::sha256_hex(layer.content_s3_uri).substr(0, 32);
    } else {
      const auto* built = artifacts.find(layer.logical_id);
      if (built == nullptr)
        return support::failf("{}: no built artifact for the layer (the build failed or skipped "
                              "it)",
                              layer.logical_id);
      spec.code.zip = built->zip_path;
      spec.code.sha256_hex = built->zip_digest.hex;
      spec.code.sha256_base64 = built->zip_digest.base64;
      spec.code.size = built->zip_digest.size;
      spec.code.s3_key = desired.location.artifact_key(spec.code.sha256_hex);
      spec.description = "wisp " + spec.code.sha256_hex;
    }
    desired.layers.push_back(std::move(spec));
  }
  // APIs.
  std::optional<UsagePlanSpec> shared_plan; // SAM's ServerlessUsagePlan: the first SHARED's
  for (const auto& api : model.apis) {
    // A plain AWS::ApiGateway::RestApi or AWS::ApiGatewayV2::Api (written without SAM) is the
    // infrastructure stack's, with its methods, deployment and stage: the loader models it
    // for `wisp local`, but deploying it here too would make a second API beside the stack's.
    if (const auto* resource = model.find_resource(api.logical_id);
        resource != nullptr && !resource->type.starts_with("AWS::Serverless::"))
      continue;
    ApiSpec spec;
    spec.stack = desired.stack;
    spec.logical_id = api.logical_id;
    spec.kind = api.kind == sam::ApiKind::rest ? "rest" : "http";
    spec.name = resource_name(desired.stack, api.logical_id, 128);
    const auto where_api = [&](std::string_view message) {
      return support::fail(support::Diagnostic{api.source.file, api.source.line, api.source.column,
                                               support::Severity::error, "deploy",
                                               fmt::format("{}: {}", api.logical_id, message)});
    };
    // An OpenAPI body is deployed through the routes it declares: Lambda proxy integrations
    // to functions of the template. Anything else in it is said, never dropped silently.
    struct OtherOperation {
      std::string method;
      std::string path;
      const json::object* operation;
      const json::object* path_item;
    };
    std::vector<OtherOperation> other_operations;
    if (api.definition_body) {
      std::vector<std::string> unsupported;
      if (const auto* paths = api.definition_body->is_object()
                                  ? api.definition_body->as_object().if_contains("paths")
                                  : nullptr;
          paths != nullptr && paths->is_object())
        for (const auto& path : paths->as_object()) {
          if (!path.value().is_object())
            continue;
          for (const auto& operation : path.value().as_object()) {
            std::string method(operation.key());
            std::transform(method.begin(), method.end(), method.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
            if (method == "X-AMAZON-APIGATEWAY-ANY-METHOD")
              method = "ANY";
            static const std::set<std::string> k_methods{"GET",  "PUT",     "POST",  "DELETE",
                                                         "HEAD", "OPTIONS", "PATCH", "ANY"};
            if (!k_methods.contains(method))
              continue;
            const bool routed =
                std::any_of(model.routes.begin(), model.routes.end(), [&](const sam::Route& r) {
                  return r.api_logical_id == api.logical_id && r.method == method &&
                         r.path == std::string_view(path.key());
                });
            const auto* integration =
                operation.value().is_object()
                    ? operation.value().as_object().if_contains("x-amazon-apigateway-integration")
                    : nullptr;
            if (!routed && integration != nullptr && integration->is_object() &&
                (integration->as_object().contains("type") ||
                 integration->as_object().contains("integrationSubtype")))
              other_operations.push_back({method, std::string(path.key()),
                                          &operation.value().as_object(),
                                          &path.value().as_object()});
            else if (!routed)
              unsupported.push_back(fmt::format("{} {}", method, std::string_view(path.key())));
          }
        }
      if (!unsupported.empty())
        return where_api(fmt::format(
            "DefinitionBody: operations without an x-amazon-apigateway-integration (API Gateway "
            "would refuse them): {}",
            support::join(unsupported, ", ")));
    }
    const json::object* api_auth = nullptr;
    if (const auto* auth = api.properties.if_contains("Auth"); auth != nullptr && auth->is_object())
      api_auth = &auth->as_object();
    const json::value* resource_policy = nullptr;
    if (api_auth != nullptr)
      if (const auto* v = api_auth->if_contains("ResourcePolicy");
          v != nullptr && !(v->is_bool() && !v->as_bool())) {
        if (api.kind != sam::ApiKind::rest)
          return where_api("Auth.ResourcePolicy is for REST APIs (AWS::Serverless::Api)");
        resource_policy = v;
      }
    const bool api_key_default = api_auth != nullptr && api_auth->contains("ApiKeyRequired") &&
                                 api_auth->at("ApiKeyRequired") == json::value(true);
    // Auth.AddDefaultAuthorizerToCorsPreflight: SAM puts the default authorizer on OPTIONS
    // methods (CORS preflights) too unless it is false.
    const bool authorizer_preflight =
        api_auth == nullptr || !api_auth->contains("AddDefaultAuthorizerToCorsPreflight") ||
        api_auth->at("AddDefaultAuthorizerToCorsPreflight") != json::value(false);
    const bool api_key_preflight =
        api_auth == nullptr || !api_auth->contains("AddApiKeyRequiredToCorsPreflight") ||
        api_auth->at("AddApiKeyRequiredToCorsPreflight") != json::value(false);
    if (const auto* source = api.properties.if_contains("ApiKeySourceType"); source != nullptr) {
      if (!source->is_string() ||
          (source->as_string() != "HEADER" && source->as_string() != "AUTHORIZER"))
        return where_api("ApiKeySourceType is HEADER or AUTHORIZER");
      spec.api_key_source = std::string(source->as_string());
    }
    if (api.kind == sam::ApiKind::rest && api_auth != nullptr)
      if (const auto* plan = api_auth->if_contains("UsagePlan"); plan != nullptr) {
        WISP_TRY_ASSIGN(spec.usage_plan,
                        usage_plan_of(*plan, desired, api.logical_id,
                                      !inputs.stage.empty()     ? inputs.stage
                                      : !api.stage_name.empty() ? api.stage_name
                                                                : std::string("Prod"),
                                      shared_plan));
        if (spec.usage_plan && spec.usage_plan->logical_id == "ServerlessUsagePlan" && !shared_plan)
          shared_plan = spec.usage_plan;
      }
    spec.stage = !inputs.stage.empty()     ? inputs.stage
                 : !api.stage_name.empty() ? api.stage_name
                 : spec.kind == "rest"     ? std::string("Prod")
                                           : std::string("$default");
    spec.variables = api.stage_variables;
    spec.variables["lambdaAlias"] = desired.stage;
    spec.binary_media_types = api.binary_media_types;
    spec.canary = api.canary_setting;
    const auto invocation_uri = [&](const FunctionSpec& function) {
      const auto alias_expression = function.alias == desired.stage
                                        ? std::string("${stageVariables.lambdaAlias}")
                                        : function.alias;
      return rest_integration_uri(desired, function.arn, alias_expression);
    };
    // Authorizers.
    json::array authorizer_digests;
    for (const auto& [name, a] : api.authorizers) {
      if (a.kind == sam::Authorizer::Kind::iam)
        continue;
      AuthorizerSpec auth;
      auth.name = name;
      auth.identity_sources = a.identity_sources;
      auth.ttl_seconds = a.ttl_seconds;
      auth.validation_expression = a.identity_validation_expression;
      auth.payload_format_version = a.payload_format_version;
      auth.simple_responses = a.enable_simple_responses;
      switch (a.kind) {
      case sam::Authorizer::Kind::lambda_token:
        auth.type = "TOKEN";
        break;
      case sam::Authorizer::Kind::lambda_request:
        auth.type = "REQUEST";
        break;
      case sam::Authorizer::Kind::cognito:
        auth.type = "COGNITO_USER_POOLS";
        break;
      case sam::Authorizer::Kind::jwt:
        auth.type = "JWT";
        break;
      case sam::Authorizer::Kind::iam:
        break;
      }
      if (auth.type == "TOKEN" || auth.type == "REQUEST") {
        if (!a.function_logical_id.empty()) {
          auto* function = const_cast<FunctionSpec*>(desired.function(a.function_logical_id));
          if (function == nullptr)
            return where_api(fmt::format("authorizer {}: FunctionArn names {}, which is not a "
                                         "function of the template",
                                         name, a.function_logical_id));
          auth.function_logical_id = a.function_logical_id;
          auth.uri = invocation_uri(*function);
          if (std::find(function->apis.begin(), function->apis.end(), api.logical_id) ==
              function->apis.end())
            function->apis.push_back(api.logical_id);
        } else if (!a.function_arn.empty()) {
          auth.uri = fmt::format("arn:{}:apigateway:{}:lambda:path/2015-03-31/functions/{}/"
                                 "invocations",
                                 partition(desired.region), desired.region, a.function_arn);
        } else {
          return where_api(fmt::format("authorizer {} names no function", name));
        }
      }
      for (const auto& pool : a.user_pool_arns) {
        if (pool.starts_with("arn:")) {
          auth.provider_arns.push_back(pool);
          continue;
        }
        auto arn =
            resolver.text(json::object{{"Fn::GetAtt", json::array{json::value(pool), "Arn"}}},
                          fmt::format("{}: authorizer {}", api.logical_id, name));
        if (!arn)
          return where_api(arn.error().message);
        auth.provider_arns.push_back(*arn);
      }
      auth.issuer = a.jwt_issuer;
      auth.audience = a.jwt_audience;
      authorizer_digests.push_back(json::array{json::value(name), json::value(auth.digest())});
      spec.authorizers.push_back(std::move(auth));
    }
    json::array digest_input;
    for (const auto& route : model.routes) {
      if (route.api_logical_id != api.logical_id)
        continue;
      auto* function = const_cast<FunctionSpec*>(desired.function(route.function_logical_id));
      if (function == nullptr)
        return where_api(fmt::format("route {} {} names no function", route.method, route.path));
      const auto alias_expression = function->alias == desired.stage
                                        ? std::string("${stageVariables.lambdaAlias}")
                                        : function->alias;
      RouteSpec r;
      r.method = route.method;
      r.path = route.path;
      r.function_logical_id = route.function_logical_id;
      r.payload_format_version = route.payload_format_version;
      r.integration_uri = spec.kind == "rest"
                              ? rest_integration_uri(desired, function->arn, alias_expression)
                              : function->arn + ":" + alias_expression;
      auto authorizer = route.authorizer.empty() ? api.default_authorizer : route.authorizer;
      if (authorizer == "NONE")
        authorizer.clear();
      if (route.method == "OPTIONS" && route.authorizer.empty() && !authorizer_preflight)
        authorizer.clear();
      if (!authorizer.empty() && authorizer != "AWS_IAM" &&
          std::none_of(spec.authorizers.begin(), spec.authorizers.end(),
                       [&](const AuthorizerSpec& a) { return a.name == authorizer; }))
        return where_api(fmt::format("route {} {} uses authorizer {}, which the API does not "
                                     "declare",
                                     route.method, route.path, authorizer));
      r.authorizer = authorizer;
      if (spec.kind == "rest") {
        // A route's own Auth.ApiKeyRequired (an event's, or an OpenAPI operation's security),
        // else the API's; SAM leaves CORS preflights with the default unless told to add it.
        const auto own = route_api_key(model, api, route);
        r.api_key_required =
            own ? *own : api_key_default && (route.method != "OPTIONS" || api_key_preflight);
      }
      if (std::find(function->apis.begin(), function->apis.end(), api.logical_id) ==
          function->apis.end())
        function->apis.push_back(api.logical_id);
      json::array route_digest{r.method, r.path, r.integration_uri, r.payload_format_version};
      if (!r.authorizer.empty() || r.api_key_required)
        route_digest.emplace_back(r.authorizer);
      if (r.api_key_required)
        route_digest.emplace_back("api-key");
      digest_input.push_back(std::move(route_digest));
      spec.routes.push_back(std::move(r));
    }
    // A route that is not a Lambda proxy to a function of the template: the API's default
    // authorizer and API key setting (OPTIONS as Auth's preflight settings say), and its
    // whole definition in the digest.
    const auto add_other = [&](RouteSpec r) {
      auto authorizer = api.default_authorizer == "NONE" ? std::string() : api.default_authorizer;
      if (r.method == "OPTIONS" && !authorizer_preflight)
        authorizer.clear();
      if (!authorizer.empty() && authorizer != "AWS_IAM" &&
          std::none_of(spec.authorizers.begin(), spec.authorizers.end(),
                       [&](const AuthorizerSpec& a) { return a.name == authorizer; }))
        authorizer.clear();
      r.authorizer = authorizer;
      if (spec.kind == "rest") {
        sam::Route as_route;
        as_route.method = r.method;
        as_route.path = r.path;
        const auto own = route_api_key(model, api, as_route);
        r.api_key_required =
            own ? *own : api_key_default && (r.method != "OPTIONS" || api_key_preflight);
      }
      json::array route_digest{r.method,
                               r.path,
                               canonical_json(*r.integration),
                               r.authorizer,
                               r.api_key_required,
                               canonical_json(json::value(r.request_parameters))};
      for (const auto& [code, body] : r.integration_responses)
        route_digest.push_back(json::array{json::value(code), json::value(canonical_json(body))});
      for (const auto& [code, body] : r.method_responses)
        route_digest.push_back(json::array{json::value(code), json::value(canonical_json(body))});
      digest_input.push_back(std::move(route_digest));
      spec.routes.push_back(std::move(r));
    };
    for (const auto& other : other_operations) {
      const auto where = fmt::format("{} {} {}", api.logical_id, other.method, other.path);
      if (spec.kind == "rest") {
        WISP_TRY_ASSIGN(auto r, other_route(resolver, other.method, other.path, *other.operation,
                                            *other.path_item, where));
        add_other(std::move(r));
      } else {
        WISP_TRY_ASSIGN(
            auto r, http_other_route(resolver, other.method, other.path, *other.operation, where));
        add_other(std::move(r));
      }
    }
    // Cors. REST: the OPTIONS method SAM adds to every path of the API's swagger that has
    // none (the paths of its events and of its DefinitionBody). HTTP: the API's
    // CorsConfiguration.
    if (const auto* cors = api.properties.if_contains("Cors");
        spec.kind == "rest" && cors != nullptr && truthy(*cors)) {
      if (api.properties.contains("DefinitionUri"))
        return where_api("Cors works only with inline Swagger specified in 'DefinitionBody' "
                         "property.");
      WISP_TRY_ASSIGN(const auto resolved,
                      resolver.deep(*cors, fmt::format("{}: Cors", api.logical_id)));
      auto parsed = rest_cors(resolved);
      if (!parsed)
        return where_api(parsed.error().message);
      // The swagger's paths (trailing '/' aside, as SAM dedupes them) and their keys.
      std::vector<std::pair<std::string, std::vector<std::string>>> paths;
      const auto add_key = [&](std::string path, std::string key) {
        if (path.size() > 1 && path.back() == '/')
          path.pop_back();
        auto it = std::find_if(paths.begin(), paths.end(),
                               [&](const auto& p) { return p.first == path; });
        if (it == paths.end())
          it = paths.insert(paths.end(), {path, {}});
        if (!key.empty())
          it->second.push_back(std::move(key));
      };
      if (api.definition_body && api.definition_body->is_object())
        if (const auto* body_paths = api.definition_body->as_object().if_contains("paths");
            body_paths != nullptr && body_paths->is_object())
          for (const auto& path : body_paths->as_object()) {
            add_key(std::string(path.key()), "");
            if (path.value().is_object())
              for (const auto& key : path.value().as_object())
                add_key(std::string(path.key()), std::string(key.key()));
          }
      for (const auto& route : spec.routes) {
        std::string key =
            route.method == "ANY" ? std::string("x-amazon-apigateway-any-method") : route.method;
        if (route.method != "ANY")
          std::transform(key.begin(), key.end(), key.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        add_key(route.path, key);
      }
      for (auto& [path, keys] : paths) {
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        if (std::any_of(keys.begin(), keys.end(),
                        [](const std::string& k) { return upper(k) == "OPTIONS"; }))
          continue;
        const auto where = fmt::format("{} OPTIONS {} (Cors)", api.logical_id, path);
        WISP_TRY_ASSIGN(auto r, other_route(resolver, "OPTIONS", path,
                                            cors_operation(*parsed, keys), json::object(), where));
        add_other(std::move(r));
      }
    } else if (spec.kind == "http") {
      const json::value* extension = nullptr;
      if (api.definition_body && api.definition_body->is_object())
        extension = api.definition_body->as_object().if_contains("x-amazon-apigateway-cors");
      std::optional<json::value> property;
      if (const auto* given = api.properties.if_contains("CorsConfiguration");
          given != nullptr && !given->is_null()) {
        WISP_TRY_ASSIGN(
            property, resolver.deep(*given, fmt::format("{}: CorsConfiguration", api.logical_id)));
      }
      std::optional<json::value> resolved_extension;
      if (extension != nullptr) {
        WISP_TRY_ASSIGN(
            resolved_extension,
            resolver.deep(*extension, fmt::format("{}: x-amazon-apigateway-cors", api.logical_id)));
      }
      auto configuration = http_cors(property ? &*property : nullptr,
                                     resolved_extension ? &*resolved_extension : nullptr);
      if (!configuration)
        return where_api(configuration.error().message);
      spec.cors = std::move(*configuration);
    }
    // The rest of a REST OpenAPI body: models, request validators, gateway responses, and
    // each operation's validator and request models.
    if (spec.kind == "rest" && api.definition_body && api.definition_body->is_object()) {
      WISP_TRY(definition_extras(resolver, api, spec, desired.warnings));
      json::array extras;
      for (const auto& m : spec.models)
        extras.push_back(json::array{json::value(m.name), json::value(m.content_type),
                                     json::value(canonical_json(m.schema))});
      for (const auto& v : spec.validators)
        extras.push_back(json::array{json::value(v.name), v.body, v.parameters});
      for (const auto& [type, body] : spec.gateway_responses)
        extras.push_back(json::array{json::value(type), json::value(canonical_json(body))});
      for (const auto& r : spec.routes)
        if (!r.request_validator.empty() || !r.request_models.empty())
          extras.push_back(json::array{json::value(r.method), json::value(r.path),
                                       json::value(r.request_validator),
                                       json::value(canonical_json(r.request_models))});
      // Method responses the body adds (a Lambda proxy's), and response models.
      for (const auto& r : spec.routes)
        if (std::any_of(r.method_responses.begin(), r.method_responses.end(),
                        [&](const auto& response) {
                          return !r.integration || response.second.contains("responseModels");
                        })) {
          json::object responses;
          for (const auto& [code, body] : r.method_responses)
            responses[code] = body;
          extras.push_back(json::array{"responses", json::value(r.method), json::value(r.path),
                                       json::value(canonical_json(responses))});
        }
      if (!extras.empty())
        digest_input.push_back(json::array{"definition", std::move(extras)});
    }
    if (!authorizer_digests.empty())
      digest_input.push_back(std::move(authorizer_digests));
    if (resource_policy != nullptr) {
      // The API's paths and methods as SAM's swagger has them (CORS adds OPTIONS to each).
      // An event's Path as written: the model drops a trailing '/' (API Gateway's resource),
      // SAM's swagger and its policy keep it.
      const auto written_path = [&](const sam::Route& route) {
        for (const auto& f : model.functions)
          if (f.logical_id == route.function_logical_id)
            for (const auto& event : f.events)
              if (event.name == route.event_name)
                if (const auto* path = event.properties.if_contains("Path");
                    path != nullptr && path->is_string())
                  return std::string(path->as_string());
        return route.path;
      };
      std::vector<PolicyPath> paths;
      const auto add_path = [&](const std::string& path, const std::string& method) {
        auto it = std::find_if(paths.begin(), paths.end(),
                               [&](const PolicyPath& p) { return p.first == path; });
        if (it == paths.end())
          it = paths.insert(paths.end(), PolicyPath{path, {}});
        if (std::find(it->second.begin(), it->second.end(), method) == it->second.end())
          it->second.push_back(method);
      };
      for (const auto& route : model.routes)
        if (route.api_logical_id == api.logical_id)
          add_path(route.event_name.empty() ? route.path : written_path(route), route.method);
      for (const auto& other : other_operations)
        add_path(other.path, other.method);
      if (api.cors)
        for (auto& [path, methods] : paths)
          if (std::find(methods.begin(), methods.end(), "OPTIONS") == methods.end())
            methods.emplace_back("OPTIONS");
      WISP_TRY_ASSIGN(
          const auto resolved,
          resolver.deep(*resource_policy, fmt::format("{}: Auth.ResourcePolicy", api.logical_id)));
      auto policy = rest_resource_policy(resolved, paths, spec.stage);
      if (!policy)
        return where_api("Auth.ResourcePolicy: " + policy.error().message);
      spec.resource_policy = std::move(*policy);
      if (spec.resource_policy)
        digest_input.push_back(
            json::array{"policy", json::value(canonical_json(*spec.resource_policy))});
    }
    json::array binary;
    for (const auto& type : spec.binary_media_types)
      binary.emplace_back(type);
    digest_input.push_back(std::move(binary));
    if (!spec.api_key_source.empty())
      digest_input.push_back(json::array{"apiKeySource", json::value(spec.api_key_source)});
    spec.definition_digest = support::sha256_hex(canonical_json(digest_input));
    desired.apis.push_back(std::move(spec));
  }
  return desired;
}

} // namespace wisp::deploy
