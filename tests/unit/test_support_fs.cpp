#include <wisp/support/fs.hpp>

#include <doctest/doctest.h>

#include <sys/stat.h>

using namespace wisp::support;

TEST_CASE("atomic write creates parents, sets mode, replaces content") {
  TempDir dir("wisp-test");
  const auto path = dir.path() / "a" / "b" / "file.txt";
  REQUIRE(write_file_atomic(path, "one").has_value());
  REQUIRE(write_file_atomic(path, "two", 0755).has_value());
  CHECK(read_file(path).value() == "two");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0755);
  // No temp files are left behind.
  int count = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(path.parent_path()))
    ++count;
  CHECK(count == 1);
}

TEST_CASE("read_file errors name the path and the reason") {
  TempDir dir("wisp-test");
  auto missing = read_file(dir.path() / "nope");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message.find("nope") != std::string::npos);
  CHECK(missing.error().message.find("No such file") != std::string::npos);
  auto directory = read_file(dir.path());
  REQUIRE_FALSE(directory.has_value());
  CHECK(directory.error().message.find("is a directory") != std::string::npos);
  REQUIRE(write_file_atomic(dir.path() / "big", std::string(100, 'x')).has_value());
  auto too_big = read_file(dir.path() / "big", 10);
  REQUIRE_FALSE(too_big.has_value());
  CHECK(too_big.error().message.find("larger than the limit") != std::string::npos);
}

TEST_CASE("is_within resolves .. and symlinks") {
  TempDir dir("wisp-test");
  fs::create_directories(dir.path() / "root" / "sub");
  CHECK(is_within(dir.path() / "root" / "sub" / "x", dir.path() / "root"));
  CHECK_FALSE(is_within(dir.path() / "root" / ".." / "x", dir.path() / "root"));
  fs::create_directory_symlink(dir.path(), dir.path() / "root" / "escape");
  CHECK_FALSE(is_within(dir.path() / "root" / "escape" / "x", dir.path() / "root"));
}

TEST_CASE("AtomicFile appears only on commit and can patch earlier bytes") {
  TempDir dir("wisp-test");
  const auto target = dir.path() / "sub" / "out.bin";
  {
    auto file = AtomicFile::create(target, 0600);
    REQUIRE(file);
    REQUIRE(file->write("hello world"));
    REQUIRE(file->write_at(0, "HELLO"));
    CHECK(file->size() == 11);
    CHECK_FALSE(fs::exists(target));
    REQUIRE(file->commit());
  }
  CHECK(*read_file(target) == "HELLO world");
  CHECK((fs::status(target).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  {
    auto file = AtomicFile::create(target);
    REQUIRE(file);
    REQUIRE(file->write("replacement that is abandoned"));
  }
  CHECK(*read_file(target) == "HELLO world");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(target.parent_path()))
    ++entries;
  CHECK(entries == 1); // no temp file left behind
}

TEST_CASE("rename_no_replace refuses an existing target, even an empty directory") {
  TempDir dir("wisp-test");
  const auto from = dir.path() / "from";
  fs::create_directory(from);
  REQUIRE(write_file_atomic(from / "f", "x").has_value());
  fs::create_directory(dir.path() / "empty");
  auto refused = rename_no_replace(from, dir.path() / "empty");
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message == (dir.path() / "empty").string() + " already exists");
  CHECK(fs::exists(from / "f"));
  REQUIRE(rename_no_replace(from, dir.path() / "to").has_value());
  CHECK(read_file(dir.path() / "to" / "f").value() == "x");
  CHECK_FALSE(fs::exists(from));
}

TEST_CASE("read_file refuses a FIFO without waiting for a writer") {
  TempDir dir("wisp-test");
  const auto fifo = dir.path() / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto result = read_file(fifo);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().message.find("not a regular file") != std::string::npos);
}
