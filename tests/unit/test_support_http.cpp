#include <wisp/support/http.hpp>

#include <doctest/doctest.h>

using namespace wisp::support::http;

TEST_CASE("http: url encoding") {
  CHECK(url_encode("a b/c~d-_.*+") == "a%20b%2Fc~d-_.%2A%2B");
  CHECK(url_encode("a b/c", true) == "a%20b/c");
  CHECK(url_encode("\xc3\xa9") == "%C3%A9");
  CHECK(url_decode("a%20b%2fc%zz%4") == "a b/c%zz%4");
  CHECK(url_decode(url_encode("x/y z%")) == "x/y z%");
}

TEST_CASE("http: url parsing") {
  auto url = parse_url("http://127.0.0.1:5000/path/x?q=1#frag");
  REQUIRE(url.has_value());
  CHECK(url->scheme == "http");
  CHECK(url->host == "127.0.0.1");
  CHECK(url->port == 5000);
  CHECK(url->path == "/path/x");
  CHECK(url->query == "q=1");
  CHECK(url->authority() == "127.0.0.1:5000");
  auto bare = parse_url("HTTPS://user:pw@lambda.us-east-1.amazonaws.com");
  REQUIRE(bare.has_value());
  CHECK(bare->scheme == "https");
  CHECK(bare->host == "lambda.us-east-1.amazonaws.com");
  CHECK(bare->path == "/");
  CHECK(bare->authority() == "lambda.us-east-1.amazonaws.com");
  auto v6 = parse_url("http://[::1]:8080/");
  REQUIRE(v6.has_value());
  CHECK(v6->host == "::1");
  CHECK(v6->authority() == "[::1]:8080");
  for (const char* bad : {"", "127.0.0.1:5000", "ftp://x/", "http://", "http://:80/",
                          "http://h:99999/", "http://h:8a/", "http://[::1/"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_url(bad).has_value());
  }
}
