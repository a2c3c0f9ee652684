// `wisp logs`: from flags and the template to the sources to read (logs.hpp).

#include <wisp/logs/logs.hpp>

#include <wisp/aws/names.hpp>
#include <wisp/logs/local.hpp>
#include <wisp/logs/remote.hpp>
#include <wisp/logs/time.hpp>
#include <wisp/runtime/log_store.hpp>
#include <wisp/support/strings.hpp>
#include <wisp/template/load.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace wisp::logs {

namespace fs = std::filesystem;

namespace {

support::Error usage_error(std::string message) {
  return support::Error{std::move(message), {}, support::ExitCode::usage};
}

// The template, when there is one: an explicit -t/--template must exist; otherwise
// template.yaml or template.yml in the current directory, or none.
support::Result<std::optional<sam::Model>> load_template(const LogsRequest& request) {
  fs::path path = request.template_path;
  if (path.empty()) {
    auto found = sam::default_template_path(".");
    if (!found)
      return std::optional<sam::Model>();
    path = *found;
  } else {
    WISP_TRY(sam::resolve_template_path(path));
  }
  sam::LoadOptions options;
  options.template_path = path;
  options.parameter_overrides = request.parameter_overrides;
  options.check_code = false;
  if (!request.stack_name.empty())
    options.stack_name = request.stack_name;
  if (!request.client.region.empty())
    options.region = request.client.region;
  WISP_TRY_ASSIGN(auto model, sam::load_model(options));
  return std::optional<sam::Model>(std::move(model));
}

std::vector<std::string> function_ids(const sam::Model& model) {
  std::vector<std::string> ids;
  for (const auto& function : model.functions)
    ids.push_back(function.logical_id);
  return ids;
}

support::Error unknown_function(const sam::Model& model, const std::string& name) {
  const auto ids = function_ids(model);
  std::string message =
      fmt::format("unknown function '{}': {} has no function with that logical id or "
                  "FunctionName",
                  name, model.template_path.filename().string());
  if (auto close = support::closest_match(name, ids))
    message += fmt::format("; did you mean '{}'?", *close);
  else if (!ids.empty())
    message += fmt::format(" (its functions: {})", support::join(ids, ", "));
  return support::Error{std::move(message), {}, support::ExitCode::failure};
}

// A template function named by -n: its logical id, its FunctionName, or (with a stack
// name) the physical name wisp deploy gives it.
const sam::Function* find_function(const sam::Model& model, const std::string& name,
                                   const std::string& stack) {
  if (const auto* function = model.find_function(name))
    return function;
  if (!stack.empty())
    for (const auto& function : model.functions)
      if (aws::function_name(stack, function.logical_id, function.function_name) == name)
        return &function;
  return nullptr;
}

support::Result<Source> remote_source(const sam::Function& function, const std::string& stack) {
  if (function.function_name.empty() && stack.empty())
    return support::failf("--stack-name is needed to find function {} (it has no FunctionName, "
                          "so its name is <stack-name>-{}); or give its log group with "
                          "--cw-log-group",
                          function.logical_id, function.logical_id);
  Source source;
  source.label = function.logical_id;
  source.function = aws::function_name(stack, function.logical_id, function.function_name);
  source.log_group =
      function.log_group.empty() ? "/aws/lambda/" + source.function : function.log_group;
  return source;
}

std::vector<std::string> store_functions(const fs::path& root) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec))
    if (entry.is_directory(ec))
      names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

support::Status remote_sources(const LogsRequest& request, const std::optional<sam::Model>& model,
                               Plan& plan) {
  for (const auto& name : request.names) {
    if (model) {
      const auto* function = find_function(*model, name, request.stack_name);
      if (function == nullptr)
        return tl::unexpected(unknown_function(*model, name));
      WISP_TRY_ASSIGN(auto source, remote_source(*function, request.stack_name));
      plan.sources.push_back(std::move(source));
    } else {
      // No template: the name is the function's physical name (as SAM CLI takes it).
      Source source;
      source.label = name;
      source.function = name;
      source.log_group = "/aws/lambda/" + name;
      plan.sources.push_back(std::move(source));
    }
  }
  if (request.names.empty() && request.log_groups.empty()) {
    if (!model)
      return support::fail(
          "no template (template.yaml) to take the functions from: name functions with -n, give "
          "log groups with --cw-log-group, or use -t/--template");
    if (model->functions.empty())
      return support::failf("{} has no functions", model->template_path.filename().string());
    for (const auto& function : model->functions) {
      WISP_TRY_ASSIGN(auto source, remote_source(function, request.stack_name));
      plan.sources.push_back(std::move(source));
    }
  }
  for (const auto& group : request.log_groups) {
    Source source;
    source.label = group;
    source.log_group = group;
    plan.sources.push_back(std::move(source));
  }
  return {};
}

support::Status local_sources(const LogsRequest& request, const std::optional<sam::Model>& model,
                              Plan& plan) {
  for (const auto& name : request.names) {
    Source source;
    if (model) {
      const auto* function = model->find_function(name);
      if (function == nullptr)
        return tl::unexpected(unknown_function(*model, name));
      source.label = function->logical_id;
      source.function = function->logical_id;
    } else {
      const auto known = store_functions(plan.store_root);
      const auto dir = runtime::log_store_function_dir(plan.store_root, name).filename().string();
      if (std::find(known.begin(), known.end(), dir) == known.end()) {
        std::string message =
            fmt::format("unknown function '{}': no template here, and {} has no local logs for it",
                        name, plan.store_root.string());
        if (auto close = support::closest_match(name, known))
          message += fmt::format("; did you mean '{}'?", *close);
        else if (!known.empty())
          message += fmt::format(" (functions with local logs: {})", support::join(known, ", "));
        return support::fail(std::move(message));
      }
      source.label = name;
      source.function = name;
    }
    plan.sources.push_back(std::move(source));
  }
  if (request.names.empty() && request.log_groups.empty()) {
    if (model) {
      if (model->functions.empty())
        return support::failf("{} has no functions", model->template_path.filename().string());
      for (const auto& function : model->functions)
        plan.sources.push_back({function.logical_id, function.logical_id, {}, {}});
    } else {
      const auto known = store_functions(plan.store_root);
      if (known.empty())
        return support::failf("no template here and no local logs in {}: name functions with -n "
                              "or use -t/--template",
                              plan.store_root.string());
      for (const auto& name : known)
        plan.sources.push_back({name, name, {}, {}});
    }
  }
  for (const auto& group : request.log_groups)
    plan.sources.push_back({group, {}, group, {}});
  return {};
}

} // namespace

support::Result<Plan> plan(const LogsRequest& request, std::chrono::system_clock::time_point now) {
  Plan plan;
  plan.local = request.local;
  plan.tail = request.tail;
  plan.stage = request.stage;
  if (request.tail && !request.end_time.empty())
    return tl::unexpected(
        usage_error("--tail follows new events as they arrive: it cannot be combined with "
                    "--end-time"));
  if (request.local && !request.stage.empty())
    return tl::unexpected(usage_error(
        "--stage selects the versions a deployed stage routes to; local logs (--local) are all "
        "$LATEST"));

  auto pattern = FilterPattern::parse(request.filter);
  if (!pattern)
    return tl::unexpected(pattern.error());
  plan.pattern = std::move(*pattern);

  auto start = parse_time(request.start_time.empty() ? "10m ago" : request.start_time, now);
  if (!start)
    return support::failf("--start-time: {}", start.error().message);
  plan.start_ms = *start;
  if (!request.end_time.empty()) {
    auto end = parse_time(request.end_time, now);
    if (!end)
      return support::failf("--end-time: {}", end.error().message);
    if (*end < plan.start_ms)
      return support::failf("--end-time ({}) is before --start-time ({})", format_utc(*end),
                            format_utc(plan.start_ms));
    plan.end_ms = *end;
  }

  // The template is read unless only log groups are asked for.
  std::optional<sam::Model> model;
  if (!request.names.empty() || request.log_groups.empty() || !request.template_path.empty()) {
    WISP_TRY_ASSIGN(model, load_template(request));
  }

  if (request.local) {
    fs::path base = model ? model->base_dir : fs::current_path();
    if (!model && !request.template_path.empty())
      base = fs::absolute(request.template_path).parent_path();
    plan.store_root = base / ".wisp" / "logs";
    WISP_TRY(local_sources(request, model, plan));
  } else {
    WISP_TRY(remote_sources(request, model, plan));
  }

  // One source per log group (a function named twice, or also given as a group).
  std::set<std::string> seen;
  std::vector<Source> unique;
  for (auto& source : plan.sources) {
    const auto key = source.function + '\0' + source.log_group;
    if (seen.insert(key).second)
      unique.push_back(std::move(source));
  }
  plan.sources = std::move(unique);

  if (!request.local) {
    auto client = aws::make_client(request.client);
    if (!client)
      return tl::unexpected(client.error());
    plan.client = std::move(*client);
    if (!request.stage.empty()) {
      for (auto& source : plan.sources) {
        if (source.function.empty()) {
          plan.warnings.push_back(fmt::format(
              "--stage does not apply to log group {}: it is not a function's", source.log_group));
          continue;
        }
        WISP_TRY_ASSIGN(source.versions,
                        alias_versions(*plan.client, source.function, request.stage));
      }
    }
  }
  return plan;
}

support::Status run(const Plan& plan, const Sink& sink) {
  return plan.local ? detail::run_local(plan, sink) : detail::run_remote(plan, sink);
}

} // namespace wisp::logs
