// Verifying SigV4 on incoming requests (aws/sigv4_verify.hpp): a request signed by wisp's own
// signer verifies; a changed body, header, secret, key or time does not. botocore-signed
// requests are checked end to end in tests/integration/test_local_function_urls.py.

#include <wisp/aws/sigv4.hpp>
#include <wisp/aws/sigv4_verify.hpp>
#include <wisp/support/hash.hpp>

#include <doctest/doctest.h>

using namespace wisp::aws;

namespace {

struct Signed {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

Signed make(const std::string& secret, std::chrono::system_clock::time_point when) {
  Signed out;
  out.body = R"({"k":1})";
  SigningRequest request;
  request.method = "POST";
  request.path = "/a%20b/c";
  request.query = {{"x", "1"}, {"y", "a/b"}};
  request.headers = {{"host", "127.0.0.1:3000"}, {"content-type", "application/json"}};
  request.payload_sha256 = wisp::support::sha256_hex(out.body);
  Credentials credentials;
  credentials.access_key_id = "AKIDEXAMPLE";
  credentials.secret_access_key = secret;
  const auto result =
      sign(request, credentials, SigningScope{"us-east-1", "lambda", amz_date(when)});
  out.headers = request.headers;
  for (const auto& header : result.add_headers)
    out.headers.push_back(header);
  return out;
}

SignatureResult check(const Signed& request, std::string_view body,
                      std::chrono::system_clock::time_point now,
                      std::string_view key = "AKIDEXAMPLE") {
  IncomingRequest incoming;
  incoming.method = "POST";
  incoming.raw_path = "/a%20b/c";
  incoming.raw_query = "y=a%2Fb&x=1";
  for (const auto& [name, value] : request.headers)
    incoming.headers.emplace_back(name, value);
  incoming.body = body;
  Credentials credentials;
  credentials.access_key_id = std::string(key);
  credentials.secret_access_key = "secret";
  return verify_sigv4(incoming, credentials, "lambda", now);
}

} // namespace

TEST_CASE("sigv4 verify: a signed request verifies; changes do not") {
  const auto now = std::chrono::system_clock::from_time_t(1700000000);
  const auto request = make("secret", now);
  CHECK(check(request, request.body, now).check == SignatureCheck::ok);
  CHECK(check(request, "{\"k\":2}", now).check == SignatureCheck::mismatch);
  CHECK(check(make("other", now), request.body, now).check == SignatureCheck::mismatch);
  CHECK(check(request, request.body, now, "AKIDOTHER").check == SignatureCheck::unknown_key);
  CHECK(check(request, request.body, now + std::chrono::minutes(20)).check ==
        SignatureCheck::expired);
  auto changed = request;
  changed.headers[1].second = "text/plain";
  CHECK(check(changed, request.body, now).check == SignatureCheck::mismatch);
  auto unsigned_request = request;
  unsigned_request.headers.resize(2);
  CHECK(check(unsigned_request, request.body, now).check == SignatureCheck::missing);
  auto broken = request;
  for (auto& [name, value] : broken.headers)
    if (name == "Authorization")
      value = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/lambda/aws4_request";
  CHECK(check(broken, request.body, now).check == SignatureCheck::malformed);
  CHECK(signature_error_type(SignatureCheck::mismatch) == "InvalidSignatureException");
}
