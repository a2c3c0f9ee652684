#pragma once
// What `wisp local execution ...` and `wisp local callback ...` share: where the app's
// durable executions are stored, and how an API answer is reported.

#include "../command.hpp"

#include <wisp/durable/service.hpp>
#include <wisp/durable/store.hpp>
#include <wisp/template/load.hpp>

#include <boost/json/parse.hpp>

#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace wisp::cli {

// <template dir>/.wisp/durable (the template from -t, else template.yaml/.yml here; the
// current directory when there is none).
inline std::filesystem::path durable_store_root(const Context& context) {
  auto path = sam::resolve_template_path(context.global.template_file);
  std::filesystem::path dir = path ? path->parent_path() : std::filesystem::path();
  if (dir.empty())
    dir = std::filesystem::current_path();
  return durable::Store::default_root(std::filesystem::absolute(dir));
}

// Prints an API error answer ("<Type>: <message>") and returns the exit code; 0 for success.
inline int report_answer(Context& context, const durable::HttpResponse& answer) {
  if (answer.status < 300)
    return 0;
  std::string message = answer.body;
  boost::system::error_code ec;
  const auto body = boost::json::parse(answer.body, ec);
  if (!ec && body.is_object()) {
    const auto& o = body.as_object();
    for (const auto* key : {"message", "Message"})
      if (const auto it = o.find(key); it != o.end() && it->value().is_string())
        message = std::string(it->value().as_string());
  }
  context.console.error(answer.error_type.empty() ? message : answer.error_type + ": " + message);
  return static_cast<int>(support::ExitCode::failure);
}

// --error-message/--error-type/--error-data/--stack-trace, as the durable APIs' ErrorObject.
struct ErrorOptions {
  std::string message;
  std::string type;
  std::string data;
  std::vector<std::string> trace;

  // `what` finishes each option's help ("Error message<what>").
  void add_to(CLI::App& app, const std::string& what = {}) {
    app.add_option("--error-message", message, "Error message" + what);
    app.add_option("--error-type", type, "Error type" + what);
    app.add_option("--error-data", data, "Error data" + what);
    app.add_option("--stack-trace", trace, "A stack trace line (repeatable)");
  }

  // Only the fields given.
  [[nodiscard]] durable::ErrorObject error() const {
    durable::ErrorObject error;
    if (!message.empty())
      error.message = message;
    if (!type.empty())
      error.type = type;
    if (!data.empty())
      error.data = data;
    if (!trace.empty())
      error.stack_trace = trace;
    return error;
  }
};

} // namespace wisp::cli
