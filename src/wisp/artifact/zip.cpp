#include <wisp/artifact/zip.hpp>

#include <wisp/artifact/libarchive.hpp>

#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>

#include <libdeflate.h>
#include <zlib.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <locale.h>
#include <memory>
#include <mutex>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace wisp::artifact {

namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t k_local_signature = 0x04034b50;
constexpr std::uint32_t k_central_signature = 0x02014b50;
constexpr std::uint32_t k_end_signature = 0x06054b50;
constexpr std::uint32_t k_zip64_end_signature = 0x06064b50;
constexpr std::uint32_t k_zip64_locator_signature = 0x07064b50;
constexpr std::uint16_t k_method_stored = 0;
constexpr std::uint16_t k_method_deflate = 8;
constexpr std::uint16_t k_version_made_by = (3u << 8u) | 30u; // Unix, spec 3.0
constexpr std::uint16_t k_flag_utf8 = 1u << 11u;
constexpr std::uint64_t k_max32 = 0xFFFFFFFFull;
constexpr std::uint64_t k_max16 = 0xFFFFull;
// A streamed entry's compressed size is unknown when its header is written; above this
// uncompressed size the header reserves zip64 fields in case deflate expands the data.
constexpr std::uint64_t k_stream_zip64_from = 0xFF000000ull;
constexpr std::uint64_t k_memory_budget = 256ull * 1024 * 1024;

void put16(std::string& out, std::uint64_t value) {
  out += static_cast<char>(value & 0xFFu);
  out += static_cast<char>((value >> 8u) & 0xFFu);
}
void put32(std::string& out, std::uint64_t value) {
  put16(out, value & 0xFFFFu);
  put16(out, (value >> 16u) & 0xFFFFu);
}
void put64(std::string& out, std::uint64_t value) {
  put32(out, value & k_max32);
  put32(out, value >> 32u);
}

bool has_non_ascii(std::string_view name) {
  return std::any_of(name.begin(), name.end(),
                     [](char c) { return (static_cast<unsigned char>(c) & 0x80u) != 0; });
}

struct Slot {
  bool ready = false;
  bool streamed = false;
  std::string data; // the stored or deflated bytes
  std::uint32_t crc = 0;
  std::uint64_t size = 0;
  std::uint16_t method = k_method_stored;
  std::optional<support::Error> error;
};

struct CentralRecord {
  std::string name;
  std::uint32_t crc = 0;
  std::uint64_t compressed = 0;
  std::uint64_t size = 0;
  std::uint64_t offset = 0;
  std::uint16_t method = k_method_stored;
  std::uint16_t version_needed = 20;
  bool executable = false;
};

std::uint16_t version_needed(std::uint16_t method, bool zip64) {
  if (zip64)
    return 45;
  return method == k_method_deflate ? 20 : 10;
}

std::string local_header(const std::string& name, std::uint16_t method, std::uint32_t crc,
                         std::uint64_t compressed, std::uint64_t size, bool zip64,
                         std::pair<std::uint16_t, std::uint16_t> date_time) {
  std::string out;
  put32(out, k_local_signature);
  put16(out, version_needed(method, zip64));
  put16(out, has_non_ascii(name) ? k_flag_utf8 : 0);
  put16(out, method);
  put16(out, date_time.second);
  put16(out, date_time.first);
  put32(out, crc);
  put32(out, zip64 ? k_max32 : compressed);
  put32(out, zip64 ? k_max32 : size);
  put16(out, name.size());
  put16(out, zip64 ? 20 : 0);
  out += name;
  if (zip64) {
    put16(out, 0x0001);
    put16(out, 16);
    put64(out, size);
    put64(out, compressed);
  }
  return out;
}

class ZipWriter {
public:
  ZipWriter(std::vector<ZipInput> entries, const ZipOptions& options)
      : m_entries(std::move(entries)), m_options(options), m_slots(m_entries.size()),
        m_date_time(dos_date_time(resolve_timestamp(options))) {}

  support::Result<ZipResult> run(const fs::path& output) {
    WISP_TRY_ASSIGN(auto file, support::AtomicFile::create(output));
    m_file = &file;
    unsigned threads = m_options.threads != 0 ? m_options.threads
                                              : std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(
        std::min<std::size_t>(threads, std::max<std::size_t>(1, m_entries.size())));
    m_window = 4u * threads;
    std::vector<std::thread> workers;
    workers.reserve(threads);
    for (unsigned i = 0; i < threads; ++i)
      workers.emplace_back([this] { work(); });
    auto status = write_all();
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_cv.notify_all();
    for (auto& worker : workers)
      worker.join();
    if (!status)
      return tl::unexpected(status.error());
    WISP_TRY(file.commit());
    ZipResult result;
    if (m_patched) {
      WISP_TRY_ASSIGN(result.digest, digest_file(output));
    } else {
      result.digest = make_digest(m_sha.finish(), m_offset);
    }
    result.unzipped_size = m_unzipped;
    result.entries = m_entries.size();
    return result;
  }

private:
  void work() {
    libdeflate_compressor* compressor = libdeflate_alloc_compressor(k_deflate_level);
    while (true) {
      std::size_t index = 0;
      {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [this] {
          if (m_stop || m_next >= m_entries.size())
            return true;
          if (m_next == m_written)
            return true;
          return m_next < m_written + m_window &&
                 m_in_flight + m_entries[m_next].size <= k_memory_budget;
        });
        if (m_stop || m_next >= m_entries.size())
          break;
        index = m_next++;
        if (!is_streamed(m_entries[index]))
          m_in_flight += m_entries[index].size;
      }
      Slot slot = compress(m_entries[index], compressor);
      {
        std::lock_guard lock(m_mutex);
        m_slots[index] = std::move(slot);
        m_slots[index].ready = true;
      }
      m_cv.notify_all();
    }
    libdeflate_free_compressor(compressor);
  }

  [[nodiscard]] bool is_streamed(const ZipInput& entry) const {
    return !entry.data && entry.size > m_options.stream_threshold;
  }

  Slot compress(const ZipInput& entry, libdeflate_compressor* compressor) const {
    Slot slot;
    if (is_streamed(entry)) {
      slot.streamed = true;
      return slot;
    }
    std::string content;
    if (entry.data) {
      content = *entry.data;
    } else {
      auto read = support::read_file(entry.source, m_options.stream_threshold);
      if (!read) {
        slot.error = read.error();
        return slot;
      }
      content = std::move(*read);
    }
    slot.size = content.size();
    slot.crc = static_cast<std::uint32_t>(libdeflate_crc32(0, content.data(), content.size()));
    if (!content.empty()) {
      std::string deflated(libdeflate_deflate_compress_bound(compressor, content.size()), '\0');
      const auto n = libdeflate_deflate_compress(compressor, content.data(), content.size(),
                                                 deflated.data(), deflated.size());
      if (n > 0 && n < content.size()) {
        deflated.resize(n);
        slot.data = std::move(deflated);
        slot.method = k_method_deflate;
        return slot;
      }
    }
    slot.data = std::move(content);
    slot.method = k_method_stored;
    return slot;
  }

  support::Status emit(std::string_view bytes) {
    WISP_TRY(m_file->write(bytes));
    m_sha.update(bytes);
    m_offset += bytes.size();
    return {};
  }

  support::Status write_all() {
    for (std::size_t i = 0; i < m_entries.size(); ++i) {
      Slot slot;
      {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return m_slots[i].ready; });
        slot = std::move(m_slots[i]);
      }
      if (slot.error)
        return tl::unexpected(*slot.error);
      const auto& entry = m_entries[i];
      CentralRecord record;
      record.name = entry.name;
      record.offset = m_offset;
      record.executable = entry.executable;
      if (slot.streamed) {
        WISP_TRY(write_streamed(entry, record));
      } else {
        const bool zip64 = slot.size >= k_max32 || slot.data.size() >= k_max32;
        WISP_TRY(emit(local_header(entry.name, slot.method, slot.crc, slot.data.size(), slot.size,
                                   zip64, m_date_time)));
        WISP_TRY(emit(slot.data));
        record.crc = slot.crc;
        record.compressed = slot.data.size();
        record.size = slot.size;
        record.method = slot.method;
        record.version_needed = version_needed(slot.method, zip64);
      }
      m_unzipped += record.size;
      m_records.push_back(std::move(record));
      {
        std::lock_guard lock(m_mutex);
        ++m_written;
        if (!slot.streamed)
          m_in_flight -= entry.size;
      }
      m_cv.notify_all();
    }
    return write_central();
  }

  support::Status write_streamed(const ZipInput& entry, CentralRecord& record) {
    const int fd = ::open(entry.source.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return support::failf("cannot read {}: {}", entry.source.string(), std::strerror(errno));
    std::unique_ptr<int, void (*)(int*)> closer(new int(fd), [](int* p) {
      ::close(*p);
      delete p;
    });
    struct stat st {};
    if (::fstat(fd, &st) != 0)
      return support::failf("cannot read {}: {}", entry.source.string(), std::strerror(errno));
    const auto expected = static_cast<std::uint64_t>(st.st_size);
    const bool zip64 = expected >= k_stream_zip64_from;
    const auto header_offset = m_offset;
    const auto header =
        local_header(entry.name, k_method_deflate, 0, 0, expected, zip64, m_date_time);
    WISP_TRY(emit(header));
    z_stream z{};
    if (deflateInit2(&z, k_deflate_level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      return support::fail("cannot initialise zlib");
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, deflateEnd);
    std::vector<char> in(1u << 20u);
    std::string out(1u << 20u, '\0');
    std::uint32_t crc = 0;
    std::uint64_t size = 0;
    std::uint64_t compressed = 0;
    bool done = false;
    while (!done) {
      const auto n = ::read(fd, in.data(), in.size());
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return support::failf("cannot read {}: {}", entry.source.string(), std::strerror(errno));
      }
      const auto count = static_cast<std::size_t>(n);
      crc = static_cast<std::uint32_t>(libdeflate_crc32(crc, in.data(), count));
      size += count;
      z.next_in = reinterpret_cast<Bytef*>(in.data());
      z.avail_in = static_cast<uInt>(count);
      const int flush = count == 0 ? Z_FINISH : Z_NO_FLUSH;
      int rc = Z_OK;
      do {
        z.next_out = reinterpret_cast<Bytef*>(out.data());
        z.avail_out = static_cast<uInt>(out.size());
        rc = deflate(&z, flush);
        if (rc == Z_STREAM_ERROR)
          return support::failf("deflate failed on {}", entry.name);
        const auto produced = out.size() - z.avail_out;
        WISP_TRY(emit(std::string_view(out.data(), produced)));
        compressed += produced;
      } while (z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
      done = count == 0;
    }
    if (size != expected)
      return support::failf("{} changed while it was being zipped", entry.source.string());
    if (!zip64 && compressed >= k_max32)
      return support::failf("{} does not fit a zip entry", entry.name);
    // Patch the CRC and sizes into the header written before the data.
    m_patched = true;
    std::string crc_bytes;
    put32(crc_bytes, crc);
    WISP_TRY(m_file->write_at(header_offset + 14, crc_bytes));
    std::string sizes;
    if (zip64) {
      put64(sizes, size);
      put64(sizes, compressed);
      WISP_TRY(m_file->write_at(header_offset + 30 + entry.name.size() + 4, sizes));
    } else {
      put32(sizes, compressed);
      put32(sizes, size);
      WISP_TRY(m_file->write_at(header_offset + 18, sizes));
    }
    record.crc = crc;
    record.compressed = compressed;
    record.size = size;
    record.method = k_method_deflate;
    record.version_needed = version_needed(k_method_deflate, zip64);
    return {};
  }

  support::Status write_central() {
    const auto central_offset = m_offset;
    std::string out;
    for (const auto& record : m_records) {
      std::string extra;
      if (record.size >= k_max32)
        put64(extra, record.size);
      if (record.compressed >= k_max32)
        put64(extra, record.compressed);
      if (record.offset >= k_max32)
        put64(extra, record.offset);
      std::string zip64_extra;
      if (!extra.empty()) {
        put16(zip64_extra, 0x0001);
        put16(zip64_extra, extra.size());
        zip64_extra += extra;
      }
      const auto version = zip64_extra.empty() ? record.version_needed : std::uint16_t{45};
      put32(out, k_central_signature);
      put16(out, k_version_made_by);
      put16(out, version);
      put16(out, has_non_ascii(record.name) ? k_flag_utf8 : 0);
      put16(out, record.method);
      put16(out, m_date_time.second);
      put16(out, m_date_time.first);
      put32(out, record.crc);
      put32(out, std::min(record.compressed, k_max32));
      put32(out, std::min(record.size, k_max32));
      put16(out, record.name.size());
      put16(out, zip64_extra.size());
      put16(out, 0); // comment
      put16(out, 0); // disk
      put16(out, 0); // internal attributes
      const std::uint64_t mode = 0100000u | (record.executable ? 0755u : 0644u);
      put32(out, mode << 16u);
      put32(out, std::min(record.offset, k_max32));
      out += record.name;
      out += zip64_extra;
      if (out.size() >= (1u << 20u)) {
        WISP_TRY(emit(out));
        out.clear();
      }
    }
    WISP_TRY(emit(out));
    out.clear();
    const auto central_size = m_offset - central_offset;
    const auto count = static_cast<std::uint64_t>(m_records.size());
    const bool zip64 = count >= k_max16 || central_size >= k_max32 || central_offset >= k_max32;
    if (zip64) {
      const auto zip64_end_offset = m_offset;
      put32(out, k_zip64_end_signature);
      put64(out, 44);
      put16(out, k_version_made_by);
      put16(out, 45);
      put32(out, 0);
      put32(out, 0);
      put64(out, count);
      put64(out, count);
      put64(out, central_size);
      put64(out, central_offset);
      put32(out, k_zip64_locator_signature);
      put32(out, 0);
      put64(out, zip64_end_offset);
      put32(out, 1);
    }
    put32(out, k_end_signature);
    put16(out, 0);
    put16(out, 0);
    put16(out, std::min(count, k_max16));
    put16(out, std::min(count, k_max16));
    put32(out, std::min(central_size, k_max32));
    put32(out, std::min(central_offset, k_max32));
    put16(out, 0);
    return emit(out);
  }

  std::vector<ZipInput> m_entries;
  const ZipOptions& m_options;
  std::vector<Slot> m_slots;
  std::pair<std::uint16_t, std::uint16_t> m_date_time;
  support::AtomicFile* m_file = nullptr;
  support::Sha256 m_sha;
  std::uint64_t m_offset = 0;
  std::uint64_t m_unzipped = 0;
  bool m_patched = false;
  std::vector<CentralRecord> m_records;

  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::size_t m_next = 0;
  std::size_t m_written = 0;
  std::size_t m_window = 8;
  std::uint64_t m_in_flight = 0;
  bool m_stop = false;
};

} // namespace

std::string unsafe_name_reason(std::string_view name) {
  if (name.empty())
    return "an empty name";
  if (name.front() == '/' || name.front() == '\\')
    return "an absolute path";
  if (name.size() >= 2 && name[1] == ':' &&
      ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z')))
    return "an absolute path";
  if (name.find('\0') != std::string_view::npos)
    return "a NUL byte";
  std::size_t start = 0;
  while (start <= name.size()) {
    const auto end = name.find_first_of("/\\", start);
    const auto part = name.substr(start, end == std::string_view::npos ? name.npos : end - start);
    if (part == "..")
      return "a '..' component that leads outside the destination";
    if (end == std::string_view::npos)
      break;
    start = end + 1;
  }
  return {};
}

std::pair<std::uint16_t, std::uint16_t> dos_date_time(std::int64_t epoch_seconds) {
  constexpr std::int64_t k_min = 315532800;  // 1980-01-01 00:00:00 UTC
  constexpr std::int64_t k_max = 4354819198; // 2107-12-31 23:59:58 UTC
  const auto clamped = std::clamp(epoch_seconds, k_min, k_max);
  const auto t = static_cast<std::time_t>(clamped);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  const auto date =
      static_cast<std::uint16_t>(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
  const auto time =
      static_cast<std::uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
  return {date, time};
}

std::int64_t resolve_timestamp(const ZipOptions& options) {
  if (options.timestamp)
    return *options.timestamp;
  if (const char* text = std::getenv("SOURCE_DATE_EPOCH"); text != nullptr && *text != '\0') {
    char* end = nullptr;
    errno = 0;
    const long long value = std::strtoll(text, &end, 10);
    if (errno == 0 && end != nullptr && *end == '\0' && value >= 0)
      return value;
  }
  return 315532800;
}

support::Result<ZipResult> write_zip(std::vector<ZipInput> entries, const fs::path& output,
                                     const ZipOptions& options) {
  std::sort(entries.begin(), entries.end(),
            [](const ZipInput& a, const ZipInput& b) { return a.name < b.name; });
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (auto reason = unsafe_name_reason(entries[i].name); !reason.empty())
      return support::failf("cannot zip entry '{}': {}", entries[i].name, reason);
    if (entries[i].name.back() == '/')
      return support::failf("cannot zip entry '{}': a name ending in '/'", entries[i].name);
    if (entries[i].name.size() >= k_max16)
      return support::failf("cannot zip entry '{}...': the name is too long",
                            entries[i].name.substr(0, 60));
    if (i > 0 && entries[i].name == entries[i - 1].name)
      return support::failf("cannot zip: '{}' appears twice", entries[i].name);
    if (entries[i].data)
      entries[i].size = entries[i].data->size();
  }
  ZipWriter writer(std::move(entries), options);
  return writer.run(output);
}

std::vector<ZipInput> zip_inputs(const std::vector<TreeFile>& files) {
  std::vector<ZipInput> inputs;
  inputs.reserve(files.size());
  for (const auto& file : files)
    inputs.push_back(ZipInput{file.name, file.source, std::nullopt, file.size, file.executable});
  return inputs;
}

support::Result<ZipResult> zip_directory(const fs::path& root, const fs::path& output,
                                         const IgnoreRules& rules, const ZipOptions& options) {
  WISP_TRY_ASSIGN(auto files, collect_tree(root, rules));
  return write_zip(zip_inputs(files), output, options);
}

// --- reading -------------------------------------------------------------------------

namespace {

// libarchive converts entry names to the current locale's charset; under the "C" locale a
// UTF-8 name would be lost. The calling thread reads archives in C.UTF-8.
class Utf8Locale {
public:
  Utf8Locale() : m_locale(::newlocale(LC_CTYPE_MASK, "C.UTF-8", nullptr)) {
    if (m_locale != nullptr)
      m_previous = ::uselocale(m_locale);
  }
  ~Utf8Locale() {
    if (m_locale != nullptr) {
      ::uselocale(m_previous);
      ::freelocale(m_locale);
    }
  }
  Utf8Locale(const Utf8Locale&) = delete;
  Utf8Locale& operator=(const Utf8Locale&) = delete;

private:
  locale_t m_locale;
  locale_t m_previous = nullptr;
};

struct ArchiveReader {
  Utf8Locale locale; // before the archive: libarchive picks its charset at creation
  archive* handle = la::api().archive_read_new();
  ~ArchiveReader() { la::api().archive_read_free(handle); }
  ArchiveReader() = default;
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;
};

support::Result<std::vector<ArchiveEntry>> read_entries(const fs::path& zip) {
  ArchiveReader reader;
  la::api().archive_read_support_format_zip_seekable(reader.handle);
  if (la::api().archive_read_open_filename(reader.handle, zip.c_str(), 1u << 16u) != ARCHIVE_OK)
    return support::failf("cannot open {}: {}", zip.string(),
                          la::api().archive_error_string(reader.handle));
  std::vector<ArchiveEntry> entries;
  archive_entry* entry = nullptr;
  while (true) {
    const int rc = la::api().archive_read_next_header(reader.handle, &entry);
    if (rc == ARCHIVE_EOF)
      break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      return support::failf("{} is not a valid zip: {}", zip.string(),
                            la::api().archive_error_string(reader.handle));
    ArchiveEntry item;
    // UTF-8 first: converting to the locale's charset fails for non-ASCII names in "C".
    const char* name = la::api().archive_entry_pathname_utf8(entry);
    if (name == nullptr)
      name = la::api().archive_entry_pathname(entry);
    item.name = name != nullptr ? name : "";
    if (auto reason = unsafe_name_reason(item.name); !reason.empty())
      return support::failf("{}: refusing entry '{}': {}", zip.string(), item.name, reason);
    const auto type = la::api().archive_entry_filetype(entry);
    item.is_dir = type == AE_IFDIR;
    item.is_symlink = type == AE_IFLNK;
    if (item.is_symlink) {
      const char* target = la::api().archive_entry_symlink(entry);
      item.link_target = target != nullptr ? target : "";
    }
    item.size = static_cast<std::uint64_t>(la::api().archive_entry_size(entry));
    item.mode = static_cast<unsigned>(la::api().archive_entry_perm(entry));
    entries.push_back(std::move(item));
    la::api().archive_read_data_skip(reader.handle);
  }
  return entries;
}

bool lexically_within(const fs::path& path, const fs::path& root) {
  const auto normal = path.lexically_normal();
  auto it = normal.begin();
  for (const auto& part : root.lexically_normal()) {
    if (part.empty())
      continue;
    if (it == normal.end() || *it != part)
      return false;
    ++it;
  }
  return true;
}

} // namespace

support::Result<std::vector<ArchiveEntry>> list_zip(const fs::path& zip) {
  return read_entries(zip);
}

support::Status extract_zip(const fs::path& zip, const fs::path& destination) {
  WISP_TRY_ASSIGN(auto entries, read_entries(zip));
  std::error_code ec;
  fs::create_directories(destination, ec);
  if (ec)
    return support::failf("cannot create {}: {}", destination.string(), ec.message());
  const auto root = fs::canonical(destination, ec);
  if (ec)
    return support::failf("cannot read {}: {}", destination.string(), ec.message());
  for (const auto& entry : entries) {
    if (!entry.is_symlink)
      continue;
    const fs::path target(entry.link_target);
    if (target.is_absolute() ||
        !lexically_within(root / fs::path(entry.name).parent_path() / target, root))
      return support::failf("{}: refusing link '{}' -> '{}': it leads outside the destination",
                            zip.string(), entry.name, entry.link_target);
  }

  ArchiveReader reader;
  la::api().archive_read_support_format_zip_seekable(reader.handle);
  if (la::api().archive_read_open_filename(reader.handle, zip.c_str(), 1u << 16u) != ARCHIVE_OK)
    return support::failf("cannot open {}: {}", zip.string(),
                          la::api().archive_error_string(reader.handle));
  archive* writer = la::api().archive_write_disk_new();
  std::unique_ptr<archive, int (*)(archive*)> writer_guard(writer, la::api().archive_write_free);
  // Names were checked above and are joined to the destination here (so the path given to
  // libarchive is absolute); its own checks stay on as a second line of defence.
  la::api().archive_write_disk_set_options(writer, ARCHIVE_EXTRACT_PERM |
                                                       ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                       ARCHIVE_EXTRACT_SECURE_SYMLINKS);
  archive_entry* entry = nullptr;
  while (true) {
    const int rc = la::api().archive_read_next_header(reader.handle, &entry);
    if (rc == ARCHIVE_EOF)
      break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      return support::failf("{} is not a valid zip: {}", zip.string(),
                            la::api().archive_error_string(reader.handle));
    const std::string name = la::api().archive_entry_pathname(entry);
    const auto type = la::api().archive_entry_filetype(entry);
    const auto full = root / name;
    la::api().archive_entry_set_pathname(entry, full.c_str());
    if (type == AE_IFDIR)
      la::api().archive_entry_set_perm(entry, 0755);
    else if (type == AE_IFREG)
      la::api().archive_entry_set_perm(
          entry, (la::api().archive_entry_perm(entry) & 0100) != 0 ? 0755 : 0644);
    else if (type != AE_IFLNK)
      return support::failf("{}: refusing entry '{}': not a file, directory or link", zip.string(),
                            name);
    if (la::api().archive_write_header(writer, entry) != ARCHIVE_OK)
      return support::failf("cannot extract '{}' from {}: {}", name, zip.string(),
                            la::api().archive_error_string(writer));
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    while (true) {
      const int data_rc = la::api().archive_read_data_block(reader.handle, &block, &size, &offset);
      if (data_rc == ARCHIVE_EOF)
        break;
      if (data_rc != ARCHIVE_OK)
        return support::failf("cannot extract '{}' from {}: {}", name, zip.string(),
                              la::api().archive_error_string(reader.handle));
      if (la::api().archive_write_data_block(writer, block, size, offset) != ARCHIVE_OK)
        return support::failf("cannot extract '{}' from {}: {}", name, zip.string(),
                              la::api().archive_error_string(writer));
    }
    if (la::api().archive_write_finish_entry(writer) != ARCHIVE_OK)
      return support::failf("cannot extract '{}' from {}: {}", name, zip.string(),
                            la::api().archive_error_string(writer));
  }
  return {};
}

} // namespace wisp::artifact
