// The OpenAPI and CORS pieces of an API's desired state (build_desired in desired.cpp): an
// OpenAPI body's operations that are not Lambda proxy integrations, its models, validators and
// gateway responses, and the CORS SAM adds to REST and HTTP APIs.

#include <wisp/deploy/desired_detail.hpp>

#include <wisp/support/hash.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <tuple>

namespace wisp::deploy::detail {

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

namespace {

// A whole number written as a number or a string of digits (timeoutInMillis); nullopt else.
std::optional<std::int64_t> whole_number(const json::value& v) {
  if (v.is_int64())
    return v.as_int64();
  if (v.is_uint64() &&
      v.as_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return static_cast<std::int64_t>(v.as_uint64());
  if (v.is_double() && std::isfinite(v.as_double()) && v.as_double() == std::floor(v.as_double()) &&
      std::fabs(v.as_double()) < 1e15)
    return static_cast<std::int64_t>(v.as_double());
  if (v.is_string()) {
    const std::string_view text = v.as_string();
    std::int64_t out = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec == std::errc() && end == text.data() + text.size() && !text.empty())
      return out;
  }
  return std::nullopt;
}

} // namespace

// An OpenAPI operation whose x-amazon-apigateway-integration is not a Lambda proxy
// integration to a function of the template, as the bodies of API Gateway's PutMethod,
// PutIntegration, PutIntegrationResponse and PutMethodResponse (what API Gateway's import
// makes of it).
support::Result<RouteSpec> other_route(const DeployResolver& resolver, const std::string& method,
                                       const std::string& path, const json::object& operation,
                                       const json::object& path_item, const std::string& where) {
  WISP_TRY_ASSIGN(auto resolved,
                  resolver.deep(operation.at("x-amazon-apigateway-integration"), where));
  if (!resolved.is_object())
    return support::failf("{}: x-amazon-apigateway-integration is not an object", where);
  const auto& in = resolved.as_object();
  RouteSpec r;
  r.method = method;
  r.path = path;
  json::object integration;
  const auto text = [](const json::value& v) {
    return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
  };
  for (const auto& field : in) {
    const std::string key(field.key());
    if (key == "responses")
      continue;
    if (key == "type" || key == "passthroughBehavior" || key == "contentHandling" ||
        key == "connectionType")
      integration[key] = upper(text(field.value()));
    else if (key == "httpMethod")
      integration[key] = upper(text(field.value()));
    else if (key == "timeoutInMillis") {
      const auto number = whole_number(field.value());
      if (!number)
        return support::failf("{}: x-amazon-apigateway-integration timeoutInMillis {} is not a "
                              "whole number",
                              where, text(field.value()));
      integration[key] = *number;
    } else
      integration[key] = field.value();
  }
  static const std::set<std::string> k_types{"MOCK", "HTTP", "HTTP_PROXY", "AWS", "AWS_PROXY"};
  if (!integration.contains("type") || !k_types.contains(text(integration.at("type"))))
    return support::failf("{}: x-amazon-apigateway-integration type {} is not one of mock, "
                          "http, http_proxy, aws, aws_proxy",
                          where, in.contains("type") ? text(in.at("type")) : std::string("(none)"));
  if (const auto* uri = integration.if_contains("uri"); uri != nullptr && uri->is_string())
    r.integration_uri = std::string(uri->as_string());
  r.integration = std::move(integration);
  if (const auto* responses = in.if_contains("responses");
      responses != nullptr && responses->is_object())
    for (const auto& response : responses->as_object()) {
      if (!response.value().is_object())
        continue;
      const auto& o = response.value().as_object();
      const auto* code = o.if_contains("statusCode");
      if (code == nullptr)
        return support::failf("{}: integration response {} has no statusCode", where,
                              std::string_view(response.key()));
      json::object body;
      if (response.key() != "default")
        body["selectionPattern"] = std::string(response.key());
      for (const char* key : {"responseParameters", "responseTemplates"})
        if (const auto* v = o.if_contains(key))
          body[key] = *v;
      if (const auto* v = o.if_contains("contentHandling"))
        body["contentHandling"] = upper(text(*v));
      r.integration_responses[text(*code)] = std::move(body);
    }
  // Method responses: the operation's responses, their headers as response parameters.
  if (const auto* responses = operation.if_contains("responses");
      responses != nullptr && responses->is_object())
    for (const auto& response : responses->as_object()) {
      const std::string code(response.key());
      if (code.size() != 3 || !std::all_of(code.begin(), code.end(), ::isdigit))
        continue;
      json::object parameters;
      if (response.value().is_object())
        if (const auto* headers = response.value().as_object().if_contains("headers");
            headers != nullptr && headers->is_object())
          for (const auto& h : headers->as_object())
            parameters["method.response.header." + std::string(h.key())] = false;
      json::object body;
      if (!parameters.empty())
        body["responseParameters"] = std::move(parameters);
      r.method_responses[code] = std::move(body);
    }
  // Request parameters the integration maps from (path, query string, header).
  const auto add_parameters = [&](const json::value* list) {
    if (list == nullptr || !list->is_array())
      return;
    for (const auto& p : list->as_array()) {
      if (!p.is_object() || !p.as_object().contains("name") || !p.as_object().contains("in"))
        continue;
      const auto in_where = text(p.as_object().at("in"));
      const auto* required = p.as_object().if_contains("required");
      const bool must = required != nullptr && required->is_bool() && required->as_bool();
      const auto name = text(p.as_object().at("name"));
      if (in_where == "path")
        r.request_parameters["method.request.path." + name] = true;
      else if (in_where == "query")
        r.request_parameters["method.request.querystring." + name] = must;
      else if (in_where == "header")
        r.request_parameters["method.request.header." + name] = must;
    }
  };
  add_parameters(path_item.if_contains("parameters"));
  add_parameters(operation.if_contains("parameters"));
  return r;
}

// An HTTP API operation whose x-amazon-apigateway-integration is not a Lambda proxy
// integration to a function of the template (http_proxy, an AWS service integration with its
// integrationSubtype, aws_proxy to another ARN), as the body of API Gateway v2's
// CreateIntegration (what its import makes of the extension).
support::Result<RouteSpec> http_other_route(const DeployResolver& resolver,
                                            const std::string& method, const std::string& path,
                                            const json::object& operation,
                                            const std::string& where) {
  WISP_TRY_ASSIGN(auto resolved,
                  resolver.deep(operation.at("x-amazon-apigateway-integration"), where));
  if (!resolved.is_object())
    return support::failf("{}: x-amazon-apigateway-integration is not an object", where);
  RouteSpec r;
  r.method = method;
  r.path = path;
  json::object integration;
  const auto text = [](const json::value& v) {
    return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
  };
  for (const auto& field : resolved.as_object()) {
    const std::string key(field.key());
    const auto& v = field.value();
    if (key == "type")
      integration["integrationType"] = upper(text(v));
    else if (key == "uri")
      integration["integrationUri"] = text(v);
    else if (key == "httpMethod")
      integration["integrationMethod"] = upper(text(v));
    else if (key == "credentials")
      integration["credentialsArn"] = text(v);
    else if (key == "connectionType")
      integration["connectionType"] = upper(text(v));
    else if (key == "payloadFormatVersion" || key == "connectionId" || key == "integrationSubtype")
      integration[key] = text(v);
    else if (key == "timeoutInMillis") {
      const auto number = whole_number(v);
      if (!number)
        return support::failf("{}: x-amazon-apigateway-integration timeoutInMillis {} is not a "
                              "whole number",
                              where, text(v));
      integration[key] = *number;
    } else if (key == "requestParameters" || key == "responseParameters" || key == "tlsConfig")
      integration[key] = v;
    else
      return support::failf("{}: x-amazon-apigateway-integration field {} is not one HTTP APIs "
                            "have (type, uri, httpMethod, credentials, connectionType, "
                            "connectionId, payloadFormatVersion, integrationSubtype, "
                            "requestParameters, responseParameters, timeoutInMillis, tlsConfig)",
                            where, key);
  }
  const auto type = integration.contains("integrationType")
                        ? text(integration.at("integrationType"))
                        : std::string("(none)");
  if (type != "AWS_PROXY" && type != "HTTP_PROXY")
    return support::failf("{}: x-amazon-apigateway-integration type {} is not one HTTP APIs "
                          "have (aws_proxy, http_proxy)",
                          where, type);
  if (type == "HTTP_PROXY" && !integration.contains("integrationUri"))
    return support::failf("{}: an http_proxy integration needs its uri", where);
  if (type == "AWS_PROXY" && !integration.contains("integrationSubtype") &&
      !integration.contains("integrationUri"))
    return support::failf("{}: an aws_proxy integration needs a uri (a Lambda function) or an "
                          "integrationSubtype (an AWS service action)",
                          where);
  // Only Lambda proxy integrations take 2.0; everything else is 1.0 (API Gateway's rule).
  if (!integration.contains("payloadFormatVersion"))
    integration["payloadFormatVersion"] =
        type == "AWS_PROXY" && !integration.contains("integrationSubtype") ? "2.0" : "1.0";
  if (const auto* uri = integration.if_contains("integrationUri"); uri != nullptr)
    r.integration_uri = text(*uri);
  r.payload_format_version = text(integration.at("payloadFormatVersion"));
  r.integration = std::move(integration);
  return r;
}

// Python's truth of a template value (what aws-sam-translator's `if value:` tests).
bool truthy(const json::value& v) {
  if (v.is_null())
    return false;
  if (v.is_bool())
    return v.as_bool();
  if (v.is_string())
    return !v.as_string().empty();
  if (v.is_array())
    return !v.as_array().empty();
  if (v.is_object())
    return !v.as_object().empty();
  return v.is_double() ? v.as_double() != 0 : v.to_number<std::int64_t>() != 0;
}

namespace {

std::string value_text(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
}

} // namespace

support::Result<RestCors> rest_cors(const json::value& value) {
  RestCors c;
  if (value.is_string()) {
    c.origin = value;
  } else if (value.is_object()) {
    static const std::set<std::string, std::less<>> k_keys{
        "AllowMethods", "AllowHeaders", "AllowOrigin", "MaxAge", "AllowCredentials"};
    const auto& o = value.as_object();
    for (const auto& field : o)
      if (!k_keys.contains(field.key()))
        return support::failf("Invalid key '{}' for 'Cors' property.",
                              std::string_view(field.key()));
    if (const auto* v = o.if_contains("AllowOrigin"))
      c.origin = *v;
    if (const auto* v = o.if_contains("AllowHeaders"))
      c.headers = *v;
    if (const auto* v = o.if_contains("AllowMethods"))
      c.methods = *v;
    if (const auto* v = o.if_contains("MaxAge"))
      c.max_age = *v;
    const auto* credentials = o.if_contains("AllowCredentials");
    c.credentials = credentials != nullptr && credentials->is_bool() && credentials->as_bool();
  } else {
    return support::fail("Invalid value for 'Cors' property");
  }
  if (c.credentials && c.origin == json::value("'*'"))
    return support::fail("Unable to add Cors configuration because 'AllowCredentials' can not be "
                         "true when 'AllowOrigin' is \"'*'\" or not set");
  if (!truthy(c.origin))
    return support::fail("Invalid input. Value for AllowedOrigins is required");
  return c;
}

// The OPTIONS operation SAM's SwaggerEditor.add_cors puts on a path: a MOCK integration
// answering 200 with the Access-Control-* headers (_options_method_response_for_cors).
// `keys` are the path item's keys as SAM's swagger has them (methods in lower case,
// x-amazon-apigateway-any-method), from which AllowMethods is made when Cors does not say.
json::object cors_operation(const RestCors& c, const std::vector<std::string>& keys) {
  json::object parameters;
  json::object headers;
  const auto header = [&](const char* name, const json::value& v, const char* type) {
    parameters[fmt::format("method.response.header.{}", name)] = value_text(v);
    headers[name] = json::object{{"type", type}};
  };
  header("Access-Control-Allow-Origin", c.origin, "string");
  if (truthy(c.headers))
    header("Access-Control-Allow-Headers", c.headers, "string");
  if (truthy(c.methods)) {
    header("Access-Control-Allow-Methods", c.methods, "string");
  } else {
    // _make_cors_allowed_methods_for_path_item: every key of the path item (upper case,
    // sorted, OPTIONS added), or every HTTP method when the path has ANY.
    std::set<std::string> methods;
    if (std::find(keys.begin(), keys.end(), "x-amazon-apigateway-any-method") != keys.end())
      methods = {"OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"};
    else
      for (const auto& key : keys)
        methods.insert(upper(key));
    methods.insert("OPTIONS");
    header("Access-Control-Allow-Methods",
           json::value(
               "'" + support::join(std::vector<std::string>(methods.begin(), methods.end()), ",") +
               "'"),
           "string");
  }
  if (!c.max_age.is_null())
    header("Access-Control-Max-Age", c.max_age, "integer");
  if (c.credentials)
    header("Access-Control-Allow-Credentials", json::value("'true'"), "string");
  json::object integration{
      {"type", "mock"},
      {"requestTemplates", json::object{{"application/json", "{\n  \"statusCode\" : 200\n}\n"}}},
      {"responses",
       json::object{{"default", json::object{{"statusCode", "200"},
                                             {"responseParameters", std::move(parameters)},
                                             {"responseTemplates",
                                              json::object{{"application/json", "{}\n"}}}}}}}};
  return json::object{
      {"summary", "CORS support"},
      {"x-amazon-apigateway-integration", std::move(integration)},
      {"responses",
       json::object{{"200", json::object{{"description", "Default response for CORS method"},
                                         {"headers", std::move(headers)}}}}}};
}

// An HTTP API's CORS configuration in API Gateway v2's form: the body's
// x-amazon-apigateway-cors with CorsConfiguration (resolved) written over it, as
// aws-sam-translator's OpenApiEditor.add_cors merges them; nullopt when there is none.
support::Result<std::optional<json::object>> http_cors(const json::value* property,
                                                       const json::value* extension) {
  std::optional<json::object> out;
  if (extension != nullptr) {
    if (!extension->is_object())
      return support::fail("Value of 'x-amazon-apigateway-cors' must be a dictionary according "
                           "to Swagger spec.");
    out = extension->as_object();
  }
  if (property == nullptr || !truthy(*property))
    return out && !out->empty() ? out : std::nullopt;
  json::object given;
  if (property->is_bool()) {
    given["AllowOrigins"] = json::array{"*"};
  } else if (property->is_object()) {
    static const std::set<std::string, std::less<>> k_keys{"AllowMethods",  "AllowHeaders",
                                                           "AllowOrigins",  "MaxAge",
                                                           "ExposeHeaders", "AllowCredentials"};
    for (const auto& field : property->as_object())
      if (!k_keys.contains(field.key()))
        return support::failf("Invalid key '{}' for 'Cors' property.",
                              std::string_view(field.key()));
    given = property->as_object();
  } else {
    return support::fail("Invalid value for 'Cors' property.");
  }
  const auto* credentials = given.if_contains("AllowCredentials");
  const bool allow_credentials =
      credentials != nullptr && credentials->is_bool() && credentials->as_bool();
  if (allow_credentials && given.contains("AllowOrigins") &&
      given.at("AllowOrigins") == json::value(json::array{"*"}))
    return support::fail("Unable to add Cors configuration because 'AllowCredentials' can not be "
                         "true when 'AllowOrigin' is \"'*'\" or not set.");
  if (!out)
    out.emplace();
  for (const auto& [from, to] :
       {std::pair{"AllowOrigins", "allowOrigins"}, std::pair{"AllowHeaders", "allowHeaders"},
        std::pair{"AllowMethods", "allowMethods"}, std::pair{"ExposeHeaders", "exposeHeaders"}})
    if (const auto* v = given.if_contains(from); v != nullptr && truthy(*v))
      (*out)[to] = *v;
  if (const auto* v = given.if_contains("MaxAge"); v != nullptr && !v->is_null())
    (*out)["maxAge"] = *v;
  if (allow_credentials)
    (*out)["allowCredentials"] = true;
  return out;
}

namespace {

// The operation of an OpenAPI body for a method and path (ANY as
// x-amazon-apigateway-any-method; the path also with a trailing '/'), or null.
const json::object* body_operation(const json::object& body, const std::string& method,
                                   const std::string& path) {
  const auto* paths = body.if_contains("paths");
  if (paths == nullptr || !paths->is_object())
    return nullptr;
  for (const auto& candidate : {path, path + "/"}) {
    const auto* item = paths->as_object().if_contains(candidate);
    if (item == nullptr || !item->is_object())
      continue;
    for (const auto& operation : item->as_object()) {
      std::string key(operation.key());
      std::transform(key.begin(), key.end(), key.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      if (key == "X-AMAZON-APIGATEWAY-ANY-METHOD")
        key = "ANY";
      if (key == method && operation.value().is_object())
        return &operation.value().as_object();
    }
  }
  return nullptr;
}

// A response or request body written as a "$ref" to the body's shared ones
// (#/components/responses/X, #/responses/X, #/components/requestBodies/X): what it names;
// anything else as it is.
const json::value* shared(const json::object& body, const json::value* value) {
  if (value == nullptr || !value->is_object())
    return value;
  const auto* ref = value->as_object().if_contains("$ref");
  if (ref == nullptr || !ref->is_string())
    return value;
  const std::string_view text = ref->as_string();
  for (const auto& [prefix, section, key] :
       {std::tuple{std::string_view("#/components/responses/"), "components", "responses"},
        std::tuple{std::string_view("#/components/requestBodies/"), "components", "requestBodies"},
        std::tuple{std::string_view("#/responses/"), "", "responses"}}) {
    if (!text.starts_with(prefix))
      continue;
    const json::object* holder = &body;
    if (*section != '\0') {
      const auto* s = body.if_contains(section);
      if (s == nullptr || !s->is_object())
        return nullptr;
      holder = &s->as_object();
    }
    const auto* k = holder->if_contains(key);
    if (k == nullptr || !k->is_object())
      return nullptr;
    return k->as_object().if_contains(text.substr(prefix.size()));
  }
  return value;
}

// The model a "$ref" names (#/definitions/X, #/components/schemas/X), or empty.
std::string model_reference(const json::value* schema) {
  if (schema == nullptr || !schema->is_object())
    return {};
  const auto* ref = schema->as_object().if_contains("$ref");
  if (ref == nullptr || !ref->is_string())
    return {};
  const std::string_view text = ref->as_string();
  for (std::string_view prefix : {"#/definitions/", "#/components/schemas/"})
    if (text.starts_with(prefix))
      return std::string(text.substr(prefix.size()));
  return {};
}

// The name of the model made of an inline schema: "MODEL" and the first six hex digits of the
// SHA-256 of where the schema is ("POST /pets request application/json", "GET /pets
// response 200 application/json"), two more digits while another model has that name. The
// import names such models MODEL<6 hex> (aws/aws-sdk#468: MODELd2a00d); what it hashes is not
// published, so the name is wisp's own, of the same form, and stays the same while the schema
// changes (a changed schema updates its model).
std::string inline_model_name(const std::string& place,
                              const std::function<bool(const std::string&)>& taken) {
  const auto hex = support::sha256_hex(place);
  for (std::size_t digits = 6;; digits += 2) {
    auto name = "MODEL" + hex.substr(0, std::min(digits, hex.size()));
    if (!taken(name) || digits >= hex.size())
      return name;
  }
}

} // namespace

// Models (swagger's definitions, OpenAPI 3's components.schemas), request validators and
// gateway responses of a REST API's body, and each route's validator and request models, as
// API Gateway's import makes them.
support::Status definition_extras(const DeployResolver& resolver, const sam::Api& api,
                                  ApiSpec& spec, std::vector<std::string>& warnings) {
  const auto& body = api.definition_body->as_object();
  const auto where = [&](std::string_view what) {
    return fmt::format("{}: DefinitionBody {}", api.logical_id, what);
  };
  const json::value* schemas = body.if_contains("definitions");
  if (const auto* components = body.if_contains("components");
      schemas == nullptr && components != nullptr && components->is_object())
    schemas = components->as_object().if_contains("schemas");
  if (schemas != nullptr && schemas->is_object())
    for (const auto& model : schemas->as_object()) {
      WISP_TRY_ASSIGN(auto schema, resolver.deep(model.value(), where("model")));
      spec.models.push_back({std::string(model.key()), "application/json", std::move(schema)});
    }
  // An extension of the body that must resolve to an object; null when the body has none.
  const auto extension = [&](const char* key) -> support::Result<json::value> {
    const auto* found = body.if_contains(key);
    if (found == nullptr)
      return json::value(nullptr);
    WISP_TRY_ASSIGN(auto resolved, resolver.deep(*found, where(key)));
    if (!resolved.is_object())
      return support::failf("{} is not an object", where(key));
    return resolved;
  };
  WISP_TRY_ASSIGN(const auto validators, extension("x-amazon-apigateway-request-validators"));
  if (validators.is_object()) {
    for (const auto& v : validators.as_object()) {
      RestValidatorSpec validator;
      validator.name = std::string(v.key());
      if (v.value().is_object()) {
        const auto flag = [&](const char* key) {
          const auto* f = v.value().as_object().if_contains(key);
          return f != nullptr &&
                 ((f->is_bool() && f->as_bool()) || (f->is_string() && f->as_string() == "true"));
        };
        validator.body = flag("validateRequestBody");
        validator.parameters = flag("validateRequestParameters");
      }
      spec.validators.push_back(std::move(validator));
    }
  }
  WISP_TRY_ASSIGN(const auto responses, extension("x-amazon-apigateway-gateway-responses"));
  if (responses.is_object()) {
    for (const auto& r : responses.as_object()) {
      json::object out;
      if (r.value().is_object()) {
        const auto& o = r.value().as_object();
        if (const auto* code = o.if_contains("statusCode"); code != nullptr && !code->is_null())
          out["statusCode"] = value_text(*code);
        for (const char* key : {"responseParameters", "responseTemplates"})
          if (const auto* v = o.if_contains(key); v != nullptr && v->is_object())
            out[key] = *v;
      }
      spec.gateway_responses[std::string(r.key())] = std::move(out);
    }
  }
  std::string default_validator;
  if (const auto* v = body.if_contains("x-amazon-apigateway-request-validator");
      v != nullptr && v->is_string())
    default_validator = std::string(v->as_string());
  const auto media_types = [](const json::value* list, std::vector<std::string> fallback) {
    if (list == nullptr || !list->is_array())
      return fallback;
    std::vector<std::string> out;
    for (const auto& t : list->as_array())
      if (t.is_string())
        out.emplace_back(t.as_string());
    return out;
  };
  const auto consumes = media_types(body.if_contains("consumes"), {"application/json"});
  const auto produces = media_types(body.if_contains("produces"), {"application/json"});
  const auto has_model = [&](std::string_view name) {
    return std::any_of(spec.models.begin(), spec.models.end(),
                       [&](const RestModelSpec& m) { return m.name == name; });
  };
  // The model a request or response body's schema names: a $ref to a model of the body, or an
  // inline schema made into a model of its own (as the import does; see inline_model_name).
  const auto model_for = [&](const RouteSpec& route, const json::value* schema,
                             const std::string& type,
                             const std::string& place) -> support::Result<std::string> {
    if (schema == nullptr || !schema->is_object())
      return std::string();
    auto named = model_reference(schema);
    if (!named.empty())
      return named;
    if (schema->as_object().contains("$ref")) {
      warnings.push_back(fmt::format("{} {} {}: the {} schema's $ref {} is not a model of the body "
                                     "(#/definitions/X, #/components/schemas/X): no model",
                                     api.logical_id, route.method, route.path, place,
                                     json::serialize(schema->as_object().at("$ref"))));
      return std::string();
    }
    WISP_TRY_ASSIGN(auto resolved, resolver.deep(*schema, where("schema")));
    auto name = inline_model_name(fmt::format("{} {} {} {}", route.method, route.path, place, type),
                                  has_model);
    spec.models.push_back({name, type, std::move(resolved)});
    return name;
  };
  for (auto& route : spec.routes) {
    route.request_validator = default_validator;
    const auto* operation = body_operation(body, route.method, route.path);
    if (operation == nullptr)
      continue;
    if (const auto* v = operation->if_contains("x-amazon-apigateway-request-validator");
        v != nullptr && v->is_string())
      route.request_validator = std::string(v->as_string());
    // Swagger 2: a body parameter's schema, for each type the operation consumes.
    if (const auto* parameters = operation->if_contains("parameters");
        parameters != nullptr && parameters->is_array())
      for (const auto& p : parameters->as_array()) {
        if (!p.is_object() || p.as_object().if_contains("in") == nullptr ||
            p.as_object().at("in") != json::value("body"))
          continue;
        for (const auto& type : media_types(operation->if_contains("consumes"), consumes)) {
          WISP_TRY_ASSIGN(auto model,
                          model_for(route, p.as_object().if_contains("schema"), type, "request"));
          if (!model.empty())
            route.request_models[type] = model;
        }
      }
    // OpenAPI 3: requestBody.content.<type>.schema.
    if (const auto* request = shared(body, operation->if_contains("requestBody"));
        request != nullptr && request->is_object())
      if (const auto* content = request->as_object().if_contains("content");
          content != nullptr && content->is_object())
        for (const auto& type : content->as_object()) {
          WISP_TRY_ASSIGN(auto model, model_for(route,
                                                type.value().is_object()
                                                    ? type.value().as_object().if_contains("schema")
                                                    : nullptr,
                                                std::string(type.key()), "request"));
          if (!model.empty())
            route.request_models[type.key()] = model;
        }
    // Method responses: each status code of the operation's responses (a Lambda proxy
    // integration's too), its headers as response parameters and its body's schema as the
    // response model (OpenAPI 3: content.<type>.schema; swagger 2: schema, for each type the
    // operation produces).
    const auto* operation_responses = operation->if_contains("responses");
    if (operation_responses == nullptr || !operation_responses->is_object())
      continue;
    const auto types = media_types(operation->if_contains("produces"), produces);
    for (const auto& item : operation_responses->as_object()) {
      const std::string code(item.key());
      if (code.size() != 3 || !std::all_of(code.begin(), code.end(), ::isdigit))
        continue;
      auto& out = route.method_responses[code];
      const auto* response = shared(body, &item.value());
      if (response == nullptr || !response->is_object())
        continue;
      const auto& o = response->as_object();
      if (const auto* headers = o.if_contains("headers");
          headers != nullptr && headers->is_object())
        for (const auto& h : headers->as_object()) {
          if (!out.contains("responseParameters"))
            out["responseParameters"] = json::object{};
          out["responseParameters"].as_object().emplace(
              "method.response.header." + std::string(h.key()), false);
        }
      json::object models;
      const auto add = [&](const json::value* schema, const std::string& type) -> support::Status {
        WISP_TRY_ASSIGN(auto model, model_for(route, schema, type, "response " + code));
        if (!model.empty())
          models[type] = model;
        return {};
      };
      if (const auto* content = o.if_contains("content");
          content != nullptr && content->is_object())
        for (const auto& type : content->as_object())
          WISP_TRY(add(type.value().is_object() ? type.value().as_object().if_contains("schema")
                                                : nullptr,
                       std::string(type.key())));
      if (const auto* schema = o.if_contains("schema"))
        for (const auto& type : types)
          WISP_TRY(add(schema, type));
      if (!models.empty())
        out["responseModels"] = std::move(models);
    }
  }
  // API Gateway's own models, named without being defined.
  const auto add_builtin = [&](const json::value& model) {
    const std::string name(model.as_string());
    if (builtin_model(name) && !has_model(name))
      spec.models.push_back({name, "application/json", builtin_model_schema(name), true});
  };
  for (const auto& route : spec.routes) {
    for (const auto& [type, model] : route.request_models)
      add_builtin(model);
    for (const auto& [code, response] : route.method_responses)
      if (const auto* models = response.if_contains("responseModels"))
        for (const auto& [type, model] : models->as_object())
          add_builtin(model);
  }
  const auto defined = [&](const json::value& model) {
    return has_model(std::string_view(model.as_string()));
  };
  for (const auto& route : spec.routes) {
    if (!route.request_validator.empty() &&
        std::none_of(spec.validators.begin(), spec.validators.end(),
                     [&](const RestValidatorSpec& v) { return v.name == route.request_validator; }))
      return support::failf("{} {} {}: x-amazon-apigateway-request-validator {} is not one of "
                            "x-amazon-apigateway-request-validators",
                            api.logical_id, route.method, route.path, route.request_validator);
    for (const auto& [type, model] : route.request_models)
      if (!defined(model))
        return support::failf("{} {} {}: the request body names model {}, which the body does "
                              "not define",
                              api.logical_id, route.method, route.path,
                              std::string_view(model.as_string()));
    for (const auto& [code, response] : route.method_responses)
      if (const auto* models = response.if_contains("responseModels"))
        for (const auto& [type, model] : models->as_object())
          if (!defined(model))
            return support::failf("{} {} {}: response {} names model {}, which the body does "
                                  "not define",
                                  api.logical_id, route.method, route.path, code,
                                  std::string_view(model.as_string()));
  }
  return {};
}

} // namespace wisp::deploy::detail

namespace wisp::deploy {

// CreateRestApi makes these two (the old client-side importer's log shows it removing them,
// amazon-archives/aws-apigateway-importer#126: "Removing default model Error", "... Empty").
bool builtin_model(std::string_view name) {
  return name == "Empty" || name == "Error";
}

boost::json::value builtin_model_schema(std::string_view name) {
  boost::json::object schema{{"$schema", "http://json-schema.org/draft-04/schema#"},
                             {"title", name == "Error" ? "Error Schema" : "Empty Schema"},
                             {"type", "object"}};
  if (name == "Error")
    schema["properties"] =
        boost::json::object{{"message", boost::json::object{{"type", "string"}}}};
  return schema;
}

} // namespace wisp::deploy
