// The worker that reads one answer ahead (core/prefetch.cpp), alone and inside a basic-data Scan:
// slots come in the order filled and never more than one ahead, the worker's errors come after
// the slots filled before them and unchanged, and a stop or a cancel ends a request in flight
// (a test that hangs instead fails by ctest's timeout; nothing here asserts on wall time).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/hetu.hpp"
#include "core/http.hpp"
#include "core/prefetch.hpp"
#include "core/scan.hpp"
#include "test_hetus.hpp"
#include "test_http_server.hpp"

namespace {

using vtj_test::Reply;
using vtj_test::ReceivedRequest;
using vtj_test::TestHttpServer;

// Waits in short sleeps until `done`; a condition not reached in a minute (ASan on a busy
// machine is slow, but not that slow) is the test's failure, not a hang of the whole suite.
template <typename Pred>
void wait_until(Pred done)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            ADD_FAILURE() << "the awaited condition did not come in 60 s";
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

TEST(Prefetcher, SlotsComeInOrderAndAtMostOneAhead)
{
    constexpr int kItems = 50;
    int value[vtj::Prefetcher::kSlots] = {0, 0};
    std::atomic<int> produced{0};
    std::atomic<int> taken{0};
    std::atomic<bool> too_far{false};
    vtj::Prefetcher ahead(
        [&](std::size_t slot) {
            const int k = produced.load();
            if (k == kItems)
                return false;
            // Filling item k while the consumer holds item taken-1: never more than one ahead.
            if (k > taken.load() + 1)
                too_far = true;
            value[slot] = k;
            produced = k + 1;
            return true;
        },
        nullptr);
    std::size_t slot = 0;
    for (int k = 0; k < kItems; ++k) {
        ASSERT_TRUE(ahead.next(slot));
        EXPECT_EQ(value[slot], k);
        taken = k + 1;
        if (k % 7 == 0)  // a slow consumer now and then: the worker waits for the slot
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_FALSE(ahead.next(slot));
    EXPECT_FALSE(ahead.next(slot));
    EXPECT_FALSE(too_far.load());
}

TEST(Prefetcher, AnErrorComesAfterTheSlotsFilledBeforeItUnchanged)
{
    int value[vtj::Prefetcher::kSlots] = {0, 0};
    int k = 0;
    vtj::Prefetcher ahead(
        [&](std::size_t slot) {
            if (k == 3)
                throw vtj::Error(vtj::ErrorKind::BadResponse, "the message", "the detail", "the hint").with_status(502);
            value[slot] = k++;
            return true;
        },
        nullptr);
    std::size_t slot = 0;
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(ahead.next(slot));
        EXPECT_EQ(value[slot], i);
    }
    try {
        ahead.next(slot);
        FAIL() << "no error";
    } catch (const vtj::Error &e) {
        EXPECT_EQ(e.kind(), vtj::ErrorKind::BadResponse);
        EXPECT_STREQ(e.what(), "the message");
        EXPECT_EQ(e.detail(), "the detail");
        EXPECT_EQ(e.hint(), "the hint");
        EXPECT_EQ(e.http_status(), 502);
    }
    EXPECT_FALSE(ahead.next(slot));  // once only
}

TEST(Prefetcher, IdleWorkRunsWhileTheConsumerHoldsTheSlots)
{
    int value[vtj::Prefetcher::kSlots] = {0, 0};
    std::atomic<int> produced{0};
    std::atomic<int> idle_calls{0};
    std::atomic<int> wakes{0};
    vtj::Prefetcher ahead(
        [&](std::size_t slot) {
            if (produced.load() == 4)
                return false;
            value[slot] = produced.load();
            ++produced;
            return true;
        },
        nullptr,
        [&] {
            ++idle_calls;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            return true;  // work left: called again until a slot is free
        },
        [&] { ++wakes; });
    std::size_t slot = 0;
    ASSERT_TRUE(ahead.next(slot));
    EXPECT_EQ(value[slot], 0);
    // Item 1 is filled and the worker waits for item 0's slot: the idle work runs meanwhile.
    wait_until([&] { return idle_calls.load() >= 3; });
    EXPECT_EQ(produced.load(), 2);
    EXPECT_EQ(wakes.load(), 0);
    for (int k = 1; k < 4; ++k) {
        ASSERT_TRUE(ahead.next(slot));
        EXPECT_EQ(value[slot], k);
    }
    EXPECT_FALSE(ahead.next(slot));
    EXPECT_GE(wakes.load(), 3);  // each slot given back woke the worker
}

TEST(Prefetcher, AnIdleErrorComesAfterTheSlotsFilledBeforeIt)
{
    int value[vtj::Prefetcher::kSlots] = {0, 0};
    int k = 0;
    vtj::Prefetcher ahead(
        [&](std::size_t slot) {
            value[slot] = k++;
            return true;
        },
        nullptr,
        []() -> bool { throw vtj::Error(vtj::ErrorKind::Timeout, "the transfer timed out"); });
    // The idle work runs only while both slots are full, so at least two items come first, in
    // order and unchanged, then the error, once.
    std::size_t slot = 0;
    int taken = 0;
    try {
        for (;; ++taken) {
            ASSERT_TRUE(ahead.next(slot));
            EXPECT_EQ(value[slot], taken);
        }
    } catch (const vtj::Error &e) {
        EXPECT_EQ(e.kind(), vtj::ErrorKind::Timeout);
        EXPECT_STREQ(e.what(), "the transfer timed out");
    }
    EXPECT_GE(taken, 2);
    EXPECT_FALSE(ahead.next(slot));
}

TEST(Prefetcher, OtherExceptionsPassToo)
{
    vtj::Prefetcher ahead([](std::size_t) -> bool { throw std::bad_alloc(); }, nullptr);
    std::size_t slot = 0;
    EXPECT_THROW(ahead.next(slot), std::bad_alloc);
}

// A server that never finishes its answer: the worker's request stays in flight until it is
// stopped through the client's InterruptCheck (Prefetcher::stop_requested in the worker).
struct StalledServer {
    TestHttpServer server{[](const ReceivedRequest &) {
        Reply r;
        r.body = std::string(1000, ' ');
        r.stall_after = 10;
        return r;
    }};
};

vtj::HttpConfig config()
{
    vtj::HttpConfig c;
    c.auth = vtj::AuthScheme::None;
    c.max_retries = 0;
    c.request_timeout_s = 3600;  // only the stop may end the request
    return c;
}

vtj::Prefetcher::Produce fetch_into(vtj::HttpClient &http, std::atomic<bool> &failed_cancelled)
{
    return [&http, &failed_cancelled](std::size_t) {
        vtj::HttpResult res;
        try {
            return http.next_completed(res);
        } catch (const vtj::Error &e) {
            failed_cancelled = e.kind() == vtj::ErrorKind::Cancelled;
            throw;
        }
    };
}

// A client the worker drives (its InterruptCheck is the worker's stop flag) with one request in
// flight to the server that never answers.
void submit_stalled(StalledServer &s, vtj::HttpClient &http)
{
    http.set_interrupt_check(&vtj::Prefetcher::stop_requested);
    vtj::HttpRequest req;
    req.method = vtj::HttpRequest::Method::Get;
    req.url = s.server.url("/slow");
    http.submit(req);
}

TEST(Prefetcher, StopEndsARequestInFlight)
{
    StalledServer s;
    vtj::HttpClient http(config());
    submit_stalled(s, http);
    std::atomic<bool> cancelled{false};
    {
        vtj::Prefetcher ahead(fetch_into(http, cancelled), nullptr);
        wait_until([&] { return s.server.request_count() == 1; });
        ahead.stop();  // returns only once the worker has left the transfer
        std::size_t slot = 0;
        EXPECT_FALSE(ahead.next(slot));
    }
    EXPECT_TRUE(cancelled.load());
    EXPECT_FALSE(vtj::Prefetcher::stop_requested());  // (this thread is no worker)
    http.cancel_all();
}

std::atomic<bool> g_cancel{false};
bool cancel_pending() noexcept { return g_cancel.load(); }

TEST(Prefetcher, TheConsumersInterruptCheckIsAskedWhileItWaits)
{
    StalledServer s;
    vtj::HttpClient http(config());
    submit_stalled(s, http);
    std::atomic<bool> cancelled{false};
    g_cancel = false;
    vtj::Prefetcher ahead(fetch_into(http, cancelled), &cancel_pending);
    std::thread canceller([&] {
        wait_until([&] { return s.server.request_count() == 1; });
        g_cancel = true;  // as a signal handler sets QueryCancelPending
    });
    std::size_t slot = 0;
    try {
        ahead.next(slot);
        ADD_FAILURE() << "no error";
    } catch (const vtj::Error &e) {
        EXPECT_EQ(e.kind(), vtj::ErrorKind::Cancelled);
    }
    canceller.join();
    EXPECT_TRUE(cancelled.load());  // the worker was stopped before next() threw
    EXPECT_FALSE(ahead.next(slot));
    g_cancel = false;
}

// ---- inside a basic-data scan ---------------------------------------------------------------------------------

std::string answer_for(const std::string &request)
{
    std::string body = R"({"perustiedot":[)";
    bool first = true;
    for (std::size_t p = request.find("\"hetulista\":[") + 13; request[p] == '"';) {
        const std::size_t e = request.find('"', p + 1);
        body += (first ? "" : ",") + std::string(R"({"henkilotunnus":")") + request.substr(p + 1, e - p - 1) +
                R"(","tietoryhmat":[{"tietoryhma":"KOTIKUNTA","kuntakoodi":"091"},{"tietoryhma":"HENKILON_NIMI"}]})";
        first = false;
        p = e + 1;
        if (request[p] == ',')
            ++p;
    }
    return body + "]}";
}

// The server's handler: every request answered with its persons' groups.
Reply answering(const ReceivedRequest &r)
{
    Reply reply;
    reply.body = answer_for(r.body);
    return reply;
}

bool never() noexcept { return false; }

// A basic-data scan of `hs` against `server`, 4 hetus a request, one request at a time
// (completion order is request order: the rows' order is known).
vtj::ScanSpec basic_spec(const TestHttpServer &server, const std::vector<std::string> &hs)
{
    vtj::ScanSpec spec;
    spec.base_url = server.url("/api/v1");
    spec.hetus = hs;
    spec.batch_size = 4;
    spec.parallel = 1;
    return spec;
}

TEST(PrefetchScan, RowsInTheRequestsOrderOneBatchAhead)
{
    const auto hs = make_hetus(40);
    TestHttpServer server(answering);
    vtj::HttpClient http(config());
    http.set_interrupt_check(&never);
    vtj::ScanSpec spec = basic_spec(server, hs);
    spec.grouped = true;
    vtj::Scan scan(http, spec);
    vtj::ScanRow row;
    std::vector<std::string> seen;
    while (scan.next(row)) {
        seen.push_back(std::string(row.group->hetu) + "/" + std::string(row.group->tietoryhma));
        // The worker decodes at most one batch ahead of the rows returned: while batch b's rows
        // are returned it may have decoded batch b + 1 and sent b + 2's request (it drives the
        // transfers while it waits for b's slot), so at most b + 3 requests have arrived.
        const std::size_t batch = (seen.size() - 1) / 8;
        EXPECT_LE(static_cast<std::size_t>(server.request_count()), batch + 3);
    }
    std::vector<std::string> expected;
    auto sorted = hs;
    std::sort(sorted.begin(), sorted.end());
    for (const auto &h : sorted) {
        expected.push_back(h + "/HENKILON_NIMI");
        expected.push_back(h + "/KOTIKUNTA");
    }
    EXPECT_EQ(seen, expected);
    EXPECT_EQ(scan.stats().pages, 10u);
    EXPECT_EQ(http.interrupt_check(), &never);  // given back at the end
}

// While the backend holds an answer (it stores its rows) and the worker has decoded the next,
// the request after them goes out and its answer comes in: its latency passes during the
// database's work, not after it. (Before the worker drove the transfers while it waited, the
// third request was only sent once the first answer was given back: this test hung.)
TEST(PrefetchScan, TheNextRequestGoesOutWhileTheBackendHoldsBothAnswers)
{
    const auto hs = make_hetus(16);
    TestHttpServer server(answering);
    vtj::HttpClient http(config());
    http.set_interrupt_check(&never);
    vtj::ScanSpec spec = basic_spec(server, hs);  // 4 batches, one request at a time
    vtj::Scan scan(http, spec);
    vtj::ScanRow row;
    ASSERT_TRUE(scan.next(row));  // batch 1's first row: its answer is held
    // The worker decodes batch 2, queues batch 3 and, waiting for batch 1's slot, sends it and
    // takes its answer in (before, it never did: the wait below failed).
    wait_until([&] { return server.request_count() == 3; });
    std::size_t rows = 1;
    while (scan.next(row))
        ++rows;
    EXPECT_EQ(rows, 16u * 2);
    EXPECT_EQ(server.request_count(), 4);
}

TEST(PrefetchScan, DestroyedWhileARequestIsInFlight)
{
    const auto hs = make_hetus(8);
    TestHttpServer server([](const ReceivedRequest &r) {
        Reply reply;
        reply.body = answer_for(r.body);
        if (r.index > 0)  // the second batch's answer never ends
            reply.stall_after = 10;
        return reply;
    });
    vtj::HttpClient http(config());
    http.set_interrupt_check(&never);
    const vtj::ScanSpec spec = basic_spec(server, hs);
    {
        vtj::Scan scan(http, spec);
        vtj::ScanRow row;
        ASSERT_TRUE(scan.next(row));  // the first batch's rows; the worker waits for the second
        wait_until([&] { return server.request_count() == 2; });
    }  // as a LIMIT ends the scan: the destructor stops the worker
    EXPECT_EQ(http.interrupt_check(), &never);
    EXPECT_EQ(http.pending(), 0u);
}

}  // namespace
