// One step of work done ahead in a worker thread: double buffering over two slots. While the
// consumer (a PostgreSQL backend) uses one slot, the worker fills the other, so that the next
// answer's latency and decoding overlap the database work on the current one. Scan uses it to
// fetch and decode the next /perustiedot answer.
//
// The worker runs core code only and must never reach PostgreSQL (no palloc, ereport, elog, no
// PostgreSQL global): it is started with every signal blocked, so that PostgreSQL's signal
// handlers keep running on the backend's thread. What it throws is caught there and rethrown to
// the consumer, in order: after every slot filled before the failure has been taken. The
// consumer's waits are slices that ask its InterruptCheck, so a cancel is noticed while the
// worker is busy; the worker itself is asked to stop through an atomic flag, which its HTTP
// client reads (stop_requested() as the client's InterruptCheck) from libcurl's progress
// callback and between waits.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "core/http.hpp"  // InterruptCheck

namespace vtj {

class Prefetcher {
public:
    static constexpr std::size_t kSlots = 2;

    // Fills the slot it is given (0, 1, 0, … in turn) in the worker thread; false when there is
    // nothing more (the slot is then left unused). May throw.
    using Produce = std::function<bool(std::size_t slot)>;

    // Asked in the worker while it waits for the consumer to give a slot back, with the lock
    // released: work that keeps the next answers coming (Scan drives its HTTP transfers, so
    // that requests go out and answers arrive while the database works on the current one).
    // Returns false when it has nothing to do; the worker then sleeps until a slot is free.
    // Must return within a few milliseconds, or sooner when `wake` is called. May throw: the
    // error then comes as one of produce's would.
    using Idle = std::function<bool()>;
    // Called by the consumer (its own thread) after it has given a slot back, to cut an idle
    // call's wait short. Must be callable from any thread and not throw.
    using Wake = std::function<void()>;

    // Starts the worker. `interrupted` is asked on the consumer's thread while it waits
    // (nullptr: never); `idle` and `wake` may be empty (the worker just waits).
    Prefetcher(Produce produce, InterruptCheck interrupted, Idle idle = nullptr, Wake wake = nullptr);
    ~Prefetcher();
    Prefetcher(const Prefetcher &) = delete;
    Prefetcher &operator=(const Prefetcher &) = delete;

    // The next filled slot, in the order the worker filled them; false at the end. Each call gives
    // the slot of the previous call back to the worker (its contents may change from then on).
    // Rethrows what the worker threw; throws Error Cancelled when `interrupted` says so (the
    // worker is stopped and joined first). After stop(), false.
    bool next(std::size_t &slot);

    // Asks the worker to stop and waits for it (promptly: an HTTP transfer in flight is aborted).
    // Idempotent.
    void stop() noexcept;

    // True in the worker thread of a Prefetcher being stopped; false in any other thread. The
    // InterruptCheck for an HttpClient that the worker drives.
    static bool stop_requested() noexcept;

private:
    void run() noexcept;
    // Waits until `slot` is free or stop is asked, calling idle_ meanwhile; false on stop.
    // May throw (what idle_ threw).
    bool wait_for_slot(std::size_t slot);

    Produce produce_;
    InterruptCheck interrupted_;
    Idle idle_;
    Wake wake_;
    std::atomic<bool> stop_{false};

    std::mutex mu_;
    std::condition_variable cv_;
    bool busy_[kSlots] = {false, false};  // filled and not yet given back by the consumer
    std::deque<std::size_t> filled_;      // in the order filled, not yet taken
    bool held_ = false;                   // the consumer has a slot
    std::size_t held_slot_ = 0;
    bool ended_ = false;                  // the worker is done (end, failure or stop)
    std::exception_ptr error_;
    bool stopped_ = false;                // stop() was called: nothing more is returned

    std::thread worker_;  // last: started when everything above exists
};

}  // namespace vtj
