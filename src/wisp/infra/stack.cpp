// CloudFormation through its query API: read, compare, change sets, wait, recover, delete.

#include <wisp/infra/stack.hpp>

#include <wisp/aws/s3.hpp>
#include <wisp/infra/detail.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace wisp::infra {

namespace json = boost::json;
using aws::Service;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view k_version = "2010-05-15";
constexpr std::size_t k_inline_template_max = 51'200;

aws::AwsResult<aws::XmlNode> call(const aws::Client& client, std::string_view action,
                                  const aws::Query& parameters) {
  return client.query(Service::cloudformation, action, k_version, parameters);
}

// The element holding an action's result: <ActionResponse><ActionResult>.
const aws::XmlNode* result_of(const aws::XmlNode& root, std::string_view action) {
  return root.find(fmt::format("{}Result", action));
}

bool stack_missing(const aws::ServiceError& error) {
  return error.code == "ValidationError" &&
         error.message.find("does not exist") != std::string::npos;
}

std::string canonical(const json::value& value) {
  // Key order does not matter to CloudFormation; compare sorted.
  return detail::pretty_sorted_json(value);
}

bool in_progress(std::string_view status) {
  return status.ends_with("_IN_PROGRESS") && status != "REVIEW_IN_PROGRESS";
}

bool succeeded(std::string_view status) {
  return status == "CREATE_COMPLETE" || status == "UPDATE_COMPLETE" || status == "IMPORT_COMPLETE";
}

struct Event {
  std::string id;
  std::string logical_id;
  std::string type;
  std::string status;
  std::string reason;
  std::string physical_id;
};

// Events newer than `since_id` (exclusive), oldest first. Empty `since_id`: the newest page.
support::Result<std::vector<Event>>
events_since(const aws::Client& client, const std::string& stack, const std::string& since_id) {
  std::vector<Event> out;
  std::string token;
  for (int page = 0; page < 20; ++page) {
    aws::Query q{{"StackName", stack}};
    if (!token.empty())
      q.emplace_back("NextToken", token);
    WISP_TRY_ASSIGN(auto root, call(client, "DescribeStackEvents", q));
    const auto* result = result_of(root, "DescribeStackEvents");
    if (result == nullptr)
      break;
    bool reached = false;
    if (const auto* events = result->child("StackEvents"))
      for (const auto* member : events->all("member")) {
        Event e{member->text_at("EventId"),
                member->text_at("LogicalResourceId"),
                member->text_at("ResourceType"),
                member->text_at("ResourceStatus"),
                member->text_at("ResourceStatusReason"),
                member->text_at("PhysicalResourceId")};
        if (!since_id.empty() && e.id == since_id) {
          reached = true;
          break;
        }
        out.push_back(std::move(e));
      }
    token = result->text_at("NextToken");
    if (reached || token.empty() || since_id.empty())
      break;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string where(const StackOptions& options, const std::string& logical_id) {
  auto it = options.sources.find(logical_id);
  return it == options.sources.end() ? std::string() : detail::source_prefix(it->second);
}

// The first failure among `events` (cancellations caused by it skipped).
std::optional<Event> first_failure(const std::vector<Event>& events, const std::string& stack) {
  for (const auto& e : events) {
    if (!e.status.ends_with("_FAILED") || e.logical_id == stack)
      continue;
    if (e.reason.find("cancelled") != std::string::npos)
      continue;
    return e;
  }
  for (const auto& e : events)
    if (e.status.ends_with("_FAILED"))
      return e;
  return std::nullopt;
}

void sleep_a_while(int& round) {
  const auto ms = std::min(2000, 100 * (1 << std::min(round, 5)));
  ++round;
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

struct Waited {
  std::string status;
  std::string reason;
  std::vector<Event> events; // all seen while waiting, oldest first
};

// Waits until the stack leaves *_IN_PROGRESS, reporting each resource's events.
support::Result<Waited> wait_for(const aws::Client& client, const std::string& stack,
                                 std::string since_id, const StackProgress& progress,
                                 std::chrono::seconds timeout, const std::atomic<bool>* cancel,
                                 const std::function<void()>& on_cancel) {
  Waited w;
  const auto deadline = Clock::now() + timeout;
  int round = 0;
  bool cancelled = false;
  for (;;) {
    WISP_TRY_ASSIGN(auto events, events_since(client, stack, since_id));
    for (auto& e : events) {
      since_id = e.id;
      if (e.logical_id != stack) {
        const auto line = fmt::format("{} {} ({}){}", e.status, e.logical_id, e.type,
                                      e.reason.empty() ? "" : ": " + e.reason);
        if (e.status.ends_with("_IN_PROGRESS")) {
          if (progress.status)
            progress.status(line);
        } else if (progress.step) {
          progress.step(line);
        }
      }
      w.events.push_back(std::move(e));
    }
    WISP_TRY_ASSIGN(auto state, read_stack(client, stack));
    if (!state.exists) {
      w.status = "DELETE_COMPLETE";
      return w;
    }
    w.status = state.status;
    w.reason = state.status_reason;
    if (!in_progress(state.status))
      return w;
    if (!cancelled && cancel != nullptr && cancel->load()) {
      cancelled = true;
      if (on_cancel)
        on_cancel();
    }
    if (Clock::now() > deadline)
      return support::failf("stack {} is still {} after {} s", stack, state.status,
                            timeout.count());
    if (progress.status)
      progress.status(fmt::format("stack {}: {}", stack, state.status));
    sleep_a_while(round);
  }
}

std::string newest_event_id(const aws::Client& client, const std::string& stack) {
  auto events = events_since(client, stack, "");
  if (!events || events->empty())
    return {};
  return events->back().id;
}

support::Result<std::vector<ResourceChange>>
describe_changes(const aws::Client& client, const std::string& stack, const std::string& change_set,
                 std::string& status, std::string& reason) {
  std::vector<ResourceChange> changes;
  std::string token;
  for (int page = 0; page < 50; ++page) {
    aws::Query q{{"StackName", stack}, {"ChangeSetName", change_set}};
    if (!token.empty())
      q.emplace_back("NextToken", token);
    WISP_TRY_ASSIGN(auto root, call(client, "DescribeChangeSet", q));
    const auto* result = result_of(root, "DescribeChangeSet");
    if (result == nullptr)
      return support::failf("cloudformation DescribeChangeSet: no result in the answer");
    status = result->text_at("Status");
    reason = result->text_at("StatusReason");
    if (const auto* list = result->child("Changes"))
      for (const auto* member : list->all("member")) {
        const auto* rc = member->child("ResourceChange");
        if (rc == nullptr)
          continue;
        changes.push_back({rc->text_at("Action"), rc->text_at("LogicalResourceId"),
                           rc->text_at("ResourceType"), rc->text_at("Replacement")});
      }
    token = result->text_at("NextToken");
    if (token.empty())
      break;
  }
  return changes;
}

bool no_changes_reason(std::string_view reason) {
  return reason.find("didn't contain changes") != std::string::npos ||
         reason.find("No updates are to be performed") != std::string::npos;
}

} // namespace

std::string describe_change(const ResourceChange& change) {
  const char* sign = change.action == "Add" ? "+" : change.action == "Remove" ? "-" : "~";
  return fmt::format("{} {} ({}){}", sign, change.logical_id, change.type,
                     change.replacement == "True" ? ", replaced" : "");
}

support::Result<StackState> read_stack(const aws::Client& client, const std::string& name) {
  StackState state;
  auto root = call(client, "DescribeStacks", {{"StackName", name}});
  if (!root) {
    if (stack_missing(root.error()))
      return state;
    return tl::unexpected(support::Error(root.error()));
  }
  const auto* result = result_of(*root, "DescribeStacks");
  const auto* stacks = result != nullptr ? result->child("Stacks") : nullptr;
  const aws::XmlNode* stack = nullptr;
  if (stacks != nullptr)
    for (const auto* member : stacks->all("member"))
      if (member->text_at("StackStatus") != "DELETE_COMPLETE")
        stack = member;
  if (stack == nullptr)
    return state;
  state.exists = true;
  state.id = stack->text_at("StackId");
  state.status = stack->text_at("StackStatus");
  state.status_reason = stack->text_at("StackStatusReason");
  if (const auto* list = stack->child("Parameters"))
    for (const auto* m : list->all("member"))
      state.parameters[m->text_at("ParameterKey")] = m->text_at("ParameterValue");
  if (const auto* list = stack->child("Outputs"))
    for (const auto* m : list->all("member"))
      state.outputs[m->text_at("OutputKey")] = m->text_at("OutputValue");
  if (const auto* list = stack->child("Tags"))
    for (const auto* m : list->all("member"))
      state.tags[m->text_at("Key")] = m->text_at("Value");
  if (state.status != "REVIEW_IN_PROGRESS") {
    auto got = call(client, "GetTemplate", {{"StackName", name}, {"TemplateStage", "Original"}});
    if (!got)
      return tl::unexpected(support::Error(got.error()));
    if (const auto* r = result_of(*got, "GetTemplate")) {
      boost::system::error_code ec;
      auto body = json::parse(r->text_at("TemplateBody"), ec);
      if (!ec)
        state.template_body = std::move(body);
    }
  }
  return state;
}

bool unchanged(const StackState& state, const json::object& body,
               const std::vector<Parameter>& parameters) {
  if (!state.exists || !state.template_body || !succeeded(state.status))
    return false;
  if (canonical(*state.template_body) != canonical(body))
    return false;
  const json::object* wanted = nullptr;
  if (const auto* d = body.if_contains("Parameters"); d != nullptr && d->is_object())
    wanted = &d->as_object();
  std::size_t declared = 0;
  for (const auto& p : parameters) {
    if (wanted == nullptr || !wanted->contains(p.key))
      continue;
    ++declared;
    auto it = state.parameters.find(p.key);
    if (it == state.parameters.end())
      return false;
    if (!p.no_echo && it->second != p.value)
      return false;
  }
  return declared == state.parameters.size();
}

support::Result<StackResult> deploy_stack(const aws::Client& client, StackState state,
                                          const StackOptions& options,
                                          const StackProgress& progress) {
  const auto& name = options.name;
  const auto say = [&](const std::string& line) {
    if (progress.step)
      progress.step(line);
  };
  const auto warn = [&](const std::string& line) {
    if (progress.warning)
      progress.warning(line);
  };
  const auto cancelled = [&] { return options.cancel != nullptr && options.cancel->load(); };

  // Recover what an earlier deploy left.
  for (int attempt = 0; state.exists && attempt < 5; ++attempt) {
    if (in_progress(state.status)) {
      say(fmt::format("stack {} is {} (an earlier deploy); waiting for it", name, state.status));
      WISP_TRY_ASSIGN(auto w, wait_for(client, name, newest_event_id(client, name), progress,
                                       options.timeout, nullptr, nullptr));
      (void)w;
    } else if (state.status == "UPDATE_ROLLBACK_FAILED") {
      if (options.dry_run)
        break;
      say(fmt::format("stack {} is UPDATE_ROLLBACK_FAILED ({}); continuing its rollback", name,
                      state.status_reason));
      const auto since = newest_event_id(client, name);
      WISP_TRY(call(client, "ContinueUpdateRollback", {{"StackName", name}}));
      WISP_TRY_ASSIGN(auto w,
                      wait_for(client, name, since, progress, options.timeout, nullptr, nullptr));
      if (w.status != "UPDATE_ROLLBACK_COMPLETE") {
        std::string detail;
        if (auto f = first_failure(w.events, name))
          detail = fmt::format(": {}{} ({}): {}", where(options, f->logical_id), f->logical_id,
                               f->type, f->reason);
        return support::failf("stack {} could not be rolled back ({}){}; fix the resource by "
                              "hand (or delete it) and deploy again",
                              name, w.status, detail);
      }
    } else if (state.status == "ROLLBACK_COMPLETE" || state.status == "ROLLBACK_FAILED" ||
               state.status == "CREATE_FAILED") {
      if (options.dry_run) {
        state.exists = false;
        break;
      }
      warn(fmt::format("stack {} is {} (its creation failed earlier); deleting it to create it "
                       "again",
                       name, state.status));
      WISP_TRY(delete_stack(client, name, progress));
    } else if (state.status == "DELETE_FAILED") {
      return support::failf("stack {} is DELETE_FAILED ({}): delete it (aws cloudformation "
                            "delete-stack) and deploy again",
                            name, state.status_reason);
    } else {
      break;
    }
    WISP_TRY_ASSIGN(state, read_stack(client, name));
  }

  const bool create = !state.exists || state.status == "REVIEW_IN_PROGRESS";
  StackResult result;
  // Change sets an interrupted deploy or a dry run left behind.
  if (state.exists) {
    auto listed = call(client, "ListChangeSets", {{"StackName", name}});
    if (listed)
      if (const auto* r = result_of(*listed, "ListChangeSets"))
        if (const auto* list = r->child("Summaries"))
          for (const auto* m : list->all("member"))
            if (m->text_at("ChangeSetName").starts_with("wisp-") &&
                m->text_at("ExecutionStatus") != "EXECUTE_IN_PROGRESS")
              (void)call(client, "DeleteChangeSet",
                         {{"StackName", name}, {"ChangeSetName", m->text_at("ChangeSetId")}});
  }

  // The change set.
  const auto body_text = json::serialize(options.body);
  aws::Query q{{"StackName", name},
               {"ChangeSetName",
                fmt::format("wisp-{}", std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count())},
               {"ChangeSetType", create ? "CREATE" : "UPDATE"},
               {"Description", "wisp deploy"}};
  if (body_text.size() <= k_inline_template_max || options.bucket.empty()) {
    q.emplace_back("TemplateBody", body_text);
  } else {
    const auto key = fmt::format("{}{}templates/{}.json", options.prefix,
                                 options.prefix.empty() ? "" : "/", support::sha256_hex(body_text));
    aws::s3::PutOptions put;
    put.content_type = "application/json";
    WISP_TRY(aws::s3::put_object(client, options.bucket, key, body_text, put));
    q.emplace_back("TemplateURL",
                   fmt::format("{}/{}/{}", client.endpoint(Service::s3), options.bucket, key));
  }
  // Only what this template declares (the early template declares fewer).
  const json::object* declared = nullptr;
  if (const auto* d = options.body.if_contains("Parameters"); d != nullptr && d->is_object())
    declared = &d->as_object();
  int n = 1;
  for (const auto& p : options.parameters) {
    if (declared == nullptr || !declared->contains(p.key))
      continue;
    q.emplace_back(fmt::format("Parameters.member.{}.ParameterKey", n), p.key);
    q.emplace_back(fmt::format("Parameters.member.{}.ParameterValue", n), p.value);
    ++n;
  }
  n = 1;
  for (const char* capability :
       {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"})
    q.emplace_back(fmt::format("Capabilities.member.{}", n++), capability);
  n = 1;
  for (const auto& [key, value] : options.tags) {
    q.emplace_back(fmt::format("Tags.member.{}.Key", n), key);
    q.emplace_back(fmt::format("Tags.member.{}.Value", n), value);
    ++n;
  }
  WISP_TRY_ASSIGN(auto created, call(client, "CreateChangeSet", q));
  const auto* created_result = result_of(created, "CreateChangeSet");
  const auto change_set = created_result != nullptr ? created_result->text_at("Id") : std::string();
  if (change_set.empty())
    return support::failf("cloudformation CreateChangeSet: no change set id in the answer");
  const auto remove_change_set = [&] {
    (void)call(client, "DeleteChangeSet", {{"StackName", name}, {"ChangeSetName", change_set}});
    if (create) // the stack exists only as the change set's holder: it goes too
      (void)call(client, "DeleteStack", {{"StackName", name}});
  };

  std::string status;
  std::string reason;
  std::vector<ResourceChange> changes;
  for (int round = 0;;) {
    WISP_TRY_ASSIGN(changes, describe_changes(client, name, change_set, status, reason));
    if (status == "CREATE_COMPLETE" || status == "FAILED")
      break;
    if (cancelled()) {
      remove_change_set();
      return support::failf("interrupted: change set deleted, stack {} unchanged", name);
    }
    sleep_a_while(round);
  }
  if (status == "FAILED") {
    if (no_changes_reason(reason)) {
      remove_change_set();
      result.status = state.status;
      result.outputs = state.outputs;
      return result;
    }
    remove_change_set();
    return support::failf("stack {}: the change set failed: {}", name, reason);
  }
  result.changes = changes;
  result.changed = true;
  if (options.dry_run) {
    remove_change_set();
    return result;
  }
  if (cancelled()) {
    remove_change_set();
    return support::failf("interrupted: change set deleted, stack {} unchanged", name);
  }
  for (const auto& change : changes)
    say(fmt::format("stack {}: {}", name, describe_change(change)));

  const auto since = state.exists ? newest_event_id(client, name) : std::string();
  auto executed =
      call(client, "ExecuteChangeSet", {{"StackName", name}, {"ChangeSetName", change_set}});
  if (!executed) {
    if (executed.error().code == "UnsupportedOperation")
      return support::failf(
          "stack {}: ExecuteChangeSet failed: the backend answered HTTP 500 (moto does when a "
          "resource of the change set fails; the reason is in its log)",
          name);
    return tl::unexpected(support::Error(executed.error()));
  }
  WISP_TRY_ASSIGN(
      auto w, wait_for(client, name, since, progress, options.timeout, options.cancel, [&] {
        if (!create) {
          warn(fmt::format("interrupted: cancelling the update of stack {} (CloudFormation rolls "
                           "it back)",
                           name));
          (void)call(client, "CancelUpdateStack", {{"StackName", name}});
        } else {
          warn(fmt::format("interrupted: the creation of stack {} goes on in the backend; the "
                           "next deploy waits for it",
                           name));
        }
      }));
  result.status = w.status;
  if (!succeeded(w.status)) {
    std::string detail = w.reason;
    if (auto f = first_failure(w.events, name))
      detail = fmt::format("{}{} ({}): {}", where(options, f->logical_id), f->logical_id, f->type,
                           f->reason);
    if (cancelled())
      return support::failf("interrupted: stack {} is {}", name, w.status);
    return support::failf("stack {} failed ({}): {}", name, w.status, detail);
  }
  if (cancelled())
    return support::failf("interrupted after stack {} reached {}", name, w.status);
  WISP_TRY_ASSIGN(auto after, read_stack(client, name));
  result.outputs = after.outputs;
  return result;
}

namespace {

// What a resource's Ref and common attributes are, from its physical id.
std::optional<std::string> derive(const std::string& type, const std::string& physical,
                                  const std::string& attribute, const std::string& region,
                                  const std::string& account) {
  const std::string partition = region.starts_with("cn-") ? "aws-cn" : "aws";
  if (attribute.empty())
    return physical;
  const auto last = [&](char separator) {
    const auto at = physical.rfind(separator);
    return at == std::string::npos ? physical : physical.substr(at + 1);
  };
  const auto arn = [&](std::string_view service, const std::string& rest) {
    return fmt::format("arn:{}:{}:{}:{}:{}", partition, service, region, account, rest);
  };
  if (type == "AWS::SQS::Queue") {
    if (attribute == "Arn")
      return arn("sqs", last('/'));
    if (attribute == "QueueName")
      return last('/');
    if (attribute == "QueueUrl")
      return physical;
  }
  if (type == "AWS::DynamoDB::Table" && attribute == "Arn")
    return arn("dynamodb", "table/" + physical);
  if (type == "AWS::S3::Bucket") {
    if (attribute == "Arn")
      return fmt::format("arn:{}:s3:::{}", partition, physical);
    if (attribute == "DomainName")
      return physical + ".s3.amazonaws.com";
  }
  if (type == "AWS::SNS::Topic") {
    if (attribute == "TopicArn")
      return physical;
    if (attribute == "TopicName")
      return last(':');
  }
  if (type == "AWS::Kinesis::Stream" && attribute == "Arn")
    return arn("kinesis", "stream/" + physical);
  if (type == "AWS::StepFunctions::StateMachine") {
    if (attribute == "Arn")
      return physical;
    if (attribute == "Name")
      return last(':');
  }
  if (type == "AWS::Events::EventBus") {
    if (attribute == "Arn")
      return arn("events", "event-bus/" + physical);
    if (attribute == "Name")
      return physical;
  }
  if (type == "AWS::Events::Rule" && attribute == "Arn")
    return arn("events", "rule/" + physical);
  if (type == "AWS::Logs::LogGroup" && attribute == "Arn")
    return arn("logs", "log-group:" + physical + ":*");
  if (type == "AWS::IAM::Role" && attribute == "Arn")
    return fmt::format("arn:{}:iam::{}:role/{}", partition, account, physical);
  if (type == "AWS::Lambda::Function" && attribute == "Arn")
    return arn("lambda", "function:" + physical);
  if (type == "AWS::KMS::Key" && attribute == "Arn")
    return arn("kms", "key/" + physical);
  if (type == "AWS::SecretsManager::Secret" && attribute == "Id")
    return physical;
  if (type == "AWS::EC2::SecurityGroup" && attribute == "GroupId")
    return physical;
  return std::nullopt;
}

} // namespace

support::Result<std::map<std::string, std::string>>
export_values(const aws::Client& client, const std::string& stack, const StackState& state,
              const std::vector<Export>& exports, const std::string& region,
              const std::string& account, std::vector<std::string>& warnings) {
  std::map<std::string, std::string> values;
  std::vector<const Export*> missing;
  for (const auto& e : exports) {
    auto it = state.outputs.find(e.output);
    if (it != state.outputs.end())
      values[e.output] = it->second;
    else
      missing.push_back(&e);
  }
  if (missing.empty())
    return values;
  // The backend computed no outputs (moto, for stacks made through change sets).
  std::map<std::string, std::string> physical;
  std::string token;
  for (int page = 0; page < 50; ++page) {
    aws::Query q{{"StackName", stack}};
    if (!token.empty())
      q.emplace_back("NextToken", token);
    WISP_TRY_ASSIGN(auto root, call(client, "ListStackResources", q));
    const auto* result = result_of(root, "ListStackResources");
    if (result == nullptr)
      break;
    if (const auto* list = result->child("StackResourceSummaries"))
      for (const auto* m : list->all("member"))
        if (!m->text_at("LogicalResourceId").empty())
          physical[m->text_at("LogicalResourceId")] = m->text_at("PhysicalResourceId");
    token = result->text_at("NextToken");
    if (token.empty())
      break;
  }
  bool derived = false;
  for (const auto* e : missing) {
    auto it = physical.find(e->logical_id);
    if (it == physical.end() || it->second.empty())
      return support::failf("stack {} has no output {} and no physical id for {} ({}): the "
                            "backend did not create it",
                            stack, e->output, e->logical_id, e->type);
    if (e->type == "AWS::CloudFormation::Stack" && e->attribute.starts_with("Outputs.")) {
      // A nested stack's output: read from the nested stack itself.
      WISP_TRY_ASSIGN(auto nested, read_stack(client, it->second));
      const auto name = e->attribute.substr(8);
      auto found = nested.outputs.find(name);
      if (!nested.exists || found == nested.outputs.end()) {
        std::string reported;
        for (const auto& [key, value] : nested.outputs)
          reported += (reported.empty() ? "" : ", ") + key;
        return support::failf("nested stack {} ({} of stack {}) reports no output {} (it reports "
                              "{}): the backend did not compute it (did it create the resource "
                              "the output names?)",
                              it->second, e->logical_id, stack, name,
                              reported.empty() ? "none" : reported);
      }
      values[e->output] = found->second;
      continue;
    }
    auto value = derive(e->type, it->second, e->attribute, region, account);
    if (!value)
      return support::failf("stack {} has no output {}, and wisp cannot derive {}.{} of a {} from "
                            "its physical id",
                            stack, e->output, e->logical_id, e->attribute, e->type);
    values[e->output] = *value;
    derived = true;
  }
  if (derived)
    warnings.push_back(fmt::format("stack {} reports no outputs (moto computes none for stacks "
                                   "deployed through change sets); wisp derived the values it "
                                   "needs from the stack's resources",
                                   stack));
  return values;
}

support::Result<DeletedStack> delete_stack(const aws::Client& client, const std::string& name,
                                           const StackProgress& progress,
                                           const std::atomic<bool>* cancel) {
  DeletedStack out;
  WISP_TRY_ASSIGN(auto state, read_stack(client, name));
  if (!state.exists)
    return out;
  out.existed = true;
  // What CloudFormation keeps.
  if (state.template_body && state.template_body->is_object())
    if (const auto* resources = state.template_body->as_object().if_contains("Resources");
        resources && resources->is_object()) {
      std::map<std::string, std::string> physical;
      if (auto listed = call(client, "ListStackResources", {{"StackName", name}}))
        if (const auto* r = result_of(*listed, "ListStackResources"))
          if (const auto* list = r->child("StackResourceSummaries"))
            for (const auto* m : list->all("member"))
              physical[m->text_at("LogicalResourceId")] = m->text_at("PhysicalResourceId");
      for (const auto& item : resources->as_object()) {
        if (!item.value().is_object())
          continue;
        const auto* policy = item.value().as_object().if_contains("DeletionPolicy");
        if (policy == nullptr || !policy->is_string() || policy->as_string() == "Delete")
          continue;
        const auto* type = item.value().as_object().if_contains("Type");
        out.retained.push_back(fmt::format(
            "{} ({}) {}", std::string_view(item.key()),
            type != nullptr && type->is_string() ? std::string_view(type->as_string()) : "",
            physical[std::string(item.key())]));
      }
    }
  const auto since = newest_event_id(client, name);
  WISP_TRY(call(client, "DeleteStack", {{"StackName", state.id.empty() ? name : state.id}}));
  WISP_TRY_ASSIGN(auto w, wait_for(client, state.id.empty() ? name : state.id, since, progress,
                                   std::chrono::seconds(3600), cancel, nullptr));
  if (w.status != "DELETE_COMPLETE") {
    std::string detail = w.reason;
    if (auto f = first_failure(w.events, name))
      detail = fmt::format("{} ({}): {}", f->logical_id, f->type, f->reason);
    return support::failf("stack {} was not deleted ({}): {}", name, w.status, detail);
  }
  return out;
}

} // namespace wisp::infra
