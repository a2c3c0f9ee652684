// wisp_aws_probe: drives wisp's AWS client (src/wisp/aws) from integration tests, so they
// can check it against moto and the aws CLI before any command uses it. Not installed.
//
//   wisp_aws_probe [--endpoint-url U] [--region R] [--profile P] [--max-attempts N]
//                  [--debug] [--stats] COMMAND ARGS...
//   credentials                          source and access key id (never the secret)
//   whoami                               STS GetCallerIdentity → Account/Arn
//   s3 mb BUCKET | s3 rb BUCKET | s3 exists BUCKET
//   s3 put BUCKET KEY FILE [--if-none-match] [--if-match ETAG] [--meta k=v]
//   s3 put-text BUCKET KEY TEXT [--if-none-match]
//   s3 get BUCKET KEY OUT_FILE | s3 cat BUCKET KEY | s3 head BUCKET KEY
//   s3 ls BUCKET [PREFIX] | s3 rm BUCKET KEY
//   rest-json SERVICE OPERATION METHOD PATH [JSON_BODY]
//   json SERVICE TARGET_PREFIX OPERATION JSON_BODY
//   query SERVICE ACTION VERSION [key=value ...]
//   sign                                 signs the cases on stdin (tests/tools/sigv4_oracle.py
//                                        format) and prints their Authorization headers

#include <wisp/aws/client.hpp>
#include <wisp/aws/s3.hpp>
#include <wisp/aws/sigv4.hpp>
#include <wisp/support/hash.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

using namespace wisp;

namespace {

std::optional<aws::Service> parse_service(std::string_view name) {
  for (auto service : {aws::Service::lambda, aws::Service::apigateway, aws::Service::apigatewayv2,
                       aws::Service::s3, aws::Service::logs, aws::Service::cloudwatch,
                       aws::Service::iam, aws::Service::sts})
    if (aws::service_name(service) == name)
      return service;
  return std::nullopt;
}

boost::json::value xml_to_json(const aws::XmlNode& node) {
  if (node.children.empty())
    return boost::json::value(node.text);
  boost::json::object object;
  for (const auto& child : node.children) {
    auto value = xml_to_json(child);
    if (auto* existing = object.if_contains(child.name)) {
      if (!existing->is_array()) {
        boost::json::array array;
        array.push_back(*existing);
        *existing = std::move(array);
      }
      existing->as_array().push_back(std::move(value));
    } else {
      object[child.name] = std::move(value);
    }
  }
  return object;
}

int fail(const aws::ServiceError& error) {
  std::fprintf(stderr, "error: %s\n", error.describe().c_str());
  std::fprintf(stderr, "code: %s\n", error.code.c_str());
  return 1;
}

int fail(const support::Error& error) {
  std::fprintf(stderr, "error: %s\n", error.message.c_str());
  return 1;
}

int usage() {
  std::fprintf(stderr, "usage: wisp_aws_probe [options] COMMAND ARGS... (see the source)\n");
  return 2;
}

void print(const boost::json::value& value) {
  std::cout << boost::json::serialize(value) << "\n";
}

} // namespace

// Signs oracle-format cases read from stdin; no client, no network.
int sign_cases() {
  std::string input;
  char buffer[65536];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0)
    input.append(buffer, n);
  boost::json::array out;
  const auto cases = boost::json::parse(input);
  for (const auto& item : cases.as_array()) {
    const auto& c = item.as_object();
    aws::SigningRequest request;
    request.method = std::string(c.at("method").as_string());
    request.path = std::string(c.at("path").as_string());
    for (const auto& pair : c.at("query").as_array())
      request.query.emplace_back(std::string(pair.as_array()[0].as_string()),
                                 std::string(pair.as_array()[1].as_string()));
    for (const auto& pair : c.at("headers").as_array())
      request.headers.emplace_back(std::string(pair.as_array()[0].as_string()),
                                   std::string(pair.as_array()[1].as_string()));
    request.payload_sha256 = support::sha256_hex(std::string(c.at("body").as_string()));
    const aws::Credentials credentials{std::string(c.at("key").as_string()),
                                       std::string(c.at("secret").as_string()),
                                       std::string(c.at("token").as_string()),
                                       {},
                                       ""};
    const auto result = aws::sign(request, credentials,
                                  {std::string(c.at("region").as_string()),
                                   std::string(c.at("service").as_string()),
                                   std::string(c.at("date").as_string())});
    std::string authorization;
    for (const auto& [name, value] : result.add_headers)
      if (name == "Authorization")
        authorization = value;
    out.push_back(boost::json::object{{"authorization", authorization},
                                      {"canonical_request", result.canonical_request}});
  }
  print(out);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "sign")
    return sign_cases();
  aws::ClientOptions options;
  bool stats = false;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--endpoint-url")
      options.endpoint_url = value();
    else if (arg == "--region")
      options.region = value();
    else if (arg == "--profile")
      options.profile = value();
    else if (arg == "--max-attempts")
      options.max_attempts = std::stoi(value());
    else if (arg == "--base-delay-ms")
      options.base_delay = std::chrono::milliseconds(std::stoi(value()));
    else if (arg == "--timeout-ms")
      options.timeout = std::chrono::milliseconds(std::stoi(value()));
    else if (arg == "--debug")
      options.debug = [](std::string_view line) { std::cerr << "debug: " << line << "\n"; };
    else if (arg == "--stats")
      stats = true;
    else
      args.push_back(arg);
  }
  if (args.empty())
    return usage();
  auto made = aws::make_client(options);
  if (!made)
    return fail(made.error());
  const auto& client = **made;
  auto report = [&](int code) {
    if (stats)
      std::fprintf(stderr, "stats: requests=%ld mutating=%ld retries=%ld\n",
                   client.counters().requests.load(), client.counters().mutating.load(),
                   client.counters().retries.load());
    return code;
  };
  const auto& command = args[0];

  if (command == "credentials") {
    auto credentials = client.credentials();
    if (!credentials)
      return fail(credentials.error());
    print(boost::json::object{{"source", credentials->source},
                              {"access_key_id", credentials->access_key_id},
                              {"has_token", !credentials->session_token.empty()},
                              {"region", client.region()}});
    return report(0);
  }
  if (command == "whoami") {
    auto result = client.query(aws::Service::sts, "GetCallerIdentity", "2011-06-15", {});
    if (!result)
      return report(fail(result.error()));
    print(xml_to_json(*result));
    return report(0);
  }
  if (command == "s3" && args.size() >= 3) {
    const auto& sub = args[1];
    const auto& bucket = args[2];
    aws::s3::PutOptions put_options;
    std::vector<std::string> rest;
    for (std::size_t i = 3; i < args.size(); ++i) {
      if (args[i] == "--if-none-match")
        put_options.if_none_match = true;
      else if (args[i] == "--if-match" && i + 1 < args.size())
        put_options.if_match = args[++i];
      else if (args[i] == "--meta" && i + 1 < args.size()) {
        const auto& kv = args[++i];
        const auto eq = kv.find('=');
        put_options.metadata[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
      } else
        rest.push_back(args[i]);
    }
    if (sub == "mb") {
      auto result = aws::s3::create_bucket(client, bucket);
      return report(result ? 0 : fail(result.error()));
    }
    if (sub == "rb") {
      auto result = aws::s3::delete_bucket(client, bucket);
      return report(result ? 0 : fail(result.error()));
    }
    if (sub == "exists") {
      auto result = aws::s3::bucket_exists(client, bucket);
      if (!result)
        return report(fail(result.error()));
      print(boost::json::value(*result));
      return report(0);
    }
    if (sub == "put" && rest.size() == 2) {
      auto result = aws::s3::put_object_file(client, bucket, rest[0], rest[1], put_options);
      if (!result)
        return report(fail(result.error()));
      print(boost::json::object{{"etag", *result}});
      return report(0);
    }
    if (sub == "put-text" && rest.size() == 2) {
      put_options.content_type = "text/plain";
      auto result = aws::s3::put_object(client, bucket, rest[0], rest[1], put_options);
      if (!result)
        return report(fail(result.error()));
      print(boost::json::object{{"etag", *result}});
      return report(0);
    }
    if (sub == "get" && rest.size() == 2) {
      auto result = aws::s3::get_object_to_file(client, bucket, rest[0], rest[1]);
      if (!result)
        return report(fail(result.error()));
      print(boost::json::value(*result));
      return report(0);
    }
    if (sub == "cat" && rest.size() == 1) {
      auto result = aws::s3::get_object(client, bucket, rest[0]);
      if (!result)
        return report(fail(result.error()));
      if (!*result)
        return report(1);
      std::cout << (*result)->body;
      return report(0);
    }
    if (sub == "head" && rest.size() == 1) {
      auto result = aws::s3::head_object(client, bucket, rest[0]);
      if (!result)
        return report(fail(result.error()));
      if (!*result) {
        print(nullptr);
        return report(0);
      }
      boost::json::object meta;
      for (const auto& [k, v] : (*result)->metadata)
        meta[k] = v;
      print(boost::json::object{{"size", (*result)->size},
                                {"etag", (*result)->etag},
                                {"content_type", (*result)->content_type},
                                {"metadata", meta}});
      return report(0);
    }
    if (sub == "ls") {
      auto result = aws::s3::list_objects(client, bucket, rest.empty() ? "" : rest[0]);
      if (!result)
        return report(fail(result.error()));
      boost::json::array out;
      for (const auto& object : *result)
        out.push_back(
            boost::json::object{{"key", object.key}, {"size", object.size}, {"etag", object.etag}});
      print(out);
      return report(0);
    }
    if (sub == "rm" && rest.size() == 1) {
      auto result = aws::s3::delete_object(client, bucket, rest[0]);
      return report(result ? 0 : fail(result.error()));
    }
    return usage();
  }
  if (command == "rest-json" && args.size() >= 5) {
    auto service = parse_service(args[1]);
    if (!service)
      return usage();
    boost::json::value body;
    if (args.size() >= 6)
      body = boost::json::parse(args[5]);
    auto result = client.rest_json(*service, args[2], args[3], args[4], {},
                                   args.size() >= 6 ? &body : nullptr);
    if (!result)
      return report(fail(result.error()));
    print(*result);
    return report(0);
  }
  if (command == "json" && args.size() == 5) {
    auto service = parse_service(args[1]);
    if (!service)
      return usage();
    auto result =
        client.json_rpc(*service, args[2], args[3], boost::json::parse(args[4]).as_object());
    if (!result)
      return report(fail(result.error()));
    print(*result);
    return report(0);
  }
  if (command == "query" && args.size() >= 4) {
    auto service = parse_service(args[1]);
    if (!service)
      return usage();
    aws::Query parameters;
    for (std::size_t i = 4; i < args.size(); ++i) {
      const auto eq = args[i].find('=');
      parameters.emplace_back(args[i].substr(0, eq),
                              eq == std::string::npos ? "" : args[i].substr(eq + 1));
    }
    auto result = client.query(*service, args[2], args[3], parameters);
    if (!result)
      return report(fail(result.error()));
    print(xml_to_json(*result));
    return report(0);
  }
  return usage();
}
