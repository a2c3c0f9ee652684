// API Gateway in deploy: REST APIs (v1: resources, methods, AWS_PROXY integrations,
// deployments, per-alias stages, canaries) and HTTP APIs (v2: integrations, routes,
// AutoDeploy stages). Read, plan, apply, read back.

#include <wisp/deploy/engine.hpp>

#include <wisp/aws/json_fields.hpp>
#include <wisp/deploy/naming.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace wisp::deploy {

namespace json = boost::json;

namespace {

// A media type as a patch path segment: JSON Pointer's escapes (`~` as `~0`, `/` as `~1`), as
// API Gateway's documentation writes `/binaryMediaTypes/image~1jpeg`.
std::string pointer_segment(std::string_view text) {
  std::string out;
  for (char c : text)
    out += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
  return out;
}

std::map<std::string, std::string> string_map(const json::value* v) {
  std::map<std::string, std::string> out;
  if (v != nullptr && v->is_object())
    for (const auto& item : v->as_object())
      if (item.value().is_string())
        out[std::string(item.key())] = std::string(item.value().as_string());
  return out;
}

// What identifies an HTTP API integration: a Lambda proxy to a function of the template by
// its URI and payload format; any other by the digest of its definition, which wisp writes
// into the integration's description.
std::string integration_key(const RouteSpec& route) {
  if (route.integration)
    return "wisp " + support::sha256_hex(canonical_json(*route.integration)).substr(0, 32);
  return route.integration_uri + "|" + route.payload_format_version;
}

std::string integration_key(const json::object& reported) {
  const auto description = aws::json_string(reported, "description");
  if (description.starts_with("wisp "))
    return description;
  return aws::json_string(reported, "integrationUri") + "|" +
         aws::json_string(reported, "payloadFormatVersion");
}

// What an HTTP route calls, for the log: its function, else its integration's kind.
std::string http_target_name(const RouteSpec& route) {
  if (!route.integration)
    return route.function_logical_id;
  const auto subtype = aws::json_string(*route.integration, "integrationSubtype");
  return subtype.empty()
             ? aws::json_string(*route.integration, "integrationType") + " " + route.integration_uri
             : subtype;
}

// A REST method's request validation: "<validator id>|<requestModels>" (the validator by
// the ids the API has, or will have).
std::string validation_text(const RouteSpec& route,
                            const std::map<std::string, std::string>& validator_ids) {
  std::string id;
  if (!route.request_validator.empty()) {
    auto it = validator_ids.find(route.request_validator);
    id = it == validator_ids.end() ? "(new)" : it->second;
  }
  return id + "|" +
         (route.request_models.empty() ? std::string() : canonical_json(route.request_models));
}

std::string validation_text(const RestMethodActual& method) {
  return method.request_validator_id + "|" + method.request_models;
}

// A method's responses by status code, each with its responseModels and responseParameters
// when it has them (what API Gateway reports and what the route wants, alike), as canonical
// JSON.
std::string method_responses_text(const json::object& responses) {
  json::object out;
  for (const auto& [code, response] : responses) {
    json::object kept;
    if (response.is_object())
      for (const char* key : {"responseModels", "responseParameters"})
        if (const auto* v = response.as_object().if_contains(key);
            v != nullptr && v->is_object() && !v->as_object().empty())
          kept[key] = *v;
    out[code] = std::move(kept);
  }
  return out.empty() ? std::string() : canonical_json(out);
}

std::string method_responses_text(const RouteSpec& route) {
  json::object responses;
  for (const auto& [code, body] : route.method_responses)
    responses[code] = body;
  return method_responses_text(responses);
}

std::string cors_text(const ApiSpec& spec) {
  return spec.cors ? canonical_json(*spec.cors) : std::string();
}

std::string route_key(const RouteSpec& route) {
  if (route.path == "$default")
    return "$default";
  return fmt::format("{} {}", route.method == "ANY" ? "ANY" : route.method, route.path);
}

// The spec's resource policy as reported_policy gives the backend's (empty: none).
std::string policy_text(const ApiSpec& spec) {
  return spec.resource_policy ? canonical_json(*spec.resource_policy) : std::string();
}

std::string deployment_description(const ApiSpec& spec) {
  return "wisp " + spec.definition_digest;
}

// Parents first: "/a", "/a/b", ...
std::vector<std::string> ancestors(const std::string& path) {
  std::vector<std::string> out;
  std::string current;
  for (const auto& part : support::split(path, '/')) {
    if (part.empty())
      continue;
    current += "/" + part;
    out.push_back(current);
  }
  return out;
}

// GetRestApi / GetApi of one API of the spec's kind.
aws::AwsResult<boost::json::value> get_api(const Backend& backend, const ApiSpec& spec,
                                           const std::string& id) {
  return spec.kind == "rest" ? backend.apigw("GetRestApi", "GET", slash_segment(id))
                             : backend.apigw2("GetApi", "GET", "/apis/" + segment(id));
}

// The ids of the APIs named as the spec's, in the backend's order.
support::Result<std::vector<std::string>> api_ids_named(const Backend& backend,
                                                        const ApiSpec& spec);

support::Result<std::string> find_api_id(const Backend& backend, const ApiSpec& spec,
                                         const std::string& known_id) {
  if (!known_id.empty()) {
    auto found = get_api(backend, spec, known_id);
    if (found)
      return known_id;
    if (!found.error().not_found())
      return tl::unexpected(aws::error_of(std::move(found)));
  }
  // Look it up by name (the state may be gone or from before the API existed).
  WISP_TRY_ASSIGN(const auto ids, api_ids_named(backend, spec));
  return ids.empty() ? std::string() : ids.front();
}

// An API was just created where the plan found none of its name (under the app lock): any
// other of that name is a copy made by an attempt that reached the backend though the client
// saw it fail (a timeout, a dropped answer) and retried. It goes, so no API is left behind.
support::Status remove_copies(const Backend& backend, const ApiSpec& spec,
                              const std::string& created_id, Log& log) {
  const bool rest = spec.kind == "rest";
  WISP_TRY_ASSIGN(const auto ids, api_ids_named(backend, spec));
  for (const auto& id : ids) {
    if (id == created_id)
      continue;
    auto deleted = rest ? backend.apigw("DeleteRestApi", "DELETE", slash_segment(id))
                        : backend.apigw2("DeleteApi", "DELETE", "/apis/" + segment(id));
    if (!deleted && !deleted.error().not_found()) {
      // A retried delete whose first attempt landed may meet an odd answer (moto: HTTP 500
      // for an API it no longer has). The copy is clutter, not the app: look again, and warn
      // rather than fail the deploy when it is still there.
      auto still = get_api(backend, spec, id);
      if (still || !still.error().not_found()) {
        log.warning(fmt::format("{} {} ({}) is a copy left by a retried create and could not "
                                "be removed ({}); delete it by hand",
                                rest ? "REST API" : "HTTP API", spec.name, id,
                                deleted.error().describe()));
        continue;
      }
    }
    log.step(fmt::format("removed {} {} ({}), a copy left by a retried create",
                         rest ? "REST API" : "HTTP API", spec.name, id));
  }
  return {};
}

support::Result<std::vector<std::string>> api_ids_named(const Backend& backend,
                                                        const ApiSpec& spec) {
  const bool rest = spec.kind == "rest";
  std::vector<std::string> ids;
  std::string position;
  for (int page = 0; page < 50; ++page) {
    aws::Query query;
    if (rest) {
      query.emplace_back("limit", "500");
      if (!position.empty())
        query.emplace_back("position", position);
    } else if (!position.empty()) {
      query.emplace_back("nextToken", position);
    }
    auto listed = rest ? backend.apigw("GetRestApis", "GET", "", nullptr, query)
                       : backend.apigw2("GetApis", "GET", "/apis", nullptr, query);
    if (!listed)
      return tl::unexpected(aws::error_of(std::move(listed)));
    for (const auto& item : aws::json_items(*listed, rest ? "item" : "items")) {
      if (!item.is_object())
        continue;
      const auto& o = item.as_object();
      if (aws::json_string(o, "name") == spec.name)
        ids.push_back(aws::json_string(o, rest ? "id" : "apiId"));
    }
    position = listed->is_object()
                   ? aws::json_string(listed->as_object(), rest ? "position" : "nextToken")
                   : "";
    if (position.empty())
      break;
  }
  return ids;
}

// An authorizer as the backend reports it, as the spec it would be (to compare digests).
AuthorizerSpec authorizer_of(const json::object& o, bool rest) {
  AuthorizerSpec a;
  const auto strings = [&](const char* key) {
    std::vector<std::string> out;
    if (const auto* v = o.if_contains(key); v != nullptr && v->is_array())
      for (const auto& item : v->as_array())
        if (item.is_string())
          out.emplace_back(item.as_string());
    return out;
  };
  const auto number = [&](const char* key, int fallback) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_number() ? v->to_number<int>() : fallback;
  };
  if (rest) {
    a.name = aws::json_string(o, "name");
    a.type = aws::json_string(o, "type");
    a.uri = aws::json_string(o, "authorizerUri");
    for (auto& source : support::split(aws::json_string(o, "identitySource"), ','))
      if (auto t = std::string(support::trim(source)); !t.empty())
        a.identity_sources.push_back(t);
    a.ttl_seconds = number("authorizerResultTtlInSeconds", 300);
    a.validation_expression = aws::json_string(o, "identityValidationExpression");
    a.provider_arns = strings("providerARNs");
    return a;
  }
  a.name = aws::json_string(o, "name");
  a.type = aws::json_string(o, "authorizerType");
  a.uri = aws::json_string(o, "authorizerUri");
  a.identity_sources = strings("identitySource");
  a.ttl_seconds = number("authorizerResultTtlInSeconds", a.type == "JWT" ? 0 : 300);
  if (const auto* jwt = o.if_contains("jwtConfiguration"); jwt != nullptr && jwt->is_object()) {
    a.issuer = aws::json_string(jwt->as_object(), "issuer");
    if (const auto* audience = jwt->as_object().if_contains("audience");
        audience != nullptr && audience->is_array())
      for (const auto& item : audience->as_array())
        if (item.is_string())
          a.audience.emplace_back(item.as_string());
  }
  a.payload_format_version = aws::json_string(o, "authorizerPayloadFormatVersion");
  if (const auto* simple = o.if_contains("enableSimpleResponses");
      simple != nullptr && simple->is_bool())
    a.simple_responses = simple->as_bool();
  return a;
}

// How a route is authorized: "NONE|", "CUSTOM|<authorizer id>", ...
std::string route_authorization(const ApiSpec& spec, const RouteSpec& route,
                                const std::map<std::string, std::string>& authorizer_ids) {
  if (route.authorizer.empty())
    return "NONE|";
  if (route.authorizer == "AWS_IAM")
    return "AWS_IAM|";
  for (const auto& a : spec.authorizers)
    if (a.name == route.authorizer) {
      auto it = authorizer_ids.find(a.name);
      const auto id = it == authorizer_ids.end() ? std::string() : it->second;
      if (a.type == "COGNITO_USER_POOLS")
        return "COGNITO_USER_POOLS|" + id;
      if (a.type == "JWT")
        return "JWT|" + id;
      return "CUSTOM|" + id;
    }
  return "NONE|";
}

json::value authorizer_body(const AuthorizerSpec& a, bool rest) {
  json::object body;
  if (rest) {
    body["name"] = a.name;
    body["type"] = a.type;
    if (!a.uri.empty())
      body["authorizerUri"] = a.uri;
    body["identitySource"] = support::join(a.identity_sources, ", ");
    body["authorizerResultTtlInSeconds"] = a.ttl_seconds;
    if (!a.validation_expression.empty())
      body["identityValidationExpression"] = a.validation_expression;
    if (!a.provider_arns.empty()) {
      json::array providers;
      for (const auto& p : a.provider_arns)
        providers.emplace_back(p);
      body["providerARNs"] = std::move(providers);
    }
    return body;
  }
  body["name"] = a.name;
  body["authorizerType"] = a.type;
  json::array sources;
  for (const auto& s : a.identity_sources)
    sources.emplace_back(s);
  body["identitySource"] = std::move(sources);
  if (a.type == "JWT") {
    json::array audience;
    for (const auto& item : a.audience)
      audience.emplace_back(item);
    body["jwtConfiguration"] =
        json::object{{"audience", std::move(audience)}, {"issuer", a.issuer}};
  } else {
    body["authorizerUri"] = a.uri;
    body["authorizerPayloadFormatVersion"] = a.payload_format_version;
    body["enableSimpleResponses"] = a.simple_responses;
    body["authorizerResultTtlInSeconds"] = a.ttl_seconds;
  }
  return body;
}

// Creates or updates the spec's authorizers; name → id. Authorizers no longer wanted are
// removed by the caller once no route uses them.
support::Result<std::map<std::string, std::string>>
apply_authorizers(const Backend& backend, const ApiSpec& spec, const std::string& api_id,
                  const std::map<std::string, AuthorizerActual>& actual, Log& log) {
  const bool rest = spec.kind == "rest";
  std::map<std::string, std::string> ids;
  for (const auto& [name, a] : actual)
    ids[name] = a.id;
  for (const auto& a : spec.authorizers) {
    const json::value body = authorizer_body(a, rest);
    auto it = actual.find(a.name);
    if (it != actual.end() && it->second.digest == a.digest())
      continue;
    const auto base =
        rest ? "/" + segment(api_id) + "/authorizers" : "/apis/" + segment(api_id) + "/authorizers";
    aws::AwsResult<json::value> done;
    if (it == actual.end()) {
      done = rest ? backend.apigw("CreateAuthorizer", "POST", base, &body)
                  : backend.apigw2("CreateAuthorizer", "POST", base, &body);
    } else if (!rest) {
      done =
          backend.apigw2("UpdateAuthorizer", "PATCH", base + "/" + segment(it->second.id), &body);
    } else {
      json::array ops;
      const std::pair<const char*, const char*> k_fields[] = {
          {"/authorizerUri", "authorizerUri"},
          {"/identitySource", "identitySource"},
          {"/authorizerResultTtlInSeconds", "authorizerResultTtlInSeconds"},
          {"/identityValidationExpression", "identityValidationExpression"}};
      for (const auto& [path, key] : k_fields)
        if (const auto* v = body.as_object().if_contains(key))
          ops.push_back(json::object{{"op", "replace"},
                                     {"path", path},
                                     {"value", v->is_string() ? json::value(v->as_string())
                                                              : json::value(json::serialize(*v))}});
      const json::value patch = json::object{{"patchOperations", std::move(ops)}};
      done =
          backend.apigw("UpdateAuthorizer", "PATCH", base + "/" + segment(it->second.id), &patch);
    }
    if (!done)
      return tl::unexpected(aws::error_of(std::move(done)));
    if (it == actual.end()) {
      const auto id = done->is_object()
                          ? aws::json_string(done->as_object(), rest ? "id" : "authorizerId")
                          : std::string();
      if (id.empty())
        return support::failf("CreateAuthorizer for {} of {} returned no id", a.name,
                              spec.logical_id);
      ids[a.name] = id;
    }
    log.step(fmt::format("{}: authorizer {} {}", spec.logical_id, a.name,
                         it == actual.end() ? "created" : "updated"));
  }
  return ids;
}

// PutMethodResponse for each of the route's method responses (the method exists).
support::Status put_method_responses(const Backend& backend, const std::string& base,
                                     const RouteSpec& route) {
  for (const auto& [code, response] : route.method_responses) {
    const json::value request = response;
    auto put =
        backend.apigw("PutMethodResponse", "PUT", base + "/responses/" + segment(code), &request);
    if (!put)
      return tl::unexpected(aws::error_of(std::move(put)));
  }
  return {};
}

// PutIntegration, then its responses and the method's, of an integration that is not a
// Lambda proxy (the method exists).
support::Status put_other_integration(const Backend& backend, const std::string& base,
                                      const RouteSpec& route) {
  const json::value body = *route.integration;
  auto integration = backend.apigw("PutIntegration", "PUT", base + "/integration", &body);
  if (!integration)
    return tl::unexpected(aws::error_of(std::move(integration)));
  WISP_TRY(put_method_responses(backend, base, route));
  for (const auto& [code, response] : route.integration_responses) {
    const json::value request = response;
    auto put = backend.apigw("PutIntegrationResponse", "PUT",
                             base + "/integration/responses/" + segment(code), &request);
    if (!put)
      return tl::unexpected(aws::error_of(std::move(put)));
  }
  return {};
}

support::Status remove_authorizers(const Backend& backend, const ApiSpec& spec,
                                   const std::string& api_id,
                                   const std::map<std::string, AuthorizerActual>& actual,
                                   Log& log) {
  for (const auto& [name, a] : actual) {
    if (std::any_of(spec.authorizers.begin(), spec.authorizers.end(),
                    [&](const AuthorizerSpec& s) { return s.name == name; }))
      continue;
    auto removed =
        spec.kind == "rest"
            ? backend.apigw("DeleteAuthorizer", "DELETE",
                            "/" + segment(api_id) + "/authorizers/" + segment(a.id))
            : backend.apigw2("DeleteAuthorizer", "DELETE",
                             "/apis/" + segment(api_id) + "/authorizers/" + segment(a.id));
    if (!removed && !removed.error().not_found())
      return tl::unexpected(aws::error_of(std::move(removed)));
    log.step(fmt::format("{}: removed authorizer {}", spec.logical_id, name));
  }
  return {};
}

} // namespace

std::string permission_id(const std::string& api_logical_id, const std::string& stage) {
  return fmt::format("wisp-{}-{}", api_logical_id, stage);
}

std::string api_source_arn(const std::string& region, const std::string& account,
                           const std::string& api_id) {
  return fmt::format("arn:{}:execute-api:{}:{}:{}/*", partition(region), region, account, api_id);
}

std::string api_url(const std::string& region, const std::string& kind, const std::string& id,
                    const std::string& stage) {
  const std::string base =
      fmt::format("https://{}.execute-api.{}.{}", id, region,
                  region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com");
  if (kind == "http" && stage == "$default")
    return base + "/";
  return base + "/" + stage + (kind == "rest" ? "/" : "");
}

std::string api_url(const Desired& desired, const std::string& kind, const std::string& id,
                    const std::string& stage) {
  return api_url(desired.region, kind, id, stage);
}

support::Result<ApiActual> read_api(const Backend& backend, const ApiSpec& spec,
                                    const std::string& known_id) {
  ApiActual actual;
  WISP_TRY_ASSIGN(actual.id, find_api_id(backend, spec, known_id));
  if (actual.id.empty())
    return actual;
  const auto id = segment(actual.id);
  if (spec.kind == "rest") {
    auto api = backend.apigw("GetRestApi", "GET", "/" + id);
    if (!api)
      return tl::unexpected(aws::error_of(std::move(api)));
    if (api->is_object()) {
      actual.api_key_source = aws::json_string(api->as_object(), "apiKeySource");
      actual.policy = reported_policy(aws::json_string(api->as_object(), "policy"), actual.id);
    }
    if (api->is_object())
      if (const auto* types = api->as_object().if_contains("binaryMediaTypes");
          types != nullptr && types->is_array())
        for (const auto& t : types->as_array())
          if (t.is_string())
            actual.binary_media_types.emplace_back(t.as_string());
    std::string position;
    for (int page = 0; page < 50; ++page) {
      aws::Query query{{"embed", "methods"}, {"limit", "500"}};
      if (!position.empty())
        query.emplace_back("position", position);
      auto resources =
          backend.apigw("GetResources", "GET", "/" + id + "/resources", nullptr, query);
      if (!resources)
        return tl::unexpected(aws::error_of(std::move(resources)));
      for (const auto& item : aws::json_items(*resources)) {
        if (!item.is_object())
          continue;
        const auto& o = item.as_object();
        RestResourceActual resource{aws::json_string(o, "id"), aws::json_string(o, "path"), {}};
        if (const auto* methods = o.if_contains("resourceMethods");
            methods != nullptr && methods->is_object())
          for (const auto& m : methods->as_object()) {
            RestMethodActual method;
            if (m.value().is_object()) {
              const auto& mo = m.value().as_object();
              if (const auto* integration = mo.if_contains("methodIntegration");
                  integration != nullptr && integration->is_object())
                method.uri = aws::json_string(integration->as_object(), "uri");
              method.authorization_type = aws::json_string(mo, "authorizationType");
              method.authorizer_id = aws::json_string(mo, "authorizerId");
              const auto* key = mo.if_contains("apiKeyRequired");
              method.api_key_required = key != nullptr && key->is_bool() && key->as_bool();
              method.request_validator_id = aws::json_string(mo, "requestValidatorId");
              if (const auto* models = mo.if_contains("requestModels");
                  models != nullptr && models->is_object() && !models->as_object().empty())
                method.request_models = canonical_json(*models);
              if (const auto* responses = mo.if_contains("methodResponses");
                  responses != nullptr && responses->is_object())
                method.responses = method_responses_text(responses->as_object());
            }
            resource.methods[std::string(m.key())] = std::move(method);
          }
        actual.resources[resource.path] = std::move(resource);
      }
      position = resources->is_object() ? aws::json_string(resources->as_object(), "position") : "";
      if (position.empty())
        break;
    }
    const bool any_auth =
        std::any_of(actual.resources.begin(), actual.resources.end(), [](const auto& r) {
          return std::any_of(r.second.methods.begin(), r.second.methods.end(), [](const auto& m) {
            return !m.second.authorization_type.empty() && m.second.authorization_type != "NONE";
          });
        });
    if (!spec.authorizers.empty() || any_auth) {
      auto listed = backend.apigw("GetAuthorizers", "GET", "/" + id + "/authorizers");
      if (!listed)
        return tl::unexpected(aws::error_of(std::move(listed)));
      for (const auto& item : aws::json_items(*listed))
        if (item.is_object())
          actual.authorizers[aws::json_string(item.as_object(), "name")] = {
              aws::json_string(item.as_object(), "id"),
              authorizer_of(item.as_object(), true).digest()};
    }
    WISP_TRY(read_definition_extras(backend, actual.id, actual));
    WISP_TRY_ASSIGN(actual.usage_plans, read_usage_plans(backend, spec, actual.id));
    auto stage = backend.apigw("GetStage", "GET", "/" + id + "/stages/" + segment(spec.stage));
    if (!stage) {
      if (!stage.error().not_found())
        return tl::unexpected(aws::error_of(std::move(stage)));
    } else if (stage->is_object()) {
      actual.stage_exists = true;
      actual.deployment_id = aws::json_string(stage->as_object(), "deploymentId");
      actual.variables = string_map(stage->as_object().if_contains("variables"));
      if (!actual.deployment_id.empty()) {
        auto deployment = backend.apigw("GetDeployment", "GET",
                                        "/" + id + "/deployments/" + segment(actual.deployment_id));
        if (deployment && deployment->is_object()) {
          const auto description = aws::json_string(deployment->as_object(), "description");
          if (description.starts_with("wisp "))
            actual.deployment_digest = description.substr(5);
        }
      }
    }
    return actual;
  }
  // HTTP API
  auto api = backend.apigw2("GetApi", "GET", "/apis/" + id);
  if (!api)
    return tl::unexpected(aws::error_of(std::move(api)));
  if (api->is_object())
    if (const auto* cors = api->as_object().if_contains("corsConfiguration");
        cors != nullptr && cors->is_object() && !cors->as_object().empty())
      actual.cors = canonical_json(*cors);
  auto integrations = backend.apigw2("GetIntegrations", "GET", "/apis/" + id + "/integrations");
  if (!integrations)
    return tl::unexpected(aws::error_of(std::move(integrations)));
  for (const auto& item : aws::json_items(*integrations, "items"))
    if (item.is_object())
      actual.integrations[aws::json_string(item.as_object(), "integrationId")] =
          integration_key(item.as_object());
  auto routes = backend.apigw2("GetRoutes", "GET", "/apis/" + id + "/routes");
  if (!routes)
    return tl::unexpected(aws::error_of(std::move(routes)));
  bool any_auth = false;
  for (const auto& item : aws::json_items(*routes, "items"))
    if (item.is_object()) {
      const auto& o = item.as_object();
      actual.routes[aws::json_string(o, "routeKey")] = aws::json_string(o, "target");
      actual.route_ids[aws::json_string(o, "routeKey")] = aws::json_string(o, "routeId");
      auto type = aws::json_string(o, "authorizationType");
      if (type.empty())
        type = "NONE";
      any_auth = any_auth || type != "NONE";
      actual.route_auth[aws::json_string(o, "routeKey")] =
          type + "|" + aws::json_string(o, "authorizerId");
    }
  if (!spec.authorizers.empty() || any_auth) {
    auto listed = backend.apigw2("GetAuthorizers", "GET", "/apis/" + id + "/authorizers");
    if (!listed)
      return tl::unexpected(aws::error_of(std::move(listed)));
    for (const auto& item : aws::json_items(*listed, "items"))
      if (item.is_object())
        actual.authorizers[aws::json_string(item.as_object(), "name")] = {
            aws::json_string(item.as_object(), "authorizerId"),
            authorizer_of(item.as_object(), false).digest()};
  }
  auto stages = backend.apigw2("GetStages", "GET", "/apis/" + id + "/stages");
  if (!stages)
    return tl::unexpected(aws::error_of(std::move(stages)));
  for (const auto& item : aws::json_items(*stages, "items")) {
    if (!item.is_object() || aws::json_string(item.as_object(), "stageName") != spec.stage)
      continue;
    actual.stage_exists = true;
    actual.variables = string_map(item.as_object().if_contains("stageVariables"));
  }
  return actual;
}

ApiPlan plan_api(const ApiSpec& spec, ApiActual actual) {
  ApiPlan plan;
  plan.spec = &spec;
  plan.actual = std::move(actual);
  const auto& a = plan.actual;
  if (a.id.empty()) {
    plan.create_api = true;
    plan.definition_changed = true;
    plan.needs_deployment = true;
    plan.details.push_back(fmt::format("{} API, {} route{}", spec.kind == "rest" ? "REST" : "HTTP",
                                       spec.routes.size(), spec.routes.size() == 1 ? "" : "s"));
    if (spec.usage_plan) {
      plan.usage_plan_changed = true;
      plan.details.push_back(fmt::format("+ usage plan {} with API key {}", spec.usage_plan->name,
                                         spec.usage_plan->key_name));
    }
    return plan;
  }
  std::map<std::string, std::string> authorizer_ids;
  for (const auto& [name, actual_authorizer] : a.authorizers)
    authorizer_ids[name] = actual_authorizer.id;
  for (const auto& wanted : spec.authorizers) {
    auto it = a.authorizers.find(wanted.name);
    if (it == a.authorizers.end())
      plan.details.push_back("+ authorizer " + wanted.name);
    else if (it->second.digest != wanted.digest())
      plan.details.push_back("~ authorizer " + wanted.name);
  }
  for (const auto& [name, actual_authorizer] : a.authorizers)
    if (std::none_of(spec.authorizers.begin(), spec.authorizers.end(),
                     [&](const AuthorizerSpec& w) { return w.name == name; }))
      plan.details.push_back("- authorizer " + name);
  if (spec.kind == "rest") {
    auto extras = plan_definition_extras(spec, a);
    plan.details.insert(plan.details.end(), extras.begin(), extras.end());
    std::map<std::string, std::string> validator_ids;
    for (const auto& [name, v] : a.validators)
      validator_ids[name] = v.id;
    std::set<std::string> desired_paths{"/"};
    for (const auto& route : spec.routes)
      for (const auto& p : ancestors(route.path))
        desired_paths.insert(p);
    for (const auto& route : spec.routes) {
      auto resource = a.resources.find(route.path);
      if (resource == a.resources.end()) {
        plan.details.push_back(fmt::format("+ route {} {}", route.method, route.path));
        continue;
      }
      auto method = resource->second.methods.find(route.method);
      if (method == resource->second.methods.end())
        plan.details.push_back(fmt::format("+ route {} {}", route.method, route.path));
      else if (method->second.uri != route.integration_uri ||
               (route.integration && a.deployment_digest != spec.definition_digest))
        plan.details.push_back(
            fmt::format("~ route {} {} (integration)", route.method, route.path));
      else if (route_authorization(spec, route, authorizer_ids) !=
               (method->second.authorization_type.empty() ? std::string("NONE")
                                                          : method->second.authorization_type) +
                   "|" + method->second.authorizer_id)
        plan.details.push_back(fmt::format("~ route {} {} (authorizer)", route.method, route.path));
      else if (method->second.api_key_required != route.api_key_required)
        plan.details.push_back(fmt::format("~ route {} {} (API key {})", route.method, route.path,
                                           route.api_key_required ? "required" : "not required"));
      else if (validation_text(method->second) != validation_text(route, validator_ids))
        plan.details.push_back(
            fmt::format("~ route {} {} (request validation)", route.method, route.path));
      else if (method->second.responses != method_responses_text(route))
        plan.details.push_back(
            fmt::format("~ route {} {} (method responses)", route.method, route.path));
    }
    for (const auto& [path, resource] : a.resources) {
      for (const auto& [method, m] : resource.methods) {
        (void)m;
        const bool wanted =
            std::any_of(spec.routes.begin(), spec.routes.end(),
                        [&](const RouteSpec& r) { return r.path == path && r.method == method; });
        if (!wanted)
          plan.details.push_back(fmt::format("- route {} {}", method, path));
      }
      if (!desired_paths.contains(path))
        plan.details.push_back(fmt::format("- resource {}", path));
    }
    auto binary = spec.binary_media_types;
    auto actual_binary = a.binary_media_types;
    std::sort(binary.begin(), binary.end());
    std::sort(actual_binary.begin(), actual_binary.end());
    if (binary != actual_binary)
      plan.details.push_back("binary media types");
    if (!spec.api_key_source.empty() &&
        spec.api_key_source != (a.api_key_source.empty() ? "HEADER" : a.api_key_source))
      plan.details.push_back("API key source " + spec.api_key_source);
    if (policy_text(spec) != a.policy)
      plan.details.push_back(spec.resource_policy ? "resource policy" : "- resource policy");
    plan.definition_changed = !plan.details.empty();
    plan.needs_deployment =
        plan.definition_changed || !a.stage_exists || a.deployment_digest != spec.definition_digest;
    if (a.stage_exists && !plan.definition_changed && plan.needs_deployment)
      plan.details.push_back("stage serves an older deployment");
  } else {
    std::set<std::string> wanted_keys;
    for (const auto& route : spec.routes) {
      const auto key = route_key(route);
      wanted_keys.insert(key);
      auto it = a.routes.find(key);
      const auto want = integration_key(route);
      if (it == a.routes.end()) {
        plan.details.push_back("+ route " + key);
        continue;
      }
      const auto target = it->second.starts_with("integrations/") ? it->second.substr(13) : "";
      auto integration = a.integrations.find(target);
      if (integration == a.integrations.end() || integration->second != want)
        plan.details.push_back("~ route " + key + " (integration)");
      else if (auto auth = a.route_auth.find(key);
               auth != a.route_auth.end() &&
               auth->second != route_authorization(spec, route, authorizer_ids))
        plan.details.push_back("~ route " + key + " (authorizer)");
    }
    for (const auto& [key, target] : a.routes) {
      (void)target;
      if (!wanted_keys.contains(key))
        plan.details.push_back("- route " + key);
    }
    if (cors_text(spec) != a.cors)
      plan.details.push_back(spec.cors ? "CORS configuration" : "- CORS configuration");
    plan.definition_changed = !plan.details.empty();
    plan.needs_deployment = !a.stage_exists;
  }
  plan.stage_variables_changed = a.stage_exists && a.variables != spec.variables;
  if (plan.stage_variables_changed)
    plan.details.push_back("stage variables");
  if (spec.kind == "rest") {
    auto lines = plan_usage_plans(spec, a);
    plan.usage_plan_changed = !lines.empty();
    plan.details.insert(plan.details.end(), lines.begin(), lines.end());
  }
  return plan;
}

namespace {

support::Status apply_rest(const Backend& backend, const Desired& desired, const ApiPlan& plan,
                           ApiApplied& applied, Log& log) {
  const auto& spec = *plan.spec;
  std::map<std::string, RestResourceActual> resources = plan.actual.resources;
  if (plan.create_api) {
    json::array binary;
    for (const auto& t : spec.binary_media_types)
      binary.emplace_back(t);
    json::object body{
        {"name", spec.name},
        {"description", fmt::format("{} ({}) deployed by wisp", spec.logical_id, desired.stack)},
        {"binaryMediaTypes", std::move(binary)},
        {"endpointConfiguration", json::object{{"types", json::array{"REGIONAL"}}}},
        {"apiKeySource", spec.api_key_source.empty() ? "HEADER" : spec.api_key_source},
        {"tags",
         json::object{{"wisp:stack", desired.stack}, {"wisp:logical-id", spec.logical_id}}}};
    // "execute-api:/..." as SAM writes it: API Gateway expands it to the new API's ARN.
    if (spec.resource_policy)
      body["policy"] = json::serialize(*spec.resource_policy);
    const json::value request(std::move(body));
    auto created = backend.apigw("CreateRestApi", "POST", "", &request);
    if (!created)
      return tl::unexpected(aws::error_of(std::move(created)));
    applied.id = created->is_object() ? aws::json_string(created->as_object(), "id") : "";
    if (applied.id.empty())
      return support::failf("CreateRestApi for {} returned no id", spec.logical_id);
    log.step(fmt::format("created REST API {} ({})", spec.name, applied.id));
    WISP_TRY(remove_copies(backend, spec, applied.id, log));
    auto listed = backend.apigw("GetResources", "GET", slash_segment(applied.id) + "/resources");
    if (!listed)
      return tl::unexpected(aws::error_of(std::move(listed)));
    for (const auto& item : aws::json_items(*listed))
      if (item.is_object())
        resources[aws::json_string(item.as_object(), "path")] = {
            aws::json_string(item.as_object(), "id"),
            aws::json_string(item.as_object(), "path"),
            {}};
  } else {
    applied.id = plan.actual.id;
  }
  const auto id = segment(applied.id);
  if (!plan.create_api) {
    auto binary = spec.binary_media_types;
    auto actual_binary = plan.actual.binary_media_types;
    std::sort(binary.begin(), binary.end());
    std::sort(actual_binary.begin(), actual_binary.end());
    json::array ops;
    if (!spec.api_key_source.empty() &&
        spec.api_key_source !=
            (plan.actual.api_key_source.empty() ? "HEADER" : plan.actual.api_key_source))
      ops.push_back(json::object{
          {"op", "replace"}, {"path", "/apiKeySource"}, {"value", spec.api_key_source}});
    if (policy_text(spec) != plan.actual.policy)
      ops.push_back(json::object{
          {"op", "replace"},
          {"path", "/policy"},
          {"value", spec.resource_policy ? json::serialize(*spec.resource_policy) : ""}});
    if (binary != actual_binary) {
      for (const auto& t : actual_binary)
        if (std::find(binary.begin(), binary.end(), t) == binary.end())
          ops.push_back(
              json::object{{"op", "remove"}, {"path", "/binaryMediaTypes/" + pointer_segment(t)}});
      for (const auto& t : binary)
        if (std::find(actual_binary.begin(), actual_binary.end(), t) == actual_binary.end())
          ops.push_back(
              json::object{{"op", "add"}, {"path", "/binaryMediaTypes/" + pointer_segment(t)}});
    }
    if (!ops.empty()) {
      const json::value body = json::object{{"patchOperations", std::move(ops)}};
      auto patched = backend.apigw("UpdateRestApi", "PATCH", "/" + id, &body);
      if (!patched)
        return tl::unexpected(aws::error_of(std::move(patched)));
    }
  }
  // Resources, parents first.
  std::set<std::string> desired_paths{"/"};
  for (const auto& route : spec.routes)
    for (const auto& p : ancestors(route.path))
      desired_paths.insert(p);
  for (const auto& path : desired_paths) {
    if (resources.contains(path))
      continue;
    const auto slash = path.rfind('/');
    const auto parent = slash == 0 ? std::string("/") : path.substr(0, slash);
    const json::value body = json::object{{"pathPart", path.substr(slash + 1)}};
    auto created =
        backend.apigw("CreateResource", "POST",
                      "/" + id + "/resources/" + segment(resources.at(parent).id), &body);
    if (!created)
      return tl::unexpected(aws::error_of(std::move(created)));
    resources[path] = {
        created->is_object() ? aws::json_string(created->as_object(), "id") : "", path, {}};
  }
  // Authorizers, models, validators and gateway responses, then methods and integrations.
  WISP_TRY_ASSIGN(const auto authorizer_ids,
                  apply_authorizers(backend, spec, applied.id, plan.actual.authorizers, log));
  WISP_TRY_ASSIGN(const auto validator_ids,
                  apply_definition_extras(backend, spec, applied.id, plan.actual, log));
  for (const auto& route : spec.routes) {
    auto& resource = resources.at(route.path);
    const auto base =
        "/" + id + "/resources/" + segment(resource.id) + "/methods/" + segment(route.method);
    auto existing = resource.methods.find(route.method);
    const auto authorization = route_authorization(spec, route, authorizer_ids);
    // A method's authorization is changed by making the method again (API Gateway's
    // UpdateMethod is not everywhere: moto lacks it).
    // An integration of another kind than a Lambda proxy (mock, http, aws, ...) is made again
    // with its method when the definition changed: its responses go with it.
    const bool remake_other =
        route.integration.has_value() && plan.actual.deployment_digest != spec.definition_digest;
    if (existing != resource.methods.end() &&
        (remake_other ||
         authorization != (existing->second.authorization_type.empty()
                               ? std::string("NONE")
                               : existing->second.authorization_type) +
                              "|" + existing->second.authorizer_id ||
         existing->second.api_key_required != route.api_key_required ||
         validation_text(existing->second) != validation_text(route, validator_ids) ||
         existing->second.responses != method_responses_text(route))) {
      auto removed = backend.apigw("DeleteMethod", "DELETE", base);
      if (!removed && !removed.error().not_found())
        return tl::unexpected(aws::error_of(std::move(removed)));
      resource.methods.erase(existing);
      existing = resource.methods.end();
    }
    if (existing == resource.methods.end()) {
      const auto bar = authorization.find('|');
      json::object body{{"authorizationType", authorization.substr(0, bar)},
                        {"apiKeyRequired", route.api_key_required}};
      if (bar + 1 < authorization.size())
        body["authorizerId"] = authorization.substr(bar + 1);
      if (!route.request_parameters.empty())
        body["requestParameters"] = route.request_parameters;
      if (!route.request_validator.empty())
        body["requestValidatorId"] = validator_ids.at(route.request_validator);
      if (!route.request_models.empty())
        body["requestModels"] = route.request_models;
      if (!route.scopes.empty()) {
        json::array scopes;
        for (const auto& scope : route.scopes)
          scopes.emplace_back(scope);
        body["authorizationScopes"] = std::move(scopes);
      }
      const json::value request = std::move(body);
      auto method = backend.apigw("PutMethod", "PUT", base, &request);
      if (!method)
        return tl::unexpected(aws::error_of(std::move(method)));
    }
    if (route.integration &&
        (existing == resource.methods.end() || existing->second.uri != route.integration_uri)) {
      WISP_TRY(put_other_integration(backend, base, route));
      log.step(fmt::format("{}: route {} {} → {} integration", spec.logical_id, route.method,
                           route.path, aws::json_string(*route.integration, "type")));
    } else if (existing == resource.methods.end() ||
               existing->second.uri != route.integration_uri) {
      const json::value body = json::object{
          {"type", "AWS_PROXY"}, {"httpMethod", "POST"}, {"uri", route.integration_uri}};
      auto integration = backend.apigw("PutIntegration", "PUT", base + "/integration", &body);
      if (!integration)
        return tl::unexpected(aws::error_of(std::move(integration)));
      // The body's method responses of a Lambda proxy operation, with a new method.
      if (existing == resource.methods.end())
        WISP_TRY(put_method_responses(backend, base, route));
      log.step(fmt::format("{}: route {} {} → {}", spec.logical_id, route.method, route.path,
                           route.function_logical_id));
    }
  }
  // Methods and resources no longer wanted (deepest first).
  for (auto it = resources.rbegin(); it != resources.rend(); ++it) {
    const auto& [path, resource] = *it;
    if (!desired_paths.contains(path)) {
      // Deleting a resource deletes its children; skip ones whose parent goes too.
      const auto slash = path.rfind('/');
      const auto parent = slash == 0 ? std::string("/") : path.substr(0, slash);
      if (!desired_paths.contains(parent))
        continue;
      auto removed = backend.apigw("DeleteResource", "DELETE",
                                   "/" + id + "/resources/" + segment(resource.id));
      if (!removed && !removed.error().not_found())
        return tl::unexpected(aws::error_of(std::move(removed)));
      log.step(fmt::format("{}: removed {}", spec.logical_id, path));
      continue;
    }
    for (const auto& [method, m] : resource.methods) {
      (void)m;
      const bool wanted =
          std::any_of(spec.routes.begin(), spec.routes.end(),
                      [&](const RouteSpec& r) { return r.path == path && r.method == method; });
      if (wanted)
        continue;
      auto removed = backend.apigw("DeleteMethod", "DELETE",
                                   "/" + id + "/resources/" + segment(resource.id) + "/methods/" +
                                       segment(method));
      if (!removed && !removed.error().not_found())
        return tl::unexpected(aws::error_of(std::move(removed)));
      log.step(fmt::format("{}: removed route {} {}", spec.logical_id, method, path));
    }
  }

  WISP_TRY(remove_authorizers(backend, spec, applied.id, plan.actual.authorizers, log));
  WISP_TRY(remove_definition_extras(backend, spec, applied.id, plan.actual, log));

  // Deployment and stage.
  json::object variables;
  for (const auto& [k, v] : spec.variables)
    variables[k] = v;
  const auto stage_path = "/" + id + "/stages/" + segment(spec.stage);
  applied.deployment_id = plan.actual.deployment_id;
  if (plan.needs_deployment) {
    json::object request{{"description", deployment_description(spec)}};
    const bool canary = spec.canary.has_value() && plan.actual.stage_exists;
    if (canary) {
      json::object settings;
      if (const auto* percent = spec.canary->if_contains("PercentTraffic"))
        settings["percentTraffic"] = *percent;
      if (const auto* overrides = spec.canary->if_contains("StageVariableOverrides"))
        settings["stageVariableOverrides"] = *overrides;
      if (const auto* cache = spec.canary->if_contains("UseStageCache"))
        settings["useStageCache"] = *cache;
      request["stageName"] = spec.stage;
      request["canarySettings"] = std::move(settings);
      applied.canary_requested = true;
    }
    const json::value body = request;
    auto deployment = backend.apigw("CreateDeployment", "POST", "/" + id + "/deployments", &body);
    if (!deployment)
      return tl::unexpected(aws::error_of(std::move(deployment)));
    const auto deployment_id =
        deployment->is_object() ? aws::json_string(deployment->as_object(), "id") : "";
    if (deployment_id.empty())
      return support::failf("CreateDeployment for {} returned no id", spec.logical_id);
    log.step(fmt::format("{}: deployment {}{}", spec.logical_id, deployment_id,
                         canary ? " (stage canary)" : ""));
    if (canary) {
      auto stage = backend.apigw("GetStage", "GET", stage_path);
      if (!stage)
        return tl::unexpected(aws::error_of(std::move(stage)));
      const auto* settings =
          stage->is_object() ? stage->as_object().if_contains("canarySettings") : nullptr;
      if (settings != nullptr && settings->is_object() &&
          aws::json_string(settings->as_object(), "deploymentId") == deployment_id) {
        applied.canary_active = true;
      } else {
        log.warning(fmt::format("{}: the backend dropped the stage canary (canarySettings): the "
                                "new deployment {} serves all of stage {} now",
                                spec.logical_id, deployment_id, spec.stage));
        applied.deployment_id = deployment_id;
      }
    } else {
      applied.deployment_id = deployment_id;
    }
  }
  if (!plan.actual.stage_exists) {
    const json::value body = json::object{{"stageName", spec.stage},
                                          {"deploymentId", applied.deployment_id},
                                          {"variables", variables},
                                          {"tags", json::object{{"wisp:stack", desired.stack}}}};
    auto created = backend.apigw("CreateStage", "POST", "/" + id + "/stages", &body);
    if (!created)
      return tl::unexpected(aws::error_of(std::move(created)));
    log.step(fmt::format("{}: stage {} created", spec.logical_id, spec.stage));
  } else {
    json::array ops;
    if (!applied.canary_active && applied.deployment_id != plan.actual.deployment_id)
      ops.push_back(json::object{
          {"op", "replace"}, {"path", "/deploymentId"}, {"value", applied.deployment_id}});
    // Variables: compared with what the stage holds now (a dropped canary may have reset them).
    auto now = backend.apigw("GetStage", "GET", stage_path);
    if (!now)
      return tl::unexpected(aws::error_of(std::move(now)));
    const auto current =
        string_map(now->is_object() ? now->as_object().if_contains("variables") : nullptr);
    for (const auto& [k, v] : spec.variables)
      if (auto it = current.find(k); it == current.end() || it->second != v)
        ops.push_back(json::object{{"op", "replace"}, {"path", "/variables/" + k}, {"value", v}});
    for (const auto& [k, v] : current) {
      (void)v;
      if (!spec.variables.contains(k))
        ops.push_back(json::object{{"op", "remove"}, {"path", "/variables/" + k}});
    }
    if (!ops.empty()) {
      const json::value body = json::object{{"patchOperations", std::move(ops)}};
      auto patched = backend.apigw("UpdateStage", "PATCH", stage_path, &body);
      if (!patched)
        return tl::unexpected(aws::error_of(std::move(patched)));
      log.step(fmt::format("{}: stage {} updated", spec.logical_id, spec.stage));
    }
  }
  // Read back.
  auto stage = backend.apigw("GetStage", "GET", stage_path);
  if (!stage)
    return tl::unexpected(aws::error_of(std::move(stage)));
  const auto& o = stage->is_object() ? stage->as_object() : json::object();
  if (!applied.canary_active && aws::json_string(o, "deploymentId") != applied.deployment_id)
    return support::failf("read-back: stage {} of {} serves deployment {}, not {}", spec.stage,
                          spec.logical_id, aws::json_string(o, "deploymentId"),
                          applied.deployment_id);
  if (string_map(o.if_contains("variables")) != spec.variables)
    return support::failf("read-back: stage {} of {} does not hold the stage variables wisp set",
                          spec.stage, spec.logical_id);
  return {};
}

support::Status apply_http(const Backend& backend, const Desired& desired, const ApiPlan& plan,
                           ApiApplied& applied, Log& log) {
  const auto& spec = *plan.spec;
  auto integrations = plan.actual.integrations;
  auto routes = plan.actual.routes;
  auto route_ids = plan.actual.route_ids;
  if (plan.create_api) {
    json::object request{
        {"name", spec.name},
        {"protocolType", "HTTP"},
        {"description", fmt::format("{} ({}) deployed by wisp", spec.logical_id, desired.stack)},
        {"tags",
         json::object{{"wisp:stack", desired.stack}, {"wisp:logical-id", spec.logical_id}}}};
    if (spec.cors)
      request["corsConfiguration"] = *spec.cors;
    const json::value body = std::move(request);
    auto created = backend.apigw2("CreateApi", "POST", "/apis", &body);
    if (!created)
      return tl::unexpected(aws::error_of(std::move(created)));
    applied.id = created->is_object() ? aws::json_string(created->as_object(), "apiId") : "";
    if (applied.id.empty())
      return support::failf("CreateApi for {} returned no id", spec.logical_id);
    log.step(fmt::format("created HTTP API {} ({})", spec.name, applied.id));
    WISP_TRY(remove_copies(backend, spec, applied.id, log));
  } else {
    applied.id = plan.actual.id;
  }
  const auto id = segment(applied.id);
  if (!plan.create_api && cors_text(spec) != plan.actual.cors) {
    // UpdateApi replaces the whole configuration; DeleteCorsConfiguration removes it.
    if (spec.cors) {
      const json::value body = json::object{{"corsConfiguration", *spec.cors}};
      auto updated = backend.apigw2("UpdateApi", "PATCH", "/apis/" + id, &body);
      if (!updated)
        return tl::unexpected(aws::error_of(std::move(updated)));
    } else {
      auto removed = backend.apigw2("DeleteCorsConfiguration", "DELETE", "/apis/" + id + "/cors");
      if (!removed && !removed.error().not_found())
        return tl::unexpected(aws::error_of(std::move(removed)));
    }
    log.step(
        fmt::format("{}: CORS configuration {}", spec.logical_id, spec.cors ? "set" : "removed"));
  }
  WISP_TRY_ASSIGN(const auto authorizer_ids,
                  apply_authorizers(backend, spec, applied.id, plan.actual.authorizers, log));
  const auto route_auth_body = [&](const RouteSpec& route, json::object& body) {
    const auto authorization = route_authorization(spec, route, authorizer_ids);
    const auto bar = authorization.find('|');
    body["authorizationType"] = authorization.substr(0, bar);
    if (bar + 1 < authorization.size())
      body["authorizerId"] = authorization.substr(bar + 1);
    if (!route.scopes.empty()) {
      json::array scopes;
      for (const auto& scope : route.scopes)
        scopes.emplace_back(scope);
      body["authorizationScopes"] = std::move(scopes);
    }
  };
  // One integration per (uri, payload format).
  std::map<std::string, std::string> by_target; // uri|pfv → integration id
  for (const auto& [integration_id, target] : integrations)
    by_target.emplace(target, integration_id);
  std::set<std::string> used;
  std::set<std::string> wanted_keys;
  for (const auto& route : spec.routes) {
    const auto want = integration_key(route);
    auto integration = by_target.find(want);
    if (integration == by_target.end()) {
      json::object request;
      if (route.integration) {
        request = *route.integration;
        request["description"] = want;
      } else {
        request = json::object{{"integrationType", "AWS_PROXY"},
                               {"integrationUri", route.integration_uri},
                               {"payloadFormatVersion", route.payload_format_version.empty()
                                                            ? std::string("2.0")
                                                            : route.payload_format_version}};
      }
      const json::value body = std::move(request);
      auto created =
          backend.apigw2("CreateIntegration", "POST", "/apis/" + id + "/integrations", &body);
      if (!created)
        return tl::unexpected(aws::error_of(std::move(created)));
      const auto integration_id =
          created->is_object() ? aws::json_string(created->as_object(), "integrationId") : "";
      integration = by_target.emplace(want, integration_id).first;
    }
    used.insert(integration->second);
    const auto key = route_key(route);
    wanted_keys.insert(key);
    const auto target = "integrations/" + integration->second;
    auto existing = routes.find(key);
    const auto auth_now = plan.actual.route_auth.find(key);
    const bool auth_differs = auth_now != plan.actual.route_auth.end() &&
                              auth_now->second != route_authorization(spec, route, authorizer_ids);
    if (existing == routes.end()) {
      json::object request{{"routeKey", key}, {"target", target}};
      route_auth_body(route, request);
      const json::value body = std::move(request);
      auto created = backend.apigw2("CreateRoute", "POST", "/apis/" + id + "/routes", &body);
      if (!created)
        return tl::unexpected(aws::error_of(std::move(created)));
      log.step(fmt::format("{}: route {} → {}", spec.logical_id, key, http_target_name(route)));
    } else if (existing->second != target || auth_differs) {
      json::object request{{"target", target}};
      route_auth_body(route, request);
      const json::value body = std::move(request);
      auto updated = backend.apigw2("UpdateRoute", "PATCH",
                                    "/apis/" + id + "/routes/" + segment(route_ids[key]), &body);
      if (!updated)
        return tl::unexpected(aws::error_of(std::move(updated)));
      log.step(fmt::format("{}: route {} → {}", spec.logical_id, key, http_target_name(route)));
    }
  }
  for (const auto& [key, target] : routes) {
    (void)target;
    if (wanted_keys.contains(key))
      continue;
    auto removed = backend.apigw2("DeleteRoute", "DELETE",
                                  "/apis/" + id + "/routes/" + segment(route_ids[key]));
    if (!removed && !removed.error().not_found())
      return tl::unexpected(aws::error_of(std::move(removed)));
    log.step(fmt::format("{}: removed route {}", spec.logical_id, key));
  }
  for (const auto& [integration_id, target] : integrations) {
    (void)target;
    if (used.contains(integration_id))
      continue;
    auto removed = backend.apigw2("DeleteIntegration", "DELETE",
                                  "/apis/" + id + "/integrations/" + segment(integration_id));
    if (!removed && !removed.error().not_found())
      log.warning(fmt::format("{}: could not remove integration {}: {}", spec.logical_id,
                              integration_id, removed.error().describe()));
  }
  WISP_TRY(remove_authorizers(backend, spec, applied.id, plan.actual.authorizers, log));
  json::object variables;
  for (const auto& [k, v] : spec.variables)
    variables[k] = v;
  if (!plan.actual.stage_exists) {
    const json::value body = json::object{{"stageName", spec.stage},
                                          {"autoDeploy", true},
                                          {"stageVariables", variables},
                                          {"tags", json::object{{"wisp:stack", desired.stack}}}};
    auto created = backend.apigw2("CreateStage", "POST", "/apis/" + id + "/stages", &body);
    if (!created)
      return tl::unexpected(aws::error_of(std::move(created)));
    log.step(fmt::format("{}: stage {} created (AutoDeploy)", spec.logical_id, spec.stage));
  } else if (plan.stage_variables_changed) {
    const json::value body = json::object{{"stageVariables", variables}, {"autoDeploy", true}};
    auto updated = backend.apigw2("UpdateStage", "PATCH",
                                  "/apis/" + id + "/stages/" + segment(spec.stage), &body);
    if (!updated)
      return tl::unexpected(aws::error_of(std::move(updated)));
    log.step(fmt::format("{}: stage {} updated", spec.logical_id, spec.stage));
  }
  // Read back routes and stage.
  ApiSpec probe = spec;
  auto actual = read_api(backend, probe, applied.id);
  if (!actual)
    return tl::unexpected(std::move(actual).error());
  for (const auto& key : wanted_keys)
    if (!actual->routes.contains(key))
      return support::failf("read-back: route {} of {} is missing after creating it", key,
                            spec.logical_id);
  if (actual->cors != cors_text(spec))
    return support::failf("read-back: the CORS configuration of {} is not the one wisp set",
                          spec.logical_id);
  if (!actual->stage_exists || actual->variables != spec.variables)
    return support::failf("read-back: stage {} of {} is missing or lacks its stage variables",
                          spec.stage, spec.logical_id);
  return {};
}

} // namespace

support::Result<ApiApplied> apply_api(const Backend& backend, const Desired& desired,
                                      const ApiPlan& plan, Log& log) {
  ApiApplied applied;
  if (plan.spec->kind == "rest")
    WISP_TRY(apply_rest(backend, desired, plan, applied, log));
  else
    WISP_TRY(apply_http(backend, desired, plan, applied, log));
  applied.url = api_url(desired, plan.spec->kind, applied.id, plan.spec->stage);
  return applied;
}

support::Status promote_api_canary(const Backend& backend, const std::string& api_id,
                                   const std::string& stage, Log& log) {
  const auto stage_path = slash_segment(api_id) + "/stages/" + segment(stage);
  auto current = backend.apigw("GetStage", "GET", stage_path);
  if (!current)
    return tl::unexpected(aws::error_of(std::move(current)));
  const auto* settings =
      current->is_object() ? current->as_object().if_contains("canarySettings") : nullptr;
  if (settings == nullptr || !settings->is_object())
    return {};
  const auto canary_deployment = aws::json_string(settings->as_object(), "deploymentId");
  if (canary_deployment.empty())
    return {};
  // The stage keeps its own variables (the template's): the overrides were for canary
  // requests only, and copying them (as the console's "Promote canary" may) would make the
  // next deploy put the template's values back.
  json::array ops{
      json::object{{"op", "replace"}, {"path", "/deploymentId"}, {"value", canary_deployment}},
      json::object{{"op", "remove"}, {"path", "/canarySettings"}}};
  const json::value body = json::object{{"patchOperations", std::move(ops)}};
  auto patched = backend.apigw("UpdateStage", "PATCH", stage_path, &body);
  if (!patched)
    return tl::unexpected(aws::error_of(std::move(patched)));
  auto after = backend.apigw("GetStage", "GET", stage_path);
  if (!after)
    return tl::unexpected(aws::error_of(std::move(after)));
  const auto& o = after->is_object() ? after->as_object() : json::object();
  if (aws::json_string(o, "deploymentId") != canary_deployment || o.contains("canarySettings"))
    return support::failf("read-back: stage {} of API {} does not serve the promoted canary "
                          "deployment {} alone",
                          stage, api_id, canary_deployment);
  log.step(fmt::format("stage {} of API {}: canary deployment {} promoted", stage, api_id,
                       canary_deployment));
  return {};
}

} // namespace wisp::deploy
