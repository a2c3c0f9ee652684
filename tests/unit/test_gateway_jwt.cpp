// JWT verification and JWKS parsing (gateway/jwt.hpp). The tokens below were minted once
// with Python's `cryptography` (RS256 and ES256, exp 2100-01-01, nbf 1970) for the key set
// beside them; the integration test mints fresh ones against a live issuer.

#include <wisp/gateway/jwt.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using namespace wisp::gateway;

namespace {

constexpr std::string_view k_jwks =
    R"({"keys": [{"kty": "RSA", "kid": "r", "n": "rQ42QjbyrdDvEjIVMQep9O1YTd2YoV9MfPEPs5rFZVmFLBhnazB291_jMHG5TC92oyeqnrcfNatZINHZ9SX-1-jKY0mu_3MHHNEPUCEtAHWBcQeIov7BRboESezCsS1r8vHfCUHGM8FNJPPK_WXkw9aZ3BcTbl3z_EdRQ0NAP5h5NQFM1QKn0a0Gs1UZCUDniqthx6dJZDHjghzlbmaw6rV_M-OcdPo3RSCB6bj7suTHx0Riv0W7ziS0EPvdWTnnhNlH2KkK0LO410W2HTVaRE8XvyHaxGZpTETI-Qex5CMkarorbsVublyJXx_zxXRNTJlBDqPfuVBsal3rBDP-lQ", "e": "AQAB"}, {"kty": "EC", "kid": "e", "crv": "P-256", "x": "i_blbV4wJg_XI2ztbcQdQrF5aO3byFVWevwyMz82160", "y": "t_bPb4GEltsv2VTIB45UcqSEx-mE7e0dnbd95TZiXtw"}]})";

constexpr std::string_view k_rs256 =
    "eyJhbGciOiAiUlMyNTYiLCAia2lkIjogInIifQ."
    "eyJpc3MiOiAiaHR0cHM6Ly9pc3N1ZXIuZXhhbXBsZSIsICJhdWQiOiAiYXBwIiwgInN1YiI6ICJ1MSIsICJzY29wZSI6"
    "ICJyZWFkIGFkbWluIiwgImV4cCI6IDQxMDI0NDQ4MDAsICJuYmYiOiAxMDAwfQ."
    "UhNO2fbCrwBF_ctkTJeUrlHF7fqcGrx_Bj0yc9CsAlttQ3RraEbLOr7VfwVSJymZ89HQTkvRqi_"
    "idjbUYDWiGi68mkYndRSJ"
    "ZzCqIg-PgeXG_sIxT-ZYMeJ55ui2_eyqw58kUu2DQJiAs-ffUaTWRC-qMY9fi51_"
    "R0rX7s6gxdbQ8K7WBBWra7Sg0RPos3a2"
    "eFNBx-lGacToft5fxBUpKHS2c7y4GxWKNzput1UuOVS5Fz2q9pmLBhTD_"
    "wwle25QPRjj0cbiMEu1GcDdvdwPMOUdXFBK6nh-lb-"
    "eAxlQpK_EawlyzY8PzbpYmin6cyZW5DC7r0u1GKdddBilaLVAuA";

constexpr std::string_view k_es256 =
    "eyJhbGciOiAiRVMyNTYiLCAia2lkIjogImUifQ."
    "eyJpc3MiOiAiaHR0cHM6Ly9pc3N1ZXIuZXhhbXBsZSIsICJhdWQiOiAiYXBwIiwgInN1YiI6ICJ1MSIsICJzY29wZSI6"
    "ICJyZWFkIGFkbWluIiwgImV4cCI6IDQxMDI0NDQ4MDAsICJuYmYiOiAxMDAwfQ."
    "McKJdtEOQGCfpYTNJoY9g2uxS8rcx7Zs-55PDhiwmcKlvFVNm1StMdlkf0Ac9LGpedrG9bOmt4l9e5xiZ789Rg";

std::shared_ptr<const KeySet> keys() {
  std::string error;
  auto set = parse_jwks(k_jwks, error);
  REQUIRE(set != nullptr);
  return set;
}

JwtRules rules() {
  JwtRules r;
  r.issuer = "https://issuer.example";
  r.audience = {"app"};
  return r;
}

const auto k_now = std::chrono::system_clock::from_time_t(1700000000);

} // namespace

TEST_CASE("jwt: a JWKS with an RSA and an EC key parses both") {
  CHECK(key_count(*keys()) == 2);
  std::string error;
  CHECK(parse_jwks("{\"nokeys\": 1}", error) == nullptr);
  CHECK(!error.empty());
  CHECK(parse_jwks("not json", error) == nullptr);
}

TEST_CASE("jwt: RS256 and ES256 tokens verify, with claims and scopes") {
  for (auto token : {k_rs256, k_es256}) {
    const auto outcome = verify_jwt(token, *keys(), rules(), k_now);
    CHECK(outcome.kind == JwtOutcome::Kind::ok);
    CHECK(outcome.scopes == std::vector<std::string>{"read", "admin"});
    bool found = false;
    for (const auto& [name, value] : outcome.claims)
      if (name == "sub" && value == "u1")
        found = true;
    CHECK(found);
    for (const auto& [name, value] : outcome.claims)
      if (name == "exp")
        CHECK(value == "4102444800");
  }
}

TEST_CASE("jwt: claims that do not match the rules are refused") {
  auto r = rules();
  r.issuer = "https://other.example";
  CHECK(verify_jwt(k_rs256, *keys(), r, k_now).kind == JwtOutcome::Kind::invalid);
  r = rules();
  r.audience = {"someone-else"};
  CHECK(verify_jwt(k_rs256, *keys(), r, k_now).kind == JwtOutcome::Kind::invalid);
  // before nbf, after exp
  CHECK(verify_jwt(k_rs256, *keys(), rules(), std::chrono::system_clock::from_time_t(10)).kind ==
        JwtOutcome::Kind::invalid);
  CHECK(verify_jwt(k_rs256, *keys(), rules(), std::chrono::system_clock::from_time_t(4102444801))
            .kind == JwtOutcome::Kind::invalid);
  r = rules();
  r.scopes = {"write"};
  CHECK(verify_jwt(k_es256, *keys(), r, k_now).kind == JwtOutcome::Kind::forbidden);
  r.scopes = {"write", "admin"};
  CHECK(verify_jwt(k_es256, *keys(), r, k_now).kind == JwtOutcome::Kind::ok);
  r = rules();
  r.cognito = true; // needs token_use
  CHECK(verify_jwt(k_es256, *keys(), r, k_now).kind == JwtOutcome::Kind::invalid);
}

TEST_CASE("jwt: tampered, truncated and malformed tokens are invalid, never a crash") {
  std::string tampered(k_rs256);
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  CHECK(verify_jwt(tampered, *keys(), rules(), k_now).kind == JwtOutcome::Kind::invalid);
  // the ES256 signature on the RS256 header/payload
  std::string swapped(k_rs256.substr(0, k_rs256.rfind('.')));
  swapped += k_es256.substr(k_es256.rfind('.'));
  CHECK(verify_jwt(swapped, *keys(), rules(), k_now).kind == JwtOutcome::Kind::invalid);
  for (std::string_view bad : {"", ".", "..", "a.b.c", "a.b", "a.b.c.d", "%%%.%%%.%%%"})
    CHECK(verify_jwt(bad, *keys(), rules(), k_now).kind == JwtOutcome::Kind::invalid);
  CHECK(verify_jwt(k_rs256.substr(0, 60), *keys(), rules(), k_now).kind ==
        JwtOutcome::Kind::invalid);
}

TEST_CASE("jwt: --jwks values and Bearer prefixes") {
  auto source = parse_jwks_flag("https://issuer.example=keys.json");
  CHECK(source.issuer == "https://issuer.example");
  CHECK(source.location == "keys.json");
  source = parse_jwks_flag("keys=1.json");
  CHECK(source.issuer.empty());
  CHECK(source.location == "keys=1.json");
  source = parse_jwks_flag("http://127.0.0.1:9/jwks.json");
  CHECK(source.issuer.empty());
  CHECK(bearer_token("Bearer abc") == "abc");
  CHECK(bearer_token("abc") == "abc");
}
