#include <wisp/artifact/packaged.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

namespace wisp::artifact {

namespace {

struct Edit {
  std::size_t begin = 0;
  std::size_t end = 0; // exclusive
  std::string text;
};

// The end of the scalar that starts at `pos` (quoted, or plain up to a comment or the end
// of the line).
std::size_t scalar_end(std::string_view text, std::size_t pos) {
  if (pos >= text.size())
    return pos;
  const char quote = text[pos];
  if (quote == '"' || quote == '\'') {
    std::size_t i = pos + 1;
    while (i < text.size()) {
      if (quote == '"' && text[i] == '\\') {
        i += 2;
        continue;
      }
      if (text[i] == quote) {
        if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
          i += 2;
          continue;
        }
        return i + 1;
      }
      ++i;
    }
    return text.size();
  }
  std::size_t i = pos;
  while (i < text.size() && text[i] != '\n' && text[i] != '\r') {
    if (text[i] == '#' && i > pos && (text[i - 1] == ' ' || text[i - 1] == '\t'))
      break;
    ++i;
  }
  while (i > pos && (text[i - 1] == ' ' || text[i - 1] == '\t'))
    --i;
  return i;
}

// The extent of a node's text: a scalar's characters, or a flow collection's brackets.
// Block collections are replaced from their mark to the end of their last line.
std::size_t node_end(std::string_view text, const YAML::Node& node) {
  const auto pos = static_cast<std::size_t>(node.Mark().pos);
  if (node.IsScalar())
    return scalar_end(text, pos);
  if (pos < text.size() && (text[pos] == '{' || text[pos] == '[')) {
    int depth = 0;
    char quote = 0;
    for (std::size_t i = pos; i < text.size(); ++i) {
      const char c = text[i];
      if (quote != 0) {
        if (c == '\\' && quote == '"')
          ++i;
        else if (c == quote)
          quote = 0;
        continue;
      }
      if (c == '"' || c == '\'')
        quote = c;
      else if (c == '{' || c == '[')
        ++depth;
      else if ((c == '}' || c == ']') && --depth == 0)
        return i + 1;
    }
    return text.size();
  }
  // A block collection: up to the end of the line of its deepest last descendant.
  // (yaml-cpp's Node::operator= writes into the referenced node: use reset to rebind.)
  YAML::Node last;
  last.reset(node);
  while (last.IsMap() || last.IsSequence()) {
    YAML::Node next;
    bool found = false;
    if (last.IsMap()) {
      for (auto it = last.begin(); it != last.end(); ++it) {
        next.reset(it->second);
        found = true;
      }
    } else {
      for (auto it = last.begin(); it != last.end(); ++it) {
        next.reset(*it);
        found = true;
      }
    }
    if (!found)
      break;
    last.reset(next);
  }
  auto end = static_cast<std::size_t>(last.Mark().pos);
  end = last.IsScalar() ? scalar_end(text, end) : end;
  return end;
}

std::string quote_json(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

// A scalar in the style of the one it replaces (JSON strings always quoted).
std::string scalar_like(std::string_view original, std::string_view value, bool json) {
  if (json || (!original.empty() && original.front() == '"'))
    return quote_json(value);
  if (!original.empty() && original.front() == '\'')
    return "'" + std::string(value) + "'";
  // Plain when safe, else double-quoted.
  const bool plain_ok =
      !value.empty() && value.front() != ' ' && value.back() != ' ' &&
      value.find(": ") == std::string_view::npos && value.find(" #") == std::string_view::npos &&
      (std::string_view(",[]{}#&*!|>'\"%@`").find(value.front()) == std::string_view::npos) &&
      // "-", "?" and ":" start a plain scalar unless a space follows ("--flag" is plain).
      (std::string_view("-?:").find(value.front()) == std::string_view::npos ||
       (value.size() > 1 && value[1] != ' '));
  return plain_ok ? std::string(value) : quote_json(value);
}

std::string flow_map(const std::vector<std::pair<std::string, std::string>>& items, bool json) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0)
      out += ", ";
    if (json)
      out += quote_json(items[i].first) + ": " + quote_json(items[i].second);
    else
      out += items[i].first + ": " + scalar_like({}, items[i].second, false);
  }
  return out + "}";
}

} // namespace

namespace {
support::Result<std::string> rewrite(std::string_view text, const std::string& file,
                                     const std::vector<ArtifactLocation>& locations);
}

support::Result<std::string> rewrite_template(std::string_view text, const std::string& file,
                                              const std::vector<ArtifactLocation>& locations) {
  try {
    return rewrite(text, file, locations);
  } catch (const YAML::Exception& e) {
    return support::failf("{}: cannot rewrite the template: {}", file, e.what());
  }
}

namespace {

support::Result<std::string> rewrite(std::string_view text, const std::string& file,
                                     const std::vector<ArtifactLocation>& locations) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return support::fail(support::Diagnostic{file, e.mark.line + 1, e.mark.column + 1,
                                             support::Severity::error, "yaml-syntax", e.msg});
  }
  const auto first = text.find_first_not_of(" \t\r\n");
  const bool json = first != std::string_view::npos && text[first] == '{';
  const YAML::Node& const_root = root;
  const YAML::Node resources = const_root["Resources"];
  if (!(resources.IsDefined() && resources.IsMap()))
    return support::failf("{}: no Resources section", file);

  std::vector<Edit> edits;
  for (const auto& location : locations) {
    const YAML::Node resource = resources[location.logical_id];
    if (!(resource.IsDefined() && resource.IsMap()))
      return support::failf("{}: no resource {} to point at its artifact", file,
                            location.logical_id);
    const auto type_node = resource["Type"];
    const auto type =
        type_node.IsDefined() && type_node.IsScalar() ? type_node.as<std::string>() : std::string{};
    const auto properties = resource["Properties"];
    if (!(properties.IsDefined() && properties.IsMap()))
      return support::failf("{}: resource {} has no Properties mapping", file, location.logical_id);

    std::string property;
    std::string value;                                        // a scalar value
    std::vector<std::pair<std::string, std::string>> mapping; // or a mapping value
    const bool s3 = !location.s3_bucket.empty();
    if (!location.template_url.empty()) {
      if (type != "AWS::Serverless::Application" && type != "AWS::CloudFormation::Stack")
        return support::failf("{}: resource {} of type {} is not a nested stack", file,
                              location.logical_id, type);
      property = type == "AWS::Serverless::Application" ? "Location" : "TemplateURL";
      value = location.template_url;
    } else if (type == "AWS::Serverless::Function") {
      if (!location.image_uri.empty()) {
        property = "ImageUri";
        value = location.image_uri;
      } else {
        property = "CodeUri";
        value = s3 ? fmt::format("s3://{}/{}", location.s3_bucket, location.s3_key)
                   : location.local_path;
      }
    } else if (type == "AWS::Serverless::LayerVersion") {
      property = "ContentUri";
      value =
          s3 ? fmt::format("s3://{}/{}", location.s3_bucket, location.s3_key) : location.local_path;
    } else if (type == "AWS::Lambda::Function" || type == "AWS::Lambda::LayerVersion") {
      property = type == "AWS::Lambda::Function" ? "Code" : "Content";
      if (!location.image_uri.empty())
        mapping = {{"ImageUri", location.image_uri}};
      else if (s3)
        mapping = {{"S3Bucket", location.s3_bucket}, {"S3Key", location.s3_key}};
      else
        value = location.local_path;
    } else {
      return support::failf("{}: resource {} of type {} has no code to point at", file,
                            location.logical_id, type);
    }
    const auto rendered_for = [&](std::string_view original) {
      return mapping.empty() ? scalar_like(original, value, json) : flow_map(mapping, json);
    };

    // Inserts `key: value` (value already rendered) at the start of a mapping node.
    const auto insert_into = [&](const YAML::Node& target, const std::string& key,
                                 const std::string& rendered) {
      const auto pos = static_cast<std::size_t>(target.Mark().pos);
      if (pos < text.size() && text[pos] == '{') {
        const bool empty = target.size() == 0;
        edits.push_back(
            Edit{pos + 1, pos + 1,
                 (json ? quote_json(key) : key) + ": " + rendered + (empty ? "" : ", ")});
      } else {
        const auto line_start = text.rfind('\n', pos == 0 ? 0 : pos - 1);
        const auto indent = pos - (line_start == std::string_view::npos ? 0 : line_start + 1);
        edits.push_back(Edit{pos, pos, key + ": " + rendered + "\n" + std::string(indent, ' ')});
      }
    };
    // Sets a scalar property, replacing it in place when it is there.
    const auto set_scalar = [&](const YAML::Node& target, const std::string& key,
                                const std::string& text_value) -> support::Status {
      const auto node = target[key];
      if (node.IsDefined() && !node.IsNull()) {
        if (!node.IsScalar())
          return support::failf("{}: {} of {} is not a plain value; cannot set it", file, key,
                                location.logical_id);
        const auto begin = static_cast<std::size_t>(node.Mark().pos);
        const auto end = node_end(text, node);
        edits.push_back(
            Edit{begin, end, scalar_like(text.substr(begin, end - begin), text_value, json)});
        return {};
      }
      if (node.IsDefined())
        return support::failf("{}: {} of {} is empty", file, key, location.logical_id);
      insert_into(target, key, scalar_like({}, text_value, json));
      return {};
    };

    const auto existing = properties[property];
    if (existing.IsDefined() && !existing.IsNull()) {
      const auto begin = static_cast<std::size_t>(existing.Mark().pos);
      const auto end = node_end(text, existing);
      if (!existing.IsScalar() && !(begin < text.size() && (text[begin] == '{'))) {
        // A block mapping: replace it by a flow mapping on the key's line.
        // Find the key's line end (the value starts on the next line).
        const auto key_line_end = text.rfind('\n', begin);
        const auto colon = text.rfind(':', key_line_end);
        if (key_line_end == std::string_view::npos || colon == std::string_view::npos)
          return support::failf("{}: cannot rewrite {} of {}", file, property, location.logical_id);
        edits.push_back(Edit{colon + 1, end, " " + rendered_for({})});
      } else {
        edits.push_back(Edit{begin, end, rendered_for(text.substr(begin, end - begin))});
      }
    } else if (existing.IsDefined() && existing.IsNull()) {
      return support::failf("{}: {} of {} is empty", file, property, location.logical_id);
    } else {
      // Missing: add the property at the start of Properties.
      insert_into(properties, property, rendered_for({}));
    }

    if (!location.handler.empty())
      WISP_TRY(set_scalar(properties, "Handler", location.handler));
    if (!location.environment.empty()) {
      const auto environment = properties["Environment"];
      const auto variables =
          environment.IsDefined() && environment.IsMap() ? environment["Variables"] : YAML::Node();
      const auto render_variables = [&] {
        std::string out = "{";
        for (std::size_t i = 0; i < location.environment.size(); ++i) {
          const auto& [name, variable] = location.environment[i];
          out += (i == 0 ? "" : ", ") + (json ? quote_json(name) : name) + ": " +
                 scalar_like({}, variable, json);
        }
        return out + "}";
      };
      if (!environment.IsDefined() || environment.IsNull()) {
        if (environment.IsDefined())
          return support::failf("{}: Environment of {} is empty", file, location.logical_id);
        insert_into(properties, "Environment",
                    "{" + std::string(json ? "\"Variables\"" : "Variables") + ": " +
                        render_variables() + "}");
      } else if (!environment.IsMap()) {
        return support::failf("{}: Environment of {} is not a mapping", file, location.logical_id);
      } else if (!variables.IsDefined() || !variables.IsMap()) {
        if (variables.IsDefined())
          return support::failf("{}: Environment.Variables of {} is not a mapping", file,
                                location.logical_id);
        insert_into(environment, "Variables", render_variables());
      } else {
        for (const auto& [name, variable] : location.environment)
          WISP_TRY(set_scalar(variables, name, variable));
      }
    }
  }

  // Stable: insertions at one place keep their order (the last one pushed ends up first).
  std::stable_sort(edits.begin(), edits.end(),
                   [](const Edit& a, const Edit& b) { return a.begin > b.begin; });
  std::string out(text);
  for (const auto& edit : edits)
    out.replace(edit.begin, edit.end - edit.begin, edit.text);
  return out;
}

} // namespace

} // namespace wisp::artifact
