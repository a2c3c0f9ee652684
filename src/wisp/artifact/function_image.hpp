#pragma once
// A function as an OCI image (PackageType: Image, or `package --format oci`): its built
// code at /var/task, the template layers it uses at /opt, on an optional base image.
//
// Entrypoint: ImageConfig.EntryPoint when given; else the base image's when it has one
// (AWS's Lambda base images do); else wisp adds a layer with its own Runtime API client at
// /var/runtime (the bootstraps the local runtime uses) and a /var/runtime/bootstrap entry
// script — python3 or node must then come from the base image; for provided* the entry is
// /var/task/bootstrap. Cmd: ImageConfig.Command, else the handler (as Lambda's base
// images expect). WorkingDir /var/task. PackageType Image functions take their code from
// Metadata.DockerContext (the Dockerfile itself is not interpreted).

#include <wisp/artifact/build.hpp>
#include <wisp/artifact/image.hpp>
#include <wisp/template/model.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace wisp::artifact {

struct FunctionImageOptions {
  std::string base; // an OCI layout ("DIR", "DIR:TAG", "oci:DIR:TAG"); empty: none
  std::string tag;  // empty: the logical id in lower case
  std::optional<std::int64_t> timestamp;
};

support::Result<ImageResult>
build_function_image(const sam::Model& model, const sam::Function& function,
                     const BuildReport& report, const std::filesystem::path& layout,
                     const FunctionImageOptions& options, std::vector<std::string>& warnings);

} // namespace wisp::artifact
