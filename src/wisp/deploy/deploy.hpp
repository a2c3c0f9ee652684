#pragma once
// wisp deploy and its companions: push an app to an AWS-compatible backend directly through
// the service APIs — plan first (desired state against the backend's actual state), apply
// only the changes, then shift each stage alias's traffic per DeploymentPreference, watching
// alarms and rolling back. And: deploy status, promote, rollback, delete.
//
// Guarantees:
// - A deploy whose plan has no changes makes no mutating call (not even a lock).
// - Aliases move last: until traffic shifts, the old versions serve; an interrupted shift
//   (cancel) returns every alias to its old version; the stage state in the bucket records
//   an unfinished shift so promote/rollback can finish it after a crash.
// - Everything written is read back and compared (code digests, alias routing, API stages).
// - Two deploys to one stage cannot interleave (a lock object in the bucket).

#include <wisp/artifact/build.hpp>
#include <wisp/aws/client.hpp>
#include <wisp/support/error.hpp>
#include <wisp/support/terminal.hpp>
#include <wisp/template/model.hpp>

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wisp::deploy {

enum class Action { create, update, unchanged, remove };

struct Change {
  Action action = Action::unchanged;
  std::string kind; // bucket, artifact, role, alarm, function, alias, permission, api, stage
  std::string name;
  std::vector<std::string> details; // never values of environment variables
};

struct Plan {
  std::string stack;
  std::string stage;
  std::string region;
  std::string bucket;
  std::string prefix;
  std::vector<Change> changes;
  [[nodiscard]] bool has_changes() const;
  [[nodiscard]] std::size_t count(Action action) const;
};

// "  + function  app-Hello  code 1a2b3c4d (1.2 KiB)" lines and a summary line.
std::string render_plan(const Plan& plan, const support::Style& style);
boost::json::object plan_to_json(const Plan& plan);

// Where an app's artifacts and state live.
struct Target {
  std::string stack;
  std::string stage;       // empty: deploy derives it; other commands need it or one stage
  std::string bucket;      // --s3-bucket
  bool resolve_s3 = false; // --resolve-s3: wisp's managed bucket for the account and region
  std::string prefix;      // --s3-prefix; empty: the stack name
  bool break_lock = false;
};

// Progress and results as they happen. Lines are complete sentences without a newline.
class Reporter {
public:
  Reporter() = default;
  virtual ~Reporter() = default;
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;
  virtual void plan(const Plan& plan) = 0;        // once, before anything changes
  virtual void step(std::string_view line) = 0;   // something done ("created function x")
  virtual void status(std::string_view line) = 0; // transient (redrawn in place on a TTY)
  virtual void warning(std::string_view line) = 0;
};

struct Endpoint {
  std::string api;  // logical id
  std::string kind; // rest | http
  std::string stage;
  std::string url;
};

// Where images built from the template (PackageType Image with Metadata DockerContext) are
// pushed, as SAM's --image-repository / --image-repositories.
struct ImageTarget {
  std::string repository;                          // registry/repository, for every function
  std::map<std::string, std::string> repositories; // by logical id (wins over `repository`)
  bool insecure = false; // plain HTTP to the registry (loopback test registries)
};

struct DeployOptions {
  Target target;
  ImageTarget images;
  bool dry_run = false;
  std::optional<std::chrono::milliseconds> step_interval;
  unsigned max_parallel = 8;
  std::map<std::string, std::string> tags;
  std::string git_commit; // recorded in the state when known
  std::string account;    // the account id when the caller knows it (else STS is asked)
  // Re-read roles and invoke permissions from the backend even when the state records them
  // as they should be (they are otherwise trusted, to keep no-change deploys fast).
  bool refresh = false;
  // Asked after the plan when set (--confirm-changeset); false cancels.
  std::function<bool(const Plan&)> confirm;
  const std::atomic<bool>* cancel = nullptr; // set on Ctrl-C
};

struct DeployResult {
  Plan plan;
  // no-change | dry-run | cancelled | deployed | rolled-back | interrupted
  std::string status;
  std::string message;                         // why (e.g. the alarm that fired)
  std::map<std::string, std::string> versions; // function logical id → version the alias serves
  std::vector<Endpoint> endpoints;
  std::vector<std::string> warnings;
  long calls = 0;
  long mutating_calls = 0;
  std::chrono::milliseconds duration{};
  [[nodiscard]] bool ok() const {
    return status == "no-change" || status == "dry-run" || status == "deployed" ||
           status == "cancelled";
  }
};

support::Result<DeployResult> deploy(const sam::Model& model,
                                     const artifact::BuildReport& artifacts,
                                     std::shared_ptr<const aws::Client> client,
                                     const DeployOptions& options, Reporter& reporter);

// --- status / promote / rollback / delete ---

struct FunctionStatus {
  std::string logical_id;
  std::string name;
  std::string alias;
  std::string version;                   // the alias's primary version (live)
  std::map<std::string, double> weights; // live routing
  std::string recorded_version;          // what the state says
  std::string previous_version;
};

struct StageStatus {
  std::string stack;
  std::string stage;
  std::string status; // from the state object
  std::string updated;
  std::string git_commit;
  bool locked = false;
  std::string lock_owner;
  std::vector<FunctionStatus> functions;
  std::vector<Endpoint> endpoints;
  boost::json::array history;      // recorded deployments, newest last
  std::vector<std::string> stages; // every stage of the app
};

struct StageOptions {
  Target target;
  const std::atomic<bool>* cancel = nullptr;
};

support::Result<StageStatus> stage_status(std::shared_ptr<const aws::Client> client,
                                          const Target& target);
boost::json::object status_to_json(const StageStatus& status);

// Finishes an unfinished shift now (every alias to its new version, routing cleared, API
// canaries promoted).
support::Result<DeployResult> promote(std::shared_ptr<const aws::Client> client,
                                      const StageOptions& options, Reporter& reporter);

struct RollbackOptions {
  StageOptions stage;
  std::string to_version; // empty: each function's previous version
  std::string function;   // logical id; needed with to_version when the app has several
};
support::Result<DeployResult> rollback(std::shared_ptr<const aws::Client> client,
                                       const RollbackOptions& options, Reporter& reporter);

struct DeleteOptions {
  Target target; // stage set: only that stage; empty: the whole app
};
struct DeleteResult {
  std::vector<std::string> deleted;  // "function app-Hello", ...
  std::vector<std::string> retained; // resources the stack kept (DeletionPolicy Retain)
  std::vector<std::string> warnings;
};
// What delete would remove (for the confirmation prompt).
support::Result<std::vector<std::string>> delete_preview(std::shared_ptr<const aws::Client> client,
                                                         const DeleteOptions& options);
support::Result<DeleteResult> remove(std::shared_ptr<const aws::Client> client,
                                     const DeleteOptions& options, Reporter& reporter);

// The managed bucket --resolve-s3 uses: wisp-managed-<account>-<region>.
std::string managed_bucket_name(std::string_view account, std::string_view region);

} // namespace wisp::deploy
