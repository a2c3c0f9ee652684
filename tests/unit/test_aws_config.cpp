#include <wisp/aws/config.hpp>
#include <wisp/support/fs.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <map>

using namespace wisp;

namespace {

aws::EnvLookup env_of(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end())
      return std::nullopt;
    return it->second;
  };
}

aws::MetadataFetch no_network() {
  return [](const aws::MetadataRequest& request) {
    FAIL("unexpected metadata request to " << request.url);
    return aws::MetadataResponse{};
  };
}

struct Home {
  support::TempDir dir{"wisp-aws"};
  void config(std::string_view text) const {
    REQUIRE(support::write_file_atomic(dir.path() / ".aws" / "config", text));
  }
  void credentials(std::string_view text) const {
    REQUIRE(support::write_file_atomic(dir.path() / ".aws" / "credentials", text));
  }
};

} // namespace

TEST_CASE("aws config: ini parsing") {
  auto parsed = aws::parse_ini("# comment\n[default]\nregion = eu-west-1\n; other\n"
                               "[profile dev]\nRegion=us-west-2\ns3 =\n  max_concurrent_requests = "
                               "4\nafter = x\n",
                               "config");
  REQUIRE(parsed.has_value());
  CHECK(parsed->at("default").at("region") == "eu-west-1");
  CHECK(parsed->at("profile dev").at("region") == "us-west-2");
  CHECK(parsed->at("profile dev").at("s3.max_concurrent_requests") == "4");
  CHECK(parsed->at("profile dev").at("after") == "x");

  auto bad = aws::parse_ini("[default]\nno equals sign\n", "cfg");
  REQUIRE_FALSE(bad.has_value());
  REQUIRE(bad.error().diagnostics.size() == 1);
  CHECK(bad.error().diagnostics[0].line == 2);
  CHECK(bad.error().diagnostics[0].message == "expected 'key = value'");
  CHECK_FALSE(aws::parse_ini("[default\n", "cfg").has_value());
  CHECK_FALSE(aws::parse_ini("key = value\n", "cfg").has_value());
}

TEST_CASE("aws config: environment credentials come first") {
  Home home;
  home.credentials("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n");
  auto env = env_of({{"AWS_ACCESS_KEY_ID", "ENVKEY"},
                     {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"},
                     {"AWS_SESSION_TOKEN", "ENVTOKEN"},
                     {"AWS_REGION", "eu-central-1"}});
  auto config = aws::load_config({"", "", env, home.dir.path()});
  REQUIRE(config.has_value());
  CHECK(config->region == "eu-central-1");
  auto credentials = aws::resolve_credentials(*config, env, no_network());
  REQUIRE(credentials.has_value());
  CHECK(credentials->access_key_id == "ENVKEY");
  CHECK(credentials->session_token == "ENVTOKEN");
  CHECK(credentials->source == "environment");
}

TEST_CASE("aws config: --profile skips environment credentials, AWS_PROFILE does not") {
  Home home;
  home.credentials("[dev]\naws_access_key_id = DEVKEY\naws_secret_access_key = DEVSECRET\n");
  home.config("[profile dev]\nregion = ap-south-1\n");
  auto env = env_of({{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"}});
  auto explicit_config = aws::load_config({"dev", "", env, home.dir.path()});
  REQUIRE(explicit_config.has_value());
  CHECK(explicit_config->region == "ap-south-1");
  auto credentials = aws::resolve_credentials(*explicit_config, env, no_network());
  REQUIRE(credentials.has_value());
  CHECK(credentials->access_key_id == "DEVKEY");
  CHECK(credentials->source == "shared-credentials-file");

  auto env_profile = env_of({{"AWS_ACCESS_KEY_ID", "ENVKEY"},
                             {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"},
                             {"AWS_PROFILE", "dev"}});
  auto implicit_config = aws::load_config({"", "us-east-2", env_profile, home.dir.path()});
  REQUIRE(implicit_config.has_value());
  CHECK(implicit_config->region == "us-east-2"); // --region wins over the profile
  CHECK(aws::resolve_credentials(*implicit_config, env_profile, no_network())->access_key_id ==
        "ENVKEY");
}

TEST_CASE("aws config: a missing named profile is an error; a missing default is not") {
  Home home;
  auto env = env_of({});
  auto missing = aws::load_config({"nope", "", env, home.dir.path()});
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message == "The config profile (nope) could not be found");
  CHECK(aws::load_config({"", "", env, home.dir.path()}).has_value());
}

TEST_CASE("aws config: partial environment credentials are an error") {
  Home home;
  auto env = env_of({{"AWS_ACCESS_KEY_ID", "ENVKEY"}});
  auto config = aws::load_config({"", "", env, home.dir.path()});
  auto credentials = aws::resolve_credentials(*config, env, no_network());
  REQUIRE_FALSE(credentials.has_value());
  CHECK(credentials.error().message ==
        "Partial credentials found in env, missing: AWS_SECRET_ACCESS_KEY");
}

TEST_CASE("aws config: credential_process runs without a shell and its output is checked") {
  Home home;
  const auto script = home.dir.path() / "creds helper.sh";
  REQUIRE(support::write_file_atomic(
      script,
      "#!/bin/sh\n"
      "if [ \"$1\" = fail ]; then echo 'helper broke' >&2; exit 3; fi\n"
      "if [ \"$1\" = v2 ]; then echo '{\"Version\": 2}'; exit 0; fi\n"
      "if [ \"$1\" = junk ]; then echo 'not json'; exit 0; fi\n"
      "echo '{\"Version\": 1, \"AccessKeyId\": \"PROCKEY\", \"SecretAccessKey\": \"PROCSECRET\", "
      "\"SessionToken\": \"PROCTOKEN\", \"Expiration\": \"2099-01-01T00:00:00Z\"}'\n",
      0755));
  const auto quoted = fmt::format("\"{}\"", script.string());
  home.config("[profile ok]\ncredential_process = " + quoted +
              " 'a b'\n[profile fail]\ncredential_process = " + quoted +
              " fail\n[profile v2]\ncredential_process = " + quoted +
              " v2\n[profile junk]\ncredential_process = " + quoted + " junk\n");
  auto env = env_of({});
  auto run = [&](const char* profile) {
    auto config = aws::load_config({profile, "", env, home.dir.path()});
    REQUIRE(config.has_value());
    return aws::resolve_credentials(*config, env, no_network());
  };
  auto ok = run("ok");
  REQUIRE(ok.has_value());
  CHECK(ok->access_key_id == "PROCKEY");
  CHECK(ok->session_token == "PROCTOKEN");
  CHECK(ok->source == "custom-process");
  REQUIRE(ok->expiration.has_value());
  CHECK_FALSE(ok->expires_within(std::chrono::minutes(5)));

  auto fail = run("fail");
  REQUIRE_FALSE(fail.has_value());
  CHECK(fail.error().message ==
        "Error when retrieving credentials from custom-process: helper broke");
  auto v2 = run("v2");
  REQUIRE_FALSE(v2.has_value());
  CHECK(v2.error().message.find("Unsupported version") != std::string::npos);
  auto junk = run("junk");
  REQUIRE_FALSE(junk.has_value());
  CHECK(junk.error().message.find("not a JSON object") != std::string::npos);
}

TEST_CASE("aws config: instance metadata only when not disabled, IMDSv2 token first") {
  Home home;
  std::vector<std::string> calls;
  aws::MetadataFetch fetch = [&](const aws::MetadataRequest& request) {
    calls.push_back(request.method + " " + request.url);
    if (request.url.ends_with("/latest/api/token"))
      return aws::MetadataResponse{200, "TOKEN"};
    if (request.headers.count("x-aws-ec2-metadata-token") == 0 ||
        request.headers.at("x-aws-ec2-metadata-token") != "TOKEN")
      return aws::MetadataResponse{401, ""};
    if (request.url.ends_with("/security-credentials/"))
      return aws::MetadataResponse{200, "my-role\n"};
    return aws::MetadataResponse{200, R"({"AccessKeyId":"IMDSKEY","SecretAccessKey":"S",)"
                                      R"("Token":"T","Expiration":"2099-01-01T00:00:00Z"})"};
  };
  {
    auto env = env_of({{"AWS_EC2_METADATA_DISABLED", "TRUE"}});
    auto config = aws::load_config({"", "", env, home.dir.path()});
    auto credentials = aws::resolve_credentials(*config, env, fetch);
    REQUIRE_FALSE(credentials.has_value());
    CHECK(credentials.error().message.starts_with("Unable to locate credentials"));
    CHECK(calls.empty());
  }
  {
    auto env = env_of({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9/"}});
    auto config = aws::load_config({"", "", env, home.dir.path()});
    auto credentials = aws::resolve_credentials(*config, env, fetch);
    REQUIRE(credentials.has_value());
    CHECK(credentials->access_key_id == "IMDSKEY");
    CHECK(credentials->source == "iam-role");
    REQUIRE(calls.size() == 3);
    CHECK(calls[0] == "PUT http://127.0.0.1:9/latest/api/token");
    CHECK(calls[2] == "GET http://127.0.0.1:9/latest/meta-data/iam/security-credentials/my-role");
  }
}

TEST_CASE("aws config: role and SSO profiles are reported, not skipped") {
  Home home;
  home.config("[profile admin]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n");
  auto env = env_of({});
  auto config = aws::load_config({"admin", "", env, home.dir.path()});
  REQUIRE(config.has_value());
  auto credentials = aws::resolve_credentials(*config, env, no_network());
  REQUIRE_FALSE(credentials.has_value());
  CHECK(credentials.error().message.find("role_arn") != std::string::npos);
}

TEST_CASE("aws config: split_command follows POSIX shell quoting") {
  CHECK(aws::split_command("a 'b c' \"d \\\"e\\\"\" f\\ g")->size() == 4);
  CHECK(aws::split_command("a 'b c' \"d \\\"e\\\"\" f\\ g")->at(2) == "d \"e\"");
  CHECK(aws::split_command("a 'b c' \"d \\\"e\\\"\" f\\ g")->at(3) == "f g");
  CHECK_FALSE(aws::split_command("a 'b").has_value());
}

TEST_CASE("aws config: ISO 8601 times") {
  auto t = aws::parse_iso8601("2015-08-30T12:36:00Z");
  REQUIRE(t.has_value());
  CHECK(std::chrono::system_clock::to_time_t(*t) == 1440938160);
  CHECK(std::chrono::system_clock::to_time_t(
            *aws::parse_iso8601("2015-08-30T14:36:00.123+02:00")) == 1440938160);
  CHECK_FALSE(aws::parse_iso8601("2015-08-30").has_value());
  CHECK_FALSE(aws::parse_iso8601("2015-08-30T12:36:00Q").has_value());
}
