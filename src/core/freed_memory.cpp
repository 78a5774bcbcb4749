// See freed_memory.hpp.
#include "core/freed_memory.hpp"

#include <malloc.h>

#include <cstddef>
#include <cstdlib>
#include <initializer_list>

namespace vtj {

bool scrub_freed_memory() noexcept
{
#if defined(__SANITIZE_ADDRESS__)
    // A sanitized build (the test suite's): ASan's allocator is the process's and ignores
    // mallopt; test/run asks it to fill freed memory instead (ASAN_OPTIONS free_fill_byte).
    return true;
#else
    return mallopt(M_PERTURB, kFreedMemoryByte) == 1;
#endif
}

namespace {

// Through volatile pointers, so that the compiler keeps the writes and the reads of memory it
// may think dead. Counts the secret's bytes seen again.
[[gnu::noinline]] std::size_t secret_bytes_seen_again(std::size_t n) noexcept
{
    volatile char *p = static_cast<volatile char *>(std::malloc(n));
    if (p == nullptr)
        return 0;
    for (std::size_t i = 0; i < n; ++i)
        p[i] = 'S';
    std::free(const_cast<char *>(p));
    volatile char *q = static_cast<volatile char *>(std::malloc(n));
    if (q == nullptr)
        return 0;
    std::size_t seen = 0;
    for (std::size_t i = 64; i < n; ++i)  // (the first bytes hold the allocator's own links)
        seen += q[i] == 'S';
    std::free(const_cast<char *>(q));
    return seen;
}

}  // namespace

bool freed_memory_is_scrubbed() noexcept
{
    for (std::size_t n : {std::size_t{2000}, std::size_t{8192}, std::size_t{20000}, std::size_t{100000}, std::size_t{1} << 20})
        if (secret_bytes_seen_again(n) > 0)
            return false;
    return true;
}

}  // namespace vtj
