#include <wisp/events/resources.hpp>

#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <set>
#include <thread>

namespace wisp::events {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

const std::set<std::string, std::less<>> k_bindable = {"AWS::SQS::Queue",
                                                       "AWS::SNS::Topic",
                                                       "AWS::DynamoDB::Table",
                                                       "AWS::Kinesis::Stream",
                                                       "AWS::S3::Bucket",
                                                       "AWS::Events::EventBus",
                                                       "AWS::Serverless::SimpleTable",
                                                       "AWS::SNS::Subscription"};

std::string str(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr)
    return {};
  if (value->is_string())
    return std::string(value->as_string());
  return json::serialize(*value);
}

std::string sanitize(std::string_view text) {
  std::string out;
  for (const char c : text)
    out += std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ? c : '-';
  return out;
}

std::string random_suffix(std::size_t length) {
  static constexpr char k_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  for (std::size_t i = 0; i < length; ++i)
    out += k_chars[rng() % 36];
  return out;
}

// Logical ids a property value refers to (Ref, GetAtt, ${X} / ${X.A} in Sub).
void references(const json::value& value, std::set<std::string>& out) {
  if (value.is_array()) {
    for (const auto& item : value.as_array())
      references(item, out);
    return;
  }
  if (!value.is_object())
    return;
  const auto& object = value.as_object();
  if (object.size() == 1) {
    const auto& [key, arg] = *object.begin();
    if (key == "Ref" && arg.is_string()) {
      out.insert(std::string(arg.as_string()));
      return;
    }
    if (key == "Fn::GetAtt" && arg.is_array() && !arg.as_array().empty() &&
        arg.as_array()[0].is_string()) {
      out.insert(std::string(arg.as_array()[0].as_string()));
      return;
    }
    if (key == "Fn::Sub") {
      const json::value& text = arg.is_array() && !arg.as_array().empty() ? arg.as_array()[0] : arg;
      if (text.is_string()) {
        const std::string_view s = text.as_string();
        std::size_t pos = 0;
        while ((pos = s.find("${", pos)) != std::string_view::npos) {
          const auto close = s.find('}', pos);
          if (close == std::string_view::npos)
            break;
          auto name = s.substr(pos + 2, close - pos - 2);
          if (!name.starts_with("!"))
            out.insert(std::string(name.substr(0, name.find('.'))));
          pos = close + 1;
        }
      }
      if (arg.is_array() && arg.as_array().size() == 2)
        references(arg.as_array()[1], out);
      return;
    }
  }
  for (const auto& [key, item] : object)
    references(item, out);
}

struct StateFile {
  fs::path path;
  json::object root;
  std::string key;

  json::object& names() {
    auto& backends = root["backends"];
    if (!backends.is_object())
      backends = json::object();
    auto& entry = backends.as_object()[key];
    if (!entry.is_object())
      entry = json::object();
    return entry.as_object();
  }
  std::string remembered(std::string_view logical_id) { return str(names(), logical_id); }
  support::Status save() {
    root["version"] = 1;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    return support::write_file_atomic(path, json::serialize(root) + "\n");
  }
};

class Binder {
public:
  Binder(const sam::Model& model, const Backend& backend, const BindOptions& options,
         Binding& binding, StateFile& state)
      : m_model(model), m_backend(backend), m_options(options), m_binding(binding), m_state(state) {
  }

  support::Status bind_all() {
    std::vector<const sam::Resource*> pending;
    for (const auto& resource : m_model.resources)
      if (bindable_type(resource.type))
        pending.push_back(&resource);
    // Dependency order: a resource after those of `pending` it refers to.
    std::set<std::string> done;
    while (!pending.empty()) {
      bool progressed = false;
      for (auto it = pending.begin(); it != pending.end();) {
        std::set<std::string> refs;
        references(json::value((*it)->properties), refs);
        const bool ready = std::all_of(refs.begin(), refs.end(), [&](const std::string& id) {
          return done.count(id) != 0 ||
                 std::none_of(pending.begin(), pending.end(),
                              [&](const sam::Resource* r) { return r->logical_id == id; });
        });
        if (!ready) {
          ++it;
          continue;
        }
        WISP_TRY(bind_one(**it));
        done.insert((*it)->logical_id);
        it = pending.erase(it);
        progressed = true;
      }
      if (!progressed) { // a cycle: bind the rest as they come
        for (const auto* resource : pending)
          WISP_TRY(bind_one(*resource));
        break;
      }
    }
    if (!m_missing.empty()) {
      return support::fail(fmt::format(
          "{} of the template's resources {} not in the backend ({}, region {}):\n  {}\nRun with "
          "--create-resources to create {}, or point --endpoint-url at a backend that has them",
          m_missing.size(), m_missing.size() == 1 ? "is" : "are",
          m_backend.client().endpoint(aws::Service::sqs), m_backend.region(),
          support::join(m_missing, "\n  "), m_missing.size() == 1 ? "it" : "them"));
    }
    return {};
  }

private:
  void info(const std::string& line) {
    if (m_options.info)
      m_options.info(line);
  }

  std::string property_name(const sam::Resource& resource, std::string_view key) {
    const auto* value = resource.properties.if_contains(key);
    if (value == nullptr)
      return {};
    if (auto resolved = m_binding.resolve(*value); resolved && resolved->is_string())
      return std::string(resolved->as_string());
    return {};
  }

  // The physical name: the resource's own, remembered, or new (`generated` set).
  std::string choose_name(const sam::Resource& resource, std::string_view name_key,
                          bool& generated) {
    generated = false;
    if (!name_key.empty())
      if (auto own = property_name(resource, name_key); !own.empty())
        return own;
    if (auto remembered = m_state.remembered(resource.logical_id); !remembered.empty())
      return remembered;
    generated = true;
    const std::string app = m_binding.app_name();
    std::string name;
    if (resource.type == "AWS::S3::Bucket") {
      name = support::to_lower(fmt::format("{}-{}-{}", app.substr(0, 20),
                                           resource.logical_id.substr(0, 24), random_suffix(12)));
      std::replace(name.begin(), name.end(), '_', '-');
    } else {
      name = fmt::format("{}-{}-{}", app.substr(0, 30), resource.logical_id.substr(0, 30),
                         random_suffix(12));
    }
    return name;
  }

  void remember(const BoundResource& bound, bool generated) {
    if (generated || !m_state.remembered(bound.logical_id).empty())
      m_state.names()[bound.logical_id] = bound.name;
  }

  void missing(const sam::Resource& resource, const std::string& name, bool generated) {
    m_missing.push_back(
        generated ? fmt::format("{} ({}): not created yet", resource.logical_id, resource.type)
                  : fmt::format("{} ({}): {}", resource.logical_id, resource.type, name));
  }

  std::optional<json::object> resolved_properties(const sam::Resource& resource) {
    auto resolved = m_binding.resolve(json::value(resource.properties));
    if (!resolved || !resolved->is_object())
      return std::nullopt;
    return resolved->as_object();
  }

  support::Status unresolvable(const sam::Resource& resource) {
    return support::fail(support::Diagnostic{
        resource.source.file, resource.source.line, resource.source.column,
        support::Severity::error, "event-resources",
        fmt::format("{} ({}): its properties refer to something wisp cannot resolve locally",
                    resource.logical_id, resource.type)});
  }

  support::Status bind_one(const sam::Resource& resource) {
    const auto& type = resource.type;
    if (type == "AWS::SQS::Queue")
      return bind_queue(resource);
    if (type == "AWS::SNS::Topic")
      return bind_topic(resource);
    if (type == "AWS::DynamoDB::Table" || type == "AWS::Serverless::SimpleTable")
      return bind_table(resource);
    if (type == "AWS::Kinesis::Stream")
      return bind_stream(resource);
    if (type == "AWS::S3::Bucket")
      return bind_bucket(resource);
    if (type == "AWS::Events::EventBus")
      return bind_bus(resource);
    if (type == "AWS::SNS::Subscription")
      return bind_subscription(resource);
    return {};
  }

  // Every bound resource ends here: its name remembered (when wisp chose it, or chose it
  // before), reported, and added to the binding.
  support::Status finish(BoundResource bound, bool generated) {
    remember(bound, generated);
    info(fmt::format("  {} ({}): {}{}", bound.logical_id, bound.type, bound.name,
                     bound.created ? " [created]" : ""));
    m_binding.add(std::move(bound));
    return {};
  }

  support::Status bind_queue(const sam::Resource& resource) {
    bool generated = false;
    std::string name = choose_name(resource, "QueueName", generated);
    const auto props = resolved_properties(resource);
    const bool fifo = props && props->contains("FifoQueue") &&
                      (props->at("FifoQueue") == true || props->at("FifoQueue") == "true");
    if (generated && fifo)
      name += ".fifo";
    if (fifo && !name.ends_with(".fifo"))
      return support::fail(
          support::Diagnostic{resource.source.file, resource.source.line, resource.source.column,
                              support::Severity::error, "event-resources",
                              fmt::format("{}: a FIFO queue's name must end with .fifo ({})",
                                          resource.logical_id, name)});
    BoundResource bound{resource.logical_id, resource.type, name, {}, {}, false};
    auto url = m_backend.queue_url(name);
    WISP_TRY(url);
    if (!*url) {
      if (!m_options.create_resources) {
        missing(resource, name, generated);
        return {};
      }
      if (!props)
        return unresolvable(resource);
      std::map<std::string, std::string> attributes;
      for (const auto& [key, value] : *props) {
        if (key == "QueueName" || key == "Tags")
          continue;
        if (value.is_string())
          attributes[std::string(key)] = std::string(value.as_string());
        else if (value.is_bool())
          attributes[std::string(key)] = value.as_bool() ? "true" : "false";
        else
          attributes[std::string(key)] = json::serialize(value);
      }
      auto created = m_backend.create_queue(name, attributes);
      WISP_TRY(created);
      *url = *created;
      bound.created = true;
    }
    auto attributes = m_backend.queue_attributes(**url);
    WISP_TRY(attributes);
    bound.ref = **url;
    bound.attributes = *attributes;
    bound.attributes["Arn"] = (*attributes)["QueueArn"];
    bound.attributes["QueueName"] = name;
    bound.attributes["QueueUrl"] = **url;
    return finish(std::move(bound), generated);
  }

  support::Status bind_topic(const sam::Resource& resource) {
    bool generated = false;
    std::string name = choose_name(resource, "TopicName", generated);
    const auto props = resolved_properties(resource);
    const bool fifo = props && props->contains("FifoTopic") &&
                      (props->at("FifoTopic") == true || props->at("FifoTopic") == "true");
    if (generated && fifo)
      name += ".fifo";
    BoundResource bound{resource.logical_id, resource.type, name, {}, {}, false};
    std::string arn =
        fmt::format("arn:aws:sns:{}:{}:{}", m_binding.region(), m_binding.account(), name);
    auto exists = m_backend.topic_exists(arn);
    WISP_TRY(exists);
    if (!*exists) {
      if (!m_options.create_resources) {
        missing(resource, name, generated);
        return {};
      }
      if (!props)
        return unresolvable(resource);
      std::map<std::string, std::string> attributes;
      for (const char* key : {"FifoTopic", "ContentBasedDeduplication", "DisplayName"})
        if (const auto* value = props->if_contains(key))
          attributes[key] =
              value->is_string() ? std::string(value->as_string()) : json::serialize(*value);
      auto created = m_backend.create_topic(name, attributes);
      WISP_TRY(created);
      arn = *created;
      bound.created = true;
      // Subscription: [{Endpoint, Protocol}] on the topic itself.
      if (const auto* subscriptions = props->if_contains("Subscription");
          subscriptions && subscriptions->is_array()) {
        for (const auto& sub : subscriptions->as_array()) {
          if (!sub.is_object())
            continue;
          const auto protocol = str(sub.as_object(), "Protocol");
          const auto endpoint = str(sub.as_object(), "Endpoint");
          WISP_TRY(m_backend.subscribe(arn, protocol, endpoint, {}));
        }
      }
    }
    bound.ref = arn;
    bound.attributes["TopicArn"] = arn;
    bound.attributes["TopicName"] = name;
    return finish(std::move(bound), generated);
  }

  support::Status bind_table(const sam::Resource& resource) {
    bool generated = false;
    const std::string name = choose_name(resource, "TableName", generated);
    BoundResource bound{resource.logical_id, resource.type, name, {}, {}, false};
    auto table = m_backend.describe_table(name);
    WISP_TRY(table);
    if (!*table) {
      if (!m_options.create_resources) {
        missing(resource, name, generated);
        return {};
      }
      const auto props = resolved_properties(resource);
      if (!props)
        return unresolvable(resource);
      WISP_TRY(m_backend.create_table(create_table_request(resource, *props, name)));
      bound.created = true;
      table = m_backend.describe_table(name);
      WISP_TRY(table);
      if (!*table)
        return support::failf("{}: the table {} was created but the backend does not describe it",
                              resource.logical_id, name);
    }
    bound.ref = name;
    bound.attributes["Arn"] = str(**table, "TableArn");
    if (const auto stream = str(**table, "LatestStreamArn"); !stream.empty())
      bound.attributes["StreamArn"] = stream;
    return finish(std::move(bound), generated);
  }

  static json::object create_table_request(const sam::Resource& resource, const json::object& props,
                                           const std::string& name) {
    json::object request{{"TableName", name}};
    if (resource.type == "AWS::Serverless::SimpleTable") {
      std::string key = "id";
      std::string_view type = "S"; // a view: GCC 12's -Wrestrict misreads string = "N" at -O2
      if (const auto* primary = props.if_contains("PrimaryKey"); primary && primary->is_object()) {
        key = str(primary->as_object(), "Name");
        const auto t = str(primary->as_object(), "Type");
        type = t == "Number" ? "N" : t == "Binary" ? "B" : "S";
      }
      request["AttributeDefinitions"] =
          json::array{json::object{{"AttributeName", key}, {"AttributeType", type}}};
      request["KeySchema"] = json::array{json::object{{"AttributeName", key}, {"KeyType", "HASH"}}};
      if (const auto* throughput = props.if_contains("ProvisionedThroughput")) {
        request["BillingMode"] = "PROVISIONED";
        request["ProvisionedThroughput"] = *throughput;
      } else {
        request["BillingMode"] = "PAY_PER_REQUEST";
      }
      return request;
    }
    for (const char* key :
         {"AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes",
          "ProvisionedThroughput", "TableClass", "DeletionProtectionEnabled"})
      if (const auto* value = props.if_contains(key))
        request[key] = *value;
    const auto billing = str(props, "BillingMode");
    request["BillingMode"] = billing.empty() ? "PROVISIONED" : billing;
    if (request["BillingMode"] == "PROVISIONED" && !request.contains("ProvisionedThroughput"))
      request["ProvisionedThroughput"] =
          json::object{{"ReadCapacityUnits", 5}, {"WriteCapacityUnits", 5}};
    if (const auto* spec = props.if_contains("StreamSpecification"); spec && spec->is_object()) {
      request["StreamSpecification"] = json::object{
          {"StreamEnabled", true}, {"StreamViewType", str(spec->as_object(), "StreamViewType")}};
    }
    return request;
  }

  support::Status bind_stream(const sam::Resource& resource) {
    bool generated = false;
    const std::string name = choose_name(resource, "Name", generated);
    BoundResource bound{resource.logical_id, resource.type, name, {}, {}, false};
    auto stream = m_backend.describe_stream(name);
    WISP_TRY(stream);
    if (!*stream) {
      if (!m_options.create_resources) {
        missing(resource, name, generated);
        return {};
      }
      const auto props = resolved_properties(resource);
      if (!props)
        return unresolvable(resource);
      json::object settings;
      if (const auto* mode = props->if_contains("StreamModeDetails"))
        settings["StreamModeDetails"] = *mode;
      if (const auto* shards = props->if_contains("ShardCount"))
        settings["ShardCount"] = shards->is_string()
                                     ? json::value(std::stoi(std::string(shards->as_string())))
                                     : *shards;
      else if (!settings.contains("StreamModeDetails"))
        settings["ShardCount"] = 1;
      WISP_TRY(m_backend.create_stream(name, settings));
      bound.created = true;
      // Wait until ACTIVE (moto is at once; AWS takes seconds).
      for (int i = 0; i < 60; ++i) {
        stream = m_backend.describe_stream(name);
        WISP_TRY(stream);
        if (*stream && str(**stream, "StreamStatus") == "ACTIVE")
          break;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
      if (!*stream)
        return support::failf("{}: the stream {} was created but the backend does not describe it",
                              resource.logical_id, name);
    }
    bound.ref = name;
    bound.attributes["Arn"] = str(**stream, "StreamARN");
    return finish(std::move(bound), generated);
  }

  support::Status bind_bucket(const sam::Resource& resource) {
    bool generated = false;
    const std::string name = choose_name(resource, "BucketName", generated);
    BoundResource bound{resource.logical_id, resource.type, name, {}, {}, false};
    auto exists = m_backend.bucket_exists(name);
    WISP_TRY(exists);
    if (!*exists) {
      if (!m_options.create_resources) {
        missing(resource, name, generated);
        return {};
      }
      WISP_TRY(m_backend.create_bucket(name));
      bound.created = true;
    }
    bound.ref = name;
    bound.attributes["Arn"] = "arn:aws:s3:::" + name;
    bound.attributes["DomainName"] = name + ".s3.amazonaws.com";
    bound.attributes["RegionalDomainName"] =
        fmt::format("{}.s3.{}.amazonaws.com", name, m_binding.region());
    return finish(std::move(bound), generated);
  }

  support::Status bind_bus(const sam::Resource& resource) {
    bool generated = false;
    const std::string name = choose_name(resource, "Name", generated);
    BoundResource bound{resource.logical_id, resource.type, name, {}, {}, false};
    auto arn = m_backend.event_bus_arn(name);
    WISP_TRY(arn);
    if (!*arn) {
      if (!m_options.create_resources) {
        missing(resource, name, generated);
        return {};
      }
      auto created = m_backend.create_event_bus(name);
      WISP_TRY(created);
      *arn = *created;
      bound.created = true;
    }
    bound.ref = name;
    bound.attributes["Arn"] = **arn;
    bound.attributes["Name"] = name;
    return finish(std::move(bound), generated);
  }

  support::Status bind_subscription(const sam::Resource& resource) {
    const auto props = resolved_properties(resource);
    if (!props)
      return unresolvable(resource);
    const auto topic = str(*props, "TopicArn");
    const auto protocol = str(*props, "Protocol");
    const auto endpoint = str(*props, "Endpoint");
    if (protocol != "sqs") {
      if (m_options.info)
        m_options.info(fmt::format("  {} (AWS::SNS::Subscription): protocol {} is not set up "
                                   "locally (only sqs)",
                                   resource.logical_id, protocol));
      return {};
    }
    BoundResource bound{resource.logical_id, resource.type, endpoint, {}, {}, false};
    auto existing = m_backend.subscriptions(topic);
    WISP_TRY(existing);
    std::string arn;
    for (const auto& sub : *existing)
      if (sub.protocol == "sqs" && sub.endpoint == endpoint)
        arn = sub.arn;
    if (arn.empty()) {
      if (!m_options.create_resources) {
        m_missing.push_back(
            fmt::format("{} ({}): {} → {}", resource.logical_id, resource.type, topic, endpoint));
        return {};
      }
      std::map<std::string, std::string> attributes;
      for (const char* key : {"RawMessageDelivery", "FilterPolicy", "FilterPolicyScope"})
        if (const auto* value = props->if_contains(key))
          attributes[key] = value->is_string() ? std::string(value->as_string())
                            : value->is_bool() ? (value->as_bool() ? "true" : "false")
                                               : json::serialize(*value);
      auto created = m_backend.subscribe(topic, protocol, endpoint, attributes);
      WISP_TRY(created);
      arn = *created;
      bound.created = true;
    }
    bound.ref = arn;
    return finish(std::move(bound), false); // never named by wisp: nothing to remember
  }

  const sam::Model& m_model;
  const Backend& m_backend;
  const BindOptions& m_options;
  Binding& m_binding;
  StateFile& m_state;
  std::vector<std::string> m_missing;
};

std::string app_name_of(const sam::Model& model) {
  auto name = sanitize(model.base_dir.filename().string());
  while (!name.empty() && (name.front() == '-' || name.front() == '_'))
    name.erase(name.begin());
  return name.empty() ? std::string("wisp") : name;
}

} // namespace

bool bindable_type(std::string_view type) {
  return k_bindable.count(type) != 0;
}

const BoundResource* Binding::find(std::string_view logical_id) const {
  const auto it = m_resources.find(std::string(logical_id));
  return it == m_resources.end() ? nullptr : &it->second;
}

std::optional<std::string> Binding::value(const ResourceTarget& target) const {
  if (!target.literal.empty())
    return target.literal;
  const auto* bound = find(target.logical_id);
  if (bound == nullptr)
    return std::nullopt;
  if (target.attribute.empty())
    return bound->ref;
  const auto it = bound->attributes.find(target.attribute);
  if (it == bound->attributes.end())
    return std::nullopt;
  return it->second;
}

void Binding::add(BoundResource resource) {
  auto id = resource.logical_id;
  m_resources[id] = std::move(resource);
}

void Binding::set_context(std::string region, std::string account, std::string app,
                          std::string endpoint) {
  m_region = std::move(region);
  m_account = std::move(account);
  m_app = std::move(app);
  m_endpoint = std::move(endpoint);
}

std::optional<json::value> Binding::resolve(const json::value& value) const {
  if (value.is_array()) {
    json::array out;
    for (const auto& item : value.as_array()) {
      auto resolved = resolve(item);
      if (!resolved)
        return std::nullopt;
      out.push_back(std::move(*resolved));
    }
    return json::value(std::move(out));
  }
  if (!value.is_object())
    return value;
  const auto& object = value.as_object();
  if (object.size() == 1) {
    const auto& [key, arg] = *object.begin();
    if (key == "Ref" || key == "Fn::GetAtt") {
      ResourceTarget target;
      if (key == "Ref" && arg.is_string()) {
        target.logical_id = std::string(arg.as_string());
      } else if (arg.is_array() && arg.as_array().size() == 2 && arg.as_array()[0].is_string() &&
                 arg.as_array()[1].is_string()) {
        target.logical_id = std::string(arg.as_array()[0].as_string());
        target.attribute = std::string(arg.as_array()[1].as_string());
      } else {
        return std::nullopt;
      }
      auto found = this->value(target);
      if (!found)
        return std::nullopt;
      return json::value(*found);
    }
    if (key == "Fn::Sub") {
      const json::value* text = &arg;
      std::optional<json::object> variables;
      if (arg.is_array() && arg.as_array().size() == 2) {
        text = &arg.as_array()[0];
        auto vars = resolve(arg.as_array()[1]);
        if (!vars || !vars->is_object())
          return std::nullopt;
        variables = vars->as_object();
      }
      if (!text->is_string())
        return std::nullopt;
      const std::string_view s = text->as_string();
      std::string out;
      std::size_t pos = 0;
      while (pos < s.size()) {
        const auto open = s.find("${", pos);
        if (open == std::string_view::npos) {
          out.append(s.substr(pos));
          break;
        }
        out.append(s.substr(pos, open - pos));
        const auto close = s.find('}', open);
        if (close == std::string_view::npos)
          return std::nullopt;
        const auto name = s.substr(open + 2, close - open - 2);
        pos = close + 1;
        if (name.starts_with("!")) {
          out += "${";
          out.append(name.substr(1));
          out += "}";
          continue;
        }
        if (variables)
          if (const auto* v = variables->if_contains(name); v && v->is_string()) {
            out.append(v->as_string());
            continue;
          }
        ResourceTarget target;
        const auto dot = name.find('.');
        target.logical_id = std::string(name.substr(0, dot));
        if (dot != std::string_view::npos)
          target.attribute = std::string(name.substr(dot + 1));
        auto found = this->value(target);
        if (!found)
          return std::nullopt;
        out += *found;
      }
      return json::value(json::string(out));
    }
    if (key == "Fn::Join") {
      if (!arg.is_array() || arg.as_array().size() != 2 || !arg.as_array()[0].is_string())
        return std::nullopt;
      auto items = resolve(arg.as_array()[1]);
      if (!items || !items->is_array())
        return std::nullopt;
      std::string out;
      bool first = true;
      for (const auto& item : items->as_array()) {
        if (!item.is_string() && !item.is_number())
          return std::nullopt;
        if (!first)
          out.append(arg.as_array()[0].as_string());
        out += item.is_string() ? std::string(item.as_string()) : json::serialize(item);
        first = false;
      }
      return json::value(json::string(out));
    }
    if (key == "Fn::Select") {
      if (!arg.is_array() || arg.as_array().size() != 2)
        return std::nullopt;
      auto list = resolve(arg.as_array()[1]);
      const auto& index_value = arg.as_array()[0];
      std::size_t index = 0;
      if (index_value.is_int64())
        index = static_cast<std::size_t>(index_value.as_int64());
      else if (index_value.is_string())
        index = std::stoul(std::string(index_value.as_string()));
      if (!list || !list->is_array() || index >= list->as_array().size())
        return std::nullopt;
      return list->as_array()[index];
    }
    if (key.starts_with("Fn::"))
      return std::nullopt;
  }
  json::object out;
  for (const auto& [key, item] : object) {
    auto resolved = resolve(item);
    if (!resolved)
      return std::nullopt;
    out[key] = std::move(*resolved);
  }
  return json::value(std::move(out));
}

support::Result<Binding> bind_resources(const sam::Model& model, const Backend& backend,
                                        const BindOptions& options) {
  Binding binding;
  auto account = backend.account_id();
  if (!account)
    return support::fail(fmt::format("cannot reach the backend ({}): {}",
                                     backend.client().endpoint(aws::Service::sqs),
                                     account.error().describe()));
  binding.set_context(backend.region(), *account,
                      options.app_name.empty() ? app_name_of(model) : options.app_name,
                      options.endpoint_url);
  // Functions: !Ref gives the name, !GetAtt .Arn the ARN.
  for (const auto& function : model.functions) {
    BoundResource bound;
    bound.logical_id = function.logical_id;
    bound.type = function.resource_type;
    bound.name = function.function_name.empty() ? function.logical_id : function.function_name;
    bound.ref = bound.name;
    bound.attributes["Arn"] = fmt::format("arn:aws:lambda:{}:{}:function:{}", binding.region(),
                                          binding.account(), bound.name);
    binding.add(std::move(bound));
  }
  StateFile state;
  state.path =
      (options.state_dir.empty() ? model.base_dir / ".wisp" / "events" : options.state_dir) /
      "resources.json";
  state.key = fmt::format("{} {}", backend.client().endpoint(aws::Service::sqs), backend.region());
  if (auto text = support::read_file(state.path)) {
    boost::system::error_code ec;
    auto parsed = json::parse(*text, ec);
    if (!ec && parsed.is_object())
      state.root = parsed.as_object();
  }
  Binder binder(model, backend, options, binding, state);
  auto bound = binder.bind_all();
  // Remember the names of what exists, even when something else is missing.
  if (auto saved = state.save(); !saved && bound)
    return tl::unexpected(saved.error());
  if (!bound)
    return tl::unexpected(bound.error());
  return binding;
}

sam::Model bind_model(const sam::Model& model, const Binding& binding) {
  sam::Model out = model;
  for (auto& function : out.functions) {
    const auto* resource = model.find_resource(function.logical_id);
    if (resource != nullptr) {
      const json::value* variables = nullptr;
      if (const auto* env = resource->properties.if_contains("Environment");
          env && env->is_object())
        variables = env->as_object().if_contains("Variables");
      if (variables != nullptr && variables->is_object()) {
        for (const auto& [name, value] : variables->as_object()) {
          if (value.is_string() || value.is_number() || value.is_bool())
            continue;
          auto resolved = binding.resolve(value);
          if (!resolved || !resolved->is_string())
            continue;
          const std::string key(name);
          function.environment[key] = std::string(resolved->as_string());
          auto& unresolved = function.unresolved_environment;
          unresolved.erase(std::remove(unresolved.begin(), unresolved.end(), key),
                           unresolved.end());
        }
      }
    }
    if (!binding.endpoint_url().empty() && function.environment.count("AWS_ENDPOINT_URL") == 0)
      function.environment["AWS_ENDPOINT_URL"] = binding.endpoint_url();
  }
  return out;
}

std::string plumbing_name(const Binding& binding, const std::vector<std::string>& parts,
                          std::size_t limit) {
  // Appended in place: GCC 12 at -O2 misreads `"wisp-" + string` and `substr + "-" + digest`
  // as overlapping copies (-Wrestrict).
  std::string name = "wisp-";
  name += binding.app_name();
  for (const auto& part : parts) {
    name += '-';
    name += sanitize(part);
  }
  if (name.size() <= limit)
    return name;
  const auto digest = support::sha256_hex(name).substr(0, 8);
  name.resize(limit - 9);
  name += '-';
  name += digest;
  return name;
}

} // namespace wisp::events
