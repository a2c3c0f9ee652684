// The parts of a REST API's OpenAPI body that are neither routes nor integrations, deployed as
// API Gateway's import makes them: models (definitions, components.schemas), request
// validators (x-amazon-apigateway-request-validators) and gateway responses
// (x-amazon-apigateway-gateway-responses). Read, plan, apply, remove.

#include <wisp/deploy/engine.hpp>

#include <wisp/aws/json_fields.hpp>
#include <wisp/deploy/naming.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace wisp::deploy {

namespace json = boost::json;

namespace {

// Pages of a GET /restapis/{id}/<what> listing.
support::Result<json::array> list_all(const Backend& backend, std::string_view operation,
                                      const std::string& path) {
  json::array out;
  std::string position;
  for (int page = 0; page < 50; ++page) {
    aws::Query query{{"limit", "500"}};
    if (!position.empty())
      query.emplace_back("position", position);
    auto listed = backend.apigw(operation, "GET", path, nullptr, query);
    if (!listed)
      return tl::unexpected(aws::error_of(std::move(listed)));
    for (const auto& item : aws::json_items(*listed))
      out.push_back(item);
    position = listed->is_object() ? aws::json_string(listed->as_object(), "position") : "";
    if (position.empty())
      break;
  }
  return out;
}

// The names of the body's models a schema refers to.
void referenced_models(const json::value& v, std::set<std::string>& out) {
  if (v.is_array()) {
    for (const auto& item : v.as_array())
      referenced_models(item, out);
  } else if (v.is_object()) {
    for (const auto& field : v.as_object()) {
      if (field.key() == "$ref" && field.value().is_string()) {
        const std::string_view ref = field.value().as_string();
        for (std::string_view prefix : {"#/definitions/", "#/components/schemas/"})
          if (ref.starts_with(prefix))
            out.insert(std::string(ref.substr(prefix.size())));
      } else {
        referenced_models(field.value(), out);
      }
    }
  }
}

std::string schema_text(const RestModelSpec& model, const std::string& api_id) {
  return canonical_json(model_schema(model.schema, api_id));
}

} // namespace

json::value model_schema(const json::value& schema, const std::string& api_id) {
  if (schema.is_array()) {
    json::array out;
    for (const auto& item : schema.as_array())
      out.push_back(model_schema(item, api_id));
    return out;
  }
  if (!schema.is_object())
    return schema;
  json::object out;
  for (const auto& field : schema.as_object()) {
    if (field.key() == "$ref" && field.value().is_string()) {
      const std::string_view ref = field.value().as_string();
      std::string replaced(ref);
      for (std::string_view prefix : {"#/definitions/", "#/components/schemas/"})
        if (ref.starts_with(prefix))
          replaced = fmt::format("https://apigateway.amazonaws.com/restapis/{}/models/{}", api_id,
                                 ref.substr(prefix.size()));
      out[field.key()] = replaced;
    } else {
      out[field.key()] = model_schema(field.value(), api_id);
    }
  }
  return out;
}

support::Status read_definition_extras(const Backend& backend, const std::string& api_id,
                                       ApiActual& actual) {
  const auto base = slash_segment(api_id);
  WISP_TRY_ASSIGN(const auto models, list_all(backend, "GetModels", base + "/models"));
  for (const auto& item : models) {
    if (!item.is_object())
      continue;
    const auto& o = item.as_object();
    ApiActual::Model model;
    model.content_type = aws::json_string(o, "contentType");
    const auto schema = aws::json_string(o, "schema");
    boost::system::error_code ec;
    auto parsed = json::parse(schema, ec);
    model.schema = ec ? schema : canonical_json(parsed);
    actual.models[aws::json_string(o, "name")] = std::move(model);
  }
  WISP_TRY_ASSIGN(const auto validators,
                  list_all(backend, "GetRequestValidators", base + "/requestvalidators"));
  for (const auto& item : validators) {
    if (!item.is_object())
      continue;
    const auto& o = item.as_object();
    const auto flag = [&](const char* key) {
      const auto* v = o.if_contains(key);
      return v != nullptr && v->is_bool() && v->as_bool();
    };
    actual.validators[aws::json_string(o, "name")] = {
        aws::json_string(o, "id"), flag("validateRequestBody"), flag("validateRequestParameters")};
  }
  WISP_TRY_ASSIGN(const auto responses,
                  list_all(backend, "GetGatewayResponses", base + "/gatewayresponses"));
  for (const auto& item : responses) {
    if (!item.is_object())
      continue;
    const auto& o = item.as_object();
    // API Gateway lists every response type; those it has not been given are its defaults.
    if (const auto* d = o.if_contains("defaultResponse");
        d != nullptr && d->is_bool() && d->as_bool())
      continue;
    json::object body;
    for (const char* key : {"statusCode", "responseParameters", "responseTemplates"})
      if (const auto* v = o.if_contains(key); v != nullptr && !v->is_null())
        body[key] = v->is_number() ? json::value(json::serialize(*v)) : *v;
    actual.gateway_responses[aws::json_string(o, "responseType")] = canonical_json(body);
  }
  return {};
}

std::vector<std::string> plan_definition_extras(const ApiSpec& spec, const ApiActual& actual) {
  std::vector<std::string> lines;
  for (const auto& model : spec.models) {
    auto it = actual.models.find(model.name);
    if (it == actual.models.end())
      lines.push_back("+ model " + model.name);
    else if (model.builtin)
      continue;
    else if (it->second.content_type != model.content_type ||
             it->second.schema != schema_text(model, actual.id))
      lines.push_back("~ model " + model.name);
  }
  for (const auto& [name, model] : actual.models) {
    (void)model;
    if (!builtin_model(name) &&
        std::none_of(spec.models.begin(), spec.models.end(),
                     [&](const RestModelSpec& m) { return m.name == name; }))
      lines.push_back("- model " + name);
  }
  for (const auto& validator : spec.validators) {
    auto it = actual.validators.find(validator.name);
    if (it == actual.validators.end())
      lines.push_back("+ request validator " + validator.name);
    else if (it->second.body != validator.body || it->second.parameters != validator.parameters)
      lines.push_back("~ request validator " + validator.name);
  }
  for (const auto& [name, validator] : actual.validators) {
    (void)validator;
    if (std::none_of(spec.validators.begin(), spec.validators.end(),
                     [&](const RestValidatorSpec& v) { return v.name == name; }))
      lines.push_back("- request validator " + name);
  }
  for (const auto& [type, body] : spec.gateway_responses) {
    auto it = actual.gateway_responses.find(type);
    if (it == actual.gateway_responses.end())
      lines.push_back("+ gateway response " + type);
    else if (it->second != canonical_json(body))
      lines.push_back("~ gateway response " + type);
  }
  for (const auto& [type, body] : actual.gateway_responses) {
    (void)body;
    if (!spec.gateway_responses.contains(type))
      lines.push_back("- gateway response " + type);
  }
  return lines;
}

support::Result<std::map<std::string, std::string>>
apply_definition_extras(const Backend& backend, const ApiSpec& spec, const std::string& api_id,
                        const ApiActual& actual, Log& log) {
  const auto base = slash_segment(api_id);
  std::map<std::string, std::string> ids;
  for (const auto& [name, v] : actual.validators)
    ids[name] = v.id;
  // Request validators.
  for (const auto& validator : spec.validators) {
    auto it = actual.validators.find(validator.name);
    if (it == actual.validators.end()) {
      const json::value body = json::object{{"name", validator.name},
                                            {"validateRequestBody", validator.body},
                                            {"validateRequestParameters", validator.parameters}};
      auto created =
          backend.apigw("CreateRequestValidator", "POST", base + "/requestvalidators", &body);
      if (!created)
        return tl::unexpected(aws::error_of(std::move(created)));
      const auto id = created->is_object() ? aws::json_string(created->as_object(), "id") : "";
      if (id.empty())
        return support::failf("CreateRequestValidator for {} of {} returned no id", validator.name,
                              spec.logical_id);
      ids[validator.name] = id;
      log.step(fmt::format("{}: request validator {} created", spec.logical_id, validator.name));
    } else if (it->second.body != validator.body || it->second.parameters != validator.parameters) {
      const json::value body = json::object{
          {"patchOperations",
           json::array{json::object{{"op", "replace"},
                                    {"path", "/validateRequestBody"},
                                    {"value", validator.body ? "true" : "false"}},
                       json::object{{"op", "replace"},
                                    {"path", "/validateRequestParameters"},
                                    {"value", validator.parameters ? "true" : "false"}}}}};
      auto updated = backend.apigw("UpdateRequestValidator", "PATCH",
                                   base + "/requestvalidators/" + segment(it->second.id), &body);
      if (!updated)
        return tl::unexpected(aws::error_of(std::move(updated)));
      log.step(fmt::format("{}: request validator {} updated", spec.logical_id, validator.name));
    }
  }
  // Models, those another refers to first (API Gateway checks the references).
  std::vector<const RestModelSpec*> order;
  std::set<std::string> placed;
  std::set<std::string> names;
  for (const auto& model : spec.models)
    names.insert(model.name);
  while (order.size() < spec.models.size()) {
    const auto before = order.size();
    for (const auto& model : spec.models) {
      if (placed.contains(model.name))
        continue;
      std::set<std::string> refs;
      referenced_models(model.schema, refs);
      if (std::all_of(refs.begin(), refs.end(), [&](const std::string& r) {
            return r == model.name || placed.contains(r) || !names.contains(r);
          })) {
        order.push_back(&model);
        placed.insert(model.name);
      }
    }
    if (order.size() == before) // a cycle: API Gateway decides
      for (const auto& model : spec.models)
        if (placed.insert(model.name).second)
          order.push_back(&model);
  }
  for (const auto* model : order) {
    const auto schema = json::serialize(model_schema(model->schema, api_id));
    const json::value body = json::object{
        {"name", model->name}, {"contentType", model->content_type}, {"schema", schema}};
    auto it = actual.models.find(model->name);
    if (it == actual.models.end()) {
      auto created = backend.apigw("CreateModel", "POST", base + "/models", &body);
      if (!created)
        return tl::unexpected(aws::error_of(std::move(created)));
      log.step(fmt::format("{}: model {} created", spec.logical_id, model->name));
      continue;
    }
    if (model->builtin || (it->second.content_type == model->content_type &&
                           it->second.schema == schema_text(*model, api_id)))
      continue;
    const auto path = base + "/models/" + segment(model->name);
    // The content type is fixed at creation; a new one means a new model.
    aws::AwsResult<json::value> updated;
    if (it->second.content_type == model->content_type) {
      const json::value patch = json::object{
          {"patchOperations",
           json::array{json::object{{"op", "replace"}, {"path", "/schema"}, {"value", schema}}}}};
      updated = backend.apigw("UpdateModel", "PATCH", path, &patch);
    }
    if (it->second.content_type != model->content_type ||
        (!updated && updated.error().code == "UnsupportedOperation")) {
      // No UpdateModel (moto): made again.
      auto removed = backend.apigw("DeleteModel", "DELETE", path);
      if (!removed && !removed.error().not_found())
        return tl::unexpected(aws::error_of(std::move(removed)));
      updated = backend.apigw("CreateModel", "POST", base + "/models", &body);
    }
    if (!updated)
      return tl::unexpected(aws::error_of(std::move(updated)));
    log.step(fmt::format("{}: model {} updated", spec.logical_id, model->name));
  }
  // Gateway responses.
  for (const auto& [type, response] : spec.gateway_responses) {
    auto it = actual.gateway_responses.find(type);
    if (it != actual.gateway_responses.end() && it->second == canonical_json(response))
      continue;
    const json::value body = response;
    auto put = backend.apigw("PutGatewayResponse", "PUT",
                             base + "/gatewayresponses/" + segment(type), &body);
    if (!put)
      return tl::unexpected(aws::error_of(std::move(put)));
    log.step(fmt::format("{}: gateway response {} set", spec.logical_id, type));
  }
  return ids;
}

support::Status remove_definition_extras(const Backend& backend, const ApiSpec& spec,
                                         const std::string& api_id, const ApiActual& actual,
                                         Log& log) {
  const auto base = slash_segment(api_id);
  for (const auto& [type, body] : actual.gateway_responses) {
    (void)body;
    if (spec.gateway_responses.contains(type))
      continue;
    auto removed = backend.apigw("DeleteGatewayResponse", "DELETE",
                                 base + "/gatewayresponses/" + segment(type));
    if (!removed && !removed.error().not_found())
      return tl::unexpected(aws::error_of(std::move(removed)));
    log.step(fmt::format("{}: gateway response {} back to API Gateway's default", spec.logical_id,
                         type));
  }
  for (const auto& [name, model] : actual.models) {
    (void)model;
    // API Gateway's own Empty and Error stay (every REST API has them).
    if (builtin_model(name) || std::any_of(spec.models.begin(), spec.models.end(),
                                           [&](const RestModelSpec& m) { return m.name == name; }))
      continue;
    auto removed = backend.apigw("DeleteModel", "DELETE", base + "/models/" + segment(name));
    if (!removed && !removed.error().not_found())
      return tl::unexpected(aws::error_of(std::move(removed)));
    log.step(fmt::format("{}: model {} removed", spec.logical_id, name));
  }
  for (const auto& [name, validator] : actual.validators) {
    if (std::any_of(spec.validators.begin(), spec.validators.end(),
                    [&](const RestValidatorSpec& v) { return v.name == name; }))
      continue;
    auto removed = backend.apigw("DeleteRequestValidator", "DELETE",
                                 base + "/requestvalidators/" + segment(validator.id));
    if (!removed && !removed.error().not_found())
      return tl::unexpected(aws::error_of(std::move(removed)));
    log.step(fmt::format("{}: request validator {} removed", spec.logical_id, name));
  }
  return {};
}

} // namespace wisp::deploy
