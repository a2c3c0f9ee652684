#pragma once
// Deterministic zip archives, and safe reading of zips wisp did not write.
//
// Writing: the same entries give the same bytes on any machine with the same libdeflate:
// entries sorted by name, files only (no directory entries, as SAM CLI's zips), one fixed
// timestamp (ZipOptions::timestamp, else SOURCE_DATE_EPOCH, else 1980-01-01 00:00:00),
// modes 0644 or 0755 (executable), no extra fields except zip64 where a size or offset
// needs it, deflate at one fixed level (stored when deflate does not shrink an entry).
// Entries are compressed in parallel; the archive appears at its path only when complete.
//
// Reading: names that are absolute, contain `..`, or a backslash-separated escape are
// refused (zip-slip), as are links leading outside the destination.

#include <wisp/artifact/digest.hpp>
#include <wisp/artifact/ignore.hpp>
#include <wisp/artifact/tree.hpp>
#include <wisp/support/error.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace wisp::artifact {

inline constexpr int k_deflate_level = 6;

struct ZipInput {
  std::string name;                // '/'-separated, relative
  std::filesystem::path source;    // read from here, unless `data` is set
  std::optional<std::string> data; // in-memory content
  std::uint64_t size = 0;          // expected size (for scheduling); the bytes read count
  bool executable = false;
};

struct ZipOptions {
  // Seconds since the epoch for every entry. nullopt: SOURCE_DATE_EPOCH when set and
  // valid, else 1980-01-01 00:00:00 UTC (the earliest time a zip can hold).
  std::optional<std::int64_t> timestamp;
  unsigned threads = 0; // 0: one per core
  // Entries larger than this are deflated as a stream (zlib) instead of whole (libdeflate),
  // so memory stays bounded; part of the format, not a tuning knob.
  std::uint64_t stream_threshold = 64ull * 1024 * 1024;
};

struct ZipResult {
  Digest digest;                   // of the zip file
  std::uint64_t unzipped_size = 0; // sum of the entries' sizes
  std::size_t entries = 0;
};

// Writes `entries` (any order; sorted here) as a zip at `output`. Duplicate or unsafe
// names are an error. Nothing is left at `output` on failure.
support::Result<ZipResult> write_zip(std::vector<ZipInput> entries,
                                     const std::filesystem::path& output,
                                     const ZipOptions& options = {});

// The entries of a collected tree.
std::vector<ZipInput> zip_inputs(const std::vector<TreeFile>& files);

// collect_tree(root, rules) then write_zip.
support::Result<ZipResult> zip_directory(const std::filesystem::path& root,
                                         const std::filesystem::path& output,
                                         const IgnoreRules& rules = IgnoreRules::defaults(),
                                         const ZipOptions& options = {});

// The DOS date/time fields a timestamp is stored as (clamped to 1980..2107).
std::pair<std::uint16_t, std::uint16_t> dos_date_time(std::int64_t epoch_seconds);
// ZipOptions::timestamp resolved (SOURCE_DATE_EPOCH or 1980-01-01).
std::int64_t resolve_timestamp(const ZipOptions& options);

struct ArchiveEntry {
  std::string name;
  std::uint64_t size = 0;
  unsigned mode = 0; // permission bits
  bool is_dir = false;
  bool is_symlink = false;
  std::string link_target;
};

// The entries of a zip, in archive order. Unsafe names are an error.
support::Result<std::vector<ArchiveEntry>> list_zip(const std::filesystem::path& zip);

// Extracts a zip into `destination` (created when missing). Unsafe names and links
// leading outside `destination` are refused before anything is written.
support::Status extract_zip(const std::filesystem::path& zip,
                            const std::filesystem::path& destination);

// Why `name` is unsafe as an archive member name, or empty when it is safe.
std::string unsafe_name_reason(std::string_view name);

} // namespace wisp::artifact
