#pragma once
// Per-thread cache of I/O buffer blocks in a few fixed sizes (1, 4, 16 and 64 KiB). A
// connection takes a block when it has bytes to hold and gives it back when idle; with the
// cache that round trip is a pointer push and pop instead of malloc/free of a large chunk.
// Any thread may release a block (it joins that thread's cache); each thread keeps at most a
// bounded number per size, the rest go back to the allocator.
#include <cstddef>

namespace portier::proxy {

// A block of at least `size` bytes; `size` becomes the block's real capacity.
char* acquire_block(size_t& size);
// Returns a block from acquire_block with its capacity (nullptr/0 is a no-op).
void release_block(char* block, size_t capacity) noexcept;

}  // namespace portier::proxy
