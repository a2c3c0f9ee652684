#include <wisp/aws/xml.hpp>

#include <doctest/doctest.h>

using namespace wisp::aws;

TEST_CASE("xml: S3 listing with namespaces, entities and CDATA") {
  auto xml = parse_xml(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><IsTruncated>false</IsTruncated>
  <Contents><Key>a &amp; b&#x2F;c&#233;</Key><Size>3</Size></Contents>
  <!-- comment -->
  <Contents><Key><![CDATA[<raw>]]></Key><Size>4</Size></Contents>
  <Empty/>
</ListBucketResult>)");
  REQUIRE(xml.has_value());
  CHECK(xml->name == "ListBucketResult");
  CHECK(xml->text.empty());
  REQUIRE(xml->all("Contents").size() == 2);
  CHECK(xml->all("Contents")[0]->text_at("Key") == "a & b/c\xc3\xa9");
  CHECK(xml->all("Contents")[1]->text_at("Key") == "<raw>");
  CHECK(xml->child("Empty") != nullptr);
  CHECK(xml->text_at("Missing/Deeper").empty());
}

TEST_CASE("xml: query protocol error with prefixes") {
  auto xml = parse_xml("<ErrorResponse><aws:Error><Code>NoSuchEntity</Code>"
                       "<Message>Role x not found</Message></aws:Error>"
                       "<RequestId>r-1</RequestId></ErrorResponse>");
  REQUIRE(xml.has_value());
  REQUIRE(xml->find("Error") != nullptr);
  CHECK(xml->find("Error")->text_at("Code") == "NoSuchEntity");
  CHECK(xml->text_at("RequestId") == "r-1");
}

TEST_CASE("xml: malformed input is rejected, never crashes") {
  for (const char* bad : {"", "text", "<a>", "<a></b>", "<a>&bogus;</a>", "<a x=\"1></a>",
                          "<a><b></a></b>", "<a></a><b></b>", "<a>&#xZZ;</a>", "<>"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_xml(bad).has_value());
  }
  std::string deep;
  for (int i = 0; i < 1000; ++i)
    deep += "<a>";
  CHECK_FALSE(parse_xml(deep).has_value());
  CHECK(xml_escape("<a href='x'>&</a>") == "&lt;a href=&apos;x&apos;&gt;&amp;&lt;/a&gt;");
}
