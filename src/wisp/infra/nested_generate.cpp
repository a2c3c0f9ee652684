// The templates of nested stacks that hold what wisp deploys (functions, layers, APIs) or SAM
// resources, generated with the root's stack template (see infra.hpp, GeneratedChild).
//
// Each such child is generated as the root is: its resources and SAM's expansions (its
// functions' event sources too) in its template, its references into wisp's side (a child
// function's stage alias, name, role; a layer's ARN; an API's id) as its parameters, which the
// parent's stack resource passes from root parameters of the same value
// (`Wisp<Child><Fn>Alias`, so the root stack's stage check covers the child's triggers), and
// what the child's functions need from it as its outputs (`WispRefTable`, `WispParam<Name>`),
// which wisp reads from the nested stack after the change set. A child's template waits for new
// functions as the root's does: its early form (without what names a function not created yet)
// and its final form are two uploads, named by the parent's early and final templates.

#include <wisp/infra/detail.hpp>
#include <wisp/infra/infra.hpp>
#include <wisp/support/hash.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <functional>

namespace wisp::infra::detail {

namespace json = boost::json;

namespace {

std::string root_key(const std::string& child, const std::string& key) {
  // "WispTargetFunctionAlias" of child PipesStack → "WispPipesStackTargetFunctionAlias": what
  // the root calls function PipesStack/TargetFunction's alias.
  return "Wisp" + alphanumeric(child) + (key.starts_with("Wisp") ? key.substr(4) : key);
}

json::object* resource_of(json::object& t, const std::string& id) {
  auto* resources = t.if_contains("Resources");
  if (resources == nullptr || !resources->is_object())
    return nullptr;
  auto* r = resources->as_object().if_contains(id);
  return r != nullptr && r->is_object() ? &r->as_object() : nullptr;
}

// A child's template as uploaded: its own parameter declarations beside wisp's, the outputs
// wisp reads, and a placeholder when nothing is left for CloudFormation (a child holding only
// a layer): a template needs one resource.
void finish_child(json::object& t, const GeneratedChild& child, const std::string& root_stack) {
  {
    json::value whole = std::move(t);
    replace_text(whole, child.stack_name, json::object{{"Ref", "AWS::StackName"}});
    t = std::move(whole.as_object());
  }
  auto& declared = t["Parameters"];
  if (!declared.is_object())
    declared = json::object();
  for (const auto& item : child.declarations)
    declared.as_object()[item.key()] = item.value();
  if (declared.as_object().empty())
    t.erase("Parameters");
  auto& resources = t["Resources"];
  if (!resources.is_object() || resources.as_object().empty())
    resources = json::object{
        {"WispPlaceholder", json::object{{"Type", "AWS::CloudFormation::WaitConditionHandle"}}}};
  if (!child.unknown_parameters.empty() || child.wants_stack_name) {
    auto& outputs = t["Outputs"];
    if (!outputs.is_object())
      outputs = json::object();
    for (const auto& name : child.unknown_parameters)
      outputs.as_object()["WispParam" + alphanumeric(name)] =
          json::object{{"Value", json::object{{"Ref", name}}}};
    if (child.wants_stack_name)
      outputs.as_object()["WispStackName"] =
          json::object{{"Value", json::object{{"Ref", "AWS::StackName"}}}};
  }
  t["Description"] = fmt::format("Nested stack {} of {} (made by wisp deploy from {})",
                                 child.logical_id, root_stack, child.file);
}

NestedTemplate upload_of(const GeneratedChild& child, const json::object& t,
                         const NestedTemplates& nested) {
  NestedTemplate u;
  u.logical_id = child.logical_id;
  u.file = child.file;
  u.body = json::serialize(t);
  const auto name = support::sha256_hex(u.body) + ".template";
  u.key = nested.prefix.empty() ? name : nested.prefix + "/" + name;
  u.url = fmt::format("https://s3.{}.amazonaws.com/{}/{}", nested.region, nested.bucket, u.key);
  return u;
}

std::set<std::string> declared_names(const json::object& t) {
  std::set<std::string> out;
  if (const auto* p = t.if_contains("Parameters"); p && p->is_object())
    for (const auto& item : p->as_object())
      out.emplace(item.key());
  return out;
}

} // namespace

bool replace_text(json::value& value, const std::string& text, const json::object& reference) {
  if (text.empty())
    return false;
  std::string in_sub; // the reference as Fn::Sub writes it
  if (const auto* ref = reference.if_contains("Ref"); ref && ref->is_string())
    in_sub = "${" + std::string(ref->as_string()) + "}";
  else if (const auto* att = reference.if_contains("Fn::GetAtt");
           att && att->is_array() && att->as_array().size() == 2)
    in_sub = fmt::format("${{{}.{}}}", std::string_view(att->as_array()[0].as_string()),
                         std::string_view(att->as_array()[1].as_string()));
  bool found = false;
  const auto replace_in = [&](std::string s, std::string_view with) {
    for (auto at = s.find(text); at != std::string::npos; at = s.find(text, at + with.size())) {
      s.replace(at, text.size(), with);
      found = true;
    }
    return s;
  };
  const std::function<void(json::value&)> walk = [&](json::value& v) {
    if (v.is_string()) {
      const std::string s(v.as_string());
      if (s.find(text) == std::string::npos)
        return;
      found = true;
      json::array parts;
      std::size_t at = 0;
      for (auto pos = s.find(text); pos != std::string::npos; pos = s.find(text, at)) {
        if (pos > at)
          parts.emplace_back(s.substr(at, pos - at));
        parts.emplace_back(reference);
        at = pos + text.size();
      }
      if (at < s.size())
        parts.emplace_back(s.substr(at));
      v = parts.size() == 1 ? parts[0]
                            : json::value(json::object{{"Fn::Join", json::array{"", parts}}});
      return;
    }
    if (v.is_array()) {
      for (auto& item : v.as_array())
        walk(item);
      return;
    }
    if (!v.is_object())
      return;
    auto& object = v.as_object();
    if (object.size() == 1 && object.begin()->key() == "Fn::Sub" && !in_sub.empty()) {
      auto& argument = object.begin()->value();
      json::value* pattern = &argument;
      if (argument.is_array() && !argument.as_array().empty()) {
        pattern = &argument.as_array()[0];
        for (std::size_t i = 1; i < argument.as_array().size(); ++i)
          walk(argument.as_array()[i]);
      }
      if (pattern->is_string())
        *pattern = replace_in(std::string(pattern->as_string()), in_sub);
      return;
    }
    for (auto& item : object)
      walk(item.value());
  };
  walk(value);
  return found;
}

support::Status generate_children(
    const sam::Model& model, const Inputs& inputs, StackTemplate& out,
    const std::function<support::Result<StackTemplate>(const sam::Model&, const Inputs&)>&
        generate_one) {
  (void)model;
  if (inputs.nested == nullptr)
    return {};
  const auto& nested = *inputs.nested;
  struct Done {
    const GeneratedChild* child;
    StackTemplate stack;
  };
  std::vector<Done> done;
  std::map<std::string, Parameter> added; // root parameters for the children
  for (const auto& child : nested.generated) {
    Inputs in;
    in.stack = child.stack_name; // what its load took for AWS::StackName (and AWS::StackId's)
    in.stage = inputs.stage;
    in.region = inputs.region;
    in.account = inputs.account;
    in.nested_urls = child.urls;
    const auto prefix = child.logical_id + "/";
    const auto own = [&](const std::string& id) {
      return id.starts_with(prefix) && id.find('/', prefix.size()) == std::string::npos;
    };
    // The child's own (not a grandchild's), with the id it has in the child.
    const auto take = [&](const auto& from, auto& to) {
      for (auto item : from)
        if (own(item.logical_id)) {
          item.logical_id = item.logical_id.substr(prefix.size());
          to.push_back(std::move(item));
        }
    };
    take(inputs.functions, in.functions);
    take(inputs.apis, in.apis);
    take(inputs.layers, in.layers);
    take(inputs.roles, in.roles);
    for (const auto& item : child.declarations)
      in.parameters.emplace(item.key());
    auto generated = generate_one(*child.model, in);
    if (!generated) {
      const auto& message = generated.error().message;
      if (message.starts_with(child.file + ":")) // file:line:col first
        return support::failf("{} (in nested stack {})", message, child.logical_id);
      return support::failf("nested stack {} ({}): {}", child.logical_id, child.file, message);
    }
    auto& ct = *generated;
    finish_child(ct.body, child, inputs.stack);
    finish_child(ct.early, child, inputs.stack);
    const auto body = upload_of(child, ct.body, nested);
    const auto early = upload_of(child, ct.early, nested);
    for (const auto& p : ct.parameters)
      added[root_key(child.logical_id, p.key)] = {root_key(child.logical_id, p.key), p.value,
                                                  p.no_echo};
    // The parent's stack resource names the upload and passes wisp's values.
    for (auto* form : {&out.body, &out.early}) {
      auto* resource = resource_of(*form, child.logical_id);
      if (resource == nullptr)
        continue;
      const bool is_early = form == &out.early;
      const auto& upload = is_early ? early : body;
      const auto& child_template = is_early ? ct.early : ct.body;
      auto& properties = (*resource)["Properties"];
      if (!properties.is_object())
        properties = json::object();
      properties.as_object()["TemplateURL"] = upload.url;
      const auto names = declared_names(child_template);
      auto& parameters = properties.as_object()["Parameters"];
      if (!parameters.is_object())
        parameters = json::object();
      auto& root_declared = (*form)["Parameters"];
      if (!root_declared.is_object())
        root_declared = json::object();
      for (const auto& p : ct.parameters) {
        if (!names.contains(p.key))
          continue;
        const auto key = root_key(child.logical_id, p.key);
        parameters.as_object()[p.key] = json::object{{"Ref", key}};
        json::object decl{{"Type", "String"}};
        if (p.no_echo)
          decl["NoEcho"] = true;
        root_declared.as_object()[key] = std::move(decl);
      }
      if (parameters.as_object().empty())
        properties.as_object().erase("Parameters");
    }
    out.uploads.push_back(body);
    if (early.key != body.key)
      out.uploads.push_back(early);
    for (const auto& e : ct.deployed_events)
      out.deployed_events.insert(prefix + e);
    for (const auto& w : ct.warnings)
      out.warnings.push_back(fmt::format("nested stack {}: {}", child.logical_id, w));
    for (const auto& r : ct.retained)
      out.retained.push_back(prefix + r);
    done.push_back({&child, std::move(ct)});
  }

  // A sibling's output that is a value of wisp's side (a layer's ARN: `!GetAtt
  // Layer.Outputs.LayerArn` passed to another child) is passed as that value, not read from
  // the sibling.
  for (auto* form : {&out.body, &out.early}) {
    for (const auto& d : done) {
      auto* resource = resource_of(*form, d.child->logical_id);
      if (resource == nullptr)
        continue;
      auto* properties = resource->if_contains("Properties");
      auto* parameters = properties && properties->is_object()
                             ? properties->as_object().if_contains("Parameters")
                             : nullptr;
      if (parameters == nullptr || !parameters->is_object())
        continue;
      for (auto& item : parameters->as_object()) {
        std::optional<Reference> att;
        for_each_reference(item.value(), [&](const Reference& r) {
          if (!r.ref && r.attribute.starts_with("Outputs.") &&
              item.value().as_object().contains("Fn::GetAtt"))
            att = r;
        });
        if (!att || !item.value().is_object() || item.value().as_object().size() != 1)
          continue;
        for (const auto& sibling : done) {
          if (sibling.child->logical_id != att->id)
            continue;
          const auto* outputs = sibling.stack.body.if_contains("Outputs");
          const auto* output = outputs && outputs->is_object()
                                   ? outputs->as_object().if_contains(att->attribute.substr(8))
                                   : nullptr;
          const auto* value =
              output && output->is_object() ? output->as_object().if_contains("Value") : nullptr;
          const auto* ref = value && value->is_object() && value->as_object().size() == 1
                                ? value->as_object().if_contains("Ref")
                                : nullptr;
          if (ref == nullptr || !ref->is_string())
            continue;
          const std::string key(ref->as_string());
          if (std::none_of(sibling.stack.parameters.begin(), sibling.stack.parameters.end(),
                           [&](const Parameter& p) { return p.key == key; }))
            continue;
          const auto root = root_key(sibling.child->logical_id, key);
          item.value() = json::object{{"Ref", root}};
          auto& root_declared = (*form)["Parameters"];
          if (!root_declared.is_object())
            root_declared = json::object();
          root_declared.as_object()[root] = json::object{{"Type", "String"}};
        }
      }
    }
    // The root's outputs that name a child output the generated child does not have (one that
    // named what wisp deploys and could not be carried) go.
    if (auto* outputs = form->if_contains("Outputs"); outputs && outputs->is_object()) {
      std::vector<std::string> gone;
      for (const auto& item : outputs->as_object())
        for_each_reference(item.value(), [&](const Reference& r) {
          if (!r.attribute.starts_with("Outputs."))
            return;
          for (const auto& d : done)
            if (d.child->logical_id == r.id) {
              const auto* child_outputs = d.stack.body.if_contains("Outputs");
              if (child_outputs == nullptr || !child_outputs->is_object() ||
                  !child_outputs->as_object().contains(r.attribute.substr(8)))
                gone.emplace_back(item.key());
            }
        });
      for (const auto& key : gone) {
        if (form == &out.body)
          out.warnings.push_back(fmt::format(
              "output {} is not in the stack: it names an output its nested stack cannot have "
              "(a value of what wisp deploys itself)",
              key));
        outputs->as_object().erase(key);
      }
      if (outputs->as_object().empty())
        form->erase("Outputs");
    }
  }
  for (auto& [key, p] : added)
    if (std::none_of(out.parameters.begin(), out.parameters.end(),
                     [&](const Parameter& q) { return q.key == key; }))
      out.parameters.push_back(p);
  return {};
}

} // namespace wisp::infra::detail
