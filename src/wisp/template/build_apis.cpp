// The loader's build phase for SAM APIs (AWS::Serverless::Api, AWS::Serverless::HttpApi,
// and the implicit ones function events create): resolved properties → Model::apis with
// their authorizers, then Model::routes from function events and OpenAPI definitions.

#include <wisp/support/fs.hpp>
#include <wisp/support/strings.hpp>
#include <wisp/template/build_support.hpp>
#include <wisp/template/convert.hpp>
#include <wisp/template/loader.hpp>
#include <wisp/template/reader.hpp>
#include <wisp/template/rules.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <unordered_map>

namespace wisp::sam::detail {

namespace fs = std::filesystem;

// -------------------------------------------------------------------- APIs

namespace {

Authorizer rest_authorizer(const std::string& name, const Node& spec, const Scope& scope) {
  Authorizer authorizer;
  authorizer.name = name;
  authorizer.source = {"", spec.mark.line, spec.mark.column};
  const Node* identity = spec.find("Identity");
  const auto identity_value = [&](std::string_view key) -> const Node* {
    return identity != nullptr && identity->is_mapping() ? identity->find(key) : nullptr;
  };
  if (const auto* pools = spec.find("UserPoolArn")) {
    authorizer.kind = Authorizer::Kind::cognito;
    if (pools->is_sequence()) {
      for (const auto& pool : pools->items)
        authorizer.user_pool_arns.push_back(pool.is_scalar() ? pool.text : referenced_id(pool));
    } else {
      authorizer.user_pool_arns.push_back(pools->is_scalar() ? pools->text : referenced_id(*pools));
    }
    authorizer.identity_sources.push_back(
        "method.request.header." + as_string(identity_value("Header")).value_or("Authorization"));
  } else {
    const auto payload = as_string(spec.find("FunctionPayloadType")).value_or("TOKEN");
    authorizer.kind =
        payload == "REQUEST" ? Authorizer::Kind::lambda_request : Authorizer::Kind::lambda_token;
    if (const auto* arn = spec.find("FunctionArn")) {
      const auto id = referenced_id(*arn);
      if (!id.empty() && scope.is_resource(id))
        authorizer.function_logical_id = id;
      else if (arn->is_scalar())
        authorizer.function_arn = arn->text;
    }
    if (authorizer.kind == Authorizer::Kind::lambda_token) {
      authorizer.identity_sources.push_back(
          "method.request.header." + as_string(identity_value("Header")).value_or("Authorization"));
    } else {
      for (const auto& header : as_strings(identity_value("Headers")))
        authorizer.identity_sources.push_back("method.request.header." + header);
      for (const auto& query : as_strings(identity_value("QueryStrings")))
        authorizer.identity_sources.push_back("method.request.querystring." + query);
      for (const auto& variable : as_strings(identity_value("StageVariables")))
        authorizer.identity_sources.push_back("stageVariables." + variable);
      for (const auto& context : as_strings(identity_value("Context")))
        authorizer.identity_sources.push_back("context." + context);
    }
  }
  if (auto ttl = as_int(identity_value("ReauthorizeEvery")))
    authorizer.ttl_seconds = clamp_int(*ttl);
  if (auto expression = as_string(identity_value("ValidationExpression")))
    authorizer.identity_validation_expression = *expression;
  return authorizer;
}

Authorizer http_authorizer(const std::string& name, const Node& spec, const Scope& scope) {
  Authorizer authorizer;
  authorizer.name = name;
  authorizer.source = {"", spec.mark.line, spec.mark.column};
  if (const auto* jwt = spec.find("JwtConfiguration"); jwt && jwt->is_mapping()) {
    authorizer.kind = Authorizer::Kind::jwt;
    if (auto issuer = as_string(jwt->find("issuer")))
      authorizer.jwt_issuer = *issuer;
    authorizer.jwt_audience = as_strings(jwt->find("audience"));
    authorizer.identity_sources.push_back(
        as_string(spec.find("IdentitySource")).value_or("$request.header.Authorization"));
    authorizer.ttl_seconds = 0;
    return authorizer;
  }
  authorizer.kind = Authorizer::Kind::lambda_request;
  if (const auto* arn = spec.find("FunctionArn")) {
    const auto id = referenced_id(*arn);
    if (!id.empty() && scope.is_resource(id))
      authorizer.function_logical_id = id;
    else if (arn->is_scalar())
      authorizer.function_arn = arn->text;
  }
  authorizer.payload_format_version =
      as_string(spec.find("AuthorizerPayloadFormatVersion")).value_or("");
  authorizer.enable_simple_responses = as_bool(spec.find("EnableSimpleResponses")).value_or(false);
  const Node* identity = spec.find("Identity");
  const auto identity_value = [&](std::string_view key) -> const Node* {
    return identity != nullptr && identity->is_mapping() ? identity->find(key) : nullptr;
  };
  for (const auto& header : as_strings(identity_value("Headers")))
    authorizer.identity_sources.push_back("$request.header." + header);
  for (const auto& query : as_strings(identity_value("QueryStrings")))
    authorizer.identity_sources.push_back("$request.querystring." + query);
  for (const auto& context : as_strings(identity_value("Context")))
    authorizer.identity_sources.push_back("$context." + context);
  for (const auto& variable : as_strings(identity_value("StageVariables")))
    authorizer.identity_sources.push_back("$stageVariables." + variable);
  authorizer.ttl_seconds = clamp_int(as_int(identity_value("ReauthorizeEvery")).value_or(0));
  return authorizer;
}

} // namespace

void Loader::build_api(const ResourceDecl& decl, const Node& properties, bool http, bool implicit) {
  Api api;
  api.logical_id = decl.logical_id;
  api.kind = http ? ApiKind::http : ApiKind::rest;
  api.implicit = implicit;
  api.source = {m_file, decl.mark.line, decl.mark.column};
  const auto find = [&](std::string_view key) { return properties.find(key); };

  if (auto stage = as_string(find("StageName"))) {
    api.stage_name = *stage;
  } else if (implicit) {
    api.stage_name = http ? "$default" : "Prod";
  } else if (http) {
    api.stage_name = "$default";
  } else if (find("StageName") == nullptr) {
    error(decl.mark, "missing-property", "AWS::Serverless::Api needs 'StageName'");
  }
  if (!api.stage_name.empty() && api.stage_name != "$default") {
    const bool valid = api.stage_name.size() <= 128 &&
                       api.stage_name.find_first_not_of(
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                           std::string::npos;
    if (!valid)
      error(find("StageName") != nullptr ? find("StageName")->mark : decl.mark, "stage-name",
            fmt::format("stage name '{}' may only contain letters, digits, '-' and '_'",
                        api.stage_name));
  }
  if (const auto* variables = find(http ? "StageVariables" : "Variables");
      variables && variables->is_mapping())
    for (const auto& entry : variables->entries)
      if (entry.value.is_scalar())
        api.stage_variables[entry.key] = entry.value.text;

  if (!http) {
    if (const auto* cors = find("Cors")) {
      Cors value;
      if (cors->is_scalar()) {
        value.allow_origins.push_back(strip_quotes(cors->text));
      } else if (cors->is_mapping() && !is_symbolic(*cors)) {
        // Without AllowOrigin, SAM's CorsProperties default: "'*'".
        const auto origin = as_string(cors->find("AllowOrigin"));
        value.allow_origins.push_back(origin ? strip_quotes(*origin) : std::string("*"));
        if (auto methods = as_string(cors->find("AllowMethods")))
          value.allow_methods = split_trimmed(strip_quotes(*methods));
        if (auto headers = as_string(cors->find("AllowHeaders")))
          value.allow_headers = split_trimmed(strip_quotes(*headers));
        value.allow_credentials = as_bool(cors->find("AllowCredentials")).value_or(false);
        if (auto age = as_string(cors->find("MaxAge")))
          if (auto number = number_as_int(strip_quotes(*age)))
            value.max_age = clamp_int(*number);
      }
      api.cors = std::move(value);
    }
    for (const auto& type : as_strings(find("BinaryMediaTypes"))) {
      std::string decoded;
      for (std::size_t i = 0; i < type.size(); ++i) {
        if (type[i] == '~' && i + 1 < type.size() && type[i + 1] == '1') {
          decoded += '/';
          ++i;
        } else if (type[i] == '~' && i + 1 < type.size() && type[i + 1] == '0') {
          decoded += '~';
          ++i;
        } else {
          decoded += type[i];
        }
      }
      api.binary_media_types.push_back(std::move(decoded));
    }
    if (const auto* canary = find("CanarySetting"); canary && canary->is_mapping())
      api.canary_setting = to_json_object(*canary);
    if (const auto* settings = find("MethodSettings"); settings && settings->is_sequence()) {
      for (const auto& item : settings->items) {
        if (!item.is_mapping())
          continue;
        MethodSetting setting;
        if (auto path = as_string(item.find("ResourcePath")))
          setting.resource_path = *path;
        if (auto method = as_string(item.find("HttpMethod")))
          setting.http_method = *method;
        if (const auto* rate = item.find("ThrottlingRateLimit"); rate && rate->is_scalar())
          setting.throttling_rate_limit = number_as_double(rate->text);
        if (auto burst = as_int(item.find("ThrottlingBurstLimit")))
          setting.throttling_burst_limit = clamp_int(*burst);
        api.method_settings.push_back(setting);
      }
    }
  } else {
    if (const auto* cors = find("CorsConfiguration")) {
      Cors value;
      if (as_bool(cors).value_or(false)) {
        value.allow_origins.emplace_back("*");
        api.cors = std::move(value);
      } else if (cors->is_mapping() && !is_symbolic(*cors)) {
        value.allow_origins = as_strings(cors->find("AllowOrigins"));
        value.allow_methods = as_strings(cors->find("AllowMethods"));
        value.allow_headers = as_strings(cors->find("AllowHeaders"));
        value.expose_headers = as_strings(cors->find("ExposeHeaders"));
        value.allow_credentials = as_bool(cors->find("AllowCredentials")).value_or(false);
        if (auto age = as_int(cors->find("MaxAge")))
          value.max_age = clamp_int(*age);
        api.cors = std::move(value);
      }
    }
  }

  // Auth.
  if (const auto* auth = find("Auth"); auth && auth->is_mapping() && !is_symbolic(*auth)) {
    if (const auto* authorizers = auth->find("Authorizers");
        authorizers && authorizers->is_mapping()) {
      for (const auto& entry : authorizers->entries) {
        if (!entry.value.is_mapping()) {
          error(entry.value.mark, "type",
                fmt::format("the authorizer '{}' must be a mapping, not {}", entry.key,
                            describe_kind(entry.value)));
          continue;
        }
        m_schema->check_object(entry.value, http ? http_authorizer_spec() : rest_authorizer_spec());
        Authorizer authorizer = http ? http_authorizer(entry.key, entry.value, m_scope)
                                     : rest_authorizer(entry.key, entry.value, m_scope);
        authorizer.source.file = m_file;
        if (!http && authorizer.kind != Authorizer::Kind::cognito &&
            entry.value.find("FunctionArn") == nullptr)
          error(entry.value.mark, "authorizer",
                fmt::format("the authorizer '{}' needs FunctionArn (Lambda) or UserPoolArn "
                            "(Cognito)",
                            entry.key));
        if (!http) {
          if (const auto* payload = entry.value.find("FunctionPayloadType");
              payload && payload->is_scalar() && payload->text != "TOKEN" &&
              payload->text != "REQUEST")
            error(payload->mark, "authorizer",
                  fmt::format("FunctionPayloadType must be TOKEN or REQUEST, not '{}'",
                              payload->text));
          if (authorizer.kind == Authorizer::Kind::lambda_request &&
              authorizer.identity_sources.empty() && authorizer.ttl_seconds != 0)
            error(entry.value.mark, "authorizer",
                  fmt::format("the REQUEST authorizer '{}' needs an Identity source (Headers, "
                              "QueryStrings, StageVariables or Context) unless "
                              "ReauthorizeEvery is 0",
                              entry.key));
        } else if (authorizer.kind != Authorizer::Kind::jwt) {
          if (entry.value.find("FunctionArn") == nullptr)
            error(entry.value.mark, "authorizer",
                  fmt::format("the authorizer '{}' needs JwtConfiguration or FunctionArn",
                              entry.key));
          const auto* version = entry.value.find("AuthorizerPayloadFormatVersion");
          if (version == nullptr)
            error(entry.value.mark, "authorizer",
                  fmt::format("the Lambda authorizer '{}' needs AuthorizerPayloadFormatVersion "
                              "(1.0 or 2.0)",
                              entry.key));
          else if (version->is_scalar() && version->text != "1.0" && version->text != "2.0")
            error(version->mark, "authorizer",
                  fmt::format("AuthorizerPayloadFormatVersion must be 1.0 or 2.0, not '{}'",
                              version->text));
          if (authorizer.enable_simple_responses && authorizer.payload_format_version == "1.0")
            error(entry.value.mark, "authorizer",
                  "EnableSimpleResponses needs AuthorizerPayloadFormatVersion 2.0");
        }
        api.authorizers.emplace(entry.key, std::move(authorizer));
      }
    }
    if (http && as_bool(auth->find("EnableIamAuthorizer")).value_or(false)) {
      Authorizer iam;
      iam.name = "AWS_IAM";
      iam.kind = Authorizer::Kind::iam;
      api.authorizers.emplace("AWS_IAM", std::move(iam));
    }
    if (const auto* default_authorizer = auth->find("DefaultAuthorizer");
        default_authorizer && default_authorizer->is_scalar()) {
      api.default_authorizer = default_authorizer->text;
      if (api.default_authorizer != "AWS_IAM" && api.default_authorizer != "NONE" &&
          api.authorizers.count(api.default_authorizer) == 0) {
        std::vector<std::string> names;
        for (const auto& [name, authorizer] : api.authorizers)
          names.push_back(name);
        std::string hint;
        if (auto close = support::closest_match(api.default_authorizer, names))
          hint = fmt::format("; did you mean '{}'?", *close);
        error(default_authorizer->mark, "authorizer-undefined",
              fmt::format("DefaultAuthorizer '{}' is not one of the API's Authorizers{}",
                          api.default_authorizer, hint));
      }
    }
  }

  // Definition.
  if (const auto* body = find("DefinitionBody")) {
    if (body->intrinsic() == "Fn::Transform") {
      const Node& arg = body->entries.front().value;
      const Node* name = arg.is_mapping() ? arg.find("Name") : nullptr;
      const Node* parameters = arg.is_mapping() ? arg.find("Parameters") : nullptr;
      const Node* location = parameters != nullptr && parameters->is_mapping()
                                 ? parameters->find("Location")
                                 : nullptr;
      if (name != nullptr && name->is_string() && name->text == "AWS::Include" &&
          location != nullptr) {
        if (auto included = load_definition_uri(*location))
          api.definition_body = to_json(m_resolver->resolve(*included));
      }
    } else if (!is_symbolic(*body)) {
      api.definition_body = to_json(*body);
    }
  } else if (const auto* uri = find("DefinitionUri")) {
    if (auto loaded = load_definition_uri(*uri))
      api.definition_body = to_json(*loaded);
  }
  api.properties = to_json_object(properties);
  m_api_properties[api.logical_id] = &properties;
  m_model.apis.push_back(std::move(api));
}

std::optional<Node> Loader::load_definition_uri(const Node& uri) {
  if (!uri.is_scalar() || uri.text.starts_with("s3://"))
    return std::nullopt;
  const auto path = (m_model.base_dir / uri.text).lexically_normal();
  auto display = path.lexically_relative(fs::current_path());
  if (display.empty() || display.native().starts_with(".."))
    display = path;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    missing_code(uri.mark, "definition",
                 fmt::format("'{}' does not exist (paths are relative to the template's directory)",
                             uri.text));
    return std::nullopt;
  }
  auto text = support::read_file(path, 32u * 1024 * 1024);
  if (!text) {
    error(uri.mark, "definition", text.error().message);
    return std::nullopt;
  }
  auto node = read_document(*text, display.string(), m_diags);
  if (node && !node->is_mapping()) {
    error(uri.mark, "definition",
          fmt::format("{} is not an OpenAPI document (a mapping)", display.string()));
    return std::nullopt;
  }
  return node;
}

void Loader::build_implicit_apis() {
  bool rest = false;
  bool http = false;
  for (const auto& event : m_events) {
    if (event.type == "Api" &&
        (event.properties == nullptr || !event.properties->find("RestApiId")))
      rest = true;
    if (event.type == "HttpApi" &&
        (event.properties == nullptr || !event.properties->find("ApiId")))
      http = true;
  }
  const auto add = [&](const char* id, const char* type, bool is_http) {
    if (m_scope.is_resource(id)) {
      error(m_scope.resources.at(id).mark, "logical-id",
            fmt::format("'{}' is the logical id SAM gives the implicit API; rename this resource",
                        id));
      return;
    }
    ResourceDecl decl;
    decl.logical_id = id;
    decl.type = type;
    const Node empty(NodeKind::mapping, Mark{});
    m_resolved.push_back(resolve_merged(globals_for(decl), empty));
    const Node& resolved = m_resolved.back();
    Resource resource;
    resource.logical_id = id;
    resource.type = type;
    resource.properties = to_json_object(resolved);
    m_model.resources.push_back(std::move(resource));
    build_api(decl, resolved, is_http, true);
  };
  if (rest)
    add("ServerlessRestApi", "AWS::Serverless::Api", false);
  if (http)
    add("ServerlessHttpApi", "AWS::Serverless::HttpApi", true);
}

// -------------------------------------------------------------------- routes

void Loader::build_routes() {
  struct Seen {
    std::string function;
    std::string event;
    int line;
  };
  std::unordered_map<std::string, Seen> seen; // api \n method \n path
  for (const auto& event : m_events) {
    if (event.type != "Api" && event.type != "HttpApi")
      continue;
    const bool http = event.type == "HttpApi";
    const auto& function = m_model.functions[event.function];
    const Node no_properties(NodeKind::mapping, event.mark);
    const Node& props = event.properties != nullptr ? *event.properties : no_properties;
    Route route;
    route.kind = http ? ApiKind::http : ApiKind::rest;
    route.function_logical_id = function.logical_id;
    route.event_name = event.name;
    route.source = {m_file, event.mark.line, event.mark.column};

    // Method and path.
    const Node* path = props.find("Path");
    const Node* method = props.find("Method");
    if (http && path == nullptr && method == nullptr) {
      route.path = "$default";
      route.method = "ANY";
    } else if (http && (path == nullptr || method == nullptr)) {
      error(event.mark, "route",
            fmt::format("the HttpApi event '{}' needs both Path and Method, or neither (for the "
                        "$default route)",
                        event.name));
      continue;
    } else {
      if (path == nullptr || method == nullptr)
        continue; // the schema check reported it
      if (!path->is_scalar() || !method->is_scalar())
        continue;
      route.path = path->text;
      route.method = upper(method->text);
      if (route.method == "X-AMAZON-APIGATEWAY-ANY-METHOD")
        route.method = "ANY";
      const auto methods = http_methods();
      if (std::find(methods.begin(), methods.end(), route.method) == methods.end()) {
        std::vector<std::string> names(methods.begin(), methods.end());
        std::string hint;
        if (auto close = support::closest_match(route.method, names))
          hint = fmt::format("; did you mean '{}'?", *close);
        error(method->mark, "route-method",
              fmt::format("unknown HTTP method '{}'{}", method->text, hint));
        continue;
      }
      if (!http && route.path.size() > 1 && route.path.back() == '/' &&
          route.path[route.path.size() - 2] != '/') {
        // API Gateway imports a REST path '/a/' as the resource '/a' (serverless-patterns'
        // apigw-usage-plans deploys '/plantest/' and is called as /plantest).
        auto trimmed = route.path.substr(0, route.path.size() - 1);
        warning(path->mark, "route-path",
                fmt::format("path '{}' ends with '/': API Gateway makes it the resource '{}'",
                            route.path, trimmed));
        route.path = std::move(trimmed);
      }
      if (const auto problem = route_path_problem(route.path, http); !problem.empty()) {
        error(path->mark, "route-path", fmt::format("path '{}': {}", route.path, problem));
        continue;
      }
    }
    // Which API.
    const char* id_key = http ? "ApiId" : "RestApiId";
    if (const auto* reference = props.find(id_key)) {
      auto id = referenced_id(*reference);
      if (id.empty() && reference->is_scalar() && m_scope.is_resource(reference->text))
        id = reference->text;
      if (id.empty() || !m_scope.is_resource(id)) {
        if (!is_symbolic(*reference) || reference->intrinsic() != "Ref")
          error(reference->mark, "api-reference",
                fmt::format("{} must refer to an {} of this template (!Ref MyApi)", id_key,
                            http ? "AWS::Serverless::HttpApi" : "AWS::Serverless::Api"));
        continue;
      }
      const auto& target = m_scope.resources.at(id);
      const std::string expected = http ? "AWS::Serverless::HttpApi" : "AWS::Serverless::Api";
      // SAM also attaches events to plain API Gateway APIs of the template (it only adds the
      // invoke permission; the API's own resources define the route).
      const std::string raw = http ? "AWS::ApiGatewayV2::Api" : "AWS::ApiGateway::RestApi";
      if (target.type != expected && target.type != raw) {
        if (!http && target.type == "AWS::Serverless::HttpApi")
          error(reference->mark, "api-kind-mismatch",
                fmt::format("the Api event '{}' refers to '{}', an AWS::Serverless::HttpApi; use "
                            "an HttpApi event with ApiId, or make '{}' an AWS::Serverless::Api",
                            event.name, id, id));
        else if (http && target.type == "AWS::Serverless::Api")
          error(reference->mark, "api-kind-mismatch",
                fmt::format("the HttpApi event '{}' refers to '{}', an AWS::Serverless::Api; use "
                            "an Api event with RestApiId, or make '{}' an "
                            "AWS::Serverless::HttpApi",
                            event.name, id, id));
        else
          error(reference->mark, "api-reference",
                fmt::format("{} refers to '{}' ({}); it must be an {} or an {}", id_key, id,
                            target.type, expected, raw));
        continue;
      }
      if (!target.included)
        continue; // removed by its Condition
      route.api_logical_id = id;
    } else {
      route.api_logical_id = http ? "ServerlessHttpApi" : "ServerlessRestApi";
    }

    route.payload_format_version = "1.0";
    if (http) {
      route.payload_format_version = "2.0";
      if (const auto* version = props.find("PayloadFormatVersion");
          version && version->is_scalar()) {
        if (version->text != "1.0" && version->text != "2.0")
          error(version->mark, "route",
                fmt::format("PayloadFormatVersion must be 1.0 or 2.0, not '{}'", version->text));
        else
          route.payload_format_version = version->text;
      }
    }
    if (const auto* auth = props.find("Auth"); auth && auth->is_mapping())
      if (auto authorizer = as_string(auth->find("Authorizer")))
        route.authorizer = *authorizer;
    const Api* api = m_model.find_api(route.api_logical_id);
    if (!route.authorizer.empty() && route.authorizer != "NONE" && api != nullptr &&
        !(route.authorizer == "AWS_IAM" && !http) &&
        api->authorizers.count(route.authorizer) == 0) {
      std::vector<std::string> names;
      for (const auto& [name, authorizer] : api->authorizers)
        names.push_back(name);
      std::string hint;
      if (auto close = support::closest_match(route.authorizer, names))
        hint = fmt::format("; did you mean '{}'?", *close);
      const auto* node = props.find("Auth")->find("Authorizer");
      error(node->mark, "authorizer-undefined",
            fmt::format("the authorizer '{}' is not defined in the Auth of API '{}'{}",
                        route.authorizer, route.api_logical_id, hint));
    }

    const auto key = route.api_logical_id + "\n" + route.method + "\n" + route.path;
    if (const auto it = seen.find(key); it != seen.end()) {
      error(event.mark, "route-duplicate",
            fmt::format("{} {} on API '{}' is already routed by event '{}' of function '{}' "
                        "(line {})",
                        route.method, route.path, route.api_logical_id, it->second.event,
                        it->second.function, it->second.line));
      continue;
    }
    seen.emplace(key, Seen{function.logical_id, event.name, event.mark.line});
    m_model.routes.push_back(std::move(route));
  }

  // Routes an API's OpenAPI definition declares itself (aws_proxy integrations), unless an
  // event already routes the same method and path.
  for (const auto& api : m_model.apis) {
    const auto it = m_api_properties.find(api.logical_id);
    if (it == m_api_properties.end() || !api.definition_body)
      continue;
    const Node* body = it->second->find("DefinitionBody");
    std::optional<Node> loaded;
    if (body == nullptr || is_symbolic(*body)) {
      const Node* uri = body == nullptr ? it->second->find("DefinitionUri") : nullptr;
      if (uri == nullptr && body != nullptr && body->intrinsic() == "Fn::Transform") {
        const Node& arg = body->entries.front().value;
        const Node* parameters = arg.is_mapping() ? arg.find("Parameters") : nullptr;
        uri = parameters != nullptr && parameters->is_mapping() ? parameters->find("Location")
                                                                : nullptr;
      }
      if (uri == nullptr)
        continue;
      support::Diagnostics ignored; // reported when the API was built
      if (!uri->is_scalar() || uri->text.starts_with("s3://"))
        continue;
      auto text = support::read_file((m_model.base_dir / uri->text).lexically_normal());
      if (!text)
        continue;
      loaded = read_document(*text, uri->text, ignored);
      if (!loaded)
        continue;
      body = &*loaded;
    }
    routes_from_definition(api, *body);
  }
  raw_routes();
}

void Loader::routes_from_definition(const Api& api, const Node& body) {
  const Node* paths = body.find("paths");
  if (paths == nullptr || !paths->is_mapping())
    return;
  const bool http = api.kind == ApiKind::http;
  std::unordered_map<std::string, bool> existing;
  for (const auto& route : m_model.routes)
    if (route.api_logical_id == api.logical_id)
      existing[route.method + "\n" + route.path] = true;
  std::vector<std::string> global_security;
  const auto first_security = [](const Node* security) -> std::string {
    if (security == nullptr || !security->is_sequence() || security->items.empty())
      return {};
    const auto& first = security->items.front();
    if (first.is_mapping() && !first.entries.empty())
      return first.entries.front().key;
    return "NONE";
  };
  const std::string default_security = first_security(body.find("security"));
  for (const auto& path_entry : paths->entries) {
    if (!path_entry.value.is_mapping())
      continue;
    for (const auto& operation : path_entry.value.entries) {
      std::string method = upper(operation.key);
      if (method == "X-AMAZON-APIGATEWAY-ANY-METHOD")
        method = "ANY";
      const auto methods = http_methods();
      if (std::find(methods.begin(), methods.end(), method) == methods.end())
        continue; // parameters, summary, ...
      if (!operation.value.is_mapping())
        continue;
      const Node* integration = operation.value.find("x-amazon-apigateway-integration");
      if (integration == nullptr || !integration->is_mapping())
        continue;
      const auto type = as_string(integration->find("type")).value_or("");
      if (!support::iequals(type, "aws_proxy"))
        continue;
      const Node* uri = integration->find("uri");
      if (uri == nullptr)
        continue;
      std::string function_id;
      std::string text;
      if (uri->is_scalar()) {
        text = uri->text;
      } else if (uri->intrinsic() == "Fn::Sub") {
        const Node& arg = uri->entries.front().value;
        const Node* sub = arg.is_sequence() && !arg.items.empty() ? &arg.items[0] : &arg;
        if (sub->is_scalar())
          text = sub->text;
      } else {
        function_id = referenced_id(*uri);
      }
      if (function_id.empty() && !text.empty()) {
        // .../functions/<function ARN or ${Function.Arn}>/invocations, or
        // /response-streaming-invocations (REST response streaming's InvokeWithResponseStream)
        const auto start = text.find("functions/");
        auto end = text.rfind("/invocations");
        if (end == std::string::npos)
          end = text.rfind("/response-streaming-invocations");
        if (start != std::string::npos && end != std::string::npos && end > start + 10) {
          auto target = text.substr(start + 10, end - start - 10);
          if (target.starts_with("${") && target.ends_with("}")) {
            target = target.substr(2, target.size() - 3);
            function_id = target.substr(0, target.find('.'));
          } else if (const auto colon = target.find(":function:"); colon != std::string::npos) {
            auto name = target.substr(colon + 10);
            name = name.substr(0, name.find(':'));
            if (const auto* function = m_model.find_function(name))
              function_id = function->logical_id;
          }
        }
      }
      if (function_id.empty() || m_model.find_function(function_id) == nullptr)
        continue;
      if (existing.count(method + "\n" + path_entry.key) != 0)
        continue;
      Route route;
      route.api_logical_id = api.logical_id;
      route.kind = api.kind;
      route.method = method;
      route.path = path_entry.key;
      route.payload_format_version =
          http ? as_string(integration->find("payloadFormatVersion")).value_or("1.0") : "1.0";
      route.function_logical_id = function_id;
      const auto security = first_security(operation.value.find("security"));
      route.authorizer = security.empty() ? default_security : security;
      route.source = {m_file, path_entry.key_mark.line, path_entry.key_mark.column};
      existing[method + "\n" + path_entry.key] = true;
      m_model.routes.push_back(std::move(route));
    }
  }
}

} // namespace wisp::sam::detail
