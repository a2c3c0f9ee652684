#pragma once
// How `wisp logs` prints an event.
//
// text: "<time>  <function>  [<version>]  <request id>  <message>\n" — time in UTC with
//   milliseconds, function names padded to one width, "[version]" only for Lambda streams,
//   "-" when a line belongs to no invocation. On a TTY: one colour per function, platform
//   lines (START/END/REPORT/INIT_*) dimmed, error lines in red. A message's trailing newline
//   is dropped and Node's '\r' line separators become newlines.
// json: one object per line, CloudWatch's field names plus wisp's:
//   {"timestamp":…,"time":"…","function":"…","logGroupName":"…","logStreamName":"…",
//    "version":"…","requestId":"…","message":"…"[,"eventId":"…","ingestionTime":…]}
//   The message is exactly as stored.

#include <wisp/logs/event.hpp>

#include <string>
#include <vector>

namespace wisp::logs {

class Formatter {
public:
  // `labels[i]` names events whose `source` is i.
  Formatter(std::vector<std::string> labels, bool color, bool json);

  [[nodiscard]] std::string line(const LogEvent& event) const;

private:
  [[nodiscard]] std::string text_line(const LogEvent& event) const;
  [[nodiscard]] std::string json_line(const LogEvent& event) const;

  std::vector<std::string> m_labels;
  std::size_t m_width = 0;
  bool m_color;
  bool m_json;
};

} // namespace wisp::logs
