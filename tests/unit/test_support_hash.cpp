#include <wisp/support/hash.hpp>

#include <doctest/doctest.h>

using namespace wisp::support;

TEST_CASE("sha256 of known inputs (FIPS 180-2 vectors)") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 streaming;
  streaming.update("ab");
  streaming.update("c");
  CHECK(to_hex(streaming.finish()) == sha256_hex("abc"));
}

TEST_CASE("hmac-sha256 (RFC 4231 test case 2)") {
  CHECK(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("base64 round trip and RFC 4648 vectors") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_decode("Zm9vYmE=").value() == "fooba");
  CHECK(base64_decode("Zg==").value() == "f");
  const std::string binary("\x00\xff\x10\x80", 4);
  CHECK(base64_decode(base64_encode(binary)).value() == binary);
}

TEST_CASE("base64 rejects malformed input") {
  CHECK_FALSE(base64_decode("Zg=").has_value());
  CHECK_FALSE(base64_decode("Z===").has_value());
  CHECK_FALSE(base64_decode("Zg==Zg==").has_value());
  CHECK_FALSE(base64_decode("Zm9*").has_value());
  CHECK_FALSE(base64_decode("Zm 9").has_value());
}
