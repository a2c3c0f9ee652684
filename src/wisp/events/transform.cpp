#include <wisp/events/transform.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <cctype>
#include <vector>

namespace wisp::events {

namespace json = boost::json;

namespace {

struct Step {
  enum class Kind { name, index, any } kind = Kind::name;
  std::string name;
  std::size_t index = 0;
};

tl::expected<std::vector<Step>, std::string> parse_path(std::string_view path) {
  if (path.empty() || path[0] != '$')
    return tl::unexpected(fmt::format("'{}' is not a JSON path (it starts with $)", path));
  std::vector<Step> steps;
  std::size_t i = 1;
  while (i < path.size()) {
    if (path[i] == '.') {
      ++i;
      const auto start = i;
      while (i < path.size() && path[i] != '.' && path[i] != '[')
        ++i;
      const auto name = path.substr(start, i - start);
      if (name.empty())
        return tl::unexpected(fmt::format("'{}': an empty name after '.'", path));
      if (name == "*")
        steps.push_back({Step::Kind::any, {}, 0});
      else
        steps.push_back({Step::Kind::name, std::string(name), 0});
      continue;
    }
    if (path[i] == '[') {
      const auto close = path.find(']', i);
      if (close == std::string_view::npos)
        return tl::unexpected(fmt::format("'{}': '[' without ']'", path));
      const auto inside = path.substr(i + 1, close - i - 1);
      if (inside == "*") {
        steps.push_back({Step::Kind::any, {}, 0});
      } else if (inside.size() >= 2 && (inside.front() == '\'' || inside.front() == '"') &&
                 inside.back() == inside.front()) {
        steps.push_back({Step::Kind::name, std::string(inside.substr(1, inside.size() - 2)), 0});
      } else {
        std::size_t index = 0;
        if (inside.empty())
          return tl::unexpected(fmt::format("'{}': an empty index", path));
        for (const char c : inside) {
          if (c < '0' || c > '9')
            return tl::unexpected(fmt::format("'{}': '{}' is not an array index", path, inside));
          index = index * 10 + static_cast<std::size_t>(c - '0');
        }
        steps.push_back({Step::Kind::index, {}, index});
      }
      i = close + 1;
      continue;
    }
    return tl::unexpected(fmt::format("'{}': unexpected '{}'", path, path[i]));
  }
  return steps;
}

void append_escaped(std::string& out, std::string_view text) {
  const auto quoted = json::serialize(json::string(text));
  out.append(quoted, 1, quoted.size() - 2);
}

} // namespace

tl::expected<void, std::string> check_json_path(std::string_view path) {
  auto steps = parse_path(path);
  if (!steps)
    return tl::unexpected(steps.error());
  return {};
}

std::optional<json::value> eval_json_path(const json::value& document, std::string_view path) {
  auto steps = parse_path(path);
  if (!steps)
    return std::nullopt;
  std::vector<const json::value*> current{&document};
  bool multi = false;
  for (const auto& step : *steps) {
    std::vector<const json::value*> next;
    for (const auto* node : current) {
      switch (step.kind) {
      case Step::Kind::name:
        if (node->is_object())
          if (const auto* child = node->as_object().if_contains(step.name))
            next.push_back(child);
        break;
      case Step::Kind::index:
        if (node->is_array() && step.index < node->as_array().size())
          next.push_back(&node->as_array()[step.index]);
        break;
      case Step::Kind::any:
        multi = true;
        if (node->is_array())
          for (const auto& item : node->as_array())
            next.push_back(&item);
        else if (node->is_object())
          for (const auto& [key, item] : node->as_object())
            next.push_back(&item);
        break;
      }
    }
    current = std::move(next);
  }
  if (multi) {
    if (current.empty())
      return std::nullopt;
    json::array list;
    for (const auto* node : current)
      list.push_back(*node);
    return json::value(std::move(list));
  }
  if (current.empty())
    return std::nullopt;
  return *current.front();
}

tl::expected<TargetInput, std::string> TargetInput::from_properties(const json::object& props) {
  TargetInput out;
  int given = 0;
  if (const auto* input = props.if_contains("Input")) {
    ++given;
    if (!input->is_string())
      return tl::unexpected(std::string("Input must be a string of JSON text"));
    boost::system::error_code ec;
    (void)json::parse(input->as_string(), ec);
    if (ec)
      return tl::unexpected(fmt::format("Input is not valid JSON ({})", ec.message()));
    out.input = std::string(input->as_string());
  }
  if (const auto* path = props.if_contains("InputPath")) {
    ++given;
    if (!path->is_string())
      return tl::unexpected(
          std::string("InputPath must be a string (a JSON path such as $.detail)"));
    if (auto ok = check_json_path(path->as_string()); !ok)
      return tl::unexpected("InputPath " + ok.error());
    out.input_path = std::string(path->as_string());
  }
  if (const auto* transformer = props.if_contains("InputTransformer")) {
    ++given;
    if (!transformer->is_object())
      return tl::unexpected(std::string("InputTransformer must be an object with InputTemplate"));
    const auto& object = transformer->as_object();
    const auto* input_template = object.if_contains("InputTemplate");
    if (input_template == nullptr || !input_template->is_string())
      return tl::unexpected(std::string("InputTransformer.InputTemplate (a string) is required"));
    out.input_template = std::string(input_template->as_string());
    if (const auto* paths = object.if_contains("InputPathsMap")) {
      if (!paths->is_object())
        return tl::unexpected(
            std::string("InputTransformer.InputPathsMap must map names to JSON paths"));
      for (const auto& [name, path] : paths->as_object()) {
        if (!path.is_string())
          return tl::unexpected(
              fmt::format("InputPathsMap.{} must be a JSON path", std::string(name)));
        if (std::string_view(name).starts_with("aws."))
          return tl::unexpected(fmt::format(
              "InputPathsMap.{}: names starting with 'aws.' are reserved", std::string(name)));
        if (auto ok = check_json_path(path.as_string()); !ok)
          return tl::unexpected(fmt::format("InputPathsMap.{}: {}", std::string(name), ok.error()));
        out.paths_map[std::string(name)] = std::string(path.as_string());
      }
    }
  }
  if (given > 1)
    return tl::unexpected(
        std::string("only one of Input, InputPath and InputTransformer may be given"));
  return out;
}

std::string TargetInput::apply(const json::value& event, std::string_view ingestion_time) const {
  if (input)
    return *input;
  if (input_path) {
    auto found = eval_json_path(event, *input_path);
    return found ? json::serialize(*found) : std::string("null");
  }
  if (!input_template)
    return json::serialize(event);
  const std::string_view text = *input_template;
  std::size_t first = 0;
  while (first < text.size() && std::isspace(static_cast<unsigned char>(text[first])) != 0)
    ++first;
  const bool is_json = first < text.size() && (text[first] == '{' || text[first] == '[');

  // Values of the placeholders, as JSON.
  std::map<std::string, std::optional<json::value>, std::less<>> values;
  for (const auto& [name, path] : paths_map)
    values[name] = eval_json_path(event, path);
  values["aws.events.rule-arn"] = json::value(json::string(rule_arn));
  values["aws.events.rule-name"] = json::value(json::string(rule_name));
  values["aws.events.event.ingestion-time"] = json::value(json::string(ingestion_time));
  std::string out;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (is_json && in_string && c == '\\' && i + 1 < text.size()) {
      out += c;
      out += text[++i];
      continue;
    }
    if (is_json && c == '"') {
      in_string = !in_string;
      out += c;
      continue;
    }
    if (c == '<') {
      const auto close = text.find('>', i);
      if (close != std::string_view::npos) {
        const auto name = text.substr(i + 1, close - i - 1);
        if (name == "aws.events.event" || name == "aws.events.event.json") {
          if (name == "aws.events.event" && event.is_object()) {
            auto copy = event.as_object();
            copy.erase("detail");
            out += json::serialize(copy);
          } else {
            out += json::serialize(event);
          }
          i = close;
          continue;
        }
        if (const auto it = values.find(name); it != values.end()) {
          const auto& value = it->second;
          if (!is_json) {
            if (value && value->is_string())
              out += value->as_string();
            else if (value)
              out += json::serialize(*value);
          } else if (in_string) {
            if (value && value->is_string())
              append_escaped(out, value->as_string());
            else if (value)
              append_escaped(out, json::serialize(*value));
          } else {
            out += value ? json::serialize(*value) : std::string("null");
          }
          i = close;
          continue;
        }
      }
    }
    out += c;
  }
  if (!is_json)
    return json::serialize(json::string(out));
  return out;
}

} // namespace wisp::events
