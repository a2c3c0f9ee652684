#pragma once
// Deploying an infrastructure template as a CloudFormation stack through change sets:
// CreateChangeSet → DescribeChangeSet → ExecuteChangeSet → wait, reporting each resource's
// progress and, on failure, the first failed resource and the backend's reason.
//
// Contract:
// - `read_stack` makes no mutating call; `unchanged()` compares the stack's template (as
//   CloudFormation keeps it) and parameters with the desired ones: a deploy that finds them
//   equal makes no CloudFormation call that mutates.
// - A stack left mid-way by an earlier deploy is recovered first: an operation in progress is
//   waited for, UPDATE_ROLLBACK_FAILED is continued (ContinueUpdateRollback), a stack whose
//   creation rolled back (ROLLBACK_COMPLETE) is deleted and created again, change sets of an
//   interrupted deploy are deleted.
// - Cancel (Ctrl-C) before execution deletes the change set; during an update it cancels the
//   update (CloudFormation rolls back) and waits for the rollback.
// - Templates larger than CloudFormation's inline limit are uploaded to the artifact bucket.

#include <wisp/aws/client.hpp>
#include <wisp/infra/infra.hpp>
#include <wisp/support/error.hpp>

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wisp::infra {

struct StackState {
  bool exists = false;
  std::string id;
  std::string status; // CREATE_COMPLETE, UPDATE_ROLLBACK_FAILED, ...
  std::string status_reason;
  std::map<std::string, std::string> parameters; // as reported (NoEcho values masked)
  std::map<std::string, std::string> outputs;
  std::map<std::string, std::string> tags;
  std::optional<boost::json::value> template_body; // read when the stack exists
};

// DescribeStacks (+ GetTemplate when it exists). Not found → exists = false.
support::Result<StackState> read_stack(const aws::Client& client, const std::string& name);

// True when the stack holds exactly `body` with `parameters` and is in a state that needs
// nothing (a *_COMPLETE state other than ROLLBACK_COMPLETE).
bool unchanged(const StackState& state, const boost::json::object& body,
               const std::vector<Parameter>& parameters);

struct ResourceChange {
  std::string action; // Add | Modify | Remove | Import | Dynamic
  std::string logical_id;
  std::string type;
  std::string replacement; // True | False | Conditional | empty
};

struct StackProgress {
  std::function<void(std::string_view)> step;   // a line per finished resource
  std::function<void(std::string_view)> status; // transient
  std::function<void(std::string_view)> warning;
};

struct StackOptions {
  std::string name;
  boost::json::object body;
  std::vector<Parameter> parameters;
  std::map<std::string, std::string> tags;
  std::map<std::string, sam::SourceRef> sources; // for error positions
  bool dry_run = false; // create and describe the change set, then delete it
  std::string bucket;   // where a large template is uploaded
  std::string prefix;
  std::chrono::seconds timeout{3600};
  const std::atomic<bool>* cancel = nullptr;
};

struct StackResult {
  bool changed = false; // a change set was executed (or, dry run, would be)
  std::vector<ResourceChange> changes;
  std::map<std::string, std::string> outputs;
  std::string status;
};

support::Result<StackResult> deploy_stack(const aws::Client& client, StackState state,
                                          const StackOptions& options,
                                          const StackProgress& progress);

// The values of `exports` after a deploy: from the stack's outputs, else (a backend that
// computes no outputs for change sets, as moto) from the physical ids of the stack's
// resources, with ARNs derived from them. Error naming what cannot be found.
support::Result<std::map<std::string, std::string>>
export_values(const aws::Client& client, const std::string& stack, const StackState& state,
              const std::vector<Export>& exports, const std::string& region,
              const std::string& account, std::vector<std::string>& warnings);

struct DeletedStack {
  bool existed = false;
  std::vector<std::string> retained; // "Table (AWS::DynamoDB::Table) table-name"
};
// DeleteStack and wait; the resources CloudFormation keeps (DeletionPolicy Retain) are listed.
support::Result<DeletedStack> delete_stack(const aws::Client& client, const std::string& name,
                                           const StackProgress& progress,
                                           const std::atomic<bool>* cancel = nullptr);

// "Change set changes" lines for a plan: "+ Queue (AWS::SQS::Queue)".
std::string describe_change(const ResourceChange& change);

} // namespace wisp::infra
