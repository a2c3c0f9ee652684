#pragma once
// libarchive, loaded on first use (dlopen of libarchive.so.13) rather than linked: its
// dependency tree (libxml2, ICU, lzma, ...) cost every wisp command's start several ms of
// dynamic linking, while only archive reading and tar writing need it.
// Use: `la::api().archive_read_new()` with the types and constants of <archive.h>.

#include <archive.h>
#include <archive_entry.h>

namespace wisp::artifact::la {

#define WISP_LIBARCHIVE_FUNCTIONS(X)                                                               \
  X(archive_entry_clear)                                                                           \
  X(archive_entry_filetype)                                                                        \
  X(archive_entry_free)                                                                            \
  X(archive_entry_new)                                                                             \
  X(archive_entry_pathname)                                                                        \
  X(archive_entry_pathname_utf8)                                                                   \
  X(archive_entry_perm)                                                                            \
  X(archive_entry_set_filetype)                                                                    \
  X(archive_entry_set_gid)                                                                         \
  X(archive_entry_set_mtime)                                                                       \
  X(archive_entry_set_pathname)                                                                    \
  X(archive_entry_set_pathname_utf8)                                                               \
  X(archive_entry_set_perm)                                                                        \
  X(archive_entry_set_size)                                                                        \
  X(archive_entry_set_uid)                                                                         \
  X(archive_entry_size)                                                                            \
  X(archive_entry_symlink)                                                                         \
  X(archive_error_string)                                                                          \
  X(archive_read_data_block)                                                                       \
  X(archive_read_data_skip)                                                                        \
  X(archive_read_free)                                                                             \
  X(archive_read_new)                                                                              \
  X(archive_read_next_header)                                                                      \
  X(archive_read_open_filename)                                                                    \
  X(archive_read_support_format_zip_seekable)                                                      \
  X(archive_write_close)                                                                           \
  X(archive_write_data)                                                                            \
  X(archive_write_data_block)                                                                      \
  X(archive_write_disk_new)                                                                        \
  X(archive_write_disk_set_options)                                                                \
  X(archive_write_finish_entry)                                                                    \
  X(archive_write_free)                                                                            \
  X(archive_write_header)                                                                          \
  X(archive_write_new)                                                                             \
  X(archive_write_open2)                                                                           \
  X(archive_write_set_bytes_per_block)                                                             \
  X(archive_write_set_format_pax_restricted)

struct Api {
#define WISP_LIBARCHIVE_MEMBER(name) decltype(&::name) name = nullptr;
  WISP_LIBARCHIVE_FUNCTIONS(WISP_LIBARCHIVE_MEMBER)
#undef WISP_LIBARCHIVE_MEMBER
};

// The loaded functions; throws std::runtime_error (an installation problem) when libarchive
// cannot be loaded.
const Api& api();

} // namespace wisp::artifact::la
