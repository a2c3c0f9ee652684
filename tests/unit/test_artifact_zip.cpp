#include "artifact_test_util.hpp"

#include <wisp/artifact/zip.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

using namespace wisp;
using namespace wisp::artifact;
namespace fs = std::filesystem;

namespace {

// A small project tree: nested dirs, an executable, a binary blob, a non-ASCII name.
void make_tree(const fs::path& root, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::pair<std::string, std::string>> files = {
      {"index.js", "exports.handler = async () => ({ statusCode: 200 });\n"},
      {"lib/util.js", std::string(5000, 'u') + "\n"},
      {"lib/deep/er/mod.js", "module.exports = 42;\n"},
      {"bin/tool", "#!/bin/sh\necho hi\n"},
      {"data/blob.bin", std::string(2000, '\0')},
      {"caf\xc3\xa9.txt", "caf\xc3\xa9\n"},
      {"a-b", "dash\n"},
      {"a/b", "slash\n"},
      {"empty.txt", ""},
  };
  std::shuffle(files.begin(), files.end(), rng); // creation order differs per tree
  for (const auto& [name, content] : files)
    test::write(root / name, content, name == "bin/tool" ? 0755 : 0644);
  // Random bytes that do not compress: stored, not deflated.
  std::string noise(4096, '\0');
  std::mt19937 fixed(7);
  for (auto& c : noise)
    c = static_cast<char>(fixed() & 0xFFu);
  test::write(root / "data/noise.bin", noise);
  // Shuffled mtimes and a group-write bit that must not leak into the zip.
  std::uniform_int_distribution<std::int64_t> when(0, 2'000'000'000);
  for (const auto& entry : fs::recursive_directory_iterator(root))
    test::set_mtime(entry.path(), when(rng));
  fs::permissions(root / "index.js", fs::perms::group_write, fs::perm_options::add);
}

} // namespace

TEST_CASE("zips of the same tree are byte-identical across directories, mtimes and order") {
  support::TempDir a("wisp-zip-a");
  support::TempDir b("wisp-zip-b");
  make_tree(a.path() / "src", 1);
  make_tree(b.path() / "elsewhere" / "code", 99);
  auto za = zip_directory(a.path() / "src", a.path() / "out.zip");
  auto zb = zip_directory(b.path() / "elsewhere" / "code", b.path() / "x" / "other.zip",
                          IgnoreRules::defaults(), ZipOptions{std::nullopt, 1});
  REQUIRE_MESSAGE(za, za.error().message);
  REQUIRE_MESSAGE(zb, zb.error().message);
  CHECK(test::bytes_of(a.path() / "out.zip") == test::bytes_of(b.path() / "x" / "other.zip"));
  CHECK(za->digest == zb->digest);
  CHECK(za->entries == 10);
  CHECK(za->digest.hex.size() == 64);
  CHECK(za->digest.base64.size() == 44);
  CHECK(za->digest == digest_file(a.path() / "out.zip").value());
  CHECK(za->digest.base64 ==
        support::base64_encode(support::sha256(test::bytes_of(a.path() / "out.zip"))));
}

TEST_CASE("zip entries: sorted files only, normalised modes, readable by libarchive") {
  support::TempDir dir("wisp-zip");
  make_tree(dir.path() / "src", 3);
  REQUIRE(zip_directory(dir.path() / "src", dir.path() / "out.zip"));
  auto entries = list_zip(dir.path() / "out.zip");
  REQUIRE_MESSAGE(entries, entries.error().message);
  std::vector<std::string> names;
  for (const auto& e : *entries) {
    names.push_back(e.name);
    CHECK_FALSE(e.is_dir);
    CHECK(e.mode == (e.name == "bin/tool" ? 0755u : 0644u));
  }
  CHECK(names == std::vector<std::string>{"a-b", "a/b", "bin/tool", "caf\xc3\xa9.txt",
                                          "data/blob.bin", "data/noise.bin", "empty.txt",
                                          "index.js", "lib/deep/er/mod.js", "lib/util.js"});

  support::TempDir out("wisp-unzip");
  auto extracted = extract_zip(dir.path() / "out.zip", out.path());
  REQUIRE_MESSAGE(extracted, extracted.error().message);
  CHECK(test::bytes_of(out.path() / "lib/util.js") == std::string(5000, 'u') + "\n");
  CHECK(test::bytes_of(out.path() / "data/noise.bin") ==
        test::bytes_of(dir.path() / "src/data/noise.bin"));
  CHECK(test::bytes_of(out.path() / "empty.txt").empty());
  CHECK((fs::status(out.path() / "bin/tool").permissions() & fs::perms::owner_exec) !=
        fs::perms::none);
}

TEST_CASE("the timestamp: fixed 1980-01-01, SOURCE_DATE_EPOCH, explicit, clamped") {
  CHECK(dos_date_time(315532800) == std::pair<std::uint16_t, std::uint16_t>{0x21, 0});
  // 2000-01-01 00:00:00 UTC.
  CHECK(dos_date_time(946684800) ==
        std::pair<std::uint16_t, std::uint16_t>{(20u << 9u) | (1u << 5u) | 1u, 0});
  // 2021-06-15 12:34:56 UTC: seconds are stored halved.
  CHECK(dos_date_time(1623760496) ==
        std::pair<std::uint16_t, std::uint16_t>{(41u << 9u) | (6u << 5u) | 15u,
                                                (12u << 11u) | (34u << 5u) | 28u});
  CHECK(dos_date_time(0) == dos_date_time(315532800));
  CHECK(resolve_timestamp(ZipOptions{123, 0}) == 123);

  ::setenv("SOURCE_DATE_EPOCH", "946684800", 1);
  CHECK(resolve_timestamp(ZipOptions{}) == 946684800);
  ::setenv("SOURCE_DATE_EPOCH", "not-a-number", 1);
  CHECK(resolve_timestamp(ZipOptions{}) == 315532800);
  ::unsetenv("SOURCE_DATE_EPOCH");
  CHECK(resolve_timestamp(ZipOptions{}) == 315532800);

  support::TempDir dir("wisp-zip-time");
  test::write(dir.path() / "src/a.txt", "a");
  REQUIRE(zip_directory(dir.path() / "src", dir.path() / "1980.zip"));
  REQUIRE(zip_directory(dir.path() / "src", dir.path() / "2000.zip", IgnoreRules::defaults(),
                        ZipOptions{946684800, 0}));
  CHECK(test::bytes_of(dir.path() / "1980.zip") != test::bytes_of(dir.path() / "2000.zip"));
  const auto bytes = test::bytes_of(dir.path() / "1980.zip");
  CHECK(static_cast<unsigned char>(bytes[10]) == 0);    // local header time
  CHECK(static_cast<unsigned char>(bytes[12]) == 0x21); // local header date
}

TEST_CASE("symlinks inside the tree are stored as their target's content") {
  support::TempDir dir("wisp-zip-link");
  const auto root = dir.path() / "src";
  test::write(root / "real/lib.js", "lib\n");
  test::write(root / "tool.sh", "#!/bin/sh\n", 0755);
  fs::create_symlink("real/lib.js", root / "alias.js");
  fs::create_directory_symlink("real", root / "linked-dir");
  fs::create_symlink("../tool.sh", root / "real/tool-link");
  REQUIRE(zip_directory(root, dir.path() / "out.zip"));
  const auto entries = list_zip(dir.path() / "out.zip").value();
  std::vector<std::string> names;
  for (const auto& e : entries) {
    names.push_back(e.name);
    CHECK_FALSE(e.is_symlink);
  }
  CHECK(names == std::vector<std::string>{"alias.js", "linked-dir/lib.js", "linked-dir/tool-link",
                                          "real/lib.js", "real/tool-link", "tool.sh"});
  for (const auto& e : entries)
    if (e.name.ends_with("tool-link"))
      CHECK(e.mode == 0755u);
  support::TempDir out("wisp-unzip");
  auto extracted = extract_zip(dir.path() / "out.zip", out.path());
  REQUIRE_MESSAGE(extracted, extracted.error().message);
  CHECK(test::bytes_of(out.path() / "alias.js") == "lib\n");
  CHECK_FALSE(fs::is_symlink(out.path() / "alias.js"));
}

TEST_CASE("a symlink leaving the tree, a dangling link and a cycle are errors") {
  support::TempDir dir("wisp-zip-escape");
  const auto root = dir.path() / "src";
  test::write(root / "index.js", "x");
  test::write(dir.path() / "secret.txt", "secret");
  SUBCASE("escape") {
    fs::create_symlink("../secret.txt", root / "leak.txt");
    auto zipped = zip_directory(root, dir.path() / "out.zip");
    REQUIRE_FALSE(zipped);
    CHECK(zipped.error().message.find("symlink leak.txt points outside") == 0);
    CHECK_FALSE(fs::exists(dir.path() / "out.zip"));
  }
  SUBCASE("absolute escape through a directory link") {
    fs::create_directory_symlink(dir.path(), root / "up");
    auto zipped = zip_directory(root, dir.path() / "out.zip");
    REQUIRE_FALSE(zipped);
    CHECK(zipped.error().message.find("symlink up points outside") == 0);
  }
  SUBCASE("dangling") {
    fs::create_symlink("missing.js", root / "gone.js");
    auto zipped = zip_directory(root, dir.path() / "out.zip");
    REQUIRE_FALSE(zipped);
    CHECK(zipped.error().message == "symlink gone.js is dangling (its target missing.js does not "
                                    "exist)");
  }
  SUBCASE("cycle") {
    fs::create_directories(root / "a");
    fs::create_directory_symlink("..", root / "a/loop");
    auto zipped = zip_directory(root, dir.path() / "out.zip");
    REQUIRE_FALSE(zipped);
    CHECK(zipped.error().message.find("symlink cycle at a/loop") == 0);
  }
}

TEST_CASE("exclusions apply to zips: defaults and .wispignore") {
  support::TempDir dir("wisp-zip-ignore");
  const auto root = dir.path() / "src";
  test::write(root / "app.py", "x");
  test::write(root / ".git/config", "x");
  test::write(root / ".wisp/build/x", "x");
  test::write(root / "__pycache__/app.cpython-312.pyc", "x");
  test::write(root / "pkg/mod.pyc", "x");
  test::write(root / ".DS_Store", "x");
  test::write(root / "tests/test_app.py", "x");
  test::write(root / "notes.md", "x");
  test::write(root / "keep.md", "x");
  test::write(root / ".wispignore", "# comment\ntests/\n*.md\n!keep.md\n");
  auto rules = IgnoreRules::for_directory(root);
  REQUIRE(rules);
  REQUIRE(zip_directory(root, dir.path() / "out.zip", *rules));
  const auto entries = list_zip(dir.path() / "out.zip").value();
  std::vector<std::string> names;
  for (const auto& e : entries)
    names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"app.py", "keep.md"});
}

TEST_CASE("large entries are deflated as a stream, identically every time") {
  support::TempDir dir("wisp-zip-stream");
  const auto root = dir.path() / "src";
  std::string big;
  for (int i = 0; i < 200000; ++i)
    big += "line " + std::to_string(i % 977) + "\n";
  test::write(root / "big.txt", big);
  test::write(root / "small.txt", "small");
  ZipOptions options;
  options.stream_threshold = 1000;
  auto first = zip_directory(root, dir.path() / "a.zip", IgnoreRules::defaults(), options);
  auto second = zip_directory(root, dir.path() / "b.zip", IgnoreRules::defaults(), options);
  REQUIRE_MESSAGE(first, first.error().message);
  REQUIRE(second);
  CHECK(first->digest == second->digest);
  CHECK(first->digest == digest_file(dir.path() / "a.zip").value()); // header patched
  CHECK(first->digest.size < big.size() / 4);
  support::TempDir out("wisp-unzip");
  REQUIRE(extract_zip(dir.path() / "a.zip", out.path()));
  CHECK(test::bytes_of(out.path() / "big.txt") == big);
  CHECK(test::bytes_of(out.path() / "small.txt") == "small");
}

TEST_CASE("more than 65535 entries use zip64 end records") {
  support::TempDir dir("wisp-zip64");
  std::vector<ZipInput> inputs;
  for (int i = 0; i < 70000; ++i)
    inputs.push_back(ZipInput{"f/" + std::to_string(i), {}, std::to_string(i), 0, false});
  auto zipped = write_zip(std::move(inputs), dir.path() / "many.zip");
  REQUIRE_MESSAGE(zipped, zipped.error().message);
  CHECK(zipped->entries == 70000);
  const auto entries = list_zip(dir.path() / "many.zip");
  REQUIRE_MESSAGE(entries, entries.error().message);
  CHECK(entries->size() == 70000);
  const auto bytes = test::bytes_of(dir.path() / "many.zip");
  CHECK(bytes.find(std::string("PK\x06\x06", 4)) != std::string::npos);
  CHECK(bytes.find(std::string("PK\x06\x07", 4)) != std::string::npos);
}

TEST_CASE("the writer refuses duplicate and unsafe names") {
  support::TempDir dir("wisp-zip-names");
  auto dup = write_zip({ZipInput{"a", {}, "1", 0, false}, ZipInput{"a", {}, "2", 0, false}},
                       dir.path() / "x.zip");
  REQUIRE_FALSE(dup);
  CHECK(dup.error().message == "cannot zip: 'a' appears twice");
  auto up = write_zip({ZipInput{"../a", {}, "1", 0, false}}, dir.path() / "x.zip");
  REQUIRE_FALSE(up);
  CHECK(up.error().message ==
        "cannot zip entry '../a': a '..' component that leads outside the destination");
  CHECK_FALSE(fs::exists(dir.path() / "x.zip"));
}

TEST_CASE("zip-slip: reading refuses '..' and absolute names and escaping links") {
  support::TempDir dir("wisp-zip-slip");
  const auto dest = dir.path() / "dest";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"../x", "a '..' component that leads outside the destination"},
      {"a/../../x", "a '..' component that leads outside the destination"},
      {"..\\x", "a '..' component that leads outside the destination"},
      {"/etc/x", "an absolute path"},
      {"C:/x", "an absolute path"},
  };
  for (const auto& [name, reason] : cases) {
    CAPTURE(name);
    const auto zip = dir.path() / "evil.zip";
    test::write(zip, test::raw_zip(name, "pwned"));
    auto listed = list_zip(zip);
    REQUIRE_FALSE(listed);
    // libarchive turns '\\' into '/' in names; either way the entry is refused.
    CHECK(listed.error().message.starts_with(zip.string() + ": refusing entry '"));
    CHECK(listed.error().message.ends_with("': " + reason));
    auto extracted = extract_zip(zip, dest);
    REQUIRE_FALSE(extracted);
    CHECK_FALSE(fs::exists(dir.path() / "x"));
  }
  // A link entry pointing outside.
  const auto zip = dir.path() / "link.zip";
  test::write(zip, test::raw_zip("evil", "../../etc/passwd", true));
  auto extracted = extract_zip(zip, dest);
  REQUIRE_FALSE(extracted);
  CHECK(extracted.error().message ==
        zip.string() + ": refusing link 'evil' -> '../../etc/passwd': it leads outside the "
                       "destination");
  CHECK_FALSE(fs::exists(dest / "evil"));
  // A good raw zip extracts.
  test::write(zip, test::raw_zip("ok/file.txt", "fine"));
  auto good = extract_zip(zip, dest);
  REQUIRE_MESSAGE(good, good.error().message);
  CHECK(test::bytes_of(dest / "ok/file.txt") == "fine");
}

TEST_CASE("a corrupt zip is an error, not a crash") {
  support::TempDir dir("wisp-zip-corrupt");
  const auto zip = dir.path() / "bad.zip";
  auto good = test::raw_zip("a.txt", "hello world");
  test::write(zip, good.substr(0, good.size() / 2));
  CHECK_FALSE(list_zip(zip));
  test::write(zip, "not a zip at all");
  CHECK_FALSE(list_zip(zip));
  CHECK_FALSE(list_zip(dir.path() / "missing.zip"));
}
