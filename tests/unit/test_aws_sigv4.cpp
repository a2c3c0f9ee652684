#include <wisp/aws/sigv4.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace wisp;

namespace {

const std::string k_empty_sha = support::sha256_hex("");

std::string authorization(const aws::SignedRequest& signed_request) {
  for (const auto& [name, value] : signed_request.add_headers)
    if (name == "Authorization")
      return value;
  return {};
}

} // namespace

// The examples in AWS's public SigV4 documentation (IAM ListUsers, the get-vanilla case of
// the SigV4 test suite, and S3's "GET Object" example).
TEST_CASE("sigv4: AWS documentation examples") {
  SUBCASE("IAM ListUsers") {
    aws::SigningRequest request{
        "GET",
        "/",
        {{"Action", "ListUsers"}, {"Version", "2010-05-08"}},
        {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
         {"Host", "iam.amazonaws.com"}},
        k_empty_sha};
    const auto result =
        aws::sign(request, {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}, ""},
                  {"us-east-1", "iam", "20150830T123600Z"});
    CHECK(result.canonical_request == "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
                                      "content-type:application/x-www-form-urlencoded; "
                                      "charset=utf-8\nhost:iam.amazonaws.com\n"
                                      "x-amz-date:20150830T123600Z\n\n"
                                      "content-type;host;x-amz-date\n" +
                                          k_empty_sha);
    CHECK(support::sha256_hex(result.canonical_request) ==
          "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    CHECK(result.signature == "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
    CHECK(authorization(result) ==
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
          "SignedHeaders=content-type;host;x-amz-date, "
          "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  }
  SUBCASE("get-vanilla") {
    aws::SigningRequest request{"GET", "/", {}, {{"Host", "example.amazonaws.com"}}, k_empty_sha};
    const auto result =
        aws::sign(request, {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}, ""},
                  {"us-east-1", "service", "20150830T123600Z"});
    CHECK(result.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    // x-amz-date was added because the caller did not give it.
    REQUIRE(result.add_headers.size() == 2);
    CHECK(result.add_headers[0].first == "X-Amz-Date");
    CHECK(result.add_headers[0].second == "20150830T123600Z");
  }
  SUBCASE("S3 GET Object with Range") {
    aws::SigningRequest request{"GET",
                                "/test.txt",
                                {},
                                {{"Host", "examplebucket.s3.amazonaws.com"},
                                 {"Range", "bytes=0-9"},
                                 {"x-amz-content-sha256", k_empty_sha}},
                                k_empty_sha};
    const auto result = aws::sign(
        request, {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "", {}, ""},
        {"us-east-1", "s3", "20130524T000000Z"});
    CHECK(result.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  }
}

TEST_CASE("sigv4: session token is signed and added") {
  aws::SigningRequest request{"GET", "/", {}, {{"Host", "sts.amazonaws.com"}}, k_empty_sha};
  const auto result = aws::sign(request, {"AKID", "SECRET", "TOKEN", {}, ""},
                                {"us-east-1", "sts", "20200101T000000Z"});
  CHECK(result.canonical_request.find("x-amz-security-token:TOKEN\n") != std::string::npos);
  bool has_token = false;
  for (const auto& [name, value] : result.add_headers)
    has_token |= name == "X-Amz-Security-Token" && value == "TOKEN";
  CHECK(has_token);
  // The secret never appears in anything the signer returns.
  CHECK(result.canonical_request.find("SECRET") == std::string::npos);
  CHECK(result.string_to_sign.find("SECRET") == std::string::npos);
  CHECK(authorization(result).find("SECRET") == std::string::npos);
}

TEST_CASE("sigv4: canonical query sorts encoded pairs and encodes strictly") {
  CHECK(aws::canonical_query({{"b", "2"}, {"a", "x y"}, {"a", "1"}, {"c", ""}}) ==
        "a=1&a=x%20y&b=2&c=");
  CHECK(aws::canonical_query({{"k", "a+b/c~d*"}}) == "k=a%2Bb%2Fc~d%2A");
}

TEST_CASE("sigv4: non-S3 paths are normalised and encoded twice; S3 paths are not") {
  const aws::Credentials credentials{"AKID", "SECRET", "", {}, ""};
  aws::SigningRequest request{"GET", "/a/./b/../c//d%20e", {}, {{"Host", "h"}}, k_empty_sha};
  auto lambda = aws::sign(request, credentials, {"us-east-1", "lambda", "20200101T000000Z"});
  CHECK(lambda.canonical_request.starts_with("GET\n/a/c/d%2520e\n"));
  auto s3 = aws::sign(request, credentials, {"us-east-1", "s3", "20200101T000000Z"});
  CHECK(s3.canonical_request.starts_with("GET\n/a/./b/../c//d%20e\n"));
}

// Vectors signed by botocore (tests/tools/sigv4_oracle.py --generate 50 7): random paths,
// queries, headers, bodies, tokens and services.
TEST_CASE("sigv4: matches botocore on generated requests") {
  const auto text =
      support::read_file(std::string(WISP_TEST_DATA_DIR) + "/unit/data/sigv4_botocore.json");
  REQUIRE(text.has_value());
  const auto cases = boost::json::parse(*text).as_array();
  REQUIRE(cases.size() >= 50);
  for (const auto& item : cases) {
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
    const auto& expected = c.at("expected").as_object();
    INFO("url: " << c.at("url").as_string().c_str());
    CHECK(result.canonical_request == expected.at("canonical_request").as_string().c_str());
    CHECK(authorization(result) == expected.at("authorization").as_string().c_str());
  }
}

TEST_CASE("sigv4: amz_date formats UTC") {
  CHECK(aws::amz_date(std::chrono::system_clock::from_time_t(1440938160)) == "20150830T123600Z");
}
