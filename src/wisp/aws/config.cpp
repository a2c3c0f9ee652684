#include <wisp/aws/config.hpp>

#include <wisp/support/fs.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace wisp::aws {

namespace fs = std::filesystem;
using support::fail;
using support::failf;

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const std::string key(name);
    if (const char* value = std::getenv(key.c_str()))
      return std::string(value);
    return std::nullopt;
  };
}

bool Credentials::expires_within(std::chrono::seconds margin) const {
  return expiration && *expiration - margin <= std::chrono::system_clock::now();
}

support::Result<std::map<std::string, ProfileSection>> parse_ini(std::string_view text,
                                                                 std::string_view file_name) {
  std::map<std::string, ProfileSection> sections;
  ProfileSection* current = nullptr;
  std::string nested_parent; // key of a nested block ("s3 =" followed by indented lines)
  int line_number = 0;
  for (const auto& raw : support::split(text, '\n')) {
    ++line_number;
    std::string_view line = raw;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    const bool indented = !line.empty() && (line.front() == ' ' || line.front() == '\t');
    const auto stripped = support::trim(line);
    if (stripped.empty() || stripped.front() == '#' || stripped.front() == ';')
      continue;
    if (stripped.front() == '[') {
      if (stripped.back() != ']')
        return fail(support::Diagnostic{std::string(file_name), line_number, 1,
                                        support::Severity::error, "aws-config",
                                        "section header is missing ']'"});
      const auto name = support::trim(stripped.substr(1, stripped.size() - 2));
      current = &sections[std::string(name)];
      nested_parent.clear();
      continue;
    }
    const auto equals = stripped.find('=');
    if (equals == std::string_view::npos)
      return fail(support::Diagnostic{
          std::string(file_name), line_number, static_cast<int>(line.size() - stripped.size()) + 1,
          support::Severity::error, "aws-config", "expected 'key = value'"});
    if (current == nullptr)
      return fail(support::Diagnostic{std::string(file_name), line_number, 1,
                                      support::Severity::error, "aws-config",
                                      "setting outside of a [section]"});
    auto key = support::to_lower(support::trim(stripped.substr(0, equals)));
    auto value = std::string(support::trim(stripped.substr(equals + 1)));
    if (indented && !nested_parent.empty()) {
      (*current)[nested_parent + "." + key] = value;
      continue;
    }
    nested_parent = value.empty() ? key : std::string();
    (*current)[key] = value;
  }
  return sections;
}

namespace {

std::optional<std::string> non_empty(const EnvLookup& env, std::string_view name) {
  auto value = env(name);
  if (value && !value->empty())
    return value;
  return std::nullopt;
}

std::optional<std::string> get(const ProfileSection& section, const std::string& key) {
  const auto it = section.find(key);
  if (it == section.end() || it->second.empty())
    return std::nullopt;
  return it->second;
}

support::Result<std::map<std::string, ProfileSection>> load_ini_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    return std::map<std::string, ProfileSection>{};
  WISP_TRY_ASSIGN(auto text, support::read_file(path, 4u * 1024 * 1024));
  return parse_ini(text, path.string());
}

} // namespace

support::Result<AwsConfig> load_config(const ConfigInputs& inputs) {
  const auto& env = inputs.env;
  AwsConfig config;
  fs::path home = inputs.home;
  if (home.empty()) {
    if (auto value = non_empty(env, "HOME"))
      home = *value;
  }
  config.config_file =
      non_empty(env, "AWS_CONFIG_FILE").value_or((home / ".aws" / "config").string());
  config.credentials_file = non_empty(env, "AWS_SHARED_CREDENTIALS_FILE")
                                .value_or((home / ".aws" / "credentials").string());
  if (config.config_file.native().starts_with("~/"))
    config.config_file = home / config.config_file.native().substr(2);
  if (config.credentials_file.native().starts_with("~/"))
    config.credentials_file = home / config.credentials_file.native().substr(2);

  bool named = false;
  if (!inputs.profile.empty()) {
    config.profile_name = inputs.profile;
    config.profile_explicit = true;
    named = true;
  } else if (auto value = non_empty(env, "AWS_PROFILE")) {
    config.profile_name = *value;
    named = true;
  } else if (auto fallback = non_empty(env, "AWS_DEFAULT_PROFILE")) {
    config.profile_name = *fallback;
    named = true;
  } else {
    config.profile_name = "default";
  }

  WISP_TRY_ASSIGN(auto config_sections, load_ini_file(config.config_file));
  WISP_TRY_ASSIGN(auto credential_sections, load_ini_file(config.credentials_file));

  bool found = false;
  const std::string profile_header =
      config.profile_name == "default" ? std::string("default") : "profile " + config.profile_name;
  if (auto it = config_sections.find(profile_header); it != config_sections.end()) {
    config.profile = it->second;
    found = true;
  } else if (auto alt = config_sections.find("profile " + config.profile_name);
             alt != config_sections.end()) {
    config.profile = alt->second; // [profile default] is accepted too
    found = true;
  }
  if (auto it = credential_sections.find(config.profile_name); it != credential_sections.end()) {
    config.credentials = it->second;
    found = true;
  }
  if (named && !found && config.profile_name != "default")
    return failf("The config profile ({}) could not be found", config.profile_name);

  if (!inputs.region.empty())
    config.region = inputs.region;
  else if (auto region = non_empty(env, "AWS_REGION"))
    config.region = *region;
  else if (auto default_region = non_empty(env, "AWS_DEFAULT_REGION"))
    config.region = *default_region;
  else if (auto profile_region = get(config.profile, "region"))
    config.region = *profile_region;
  return config;
}

std::optional<std::vector<std::string>> split_command(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (quote == '\'') {
      if (c == '\'')
        quote = 0;
      else
        word += c;
      continue;
    }
    if (quote == '"') {
      if (c == '"') {
        quote = 0;
      } else if (c == '\\' && i + 1 < command.size() &&
                 (command[i + 1] == '"' || command[i + 1] == '\\' || command[i + 1] == '$' ||
                  command[i + 1] == '`')) {
        word += command[++i];
      } else {
        word += c;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
      continue;
    }
    in_word = true;
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '\\') {
      if (i + 1 < command.size())
        word += command[++i];
    } else {
      word += c;
    }
  }
  if (quote != 0)
    return std::nullopt;
  if (in_word)
    words.push_back(std::move(word));
  return words;
}

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]
  if (text.size() < 19)
    return std::nullopt;
  auto number = [&](std::size_t pos, std::size_t len) -> int {
    int value = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9')
        return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  std::tm tm{};
  tm.tm_year = number(0, 4) - 1900;
  tm.tm_mon = number(5, 2) - 1;
  tm.tm_mday = number(8, 2);
  tm.tm_hour = number(11, 2);
  tm.tm_min = number(14, 2);
  tm.tm_sec = number(17, 2);
  if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mday < 0 || tm.tm_hour < 0 || tm.tm_min < 0 ||
      tm.tm_sec < 0 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != ' ') ||
      text[13] != ':' || text[16] != ':')
    return std::nullopt;
  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9')
      ++pos;
  }
  long offset = 0;
  if (pos < text.size()) {
    const char sign = text[pos];
    if (sign == 'Z' || sign == 'z') {
      ++pos;
    } else if ((sign == '+' || sign == '-') && pos + 6 <= text.size()) {
      const int hours = number(pos + 1, 2);
      const int minutes = number(pos + 4, 2);
      if (hours < 0 || minutes < 0 || text[pos + 3] != ':')
        return std::nullopt;
      offset = (hours * 3600L + minutes * 60L) * (sign == '+' ? 1 : -1);
      pos += 6;
    } else {
      return std::nullopt;
    }
  }
  if (pos != text.size())
    return std::nullopt;
  const std::time_t seconds = timegm(&tm) - offset;
  return std::chrono::system_clock::from_time_t(seconds);
}

namespace {

struct ProcessOutput {
  int exit_code = -1;
  std::string out;
  std::string err;
  bool timed_out = false;
};

// Runs argv (no shell) with stdin closed; collects stdout and stderr; kills it after
// `timeout`.
support::Result<ProcessOutput> run_process(const std::vector<std::string>& argv,
                                           std::chrono::milliseconds timeout) {
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0)
    return failf("cannot create a pipe: {}", std::strerror(errno));
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return failf("cannot create a pipe: {}", std::strerror(errno));
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0)
    return failf("cannot start a process: {}", std::strerror(errno));
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      ::dup2(devnull, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::execvp(args[0], args.data());
    const std::string message = fmt::format("cannot run {}: {}\n", argv[0], std::strerror(errno));
    [[maybe_unused]] auto ignored = ::write(2, message.data(), message.size());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);

  ProcessOutput output;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_count = 2;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (open_count > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      output.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    const int ready = ::poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0)
        continue;
      const auto n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        auto& sink = i == 0 ? output.out : output.err;
        if (sink.size() < 1024u * 1024u)
          sink.append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  for (auto& fd : fds)
    if (fd.fd >= 0)
      ::close(fd.fd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status))
    output.exit_code = WEXITSTATUS(status);
  return output;
}

support::Result<Credentials> from_process(const std::string& command) {
  auto argv = split_command(command);
  if (!argv || argv->empty())
    return failf("credential_process is not a valid command line: {}", command);
  WISP_TRY_ASSIGN(auto output, run_process(*argv, std::chrono::seconds(60)));
  if (output.timed_out)
    return failf("credential_process {} did not finish within 60 s", (*argv)[0]);
  if (output.exit_code != 0) {
    auto detail = std::string(support::trim(output.err));
    return failf("Error when retrieving credentials from custom-process: {}",
                 detail.empty() ? fmt::format("exit code {}", output.exit_code) : detail);
  }
  boost::system::error_code ec;
  const auto json = boost::json::parse(output.out, ec);
  if (ec || !json.is_object())
    return fail("Error when retrieving credentials from custom-process: the output is not a "
                "JSON object");
  const auto& object = json.as_object();
  const auto text = [&](const char* key) -> std::string {
    const auto* value = object.if_contains(key);
    return value != nullptr && value->is_string() ? std::string(value->as_string()) : "";
  };
  const auto* version = object.if_contains("Version");
  if (version == nullptr || !version->is_int64() || version->as_int64() != 1)
    return fail("Error when retrieving credentials from custom-process: Unsupported version "
                "for credential process provider (only Version 1 is supported)");
  Credentials credentials{text("AccessKeyId"), text("SecretAccessKey"), text("SessionToken"),
                          std::nullopt, "custom-process"};
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty())
    return fail("Error when retrieving credentials from custom-process: AccessKeyId or "
                "SecretAccessKey is missing");
  if (auto expiration = text("Expiration"); !expiration.empty()) {
    credentials.expiration = parse_iso8601(expiration);
    if (!credentials.expiration)
      return failf("Error when retrieving credentials from custom-process: invalid Expiration "
                   "'{}'",
                   expiration);
  }
  return credentials;
}

std::optional<Credentials> from_section(const ProfileSection& section, std::string source) {
  auto key = get(section, "aws_access_key_id");
  auto secret = get(section, "aws_secret_access_key");
  if (!key || !secret)
    return std::nullopt;
  auto token = get(section, "aws_session_token");
  if (!token)
    token = get(section, "aws_security_token");
  return Credentials{*key, *secret, token.value_or(""), std::nullopt, std::move(source)};
}

support::Result<Credentials> parse_metadata_credentials(const std::string& body,
                                                        std::string source) {
  boost::system::error_code ec;
  const auto json = boost::json::parse(body, ec);
  if (ec || !json.is_object())
    return failf("{}: the credentials response is not JSON", source);
  const auto& object = json.as_object();
  const auto text = [&](const char* key) -> std::string {
    const auto* value = object.if_contains(key);
    return value != nullptr && value->is_string() ? std::string(value->as_string()) : "";
  };
  Credentials credentials{text("AccessKeyId"), text("SecretAccessKey"), text("Token"), std::nullopt,
                          std::move(source)};
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty())
    return failf("{}: the credentials response has no AccessKeyId/SecretAccessKey",
                 credentials.source);
  if (auto expiration = text("Expiration"); !expiration.empty())
    credentials.expiration = parse_iso8601(expiration);
  return credentials;
}

std::optional<support::Result<Credentials>> from_container(const EnvLookup& env,
                                                           const MetadataFetch& fetch) {
  std::string url;
  if (auto relative = non_empty(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"))
    url = "http://169.254.170.2" + *relative;
  else if (auto full = non_empty(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI"))
    url = *full;
  else
    return std::nullopt;
  MetadataRequest request{"GET", url, {}};
  if (auto token = non_empty(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN"))
    request.headers["Authorization"] = *token;
  const auto response = fetch(request);
  if (response.status != 200)
    return support::Result<Credentials>(
        failf("container credentials endpoint answered {}",
              response.status == 0 ? std::string("nothing") : std::to_string(response.status)));
  return parse_metadata_credentials(response.body, "container-role");
}

std::optional<Credentials> from_instance_metadata(const EnvLookup& env,
                                                  const MetadataFetch& fetch) {
  if (auto disabled = env("AWS_EC2_METADATA_DISABLED");
      disabled && support::iequals(support::trim(*disabled), "true"))
    return std::nullopt;
  std::string base =
      non_empty(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("http://169.254.169.254");
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  // IMDSv2 token first; fall back to v1 when the token call is not understood.
  const auto token = fetch(
      {"PUT", base + "/latest/api/token", {{"x-aws-ec2-metadata-token-ttl-seconds", "21600"}}});
  std::map<std::string, std::string> headers;
  if (token.status == 200)
    headers["x-aws-ec2-metadata-token"] = token.body;
  else if (token.status == 0)
    return std::nullopt;
  const auto roles = fetch({"GET", base + "/latest/meta-data/iam/security-credentials/", headers});
  if (roles.status != 200)
    return std::nullopt;
  const auto role = std::string(support::trim(support::split(roles.body, '\n').front()));
  if (role.empty())
    return std::nullopt;
  const auto response =
      fetch({"GET", base + "/latest/meta-data/iam/security-credentials/" + role, headers});
  if (response.status != 200)
    return std::nullopt;
  auto credentials = parse_metadata_credentials(response.body, "iam-role");
  if (!credentials)
    return std::nullopt;
  return *credentials;
}

} // namespace

support::Result<Credentials> resolve_credentials(const AwsConfig& config, const EnvLookup& env,
                                                 const MetadataFetch& fetch) {
  if (!config.profile_explicit) {
    auto key = non_empty(env, "AWS_ACCESS_KEY_ID");
    auto secret = non_empty(env, "AWS_SECRET_ACCESS_KEY");
    if (key && secret) {
      auto token = non_empty(env, "AWS_SESSION_TOKEN");
      if (!token)
        token = non_empty(env, "AWS_SECURITY_TOKEN");
      return Credentials{*key, *secret, token.value_or(""), std::nullopt, "environment"};
    }
    if (key || secret)
      return fail("Partial credentials found in env, missing: " +
                  std::string(key ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"));
  }

  for (const auto* section : {&config.credentials, &config.profile}) {
    for (const char* unsupported : {"role_arn", "sso_session", "sso_start_url"}) {
      if (get(*section, unsupported))
        return failf("profile '{}' uses {}, which wisp does not support yet; export "
                     "credentials (aws configure export-credentials) or use credential_process",
                     config.profile_name, unsupported);
    }
  }

  if (auto credentials = from_section(config.credentials, "shared-credentials-file"))
    return *credentials;
  for (const auto* section : {&config.profile, &config.credentials}) {
    if (auto command = get(*section, "credential_process"))
      return from_process(*command);
  }
  if (auto credentials = from_section(config.profile, "config-file"))
    return *credentials;
  if (auto container = from_container(env, fetch))
    return *container;
  if (auto credentials = from_instance_metadata(env, fetch))
    return *credentials;
  return fail("Unable to locate credentials. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
              "or configure a profile (aws configure)");
}

} // namespace wisp::aws
