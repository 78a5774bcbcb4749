// Freed memory is scrubbed: what the backend freed is not left for the next allocation to write
// out. PostgreSQL writes whole blocks of some buffers whose tail it never initialised (a sort's
// logical tape writes its last block whole, BLCKSZ bytes, whatever the payload): the bytes are
// whatever the allocator handed out, and glibc hands out memory freed before — the core's answer
// buffers (a page of /muutokset, raw, protected persons' addresses included) or a context's
// blocks that held a jsonb value before it was censored. Seen: a hetu sort's spill file of a
// change run held a protected person's address from a page read minutes before. PostgreSQL-free.
#pragma once

namespace vtj {

// The byte freed memory is filled with (glibc's M_PERTURB; a new block gets its complement).
constexpr int kFreedMemoryByte = 0xA5;

// From now on glibc fills every chunk freed in this process with kFreedMemoryByte, and every
// chunk it hands out (except by calloc) with its complement; process-wide, all threads and
// libraries (libcurl, libxml2, simdjson, PostgreSQL's own contexts). glibc's per-thread cache
// of small chunks (up to 1,032 bytes) is not filled: PostgreSQL's buffers that reach a disk are
// 8 kB and more, from blocks that are. Returns false if the allocator refused.
bool scrub_freed_memory() noexcept;

// The probe: in blocks of a few sizes from 2 kB to 1 MB, writes a secret, frees the block,
// allocates the same size again (glibc gives the same memory back) and looks for the secret.
// True when none of it is seen again: freed memory is scrubbed in this process.
bool freed_memory_is_scrubbed() noexcept;

}  // namespace vtj
