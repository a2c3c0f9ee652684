// --lint: best-practice warnings (codes lint-*). They never make a template invalid.

#include <wisp/support/strings.hpp>
#include <wisp/template/loader.hpp>
#include <wisp/template/rules.hpp>
#include <wisp/template/scalar.hpp>

#include <fmt/format.h>

#include <chrono>

namespace wisp::sam::detail {

namespace {

// Days from 1970-01-01 of a YYYY-MM-DD date; nullopt when malformed.
std::optional<long> days_of(std::string_view date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-')
    return std::nullopt;
  const auto number = [&](std::size_t at, std::size_t n) {
    int value = 0;
    for (std::size_t i = at; i < at + n; ++i)
      value = value * 10 + (date[i] - '0');
    return value;
  };
  const std::chrono::year_month_day ymd{std::chrono::year{number(0, 4)},
                                        std::chrono::month{static_cast<unsigned>(number(5, 2))},
                                        std::chrono::day{static_cast<unsigned>(number(8, 2))}};
  if (!ymd.ok())
    return std::nullopt;
  return std::chrono::sys_days{ymd}.time_since_epoch().count();
}

bool looks_like_secret(std::string_view name) {
  const auto lower = support::to_lower(name);
  for (const auto* word :
       {"password", "passwd", "secret", "token", "api_key", "apikey", "private_key", "credential"})
    if (lower.find(word) != std::string::npos)
      return true;
  return false;
}

bool is_dynamic_reference(std::string_view value) {
  return value.starts_with("{{resolve:");
}

} // namespace

void Loader::lint_function(const Function& function, const Node& properties) {
  if (!m_options.lint)
    return;
  const auto find = [&](std::string_view key) { return properties.find(key); };

  // A runtime deprecated within the next 180 days.
  if (const auto* node = find("Runtime"); node && node->is_scalar()) {
    if (const auto* runtime = find_runtime(node->text); runtime && m_today < runtime->deprecated) {
      const auto today = days_of(m_today);
      const auto deprecated = days_of(runtime->deprecated);
      if (today && deprecated && *deprecated - *today <= 180)
        lint(node->mark, "lint-runtime-deprecating",
             fmt::format("the runtime {} is deprecated on {} ({} days from now){}", runtime->name,
                         runtime->deprecated, *deprecated - *today,
                         runtime->successor.empty()
                             ? std::string()
                             : fmt::format("; plan the move to {}", runtime->successor)));
    }
  }

  // API Gateway stops waiting after 29 s (REST) / 30 s (HTTP API): a longer function
  // timeout behind an API only hides the gateway's 504.
  const Node* timeout = find("Timeout");
  if (timeout != nullptr && timeout->is_scalar()) {
    if (const auto seconds = number_as_int(timeout->text)) {
      for (const auto& event : function.events) {
        const bool rest = event.type == "Api";
        const bool http = event.type == "HttpApi";
        if ((rest && *seconds > 29) || (http && *seconds > 30)) {
          lint(timeout->mark, "lint-api-timeout",
               fmt::format("Timeout {} s is longer than {}'s {} s integration limit (event '{}')",
                           *seconds, rest ? "a REST API" : "an HTTP API", rest ? 29 : 30,
                           event.name));
          break;
        }
      }
    }
  }

  // Plain-text secrets in environment variables.
  if (const auto* environment = find("Environment"); environment && environment->is_mapping())
    if (const auto* variables = environment->find("Variables");
        variables && variables->is_mapping())
      for (const auto& entry : variables->entries)
        if (entry.value.is_string() && !entry.value.text.empty() && looks_like_secret(entry.key) &&
            !is_dynamic_reference(entry.value.text))
          lint(entry.value.mark, "lint-env-secret",
               fmt::format("'{}' looks like a secret written in plain text; use a "
                           "{{{{resolve:secretsmanager:...}}}} or {{{{resolve:ssm:...}}}} "
                           "reference, or read it at run time",
                           entry.key));

  if (const auto* node = find("ReservedConcurrentExecutions"); node && node->is_scalar())
    if (number_as_int(node->text) == 0)
      lint(node->mark, "lint-reserved-zero",
           "ReservedConcurrentExecutions 0 throttles every invocation of the function");

  // Canary/linear deployments without alarms cannot roll back on errors by themselves.
  if (function.deployment_preference && function.deployment_preference->enabled &&
      !function.deployment_preference->type.empty() &&
      function.deployment_preference->type != "AllAtOnce" &&
      function.deployment_preference->alarms.empty()) {
    const auto& source = function.deployment_preference->source;
    lint(Mark{source.line, source.column}, "lint-deployment-alarms",
         fmt::format("DeploymentPreference {} has no Alarms: a bad version is only rolled back "
                     "by a failing hook",
                     function.deployment_preference->type));
  }

  // Administrator rights.
  if (const auto* policies = find("Policies")) {
    const auto check_statement = [&](const Node& statement) {
      const Node* action = statement.find("Action");
      const Node* effect = statement.find("Effect");
      const Node* resource = statement.find("Resource");
      const auto is_star = [](const Node* node) {
        if (node == nullptr)
          return false;
        if (node->is_scalar())
          return node->text == "*";
        for (const auto& item : node->items)
          if (item.is_scalar() && item.text == "*")
            return true;
        return false;
      };
      if (effect != nullptr && effect->is_scalar() && effect->text == "Allow" && is_star(action) &&
          is_star(resource))
        lint(statement.mark, "lint-policy-admin",
             "a policy statement allows every action on every resource");
    };
    const auto check = [&](const Node& policy) {
      if (policy.is_scalar() && (policy.text == "AdministratorAccess" ||
                                 policy.text.ends_with(":policy/AdministratorAccess")))
        lint(policy.mark, "lint-policy-admin",
             "AdministratorAccess gives the function every right");
      if (policy.is_mapping())
        if (const auto* statements = policy.find("Statement")) {
          if (statements->is_sequence())
            for (const auto& statement : statements->items)
              check_statement(statement);
          else if (statements->is_mapping())
            check_statement(*statements);
        }
    };
    if (policies->is_sequence())
      for (const auto& policy : policies->items)
        check(policy);
    else
      check(*policies);
  }
}

void Loader::lint_checks() {
  if (const auto* section = m_root.find("Parameters");
      section && section->is_mapping() && m_root.find("Rules") == nullptr)
    for (const auto& entry : section->entries)
      if (m_used_parameters.count(entry.key) == 0)
        lint(entry.key_mark, "lint-unused-parameter",
             fmt::format("the parameter '{}' is not used", entry.key));
  if (m_scope.conditions != nullptr)
    for (const auto& entry : m_scope.conditions->entries)
      if (m_used_conditions.count(entry.key) == 0)
        lint(entry.key_mark, "lint-unused-condition",
             fmt::format("the condition '{}' is not used", entry.key));
  if (m_scope.mappings != nullptr)
    for (const auto& entry : m_scope.mappings->entries)
      if (m_used_mappings.count(entry.key) == 0)
        lint(entry.key_mark, "lint-unused-mapping",
             fmt::format("the mapping '{}' is not used", entry.key));
}

} // namespace wisp::sam::detail
