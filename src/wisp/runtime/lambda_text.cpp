#include <wisp/runtime/lambda_config.hpp>
#include <wisp/runtime/lambda_text.hpp>

#include <fmt/format.h>

#include <cmath>
#include <csignal>
#include <ctime>
#include <iterator>
#include <sys/wait.h>

namespace wisp::runtime {

void write_start_line(std::string& out, std::string_view request_id, std::string_view version) {
  out.clear();
  fmt::format_to(std::back_inserter(out), "START RequestId: {} Version: {}", request_id, version);
}

void write_end_line(std::string& out, std::string_view request_id) {
  out.clear();
  fmt::format_to(std::back_inserter(out), "END RequestId: {}", request_id);
}

void write_report_line(std::string& out, std::string_view request_id, const ReportFields& fields) {
  out.clear();
  auto it = std::back_inserter(out);
  fmt::format_to(it,
                 "REPORT RequestId: {}\tDuration: {:.2f} ms\tBilled Duration: {} "
                 "ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
                 request_id, fields.duration_ms, fields.billed_duration_ms, fields.memory_size_mb,
                 fields.max_memory_used_mb);
  if (fields.init_duration_ms)
    fmt::format_to(it, "Init Duration: {:.2f} ms\t", *fields.init_duration_ms);
  if (fields.status == ReportStatus::timeout)
    out += "Status: timeout\t";
  else if (fields.status == ReportStatus::error)
    fmt::format_to(it, "Status: error\tError Type: {}\t", fields.error_type);
}

std::string start_line(std::string_view request_id, std::string_view version) {
  std::string out;
  write_start_line(out, request_id, version);
  return out;
}

std::string end_line(std::string_view request_id) {
  std::string out;
  write_end_line(out, request_id);
  return out;
}

std::string report_line(std::string_view request_id, const ReportFields& fields) {
  std::string out;
  write_report_line(out, request_id, fields);
  return out;
}

std::string init_report_line(double init_duration_ms, std::string_view error_type) {
  return fmt::format("INIT_REPORT Init Duration: {:.2f} ms\tPhase: init\tStatus: error\tError "
                     "Type: {}",
                     init_duration_ms, error_type);
}

namespace {

// A duration as Lambda's JSON records show it: rounded to microseconds, shortest form
// (1233.96, 463.512, 2).
void append_ms(std::string& out, double ms) {
  const double rounded = std::round(std::max(0.0, ms) * 1000.0) / 1000.0;
  fmt::format_to(std::back_inserter(out), "{}", rounded);
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  append_json_escaped(out, text);
  out += '"';
}

void append_record_head(std::string& out, std::chrono::system_clock::time_point time,
                        std::string_view type) {
  out += "{\"time\":\"";
  out += iso8601_ms(time);
  out += "\",\"type\":\"";
  out += type;
  out += "\",\"record\":{";
}

} // namespace

void write_platform_start(std::string& out, std::chrono::system_clock::time_point time,
                          std::string_view request_id, std::string_view function_arn,
                          std::string_view version) {
  out.clear();
  append_record_head(out, time, "platform.start");
  out += "\"requestId\":";
  append_json_string(out, request_id);
  out += ",\"functionArn\":";
  append_json_string(out, function_arn);
  out += ",\"version\":";
  append_json_string(out, version);
  out += "}}";
}

void write_platform_report(std::string& out, std::chrono::system_clock::time_point time,
                           std::string_view request_id, const ReportFields& fields) {
  out.clear();
  append_record_head(out, time, "platform.report");
  out += "\"requestId\":";
  append_json_string(out, request_id);
  out += ",\"metrics\":{\"durationMs\":";
  append_ms(out, fields.duration_ms);
  fmt::format_to(std::back_inserter(out),
                 ",\"billedDurationMs\":{},\"memorySizeMB\":{},\"maxMemoryUsedMB\":{}",
                 fields.billed_duration_ms, fields.memory_size_mb, fields.max_memory_used_mb);
  if (fields.init_duration_ms) {
    out += ",\"initDurationMs\":";
    append_ms(out, *fields.init_duration_ms);
  }
  out += "},\"status\":";
  if (fields.status == ReportStatus::timeout) {
    out += "\"timeout\"";
  } else if (fields.status == ReportStatus::error) {
    out += "\"error\",\"errorType\":";
    append_json_string(out, fields.error_type);
  } else {
    out += "\"success\"";
  }
  out += "}}";
}

std::string platform_init_start(std::chrono::system_clock::time_point time,
                                std::string_view function_name, std::string_view version,
                                std::string_view instance_id, int memory_size_mb) {
  std::string out;
  append_record_head(out, time, "platform.initStart");
  out += "\"initializationType\":\"on-demand\",\"phase\":\"init\",\"functionName\":";
  append_json_string(out, function_name);
  out += ",\"functionVersion\":";
  append_json_string(out, version);
  out += ",\"instanceId\":";
  append_json_string(out, instance_id);
  fmt::format_to(std::back_inserter(out), ",\"instanceMaxMemory\":{}}}}}",
                 static_cast<std::int64_t>(memory_size_mb) * 1024 * 1024);
  return out;
}

std::string platform_init_report(std::chrono::system_clock::time_point time,
                                 double init_duration_ms, std::string_view error_type) {
  std::string out;
  append_record_head(out, time, "platform.initReport");
  out += "\"initializationType\":\"on-demand\",\"phase\":\"init\",\"status\":\"error\","
         "\"errorType\":";
  append_json_string(out, error_type);
  out += ",\"metrics\":{\"durationMs\":";
  append_ms(out, init_duration_ms);
  out += "}}}";
  return out;
}

int log_level_rank(std::string_view level) {
  static constexpr std::string_view k_levels[] = {"TRACE", "DEBUG", "INFO",
                                                  "WARN",  "ERROR", "FATAL"};
  for (std::size_t i = 0; i < std::size(k_levels); ++i) {
    const auto name = k_levels[i];
    if (name.size() != level.size())
      continue;
    bool same = true;
    for (std::size_t j = 0; j < name.size() && same; ++j) {
      char c = level[j];
      if (c >= 'a' && c <= 'z')
        c = static_cast<char>(c - 'a' + 'A');
      same = c == name[j];
    }
    if (same)
      return static_cast<int>(i) + 1;
  }
  return 0;
}

std::string tenant_id_problem(bool multi_tenant, std::string_view tenant_id) {
  if (multi_tenant && tenant_id.empty())
    return "The invoked function is enabled with tenancy configuration. Add a valid tenant ID "
           "in your request and try again.";
  if (!multi_tenant && !tenant_id.empty())
    return "The invoked function is not enabled with tenancy configuration. Remove the tenant "
           "ID from your request and try again.";
  return {};
}

std::string tenant_id_format_problem(std::string_view option, std::string_view tenant_id) {
  if (tenant_id.empty() || tenant_id.size() > 256)
    return fmt::format("{} must be between 1 and 256 characters", option);
  if (tenant_id.find_first_not_of(' ') == std::string_view::npos)
    return fmt::format("{} cannot be empty or contain only whitespace", option);
  for (const char c : tenant_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("._:/=+-@ ").find(c) != std::string_view::npos;
    if (!ok)
      return fmt::format("{} contains invalid characters. Allowed characters are a-z, A-Z, "
                         "numbers, spaces, and the characters _ . : / = + - @",
                         option);
  }
  return {};
}

std::uint64_t billed_duration_ms(double duration_ms, double init_duration_ms) {
  const double total = std::max(0.0, duration_ms) + std::max(0.0, init_duration_ms);
  const auto billed = static_cast<std::uint64_t>(std::ceil(total));
  return billed == 0 ? 1 : billed;
}

namespace {

// Go's syscall signal names on Linux (what RIE prints through os.ProcessState).
std::string_view signal_name(int signal) {
  switch (signal) {
  case SIGHUP:
    return "hangup";
  case SIGINT:
    return "interrupt";
  case SIGQUIT:
    return "quit";
  case SIGILL:
    return "illegal instruction";
  case SIGTRAP:
    return "trace/breakpoint trap";
  case SIGABRT:
    return "aborted";
  case SIGBUS:
    return "bus error";
  case SIGFPE:
    return "floating point exception";
  case SIGKILL:
    return "killed";
  case SIGUSR1:
    return "user defined signal 1";
  case SIGSEGV:
    return "segmentation fault";
  case SIGUSR2:
    return "user defined signal 2";
  case SIGPIPE:
    return "broken pipe";
  case SIGALRM:
    return "alarm clock";
  case SIGTERM:
    return "terminated";
  case SIGXCPU:
    return "CPU time limit exceeded";
  case SIGXFSZ:
    return "file size limit exceeded";
  case SIGSYS:
    return "bad system call";
  default:
    return {};
  }
}

} // namespace

std::string describe_exit(int wait_status) {
  if (WIFEXITED(wait_status))
    return fmt::format("exit status {}", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int signal = WTERMSIG(wait_status);
    auto name = signal_name(signal);
    std::string text =
        name.empty() ? fmt::format("signal: signal {}", signal) : fmt::format("signal: {}", name);
    if (WCOREDUMP(wait_status))
      text += " (core dumped)";
    return text;
  }
  return fmt::format("exit status {}", wait_status);
}

std::string exit_error_message(std::string_view request_id, int wait_status) {
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0)
    return fmt::format("RequestId: {} Error: Runtime exited without providing a reason",
                       request_id);
  return fmt::format("RequestId: {} Error: Runtime exited with error: {}", request_id,
                     describe_exit(wait_status));
}

std::string timeout_text(double elapsed_seconds) {
  // Truncate rather than round so that a deadline met at 3.0004 s never reads 3.01.
  const double truncated = std::floor(elapsed_seconds * 100.0) / 100.0;
  return fmt::format("Task timed out after {:.2f} seconds", truncated);
}

void append_json_escaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20)
        out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
      else
        out += c;
    }
  }
}

std::string error_payload(std::string_view error_type, std::string_view error_message) {
  std::string out = R"({"errorType":")";
  append_json_escaped(out, error_type);
  out += R"(","errorMessage":")";
  append_json_escaped(out, error_message);
  out += "\"}";
  return out;
}

std::string runtime_api_error(std::string_view error_type, std::string_view message) {
  std::string out = R"({"errorMessage":")";
  append_json_escaped(out, message);
  out += R"(","errorType":")";
  append_json_escaped(out, error_type);
  out += "\"}";
  return out;
}

std::string throttle_payload(std::string_view reason) {
  std::string out = R"({"Reason":")";
  append_json_escaped(out, reason);
  out += R"(","Type":"User","message":"Rate Exceeded."})";
  return out;
}

std::string response_too_large_message(std::uint64_t size) {
  return fmt::format("Response payload size ({} bytes) exceeded maximum allowed payload size "
                     "(6291556 bytes).",
                     size);
}

std::string runtime_413_body() {
  return runtime_api_error("RequestEntityTooLarge",
                           "Exceeded maximum allowed payload size (6291556 bytes).");
}

std::string request_too_large_payload() {
  return R"({"Type":"User","message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"})";
}

void write_uuid(std::string& out, std::mt19937_64& rng) {
  const std::uint64_t a = rng();
  const std::uint64_t b = rng();
  const auto hi = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL; // version 4
  const auto lo = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; // variant 10
  out.clear();
  fmt::format_to(std::back_inserter(out), "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32U,
                 (hi >> 16U) & 0xffffU, hi & 0xffffU, lo >> 48U, lo & 0xffffffffffffULL);
}

void write_trace_id(std::string& out, std::mt19937_64& rng,
                    std::chrono::system_clock::time_point now) {
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto root_hi = rng();
  const auto root_lo = static_cast<std::uint32_t>(rng());
  const auto parent = rng();
  out.clear();
  fmt::format_to(std::back_inserter(out), "Root=1-{:08x}-{:016x}{:08x};Parent={:016x};Sampled=0",
                 static_cast<std::uint32_t>(seconds), root_hi, root_lo, parent);
}

std::string make_uuid(std::mt19937_64& rng) {
  std::string out;
  write_uuid(out, rng);
  return out;
}

std::string make_trace_id(std::mt19937_64& rng, std::chrono::system_clock::time_point now) {
  std::string out;
  write_trace_id(out, rng, now);
  return out;
}

namespace {

std::tm utc(std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

} // namespace

std::string make_log_stream_name(std::mt19937_64& rng, std::string_view version,
                                 std::chrono::system_clock::time_point now) {
  const auto tm = utc(now);
  return fmt::format("{:04}/{:02}/{:02}/[{}]{:016x}{:016x}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, version, rng(), rng());
}

std::string iso8601_ms(std::chrono::system_clock::time_point time) {
  const auto tm = utc(time);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count() % 1000;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

} // namespace wisp::runtime
