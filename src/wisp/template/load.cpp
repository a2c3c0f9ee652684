#include <wisp/support/fs.hpp>
#include <wisp/support/strings.hpp>
#include <wisp/template/build_support.hpp>
#include <wisp/template/convert.hpp>
#include <wisp/template/load.hpp>
#include <wisp/template/loader.hpp>
#include <wisp/template/reader.hpp>
#include <wisp/template/regex.hpp>
#include <wisp/template/rules.hpp>
#include <wisp/template/scalar.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <tuple>

namespace wisp::sam {

namespace fs = std::filesystem;

namespace {

constexpr std::uintmax_t k_max_template_size = 32u * 1024 * 1024;

// Globals sections and the properties each may set (SAM's supported list).
struct GlobalsSection {
  std::string_view name;
  std::span<const std::string_view> properties;
};

constexpr std::string_view k_globals_function[] = {
    "Handler",
    "Runtime",
    "CodeUri",
    "DeadLetterQueue",
    "Description",
    "MemorySize",
    "Timeout",
    "VpcConfig",
    "Environment",
    "Tags",
    "PropagateTags",
    "Tracing",
    "KmsKeyArn",
    "AutoPublishAlias",
    "AutoPublishAliasAllProperties",
    "Layers",
    "DeploymentPreference",
    "RolePath",
    "PermissionsBoundary",
    "ReservedConcurrentExecutions",
    "ProvisionedConcurrencyConfig",
    "AssumeRolePolicyDocument",
    "EventInvokeConfig",
    "FileSystemConfigs",
    "CodeSigningConfigArn",
    "Architectures",
    "SnapStart",
    "EphemeralStorage",
    "FunctionUrlConfig",
    "RuntimeManagementConfig",
    "LoggingConfig",
    "RecursiveLoop",
    "SourceKMSKeyArn",
    "TenancyConfig",
    "DurableConfig",
    "CapacityProviderConfig",
    "FunctionScalingConfig",
    "PublishToLatestPublished",
    "VersionDeletionPolicy",
};
constexpr std::string_view k_globals_api[] = {
    "Auth",
    "Name",
    "DefinitionUri",
    "CacheClusterEnabled",
    "CacheClusterSize",
    "MergeDefinitions",
    "Variables",
    "EndpointConfiguration",
    "MethodSettings",
    "BinaryMediaTypes",
    "MinimumCompressionSize",
    "Cors",
    "GatewayResponses",
    "AccessLogSetting",
    "CanarySetting",
    "TracingEnabled",
    "OpenApiVersion",
    "Domain",
    "AlwaysDeploy",
    "PropagateTags",
    "SecurityPolicy",
    "EndpointAccessMode",
};
constexpr std::string_view k_globals_http_api[] = {
    "Auth",          "AccessLogSettings", "StageVariables",
    "Tags",          "CorsConfiguration", "DefaultRouteSettings",
    "Domain",        "RouteSettings",     "FailOnWarnings",
    "PropagateTags",
};
constexpr std::string_view k_globals_simple_table[] = {"SSESpecification"};
constexpr std::string_view k_globals_state_machine[] = {"PropagateTags"};
constexpr std::string_view k_globals_layer[] = {"PublishLambdaVersion"};
constexpr std::string_view k_globals_capacity_provider[] = {
    "VpcConfig",     "OperatorRole", "Tags",         "InstanceRequirements",
    "ScalingConfig", "KmsKeyArn",    "PropagateTags"};
constexpr std::string_view k_globals_websocket[] = {"AccessLogSettings",
                                                    "ApiKeySelectionExpression",
                                                    "DefaultRouteSettings",
                                                    "DisableExecuteApiEndpoint",
                                                    "DisableSchemaValidation",
                                                    "Domain",
                                                    "FailOnWarnings",
                                                    "IpAddressType",
                                                    "PropagateTags",
                                                    "RouteSelectionExpression",
                                                    "RouteSettings",
                                                    "StageVariables",
                                                    "Tags"};

constexpr GlobalsSection k_globals_sections[] = {
    {"Api", k_globals_api},
    {"CapacityProvider", k_globals_capacity_provider},
    {"Function", k_globals_function},
    {"HttpApi", k_globals_http_api},
    {"LayerVersion", k_globals_layer},
    {"SimpleTable", k_globals_simple_table},
    {"StateMachine", k_globals_state_machine},
    {"WebSocketApi", k_globals_websocket},
};

constexpr std::string_view k_parameter_types[] = {
    "String",
    "Number",
    "List<Number>",
    "CommaDelimitedList",
    "AWS::SSM::Parameter::Name",
    "AWS::EC2::AvailabilityZone::Name",
    "AWS::EC2::Image::Id",
    "AWS::EC2::Instance::Id",
    "AWS::EC2::KeyPair::KeyName",
    "AWS::EC2::SecurityGroup::GroupName",
    "AWS::EC2::SecurityGroup::Id",
    "AWS::EC2::Subnet::Id",
    "AWS::EC2::Volume::Id",
    "AWS::EC2::VPC::Id",
    "AWS::Route53::HostedZone::Id",
    "List<AWS::EC2::AvailabilityZone::Name>",
    "List<AWS::EC2::Image::Id>",
    "List<AWS::EC2::Instance::Id>",
    "List<AWS::EC2::SecurityGroup::GroupName>",
    "List<AWS::EC2::SecurityGroup::Id>",
    "List<AWS::EC2::Subnet::Id>",
    "List<AWS::EC2::Volume::Id>",
    "List<AWS::EC2::VPC::Id>",
    "List<AWS::Route53::HostedZone::Id>",
};

bool is_valid_parameter_type(std::string_view type) {
  if (std::find(std::begin(k_parameter_types), std::end(k_parameter_types), type) !=
      std::end(k_parameter_types))
    return true;
  // AWS::SSM::Parameter::Value<String | List<String> | CommaDelimitedList | AWS type>
  constexpr std::string_view prefix = "AWS::SSM::Parameter::Value<";
  return type.starts_with(prefix) && type.ends_with('>') && type.size() > prefix.size() + 1;
}

bool is_list_type(std::string_view type) {
  return type.starts_with("List<") || type == "CommaDelimitedList" ||
         type == "AWS::SSM::Parameter::Value<CommaDelimitedList>" ||
         type == "AWS::SSM::Parameter::Value<List<String>>" ||
         (type.starts_with("AWS::SSM::Parameter::Value<List<"));
}

bool is_number_type(std::string_view type) {
  return type == "Number";
}

std::vector<std::string> split_list_value(std::string_view text) {
  if (text.empty())
    return {};
  return support::split(text, ',');
}

detail::Node string_node(detail::Mark mark, std::string text) {
  return detail::Node(detail::NodeKind::string, mark, std::move(text));
}

std::string display_list(const std::vector<std::string>& values) {
  return support::join(values, ", ");
}

} // namespace

// -------------------------------------------------------------------- public helpers

support::Result<std::vector<std::pair<std::string, std::string>>>
parse_parameter_overrides(const std::vector<std::string>& overrides) {
  std::vector<std::pair<std::string, std::string>> result;
  for (const auto& text : overrides) {
    // Shell-like tokens: whitespace separates, quotes group, a backslash escapes.
    std::vector<std::string> tokens;
    std::string token;
    bool in_token = false;
    char quote = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        } else if (c == '\\' && quote == '"' && i + 1 < text.size() &&
                   (text[i + 1] == '"' || text[i + 1] == '\\')) {
          token += text[++i];
        } else {
          token += c;
        }
        continue;
      }
      if (c == '\'' || c == '"') {
        quote = c;
        in_token = true;
      } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        if (in_token)
          tokens.push_back(std::move(token));
        token.clear();
        in_token = false;
      } else if (c == '\\' && i + 1 < text.size()) {
        token += text[++i];
        in_token = true;
      } else {
        token += c;
        in_token = true;
      }
    }
    if (quote != 0)
      return support::fail(fmt::format("--parameter-overrides: unterminated quote in '{}'", text),
                           support::ExitCode::usage);
    if (in_token)
      tokens.push_back(std::move(token));
    for (const auto& entry : tokens) {
      constexpr std::string_view key_prefix = "ParameterKey=";
      constexpr std::string_view value_marker = ",ParameterValue=";
      if (entry.starts_with(key_prefix)) {
        const auto marker = entry.find(value_marker);
        if (marker == std::string::npos || marker == key_prefix.size())
          return support::fail(fmt::format("--parameter-overrides: '{}' is not "
                                           "ParameterKey=Key,ParameterValue=Value",
                                           entry),
                               support::ExitCode::usage);
        result.emplace_back(entry.substr(key_prefix.size(), marker - key_prefix.size()),
                            entry.substr(marker + value_marker.size()));
        continue;
      }
      const auto eq = entry.find('=');
      if (eq == std::string::npos || eq == 0)
        return support::fail(fmt::format("--parameter-overrides: '{}' is neither Key=Value nor "
                                         "ParameterKey=Key,ParameterValue=Value",
                                         entry),
                             support::ExitCode::usage);
      result.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
    }
  }
  return result;
}

support::Result<fs::path> default_template_path(const fs::path& dir) {
  std::error_code ec;
  for (const char* name : {"template.yaml", "template.yml"}) {
    const auto candidate = dir / name;
    if (fs::exists(candidate, ec))
      return dir == fs::path(".") || dir.empty() ? fs::path(name) : candidate;
  }
  return support::fail(
      fmt::format("no template: neither template.yaml nor template.yml exists in {} (use "
                  "-t/--template)",
                  dir.empty() ? std::string(".") : dir.string()));
}

support::Result<fs::path> resolve_template_path(const fs::path& given) {
  if (given.empty())
    return default_template_path(".");
  std::error_code ec;
  if (!fs::exists(given, ec))
    return support::failf("template {} does not exist", given.string());
  if (fs::is_directory(given, ec))
    return support::failf("template {} is a directory, not a file", given.string());
  return given;
}

LoadResult load(const LoadOptions& options) {
  LoadResult result;
  detail::Loader loader(options, result);
  loader.run();
  return result;
}

support::Result<Model> load_model(const LoadOptions& options, support::Diagnostics* warnings) {
  auto result = load(options);
  if (result.diagnostics.has_errors()) {
    support::Error error;
    const auto errors = result.diagnostics.error_count();
    error.message = fmt::format("the template has {} error{}", errors, errors == 1 ? "" : "s");
    for (const auto& d : result.diagnostics.items())
      if (d.severity == support::Severity::error)
        error.diagnostics.push_back(d);
    return tl::unexpected(std::move(error));
  }
  if (warnings != nullptr)
    warnings->append(result.diagnostics);
  return std::move(result.model);
}

// -------------------------------------------------------------------- the loader

namespace detail {

Loader::Loader(const LoadOptions& options, LoadResult& result)
    : m_options(options), m_result(result), m_model(result.model), m_diags(result.diagnostics) {
  m_scope.region = options.region;
  m_scope.account_id = options.account_id;
  m_scope.stack_name = options.stack_name;
  m_scope.import_values = &options.import_values;
  m_today = options.today.empty() ? support::today_utc() : options.today;
}

void Loader::error(Mark mark, std::string code, std::string message) {
  m_diags.error(m_file, mark.line, mark.column, std::move(code), std::move(message));
}

void Loader::warning(Mark mark, std::string code, std::string message) {
  m_diags.warning(m_file, mark.line, mark.column, std::move(code), std::move(message));
}

void Loader::missing_code(Mark mark, std::string code, std::string message) {
  // A handler's file is the runtime's business, not the build's (SAM's build, package and
  // deploy never look for it): a layer or an exec wrapper (Lambda Web Adapter's `run.sh`
  // handler) may provide it, and a function without one gets Lambda's own error when invoked.
  if (m_options.missing_code_is_error && code == "handler-missing")
    warning(mark, std::move(code),
            message + " (unless a layer or an exec wrapper provides it, invoking the function "
                      "fails as in Lambda: Runtime.ImportModuleError, or "
                      "Runtime.InvalidEntrypoint without a bootstrap)");
  else if (m_options.missing_code_is_error)
    error(mark, std::move(code), std::move(message));
  else
    warning(mark, std::move(code),
            message + "; build, package, deploy and local runs need it (a build output?)");
}

void Loader::lint(Mark mark, std::string code, std::string message) {
  if (m_options.lint)
    warning(mark, std::move(code), std::move(message));
}

void Loader::run() {
  const ArenaScope arena_scope(m_arena);
  if (read()) {
    m_resolver = std::make_unique<Resolver>(m_scope, m_file, m_diags);
    m_schema = std::make_unique<SchemaChecker>(m_file, m_diags);
    check_sections();
    declare_parameters();
    check_mappings();
    index_resources();
    parse_globals();
    collect_generated_ids();
    collect_generated_refs();
    check_conditions();
    check_references();
    check_cycles();
    build_resources();
    collect_resource_attributes();
    build_outputs();
    if (m_options.lint)
      lint_checks();
    if (m_options.nested_applications && !m_diags.has_errors())
      load_applications();
  }
  // One diagnostic per problem: Globals merged into several resources would otherwise
  // report the same position several times.
  m_diags.sort();
  auto& items = m_diags.items();
  std::vector<support::Diagnostic> unique;
  unique.reserve(items.size());
  std::size_t group = 0; // first of the diagnostics at the current position
  for (auto& item : items) {
    if (group < unique.size() &&
        (unique[group].file != item.file || unique[group].line != item.line ||
         unique[group].column != item.column))
      group = unique.size();
    const bool seen = std::any_of(
        unique.begin() + static_cast<std::ptrdiff_t>(group), unique.end(), [&](const auto& d) {
          return d.severity == item.severity && d.code == item.code && d.message == item.message;
        });
    if (!seen)
      unique.push_back(std::move(item));
  }
  items = std::move(unique);
}

void Loader::collect_resource_attributes() {
  std::unordered_map<std::string_view, Resource*> by_id;
  for (auto& resource : m_model.resources)
    by_id.emplace(resource.logical_id, &resource);
  for (const auto* entry : m_resource_entries) {
    auto it = by_id.find(entry->key);
    if (it == by_id.end() || !entry->value.is_mapping())
      continue;
    for (const char* name :
         {"DeletionPolicy", "UpdateReplacePolicy", "CreationPolicy", "UpdatePolicy"})
      if (const auto* value = entry->value.find(name))
        it->second->attributes[name] = to_json(m_resolver->resolve(*value));
  }
}

bool Loader::read() {
  fs::path path = m_options.template_path;
  if (path.empty() && m_options.template_text)
    path = "template.yaml";
  if (path.empty()) {
    auto found = default_template_path(".");
    if (!found) {
      m_diags.error("", 0, 0, "template-missing", found.error().message);
      return false;
    }
    path = *found;
  }
  m_file = path.string();
  std::error_code ec;
  const auto absolute = fs::absolute(path, ec);
  m_model.template_path = ec ? path : absolute.lexically_normal();
  m_model.base_dir = m_model.template_path.parent_path();
  support::Result<std::string> text = m_options.template_text
                                          ? support::Result<std::string>(*m_options.template_text)
                                          : support::read_file(path, k_max_template_size);
  if (!text) {
    m_diags.error(m_file, 0, 0, "template-read", text.error().message);
    return false;
  }
  if (text->size() > k_max_template_size) {
    m_diags.error(
        m_file, 0, 0, "template-read",
        fmt::format("{} is larger than the limit of {} bytes", m_file, k_max_template_size));
    return false;
  }
  auto root = read_document(*text, m_file, m_diags);
  if (!root)
    return false;
  if (!root->is_mapping()) {
    error(root->mark, "template-structure",
          fmt::format("a template is a mapping of sections, not {}", describe_kind(*root)));
    return false;
  }
  m_root = std::move(*root);
  return true;
}

// -------------------------------------------------------------------- sections

void Loader::check_sections() {
  m_schema->check_declaration(m_root, template_sections_spec());
  if (const auto* description = m_root.find("Description"); description && description->is_scalar())
    m_model.description = description->text;
  if (const auto* version = m_root.find("AWSTemplateFormatVersion");
      version && version->is_scalar() && version->text != "2010-09-09")
    error(version->mark, "template-version",
          fmt::format("AWSTemplateFormatVersion must be '2010-09-09', not '{}'", version->text));
  m_resources = m_root.find("Resources");
  if (m_resources != nullptr && !m_resources->is_mapping())
    m_resources = nullptr; // the section check reported it
  if (m_resources != nullptr && m_resources->entries.empty())
    error(m_resources->mark, "template-structure", "the Resources section is empty");
  m_outputs = m_root.find("Outputs");
  if (m_outputs != nullptr && !m_outputs->is_mapping())
    m_outputs = nullptr;

  // The SAM transform: needed for AWS::Serverless::* resources.
  bool has_transform = false;
  if (const auto* transform = m_root.find("Transform")) {
    auto check = [&](const Node& item) {
      if (item.is_string() && item.text == "AWS::Serverless-2016-10-31")
        has_transform = true;
      else if (item.is_string() && item.text.starts_with("AWS::Serverless"))
        error(item.mark, "transform",
              fmt::format("unknown transform '{}'; did you mean 'AWS::Serverless-2016-10-31'?",
                          item.text));
    };
    if (transform->is_sequence())
      for (const auto& item : transform->items)
        check(item);
    else
      check(*transform);
  }
  if (!has_transform && m_resources != nullptr) {
    for (const auto& entry : m_resources->entries) {
      const auto* type = entry.value.find("Type");
      if (type != nullptr && type->is_string() && type->text.starts_with("AWS::Serverless::")) {
        error(type->mark, "transform",
              fmt::format("{} needs 'Transform: AWS::Serverless-2016-10-31' in the template",
                          type->text));
        break;
      }
    }
  }
}

// -------------------------------------------------------------------- parameters

void Loader::declare_parameters() {
  auto overrides = parse_parameter_overrides(m_options.parameter_overrides);
  if (!overrides) {
    m_diags.error("", 0, 0, "parameter-overrides", overrides.error().message);
  } else {
    m_overrides = std::move(*overrides);
  }
  std::map<std::string, std::string, std::less<>> override_values;
  for (const auto& [key, value] : m_options.parent_parameters) {
    override_values[key] = value;
    m_from_parent.insert(key);
  }
  for (const auto& [key, value] : m_overrides) {
    override_values[key] = value;
    m_from_parent.erase(key);
  }

  const Node* section = m_root.find("Parameters");
  if (section != nullptr && section->is_mapping()) {
    if (section->entries.size() > 200)
      error(section->mark, "limit-parameters",
            fmt::format("a template has at most 200 parameters, this one has {}",
                        section->entries.size()));
    for (const auto& entry : section->entries) {
      const Node& declaration = entry.value;
      if (!declaration.is_mapping()) {
        error(declaration.mark, "type",
              fmt::format("the parameter '{}' must be a mapping, not {}", entry.key,
                          describe_kind(declaration)));
        continue;
      }
      m_schema->check_declaration(declaration, parameter_spec());
      Parameter parameter;
      parameter.name = entry.key;
      parameter.mark = entry.key_mark;
      if (is_pseudo_parameter(entry.key) ||
          entry.key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789") != std::string::npos)
        error(entry.key_mark, "parameter-name",
              fmt::format("parameter name '{}' must be alphanumeric", entry.key));
      if (const auto* type = declaration.find("Type"); type && type->is_scalar()) {
        parameter.type = type->text;
        if (!is_valid_parameter_type(parameter.type)) {
          std::vector<std::string> names(std::begin(k_parameter_types),
                                         std::end(k_parameter_types));
          std::string hint;
          if (auto close = support::closest_match(parameter.type, names))
            hint = fmt::format("; did you mean '{}'?", *close);
          error(type->mark, "parameter-type",
                fmt::format("unknown parameter type '{}'{}", parameter.type, hint));
        }
      }
      if (const auto* no_echo = declaration.find("NoEcho"))
        parameter.no_echo = no_echo->is_scalar() && support::iequals(no_echo->text, "true");

      const Node* default_value = declaration.find("Default");
      std::optional<Node> raw;
      Mark where = entry.key_mark;
      bool from_override = false;
      if (const auto it = override_values.find(entry.key); it != override_values.end()) {
        raw = string_node(entry.key_mark, it->second);
        from_override = true;
        override_values.erase(it);
      } else if (default_value != nullptr) {
        where = default_value->mark;
        if (default_value->is_scalar()) {
          raw = *default_value;
        } else if (default_value->is_sequence() && is_list_type(parameter.type)) {
          // Not valid for CloudFormation, but unambiguous: keep it as the list it is.
          error(default_value->mark, "type",
                fmt::format("the Default of parameter '{}' must be a string (a list parameter "
                            "takes \"a,b,c\")",
                            entry.key));
        } else if (!default_value->is_null()) {
          error(default_value->mark, "type",
                fmt::format("the Default of parameter '{}' must be a string, not {}", entry.key,
                            describe_kind(*default_value)));
        }
      }
      if (raw) {
        check_parameter_value(parameter, declaration, *raw, where, from_override);
        if (is_list_type(parameter.type)) {
          Node list(NodeKind::sequence, raw->mark);
          for (auto& item : split_list_value(raw->text))
            list.items.push_back(string_node(raw->mark, std::move(item)));
          parameter.value = std::move(list);
        } else {
          parameter.value = string_node(raw->mark, raw->text);
        }
        m_model.parameters[parameter.name] = raw->text;
      } else if (m_options.require_parameter_values && default_value == nullptr) {
        error(entry.key_mark, "parameter-value",
              fmt::format("parameter '{}' has no value: it has no Default and "
                          "--parameter-overrides does not set it (CloudFormation refuses the "
                          "stack: \"Parameters: [{}] must have values\")",
                          entry.key, entry.key));
      }
      if (parameter.no_echo)
        m_model.no_echo_parameters.insert(parameter.name);
      m_scope.parameters.emplace(parameter.name, std::move(parameter));
    }
  } else if (section != nullptr && !section->is_null() && !section->is_mapping()) {
    // reported by the section check
  }
  for (const auto& [key, value] : override_values) {
    (void)value;
    if (m_from_parent.contains(key)) {
      // CloudFormation refuses a nested stack given a parameter its template lacks.
      const auto& at = m_options.parent_source;
      m_diags.error(at.file, at.line, at.column, "nested-parameter",
                    fmt::format("the nested application passes the parameter '{}', which {} "
                                "does not declare",
                                key, m_file));
      continue;
    }
    std::vector<std::string> names;
    for (const auto& [name, parameter] : m_scope.parameters)
      names.push_back(name);
    std::string hint;
    if (auto close = support::closest_match(key, names))
      hint = fmt::format("; did you mean '{}'?", *close);
    m_diags.warning(m_file, 0, 0, "parameter-unknown",
                    fmt::format("--parameter-overrides sets '{}', which is not a parameter of the "
                                "template{}",
                                key, hint));
  }
}

void Loader::check_parameter_value(const Parameter& parameter, const Node& declaration,
                                   const Node& value, Mark where, bool from_override) {
  const std::string origin = !from_override ? ""
                             : m_from_parent.contains(parameter.name)
                                 ? " (passed by the parent stack)"
                                 : " (from --parameter-overrides)";
  const auto shown = [&](const std::string& text) {
    return parameter.no_echo ? std::string("(NoEcho value)") : fmt::format("'{}'", text);
  };
  std::vector<std::string> items;
  if (is_list_type(parameter.type))
    items = split_list_value(value.text);
  else
    items.push_back(value.text);

  if (const auto* allowed = declaration.find("AllowedValues"); allowed && allowed->is_sequence()) {
    std::vector<std::string> values;
    for (const auto& item : allowed->items)
      values.push_back(scalar_text(item));
    for (const auto& item : items) {
      if (std::find(values.begin(), values.end(), item) == values.end()) {
        error(where, "parameter-value",
              fmt::format("parameter '{}': {}{} is not one of the AllowedValues ({})",
                          parameter.name, shown(item), origin, display_list(values)));
      }
    }
  }
  if (const auto* pattern = declaration.find("AllowedPattern"); pattern && pattern->is_scalar()) {
    auto regex = Regex::compile(pattern->text);
    if (!regex) {
      error(pattern->mark, "parameter-pattern",
            fmt::format("AllowedPattern of parameter '{}' is not a valid pattern: {}",
                        parameter.name, regex.error()));
    } else {
      for (const auto& item : items)
        if (!regex->full_match(item))
          error(where, "parameter-value",
                fmt::format("parameter '{}': {}{} does not match the AllowedPattern {}",
                            parameter.name, shown(item), origin, pattern->text));
    }
  }
  const bool number = is_number_type(parameter.type) || parameter.type == "List<Number>";
  for (const auto& item : items) {
    if (number) {
      const auto parsed = number_as_double(support::trim(item));
      if (!parsed || item.empty()) {
        error(where, "parameter-value",
              fmt::format("parameter '{}': {}{} is not a number", parameter.name, shown(item),
                          origin));
        continue;
      }
      if (const auto* min = declaration.find("MinValue"); min && min->is_scalar()) {
        if (const auto bound = number_as_double(min->text); bound && *parsed < *bound)
          error(where, "parameter-value",
                fmt::format("parameter '{}': {}{} is less than MinValue {}", parameter.name,
                            shown(item), origin, min->text));
      }
      if (const auto* max = declaration.find("MaxValue"); max && max->is_scalar()) {
        if (const auto bound = number_as_double(max->text); bound && *parsed > *bound)
          error(where, "parameter-value",
                fmt::format("parameter '{}': {}{} is greater than MaxValue {}", parameter.name,
                            shown(item), origin, max->text));
      }
    } else {
      if (const auto* min = declaration.find("MinLength"); min && min->is_scalar()) {
        if (const auto bound = number_as_int(min->text);
            bound && static_cast<std::int64_t>(item.size()) < *bound)
          error(where, "parameter-value",
                fmt::format("parameter '{}': {}{} is shorter than MinLength {}", parameter.name,
                            shown(item), origin, min->text));
      }
      if (const auto* max = declaration.find("MaxLength"); max && max->is_scalar()) {
        if (const auto bound = number_as_int(max->text);
            bound && static_cast<std::int64_t>(item.size()) > *bound)
          error(where, "parameter-value",
                fmt::format("parameter '{}': {}{} is longer than MaxLength {}", parameter.name,
                            shown(item), origin, max->text));
      }
    }
  }
}

// -------------------------------------------------------------------- mappings

void Loader::check_mappings() {
  const Node* section = m_root.find("Mappings");
  if (section == nullptr || !section->is_mapping())
    return;
  m_scope.mappings = section;
  for (const auto& map : section->entries) {
    if (!map.value.is_mapping()) {
      error(map.value.mark, "type",
            fmt::format("the mapping '{}' must be a mapping of keys, not {}", map.key,
                        describe_kind(map.value)));
      continue;
    }
    for (const auto& top : map.value.entries) {
      if (!top.value.is_mapping()) {
        error(top.value.mark, "type",
              fmt::format("'{}' in mapping '{}' must be a mapping of second-level keys, not {}",
                          top.key, map.key, describe_kind(top.value)));
        continue;
      }
      for (const auto& second : top.value.entries)
        if (!second.value.is_scalar() && !second.value.is_sequence())
          error(second.value.mark, "type",
                fmt::format("a mapping value must be a string or a list, not {}",
                            describe_kind(second.value)));
    }
  }
}

// -------------------------------------------------------------------- resources

void Loader::index_resources() {
  if (m_resources == nullptr)
    return;
  if (m_resources->entries.size() > 500)
    error(m_resources->mark, "limit-resources",
          fmt::format("CloudFormation allows 500 resources per stack; the template declares {}",
                      m_resources->entries.size()));
  for (const auto& entry : m_resources->entries) {
    m_resource_entries.push_back(&entry);
    ResourceDecl decl;
    decl.logical_id = entry.key;
    decl.mark = entry.key_mark;
    decl.node = &entry.value;
    if (entry.key.empty() ||
        entry.key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789") != std::string::npos)
      error(entry.key_mark, "logical-id",
            fmt::format("logical id '{}' must be alphanumeric (A-Z, a-z, 0-9)", entry.key));
    if (!entry.value.is_mapping()) {
      error(entry.value.mark, "type",
            fmt::format("the resource '{}' must be a mapping, not {}", entry.key,
                        describe_kind(entry.value)));
      decl.included = false;
      m_scope.resources.emplace(entry.key, std::move(decl));
      continue;
    }
    if (const auto* type = entry.value.find("Type");
        type != nullptr && type->is_string() && type->text.starts_with("AWS::Serverless::"))
      m_schema->check_sam_resource(entry.value, type->text);
    else
      m_schema->check_declaration(entry.value, resource_attributes_spec());
    if (const auto* type = entry.value.find("Type"); type && type->is_string()) {
      decl.type = type->text;
      const bool valid = decl.type.starts_with("Custom::") ||
                         (std::count(decl.type.begin(), decl.type.end(), ':') >= 4 &&
                          decl.type.find(":::") == std::string::npos && !decl.type.ends_with(":"));
      if (!valid)
        error(type->mark, "resource-type",
              fmt::format("'{}' is not a resource type (Service::Module::Name or Custom::Name)",
                          decl.type));
      else if (decl.type.starts_with("AWS::Serverless::")) {
        static const std::vector<std::string> k_sam_types = {
            "AWS::Serverless::Function",     "AWS::Serverless::Api",
            "AWS::Serverless::HttpApi",      "AWS::Serverless::SimpleTable",
            "AWS::Serverless::LayerVersion", "AWS::Serverless::Application",
            "AWS::Serverless::StateMachine", "AWS::Serverless::Connector",
            "AWS::Serverless::GraphQLApi",   "AWS::Serverless::CapacityProvider",
            "AWS::Serverless::WebSocketApi"};
        if (std::find(k_sam_types.begin(), k_sam_types.end(), decl.type) == k_sam_types.end()) {
          std::string hint;
          if (auto close = support::closest_match(decl.type, k_sam_types))
            hint = fmt::format("; did you mean '{}'?", *close);
          error(type->mark, "resource-type",
                fmt::format("unknown SAM resource type '{}'{}", decl.type, hint));
        }
      }
    } else if (type != nullptr && !type->is_string()) {
      error(type->mark, "type",
            fmt::format("'Type' must be a string, not {}", describe_kind(*type)));
    }
    if (const auto* condition = entry.value.find("Condition"); condition && condition->is_string())
      decl.condition = condition->text;
    m_scope.resources.emplace(entry.key, std::move(decl));
  }
}

// -------------------------------------------------------------------- Globals

void Loader::parse_globals() {
  const Node* section = m_root.find("Globals");
  m_globals_section = section;
  if (section == nullptr || !section->is_mapping())
    return;
  for (const auto& entry : section->entries) {
    const GlobalsSection* known = nullptr;
    for (const auto& candidate : k_globals_sections)
      if (candidate.name == entry.key)
        known = &candidate;
    if (known == nullptr) {
      std::vector<std::string> names;
      for (const auto& candidate : k_globals_sections)
        names.emplace_back(candidate.name);
      std::string hint;
      if (auto close = support::closest_match(entry.key, names))
        hint = fmt::format("; did you mean '{}'?", *close);
      error(entry.key_mark, "globals",
            fmt::format("'{}' is not a Globals section (Globals has {}){}", entry.key,
                        display_list(names), hint));
      continue;
    }
    if (!entry.value.is_mapping()) {
      error(entry.value.mark, "globals",
            fmt::format("Globals.{} must be a mapping, not {}", entry.key,
                        describe_kind(entry.value)));
      continue;
    }
    Node accepted(NodeKind::mapping, entry.value.mark);
    for (const auto& property : entry.value.entries) {
      if (std::find(known->properties.begin(), known->properties.end(), property.key) ==
          known->properties.end()) {
        std::vector<std::string> names(known->properties.begin(), known->properties.end());
        std::string hint;
        if (auto close = support::closest_match(property.key, names))
          hint = fmt::format("; did you mean '{}'?", *close);
        std::string why;
        if (entry.key == "Function" && (property.key == "Role" || property.key == "Policies" ||
                                        property.key == "FunctionName" || property.key == "Events"))
          why = " (it must be set on each function)";
        else if (entry.key == "Api" &&
                 (property.key == "StageName" || property.key == "DefinitionBody"))
          why = " (it must be set on each API)";
        error(property.key_mark, "globals",
              fmt::format("'{}' is not supported in Globals.{}{}{}", property.key, entry.key, why,
                          hint));
        continue;
      }
      accepted.entries.push_back(property);
    }
    m_globals.emplace("AWS::Serverless::" + entry.key, std::move(accepted));
  }
}

// -------------------------------------------------------------------- generated ids

namespace {

std::string alphanumeric(std::string_view text) {
  std::string out;
  for (const char c : text)
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
      out += c;
  return out;
}

} // namespace

void Loader::collect_generated_ids() {
  // Template-wide ids SAM generates; per-resource ones are matched by is_generated().
  bool any_deployment_preference =
      m_globals.count("AWS::Serverless::Function") != 0 &&
      m_globals["AWS::Serverless::Function"].find("DeploymentPreference") != nullptr;
  for (const auto* entry : m_resource_entries) {
    const auto& decl = m_scope.resources.at(entry->key);
    if (decl.type != "AWS::Serverless::Function")
      continue;
    const Node* properties = decl.node != nullptr ? decl.node->find("Properties") : nullptr;
    if (properties == nullptr || !properties->is_mapping())
      continue;
    if (properties->find("DeploymentPreference") != nullptr)
      any_deployment_preference = true;
    const Node* events = properties->find("Events");
    if (events == nullptr || !events->is_mapping())
      continue;
    for (const auto& event : events->entries) {
      const auto* type = event.value.find("Type");
      const auto* props = event.value.find("Properties");
      const bool api = type && type->is_string() && type->text == "Api";
      const bool http = type && type->is_string() && type->text == "HttpApi";
      if (api && (props == nullptr || !props->is_mapping() || !props->find("RestApiId")))
        for (const auto* name :
             {"ServerlessRestApi", "ServerlessRestApiProdStage", "ServerlessRestApiDeployment"})
          m_generated.insert(name);
      if (http && (props == nullptr || !props->is_mapping() || !props->find("ApiId")))
        for (const auto* name : {"ServerlessHttpApi", "ServerlessHttpApiApiGatewayDefaultStage"})
          m_generated.insert(name);
    }
  }
  if (any_deployment_preference) {
    m_generated.insert("ServerlessDeploymentApplication");
    m_generated.insert("CodeDeployServiceRole");
  }
}

// Logical ids SAM generates from a resource's own id: FunctionRole, FunctionAliaslive,
// FunctionEventPermission, ApiProdStage, HttpApiApiGatewayDefaultStage, ... Only asked
// about names that are not declared, so it may be slow.
bool Loader::is_generated(std::string_view name) const {
  if (m_generated.count(std::string(name)) != 0)
    return true;
  const auto resolved_text = [&](const Node* node) -> std::string {
    if (node == nullptr)
      return {};
    return m_resolver->resolve(*node).text;
  };
  for (const auto* entry : m_resource_entries) {
    const auto& id = entry->key;
    if (!name.starts_with(id))
      continue;
    const auto suffix = name.substr(id.size());
    const auto& decl = m_scope.resources.at(id);
    const Node* properties = decl.node != nullptr ? decl.node->find("Properties") : nullptr;
    const auto property = [&](std::string_view key) -> const Node* {
      return properties != nullptr && properties->is_mapping() ? properties->find(key) : nullptr;
    };
    const auto one_of = [&](std::initializer_list<std::string_view> suffixes) {
      return std::find(suffixes.begin(), suffixes.end(), suffix) != suffixes.end();
    };
    if (decl.type == "AWS::Serverless::Function" || decl.type == "AWS::Serverless::StateMachine") {
      if (one_of({"Role", "DeploymentGroup", "Url", "UrlPublicPermissions", "EventInvokeConfig",
                  "Policy", "LogGroup"}))
        return true;
      std::string alias;
      if (const auto* value = property("AutoPublishAlias"))
        alias = resolved_text(value);
      else if (const auto it = m_globals.find("AWS::Serverless::Function"); it != m_globals.end())
        alias = resolved_text(it->second.find("AutoPublishAlias"));
      if (!alias.empty() && suffix == "Alias" + alphanumeric(alias))
        return true;
      if (const auto* events = property("Events"); events && events->is_mapping())
        for (const auto& event : events->entries)
          if (suffix.starts_with(event.key)) {
            const auto rest = suffix.substr(event.key.size());
            for (const auto* tail :
                 {"", "Permission", "Queue", "QueuePolicy", "Role", "Subscription",
                  "EventSourceMapping", "Rule", "Topic", "PermissionProd", "PermissionTest"})
              if (rest == tail)
                return true;
          }
    } else if (decl.type == "AWS::Serverless::Api") {
      if (one_of({"Deployment", "UsagePlan", "ApiKey", "UsagePlanKey", "DomainName",
                  "BasePathMapping", "RecordSetGroup"}))
        return true;
      if (suffix == alphanumeric(resolved_text(property("StageName"))) + "Stage")
        return true;
    } else if (decl.type == "AWS::Serverless::HttpApi") {
      if (one_of({"ApiGatewayDefaultStage", "DomainName", "ApiMapping", "RecordSetGroup"}))
        return true;
      const auto stage = resolved_text(property("StageName"));
      if (!stage.empty() && suffix == alphanumeric(stage) + "Stage")
        return true;
    }
  }
  return false;
}

std::string Loader::suggest_name(std::string_view name, bool resources, bool parameters) const {
  std::vector<std::string> names;
  if (resources)
    for (const auto* entry : m_resource_entries)
      names.push_back(entry->key);
  if (parameters) {
    for (const auto& [parameter, value] : m_scope.parameters)
      names.push_back(parameter);
    for (const auto* pseudo :
         {"AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::StackId", "AWS::Partition",
          "AWS::URLSuffix", "AWS::NotificationARNs", "AWS::NoValue"})
      names.emplace_back(pseudo);
  }
  if (auto close = support::closest_match(name, names))
    return fmt::format("; did you mean '{}'?", *close);
  return {};
}

// -------------------------------------------------------------------- conditions

void Loader::check_conditions() {
  const Node* section = m_root.find("Conditions");
  if (section == nullptr || !section->is_mapping())
    return;
  m_scope.conditions = section;
  for (const auto& entry : section->entries) {
    const auto key = entry.value.intrinsic(true);
    if (key != "Fn::Equals" && key != "Fn::And" && key != "Fn::Or" && key != "Fn::Not" &&
        key != "Condition") {
      error(entry.value.mark, "condition",
            fmt::format("the condition '{}' must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or "
                        "Condition",
                        entry.key));
      continue;
    }
    walk_refs(entry.value, "Conditions", nullptr, false);
  }
  // Cycles among conditions.
  std::map<std::string, std::vector<std::string>, std::less<>> graph;
  std::function<void(const Node&, std::vector<std::string>&)> collect =
      [&](const Node& node, std::vector<std::string>& out) {
        if (const auto key = node.intrinsic(true); key == "Condition") {
          const auto& arg = node.entries.front().value;
          if (arg.is_string())
            out.push_back(arg.text);
          return;
        }
        for (const auto& item : node.items)
          collect(item, out);
        for (const auto& e : node.entries)
          collect(e.value, out);
      };
  for (const auto& entry : section->entries)
    collect(entry.value, graph[entry.key]);
  std::map<std::string, int, std::less<>> state; // 0 new, 1 on stack, 2 done
  std::vector<std::string> stack;
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    state[name] = 1;
    stack.push_back(name);
    for (const auto& next : graph[name]) {
      if (graph.find(next) == graph.end())
        continue;
      if (state[next] == 1) {
        auto start = std::find(stack.begin(), stack.end(), next);
        std::vector<std::string> cycle(start, stack.end());
        cycle.push_back(next);
        const auto* first = section->find_entry(next);
        error(first->key_mark, "condition-cycle",
              fmt::format("circular condition reference: {}", support::join(cycle, " → ")));
      } else if (state[next] == 0) {
        visit(next);
      }
    }
    stack.pop_back();
    state[name] = 2;
  };
  for (const auto& entry : section->entries)
    if (state[entry.key] == 0)
      visit(entry.key);
}

// -------------------------------------------------------------------- references

void Loader::check_references() {
  if (m_resources != nullptr) {
    for (const auto* entry : m_resource_entries) {
      const Node& resource = entry->value;
      if (!resource.is_mapping())
        continue;
      const std::string* id = &entry->key;
      const auto& decl = m_scope.resources.at(entry->key);
      const bool sam_function = decl.type == "AWS::Serverless::Function";
      if (const auto* condition = resource.find("Condition"); condition && condition->is_string()) {
        m_used_conditions.insert(condition->text);
        if (m_scope.conditions == nullptr || m_scope.conditions->find(condition->text) == nullptr)
          error(condition->mark, "condition-undefined",
                fmt::format("the condition '{}' is not defined in Conditions", condition->text));
      }
      if (const auto* depends = resource.find("DependsOn")) {
        auto check = [&](const Node& item) {
          if (!item.is_string()) {
            error(item.mark, "type", "DependsOn names resources as strings");
            return;
          }
          if (item.text == entry->key) {
            error(item.mark, "cycle", fmt::format("'{}' depends on itself", item.text));
            return;
          }
          if (!m_scope.is_resource(item.text)) {
            if (is_generated(item.text))
              return;
            error(item.mark, "ref-undefined",
                  fmt::format("DependsOn names '{}', which is not a resource of this template{}",
                              item.text, suggest_name(item.text, true, false)));
            return;
          }
          m_edges[entry->key].emplace_back(item.text, item.mark);
        };
        if (depends->is_sequence())
          for (const auto& item : depends->items)
            check(item);
        else
          check(*depends);
      }
      if (const auto* properties = resource.find("Properties")) {
        if (decl.type.starts_with("AWS::Serverless::") && properties->is_mapping()) {
          for (const auto& property : properties->entries) {
            // What becomes resources of their own in the SAM transform (a function's events
            // and deployment group, a GraphQL API's data sources, resolvers, keys, schema) is
            // not a dependency of the resource itself.
            const bool moved = moved_by_transform(decl.type, property.key);
            if (decl.type == "AWS::Serverless::Api" && property.key == "EndpointConfiguration" &&
                property.value.is_mapping() && !is_symbolic(property.value)) {
              // The transform keeps Type, VPCEndpointIds and IpAddressType and drops the rest
              // (the schema check warns about it).
              for (const auto& item : property.value.entries)
                if (item.key == "Type" || item.key == "VPCEndpointIds" ||
                    item.key == "VpcEndpointIds" || item.key == "IpAddressType")
                  walk_refs(item.value, "Resources", id, false);
              continue;
            }
            walk_refs(property.value, "Resources", id, moved);
          }
          if (sam_function)
            add_event_api_edges(decl, *properties);
        } else {
          walk_refs(*properties, "Resources", id, false);
        }
      }
      if (const auto* metadata = resource.find("Metadata"))
        walk_refs(*metadata, "Metadata", id, true);
    }
  }
  if (m_globals_section != nullptr)
    walk_refs(*m_globals_section, "Globals", nullptr, true);
  if (m_outputs != nullptr) {
    for (const auto& output : m_outputs->entries) {
      if (!output.value.is_mapping()) {
        error(output.value.mark, "type",
              fmt::format("the output '{}' must be a mapping, not {}", output.key,
                          describe_kind(output.value)));
        continue;
      }
      m_schema->check_declaration(output.value, output_spec());
      if (const auto* condition = output.value.find("Condition");
          condition && condition->is_string())
        m_used_conditions.insert(condition->text);
      if (const auto* condition = output.value.find("Condition");
          condition && condition->is_string() &&
          (m_scope.conditions == nullptr || m_scope.conditions->find(condition->text) == nullptr))
        error(condition->mark, "condition-undefined",
              fmt::format("the condition '{}' is not defined in Conditions", condition->text));
      walk_refs(output.value, "Outputs", nullptr, false);
    }
  }
}

void Loader::add_edge(const std::string* resource, std::string_view target, Mark mark,
                      bool in_events) {
  if (resource == nullptr || in_events)
    return;
  // The implicit APIs are resources too once transformed (their body names the functions).
  const bool implicit_api = (target == "ServerlessRestApi" || target == "ServerlessHttpApi") &&
                            m_generated.count(std::string(target)) != 0;
  if (!m_scope.is_resource(target) && !implicit_api)
    return;
  m_edges[*resource].emplace_back(std::string(target), mark);
}

bool Loader::moved_by_transform(std::string_view type, std::string_view property) {
  if (type == "AWS::Serverless::Function")
    return property == "Events" || property == "DeploymentPreference";
  if (type == "AWS::Serverless::StateMachine")
    return property == "Events";
  if (type == "AWS::Serverless::GraphQLApi")
    return property == "DataSources" || property == "Functions" || property == "Resolvers" ||
           property == "ApiKeys" || property == "Cache" || property == "DomainName" ||
           property == "SchemaUri" || property == "SchemaInline";
  return false;
}

// An Api or HttpApi event puts the function's ARN into its API's OpenAPI body (the
// integration URI): the API depends on the function. Not for an API whose definition lives
// in S3 (DefinitionUri: the transform cannot edit it) or a plain API Gateway API (it only
// gets a permission).
void Loader::add_event_api_edges(const ResourceDecl& function, const Node& properties) {
  const Node* events = properties.find("Events");
  if (events == nullptr || !events->is_mapping())
    return;
  for (const auto& event : events->entries) {
    if (!event.value.is_mapping())
      continue;
    const Node* type = event.value.find("Type");
    if (type == nullptr || !type->is_string() || (type->text != "Api" && type->text != "HttpApi"))
      continue;
    const bool http = type->text == "HttpApi";
    const Node* props = event.value.find("Properties");
    const Node* reference = props != nullptr && props->is_mapping()
                                ? props->find(http ? "ApiId" : "RestApiId")
                                : nullptr;
    std::string api;
    if (reference == nullptr) {
      api = http ? "ServerlessHttpApi" : "ServerlessRestApi";
      if (m_scope.is_resource(api))
        continue; // reported as a name clash elsewhere
    } else {
      api = referenced_id(*reference);
      if (api.empty() && reference->is_string())
        api = reference->text;
      const auto it = m_scope.resources.find(api);
      if (it == m_scope.resources.end() ||
          it->second.type != (http ? "AWS::Serverless::HttpApi" : "AWS::Serverless::Api"))
        continue;
      const Node* api_properties =
          it->second.node != nullptr ? it->second.node->find("Properties") : nullptr;
      if (api_properties != nullptr && api_properties->is_mapping() &&
          api_properties->find("DefinitionUri") != nullptr)
        continue;
    }
    add_edge(&api, function.logical_id, event.key_mark, false);
  }
}

void Loader::check_ref_name(const Node& at_node, std::string_view name, std::string_view section,
                            const std::string* resource, bool in_events, std::string_view how) {
  if (is_pseudo_parameter(name))
    return;
  if (m_scope.parameters.count(name) != 0) {
    m_used_parameters.emplace(name);
    return;
  }
  const bool conditions = section == "Conditions";
  if (m_scope.is_resource(name)) {
    if (conditions)
      error(at_node.mark, "condition-ref",
            fmt::format("{} '{}' in Conditions: a condition can only refer to parameters", how,
                        name));
    else
      add_edge(resource, name, at_node.mark, in_events);
    return;
  }
  if (!conditions) {
    if (is_generated(name))
      return;
    // SAM's references to the resources its transform generates: Function.Alias,
    // Api.Stage, ... (sam_refs.cpp).
    if (const auto dot = name.find('.'); dot != std::string_view::npos) {
      const auto base = name.substr(0, dot);
      const auto property = name.substr(dot + 1);
      if (generated_ref(base, property) != nullptr || accepts_unmodelled_ref(base, property)) {
        add_edge(resource, base, at_node.mark, in_events);
        return;
      }
      if (auto why = why_not_generated(base, property); !why.empty()) {
        error(at_node.mark, "ref-undefined", fmt::format("{} '{}': {}", how, name, why));
        return;
      }
    }
  }
  error(at_node.mark, "ref-undefined",
        fmt::format("{} '{}', which is not a {} of this template{}", how, name,
                    conditions ? "parameter" : "parameter or resource",
                    suggest_name(name, !conditions, true)));
}

void Loader::check_getatt(const Node& at_node, std::string_view target, const Node* attribute,
                          std::string_view section, const std::string* resource, bool in_events,
                          bool sam_resolves) {
  if (section == "Conditions") {
    error(at_node.mark, "condition-ref",
          fmt::format("Fn::GetAtt '{}' in Conditions: a condition can only refer to parameters",
                      target));
    return;
  }
  if (sam_resolves && attribute != nullptr && attribute->is_string() &&
      check_generated_getatt(at_node, fmt::format("{}.{}", target, attribute->text), resource,
                             in_events, false))
    return;
  const auto it = m_scope.resources.find(std::string(target));
  if (it == m_scope.resources.end()) {
    if (is_generated(target))
      return;
    if (m_scope.parameters.count(target) != 0 || is_pseudo_parameter(target)) {
      error(at_node.mark, "getatt",
            fmt::format("Fn::GetAtt needs a resource, but '{}' is a parameter", target));
      return;
    }
    error(at_node.mark, "ref-undefined",
          fmt::format("Fn::GetAtt refers to '{}', which is not a resource of this template{}",
                      target, suggest_name(target, true, false)));
    return;
  }
  add_edge(resource, target, at_node.mark, in_events);
  if (attribute == nullptr || !attribute->is_string())
    return; // an attribute given by Ref is only known at deploy time
  const auto attributes = getatt_attributes(it->second.type);
  if (!attributes)
    return;
  const auto& name = attribute->text;
  for (const auto known : *attributes) {
    if (known == name)
      return;
    if (known.ends_with(".*") && name.starts_with(known.substr(0, known.size() - 1)) &&
        name.size() > known.size() - 1)
      return;
  }
  std::vector<std::string> names;
  for (const auto known : *attributes)
    if (known != "__none__")
      names.emplace_back(known);
  std::string hint;
  if (auto close = support::closest_match(name, names))
    hint = fmt::format("; did you mean '{}'?", *close);
  error(attribute->mark, "getatt-attribute",
        fmt::format("'{}' ({}) has no attribute '{}'{}{}", target, it->second.type, name, hint,
                    names.empty() ? std::string(" (it has none)")
                                  : fmt::format(" (it has {})", display_list(names))));
}

void Loader::walk_refs(const Node& node, std::string_view section, const std::string* resource,
                       bool in_events) {
  if (node.is_sequence()) {
    for (const auto& item : node.items)
      walk_refs(item, section, resource, in_events);
    return;
  }
  if (!node.is_mapping())
    return;
  const bool conditions = section == "Conditions";
  if (node.entries.size() == 1) {
    const auto& key = node.entries.front().key;
    const Node& arg = node.entries.front().value;
    if (key == "Ref") {
      if (!arg.is_string()) {
        error(arg.mark, "intrinsic", "Ref takes the name of a parameter or resource as a string");
        return;
      }
      check_ref_name(node, arg.text, section, resource, in_events, "Ref to");
      return;
    }
    if (key == "Condition" && (conditions || !arg.is_mapping())) {
      if (!conditions)
        return; // a property named Condition (e.g. in an IAM statement it is a mapping)
      if (!arg.is_string()) {
        error(arg.mark, "intrinsic", "Condition takes the name of a condition as a string");
        return;
      }
      m_used_conditions.insert(arg.text);
      if (m_scope.conditions == nullptr || m_scope.conditions->find(arg.text) == nullptr)
        error(node.mark, "condition-undefined",
              fmt::format("the condition '{}' is not defined in Conditions", arg.text));
      return;
    }
    if (key.starts_with("Fn::")) {
      const auto arity = [&](std::size_t min, std::size_t max, std::string_view shape) {
        if (!arg.is_sequence() || arg.items.size() < min || arg.items.size() > max) {
          error(node.mark, "intrinsic", fmt::format("{} takes {}", key, shape));
          return false;
        }
        return true;
      };
      if (key == "Fn::GetAtt") {
        if (arg.is_string()) {
          const auto dot = arg.text.find('.');
          if (dot == std::string::npos || dot == 0 || dot + 1 == arg.text.size()) {
            error(arg.mark, "intrinsic",
                  "Fn::GetAtt takes [Resource, Attribute] or \"Resource.Attribute\"");
            return;
          }
          Node attribute(NodeKind::string, arg.mark, arg.text.substr(dot + 1));
          // The long form's "Resource.Attribute" string: the SAM transform resolves only the
          // list form, so "Fn.Alias.AliasArn" here stays an attribute of Fn.
          check_getatt(node, std::string_view(arg.text).substr(0, dot), &attribute, section,
                       resource, in_events, false);
          return;
        }
        if (!arity(2, 2, "[Resource, Attribute]"))
          return;
        if (!arg.items[0].is_string()) {
          error(arg.items[0].mark, "intrinsic", "Fn::GetAtt takes the resource name as a string");
          return;
        }
        walk_refs(arg.items[1], section, resource, in_events);
        check_getatt(node, arg.items[0].text, &arg.items[1], section, resource, in_events, true);
        return;
      }
      if (key == "Fn::Sub") {
        const Node* text = &arg;
        const Node* variables = nullptr;
        if (arg.is_sequence()) {
          if (arg.items.size() != 2 || !arg.items[0].is_string() || !arg.items[1].is_mapping()) {
            error(node.mark, "intrinsic", "Fn::Sub takes a string or [string, {variables}]");
            return;
          }
          text = &arg.items[0];
          variables = &arg.items[1];
          walk_refs(*variables, section, resource, in_events);
        } else if (!arg.is_string()) {
          error(node.mark, "intrinsic", "Fn::Sub takes a string or [string, {variables}]");
          return;
        }
        std::string problem;
        const auto parts = parse_sub(text->text, &problem);
        if (!parts) {
          error(text->mark, "intrinsic", "Fn::Sub: " + problem);
          return;
        }
        if (variables == nullptr &&
            std::none_of(parts->begin(), parts->end(), [](const SubPart& p) { return p.variable; }))
          lint(node.mark, "lint-sub-needless",
               "Fn::Sub without variables: a plain string does the same");
        for (const auto& part : *parts) {
          if (!part.variable)
            continue;
          if (variables != nullptr && variables->find(part.text) != nullptr)
            continue;
          const auto dot = part.text.find('.');
          if (dot != std::string::npos && !is_pseudo_parameter(part.text)) {
            // ${Owner.Property[.Attribute]}: SAM's references to generated resources first.
            if (section != "Conditions" &&
                check_generated_getatt(*text, part.text, resource, in_events, true))
              continue;
            Node attribute(NodeKind::string, text->mark, part.text.substr(dot + 1));
            check_getatt(*text, std::string_view(part.text).substr(0, dot), &attribute, section,
                         resource, in_events, false);
            continue;
          }
          if (const auto it = m_scope.parameters.find(part.text);
              it != m_scope.parameters.end() && it->second.type.starts_with("List<"))
            error(text->mark, "intrinsic",
                  fmt::format("Fn::Sub cannot use the list parameter '{}' (join it first)",
                              part.text));
          check_ref_name(*text, part.text, section, resource, in_events, "Fn::Sub refers to");
        }
        return;
      }
      if (key == "Fn::If") {
        if (!arity(3, 3, "[Condition, ValueIfTrue, ValueIfFalse]"))
          return;
        const Node& name = arg.items[0];
        if (name.is_string())
          m_used_conditions.insert(name.text);
        if (!name.is_string())
          error(name.mark, "intrinsic", "Fn::If takes the condition name as a string");
        else if (m_scope.conditions == nullptr || m_scope.conditions->find(name.text) == nullptr)
          error(name.mark, "condition-undefined",
                fmt::format("Fn::If refers to the condition '{}', which is not defined in "
                            "Conditions",
                            name.text));
        walk_refs(arg.items[1], section, resource, in_events);
        walk_refs(arg.items[2], section, resource, in_events);
        return;
      }
      if (key == "Fn::FindInMap") {
        if (!arity(3, 4, "[MapName, TopLevelKey, SecondLevelKey]"))
          return;
        const Node& map = arg.items[0];
        if (map.is_string())
          m_used_mappings.insert(map.text);
        if (map.is_string() &&
            (m_scope.mappings == nullptr || m_scope.mappings->find(map.text) == nullptr)) {
          std::string hint;
          if (m_scope.mappings != nullptr) {
            std::vector<std::string> names;
            for (const auto& e : m_scope.mappings->entries)
              names.push_back(e.key);
            if (auto close = support::closest_match(map.text, names))
              hint = fmt::format("; did you mean '{}'?", *close);
          }
          error(map.mark, "mapping-undefined",
                fmt::format("Fn::FindInMap refers to the mapping '{}', which is not defined in "
                            "Mappings{}",
                            map.text, hint));
        }
        walk_refs(arg, section, resource, in_events);
        return;
      }
      if (key == "Fn::Join") {
        if (!arity(2, 2, "[Delimiter, [Values]]"))
          return;
        if (!arg.items[0].is_scalar())
          error(arg.items[0].mark, "intrinsic", "Fn::Join takes the delimiter as a string");
        walk_refs(arg.items[1], section, resource, in_events);
        return;
      }
      if (key == "Fn::Select") {
        if (!arity(2, 2, "[Index, [Values]]"))
          return;
        walk_refs(arg, section, resource, in_events);
        return;
      }
      if (key == "Fn::Split") {
        if (!arity(2, 2, "[Delimiter, String]"))
          return;
        walk_refs(arg, section, resource, in_events);
        return;
      }
      if (key == "Fn::Equals") {
        if (arity(2, 2, "[Value1, Value2]"))
          walk_refs(arg, section, resource, in_events);
        return;
      }
      if (key == "Fn::And" || key == "Fn::Or") {
        if (arity(2, 10, "a list of 2 to 10 conditions"))
          walk_refs(arg, section, resource, in_events);
        return;
      }
      if (key == "Fn::Not") {
        if (arity(1, 1, "a list of one condition"))
          walk_refs(arg, section, resource, in_events);
        return;
      }
      if (key == "Fn::Base64" || key == "Fn::GetAZs" || key == "Fn::ImportValue" ||
          key == "Fn::Cidr" || key == "Fn::Length" || key == "Fn::ToJsonString" ||
          key == "Fn::Transform" || key.starts_with("Fn::ForEach::") || key == "Fn::ValueOf" ||
          key == "Fn::GetParam") {
        if (key == "Fn::Cidr")
          arity(3, 3, "[IpBlock, Count, CidrBits]");
        if (key == "Fn::ImportValue" && arg.is_mapping() && arg.intrinsic() == "Ref" &&
            arg.entries.front().value.is_string() &&
            m_scope.is_resource(arg.entries.front().value.text))
          error(arg.mark, "intrinsic", "Fn::ImportValue cannot refer to a resource");
        walk_refs(arg, section, resource, in_events);
        return;
      }
      static const std::vector<std::string> k_functions = {
          "Fn::Base64", "Fn::Cidr",        "Fn::FindInMap",   "Fn::GetAtt", "Fn::GetAZs",
          "Fn::If",     "Fn::ImportValue", "Fn::Join",        "Fn::Select", "Fn::Split",
          "Fn::Sub",    "Fn::Transform",   "Fn::Equals",      "Fn::And",    "Fn::Or",
          "Fn::Not",    "Fn::Length",      "Fn::ToJsonString"};
      std::string hint;
      if (auto close = support::closest_match(key, k_functions))
        hint = fmt::format("; did you mean '{}'?", *close);
      error(node.entries.front().key_mark, "intrinsic-unknown",
            fmt::format("unknown intrinsic function '{}'{}", key, hint));
      return;
    }
  }
  for (const auto& entry : node.entries)
    walk_refs(entry.value, section, resource, in_events);
}

void Loader::check_cycles() {
  // Iterative DFS over resources in document order; each cycle reported once.
  std::unordered_map<std::string, int> state; // 0 new, 1 on stack, 2 done
  for (const auto* entry : m_resource_entries) {
    if (state[entry->key] != 0)
      continue;
    struct Frame {
      std::string id;
      std::size_t next = 0;
    };
    std::vector<Frame> stack;
    stack.push_back({entry->key, 0});
    state[entry->key] = 1;
    while (!stack.empty()) {
      auto& frame = stack.back();
      const auto it = m_edges.find(frame.id);
      if (it == m_edges.end() || frame.next >= it->second.size()) {
        state[frame.id] = 2;
        stack.pop_back();
        continue;
      }
      const auto& [target, mark] = it->second[frame.next++];
      const int target_state = state[target];
      if (target_state == 1) {
        std::vector<std::string> cycle;
        bool in_cycle = false;
        for (const auto& f : stack) {
          if (f.id == target)
            in_cycle = true;
          if (in_cycle)
            cycle.push_back(f.id);
        }
        cycle.push_back(target);
        if (cycle.size() == 2) {
          error(mark, "cycle", fmt::format("'{}' refers to itself", target));
        } else {
          const auto declared = m_scope.resources.find(target);
          error(declared != m_scope.resources.end() ? declared->second.mark : mark, "cycle",
                fmt::format("circular dependency: {}", support::join(cycle, " → ")));
        }
      } else if (target_state == 0) {
        state[target] = 1;
        stack.push_back({target, 0});
      }
    }
  }
}

} // namespace detail

} // namespace wisp::sam
