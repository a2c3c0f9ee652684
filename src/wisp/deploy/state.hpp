#pragma once
// Deployment state and locks, kept in the backend (the artifact bucket), never only on the
// laptop:
//
//   <prefix>/<sha256>.zip               function code, content-addressed (as wisp package)
//   <prefix>/state/app.json             app-wide: functions, roles, APIs, alarms, stages
//   <prefix>/state/stages/<stage>.json  one stage: versions, digests, shift, history
//   <prefix>/locks/app.json             held while shared resources change
//   <prefix>/locks/stages/<stage>.json  held for a whole deploy/promote/rollback of a stage
//
// State objects are replaced atomically with conditional writes (If-Match the ETag read,
// If-None-Match for a new one), so a concurrent writer is detected instead of overwritten.
// A lock is an object created with If-None-Match: *; its holder renews it while working.
// A lock not renewed for its lease is stale: the next taker breaks it; `--break-lock`
// breaks a live one.

#include <wisp/aws/client.hpp>
#include <wisp/support/error.hpp>

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace wisp::deploy {

struct FunctionRecord {
  std::string name;             // physical function name
  std::string alias;            // the stage alias
  std::string version;          // what the alias serves (after the deploy)
  std::string previous_version; // what it served before (rollback target); may be empty
  std::string code_sha256;      // base64, as Lambda reports it
  std::string config_digest;    // of the desired configuration
  std::string deployment_preference;
  // Invoke permissions granted on the alias: "<statement id>=<API id>".
  std::vector<std::string> permissions;
};

struct ApiRecord {
  std::string id;
  std::string kind;  // rest | http
  std::string stage; // API Gateway stage name
  std::string deployment_id;
  std::string url;
};

struct ShiftRecord {
  std::string from;  // old version
  std::string to;    // new version
  double weight = 0; // on `to`, as last written
  std::string type;  // DeploymentPreference type
};

struct HistoryEntry {
  int id = 0; // 1, 2, ... per stage
  std::string time;
  std::string status; // deployed | rolled-back | interrupted | failed | promoted
  std::string git_commit;
  std::string message;
  std::map<std::string, std::string> versions; // logical id → version
};

struct StageState {
  std::string stack;
  std::string stage;
  std::string region;
  std::string status; // deployed | shifting | interrupted | rolled-back | failed
  std::string updated;
  std::string git_commit;
  std::map<std::string, FunctionRecord> functions; // by logical id
  std::map<std::string, ApiRecord> apis;           // by logical id
  std::map<std::string, ShiftRecord> shift;        // unfinished shift, by logical id
  std::vector<HistoryEntry> history;               // oldest first, at most 100

  [[nodiscard]] boost::json::object to_json() const;
  static support::Result<StageState> from_json(const boost::json::value& json);
};

struct RoleRecord {
  std::string name;
  std::string arn;
  std::string digest;
};

struct AppState {
  std::string stack;
  std::string region;
  std::map<std::string, std::string> functions; // logical id → physical name
  std::map<std::string, RoleRecord> roles;      // by logical id
  std::map<std::string, ApiRecord> apis;        // by logical id (id, kind; no stage)
  std::map<std::string, std::string> alarms;    // logical id → alarm name (wisp-made)
  std::map<std::string, std::string> layers;    // logical id → layer name (wisp publishes)
  std::vector<std::string> stages;
  std::vector<std::string> artifacts; // object keys wisp uploaded

  [[nodiscard]] boost::json::object to_json() const;
  static support::Result<AppState> from_json(const boost::json::value& json);
};

struct Location {
  std::string bucket;
  std::string prefix; // without trailing '/'
  [[nodiscard]] std::string key(std::string_view relative) const;
  [[nodiscard]] std::string artifact_key(std::string_view sha256_hex) const;
  [[nodiscard]] std::string stage_state_key(std::string_view stage) const;
  [[nodiscard]] std::string app_state_key() const;
  [[nodiscard]] std::string stage_lock_key(std::string_view stage) const;
  [[nodiscard]] std::string app_lock_key() const;
};

// A state object and the ETag it was read with (empty: it did not exist).
template <class T> struct Versioned {
  T value;
  std::string etag;
};

support::Result<std::optional<Versioned<StageState>>>
load_stage_state(const aws::Client& client, const Location& location, std::string_view stage);
support::Result<std::optional<Versioned<AppState>>> load_app_state(const aws::Client& client,
                                                                   const Location& location);
// Writes with If-Match `etag` (If-None-Match when empty); returns the new ETag. A
// concurrent change is an error naming the object.
support::Result<std::string> save_stage_state(const aws::Client& client, const Location& location,
                                              const StageState& state, const std::string& etag);
support::Result<std::string> save_app_state(const aws::Client& client, const Location& location,
                                            const AppState& state, const std::string& etag);

struct LockInfo {
  std::string id;
  std::string owner;   // user@host (pid N)
  std::string command; // deploy | promote | rollback | delete
  std::string created;
  std::string renewed;
  long long lease_seconds = 0;
  [[nodiscard]] bool stale(std::chrono::system_clock::time_point now) const;
};

// A held lock, renewed in the background until release() (or destruction).
class Lock {
public:
  ~Lock();
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  // Releases the lock (deletes the object if it is still ours).
  support::Status release();
  [[nodiscard]] const std::string& key() const { return m_key; }
  // True when a renewal found the lock taken by someone else.
  [[nodiscard]] bool lost() const { return m_lost; }

  struct Options {
    std::string command;
    bool break_lock = false;
    std::chrono::seconds lease{120};
    std::chrono::seconds renew_every{30};
  };
  static support::Result<std::unique_ptr<Lock>> acquire(std::shared_ptr<const aws::Client> client,
                                                        std::string bucket, std::string key,
                                                        std::string what, const Options& options);

private:
  Lock() = default;
  void renew_loop();

  std::shared_ptr<const aws::Client> m_client;
  std::string m_bucket;
  std::string m_key;
  LockInfo m_info;
  std::string m_etag;
  std::chrono::seconds m_lease{120};
  std::chrono::seconds m_renew_every{30};
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stop = false;
  std::atomic<bool> m_lost{false};
  bool m_released = false;
  std::thread m_renewer;
};

// ISO 8601 UTC with seconds: 2026-11-23T12:00:00Z.
std::string now_iso8601();
std::string format_iso8601(std::chrono::system_clock::time_point when);

} // namespace wisp::deploy
