#include <wisp/support/memory.hpp>

#include <cstdint>
#include <cstdlib>

#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>
#include <sys/mman.h>
#endif

namespace wisp::support {

void prepare_heap(std::size_t bytes) noexcept {
#if defined(__linux__) && defined(__GLIBC__)
  // glibc serves blocks below M_MMAP_THRESHOLD (at most 32 MiB) from the heap; keep the
  // block there, and keep freed memory in the heap instead of trimming it.
  constexpr std::size_t k_max = std::size_t{32} * 1024 * 1024 - 4096;
  if (bytes < std::size_t{256} * 1024)
    return;
  if (bytes > k_max)
    bytes = k_max;
  static bool configured = false;
  if (!configured) {
    mallopt(M_MMAP_THRESHOLD, static_cast<int>(k_max + 4096));
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    configured = true;
  }
  void* block = std::malloc(bytes);
  if (block == nullptr)
    return;
  constexpr std::uintptr_t k_page = 4096;
  constexpr std::uintptr_t k_huge = std::uintptr_t{2} * 1024 * 1024;
  const auto start = reinterpret_cast<std::uintptr_t>(block);
  const auto end = start + bytes;
  const auto huge_begin = (start + k_huge - 1) & ~(k_huge - 1);
  const auto huge_end = end & ~(k_huge - 1);
  if (huge_end > huge_begin)
    (void)madvise(reinterpret_cast<void*>(huge_begin), // NOLINT(performance-no-int-to-ptr)
                  huge_end - huge_begin, MADV_HUGEPAGE);
  const auto page_begin = (start + k_page - 1) & ~(k_page - 1);
  const auto page_end = end & ~(k_page - 1);
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
  if (page_end > page_begin)
    (void)madvise(reinterpret_cast<void*>(page_begin), // NOLINT(performance-no-int-to-ptr)
                  page_end - page_begin, MADV_POPULATE_WRITE);
  std::free(block);
#else
  (void)bytes;
#endif
}

} // namespace wisp::support
