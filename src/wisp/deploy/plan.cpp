// Plan rendering (text and JSON).

#include <wisp/deploy/deploy.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace wisp::deploy {

namespace json = boost::json;

bool Plan::has_changes() const {
  return std::any_of(changes.begin(), changes.end(),
                     [](const Change& c) { return c.action != Action::unchanged; });
}

std::size_t Plan::count(Action action) const {
  return static_cast<std::size_t>(std::count_if(
      changes.begin(), changes.end(), [&](const Change& c) { return c.action == action; }));
}

namespace {
std::string_view action_name(Action action) {
  switch (action) {
  case Action::create:
    return "create";
  case Action::update:
    return "update";
  case Action::unchanged:
    return "unchanged";
  case Action::remove:
    return "delete";
  }
  return "";
}
} // namespace

std::string render_plan(const Plan& plan, const support::Style& style) {
  std::string out = fmt::format("Plan for {} stage {} ({}, s3://{}/{}):\n", style.bold(plan.stack),
                                style.bold(plan.stage), plan.region, plan.bucket, plan.prefix);
  std::size_t kind_width = 4;
  std::size_t name_width = 4;
  for (const auto& change : plan.changes) {
    kind_width = std::max(kind_width, change.kind.size());
    name_width = std::max(name_width, change.name.size());
  }
  name_width = std::min<std::size_t>(name_width, 48);
  for (const auto& change : plan.changes) {
    std::string symbol;
    switch (change.action) {
    case Action::create:
      symbol = style.green("+");
      break;
    case Action::update:
      symbol = style.yellow("~");
      break;
    case Action::unchanged:
      symbol = style.dim("=");
      break;
    case Action::remove:
      symbol = style.red("-");
      break;
    }
    std::string details;
    for (const auto& detail : change.details)
      details += (details.empty() ? "" : "; ") + detail;
    auto line = fmt::format("{:<{}}  {:<{}}", change.kind, kind_width, change.name, name_width);
    if (!details.empty())
      line += "  " + details;
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out +=
        "  " + symbol + " " + (change.action == Action::unchanged ? style.dim(line) : line) + "\n";
  }
  const auto created = plan.count(Action::create);
  const auto updated = plan.count(Action::update);
  const auto removed = plan.count(Action::remove);
  const auto unchanged = plan.count(Action::unchanged);
  if (!plan.has_changes())
    out += fmt::format("No changes: {} unchanged.\n", unchanged);
  else
    out += fmt::format("Plan: {} to create, {} to update, {} to delete, {} unchanged.\n", created,
                       updated, removed, unchanged);
  return out;
}

json::object plan_to_json(const Plan& plan) {
  json::array changes;
  for (const auto& change : plan.changes) {
    json::array details;
    for (const auto& d : change.details)
      details.emplace_back(d);
    changes.push_back(json::object{{"action", action_name(change.action)},
                                   {"kind", change.kind},
                                   {"name", change.name},
                                   {"details", std::move(details)}});
  }
  return {{"stack", plan.stack},
          {"stage", plan.stage},
          {"region", plan.region},
          {"bucket", plan.bucket},
          {"prefix", plan.prefix},
          {"changes", std::move(changes)},
          {"summary", json::object{{"create", plan.count(Action::create)},
                                   {"update", plan.count(Action::update)},
                                   {"delete", plan.count(Action::remove)},
                                   {"unchanged", plan.count(Action::unchanged)}}}};
}

std::string managed_bucket_name(std::string_view account, std::string_view region) {
  return fmt::format("wisp-managed-{}-{}", account, region);
}

} // namespace wisp::deploy
