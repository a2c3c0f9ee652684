#pragma once
// Process memory helpers for short-lived commands.

#include <cstddef>

namespace wisp::support {

// Makes the next `bytes` of heap allocations cheap: the heap is grown once and its pages
// are faulted in by one madvise call (huge pages where the kernel allows) instead of one
// page fault per 4 KiB page as allocations touch them — on virtual machines a page fault
// costs tens of microseconds. The memory stays with the process (it is not trimmed back
// to the OS). A no-op where unsupported; never fails.
void prepare_heap(std::size_t bytes) noexcept;

} // namespace wisp::support
