// vtj::scrub_freed_memory: a block freed and allocated again no longer holds what was written
// into it before (the path by which an answer's bytes reached a PostgreSQL spill file).
#include <gtest/gtest.h>

#include "core/freed_memory.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define VTJ_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VTJ_UNDER_ASAN 1
#endif
#endif

namespace {

TEST(FreedMemory, AnAnswerFreedIsNotHandedOutAgain)
{
#ifdef VTJ_UNDER_ASAN
    GTEST_SKIP() << "ASan's allocator keeps freed memory in quarantine and ignores mallopt";
#else
    // Without it the probe sees the secret again (what makes this test able to fail) ...
    EXPECT_FALSE(vtj::freed_memory_is_scrubbed()) << "glibc no longer hands freed memory out as it was: the probe cannot fail";
    // ... with it, in none of the sizes.
    ASSERT_TRUE(vtj::scrub_freed_memory());
    EXPECT_TRUE(vtj::freed_memory_is_scrubbed());
#endif
}

}  // namespace
