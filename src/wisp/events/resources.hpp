#pragma once
// The template's resources in the backend: which physical queue, topic, table, stream, bucket
// and event bus each logical id stands for, created when asked, and the values `!Ref` and
// `!GetAtt` give for them (a queue's URL, a table's stream ARN, ...).
//
// Contract
// - Names: the resource's own name property (QueueName, TopicName, TableName, Name,
//   BucketName) when given; else the name remembered for this backend (endpoint and region)
//   in <template dir>/.wisp/events/resources.json; else a new CloudFormation-style name
//   <app>-<LogicalId>-<SUFFIX>, remembered (written atomically) once created.
// - A resource missing in the backend is created only with `create_resources`; otherwise
//   binding fails with one error naming every missing resource.
// - Resources are created in dependency order (a queue's dead-letter queue first), with
//   references between them resolved to the backend's values.
// - `bind_model` returns the model with each function's environment variables that refer to
//   bound resources (or to functions) resolved to the real names/URLs/ARNs, and
//   AWS_ENDPOINT_URL set to the backend's endpoint unless the function sets it itself.

#include <wisp/events/backend.hpp>
#include <wisp/events/sources.hpp>
#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <boost/json/value.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wisp::events {

struct BoundResource {
  std::string logical_id;
  std::string type;
  std::string name;                              // physical name
  std::string ref;                               // what !Ref gives
  std::map<std::string, std::string> attributes; // what !GetAtt gives
  bool created = false;                          // created by this run
};

struct BindOptions {
  bool create_resources = false;
  std::string app_name;            // generated names' prefix; empty: the template's directory
  std::filesystem::path state_dir; // empty: <template dir>/.wisp/events
  std::string endpoint_url;        // given to functions as AWS_ENDPOINT_URL (empty: none)
  std::function<void(std::string_view)> info;
};

class Binding {
public:
  [[nodiscard]] const BoundResource* find(std::string_view logical_id) const;
  // The value of a reference: !Ref → ref, !GetAtt X.A → attribute A; literals as written.
  [[nodiscard]] std::optional<std::string> value(const ResourceTarget& target) const;
  // Evaluates Ref/GetAtt/Sub/Join/Select over bound resources in a resolved property value;
  // nullopt when something stays unknown.
  [[nodiscard]] std::optional<boost::json::value> resolve(const boost::json::value& value) const;

  [[nodiscard]] const std::map<std::string, BoundResource>& resources() const {
    return m_resources;
  }
  [[nodiscard]] const std::string& region() const { return m_region; }
  [[nodiscard]] const std::string& account() const { return m_account; }
  [[nodiscard]] const std::string& app_name() const { return m_app; }
  [[nodiscard]] const std::string& endpoint_url() const { return m_endpoint; }

  // Used while binding.
  void add(BoundResource resource);
  void set_context(std::string region, std::string account, std::string app, std::string endpoint);

private:
  std::map<std::string, BoundResource> m_resources;
  std::string m_region;
  std::string m_account;
  std::string m_app;
  std::string m_endpoint;
};

// Resource types bound (and created) in the backend.
bool bindable_type(std::string_view type);

support::Result<Binding> bind_resources(const sam::Model& model, const Backend& backend,
                                        const BindOptions& options);

// The model with functions' environment bound (see above).
sam::Model bind_model(const sam::Model& model, const Binding& binding);

// A name for wisp's own plumbing (queues, rules) that fits `limit` characters:
// wisp-<app>-<parts...>, shortened with a hash when too long.
std::string plumbing_name(const Binding& binding, const std::vector<std::string>& parts,
                          std::size_t limit);

} // namespace wisp::events
