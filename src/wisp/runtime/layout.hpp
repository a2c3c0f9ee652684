#pragma once
// Lambda's file layout for a worker (internal to the runtime area), on Linux, without root:
// the worker starts in a new user namespace (its own user id mapped to itself) with a new
// mount namespace, where
//   /var/task                 the function's code (read-only bind of CodeUri)
//   /var/runtime              wisp's bootstrap (read-only), with node_modules: the runtime's
//                             libraries (the AWS SDK for JavaScript v3)
//   /var/lang/lib/python3.X/site-packages   the python runtime's libraries (boto3)
//   /var/node_modules         symbolic links to what /opt/nodejs/nodeNN/node_modules,
//                             /opt/nodejs/node_modules and /var/runtime/node_modules hold, in
//                             that order: node's own search then finds them for ES modules
//                             as Lambda's runtimes do
//   /opt                      the layers merged in template order (a later layer's file wins;
//                             read-only binds on an otherwise empty read-only tmpfs)
//   /tmp                      a private tmpfs of EphemeralStorage MB, per worker
// and every other path is the host's (the rest of /var is bound back; a host interpreter that
// lives under /opt or /tmp is bound back too). The plan is computed once per function, in the
// parent (allocations, directory listings); the child between clone and exec only makes
// system calls.

#include <wisp/runtime/process.hpp>
#include <wisp/support/error.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace wisp::runtime::detail {

struct LayoutInputs {
  std::string function_id;
  std::filesystem::path code_dir;
  std::vector<std::filesystem::path> layer_dirs; // template order
  std::filesystem::path runtime_dir;             // → /var/runtime; empty: an empty directory
  std::filesystem::path node_modules;            // → /var/runtime/node_modules; may be empty
  std::filesystem::path python_libs;             // → /var/lang/lib/python3.<minor>/site-packages
  int python_minor = 0;
  int node_major = 0;                // > 0: build /var/node_modules
  std::filesystem::path interpreter; // kept visible when it lives under /opt or /tmp
  int tmp_size_mb = 512;
};

struct LayoutPlan; // opaque: the operations the child runs

// Plans the layout. Fails for what cannot be laid out (no /var on this machine, a layer
// symlink that leaves its layer: the message names the function and the file).
support::Result<std::shared_ptr<const LayoutPlan>> plan_layout(const LayoutInputs& inputs);

// Starts a worker like spawn_worker, inside the planned layout. `spec` paths are those seen
// inside it (/var/task, /var/runtime/...). Fails with the step the OS refused.
support::Result<Spawned> spawn_in_layout(const SpawnSpec& spec, const LayoutPlan& plan);

// True when the layout's /opt holds the layers (the machine has a /opt directory).
bool layout_has_opt(const LayoutPlan& plan);

} // namespace wisp::runtime::detail
