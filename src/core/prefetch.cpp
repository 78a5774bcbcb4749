#include "core/prefetch.hpp"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <utility>

#include "core/error.hpp"

namespace vtj {

namespace {

// Longest wait of the consumer without asking its InterruptCheck (a cancel is noticed within it).
constexpr auto kWaitSlice = std::chrono::milliseconds(20);

// The stop flag of the Prefetcher whose worker this thread is; nullptr elsewhere.
thread_local const std::atomic<bool> *t_stop = nullptr;

// Blocks every signal on this thread while it lives, so that a thread started meanwhile inherits
// a full mask: PostgreSQL's handlers (cancel, terminate, latch) then only ever run on the
// backend's own thread.
class AllSignalsBlocked {
public:
    AllSignalsBlocked() noexcept
    {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved_);
    }
    ~AllSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
    AllSignalsBlocked(const AllSignalsBlocked &) = delete;
    AllSignalsBlocked &operator=(const AllSignalsBlocked &) = delete;

private:
    sigset_t saved_;
};

}  // namespace

Prefetcher::Prefetcher(Produce produce, InterruptCheck interrupted, Idle idle, Wake wake)
    : produce_(std::move(produce)), interrupted_(interrupted), idle_(std::move(idle)), wake_(std::move(wake))
{
    AllSignalsBlocked blocked;
    worker_ = std::thread([this] { run(); });
}

Prefetcher::~Prefetcher() { stop(); }

bool Prefetcher::stop_requested() noexcept { return t_stop != nullptr && t_stop->load(std::memory_order_relaxed); }

bool Prefetcher::wait_for_slot(std::size_t slot)
{
    std::unique_lock<std::mutex> lock(mu_);
    const auto ready = [&] { return stop_.load() || !busy_[slot]; };
    // While idle_ has work (transfers in flight), it is the wait: it returns within a few
    // milliseconds, or when the consumer's wake_ cuts it short after giving a slot back.
    bool idle_has_work = static_cast<bool>(idle_);
    while (!ready() && idle_has_work) {
        lock.unlock();
        idle_has_work = idle_();
        lock.lock();
    }
    cv_.wait(lock, ready);
    return !stop_.load();
}

void Prefetcher::run() noexcept
{
    t_stop = &stop_;
    for (std::size_t k = 0;; ++k) {
        const std::size_t slot = k % kSlots;
        bool more = false;
        std::exception_ptr error;
        try {
            if (!wait_for_slot(slot))
                break;
            more = produce_(slot);
        } catch (...) {
            error = std::current_exception();
        }
        std::lock_guard<std::mutex> lock(mu_);
        if (error || !more) {
            error_ = std::move(error);
            ended_ = true;
            cv_.notify_all();
            return;
        }
        busy_[slot] = true;
        filled_.push_back(slot);
        cv_.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu_);
    ended_ = true;
    cv_.notify_all();
}

bool Prefetcher::next(std::size_t &slot)
{
    {
        std::unique_lock<std::mutex> lock(mu_);
        if (stopped_)
            return false;
        if (held_) {
            busy_[held_slot_] = false;
            held_ = false;
            cv_.notify_all();
            if (wake_)
                wake_();  // the worker may be inside idle_, not waiting on cv_
        }
        for (;;) {
            if (!filled_.empty()) {
                slot = filled_.front();
                filled_.pop_front();
                held_ = true;
                held_slot_ = slot;
                return true;
            }
            if (ended_)
                break;
            cv_.wait_for(lock, kWaitSlice);
            if (interrupted_ && interrupted_()) {
                lock.unlock();
                stop();
                throw Error(ErrorKind::Cancelled, "HTTP requests to the VTJ interfaces were cancelled");
            }
        }
    }
    // The worker has ended: what it threw comes now, after every slot it filled before.
    if (worker_.joinable())
        worker_.join();
    std::exception_ptr error;
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopped_ = true;
        error = std::exchange(error_, nullptr);
    }
    if (error)
        std::rethrow_exception(error);
    return false;
}

void Prefetcher::stop() noexcept
{
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopped_ = true;
        stop_.store(true);
        cv_.notify_all();
    }
    if (wake_)
        wake_();  // an idle_ call in its wait returns now
    if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id())
        worker_.join();
}

}  // namespace vtj
