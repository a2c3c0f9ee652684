// WebSocket APIs of a model (websocket.hpp), from the resolved resources.

#include <wisp/template/websocket.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>

namespace wisp::sam {

namespace json = boost::json;

namespace {

std::string string_of(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

// Every resource a resolved value refers to ({Ref}, {Fn::GetAtt}, "${X}" / "${X.Attr}" in a
// Fn::Sub), in document order.
void references(const json::value& value, std::vector<std::string>& out) {
  if (value.is_array()) {
    for (const auto& item : value.as_array())
      references(item, out);
    return;
  }
  if (!value.is_object())
    return;
  const auto& object = value.as_object();
  if (object.size() == 1) {
    const auto& [key, arg] = *object.begin();
    if (key == "Ref" && arg.is_string()) {
      out.emplace_back(arg.as_string());
      return;
    }
    if (key == "Fn::GetAtt" && arg.is_array() && !arg.as_array().empty() &&
        arg.as_array()[0].is_string()) {
      out.emplace_back(arg.as_array()[0].as_string());
      return;
    }
    if (key == "Fn::GetAtt" && arg.is_string()) {
      const std::string_view text = arg.as_string();
      out.emplace_back(text.substr(0, text.find('.')));
      return;
    }
    if (key == "Fn::Sub") {
      const json::value* text = &arg;
      if (arg.is_array() && !arg.as_array().empty()) {
        text = &arg.as_array()[0];
        if (arg.as_array().size() > 1)
          references(arg.as_array()[1], out);
      }
      if (text->is_string()) {
        std::string_view rest = text->as_string();
        for (auto open = rest.find("${"); open != std::string_view::npos; open = rest.find("${")) {
          const auto close = rest.find('}', open);
          if (close == std::string_view::npos)
            break;
          const auto name = rest.substr(open + 2, close - open - 2);
          if (!name.starts_with("!") && !name.starts_with("AWS::"))
            out.emplace_back(name.substr(0, name.find('.')));
          rest.remove_prefix(close + 1);
        }
      }
      return;
    }
  }
  for (const auto& [key, item] : object)
    references(item, out);
}

std::string first_reference(const json::value* value) {
  if (value == nullptr)
    return {};
  std::vector<std::string> ids;
  references(*value, ids);
  return ids.empty() ? std::string() : ids.front();
}

// The function an integration or authorizer URI invokes: a reference to a function of the
// template, or an ARN naming one (`...:function:<name>[:qualifier]`).
std::string function_of(const Model& model, const json::value* uri) {
  if (uri == nullptr)
    return {};
  std::vector<std::string> ids;
  references(*uri, ids);
  for (const auto& id : ids)
    if (const auto* fn = model.find_function(id); fn != nullptr && fn->logical_id == id)
      return id;
  std::string text;
  if (uri->is_string())
    text = std::string(uri->as_string());
  else if (uri->is_object() && uri->as_object().size() == 1 &&
           uri->as_object().begin()->key() == "Fn::Sub") {
    const auto& arg = uri->as_object().begin()->value();
    const json::value* sub = arg.is_array() && !arg.as_array().empty() ? &arg.as_array()[0] : &arg;
    if (sub->is_string())
      text = std::string(sub->as_string());
  }
  if (const auto at = text.find(":function:"); at != std::string::npos) {
    auto name = text.substr(at + 10);
    name = name.substr(0, name.find_first_of(":/"));
    if (const auto* fn = model.find_function(name))
      return fn->logical_id;
  }
  return {};
}

std::vector<std::string> strings_of(const json::value* value) {
  std::vector<std::string> out;
  if (value == nullptr)
    return out;
  if (value->is_string()) {
    // A comma-separated list is accepted as well.
    std::string_view text = value->as_string();
    while (!text.empty()) {
      const auto comma = text.find(',');
      auto part = text.substr(0, comma);
      while (!part.empty() && part.front() == ' ')
        part.remove_prefix(1);
      while (!part.empty() && part.back() == ' ')
        part.remove_suffix(1);
      if (!part.empty())
        out.emplace_back(part);
      text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    }
    return out;
  }
  if (value->is_array())
    for (const auto& item : value->as_array())
      if (item.is_string())
        out.emplace_back(item.as_string());
  return out;
}

std::map<std::string, std::string> string_map(const json::value* value) {
  std::map<std::string, std::string> out;
  if (value != nullptr && value->is_object())
    for (const auto& [key, item] : value->as_object())
      if (item.is_string())
        out.emplace(std::string(key), std::string(item.as_string()));
  return out;
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

} // namespace

std::vector<WebSocketApi> websocket_apis(const Model& model) {
  std::vector<WebSocketApi> apis;
  const auto owner = [](const Resource& resource) {
    return first_reference(resource.properties.if_contains("ApiId"));
  };
  for (const auto& resource : model.resources) {
    if (resource.type != "AWS::ApiGatewayV2::Api" ||
        string_of(resource.properties, "ProtocolType") != "WEBSOCKET")
      continue;
    WebSocketApi api;
    api.logical_id = resource.logical_id;
    api.source = resource.source;
    api.name = string_of(resource.properties, "Name");
    if (api.name.empty())
      api.name = resource.logical_id;
    api.route_selection_expression = string_of(resource.properties, "RouteSelectionExpression");
    api.api_key_selection_expression = string_of(resource.properties, "ApiKeySelectionExpression");
    if (api.api_key_selection_expression.empty())
      api.api_key_selection_expression = "$request.header.x-api-key";

    std::set<std::string> two_way; // routes with a $default RouteResponse
    for (const auto& other : model.resources) {
      if (owner(other) != api.logical_id)
        continue;
      const auto& props = other.properties;
      if (other.type == "AWS::ApiGatewayV2::Stage" && api.stage_logical_id.empty()) {
        api.stage_logical_id = other.logical_id;
        api.stage_name = string_of(props, "StageName");
        if (const auto* variables = props.if_contains("StageVariables");
            variables != nullptr && variables->is_object())
          for (const auto& [name, value] : variables->as_object())
            if (value.is_string())
              api.stage_variables[std::string(name)] = std::string(value.as_string());
      } else if (other.type == "AWS::ApiGatewayV2::Authorizer") {
        Authorizer authorizer;
        authorizer.name = other.logical_id;
        authorizer.source = other.source;
        authorizer.kind = Authorizer::Kind::lambda_request;
        authorizer.function_logical_id = function_of(model, props.if_contains("AuthorizerUri"));
        if (authorizer.function_logical_id.empty())
          authorizer.function_arn = string_of(props, "AuthorizerUri");
        authorizer.identity_sources = strings_of(props.if_contains("IdentitySource"));
        api.authorizers.emplace(authorizer.name, std::move(authorizer));
      } else if (other.type == "AWS::ApiGatewayV2::RouteResponse" &&
                 string_of(props, "RouteResponseKey") == "$default") {
        two_way.insert(first_reference(props.if_contains("RouteId")));
      }
    }

    for (const auto& other : model.resources) {
      if (other.type != "AWS::ApiGatewayV2::Route" || owner(other) != api.logical_id)
        continue;
      const auto& props = other.properties;
      WebSocketRoute route;
      route.route_key = string_of(props, "RouteKey");
      if (route.route_key.empty())
        continue;
      route.source = other.source;
      route.authorization_type = string_of(props, "AuthorizationType");
      if (route.authorization_type.empty())
        route.authorization_type = "NONE";
      route.authorizer = first_reference(props.if_contains("AuthorizerId"));
      route.two_way = two_way.count(other.logical_id) != 0;
      if (const auto* required = props.if_contains("ApiKeyRequired"))
        route.api_key_required = (required->is_bool() && required->as_bool()) ||
                                 (required->is_string() && required->as_string() == "true");
      std::vector<std::string> targets;
      if (const auto* target = props.if_contains("Target"))
        references(*target, targets);
      for (const auto& id : targets) {
        const auto* integration = model.find_resource(id);
        if (integration == nullptr || integration->type != "AWS::ApiGatewayV2::Integration")
          continue;
        const auto& integration_props = integration->properties;
        route.integration_type = upper(string_of(integration_props, "IntegrationType"));
        if (route.integration_type == "AWS_PROXY")
          route.function_logical_id =
              function_of(model, integration_props.if_contains("IntegrationUri"));
        if (route.integration_type == "HTTP" || route.integration_type == "HTTP_PROXY") {
          route.integration_uri = string_of(integration_props, "IntegrationUri");
          route.integration_method = upper(string_of(integration_props, "IntegrationMethod"));
          if (route.integration_method.empty())
            route.integration_method = "POST";
          route.request_parameters = string_map(integration_props.if_contains("RequestParameters"));
        }
        if (route.integration_type == "MOCK" || route.integration_type == "HTTP") {
          route.request_templates = string_map(integration_props.if_contains("RequestTemplates"));
          for (const auto& response : model.resources)
            if (response.type == "AWS::ApiGatewayV2::IntegrationResponse" &&
                first_reference(response.properties.if_contains("IntegrationId")) == id)
              route.integration_responses.push_back(
                  {string_of(response.properties, "IntegrationResponseKey"),
                   string_map(response.properties.if_contains("ResponseTemplates"))});
        }
        if (const auto* timeout = integration_props.if_contains("TimeoutInMillis")) {
          if (timeout->is_number())
            route.timeout_ms =
                static_cast<int>(std::clamp(timeout->to_number<double>(), 50.0, 29000.0));
          else if (timeout->is_string())
            route.timeout_ms = std::clamp(std::atoi(timeout->as_string().c_str()), 50, 29000);
        }
        break;
      }
      api.routes.push_back(std::move(route));
    }
    apis.push_back(std::move(api));
  }
  return apis;
}

} // namespace wisp::sam
