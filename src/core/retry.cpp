#include "core/retry.hpp"

#include <algorithm>
#include <random>

namespace vtj {

long backoff_ms(long base_ms, long cap_ms, int retry, long retry_after_ms)
{
    thread_local std::minstd_rand rng{std::random_device{}()};
    const double cap = static_cast<double>(std::max(0L, cap_ms));
    double ms = static_cast<double>(std::max(0L, base_ms)) * static_cast<double>(1ULL << std::clamp(retry, 0, 30));
    ms = std::min(ms, cap);
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    ms *= jitter(rng);
    if (retry_after_ms >= 0)
        ms = std::max(ms, static_cast<double>(retry_after_ms));  // never sooner than asked
    return static_cast<long>(std::min(ms, cap));
}

}  // namespace vtj
