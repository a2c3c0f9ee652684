// SAM's references to the resources its transform generates — `MyFunction.Alias`,
// `MyApi.Stage`, ... — as samtranslator registers them: each SAM resource type lists its
// `referable_properties` (property → generated resource type) and a reference resolves only
// when the transform actually generated a resource of that type for that resource
// (samtranslator/model/__init__.py get_resource_references). This file decides which ones
// exist and what the transform names them; load.cpp uses them in its reference check, the
// Model carries them for later consumers.

#include <wisp/support/strings.hpp>
#include <wisp/template/build_support.hpp>
#include <wisp/template/loader.hpp>
#include <wisp/template/rules.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <span>

namespace wisp::sam::detail {

namespace {

bool is_alphanumeric(std::string_view text) {
  if (text.empty())
    return false;
  for (const char c : text)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return false;
  return true;
}

// samtranslator's alias logical id: the alias name with '-' → 'D' and '_' → 'U'.
std::string alias_id_suffix(std::string_view alias) {
  std::string out(alias);
  for (auto& c : out) {
    if (c == '-')
      c = 'D';
    else if (c == '_')
      c = 'U';
  }
  return out;
}

// samtranslator's referable_properties per SAM resource type.
std::span<const std::string_view> referable_properties(std::string_view type) {
  static constexpr std::string_view k_function[] = {"Alias", "Version", "DestinationTopic",
                                                    "DestinationQueue"};
  static constexpr std::string_view k_api[] = {
      "Stage", "Deployment", "DomainName", "DomainNameV2", "UsagePlan", "UsagePlanKey", "ApiKey"};
  static constexpr std::string_view k_http_api[] = {"Stage", "DomainName"};
  if (type == "AWS::Serverless::Function")
    return k_function;
  if (type == "AWS::Serverless::Api")
    return k_api;
  if (type == "AWS::Serverless::HttpApi" || type == "AWS::Serverless::WebSocketApi")
    return k_http_api;
  return {};
}

bool is_true(const Node* node) {
  return node != nullptr && node->is_scalar() && support::iequals(node->text, "true");
}

} // namespace

std::optional<Node> Loader::sam_property(const std::string& id, std::string_view type,
                                         std::string_view key) {
  const auto decl = m_scope.resources.find(id);
  const Node* resource = decl != m_scope.resources.end() ? decl->second.node : nullptr;
  const Node* properties = resource != nullptr ? resource->find("Properties") : nullptr;
  if (properties != nullptr && properties->is_mapping())
    if (const Node* local = properties->find(key))
      return m_resolver->resolve(*local);
  const auto globals = m_globals.find(type);
  if (globals == m_globals.end())
    return std::nullopt;
  const Node* global = globals->second.find(key);
  if (global == nullptr)
    return std::nullopt;
  if (const Node* ignore = resource != nullptr ? resource->find("IgnoreGlobals") : nullptr) {
    if (ignore->is_string() && ignore->text == "*")
      return std::nullopt;
    if (ignore->is_sequence())
      for (const auto& item : ignore->items)
        if (item.is_string() && item.text == key)
          return std::nullopt;
  }
  return m_resolver->resolve(*global);
}

void Loader::collect_generated_refs() {
  const auto add = [&](const std::string& owner, std::string property, std::string type,
                       std::string logical_id, bool hashed, std::string name) {
    GeneratedRef ref{owner,  property,       std::move(type), std::move(logical_id),
                     hashed, std::move(name)};
    // As in samtranslator, the last generated resource of a type wins.
    m_generated_refs[owner + "." + property] = std::move(ref);
  };
  const auto text_of = [](const std::optional<Node>& node) -> std::string {
    return node && node->is_scalar() ? node->text : std::string();
  };

  // A stage's logical id: Api + name + "Stage" for an alphanumeric name, Api + "Stage" + a
  // digest of the name for another string, Api + "Stage" when StageName is an intrinsic
  // function (the transform sees no string; api_generator.py _construct_stage).
  const auto written = [&](const std::string& id, std::string_view key) {
    const auto decl = m_scope.resources.find(id);
    const Node* properties = decl != m_scope.resources.end() && decl->second.node != nullptr
                                 ? decl->second.node->find("Properties")
                                 : nullptr;
    const Node* value =
        properties != nullptr && properties->is_mapping() ? properties->find(key) : nullptr;
    return value == nullptr || value->is_scalar();
  };
  const auto rest_api = [&](const std::string& id, const std::string& stage) {
    if (!written(id, "StageName"))
      add(id, "Stage", "AWS::ApiGateway::Stage", id + "Stage", false, stage);
    else if (is_alphanumeric(stage))
      add(id, "Stage", "AWS::ApiGateway::Stage", id + stage + "Stage", false, stage);
    else
      add(id, "Stage", "AWS::ApiGateway::Stage", id + "Stage", true, stage);
    add(id, "Deployment", "AWS::ApiGateway::Deployment", id + "Deployment", true, "");
    if (const auto domain = sam_property(id, "AWS::Serverless::Api", "Domain");
        domain && domain->is_mapping()) {
      const Node* endpoint = domain->find("EndpointConfiguration");
      if (endpoint != nullptr && endpoint->is_scalar() && endpoint->text == "PRIVATE")
        add(id, "DomainNameV2", "AWS::ApiGateway::DomainNameV2", "ApiGatewayDomainNameV2", true,
            "");
      else
        add(id, "DomainName", "AWS::ApiGateway::DomainName", "ApiGatewayDomainName", true, "");
    }
    if (const auto auth = sam_property(id, "AWS::Serverless::Api", "Auth");
        auth && auth->is_mapping()) {
      const Node* plan = auth->find("UsagePlan");
      const Node* create =
          plan != nullptr && plan->is_mapping() ? plan->find("CreateUsagePlan") : nullptr;
      if (create != nullptr && create->is_scalar() &&
          (create->text == "PER_API" || create->text == "SHARED")) {
        const std::string prefix = create->text == "SHARED" ? "Serverless" : id;
        add(id, "UsagePlan", "AWS::ApiGateway::UsagePlan", prefix + "UsagePlan", false, "");
        add(id, "ApiKey", "AWS::ApiGateway::ApiKey", prefix + "ApiKey", false, "");
        add(id, "UsagePlanKey", "AWS::ApiGateway::UsagePlanKey", prefix + "UsagePlanKey", false,
            "");
      }
    }
  };
  const auto http_api = [&](const std::string& id, const std::string& stage) {
    if (!written(id, "StageName"))
      add(id, "Stage", "AWS::ApiGatewayV2::Stage", id + "Stage", false, stage);
    else if (stage.empty() || stage == "$default")
      add(id, "Stage", "AWS::ApiGatewayV2::Stage", id + "ApiGatewayDefaultStage", false,
          "$default");
    else if (is_alphanumeric(stage))
      add(id, "Stage", "AWS::ApiGatewayV2::Stage", id + stage + "Stage", false, stage);
    else
      add(id, "Stage", "AWS::ApiGatewayV2::Stage", id + "Stage", true, stage);
    if (const auto domain = sam_property(id, "AWS::Serverless::HttpApi", "Domain");
        domain && domain->is_mapping())
      add(id, "DomainName", "AWS::ApiGatewayV2::DomainName", "ApiGatewayDomainNameV2", true, "");
  };

  for (const auto* entry : m_resource_entries) {
    const auto& decl = m_scope.resources.at(entry->key);
    const auto& id = decl.logical_id;
    if (decl.type == "AWS::Serverless::Function") {
      if (const auto alias = sam_property(id, decl.type, "AutoPublishAlias");
          alias && !alias->is_null()) {
        const auto name = text_of(alias);
        add(id, "Alias", "AWS::Lambda::Alias", id + "Alias" + alias_id_suffix(name), name.empty(),
            name);
        add(id, "Version", "AWS::Lambda::Version", id + "Version", true, "");
      }
      // Destinations the transform creates: EventInvokeConfig's SNS/SQS destinations without
      // an ARN (or with a conditional one), then the queues of events, in order.
      if (const auto config = sam_property(id, decl.type, "EventInvokeConfig");
          config && config->is_mapping()) {
        const Node* destinations = config->find("DestinationConfig");
        for (const char* which : {"OnSuccess", "OnFailure"}) {
          const Node* destination = destinations != nullptr && destinations->is_mapping()
                                        ? destinations->find(which)
                                        : nullptr;
          if (destination == nullptr || !destination->is_mapping())
            continue;
          const Node* type = destination->find("Type");
          const Node* arn = destination->find("Destination");
          if (type == nullptr || !type->is_scalar() ||
              (arn != nullptr && arn->intrinsic() != "Fn::If"))
            continue;
          const auto base = fmt::format("{}EventInvokeConfig{}", id, which);
          if (type->text == "SNS")
            add(id, "DestinationTopic", "AWS::SNS::Topic", base + "Topic", false, "");
          else if (type->text == "SQS")
            add(id, "DestinationQueue", "AWS::SQS::Queue", base + "Queue", false, "");
        }
      }
      const Node* properties = decl.node != nullptr ? decl.node->find("Properties") : nullptr;
      const Node* events =
          properties != nullptr && properties->is_mapping() ? properties->find("Events") : nullptr;
      if (events != nullptr && events->is_mapping()) {
        for (const auto& event : events->entries) {
          const Node* type = event.value.is_mapping() ? event.value.find("Type") : nullptr;
          const Node* props = event.value.is_mapping() ? event.value.find("Properties") : nullptr;
          if (type == nullptr || !type->is_scalar() || props == nullptr || !props->is_mapping())
            continue;
          if (type->text == "SNS" && is_true(props->find("SqsSubscription"))) {
            add(id, "DestinationQueue", "AWS::SQS::Queue", id + event.key + "Queue", false, "");
          } else if (type->text == "Schedule" || type->text == "ScheduleV2" ||
                     type->text == "EventBridgeRule" || type->text == "CloudWatchEvent") {
            const Node* dlq = props->find("DeadLetterConfig");
            if (dlq == nullptr || !dlq->is_mapping() || dlq->find("Arn") != nullptr)
              continue;
            const Node* named = dlq->find("QueueLogicalId");
            add(id, "DestinationQueue", "AWS::SQS::Queue",
                named != nullptr && named->is_string() ? named->text : id + event.key + "Queue",
                false, "");
          }
        }
      }
    } else if (decl.type == "AWS::Serverless::Api") {
      rest_api(id, text_of(sam_property(id, decl.type, "StageName")));
    } else if (decl.type == "AWS::Serverless::HttpApi") {
      http_api(id, text_of(sam_property(id, decl.type, "StageName")));
    }
  }
  // The implicit APIs (their Globals apply; the REST one's stage is always Prod).
  if (m_generated.count("ServerlessRestApi") != 0 && !m_scope.is_resource("ServerlessRestApi"))
    rest_api("ServerlessRestApi", "Prod");
  if (m_generated.count("ServerlessHttpApi") != 0 && !m_scope.is_resource("ServerlessHttpApi"))
    http_api("ServerlessHttpApi", "");
}

const GeneratedRef* Loader::generated_ref(std::string_view owner, std::string_view property) const {
  const auto it = m_generated_refs.find(fmt::format("{}.{}", owner, property));
  return it == m_generated_refs.end() ? nullptr : &it->second;
}

std::string Loader::why_not_generated(std::string_view owner, std::string_view property) const {
  std::string type;
  if (const auto it = m_scope.resources.find(std::string(owner)); it != m_scope.resources.end())
    type = it->second.type;
  else if (owner == "ServerlessRestApi" && m_generated.count("ServerlessRestApi") != 0)
    type = "AWS::Serverless::Api";
  else if (owner == "ServerlessHttpApi" && m_generated.count("ServerlessHttpApi") != 0)
    type = "AWS::Serverless::HttpApi";
  // Types whose GetAtt attributes never look like these names; others (GraphQLApi,
  // Application, ...) get the ordinary check.
  if (type != "AWS::Serverless::Function" && type != "AWS::Serverless::Api" &&
      type != "AWS::Serverless::HttpApi" && type != "AWS::Serverless::StateMachine" &&
      type != "AWS::Serverless::SimpleTable" && type != "AWS::Serverless::LayerVersion")
    return {};
  const auto known = referable_properties(type);
  if (std::find(known.begin(), known.end(), property) == known.end()) {
    // Owner.Something that is not a SAM reference: only explain when it looks like one.
    static constexpr std::string_view k_all[] = {
        "Alias",      "Version",      "DestinationTopic", "DestinationQueue", "Stage", "Deployment",
        "DomainName", "DomainNameV2", "UsagePlan",        "UsagePlanKey",     "ApiKey"};
    if (std::find(std::begin(k_all), std::end(k_all), property) == std::end(k_all))
      return {};
    std::vector<std::string> names(known.begin(), known.end());
    return fmt::format("SAM resolves no '{}' of an {}{}", property, type,
                       names.empty() ? std::string(" (it resolves none of its references)")
                                     : fmt::format(" (only {})", support::join(names, ", ")));
  }
  if (property == "Alias" || property == "Version")
    return fmt::format("it needs AutoPublishAlias on the function '{}' (SAM creates the alias and "
                       "version only then)",
                       owner);
  if (property == "DestinationTopic" || property == "DestinationQueue")
    return fmt::format("SAM creates no {} for '{}' (only for an EventInvokeConfig destination of "
                       "Type {} without a Destination{})",
                       property == "DestinationTopic" ? "SNS topic" : "SQS queue", owner,
                       property == "DestinationTopic" ? "SNS" : "SQS",
                       property == "DestinationQueue"
                           ? ", an SNS event with SqsSubscription: true, or an event's "
                             "DeadLetterConfig without an Arn"
                           : "");
  if (property == "DomainName" || property == "DomainNameV2")
    return fmt::format("SAM creates no {} for '{}' (it needs Domain{})",
                       property == "DomainNameV2" ? "private domain name" : "domain name", owner,
                       property == "DomainNameV2"       ? " with EndpointConfiguration: PRIVATE"
                       : type == "AWS::Serverless::Api" ? " without EndpointConfiguration: PRIVATE"
                                                        : "");
  if (property == "UsagePlan" || property == "UsagePlanKey" || property == "ApiKey")
    return fmt::format("SAM creates no {} for '{}' (it needs Auth.UsagePlan with CreateUsagePlan "
                       "PER_API or SHARED)",
                       property, owner);
  return {};
}

std::optional<std::string> Loader::local_generated_value(std::string_view name) {
  const auto dot = name.find('.');
  if (dot == std::string_view::npos)
    return std::nullopt;
  const auto* ref = generated_ref(name.substr(0, dot), name.substr(dot + 1));
  if (ref == nullptr || ref->name.empty())
    return std::nullopt;
  if (ref->property == "Stage")
    return ref->name; // Ref of a stage is its name
  if (ref->property != "Alias")
    return std::nullopt;
  // Ref of an alias is its ARN; a local run names the function as the runtime does:
  // FunctionName, else the logical id.
  std::string function = ref->owner;
  const auto decl = m_scope.resources.find(ref->owner);
  if (decl != m_scope.resources.end())
    if (const auto named = sam_property(ref->owner, decl->second.type, "FunctionName");
        named && named->is_scalar() && !named->text.empty())
      function = named->text;
  return fmt::format("arn:{}:lambda:{}:{}:function:{}:{}", partition_of(m_scope.region),
                     m_scope.region, m_scope.account_id, function, ref->name);
}

bool Loader::accepts_unmodelled_ref(std::string_view owner, std::string_view property) const {
  const auto it = m_scope.resources.find(std::string(owner));
  return it != m_scope.resources.end() && it->second.type == "AWS::Serverless::WebSocketApi" &&
         (property == "Stage" || property == "DomainName");
}

bool Loader::check_generated_getatt(const Node& at_node, std::string_view joined,
                                    const std::string* resource, bool in_events, bool in_sub) {
  // As samtranslator: join the GetAtt list with '.', split it again: Owner, Property, the rest
  // is the generated resource's attribute.
  const auto parts = support::split(joined, '.');
  if (parts.size() < 2)
    return false;
  const auto& owner = parts[0];
  const auto& property = parts[1];
  const auto* ref = generated_ref(owner, property);
  if (ref == nullptr) {
    if (accepts_unmodelled_ref(owner, property)) {
      add_edge(resource, owner, at_node.mark, in_events);
      return true;
    }
    if (auto why = why_not_generated(owner, property); !why.empty()) {
      error(at_node.mark, "ref-undefined",
            fmt::format("{} '{}.{}': {}", in_sub ? "Fn::Sub refers to" : "Fn::GetAtt of", owner,
                        property, why));
      return true;
    }
    return false;
  }
  add_edge(resource, owner, at_node.mark, in_events);
  std::vector<std::string> rest(parts.begin() + 2, parts.end());
  const auto attribute = support::join(rest, ".");
  const auto attributes = getatt_attributes(ref->type);
  std::vector<std::string> names;
  if (attributes)
    for (const auto known : *attributes)
      if (known != "__none__")
        names.emplace_back(known);
  if (attribute.empty()) {
    if (in_sub)
      return true; // ${Owner.Property} is a Ref of the generated resource
    error(at_node.mark, "getatt",
          fmt::format("Fn::GetAtt of '{}.{}' ({}, generated by SAM) needs an attribute{}", owner,
                      property, ref->type,
                      names.empty() ? std::string(" (it has none: use Ref)")
                                    : fmt::format(" ({})", support::join(names, ", "))));
    return true;
  }
  if (!attributes || std::find(names.begin(), names.end(), attribute) != names.end())
    return true;
  std::string hint;
  if (auto close = support::closest_match(attribute, names))
    hint = fmt::format("; did you mean '{}'?", *close);
  error(at_node.mark, "getatt-attribute",
        fmt::format("'{}.{}' ({}, generated by SAM) has no attribute '{}'{}{}", owner, property,
                    ref->type, attribute, hint,
                    names.empty() ? std::string(" (it has none: use Ref)")
                                  : fmt::format(" (it has {})", support::join(names, ", "))));
  return true;
}

} // namespace wisp::sam::detail
