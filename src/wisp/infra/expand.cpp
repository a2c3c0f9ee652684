// SAM's expansions into CloudFormation resources, as aws-sam-translator writes them:
// SimpleTable, StateMachine (role, events), and the event sources of functions (event source
// mappings, rules, schedules, subscriptions, notifications, with their permissions and roles).
// Functions are named through SAM's alias id ("<Function>Alias<alias>"), which generate.cpp
// turns into the stage alias parameter.

#include <wisp/infra/detail.hpp>
#include <wisp/support/strings.hpp>
#include <wisp/template/document.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace wisp::infra::detail {

namespace json = boost::json;

std::string ExpandContext::alias_id(const sam::Function& function) const {
  for (const auto& f : inputs.functions)
    if (f.logical_id == function.logical_id)
      return fmt::format("{}Alias{}", function.logical_id, alphanumeric(f.alias));
  return function.logical_id;
}

namespace {

json::object ref_to(std::string_view id) {
  return json::object{{"Ref", id}};
}

json::object getatt(std::string_view id, std::string_view attribute) {
  return json::object{{"Fn::GetAtt", json::array{json::value(id), json::value(attribute)}}};
}

const json::value* prop(const json::object& o, std::string_view key) {
  return o.if_contains(key);
}

void copy_if(const json::object& from, std::string_view key, json::object& to,
             std::string_view as = {}) {
  if (const auto* v = from.if_contains(key))
    to[as.empty() ? key : as] = *v;
}

json::object resource(std::string_view type, json::object properties) {
  return json::object{{"Type", type}, {"Properties", std::move(properties)}};
}

void add(ExpandContext& c, const std::string& id, json::object body, const sam::SourceRef& source) {
  c.resources[id] = std::move(body);
  c.sources[id] = source;
}

json::object assume_role(std::string_view service) {
  return json::object{
      {"Version", "2012-10-17"},
      {"Statement",
       json::array{json::object{
           {"Action", json::array{"sts:AssumeRole"}},
           {"Effect", "Allow"},
           {"Principal", json::object{{"Service", json::array{json::value(service)}}}}}}}};
}

json::object permission(const json::value& function, std::string_view principal,
                        std::optional<json::value> source_arn,
                        std::optional<json::value> source_account = std::nullopt) {
  json::object p{
      {"Action", "lambda:InvokeFunction"}, {"FunctionName", function}, {"Principal", principal}};
  if (source_arn)
    p["SourceArn"] = *source_arn;
  if (source_account)
    p["SourceAccount"] = *source_account;
  return resource("AWS::Lambda::Permission", std::move(p));
}

std::string target_id(const std::string& logical_id, std::string_view suffix) {
  constexpr std::size_t k_max = 64;
  if (logical_id.size() + suffix.size() <= k_max)
    return logical_id + std::string(suffix);
  return logical_id.substr(0, k_max - suffix.size()) + std::string(suffix);
}

// The State of a rule or schedule from State/Enabled (SAM refuses both).
support::Status state_of(const json::object& p, json::object& out, const std::string& id) {
  const auto* state = prop(p, "State");
  const auto* enabled = prop(p, "Enabled");
  if (state != nullptr && enabled != nullptr)
    return support::failf("{}: State and Enabled Properties cannot both be specified.", id);
  if (state != nullptr)
    out["State"] = *state;
  if (enabled != nullptr && enabled->is_bool())
    out["State"] = enabled->as_bool() ? "ENABLED" : "DISABLED";
  return {};
}

// DeadLetterConfig of a rule or schedule target: {Arn} as given; {Type: SQS} makes a queue
// and its policy, as SAM does.
support::Result<std::optional<json::value>>
dead_letter(const json::object& p, const std::string& id, const json::value& source_arn,
            ExpandContext& c, const sam::SourceRef& source) {
  const auto* config = prop(p, "DeadLetterConfig");
  if (config == nullptr)
    return std::nullopt;
  if (!config->is_object())
    return support::failf("{}: DeadLetterConfig must be a map", id);
  const auto& d = config->as_object();
  if (const auto* arn = d.if_contains("Arn")) {
    if (d.contains("Type"))
      return support::failf(
          "{}: You can either define 'Arn' or 'Type' property of DeadLetterConfig", id);
    return std::optional<json::value>(*arn);
  }
  const auto* type = d.if_contains("Type");
  if (type == nullptr || !type->is_string() || type->as_string() != "SQS")
    return support::failf("{}: DeadLetterConfig needs 'Arn' or 'Type: SQS'", id);
  std::string queue_id = id + "Queue";
  if (const auto* name = d.if_contains("QueueLogicalId"); name != nullptr && name->is_string())
    queue_id = std::string(name->as_string());
  add(c, queue_id, json::object{{"Type", "AWS::SQS::Queue"}}, source);
  add(c, queue_id + "Policy",
      resource(
          "AWS::SQS::QueuePolicy",
          json::object{
              {"PolicyDocument",
               json::object{
                   {"Version", "2012-10-17"},
                   {"Statement",
                    json::array{json::object{
                        {"Action", "sqs:SendMessage"},
                        {"Effect", "Allow"},
                        {"Principal", json::object{{"Service", "events.amazonaws.com"}}},
                        {"Resource", getatt(queue_id, "Arn")},
                        {"Condition", json::object{{"ArnEquals", json::object{{"aws:SourceArn",
                                                                               source_arn}}}}}}}}}},
              {"Queues", json::array{ref_to(queue_id)}}}),
      source);
  return std::optional<json::value>(getatt(queue_id, "Arn"));
}

// --- pull sources: one AWS::Lambda::EventSourceMapping ---

support::Status pull_event(const std::string& id, const json::object& p, std::string_view type,
                           const json::value& target, ExpandContext& c,
                           const sam::SourceRef& source) {
  const char* source_key = type == "SQS" ? "Queue" : (type == "MQ" ? "Broker" : "Stream");
  if (type == "DocumentDB")
    source_key = "Cluster";
  json::object m;
  if (type != "SelfManagedKafka") {
    const auto* arn = prop(p, source_key);
    if (arn == nullptr)
      return support::failf("{}: {} is required", id, source_key);
    m["EventSourceArn"] = *arn;
  }
  m["FunctionName"] = target;
  static constexpr std::string_view k_pass[] = {"StartingPosition",
                                                "StartingPositionTimestamp",
                                                "BatchSize",
                                                "Enabled",
                                                "MaximumBatchingWindowInSeconds",
                                                "MaximumRetryAttempts",
                                                "BisectBatchOnFunctionError",
                                                "MaximumRecordAgeInSeconds",
                                                "ParallelizationFactor",
                                                "Topics",
                                                "Queues",
                                                "SourceAccessConfigurations",
                                                "TumblingWindowInSeconds",
                                                "FunctionResponseTypes",
                                                "FilterCriteria",
                                                "KmsKeyArn",
                                                "ScalingConfig",
                                                "ProvisionedPollerConfig",
                                                "MetricsConfig",
                                                "LoggingConfig"};
  for (const auto key : k_pass)
    copy_if(p, key, m);
  if (const auto* servers = prop(p, "KafkaBootstrapServers"))
    m["SelfManagedEventSource"] =
        json::object{{"Endpoints", json::object{{"KafkaBootstrapServers", *servers}}}};
  if (const auto* group = prop(p, "ConsumerGroupId")) {
    if (type == "MSK")
      m["AmazonManagedKafkaEventSourceConfig"] = json::object{{"ConsumerGroupId", *group}};
    else if (type == "SelfManagedKafka")
      m["SelfManagedKafkaEventSourceConfig"] = json::object{{"ConsumerGroupId", *group}};
  }
  if (const auto* destination = prop(p, "DestinationConfig");
      destination && destination->is_object()) {
    json::value copy = *destination;
    if (auto* on_failure = copy.as_object().if_contains("OnFailure");
        on_failure != nullptr && on_failure->is_object())
      on_failure->as_object().erase("Type"); // SAM's hint for the role policy
    m["DestinationConfig"] = std::move(copy);
  }
  for (const char* key : {"DatabaseName", "CollectionName", "FullDocument"})
    if (type == "DocumentDB" && p.contains(key)) {
      auto& config = m["DocumentDBEventSourceConfig"];
      if (!config.is_object())
        config = json::object();
      config.as_object()[key] = p.at(key);
    }
  add(c, id, resource("AWS::Lambda::EventSourceMapping", std::move(m)), source);
  return {};
}

// --- push sources ---

support::Status schedule_event(const std::string& id, const json::object& p,
                               const json::value& target, ExpandContext& c,
                               const sam::SourceRef& source) {
  json::object rule;
  const auto* expression = prop(p, "Schedule");
  if (expression == nullptr)
    return support::failf("{}: Schedule is required", id);
  rule["ScheduleExpression"] = *expression;
  WISP_TRY(state_of(p, rule, id));
  copy_if(p, "Name", rule);
  copy_if(p, "Description", rule);
  WISP_TRY_ASSIGN(auto dlq, dead_letter(p, id, getatt(id, "Arn"), c, source));
  json::object t{{"Arn", target}, {"Id", target_id(id, "LambdaTarget")}};
  copy_if(p, "Input", t);
  if (dlq)
    t["DeadLetterConfig"] = json::object{{"Arn", *dlq}};
  copy_if(p, "RetryPolicy", t);
  rule["Targets"] = json::array{std::move(t)};
  add(c, id, resource("AWS::Events::Rule", std::move(rule)), source);
  add(c, id + "Permission", permission(target, "events.amazonaws.com", getatt(id, "Arn")), source);
  return {};
}

support::Status eventbridge_event(const std::string& id, const json::object& p,
                                  const json::value& target, ExpandContext& c,
                                  const sam::SourceRef& source) {
  json::object rule;
  copy_if(p, "EventBusName", rule);
  copy_if(p, "Pattern", rule, "EventPattern");
  copy_if(p, "RuleName", rule, "Name");
  WISP_TRY_ASSIGN(auto dlq, dead_letter(p, id, getatt(id, "Arn"), c, source));
  WISP_TRY(state_of(p, rule, id));
  std::string tid = target_id(id, "LambdaTarget");
  if (const auto* t = prop(p, "Target"); t && t->is_object())
    if (const auto* given = t->as_object().if_contains("Id"); given && given->is_string())
      tid = std::string(given->as_string());
  json::object t{{"Arn", target}, {"Id", tid}};
  copy_if(p, "Input", t);
  copy_if(p, "InputPath", t);
  if (dlq)
    t["DeadLetterConfig"] = json::object{{"Arn", *dlq}};
  copy_if(p, "RetryPolicy", t);
  copy_if(p, "InputTransformer", t);
  rule["Targets"] = json::array{std::move(t)};
  add(c, id, resource("AWS::Events::Rule", std::move(rule)), source);
  add(c, id + "Permission", permission(target, "events.amazonaws.com", getatt(id, "Arn")), source);
  return {};
}

support::Status schedule_v2_event(const std::string& id, const json::object& p,
                                  const json::value& target, bool state_machine, ExpandContext& c,
                                  const sam::SourceRef& source) {
  json::object schedule;
  const auto* expression = prop(p, "ScheduleExpression");
  if (expression == nullptr)
    return support::failf("{}: ScheduleExpression is required", id);
  schedule["ScheduleExpression"] = *expression;
  copy_if(p, "State", schedule);
  const auto* omit = prop(p, "OmitName");
  if (omit != nullptr && omit->is_bool() && omit->as_bool()) {
    if (p.contains("Name"))
      return support::failf("{}: Name cannot be set when OmitName is True", id);
  } else {
    schedule["Name"] = p.contains("Name") ? p.at("Name") : json::value(id);
  }
  copy_if(p, "Description", schedule);
  schedule["FlexibleTimeWindow"] =
      p.contains("FlexibleTimeWindow") ? p.at("FlexibleTimeWindow") : json::object{{"Mode", "OFF"}};
  for (const char* key :
       {"StartDate", "EndDate", "ScheduleExpressionTimezone", "GroupName", "KmsKeyArn"})
    copy_if(p, key, schedule);
  std::optional<json::value> dlq;
  if (const auto* config = prop(p, "DeadLetterConfig"); config && config->is_object()) {
    if (const auto* arn = config->as_object().if_contains("Arn")) {
      dlq = *arn;
    } else {
      std::string queue_id = id + "Queue";
      if (const auto* name = config->as_object().if_contains("QueueLogicalId");
          name && name->is_string())
        queue_id = std::string(name->as_string());
      add(c, queue_id, json::object{{"Type", "AWS::SQS::Queue"}}, source);
      dlq = getatt(queue_id, "Arn");
    }
  }
  json::value role_arn;
  if (const auto* given = prop(p, "RoleArn")) {
    role_arn = *given;
  } else {
    json::array policies{json::object{
        {"PolicyName", id + (state_machine ? "StartExecutionPolicy" : "LambdaPolicy")},
        {"PolicyDocument",
         json::object{{"Statement",
                       json::array{json::object{{"Action", state_machine ? "states:StartExecution"
                                                                         : "lambda:InvokeFunction"},
                                                {"Effect", "Allow"},
                                                {"Resource", target}}}}}}}};
    if (dlq)
      policies.push_back(json::object{
          {"PolicyName", id + "SQSPolicy"},
          {"PolicyDocument",
           json::object{{"Statement", json::array{json::object{{"Action", "sqs:SendMessage"},
                                                               {"Effect", "Allow"},
                                                               {"Resource", *dlq}}}}}}});
    json::object role{{"AssumeRolePolicyDocument", assume_role("scheduler.amazonaws.com")},
                      {"Policies", std::move(policies)}};
    copy_if(p, "PermissionsBoundary", role);
    add(c, id + "Role", resource("AWS::IAM::Role", std::move(role)), source);
    role_arn = getatt(id + "Role", "Arn");
  }
  json::object t{{"Arn", target}, {"RoleArn", role_arn}};
  copy_if(p, "Input", t);
  if (dlq)
    t["DeadLetterConfig"] = json::object{{"Arn", *dlq}};
  copy_if(p, "RetryPolicy", t);
  schedule["Target"] = std::move(t);
  add(c, id, resource("AWS::Scheduler::Schedule", std::move(schedule)), source);
  return {};
}

support::Status s3_event(const std::string& id, const json::object& p, const json::value& target,
                         ExpandContext& c, const sam::SourceRef& source) {
  const auto* bucket = prop(p, "Bucket");
  std::string bucket_id;
  if (bucket != nullptr && bucket->is_object() && bucket->as_object().size() == 1)
    if (const auto* r = bucket->as_object().if_contains("Ref"); r && r->is_string())
      bucket_id = std::string(r->as_string());
  auto* bucket_resource = bucket_id.empty() ? nullptr : c.resources.if_contains(bucket_id);
  if (bucket_resource == nullptr || !bucket_resource->is_object())
    return support::failf("{}: S3 events must reference an S3 bucket in the same template.", id);
  // (The bucket is changed in place before anything is added to the resources.)
  auto& b = bucket_resource->as_object();
  const auto permission_id = id + "Permission";
  // The bucket waits for the permission (S3 checks it when the notification is added).
  json::array depends;
  if (const auto* d = b.if_contains("DependsOn")) {
    if (d->is_string())
      depends.push_back(*d);
    else if (d->is_array())
      depends = d->as_array();
  }
  if (std::find(depends.begin(), depends.end(), json::value(permission_id)) == depends.end())
    depends.emplace_back(permission_id);
  b["DependsOn"] = std::move(depends);
  auto& properties = b["Properties"];
  if (!properties.is_object())
    properties = json::object();
  auto& notification = properties.as_object()["NotificationConfiguration"];
  if (!notification.is_object())
    notification = json::object();
  auto& lambdas = notification.as_object()["LambdaConfigurations"];
  if (!lambdas.is_array())
    lambdas = json::array();
  std::vector<json::value> events;
  if (const auto* e = prop(p, "Events"); e && e->is_string())
    events.push_back(*e);
  else if (e && e->is_array())
    events.assign(e->as_array().begin(), e->as_array().end());
  if (events.empty())
    return support::failf("{}: Events is required", id);
  for (const auto& event : events) {
    json::object mapping{{"Function", target}};
    copy_if(p, "Filter", mapping);
    mapping["Event"] = event;
    if (std::find(lambdas.as_array().begin(), lambdas.as_array().end(), json::value(mapping)) ==
        lambdas.as_array().end())
      lambdas.as_array().push_back(std::move(mapping));
  }
  add(c, permission_id,
      permission(target, "s3.amazonaws.com", std::nullopt, ref_to("AWS::AccountId")), source);
  return {};
}

support::Status sns_event(const std::string& id, const json::object& p, const json::value& target,
                          ExpandContext& c, const sam::SourceRef& source) {
  const auto* topic = prop(p, "Topic");
  if (topic == nullptr)
    return support::failf("{}: Topic is required", id);
  if (const auto* sqs = prop(p, "SqsSubscription");
      sqs != nullptr && !(sqs->is_bool() && !sqs->as_bool()))
    return support::failf("{}: SqsSubscription is not deployed by wisp yet", id);
  add(c, id + "Permission", permission(target, "sns.amazonaws.com", *topic), source);
  json::object s{{"Endpoint", target}, {"Protocol", "lambda"}, {"TopicArn", *topic}};
  for (const char* key : {"Region", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy"})
    copy_if(p, key, s);
  add(c, id, resource("AWS::SNS::Subscription", std::move(s)), source);
  return {};
}

support::Status logs_event(const std::string& id, const json::object& p, const json::value& target,
                           ExpandContext& c, const sam::SourceRef& source) {
  const auto* group = prop(p, "LogGroupName");
  if (group == nullptr || !p.contains("FilterPattern"))
    return support::failf("{}: LogGroupName and FilterPattern are required", id);
  const auto permission_id = id + "Permission";
  add(c, permission_id,
      permission(
          target, "logs.amazonaws.com",
          json::object{
              {"Fn::Sub", json::array{json::value(fmt::format(
                                          "arn:{}:logs:${{AWS::Region}}:${{AWS::AccountId}}:"
                                          "log-group:${{__LogGroupName__}}:*",
                                          c.inputs.region.starts_with("cn-") ? "aws-cn" : "aws")),
                                      json::object{{"__LogGroupName__", *group}}}}}),
      source);
  json::object body = resource("AWS::Logs::SubscriptionFilter",
                               json::object{{"DestinationArn", target},
                                            {"FilterPattern", p.at("FilterPattern")},
                                            {"LogGroupName", *group}});
  body["DependsOn"] = json::array{json::value(permission_id)};
  add(c, id, std::move(body), source);
  return {};
}

} // namespace

support::Result<bool> expand_function_event(const sam::Function& function,
                                            const sam::EventSource& event, ExpandContext& c) {
  const auto id = function.logical_id + event.name;
  const json::value target = ref_to(c.alias_id(function));
  const auto& p = event.properties;
  const auto& type = event.type;
  support::Status done;
  if (type == "SQS" || type == "Kinesis" || type == "DynamoDB" || type == "MSK" || type == "MQ" ||
      type == "DocumentDB" || type == "SelfManagedKafka")
    done = pull_event(id, p, type, target, c, event.source);
  else if (type == "Schedule")
    done = schedule_event(id, p, target, c, event.source);
  else if (type == "ScheduleV2")
    done = schedule_v2_event(id, p, target, false, c, event.source);
  else if (type == "EventBridgeRule" || type == "CloudWatchEvent")
    done = eventbridge_event(id, p, target, c, event.source);
  else if (type == "S3")
    done = s3_event(id, p, target, c, event.source);
  else if (type == "SNS")
    done = sns_event(id, p, target, c, event.source);
  else if (type == "CloudWatchLogs")
    done = logs_event(id, p, target, c, event.source);
  else
    return false;
  if (!done)
    return support::failf("{}{}", source_prefix(event.source), done.error().message);
  return true;
}

support::Status expand_simple_table(const sam::Resource& r, ExpandContext& c) {
  const auto& p = r.properties;
  json::object key{{"AttributeName", "id"}, {"AttributeType", "S"}};
  if (const auto* primary = prop(p, "PrimaryKey"); primary && primary->is_object()) {
    const auto& pk = primary->as_object();
    const auto* name = pk.if_contains("Name");
    const auto* type = pk.if_contains("Type");
    if (name == nullptr || type == nullptr)
      return support::failf("{}{}: PrimaryKey needs Name and Type", source_prefix(r.source),
                            r.logical_id);
    static const std::map<std::string, std::string, std::less<>> k_types{
        {"String", "S"}, {"Number", "N"}, {"Binary", "B"}};
    const auto t = type->is_string() ? k_types.find(type->as_string()) : k_types.end();
    if (t == k_types.end())
      return support::failf("{}{}: Invalid 'Type' \"{}\".", source_prefix(r.source), r.logical_id,
                            type->is_string() ? std::string(type->as_string())
                                              : json::serialize(*type));
    key = json::object{{"AttributeName", *name}, {"AttributeType", t->second}};
  }
  json::object t{{"AttributeDefinitions", json::array{key}},
                 {"KeySchema", json::array{json::object{{"AttributeName", key.at("AttributeName")},
                                                        {"KeyType", "HASH"}}}}};
  copy_if(p, "PointInTimeRecoverySpecification", t);
  if (const auto* throughput = prop(p, "ProvisionedThroughput"))
    t["ProvisionedThroughput"] = *throughput;
  else
    t["BillingMode"] = "PAY_PER_REQUEST";
  copy_if(p, "SSESpecification", t);
  copy_if(p, "TableName", t);
  if (const auto* tags = prop(p, "Tags"); tags && tags->is_object() && !tags->as_object().empty())
    t["Tags"] = tag_list(*tags);
  auto body = resource("AWS::DynamoDB::Table", std::move(t));
  add(c, r.logical_id, std::move(body), r.source);
  return {};
}

namespace {

// Intrinsics inside a state machine definition become ${definition_substitution_N}, in the
// order of sorted keys (as SAM numbers them).
void substitute_intrinsics(json::value& value, json::object& substitutions, int& counter) {
  const auto is_intrinsic = [](const json::value& v) {
    if (!v.is_object() || v.as_object().size() != 1)
      return false;
    const auto key = std::string_view(v.as_object().begin()->key());
    return key == "Ref" || key == "Condition" || key.starts_with("Fn::");
  };
  const auto dynamic_reference = [](const json::value& v) {
    return v.is_string() && v.as_string().starts_with("{{resolve:");
  };
  if (value.is_object()) {
    std::vector<std::string> keys;
    for (const auto& item : value.as_object())
      keys.emplace_back(item.key());
    std::sort(keys.begin(), keys.end());
    for (const auto& key : keys) {
      auto& item = value.as_object()[key];
      if (is_intrinsic(item) || dynamic_reference(item)) {
        const auto name = fmt::format("definition_substitution_{}", counter++);
        substitutions[name] = item;
        item = fmt::format("${{{}}}", name);
      } else {
        substitute_intrinsics(item, substitutions, counter);
      }
    }
  } else if (value.is_array()) {
    for (auto& item : value.as_array()) {
      if (is_intrinsic(item) || dynamic_reference(item)) {
        const auto name = fmt::format("definition_substitution_{}", counter++);
        substitutions[name] = item;
        item = fmt::format("${{{}}}", name);
      } else {
        substitute_intrinsics(item, substitutions, counter);
      }
    }
  }
}

json::value definition_string(const json::value& definition) {
  json::array lines;
  for (auto& line : support::split(pretty_sorted_json(definition), '\n'))
    lines.emplace_back(line);
  return json::object{{"Fn::Join", json::array{"\n", std::move(lines)}}};
}

support::Status state_machine_event(const std::string& sm_id, const sam::EventSource& event,
                                    ExpandContext& c) {
  const auto id = sm_id + event.name;
  const auto& p = event.properties;
  const json::value target = ref_to(sm_id);
  const auto role_for = [&](std::string_view policy_name) {
    json::object role{
        {"AssumeRolePolicyDocument", assume_role("events.amazonaws.com")},
        {"Policies",
         json::array{json::object{
             {"PolicyName", id + "Role" + std::string(policy_name)},
             {"PolicyDocument", json::object{{"Statement", json::array{json::object{
                                                               {"Action", "states:StartExecution"},
                                                               {"Effect", "Allow"},
                                                               {"Resource", target}}}}}}}}}};
    copy_if(p, "PermissionsBoundary", role);
    add(c, id + "Role", resource("AWS::IAM::Role", std::move(role)), event.source);
  };
  if (event.type == "ScheduleV2")
    return schedule_v2_event(id, p, target, true, c, event.source);
  if (event.type != "Schedule" && event.type != "EventBridgeRule" &&
      event.type != "CloudWatchEvent")
    return support::failf("{}{}: state machine events of type {} are not deployed by wisp yet",
                          source_prefix(event.source), id, event.type);
  json::object rule;
  if (event.type == "Schedule") {
    if (!p.contains("Schedule"))
      return support::failf("{}: Schedule is required", id);
    rule["ScheduleExpression"] = p.at("Schedule");
    WISP_TRY(state_of(p, rule, id));
    copy_if(p, "Name", rule);
    copy_if(p, "Description", rule);
  } else {
    copy_if(p, "EventBusName", rule);
    copy_if(p, "Pattern", rule, "EventPattern");
    copy_if(p, "RuleName", rule, "Name");
    WISP_TRY(state_of(p, rule, id));
  }
  WISP_TRY_ASSIGN(auto dlq, dead_letter(p, id, getatt(id, "Arn"), c, event.source));
  std::string tid = target_id(id, "StepFunctionsTarget");
  if (const auto* t = prop(p, "Target"); t && t->is_object())
    if (const auto* given = t->as_object().if_contains("Id"); given && given->is_string())
      tid = std::string(given->as_string());
  json::object t{{"Arn", target}, {"Id", tid}, {"RoleArn", getatt(id + "Role", "Arn")}};
  copy_if(p, "Input", t);
  copy_if(p, "InputPath", t);
  if (dlq)
    t["DeadLetterConfig"] = json::object{{"Arn", *dlq}};
  copy_if(p, "RetryPolicy", t);
  copy_if(p, "InputTransformer", t);
  rule["Targets"] = json::array{std::move(t)};
  add(c, id, resource("AWS::Events::Rule", std::move(rule)), event.source);
  role_for("StartExecutionPolicy");
  return {};
}

} // namespace

support::Status expand_state_machine(const sam::Resource& r, ExpandContext& c) {
  const auto& p = r.properties;
  const auto fail = [&](std::string_view message) {
    return support::failf("{}{}: {}", source_prefix(r.source), r.logical_id, message);
  };
  json::object sm;
  json::object substitutions;
  if (const auto* given = prop(p, "DefinitionSubstitutions"); given && given->is_object())
    substitutions = given->as_object();
  const auto* definition = prop(p, "Definition");
  const auto* uri = prop(p, "DefinitionUri");
  if (definition != nullptr && uri != nullptr)
    return fail("Specify either 'Definition' or 'DefinitionUri' property and not both.");
  json::value document;
  if (definition != nullptr) {
    document = *definition;
  } else if (uri != nullptr && uri->is_string() && !uri->as_string().starts_with("s3://")) {
    // A local file (SAM CLI uploads it; wisp inlines it: the same definition, one call less).
    const auto path = (c.model.base_dir / std::string(uri->as_string())).lexically_normal();
    auto loaded = sam::read_document_file(path);
    if (!loaded)
      return fail(fmt::format("DefinitionUri: {}", loaded.error().message));
    document = std::move(*loaded);
  } else if (uri != nullptr) {
    json::object location;
    if (uri->is_object()) {
      location = uri->as_object();
    } else {
      const auto text = std::string(uri->as_string()).substr(5);
      const auto slash = text.find('/');
      if (slash == std::string::npos)
        return fail("'DefinitionUri' is not a valid S3 Uri of the form 's3://bucket/key'");
      location = json::object{{"Bucket", text.substr(0, slash)}, {"Key", text.substr(slash + 1)}};
    }
    sm["DefinitionS3Location"] = std::move(location);
  } else {
    return fail("Either 'Definition' or 'DefinitionUri' property must be specified.");
  }
  if (!document.is_null()) {
    int counter = 1;
    json::object generated;
    substitute_intrinsics(document, generated, counter);
    for (const auto& item : generated)
      substitutions[item.key()] = item.value();
    sm["DefinitionString"] = definition_string(document);
  }
  const auto* role = prop(p, "Role");
  const auto* policies = prop(p, "Policies");
  if (role != nullptr && policies != nullptr)
    return fail("Specify either 'Role' or 'Policies' (but not both at the same time) or neither.");
  json::array tags{json::object{{"Key", "stateMachine:createdBy"}, {"Value", "SAM"}}};
  if (const auto* t = prop(p, "Tags"))
    for (auto& tag : tag_list(*t))
      tags.push_back(std::move(tag));
  if (role != nullptr) {
    sm["RoleArn"] = *role;
  } else {
    json::array managed;
    json::array inline_policies;
    std::vector<json::value> entries;
    if (policies != nullptr && policies->is_array())
      entries.assign(policies->as_array().begin(), policies->as_array().end());
    else if (policies != nullptr)
      entries.push_back(*policies);
    if (const auto* tracing = prop(p, "Tracing"); tracing && tracing->is_object())
      if (const auto* enabled = tracing->as_object().if_contains("Enabled");
          enabled && enabled->is_bool() && enabled->as_bool())
        entries.emplace_back("AWSXrayWriteOnlyAccess");
    const auto role_id = r.logical_id + "Role";
    int index = 0;
    for (const auto& entry : entries) {
      const int i = index++;
      if (entry.is_string()) {
        const auto name = std::string(entry.as_string());
        managed.emplace_back(
            name.starts_with("arn:")
                ? name
                : fmt::format("arn:{}:iam::aws:policy/{}",
                              c.inputs.region.starts_with("cn-") ? "aws-cn" : "aws", name));
        continue;
      }
      if (!entry.is_object())
        return fail(
            fmt::format("Policies[{}]: expected a policy name, ARN, document or template", i));
      const auto& object = entry.as_object();
      if (object.contains("Statement")) {
        inline_policies.push_back(json::object{
            {"PolicyName", fmt::format("{}Policy{}", role_id, i)}, {"PolicyDocument", object}});
        continue;
      }
      if (object.size() != 1)
        return fail(fmt::format("Policies[{}]: expected a policy document or one SAM policy "
                                "template",
                                i));
      auto statements = policy_template(object.begin()->key(), object.begin()->value());
      if (!statements)
        return fail(fmt::format("Policies[{}]: {}", i, statements.error().message));
      inline_policies.push_back(
          json::object{{"PolicyName", fmt::format("{}Policy{}", role_id, i)},
                       {"PolicyDocument", json::object{{"Statement", std::move(*statements)}}}});
    }
    json::object role_properties{{"AssumeRolePolicyDocument", assume_role("states.amazonaws.com")},
                                 {"ManagedPolicyArns", std::move(managed)}};
    if (!inline_policies.empty())
      role_properties["Policies"] = std::move(inline_policies);
    copy_if(p, "RolePath", role_properties, "Path");
    copy_if(p, "PermissionsBoundary", role_properties);
    role_properties["Tags"] = tags;
    auto role_body = resource("AWS::IAM::Role", std::move(role_properties));
    add(c, role_id, std::move(role_body), r.source);
    sm["RoleArn"] = getatt(role_id, "Arn");
  }
  copy_if(p, "Name", sm, "StateMachineName");
  copy_if(p, "Type", sm, "StateMachineType");
  copy_if(p, "Logging", sm, "LoggingConfiguration");
  copy_if(p, "Tracing", sm, "TracingConfiguration");
  sm["Tags"] = std::move(tags);
  if (!substitutions.empty())
    sm["DefinitionSubstitutions"] = std::move(substitutions);
  if (p.contains("AutoPublishAlias") || p.contains("DeploymentPreference"))
    c.warnings.push_back(fmt::format("{}: AutoPublishAlias/DeploymentPreference of a state machine "
                                     "are not deployed by wisp yet; the state machine is",
                                     r.logical_id));
  add(c, r.logical_id, resource("AWS::StepFunctions::StateMachine", std::move(sm)), r.source);
  if (const auto* events = prop(p, "Events"); events && events->is_object())
    for (const auto& item : events->as_object()) {
      if (!item.value().is_object())
        continue;
      sam::EventSource event;
      event.name = std::string(item.key());
      const auto& e = item.value().as_object();
      if (const auto* type = e.if_contains("Type"); type && type->is_string())
        event.type = std::string(type->as_string());
      if (const auto* properties = e.if_contains("Properties");
          properties && properties->is_object())
        event.properties = properties->as_object();
      event.source = r.source;
      WISP_TRY(state_machine_event(r.logical_id, event, c));
    }
  return {};
}

} // namespace wisp::infra::detail
