// References in CloudFormation JSON: found, rewritten; and small JSON helpers.

#include <wisp/infra/detail.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace wisp::infra::detail {

namespace json = boost::json;

namespace {

bool pseudo(std::string_view id) {
  return id.starts_with("AWS::");
}

Reference split_name(std::string_view text, bool ref) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos)
    return {std::string(text), {}, ref};
  return {std::string(text.substr(0, dot)), std::string(text.substr(dot + 1)), ref};
}

std::optional<Reference> getatt_of(const json::value& argument) {
  if (argument.is_string())
    return split_name(argument.as_string(), false);
  if (argument.is_array() && argument.as_array().size() == 2 &&
      argument.as_array()[0].is_string()) {
    Reference r{std::string(argument.as_array()[0].as_string()), {}, false};
    if (argument.as_array()[1].is_string())
      r.attribute = std::string(argument.as_array()[1].as_string());
    return r;
  }
  return std::nullopt;
}

// The variables of a Fn::Sub string: (offset of "${", length through "}", name).
struct SubVariable {
  std::size_t offset;
  std::size_t length;
  std::string name;
};

std::vector<SubVariable> sub_variables(std::string_view text) {
  std::vector<SubVariable> out;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] != '$' || text[i + 1] != '{')
      continue;
    const auto close = text.find('}', i + 2);
    if (close == std::string_view::npos)
      break;
    const auto name = text.substr(i + 2, close - i - 2);
    if (!name.empty() && name[0] != '!')
      out.push_back({i, close - i + 1, std::string(support::trim(name))});
    i = close;
  }
  return out;
}

void visit_sub(const json::value& argument, const std::function<void(const Reference&)>& visit) {
  const json::object* variables = nullptr;
  const json::value* pattern = &argument;
  if (argument.is_array() && !argument.as_array().empty()) {
    pattern = &argument.as_array()[0];
    if (argument.as_array().size() > 1 && argument.as_array()[1].is_object())
      variables = &argument.as_array()[1].as_object();
  }
  if (variables != nullptr)
    for (const auto& item : *variables)
      for_each_reference(item.value(), visit);
  if (!pattern->is_string())
    return;
  for (const auto& v : sub_variables(pattern->as_string())) {
    if (variables != nullptr && variables->contains(v.name))
      continue;
    if (pseudo(v.name))
      continue;
    visit(split_name(v.name, v.name.find('.') == std::string::npos));
  }
}

} // namespace

void for_each_reference(const json::value& value,
                        const std::function<void(const Reference&)>& visit) {
  if (value.is_array()) {
    for (const auto& item : value.as_array())
      for_each_reference(item, visit);
    return;
  }
  if (!value.is_object())
    return;
  const auto& object = value.as_object();
  if (object.size() == 1) {
    const auto& [key, argument] = *object.begin();
    if (key == "Ref" && argument.is_string()) {
      if (!pseudo(argument.as_string()))
        visit(split_name(argument.as_string(), true));
      return;
    }
    if (key == "Fn::GetAtt") {
      if (auto r = getatt_of(argument))
        visit(*r);
      return;
    }
    if (key == "Fn::Sub") {
      visit_sub(argument, visit);
      return;
    }
  }
  for (const auto& item : object)
    for_each_reference(item.value(), visit);
}

support::Status rewrite_references(json::value& value, const Rewriter& rewrite) {
  if (value.is_array()) {
    for (auto& item : value.as_array())
      WISP_TRY(rewrite_references(item, rewrite));
    return {};
  }
  if (!value.is_object())
    return {};
  auto& object = value.as_object();
  if (object.size() == 1) {
    auto& [key, argument] = *object.begin();
    if (key == "Ref" && argument.is_string()) {
      if (pseudo(argument.as_string()))
        return {};
      WISP_TRY_ASSIGN(auto replacement, rewrite(split_name(argument.as_string(), true)));
      if (replacement)
        value = std::move(*replacement);
      return {};
    }
    if (key == "Fn::GetAtt") {
      if (auto r = getatt_of(argument)) {
        WISP_TRY_ASSIGN(auto replacement, rewrite(*r));
        if (replacement)
          value = std::move(*replacement);
      }
      return {};
    }
    if (key == "Fn::Sub") {
      json::object* variables = nullptr;
      json::value* pattern = &argument;
      if (argument.is_array() && !argument.as_array().empty()) {
        pattern = &argument.as_array()[0];
        if (argument.as_array().size() > 1 && argument.as_array()[1].is_object())
          variables = &argument.as_array()[1].as_object();
      }
      if (variables != nullptr)
        for (auto& item : *variables)
          WISP_TRY(rewrite_references(item.value(), rewrite));
      if (!pattern->is_string())
        return {};
      const std::string text(pattern->as_string());
      std::string out;
      std::size_t at = 0;
      for (const auto& v : sub_variables(text)) {
        out.append(text, at, v.offset - at);
        at = v.offset + v.length;
        std::optional<json::value> replacement;
        if (!(variables != nullptr && variables->contains(v.name)) && !pseudo(v.name)) {
          auto reference = split_name(v.name, v.name.find('.') == std::string::npos);
          reference.qualified = at < text.size() && text[at] == ':';
          WISP_TRY_ASSIGN(replacement, rewrite(reference));
        }
        if (!replacement) {
          out.append(text, v.offset, v.length);
        } else if (replacement->is_string()) {
          out += replacement->as_string();
        } else if (replacement->is_object() && replacement->as_object().contains("Ref") &&
                   replacement->as_object().at("Ref").is_string()) {
          out += fmt::format("${{{}}}",
                             std::string_view(replacement->as_object().at("Ref").as_string()));
        } else if (auto att = replacement->is_object() && replacement->as_object().size() == 1
                                  ? getatt_of(replacement->as_object().begin()->value())
                                  : std::nullopt;
                   att && replacement->as_object().begin()->key() == "Fn::GetAtt") {
          out += fmt::format("${{{}.{}}}", att->id, att->attribute);
        } else {
          return support::failf("${{{}}} cannot be rewritten inside Fn::Sub", v.name);
        }
      }
      out.append(text, at, std::string::npos);
      *pattern = out;
      return {};
    }
  }
  for (auto& item : object)
    WISP_TRY(rewrite_references(item.value(), rewrite));
  return {};
}

std::string alphanumeric(std::string_view text) {
  std::string out;
  for (const char c : text)
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
      out += c;
  return out;
}

std::string source_prefix(const sam::SourceRef& where) {
  if (where.file.empty())
    return {};
  if (where.line == 0)
    return where.file + ": ";
  return fmt::format("{}:{}:{}: ", where.file, where.line, where.column);
}

json::array tag_list(const json::value& tags) {
  json::array out;
  if (!tags.is_object())
    return out;
  for (const auto& item : tags.as_object())
    out.push_back(json::object{{"Key", item.key()},
                               {"Value", item.value().is_null() ? json::value("") : item.value()}});
  return out;
}

namespace {

void pretty(const json::value& value, int indent, std::string& out) {
  const auto newline = [&](int level) {
    out += '\n';
    out.append(static_cast<std::size_t>(level) * 4, ' ');
  };
  switch (value.kind()) {
  case json::kind::object: {
    const auto& object = value.as_object();
    if (object.empty()) {
      out += "{}";
      return;
    }
    std::vector<std::string_view> keys;
    for (const auto& item : object)
      keys.push_back(item.key());
    std::sort(keys.begin(), keys.end());
    out += '{';
    for (std::size_t i = 0; i < keys.size(); ++i) {
      newline(indent + 1);
      out += json::serialize(json::value(keys[i]));
      out += ": ";
      pretty(object.at(keys[i]), indent + 1, out);
      if (i + 1 < keys.size())
        out += ',';
    }
    newline(indent);
    out += '}';
    return;
  }
  case json::kind::array: {
    const auto& array = value.as_array();
    if (array.empty()) {
      out += "[]";
      return;
    }
    out += '[';
    for (std::size_t i = 0; i < array.size(); ++i) {
      newline(indent + 1);
      pretty(array[i], indent + 1, out);
      if (i + 1 < array.size())
        out += ',';
    }
    newline(indent);
    out += ']';
    return;
  }
  case json::kind::double_: {
    const double d = value.as_double();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e16)
      out += fmt::format("{:.1f}", d);
    else
      out += fmt::format("{}", d);
    return;
  }
  default:
    out += json::serialize(value);
  }
}

} // namespace

std::string pretty_sorted_json(const json::value& value) {
  std::string out;
  pretty(value, 0, out);
  return out;
}

} // namespace wisp::infra::detail
