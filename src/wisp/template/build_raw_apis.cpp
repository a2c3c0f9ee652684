// The loader's build phase for plain API Gateway resources (AWS::ApiGateway::* and
// AWS::ApiGatewayV2::*, written without SAM): Model::apis from RestApi and Api with their
// stages and authorizers, then Model::routes from Method and Resource chains, Route and
// Integration pairs, and quick-create targets.

#include <wisp/support/strings.hpp>
#include <wisp/template/build_support.hpp>
#include <wisp/template/convert.hpp>
#include <wisp/template/loader.hpp>

#include <fmt/format.h>

#include <unordered_map>

namespace wisp::sam::detail {

// -------------------------------------------------------------------- plain API Gateway

namespace {

// Every {Ref: X} and {Fn::GetAtt: [X, ...]} target inside `node`, in document order.
void referenced_ids(const Node& node, std::vector<std::string>& out) {
  if (const auto key = node.intrinsic(false); key == "Ref" || key == "Fn::GetAtt") {
    const auto id = referenced_id(node);
    if (!id.empty())
      out.push_back(id);
    return;
  }
  if (node.intrinsic(false) == "Fn::Sub") {
    const auto id = referenced_id(node);
    if (!id.empty())
      out.push_back(id);
  }
  for (const auto& item : node.items)
    referenced_ids(item, out);
  for (const auto& entry : node.entries)
    referenced_ids(entry.value, out);
}

std::string first_reference_of_type(const Node& node, const Scope& scope, std::string_view type) {
  std::vector<std::string> ids;
  referenced_ids(node, ids);
  for (const auto& id : ids) {
    const auto it = scope.resources.find(id);
    if (it != scope.resources.end() && it->second.type == type)
      return id;
  }
  return {};
}

} // namespace

// The function an API integration URI (or a quick-create Target) invokes: a reference to
// a function of the template (GetAtt X.Arn, ${X.Arn}, an alias), or a function ARN whose
// name is a FunctionName of the template.
std::string Loader::raw_function_of(const Node& uri) const {
  std::vector<std::string> ids;
  referenced_ids(uri, ids);
  for (const auto& id : ids)
    if (m_model.find_function(id) != nullptr && m_model.find_function(id)->logical_id == id)
      return id;
  std::string text;
  if (uri.is_scalar())
    text = uri.text;
  else if (uri.intrinsic() == "Fn::Sub") {
    const Node& arg = uri.entries.front().value;
    const Node* sub = arg.is_sequence() && !arg.items.empty() ? &arg.items[0] : &arg;
    if (sub->is_scalar())
      text = sub->text;
  }
  if (const auto colon = text.find(":function:"); colon != std::string::npos) {
    auto name = text.substr(colon + 10);
    name = name.substr(0, name.find_first_of(":/"));
    if (const auto* function = m_model.find_function(name))
      return function->logical_id;
  }
  return {};
}

void Loader::build_raw_apis() {
  const auto find_props = [&](const std::string& id) -> const Node* {
    const auto it = m_resolved_by_id.find(id);
    return it == m_resolved_by_id.end() ? nullptr : it->second;
  };
  for (const auto* entry : m_resource_entries) {
    const auto& decl = m_scope.resources.at(entry->key);
    if (!decl.included)
      continue;
    const bool rest = decl.type == "AWS::ApiGateway::RestApi";
    const bool v2 = decl.type == "AWS::ApiGatewayV2::Api";
    if (!rest && !v2)
      continue;
    const Node* properties = find_props(decl.logical_id);
    if (properties == nullptr)
      continue;
    if (v2) {
      const auto protocol = as_string(properties->find("ProtocolType")).value_or("");
      if (protocol != "HTTP")
        continue; // WebSocket APIs are not served
    }
    Api api;
    api.logical_id = decl.logical_id;
    api.kind = rest ? ApiKind::rest : ApiKind::http;
    api.source = {m_file, decl.mark.line, decl.mark.column};
    api.properties = to_json_object(*properties);
    if (const auto* body = properties->find("Body"); body && !is_symbolic(*body))
      api.definition_body = to_json(*body);
    if (rest) {
      api.binary_media_types = as_strings(properties->find("BinaryMediaTypes"));
    } else if (const auto* cors = properties->find("CorsConfiguration");
               cors && cors->is_mapping()) {
      Cors value;
      value.allow_origins = as_strings(cors->find("AllowOrigins"));
      value.allow_methods = as_strings(cors->find("AllowMethods"));
      value.allow_headers = as_strings(cors->find("AllowHeaders"));
      value.expose_headers = as_strings(cors->find("ExposeHeaders"));
      value.allow_credentials = as_bool(cors->find("AllowCredentials")).value_or(false);
      if (auto age = as_int(cors->find("MaxAge")))
        value.max_age = clamp_int(*age);
      api.cors = std::move(value);
    }
    if (v2 && properties->find("Target") != nullptr)
      api.stage_name = "$default"; // quick create
    // Stages, deployments and authorizers that belong to this API.
    for (const auto* other : m_resource_entries) {
      const auto& other_decl = m_scope.resources.at(other->key);
      if (!other_decl.included)
        continue;
      const Node* props = find_props(other->key);
      if (props == nullptr)
        continue;
      const Node* owner = props->find(rest ? "RestApiId" : "ApiId");
      if (owner == nullptr || referenced_id(*owner) != decl.logical_id)
        continue;
      const auto& type = other_decl.type;
      if (type == (rest ? "AWS::ApiGateway::Stage" : "AWS::ApiGatewayV2::Stage")) {
        if (!api.stage_name.empty() && api.stage_name != "$default")
          continue; // the first stage wins
        if (auto stage = as_string(props->find("StageName")))
          api.stage_name = *stage;
        if (const auto* variables = props->find(rest ? "Variables" : "StageVariables");
            variables && variables->is_mapping())
          for (const auto& variable : variables->entries)
            if (variable.value.is_scalar())
              api.stage_variables[variable.key] = variable.value.text;
        if (const auto* canary = props->find("CanarySetting");
            rest && canary && canary->is_mapping())
          api.canary_setting = to_json_object(*canary);
      } else if (rest && type == "AWS::ApiGateway::Deployment" && api.stage_name.empty()) {
        if (auto stage = as_string(props->find("StageName")))
          api.stage_name = *stage;
      } else if (type == (rest ? "AWS::ApiGateway::Authorizer" : "AWS::ApiGatewayV2::Authorizer")) {
        Authorizer authorizer;
        authorizer.name = other->key;
        authorizer.source = {m_file, other_decl.mark.line, other_decl.mark.column};
        const auto kind = as_string(props->find(rest ? "Type" : "AuthorizerType")).value_or("");
        if (kind == "COGNITO_USER_POOLS") {
          authorizer.kind = Authorizer::Kind::cognito;
          authorizer.user_pool_arns = as_strings(props->find("ProviderARNs"));
        } else if (kind == "JWT") {
          authorizer.kind = Authorizer::Kind::jwt;
          if (const auto* jwt = props->find("JwtConfiguration"); jwt && jwt->is_mapping()) {
            authorizer.jwt_issuer = as_string(jwt->find("Issuer")).value_or("");
            authorizer.jwt_audience = as_strings(jwt->find("Audience"));
          }
        } else {
          authorizer.kind =
              kind == "REQUEST" ? Authorizer::Kind::lambda_request : Authorizer::Kind::lambda_token;
          if (const auto* uri = props->find("AuthorizerUri"))
            authorizer.function_logical_id = raw_function_of(*uri);
        }
        const Node* sources = props->find("IdentitySource");
        if (sources != nullptr && sources->is_scalar())
          authorizer.identity_sources = split_trimmed(sources->text);
        else
          authorizer.identity_sources = as_strings(sources);
        authorizer.ttl_seconds =
            clamp_int(as_int(props->find("AuthorizerResultTtlInSeconds")).value_or(rest ? 300 : 0));
        authorizer.identity_validation_expression =
            as_string(props->find("IdentityValidationExpression")).value_or("");
        authorizer.payload_format_version =
            as_string(props->find("AuthorizerPayloadFormatVersion")).value_or("");
        authorizer.enable_simple_responses =
            as_bool(props->find("EnableSimpleResponses")).value_or(false);
        api.authorizers.emplace(authorizer.name, std::move(authorizer));
      }
    }
    m_model.apis.push_back(std::move(api));
  }
}

void Loader::raw_routes() {
  const auto find_props = [&](const std::string& id) -> const Node* {
    const auto it = m_resolved_by_id.find(id);
    return it == m_resolved_by_id.end() ? nullptr : it->second;
  };
  std::unordered_map<std::string, bool> existing;
  for (const auto& route : m_model.routes)
    existing[route.api_logical_id + "\n" + route.method + "\n" + route.path] = true;
  const auto add = [&](Route route) {
    const auto key = route.api_logical_id + "\n" + route.method + "\n" + route.path;
    if (existing.count(key) != 0)
      return;
    existing[key] = true;
    m_model.routes.push_back(std::move(route));
  };
  for (const auto& api : m_model.apis) {
    const auto decl_it = m_scope.resources.find(api.logical_id);
    if (decl_it == m_scope.resources.end())
      continue;
    const auto& type = decl_it->second.type;
    if (type != "AWS::ApiGateway::RestApi" && type != "AWS::ApiGatewayV2::Api")
      continue;
    const Node* properties = find_props(api.logical_id);
    if (properties == nullptr)
      continue;
    if (const auto* body = properties->find("Body"); body && body->is_mapping())
      routes_from_definition(api, *body);
    if (const auto* target = properties->find("Target")) {
      // Quick create: one route (RouteKey, default $default) to the target function.
      Route route;
      route.api_logical_id = api.logical_id;
      route.kind = ApiKind::http;
      const auto key = as_string(properties->find("RouteKey")).value_or("$default");
      const auto space = key.find(' ');
      route.method = space == std::string::npos ? "ANY" : upper(key.substr(0, space));
      route.path = space == std::string::npos ? key : key.substr(space + 1);
      route.payload_format_version = "2.0";
      route.function_logical_id = raw_function_of(*target);
      route.source = {m_file, target->mark.line, target->mark.column};
      if (!route.function_logical_id.empty())
        add(std::move(route));
    }
  }
  // AWS::ApiGateway::Method + Resource chains; AWS::ApiGatewayV2::Route + Integration.
  for (const auto* entry : m_resource_entries) {
    const auto& decl = m_scope.resources.at(entry->key);
    if (!decl.included)
      continue;
    const Node* props = find_props(entry->key);
    if (props == nullptr)
      continue;
    if (decl.type == "AWS::ApiGateway::Method") {
      const Node* api_ref = props->find("RestApiId");
      const Node* integration = props->find("Integration");
      if (api_ref == nullptr || integration == nullptr || !integration->is_mapping())
        continue;
      const auto api_id = referenced_id(*api_ref);
      const Api* api = m_model.find_api(api_id);
      if (api == nullptr)
        continue;
      if (!support::iequals(as_string(integration->find("Type")).value_or(""), "AWS_PROXY"))
        continue;
      Route route;
      route.api_logical_id = api_id;
      route.kind = ApiKind::rest;
      route.method = upper(as_string(props->find("HttpMethod")).value_or("ANY"));
      route.payload_format_version = "1.0";
      if (const auto* uri = integration->find("Uri"))
        route.function_logical_id = raw_function_of(*uri);
      if (route.function_logical_id.empty())
        continue;
      // The path: follow ParentId from the method's resource up to the root.
      std::vector<std::string> parts;
      const Node* resource_ref = props->find("ResourceId");
      bool ok = resource_ref != nullptr;
      for (int depth = 0; ok && depth < 64; ++depth) {
        if (resource_ref->intrinsic() == "Fn::GetAtt")
          break; // RestApi.RootResourceId
        const auto id = referenced_id(*resource_ref);
        const auto it = m_scope.resources.find(id);
        if (id.empty() || it == m_scope.resources.end() ||
            it->second.type != "AWS::ApiGateway::Resource") {
          ok = false;
          break;
        }
        const Node* resource_props = find_props(id);
        if (resource_props == nullptr) {
          ok = false;
          break;
        }
        parts.push_back(as_string(resource_props->find("PathPart")).value_or(""));
        resource_ref = resource_props->find("ParentId");
        ok = resource_ref != nullptr;
      }
      if (!ok)
        continue;
      std::string path;
      for (auto it = parts.rbegin(); it != parts.rend(); ++it)
        path += "/" + *it;
      route.path = path.empty() ? "/" : path;
      const auto authorization = as_string(props->find("AuthorizationType")).value_or("NONE");
      if (const auto* authorizer = props->find("AuthorizerId"))
        route.authorizer = referenced_id(*authorizer);
      else if (authorization == "AWS_IAM")
        route.authorizer = "AWS_IAM";
      else
        route.authorizer = "NONE";
      route.source = {m_file, decl.mark.line, decl.mark.column};
      add(std::move(route));
    } else if (decl.type == "AWS::ApiGatewayV2::Route") {
      const Node* api_ref = props->find("ApiId");
      const Node* target = props->find("Target");
      if (api_ref == nullptr || target == nullptr)
        continue;
      const auto api_id = referenced_id(*api_ref);
      const Api* api = m_model.find_api(api_id);
      if (api == nullptr)
        continue;
      const auto integration_id =
          first_reference_of_type(*target, m_scope, "AWS::ApiGatewayV2::Integration");
      const Node* integration = integration_id.empty() ? nullptr : find_props(integration_id);
      if (integration == nullptr ||
          !support::iequals(as_string(integration->find("IntegrationType")).value_or(""),
                            "AWS_PROXY"))
        continue;
      Route route;
      route.api_logical_id = api_id;
      route.kind = ApiKind::http;
      const auto key = as_string(props->find("RouteKey")).value_or("");
      const auto space = key.find(' ');
      route.method = space == std::string::npos ? "ANY" : upper(key.substr(0, space));
      route.path = space == std::string::npos ? key : key.substr(space + 1);
      if (route.path.empty())
        continue;
      route.payload_format_version =
          as_string(integration->find("PayloadFormatVersion")).value_or("2.0");
      if (const auto* uri = integration->find("IntegrationUri"))
        route.function_logical_id = raw_function_of(*uri);
      if (route.function_logical_id.empty())
        continue;
      const auto authorization = as_string(props->find("AuthorizationType")).value_or("NONE");
      if (const auto* authorizer = props->find("AuthorizerId"))
        route.authorizer = referenced_id(*authorizer);
      else if (authorization == "AWS_IAM")
        route.authorizer = "AWS_IAM";
      else
        route.authorizer = "NONE";
      route.source = {m_file, decl.mark.line, decl.mark.column};
      add(std::move(route));
    }
  }
}

} // namespace wisp::sam::detail
