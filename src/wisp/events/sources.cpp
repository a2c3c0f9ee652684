#include <wisp/events/sources.hpp>

#include <wisp/aws/config.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <set>

namespace wisp::events {

namespace json = boost::json;

std::string_view to_string(SourceKind kind) {
  switch (kind) {
  case SourceKind::sqs:
    return "SQS";
  case SourceKind::kinesis:
    return "Kinesis";
  case SourceKind::dynamodb:
    return "DynamoDB";
  case SourceKind::sns:
    return "SNS";
  case SourceKind::eventbridge:
    return "EventBridgeRule";
  case SourceKind::s3:
    return "S3";
  case SourceKind::schedule:
    return "Schedule";
  case SourceKind::schedule_v2:
    return "ScheduleV2";
  }
  return "?";
}

std::string ResourceTarget::describe() const {
  if (!literal.empty())
    return literal;
  if (attribute.empty())
    return "!Ref " + logical_id;
  return fmt::format("!GetAtt {}.{}", logical_id, attribute);
}

ResourceTarget resource_target(const json::value& value, const sam::Model& model) {
  ResourceTarget target;
  if (value.is_string()) {
    const std::string text(value.as_string());
    if (model.find_resource(text) != nullptr && text.find(':') == std::string::npos)
      target.logical_id = text; // a Ref to a resource, as the resolver leaves it in some places
    else
      target.literal = text;
    return target;
  }
  if (!value.is_object() || value.as_object().size() != 1)
    return target;
  const auto& [key, arg] = *value.as_object().begin();
  if (key == "Ref" && arg.is_string()) {
    target.logical_id = std::string(arg.as_string());
  } else if (key == "Fn::GetAtt" && arg.is_array() && arg.as_array().size() == 2 &&
             arg.as_array()[0].is_string() && arg.as_array()[1].is_string()) {
    target.logical_id = std::string(arg.as_array()[0].as_string());
    target.attribute = std::string(arg.as_array()[1].as_string());
  }
  return target;
}

namespace {

// Event types wisp leaves to others (the gateway) or does not run locally.
const std::set<std::string> k_gateway_types = {"Api", "HttpApi"};

class Reader {
public:
  Reader(const sam::Model& model, SourceSet& out) : m_model(model), m_out(out) {}

  void read(const sam::Function& function, const sam::EventSource& event) {
    m_event = &event;
    m_function = &function;
    m_failed = false;
    Source source;
    source.function_id = function.logical_id;
    source.event_id = event.name;
    source.where = event.source;
    const auto& type = event.type;
    const auto& props = event.properties;
    if (type == "SQS") {
      source.kind = SourceKind::sqs;
      read_target(source, "Queue");
      read_mapping(source, props, false);
    } else if (type == "Kinesis" || type == "DynamoDB") {
      source.kind = type == "Kinesis" ? SourceKind::kinesis : SourceKind::dynamodb;
      read_target(source, "Stream");
      read_mapping(source, props, true);
    } else if (type == "Schedule") {
      source.kind = SourceKind::schedule;
      read_schedule(source, props, false);
    } else if (type == "ScheduleV2") {
      source.kind = SourceKind::schedule_v2;
      read_schedule(source, props, true);
    } else if (type == "EventBridgeRule" || type == "CloudWatchEvent") {
      source.kind = SourceKind::eventbridge;
      read_rule(source, props);
    } else if (type == "SNS") {
      source.kind = SourceKind::sns;
      read_target(source, "Topic");
      read_sns(source, props);
    } else if (type == "S3") {
      source.kind = SourceKind::s3;
      read_target(source, "Bucket");
      read_s3(source, props);
    } else {
      if (k_gateway_types.count(type) == 0)
        warn(fmt::format("{} events do not run locally; invoke {} with `wisp local invoke` and "
                         "an event from `wisp local generate-event`",
                         type, function.logical_id));
      return;
    }
    if (!m_failed)
      m_out.sources.push_back(std::move(source));
  }

private:
  void error(std::string_view property, const std::string& message) {
    m_failed = true;
    const auto& where = m_event->source;
    m_out.diagnostics.error(
        where.file, where.line, where.column, "event-source",
        property.empty()
            ? fmt::format("{}.Events.{}: {}", m_function->logical_id, m_event->name, message)
            : fmt::format("{}.Events.{}.Properties.{}: {}", m_function->logical_id, m_event->name,
                          property, message));
  }
  void warn(const std::string& message) {
    const auto& where = m_event->source;
    m_out.diagnostics.warning(
        where.file, where.line, where.column, "event-source",
        fmt::format("{}.Events.{}: {}", m_function->logical_id, m_event->name, message));
  }

  const json::value* prop(const json::object& props, std::string_view name) {
    return props.if_contains(name);
  }

  std::optional<int> int_prop(const json::object& props, std::string_view name, int min, int max,
                              std::string_view rule = {}) {
    const auto* value = prop(props, name);
    if (value == nullptr)
      return std::nullopt;
    std::optional<long long> number;
    if (value->is_int64())
      number = value->as_int64();
    else if (value->is_uint64())
      number = static_cast<long long>(value->as_uint64());
    else if (value->is_string()) {
      const std::string text(value->as_string());
      try {
        std::size_t used = 0;
        const long long parsed = std::stoll(text, &used);
        if (used == text.size())
          number = parsed;
      } catch (...) {
      }
    }
    if (!number) {
      error(name, fmt::format("must be a whole number, not {}", json::serialize(*value)));
      return std::nullopt;
    }
    if (*number < min || *number > max) {
      error(name, rule.empty() ? fmt::format("{} is out of range ({}–{})", *number, min, max)
                               : fmt::format("{}: {}", *number, rule));
      return std::nullopt;
    }
    return static_cast<int>(*number);
  }

  std::optional<bool> bool_prop(const json::object& props, std::string_view name) {
    const auto* value = prop(props, name);
    if (value == nullptr)
      return std::nullopt;
    if (value->is_bool())
      return value->as_bool();
    if (value->is_string() && (value->as_string() == "true" || value->as_string() == "false"))
      return value->as_string() == "true";
    error(name, "must be true or false");
    return std::nullopt;
  }

  std::optional<std::string> string_prop(const json::object& props, std::string_view name) {
    const auto* value = prop(props, name);
    if (value == nullptr)
      return std::nullopt;
    if (!value->is_string()) {
      error(name, "must be a string");
      return std::nullopt;
    }
    return std::string(value->as_string());
  }

  void read_target(Source& source, std::string_view name) {
    const auto* value = prop(m_event->properties, name);
    if (value == nullptr) {
      error(name, "is required");
      return;
    }
    source.target = resource_target(*value, m_model);
    if (source.target.empty())
      error(name, fmt::format("cannot be resolved locally ({})", json::serialize(*value)));
  }

  void read_state(Source& source, const json::object& props) {
    const auto* state = prop(props, "State");
    const auto enabled = bool_prop(props, "Enabled");
    if (state != nullptr && enabled) {
      error("", "State and Enabled Properties cannot both be specified.");
      return;
    }
    if (enabled)
      source.enabled = *enabled;
    if (state != nullptr) {
      if (!state->is_string() ||
          (state->as_string() != "ENABLED" && state->as_string() != "DISABLED"))
        error("State", "must be ENABLED or DISABLED");
      else
        source.enabled = state->as_string() == "ENABLED";
    }
  }

  void read_filters(Source& source, const json::object& props) {
    const auto* criteria = prop(props, "FilterCriteria");
    if (criteria == nullptr)
      return;
    if (!criteria->is_object()) {
      error("FilterCriteria", "must be an object with Filters");
      return;
    }
    for (const auto& [key, v] : criteria->as_object())
      if (key != "Filters") {
        error("FilterCriteria", "FilterCriteria field has a wrong format");
        return;
      }
    const auto* filters = criteria->as_object().if_contains("Filters");
    if (filters == nullptr)
      return;
    if (!filters->is_array()) {
      error("FilterCriteria.Filters", "must be a list of {Pattern: ...}");
      return;
    }
    if (filters->as_array().size() > 10) {
      error("FilterCriteria.Filters", "at most 10 filters (5 without a quota increase)");
      return;
    }
    for (const auto& filter : filters->as_array()) {
      const auto* pattern =
          filter.is_object() ? filter.as_object().if_contains("Pattern") : nullptr;
      if (pattern == nullptr) {
        error("FilterCriteria.Filters", "each filter needs a Pattern");
        return;
      }
      tl::expected<EventPattern, std::string> parsed =
          pattern->is_string() ? EventPattern::parse(pattern->as_string())
                               : EventPattern::from_json(*pattern);
      if (!parsed) {
        error("FilterCriteria", "invalid filter pattern: " + parsed.error());
        return;
      }
      // Streams' data fields must be filtered as JSON (Lambda refuses the mapping otherwise).
      const char* data_key = source.kind == SourceKind::kinesis    ? "data"
                             : source.kind == SourceKind::dynamodb ? "dynamodb"
                                                                   : nullptr;
      if (data_key != nullptr) {
        if (const auto* data = parsed->json().as_object().if_contains(data_key);
            data != nullptr && !data->is_object()) {
          error("FilterCriteria", fmt::format("the filter pattern for {} must be JSON (an object), "
                                              "as Lambda requires for stream data",
                                              data_key));
          return;
        }
      }
      source.mapping.filters.push_back(std::move(*parsed));
    }
  }

  void read_mapping(Source& source, const json::object& props, bool stream) {
    auto& m = source.mapping;
    if (const auto enabled = bool_prop(props, "Enabled"))
      source.enabled = *enabled;
    m.batch_size = stream ? 100 : 10;
    if (auto v = int_prop(props, "BatchSize", 1, 10000))
      m.batch_size = *v;
    if (auto v = int_prop(props, "MaximumBatchingWindowInSeconds", 0, 300))
      m.batching_window = *v;
    if (!stream && m.batch_size > 10 && m.batching_window < 1)
      error("BatchSize", "Maximum batch window in seconds must be greater than 0 if maximum batch "
                         "size is greater than 10");
    if (const auto* types = prop(props, "FunctionResponseTypes")) {
      if (!types->is_array()) {
        error("FunctionResponseTypes", "must be a list");
      } else {
        for (const auto& type : types->as_array()) {
          if (type != "ReportBatchItemFailures")
            error("FunctionResponseTypes",
                  fmt::format("{} is not a response type (ReportBatchItemFailures)",
                              json::serialize(type)));
          else
            m.report_batch_item_failures = true;
        }
      }
    }
    read_filters(source, props);
    if (const auto* scaling = prop(props, "ScalingConfig")) {
      if (stream) {
        error("ScalingConfig", "is for SQS event sources only");
      } else if (!scaling->is_object()) {
        error("ScalingConfig", "must be an object with MaximumConcurrency");
      } else if (auto v = int_prop(scaling->as_object(), "MaximumConcurrency", 2, 1000)) {
        m.maximum_concurrency = *v;
      }
    }
    if (!stream) {
      for (const char* only_streams :
           {"StartingPosition", "StartingPositionTimestamp", "MaximumRetryAttempts",
            "MaximumRecordAgeInSeconds", "BisectBatchOnFunctionError", "ParallelizationFactor",
            "TumblingWindowInSeconds", "DestinationConfig"})
        if (prop(props, only_streams) != nullptr)
          error(only_streams, "is not a property of SQS event source mappings");
      return;
    }
    const auto position = string_prop(props, "StartingPosition");
    if (!position) {
      if (prop(props, "StartingPosition") == nullptr)
        error("StartingPosition", "is required for stream event sources (TRIM_HORIZON, LATEST"
                                  " or AT_TIMESTAMP)");
    } else if (*position != "TRIM_HORIZON" && *position != "LATEST" &&
               !(*position == "AT_TIMESTAMP" && source.kind == SourceKind::kinesis)) {
      error("StartingPosition",
            fmt::format("{} is not a starting position ({})", *position,
                        source.kind == SourceKind::kinesis ? "TRIM_HORIZON, LATEST, AT_TIMESTAMP"
                                                           : "TRIM_HORIZON, LATEST"));
    } else {
      m.starting_position = *position;
    }
    if (const auto* timestamp = prop(props, "StartingPositionTimestamp")) {
      if (!timestamp->is_number()) {
        error("StartingPositionTimestamp", "must be a number (Unix time in seconds)");
      } else {
        m.starting_timestamp = TimePoint(std::chrono::milliseconds(
            static_cast<long long>(timestamp->to_number<double>() * 1000.0)));
      }
    }
    if (m.starting_position == "AT_TIMESTAMP" && !m.starting_timestamp)
      error("StartingPositionTimestamp", "is required with StartingPosition AT_TIMESTAMP");
    if (auto v = int_prop(props, "MaximumRetryAttempts", -1, 10000))
      m.maximum_retry_attempts = *v;
    if (auto v = int_prop(props, "MaximumRecordAgeInSeconds", -1, 604800)) {
      if (*v != -1 && *v < 60)
        error("MaximumRecordAgeInSeconds", fmt::format("{}: must be -1 or 60–604800", *v));
      m.maximum_record_age = *v;
    }
    if (auto v = bool_prop(props, "BisectBatchOnFunctionError"))
      m.bisect_on_error = *v;
    if (auto v = int_prop(props, "ParallelizationFactor", 1, 10))
      m.parallelization_factor = *v;
    if (auto v = int_prop(props, "TumblingWindowInSeconds", 0, 900))
      m.tumbling_window = *v;
    if (const auto* destination = prop(props, "DestinationConfig")) {
      const auto* on_failure =
          destination->is_object() ? destination->as_object().if_contains("OnFailure") : nullptr;
      if (on_failure == nullptr || !on_failure->is_object()) {
        error("DestinationConfig", "must be {OnFailure: {Destination: ARN}}");
      } else {
        const auto& failure = on_failure->as_object();
        if (const auto* type = failure.if_contains("Type")) {
          const std::set<std::string> types{"SQS", "SNS", "S3", "Kafka"};
          if (!type->is_string() || types.count(std::string(type->as_string())) == 0)
            error("DestinationConfig.OnFailure.Type",
                  "The only valid values for 'Type' are 'SQS', 'SNS', 'S3', and 'Kafka'");
          else
            m.on_failure_type = std::string(type->as_string());
        }
        const auto* target = failure.if_contains("Destination");
        if (target == nullptr)
          error("DestinationConfig.OnFailure.Destination", "is required");
        else
          m.on_failure = resource_target(*target, m_model);
      }
    }
  }

  std::optional<TimePoint> date_prop(const json::object& props, std::string_view name) {
    auto text = string_prop(props, name);
    if (!text)
      return std::nullopt;
    auto parsed = aws::parse_iso8601(*text);
    if (!parsed)
      error(name, fmt::format("'{}' is not a date and time (ISO 8601, e.g. 2026-01-01T00:00:00Z)",
                              *text));
    return parsed;
  }

  void read_schedule(Source& source, const json::object& props, bool v2) {
    auto& s = source.schedule;
    const char* key = v2 ? "ScheduleExpression" : "Schedule";
    const auto text = string_prop(props, key);
    if (!text) {
      if (prop(props, key) == nullptr)
        error(key, "is required");
      return;
    }
    auto parsed = ScheduleExpression::parse(*text, v2);
    if (!parsed) {
      error(key, fmt::format("{}: {}", *text, parsed.error().message));
      return;
    }
    s.expression = std::move(*parsed);
    if (auto input = string_prop(props, "Input")) {
      if (!v2) {
        boost::system::error_code ec;
        (void)json::parse(*input, ec);
        if (ec)
          error("Input", fmt::format("is not valid JSON ({})", ec.message()));
      }
      s.input = *input;
    }
    if (auto name = string_prop(props, "Name"))
      s.name = *name;
    if (!v2) {
      read_state(source, props);
      return;
    }
    if (const auto* enabled = prop(props, "Enabled"); enabled != nullptr)
      error("Enabled", "is not a ScheduleV2 property (use State: ENABLED|DISABLED)");
    if (auto state = string_prop(props, "State")) {
      if (*state != "ENABLED" && *state != "DISABLED")
        error("State", "must be ENABLED or DISABLED");
      source.enabled = *state == "ENABLED";
    }
    if (auto group = string_prop(props, "GroupName"))
      s.group = *group;
    if (auto zone_name = string_prop(props, "ScheduleExpressionTimezone")) {
      if (auto zone = TimeZone::load(*zone_name))
        s.zone = *zone;
      else
        error(
            "ScheduleExpressionTimezone",
            fmt::format("'{}' is not a time zone (an IANA name such as Europe/Paris)", *zone_name));
    }
    s.start = date_prop(props, "StartDate");
    s.end = date_prop(props, "EndDate");
    if (s.start && s.end && *s.end <= *s.start)
      error("EndDate", "must be after StartDate");
    if (const auto* window = prop(props, "FlexibleTimeWindow")) {
      const auto* mode = window->is_object() ? window->as_object().if_contains("Mode") : nullptr;
      if (mode == nullptr || !mode->is_string() ||
          (mode->as_string() != "OFF" && mode->as_string() != "FLEXIBLE")) {
        error("FlexibleTimeWindow", "needs Mode: OFF or FLEXIBLE");
      } else if (mode->as_string() == "FLEXIBLE") {
        if (auto minutes = int_prop(window->as_object(), "MaximumWindowInMinutes", 1, 1440))
          s.flexible_window_minutes = *minutes;
        else if (!window->as_object().contains("MaximumWindowInMinutes"))
          error("FlexibleTimeWindow", "Mode FLEXIBLE needs MaximumWindowInMinutes (1–1440)");
      }
    }
  }

  void read_rule(Source& source, const json::object& props) {
    auto& p = source.push;
    read_state(source, props);
    const auto* pattern = prop(props, "Pattern");
    if (pattern == nullptr) {
      error("Pattern", "is required");
      return;
    }
    auto parsed = EventPattern::from_json(*pattern);
    if (!parsed) {
      error("Pattern", parsed.error());
      return;
    }
    p.pattern = std::move(*parsed);
    if (const auto* bus = prop(props, "EventBusName")) {
      auto target = resource_target(*bus, m_model);
      if (!target.logical_id.empty())
        p.bus_target = target;
      else if (!target.literal.empty())
        p.bus = target.literal.substr(
            target.literal.rfind('/') == std::string::npos ? 0 : target.literal.rfind('/') + 1);
    }
    auto input = TargetInput::from_properties(props);
    if (!input)
      error("", input.error());
    else
      p.target_input = std::move(*input);
    if (auto name = string_prop(props, "RuleName"))
      p.rule_name = *name;
  }

  void read_sns(Source& source, const json::object& props) {
    auto& p = source.push;
    if (const auto* policy = prop(props, "FilterPolicy")) {
      if (!policy->is_object())
        error("FilterPolicy", "must be an object");
      else
        p.filter_policy = *policy;
    }
    if (auto scope = string_prop(props, "FilterPolicyScope")) {
      if (*scope != "MessageAttributes" && *scope != "MessageBody")
        error("FilterPolicyScope", "must be MessageAttributes or MessageBody");
      p.filter_policy_scope = *scope;
    }
    if (const auto* subscription = prop(props, "SqsSubscription")) {
      if (subscription->is_bool()) {
        p.sqs_subscription = subscription->as_bool();
      } else if (subscription->is_object()) {
        const auto& object = subscription->as_object();
        const auto* arn = object.if_contains("QueueArn");
        const auto* url = object.if_contains("QueueUrl");
        if (arn == nullptr || url == nullptr) {
          error("SqsSubscription", "No QueueARN or QueueURL provided.");
          return;
        }
        p.sqs_subscription = true;
        p.subscription_queue = resource_target(*arn, m_model);
        p.subscription_queue_url = resource_target(*url, m_model);
        if (auto v = int_prop(object, "BatchSize", 1, 10))
          source.mapping.batch_size = *v;
        if (auto v = bool_prop(object, "Enabled"))
          source.enabled = *v;
      } else {
        error("SqsSubscription", "must be true or {QueueArn, QueueUrl, BatchSize}");
      }
    }
  }

  void read_s3(Source& source, const json::object& props) {
    auto& p = source.push;
    if (!source.target.literal.empty() ||
        (!source.target.logical_id.empty() && !source.target.attribute.empty())) {
      error("Bucket", "must be a !Ref to an AWS::S3::Bucket of this template (SAM requires it)");
      return;
    }
    if (const auto* bucket = m_model.find_resource(source.target.logical_id);
        bucket == nullptr || bucket->type != "AWS::S3::Bucket") {
      error("Bucket", fmt::format("'{}' is not an AWS::S3::Bucket of this template",
                                  source.target.logical_id));
      return;
    }
    const auto* events = prop(props, "Events");
    if (events == nullptr) {
      error("Events", "is required (e.g. s3:ObjectCreated:*)");
      return;
    }
    const auto add = [&](const json::value& v) {
      if (!v.is_string() || !v.as_string().starts_with("s3:"))
        error("Events", fmt::format("{} is not an S3 event type (s3:ObjectCreated:*, ...)",
                                    json::serialize(v)));
      else
        p.s3_events.emplace_back(v.as_string());
    };
    if (events->is_array())
      for (const auto& v : events->as_array())
        add(v);
    else
      add(*events);
    if (const auto* filter = prop(props, "Filter")) {
      const json::value* rules = nullptr;
      if (filter->is_object())
        if (const auto* key = filter->as_object().if_contains("S3Key"); key && key->is_object())
          rules = key->as_object().if_contains("Rules");
      if (rules == nullptr || !rules->is_array()) {
        error("Filter", "must be {S3Key: {Rules: [{Name: prefix|suffix, Value: ...}]}}");
        return;
      }
      for (const auto& rule : rules->as_array()) {
        const auto* name = rule.is_object() ? rule.as_object().if_contains("Name") : nullptr;
        const auto* value = rule.is_object() ? rule.as_object().if_contains("Value") : nullptr;
        if (name == nullptr || value == nullptr || !name->is_string() || !value->is_string()) {
          error("Filter", "each rule needs Name (prefix or suffix) and Value");
          return;
        }
        const auto lowered = std::string(name->as_string());
        if (lowered != "prefix" && lowered != "suffix") {
          error("Filter", fmt::format("'{}' is not a filter rule name (prefix, suffix)", lowered));
          return;
        }
        p.s3_key_rules.emplace_back(lowered, std::string(value->as_string()));
      }
    }
  }

  const sam::Model& m_model;
  SourceSet& m_out;
  const sam::EventSource* m_event = nullptr;
  const sam::Function* m_function = nullptr;
  bool m_failed = false;
};

} // namespace

SourceSet read_sources(const sam::Model& model) {
  SourceSet out;
  Reader reader(model, out);
  for (const auto& function : model.functions)
    for (const auto& event : function.events)
      reader.read(function, event);
  return out;
}

} // namespace wisp::events
