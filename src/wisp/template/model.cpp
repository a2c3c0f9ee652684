#include <wisp/template/load.hpp>
#include <wisp/template/model.hpp>

namespace wisp::sam {

const Function* Model::find_function(std::string_view id_or_name) const {
  for (const auto& function : functions)
    if (function.logical_id == id_or_name)
      return &function;
  for (const auto& function : functions)
    if (!function.function_name.empty() && function.function_name == id_or_name)
      return &function;
  // A nested application's function ("Child/Function") by its own logical id, when no
  // other function has it (as SAM CLI: `sam local invoke Function`).
  if (const auto named = nested_functions_named(*this, id_or_name); named.size() == 1)
    return named.front();
  return nullptr;
}

std::vector<const Function*> nested_functions_named(const Model& model, std::string_view id) {
  std::vector<const Function*> out;
  if (id.empty() || id.find('/') != std::string_view::npos)
    return out;
  for (const auto& function : model.functions) {
    const std::string_view full = function.logical_id;
    const auto slash = full.rfind('/');
    if (slash != std::string_view::npos && full.substr(slash + 1) == id)
      out.push_back(&function);
  }
  return out;
}

const Api* Model::find_api(std::string_view logical_id) const {
  for (const auto& api : apis)
    if (api.logical_id == logical_id)
      return &api;
  return nullptr;
}

const Layer* Model::find_layer(std::string_view logical_id) const {
  for (const auto& layer : layers)
    if (layer.logical_id == logical_id)
      return &layer;
  return nullptr;
}

const Resource* Model::find_resource(std::string_view logical_id) const {
  for (const auto& resource : resources)
    if (resource.logical_id == logical_id)
      return &resource;
  return nullptr;
}

const GeneratedRef* Model::find_generated_ref(std::string_view name) const {
  const auto it = generated_refs.find(name);
  return it == generated_refs.end() ? nullptr : &it->second;
}

} // namespace wisp::sam
