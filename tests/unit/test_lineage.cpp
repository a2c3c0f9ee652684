#include <wisp/runtime/lineage.hpp>

#include <doctest/doctest.h>

using namespace wisp::runtime;

TEST_CASE("lineage: the chain count per function in the trace header") {
  const auto hash = lineage_hash("arn:aws:lambda:us-east-1:123456789012:function:loop");
  CHECK(hash.size() == 8);
  CHECK(hash != lineage_hash("arn:aws:lambda:us-east-1:123456789012:function:other"));
  const std::string root =
      "Root=1-67890abc-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0";
  CHECK(lineage_count(root, hash) == -1);
  auto header = with_lineage(root, hash, 0);
  CHECK(header == root + ";Lineage=1:" + hash + ":0");
  CHECK(lineage_count(header, hash) == 0);
  header = with_lineage(header, hash, 5);
  CHECK(header == root + ";Lineage=1:" + hash + ":5");
  // Other functions' entries and the older form (hash:count) are read and kept.
  const std::string mixed = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1;Lineage=a87bd80c:1|"
                            "68fd508a:5|c512fbe3:2";
  CHECK(lineage_count(mixed, "68fd508a") == 5);
  CHECK(lineage_count(mixed, "c512fbe3") == 2);
  CHECK(lineage_count(mixed, "00000000") == -1);
  CHECK(with_lineage(mixed, "68fd508a", 6) ==
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1;Lineage=a87bd80c:1|c512fbe3:2|1:"
        "68fd508a:6");
  // Lineage in the middle of the header; fields after it stay.
  CHECK(lineage_count("Root=1-a-b;Lineage=1:abcdef01:15;Self=x", "abcdef01") == 15);
  CHECK(with_lineage("Root=1-a-b;Lineage=1:abcdef01:15;Self=x", "abcdef01", 16) ==
        "Root=1-a-b;Lineage=1:abcdef01:16;Self=x");
  // Unreadable counts are ignored.
  CHECK(lineage_count("Root=1-a-b;Lineage=1:abcdef01:x", "abcdef01") == -1);
  CHECK(k_recursion_limit == 16);
}
