#pragma once
// `wisp package` of nested stacks whose child templates hold code (src/wisp/infra/nested.cpp):
// a child that holds functions, layers, APIs or other SAM resources is packaged as
// `sam package` packages it — the caller uploads its artifacts and gives back its packaged text
// (SAM's Transform kept, CodeUri/ContentUri/... naming the uploads, its own nested stacks
// pointing at theirs) and the templates of its nested stacks to upload first.

#include <wisp/infra/infra.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace wisp::infra {

struct ChildToPackage {
  std::string logical_id;                   // path from the root: "Child", "Child/Grandchild"
  std::filesystem::path path;               // the child template
  std::string shown;                        // as shown in messages
  std::vector<std::filesystem::path> chain; // the templates above it and itself (cycles)
};

struct PackagedChild {
  std::string text;
  std::vector<NestedTemplate> templates; // its nested stacks' templates, to upload before it
};

using PackageChild = std::function<support::Result<PackagedChild>(const ChildToPackage&)>;

// nested_templates (infra.hpp), with a child that holds code packaged by `package_child`
// instead of refused. `stack_path`: the stack path of `model` (empty for the root, "Child" when
// packaging a child); `chain`: the templates above it (a template that includes itself is an
// error).
support::Result<NestedTemplates>
nested_templates(const sam::Model& model, const std::string& bucket, const std::string& prefix,
                 const std::string& region, const PackageChild& package_child,
                 const std::string& stack_path = {},
                 const std::vector<std::filesystem::path>& chain = {});

} // namespace wisp::infra
