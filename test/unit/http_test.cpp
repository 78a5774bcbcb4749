// Unit tests of core/http.hpp against the in-process server of test_http_server.hpp. Timing
// assertions are lower bounds measured by the server (gaps between attempts) or generous guards;
// concurrency is asserted from what the server saw, not from wall time.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/http.hpp"
#include "core/http_errors.hpp"
#include "test_http_server.hpp"

namespace {

using vtj::ErrorKind;
using vtj::HttpClient;
using vtj::HttpConfig;
using vtj::HttpRequest;
using vtj::HttpResult;
using vtj_test::ReceivedRequest;
using vtj_test::Reply;
using vtj_test::TestHttpServer;
using Clock = std::chrono::steady_clock;

const char *kUser = "kunta-mutp-user";
const char *kPassword = "Sal4sana-very-secret";

HttpConfig fast_config()
{
    HttpConfig c;
    c.username = kUser;
    c.password = kPassword;
    c.backoff_base_ms = 10;
    c.backoff_cap_ms = 2000;
    c.connect_timeout_s = 5;
    c.request_timeout_s = 20;
    return c;
}

HttpRequest post(const TestHttpServer &server, std::string path = "/api/v1/muutokset", std::uint64_t tag = 0)
{
    HttpRequest r;
    r.method = HttpRequest::Method::Post;
    r.url = server.url(path);
    r.body = R"({"viimeisinKirjausavain":1,"hetulista":[]})";
    r.what = "POST " + path;
    r.tag = tag;
    return r;
}

HttpRequest get(const TestHttpServer &server, std::string path, std::uint64_t tag = 0)
{
    HttpRequest r;
    r.method = HttpRequest::Method::Get;
    r.url = server.url(path);
    r.what = "GET " + path;
    r.tag = tag;
    return r;
}

// Runs one request to completion; the caller asserts that it succeeded.
HttpResult fetch(HttpClient &client, HttpRequest request)
{
    client.submit(std::move(request));
    HttpResult out;
    EXPECT_TRUE(client.next_completed(out));
    return out;
}

// Runs one request that must fail; returns its error (or nothing, after a test failure).
std::optional<vtj::Error> fetch_error(HttpClient &client, HttpRequest request)
{
    client.submit(std::move(request));
    try {
        HttpResult out;
        client.next_completed(out);
        ADD_FAILURE() << "expected an error, got HTTP " << out.status;
    } catch (const vtj::Error &e) {
        client.cancel_all();
        return e;
    }
    return std::nullopt;
}

bool contains(const std::string &hay, const std::string &needle) { return hay.find(needle) != std::string::npos; }

void expect_no_credentials(const vtj::Error &e)
{
    const std::string basic = vtj::http_detail::base64(std::string(kUser) + ":" + kPassword);
    for (const std::string &s : {std::string(e.what()), e.detail(), e.hint()}) {
        EXPECT_FALSE(contains(s, kUser)) << s;
        EXPECT_FALSE(contains(s, kPassword)) << s;
        EXPECT_FALSE(contains(s, basic)) << s;
    }
}

// The InterruptCheck is a plain function pointer, so the tests steer it through a global.
std::atomic<long long> g_interrupt_at{0};  // steady_clock ticks; 0 = never

bool interrupt_when_due() noexcept
{
    long long at = g_interrupt_at.load();
    return at != 0 && Clock::now().time_since_epoch().count() >= at;
}

void interrupt_in(std::chrono::milliseconds ms)
{
    g_interrupt_at = (Clock::now() + ms).time_since_epoch().count();
}

class Http : public ::testing::Test {
protected:
    void TearDown() override { g_interrupt_at = 0; }
};

// ---------------------------------------------------------------------------------------------
// What arrives at the server

TEST_F(Http, GetSendsBasicAuthXRoadClientAndAccept)
{
    TestHttpServer server([](const ReceivedRequest &) {
        return Reply{200, {"Content-Type: application/json"}, R"({"kirjausavain":42})"};
    });
    HttpConfig c = fast_config();
    c.xroad_client = "FI/MUN/0123456-7/vtj-client";
    HttpClient client(c);
    HttpResult r = fetch(client, get(server, "/api/v1/kirjausavain/2024-01-31", 77));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"kirjausavain":42})");
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.tag, 77u);
    EXPECT_EQ(r.attempts, 1);

    auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "GET");
    EXPECT_EQ(reqs[0].target, "/api/v1/kirjausavain/2024-01-31");
    EXPECT_EQ(reqs[0].header("Authorization"),
              "Basic " + vtj::http_detail::base64(std::string(kUser) + ":" + kPassword));
    EXPECT_EQ(reqs[0].header("X-Road-Client"), "FI/MUN/0123456-7/vtj-client");
    EXPECT_EQ(reqs[0].header("Accept"), "application/json");
    EXPECT_EQ(reqs[0].header("User-Agent"), "vtj_fdw");
    EXPECT_FALSE(reqs[0].has_header("MUTP-Tunnus"));
}

// drive() moves the transfers along without handing an answer over; next_completed then gives
// each answer once, and drive() on a client with nothing to do returns at once.
TEST_F(Http, DriveSendsAndReceivesButHandsNothingOver)
{
    TestHttpServer server([](const ReceivedRequest &req) { return Reply{200, {}, "answer " + req.target}; });
    HttpClient client(fast_config());
    EXPECT_FALSE(client.drive(1000));
    for (int i = 0; i < 3; ++i)
        client.submit(get(server, "/a" + std::to_string(i), static_cast<std::uint64_t>(i)));
    while (client.drive(50)) {
    }
    EXPECT_EQ(server.request_count(), 3);
    EXPECT_EQ(client.pending(), 3u);  // completed, not yet returned
    std::set<std::string> bodies;
    HttpResult out;
    while (client.next_completed(out)) {
        EXPECT_EQ(out.status, 200);
        bodies.insert(out.body);
    }
    EXPECT_EQ(bodies, (std::set<std::string>{"answer /a0", "answer /a1", "answer /a2"}));
    EXPECT_EQ(server.request_count(), 3);
    client.wake();  // harmless without a wait
    EXPECT_FALSE(client.drive(1000));
}

TEST_F(Http, PostSendsBodyContentTypeExtraHeadersAndNoExpect)
{
    TestHttpServer server([](const ReceivedRequest &req) { return Reply{200, {}, "echo:" + std::to_string(req.body.size())}; });
    HttpClient client(fast_config());
    HttpRequest r = post(server, "/kysely");
    r.body = std::string(2 << 20, 'a');  // large enough that libcurl would otherwise send Expect
    r.content_type = "text/xml; charset=UTF-8";
    r.accept = "text/xml";
    r.extra_headers = {"SOAPAction: \"\""};
    HttpResult res = fetch(client, r);
    EXPECT_EQ(res.body, "echo:" + std::to_string(2 << 20));
    auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "POST");
    EXPECT_EQ(reqs[0].body, r.body);
    EXPECT_EQ(reqs[0].header("Content-Type"), "text/xml; charset=UTF-8");
    EXPECT_EQ(reqs[0].header("Accept"), "text/xml");
    EXPECT_EQ(reqs[0].header("SOAPAction"), "\"\"");
    EXPECT_FALSE(reqs[0].has_header("Expect"));
}

TEST_F(Http, MutpAuthSendsTheHeaderPairInsteadOfBasic)
{
    TestHttpServer server([](const ReceivedRequest &) { return Reply{200, {}, "{}"}; });
    HttpConfig c = fast_config();
    c.auth = vtj::AuthScheme::Mutp;
    HttpClient client(c);
    fetch(client, post(server));
    auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].header("MUTP-Tunnus"), kUser);
    EXPECT_EQ(reqs[0].header("MUTP-Salasana"), kPassword);
    EXPECT_FALSE(reqs[0].has_header("Authorization"));
    EXPECT_EQ(reqs[0].header("Content-Type"), "application/json");
}

TEST_F(Http, NoAuthSendsNoCredentials)
{
    TestHttpServer server([](const ReceivedRequest &) { return Reply{200, {}, "{}"}; });
    HttpConfig c = fast_config();
    c.auth = vtj::AuthScheme::None;
    HttpClient client(c);
    fetch(client, post(server));
    auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_FALSE(reqs[0].has_header("Authorization"));
    EXPECT_FALSE(reqs[0].has_header("MUTP-Tunnus"));
    EXPECT_FALSE(reqs[0].has_header("X-Road-Client"));
}

TEST_F(Http, LineBreakInCredentialsIsRefused)
{
    HttpConfig c = fast_config();
    c.auth = vtj::AuthScheme::Mutp;
    c.password = "x\r\nX-Injected: 1";
    try {
        HttpClient client(c);
        FAIL() << "expected an error";
    } catch (const vtj::Error &e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidValue);
        EXPECT_FALSE(contains(e.what(), "Injected"));
    }
}

// ---------------------------------------------------------------------------------------------
// Parallelism and connection reuse

TEST_F(Http, ParallelRequestsOverlap)
{
    TestHttpServer server([](const ReceivedRequest &) {
        Reply r{200, {}, "{}"};
        r.delay_ms = 400;
        return r;
    });
    HttpConfig c = fast_config();
    c.max_parallel = 4;
    HttpClient client(c);
    for (std::uint64_t i = 0; i < 4; ++i)
        client.submit(post(server, "/api/v1/muutokset", i));
    EXPECT_EQ(client.pending(), 4u);
    std::set<std::uint64_t> tags;
    HttpResult r;
    while (client.next_completed(r))
        tags.insert(r.tag);
    EXPECT_EQ(tags.size(), 4u);
    EXPECT_EQ(server.max_concurrent_requests(), 4);
    EXPECT_EQ(server.connections(), 4);
    EXPECT_EQ(client.pending(), 0u);
}

TEST_F(Http, QueuedRequestsStartAsSlotsFree)
{
    TestHttpServer server([](const ReceivedRequest &) {
        Reply r{200, {}, "{}"};
        r.delay_ms = 100;
        return r;
    });
    HttpConfig c = fast_config();
    c.max_parallel = 2;
    HttpClient client(c);
    for (std::uint64_t i = 0; i < 6; ++i)
        client.submit(post(server, "/api/v1/muutokset", i));
    std::set<std::uint64_t> tags;
    HttpResult r;
    while (client.next_completed(r))
        tags.insert(r.tag);
    EXPECT_EQ(tags.size(), 6u);
    EXPECT_EQ(server.request_count(), 6);
    EXPECT_EQ(server.max_concurrent_requests(), 2);
    EXPECT_LE(server.connections(), 2);  // the two connections are reused
}

TEST_F(Http, KeepAliveReusesOneConnectionAcrossRequestsAndScans)
{
    TestHttpServer server([](const ReceivedRequest &) { return Reply{200, {}, "{}"}; });
    HttpClient client(fast_config());
    for (int scan = 0; scan < 2; ++scan) {
        for (int i = 0; i < 5; ++i)
            fetch(client, post(server));
        EXPECT_FALSE(client.pending());
    }
    EXPECT_EQ(server.request_count(), 10);
    EXPECT_EQ(server.connections(), 1);
}

TEST_F(Http, CloseConnectionsDropsCachedConnections)
{
    TestHttpServer server([](const ReceivedRequest &) { return Reply{200, {}, "{}"}; });
    HttpClient client(fast_config());
    fetch(client, post(server));
    fetch(client, post(server));
    EXPECT_EQ(server.connections(), 1);
    client.close_connections();
    fetch(client, post(server));
    EXPECT_EQ(server.connections(), 2);
}

TEST_F(Http, NextCompletedIsFalseWhenNothingIsPending)
{
    HttpClient client(fast_config());
    HttpResult r;
    EXPECT_FALSE(client.next_completed(r));
    EXPECT_EQ(client.pending(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Retries

TEST_F(Http, RetriesA503ThenSucceeds)
{
    std::atomic<int> n{0};
    TestHttpServer server([&n](const ReceivedRequest &) {
        return n++ == 0 ? Reply{503, {}, "busy"} : Reply{200, {}, R"({"ok":true})"};
    });
    HttpClient client(fast_config());
    HttpResult r = fetch(client, post(server));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"ok":true})");
    EXPECT_EQ(r.attempts, 2);
    EXPECT_EQ(server.request_count(), 2);
    EXPECT_EQ(client.stats().requests, 2u);
    EXPECT_EQ(client.stats().retries, 1u);
}

TEST_F(Http, EveryRetryableStatusIsRetried)
{
    for (int status : {429, 500, 502, 503, 504}) {
        std::atomic<int> n{0};
        TestHttpServer server([&n, status](const ReceivedRequest &) {
            return n++ == 0 ? Reply{status, {}, ""} : Reply{200, {}, "{}"};
        });
        HttpClient client(fast_config());
        EXPECT_EQ(fetch(client, post(server)).attempts, 2) << status;
    }
}

TEST_F(Http, RetryAfterSecondsIsHonoured)
{
    std::atomic<int> n{0};
    TestHttpServer server([&n](const ReceivedRequest &) {
        return n++ == 0 ? Reply{429, {"Retry-After: 1"}, "slow down"} : Reply{200, {}, "{}"};
    });
    HttpClient client(fast_config());
    EXPECT_EQ(fetch(client, post(server)).attempts, 2);
    auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_GE(reqs[1].arrived - reqs[0].arrived, std::chrono::milliseconds(1000));
}

TEST_F(Http, RetryAfterHttpDateIsHonoured)
{
    std::atomic<int> n{0};
    TestHttpServer server([&n](const ReceivedRequest &) {
        if (n++ > 0)
            return Reply{200, {}, "{}"};
        std::time_t when = std::time(nullptr) + 2;
        char date[64];
        std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", std::gmtime(&when));
        return Reply{503, {std::string("Retry-After: ") + date}, ""};
    });
    HttpClient client(fast_config());
    EXPECT_EQ(fetch(client, post(server)).attempts, 2);
    auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 2u);
    // Whole seconds: "now + 2 s" is at least 1 s away when the client reads it.
    EXPECT_GE(reqs[1].arrived - reqs[0].arrived, std::chrono::milliseconds(900));
}

TEST_F(Http, RetryAfterIsCappedByBackoffCap)
{
    std::atomic<int> n{0};
    TestHttpServer server([&n](const ReceivedRequest &) {
        return n++ == 0 ? Reply{503, {"Retry-After: 3600"}, ""} : Reply{200, {}, "{}"};
    });
    HttpConfig c = fast_config();
    c.backoff_cap_ms = 200;
    HttpClient client(c);
    EXPECT_EQ(fetch(client, post(server)).attempts, 2);
    auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_GE(reqs[1].arrived - reqs[0].arrived, std::chrono::milliseconds(150));  // capped, jitter-free
    EXPECT_LT(reqs[1].arrived - reqs[0].arrived, std::chrono::seconds(60));        // guard only
}

TEST_F(Http, BackoffGrowsExponentially)
{
    TestHttpServer server([](const ReceivedRequest &) { return Reply{503, {}, ""}; });
    HttpConfig c = fast_config();
    c.backoff_base_ms = 100;
    c.max_retries = 3;
    HttpClient client(c);
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 4u);
    // 100, 200, 400 ms, each with at most -20 % jitter.
    EXPECT_GE(reqs[1].arrived - reqs[0].arrived, std::chrono::milliseconds(80));
    EXPECT_GE(reqs[2].arrived - reqs[1].arrived, std::chrono::milliseconds(160));
    EXPECT_GE(reqs[3].arrived - reqs[2].arrived, std::chrono::milliseconds(320));
}

TEST_F(Http, NoRetryOnClientErrors)
{
    for (int status : {400, 401, 403, 404, 409}) {
        TestHttpServer server([status](const ReceivedRequest &) { return Reply{status, {}, "no"}; });
        HttpClient client(fast_config());
        auto e = fetch_error(client, post(server));
        ASSERT_TRUE(e) << status;
        EXPECT_EQ(server.request_count(), 1) << status;
        EXPECT_EQ(e->http_status(), status);
        EXPECT_EQ(e->kind(), (status == 401 || status == 403) ? ErrorKind::Unauthorized : ErrorKind::HttpStatus) << status;
        EXPECT_FALSE(contains(e->what(), "attempts")) << e->what();
        expect_no_credentials(*e);
    }
}

TEST_F(Http, UnauthorizedHasTheCredentialsHint)
{
    TestHttpServer server([](const ReceivedRequest &) { return Reply{401, {}, ""}; });
    HttpClient client(fast_config());
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    EXPECT_STREQ(e->what(), "VTJ-muutosrajapinta answered HTTP 401 (Unauthorized) to POST /api/v1/muutokset");
    EXPECT_EQ(e->hint(), "Check the username and password of the user mapping for this server, and that DVV has granted this product.");
}

TEST_F(Http, RedirectIsNotFollowed)
{
    TestHttpServer server([](const ReceivedRequest &req) {
        if (req.target == "/elsewhere")
            return Reply{200, {}, "{}"};
        return Reply{302, {"Location: /elsewhere"}, ""};
    });
    HttpClient client(fast_config());
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind(), ErrorKind::HttpStatus);
    EXPECT_EQ(e->http_status(), 302);
    EXPECT_EQ(server.request_count(), 1);
}

TEST_F(Http, ExhaustedRetriesCountAttempts)
{
    TestHttpServer server([](const ReceivedRequest &) { return Reply{503, {}, "Service Unavailable"}; });
    HttpConfig c = fast_config();
    c.max_retries = 3;
    HttpClient client(c);
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    EXPECT_EQ(server.request_count(), 4);
    EXPECT_EQ(e->kind(), ErrorKind::HttpStatus);
    EXPECT_EQ(e->http_status(), 503);
    EXPECT_STREQ(e->what(), "VTJ-muutosrajapinta answered HTTP 503 (Service Unavailable) to POST /api/v1/muutokset after 4 attempts");
    EXPECT_EQ(client.stats().requests, 4u);
    EXPECT_EQ(client.stats().retries, 3u);
    expect_no_credentials(*e);
}

TEST_F(Http, ThrottlingHint)
{
    TestHttpServer server([](const ReceivedRequest &) { return Reply{429, {}, ""}; });
    HttpConfig c = fast_config();
    c.max_retries = 1;
    HttpClient client(c);
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->http_status(), 429);
    EXPECT_TRUE(contains(e->hint(), "lower parallel_requests")) << e->hint();
}

TEST_F(Http, ARetryingRequestDoesNotBlockTheOthers)
{
    std::atomic<bool> failed_once{false};
    TestHttpServer server([&failed_once](const ReceivedRequest &req) {
        if (req.target == "/slow" && !failed_once.exchange(true))
            return Reply{503, {"Retry-After: 1"}, ""};
        return Reply{200, {}, "{}"};
    });
    HttpConfig c = fast_config();
    c.max_parallel = 1;  // even the only slot is used while the first request backs off
    HttpClient client(c);
    client.submit(post(server, "/slow", 1));
    client.submit(post(server, "/fast", 2));
    client.submit(post(server, "/fast", 3));
    std::vector<std::uint64_t> order;
    HttpResult r;
    while (client.next_completed(r))
        order.push_back(r.tag);
    EXPECT_EQ(order, (std::vector<std::uint64_t>{2, 3, 1}));
}

// ---------------------------------------------------------------------------------------------
// Connection failures, timeouts, broken and over-size answers

TEST_F(Http, ConnectionRefusedIsUnableToConnect)
{
    HttpConfig c = fast_config();
    c.max_retries = 1;
    HttpClient client(c);
    HttpRequest r;
    r.url = "http://127.0.0.1:" + std::to_string(vtj_test::refused_port()) + "/api/v1/muutokset";
    r.what = "POST /muutokset";
    auto e = fetch_error(client, r);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind(), ErrorKind::UnableToConnect);
    EXPECT_TRUE(contains(e->what(), "POST /muutokset after 2 attempts")) << e->what();
    EXPECT_EQ(e->hint(), "Check the server's url and that the X-Road security server is reachable from the database server.");
    EXPECT_EQ(client.stats().requests, 2u);
    expect_no_credentials(*e);
}

TEST_F(Http, OtherProtocolsAreRefusedAndThePooledHandleStaysUsable)
{
    TestHttpServer server([](const ReceivedRequest &) { return Reply{200, {}, "{}"}; });
    HttpClient client(fast_config());
    for (const char *url : {"ftp://127.0.0.1/x", "file:///etc/passwd", "dict://127.0.0.1/x"}) {
        HttpRequest r = post(server);
        r.url = url;
        auto e = fetch_error(client, r);
        ASSERT_TRUE(e) << url;
        EXPECT_EQ(e->kind(), ErrorKind::UnableToConnect) << url;
        EXPECT_TRUE(contains(e->hint(), "http:// or https://")) << e->hint();
        // The same easy handle, reset, serves the next request.
        EXPECT_EQ(fetch(client, post(server)).status, 200) << url;
    }
    EXPECT_EQ(client.stats().retries, 0u);
}

TEST_F(Http, CutMidBodyIsRetriedThenSucceeds)
{
    std::atomic<int> n{0};
    TestHttpServer server([&n](const ReceivedRequest &) {
        Reply r{200, {}, std::string(10000, 'z')};
        if (n++ == 0)
            r.cut_after = 100;
        return r;
    });
    HttpClient client(fast_config());
    HttpResult r = fetch(client, post(server));
    EXPECT_EQ(r.attempts, 2);
    EXPECT_EQ(r.body, std::string(10000, 'z'));
}

TEST_F(Http, CutMidBodyEveryTimeIsBadResponse)
{
    for (bool reset : {false, true}) {  // FIN (partial file) and RST (receive error)
        TestHttpServer server([reset](const ReceivedRequest &) {
            Reply r{200, {}, std::string(10000, 'z')};
            r.cut_after = 100;
            r.reset = reset;
            return r;
        });
        HttpConfig c = fast_config();
        c.max_retries = 2;
        HttpClient client(c);
        auto e = fetch_error(client, post(server));
        ASSERT_TRUE(e);
        EXPECT_EQ(server.request_count(), 3) << reset;
        EXPECT_EQ(e->kind(), ErrorKind::BadResponse) << reset;
        EXPECT_TRUE(contains(e->what(), "cut short after 3 attempts")) << e->what();
    }
}

TEST_F(Http, HangUpWithoutAnAnswerIsRetriedThenUnableToConnect)
{
    TestHttpServer server([](const ReceivedRequest &) {
        Reply r;
        r.hang_up = true;
        return r;
    });
    HttpConfig c = fast_config();
    c.max_retries = 1;
    HttpClient client(c);
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    EXPECT_EQ(server.request_count(), 2);
    EXPECT_EQ(e->kind(), ErrorKind::UnableToConnect) << e->what();
    EXPECT_TRUE(contains(e->what(), "after 2 attempts")) << e->what();
}

// Bytes that are not HTTP (garbage, another protocol's banner): the answer is wrong
// (BadResponse, HV00M), not the url, and the error quotes none of the bytes.
TEST_F(Http, AnAnswerThatIsNotHttpIsABadResponseNotABadUrl)
{
    for (std::string raw : {std::string("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), std::string("\x17\x03\x03zz-geheim-\xff\xfe", 16),
                            std::string("HTTP/1.1 2xx Fine\r\n\r\n")}) {
        TestHttpServer server([raw](const ReceivedRequest &) {
            Reply r;
            r.raw = raw;
            return r;
        });
        HttpConfig c = fast_config();
        c.max_retries = 0;
        HttpClient client(c);
        auto e = fetch_error(client, post(server));
        ASSERT_TRUE(e);
        EXPECT_EQ(e->kind(), ErrorKind::BadResponse) << e->what();
        EXPECT_TRUE(contains(e->what(), "is not HTTP")) << e->what();
        EXPECT_FALSE(contains(e->hint(), "absolute http")) << e->hint();
        EXPECT_FALSE(contains(std::string(e->what()) + e->detail() + e->hint(), "OpenSSH")) << e->detail();
        EXPECT_FALSE(contains(std::string(e->what()) + e->detail() + e->hint(), "geheim")) << e->detail();
    }
    // The same on a kept-alive connection (no connect time of its own): a good answer first.
    {
        std::atomic<int> n{0};
        TestHttpServer server([&n](const ReceivedRequest &) {
            Reply r{200, {}, "{}"};
            if (n++ > 0)
                r.raw = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
            return r;
        });
        HttpConfig c = fast_config();
        c.max_retries = 0;
        HttpClient client(c);
        EXPECT_EQ(fetch(client, post(server)).status, 200);
        auto e = fetch_error(client, post(server));
        ASSERT_TRUE(e);
        EXPECT_EQ(server.connections(), 1);
        EXPECT_EQ(e->kind(), ErrorKind::BadResponse) << e->what();
        EXPECT_TRUE(contains(e->what(), "is not HTTP")) << e->what();
        EXPECT_FALSE(contains(e->hint(), "absolute http")) << e->hint();
        EXPECT_FALSE(contains(std::string(e->what()) + e->detail() + e->hint(), "OpenSSH")) << e->detail();
    }
}

TEST_F(Http, TimeoutHasAPhaseBreakdown)
{
    TestHttpServer server([](const ReceivedRequest &) {
        Reply r{200, {}, "{}"};
        r.delay_ms = 5000;
        return r;
    });
    HttpConfig c = fast_config();
    c.request_timeout_s = 1;
    c.max_retries = 0;
    HttpClient client(c);
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind(), ErrorKind::Timeout);
    const std::string what = e->what();
    for (const char *part : {"request_timeout 1 s", "name lookup 0.", "connect 0.", "first byte -", "total "})
        EXPECT_TRUE(contains(what, part)) << part << " not in: " << what;
    EXPECT_EQ(e->hint(), "Raise request_timeout or check the network path to the security server.");
}

// A listener whose accept queue is full: the kernel drops further SYNs, so a connect attempt
// hangs until its timeout (no route or firewall needed).
struct FullBacklog {
    int listener = -1;
    std::vector<int> fillers;
    int port = 0;
    FullBacklog()
    {
        listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(listener, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(listener, 0) != 0 ||
            ::getsockname(listener, reinterpret_cast<sockaddr *>(&a), &len) != 0)
            return;
        port = ntohs(a.sin_port);
        for (int i = 0; i < 3; ++i) {
            const int f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            (void)::connect(f, reinterpret_cast<sockaddr *>(&a), sizeof a);
            fillers.push_back(f);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ~FullBacklog()
    {
        for (int f : fillers)
            ::close(f);
        if (listener >= 0)
            ::close(listener);
    }
};

TEST_F(Http, ConnectTimeoutNamesConnectTimeoutInTheHint)
{
    FullBacklog backlog;
    ASSERT_NE(backlog.port, 0);
    HttpConfig c = fast_config();
    c.connect_timeout_s = 1;
    c.request_timeout_s = 20;
    c.max_retries = 0;
    HttpClient client(c);
    HttpRequest r;
    r.method = HttpRequest::Method::Get;
    r.url = "http://127.0.0.1:" + std::to_string(backlog.port) + "/api/v1/kirjausavain/2026-01-01";
    r.what = "GET /kirjausavain";
    const auto started = Clock::now();
    auto e = fetch_error(client, r);
    ASSERT_TRUE(e);
    EXPECT_LT(Clock::now() - started, std::chrono::seconds(10));
    EXPECT_EQ(e->kind(), ErrorKind::Timeout);
    EXPECT_TRUE(contains(e->what(), "connect_timeout 1 s")) << e->what();
    EXPECT_EQ(e->hint(), "Raise connect_timeout or check that the X-Road security server is reachable from the database server.");
}

TEST_F(Http, OversizeBodyWithContentLengthIsRefusedUnread)
{
    constexpr std::size_t kServed = 64u << 20;
    TestHttpServer server([](const ReceivedRequest &) {
        Reply r;
        r.stream_bytes = kServed;
        return r;
    });
    HttpConfig c = fast_config();
    c.max_response_bytes = 1u << 20;
    HttpClient client(c);
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind(), ErrorKind::ResponseTooLarge);
    EXPECT_TRUE(contains(e->what(), "max_response_mb (1 MB)")) << e->what();
    EXPECT_EQ(server.request_count(), 1);  // no retry
    server.stop();
    EXPECT_LT(server.body_bytes_sent(), kServed / 2);
}

TEST_F(Http, OversizeBodyWithoutContentLengthStopsAtTheLimit)
{
    constexpr std::size_t kServed = 64u << 20;
    TestHttpServer server([](const ReceivedRequest &) {
        Reply r;
        r.stream_bytes = kServed;
        r.no_content_length = true;
        return r;
    });
    HttpConfig c = fast_config();
    c.max_response_bytes = 1u << 20;
    HttpClient client(c);
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind(), ErrorKind::ResponseTooLarge);
    EXPECT_EQ(server.request_count(), 1);
    EXPECT_LE(client.stats().bytes_received, (1u << 20) + (1u << 18));  // limit + one read
    server.stop();
    EXPECT_LT(server.body_bytes_sent(), kServed / 2);
}

TEST_F(Http, BodyAtTheLimitIsAccepted)
{
    TestHttpServer server([](const ReceivedRequest &) { return Reply{200, {}, std::string(4096, 'k')}; });
    HttpConfig c = fast_config();
    c.max_response_bytes = 4096;
    HttpClient client(c);
    EXPECT_EQ(fetch(client, post(server)).body.size(), 4096u);
}

// ---------------------------------------------------------------------------------------------
// The answers a process holds at once (max_in_flight_bytes)

constexpr std::size_t kAnswer = 700u << 10;  // two of them pass 1 MB, one does not

// An answer of kAnswer bytes (with a Content-Length unless `chunked`) that stops after `first`
// body bytes until the server stops: it stays in flight however long the test takes.
Reply stalled_answer(std::size_t first, bool chunked = false)
{
    Reply r;
    r.stream_bytes = kAnswer;
    r.stall_after = first;
    r.no_content_length = chunked;
    return r;
}

TEST_F(Http, TwoAnswersInFlightPastTheLimitAreRefused)
{
    TestHttpServer server([](const ReceivedRequest &) { return stalled_answer(1); });
    HttpConfig c = fast_config();
    c.max_parallel = 2;
    c.max_in_flight_bytes = 1u << 20;
    HttpClient client(c);
    client.submit(post(server, "/api/v1/muutokset", 1));
    auto e = fetch_error(client, post(server, "/api/v1/muutokset", 2));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind(), ErrorKind::MemoryLimit);
    EXPECT_TRUE(contains(e->what(), "would bring the answers held in memory by this session past 1 MB")) << e->what();
    EXPECT_TRUE(contains(e->detail(), "took 716800 bytes")) << e->detail();  // the other answer's Content-Length
    EXPECT_TRUE(contains(e->hint(), "parallel_requests or max_response_mb")) << e->hint();
    expect_no_credentials(*e);
    EXPECT_EQ(server.request_count(), 2);  // not retried
    EXPECT_EQ(vtj::http_bytes_in_flight(), 0u);  // cancel_all gave the other one's share back
}

TEST_F(Http, AnAnswerWithoutContentLengthIsCountedAsItGrows)
{
    TestHttpServer server([](const ReceivedRequest &) { return stalled_answer(600u << 10, true); });
    HttpConfig c = fast_config();
    c.max_parallel = 2;
    c.max_in_flight_bytes = 1u << 20;
    HttpClient client(c);
    client.submit(post(server, "/api/v1/muutokset", 1));
    auto e = fetch_error(client, post(server, "/api/v1/muutokset", 2));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind(), ErrorKind::MemoryLimit);
    EXPECT_LE(client.stats().bytes_received, (1u << 20) + (1u << 18));  // the limit + one read
    EXPECT_EQ(vtj::http_bytes_in_flight(), 0u);
}

TEST_F(Http, AnswersHandedOverAreNoLongerCounted)
{
    TestHttpServer server([](const ReceivedRequest &) {
        Reply r;
        r.stream_bytes = kAnswer;
        return r;
    });
    HttpConfig c = fast_config();
    c.max_in_flight_bytes = 1u << 20;
    HttpClient client(c);
    std::vector<HttpResult> kept;  // the caller's: 2.1 MB, not the client's
    for (int i = 0; i < 3; ++i) {
        kept.push_back(fetch(client, post(server)));
        EXPECT_EQ(kept.back().body.size(), kAnswer);
        EXPECT_EQ(vtj::http_bytes_in_flight(), 0u);
    }
}

TEST_F(Http, TheLimitIsOfTheWholeProcessNotOfOneClient)
{
    TestHttpServer server([](const ReceivedRequest &r) {
        if (r.target == "/api/v1/stalled")
            return stalled_answer(1);
        Reply quick;
        quick.stream_bytes = kAnswer;
        return quick;
    });
    // Another scan of the same session, without a limit of its own, holds an answer in flight.
    std::atomic<bool> other_cancelled{false};
    std::thread other([&] {
        HttpClient a(fast_config());
        a.set_interrupt_check(interrupt_when_due);
        a.submit(post(server, "/api/v1/stalled"));
        try {
            HttpResult out;
            a.next_completed(out);
        } catch (const vtj::Error &e) {
            other_cancelled = e.kind() == ErrorKind::Cancelled;
        }
    });
    struct JoinAtExit {
        std::thread &t;
        ~JoinAtExit()
        {
            interrupt_in(std::chrono::milliseconds(0));
            if (t.joinable())
                t.join();
        }
    } join_at_exit{other};
    const auto guard = Clock::now() + std::chrono::seconds(30);
    while (vtj::http_bytes_in_flight() < kAnswer && Clock::now() < guard)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(vtj::http_bytes_in_flight(), kAnswer);

    HttpConfig c = fast_config();
    c.max_in_flight_bytes = 1u << 20;
    HttpClient b(c);
    auto e = fetch_error(b, post(server, "/api/v1/quick"));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind(), ErrorKind::MemoryLimit);

    b.set_max_in_flight(0);  // a superuser's scan: no limit
    EXPECT_EQ(fetch(b, post(server, "/api/v1/quick")).body.size(), kAnswer);

    interrupt_in(std::chrono::milliseconds(0));
    other.join();
    EXPECT_TRUE(other_cancelled);
    EXPECT_EQ(vtj::http_bytes_in_flight(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Cancel

TEST_F(Http, InterruptDuringASlowAnswerCancelsPromptly)
{
    TestHttpServer server([](const ReceivedRequest &) {
        Reply r{200, {}, "{}"};
        r.delay_ms = 10000;
        return r;
    });
    HttpClient client(fast_config());
    client.set_interrupt_check(interrupt_when_due);
    client.submit(post(server, "/api/v1/muutokset", 1));
    client.submit(post(server, "/api/v1/muutokset", 2));
    interrupt_in(std::chrono::milliseconds(300));
    auto start = Clock::now();
    try {
        HttpResult r;
        client.next_completed(r);
        FAIL() << "expected Cancelled";
    } catch (const vtj::Error &e) {
        EXPECT_EQ(e.kind(), ErrorKind::Cancelled);
    }
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));  // guard; the server waits 10 s
    EXPECT_EQ(client.pending(), 0u);
}

TEST_F(Http, InterruptDuringBackoffCancelsPromptly)
{
    TestHttpServer server([](const ReceivedRequest &) { return Reply{503, {"Retry-After: 30"}, ""}; });
    HttpConfig c = fast_config();
    c.backoff_cap_ms = 60000;
    HttpClient client(c);
    client.set_interrupt_check(interrupt_when_due);
    interrupt_in(std::chrono::milliseconds(500));
    auto start = Clock::now();
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind(), ErrorKind::Cancelled);
    EXPECT_EQ(server.request_count(), 1);
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));  // guard; the backoff is 30 s
}

TEST_F(Http, ClientIsReusableAfterAnError)
{
    TestHttpServer server([](const ReceivedRequest &req) {
        return req.target == "/missing" ? Reply{404, {}, ""} : Reply{200, {}, "{}"};
    });
    HttpConfig c = fast_config();
    c.max_parallel = 2;
    HttpClient client(c);
    client.submit(post(server, "/missing", 1));
    client.submit(post(server, "/other", 2));
    client.submit(post(server, "/other", 3));
    try {
        HttpResult r;
        while (client.next_completed(r)) {
        }
        FAIL() << "expected HTTP 404";
    } catch (const vtj::Error &e) {
        EXPECT_EQ(e.http_status(), 404);
    }
    client.cancel_all();
    EXPECT_EQ(client.pending(), 0u);
    EXPECT_EQ(fetch(client, post(server, "/again", 4)).tag, 4u);
    HttpResult r;
    EXPECT_FALSE(client.next_completed(r));
}

// ---------------------------------------------------------------------------------------------
// Error details

TEST_F(Http, XRoadFaultIsMadeReadable)
{
    TestHttpServer server([](const ReceivedRequest &) {
        return Reply{500, {"Content-Type: application/json"},
                     R"({"type":"Server.ServerProxy.ServiceFailed","message":"Service \"VTJmutpa\" failed",)"
                     R"( "detail":"4f1c-\u00e4"})"};
    });
    HttpConfig c = fast_config();
    c.max_retries = 0;
    HttpClient client(c);
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->detail(), "X-Road fault Server.ServerProxy.ServiceFailed: Service \"VTJmutpa\" failed (4f1c-\xC3\xA4)");
}

TEST_F(Http, InterfaceJsonErrorIsCompacted)
{
    TestHttpServer server([](const ReceivedRequest &) {
        return Reply{400, {"Content-Type: application/json"}, "{\n  \"status\": 400,\n  \"error\": \"Bad Request\",\n  \"path\": \"/api/v1/muutokset\"\n}"};
    });
    HttpClient client(fast_config());
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->detail(), R"({"status":400,"error":"Bad Request","path":"/api/v1/muutokset"})");
}

TEST_F(Http, HtmlErrorPageGivesItsTitle)
{
    TestHttpServer server([](const ReceivedRequest &) {
        return Reply{502, {"Content-Type: text/html"},
                     "<!DOCTYPE html><html><head><title>502 Bad Gateway &amp; co</title></head>"
                     "<body><h1>Bad Gateway</h1></body></html>"};
    });
    HttpConfig c = fast_config();
    c.max_retries = 0;
    HttpClient client(c);
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->detail(), "502 Bad Gateway & co");
}

TEST_F(Http, HtmlWithoutTitleGivesTheStartOfItsText)
{
    std::string page = "<html><body><script>var x = 1;</script><p>Palvelu   ei ole\nkäytettävissä.</p>" +
                       std::string(500, 'y') + "</body></html>";
    TestHttpServer server([page](const ReceivedRequest &) { return Reply{404, {"Content-Type: text/html"}, page}; });
    HttpClient client(fast_config());
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->detail().rfind("Palvelu ei ole käytettävissä. yyy", 0), 0u) << e->detail();
    EXPECT_LE(e->detail().size(), 203u);
}

TEST_F(Http, SoapFaultIsMadeReadable)
{
    TestHttpServer server([](const ReceivedRequest &) {
        return Reply{500, {"Content-Type: text/xml"},
                     "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault>"
                     "<faultcode>soap:Server</faultcode><faultstring>Tunnistus ep&#228;onnistui</faultstring>"
                     "</soap:Fault></soap:Body></soap:Envelope>"};
    });
    HttpConfig c = fast_config();
    c.max_retries = 0;
    HttpClient client(c);
    HttpRequest r = post(server, "/kysely");
    r.content_type = "text/xml";
    r.what = "HenkilonTunnusKysely";
    auto e = fetch_error(client, r);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->detail(), "SOAP fault soap:Server: Tunnistus epäonnistui");
    EXPECT_TRUE(contains(e->what(), "VTJkysely answered HTTP 500")) << e->what();
}

TEST_F(Http, HetusInAnErrorBodyAreRedacted)
{
    TestHttpServer server([](const ReceivedRequest &) {
        return Reply{400, {"Content-Type: application/json"},
                     R"({"message":"invalid hetus","hetut":["131052-308T","010594Y9032"]})"};
    });
    HttpClient client(fast_config());
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->detail(), R"({"message":"invalid hetus","hetut":["[hetu]","[hetu]"]})");
}

TEST_F(Http, LongErrorBodiesAreCut)
{
    TestHttpServer server([](const ReceivedRequest &) { return Reply{400, {}, std::string(100000, 'e')}; });
    HttpClient client(fast_config());
    auto e = fetch_error(client, post(server));
    ASSERT_TRUE(e);
    EXPECT_LE(e->detail().size(), 1003u);
    EXPECT_GE(e->detail().size(), 900u);
    EXPECT_EQ(e->detail().substr(e->detail().size() - 3), "...");
}

TEST_F(Http, CredentialsEchoedByTheServerNeverAppear)
{
    const std::string basic = vtj::http_detail::base64(std::string(kUser) + ":" + kPassword);
    TestHttpServer server([basic](const ReceivedRequest &req) {
        std::string body = "user " + std::string(kUser) + " password " + kPassword + " header " + req.header("Authorization") +
                           " " + basic;
        return Reply{req.target == "/denied" ? 401 : 503, {}, body};
    });
    for (vtj::AuthScheme scheme : {vtj::AuthScheme::Basic, vtj::AuthScheme::Mutp}) {
        HttpConfig c = fast_config();
        c.auth = scheme;
        c.max_retries = 1;
        HttpClient client(c);
        auto denied = fetch_error(client, post(server, "/denied"));
        ASSERT_TRUE(denied);
        EXPECT_TRUE(contains(denied->detail(), "[credential]")) << denied->detail();
        expect_no_credentials(*denied);
        auto busy = fetch_error(client, post(server, "/busy"));
        ASSERT_TRUE(busy);
        expect_no_credentials(*busy);
    }
}

TEST_F(Http, StatsCountAttemptsRetriesAndBytes)
{
    std::atomic<int> n{0};
    TestHttpServer server([&n](const ReceivedRequest &) {
        return n++ == 0 ? Reply{503, {}, ""} : Reply{200, {}, std::string(5000, 'b')};
    });
    HttpClient client(fast_config());
    HttpRequest r = post(server);
    r.body = std::string(3000, 'q');
    fetch(client, r);
    const vtj::HttpStats &s = client.stats();
    EXPECT_EQ(s.requests, 2u);
    EXPECT_EQ(s.retries, 1u);
    EXPECT_GE(s.bytes_received, 5000u);
    EXPECT_GE(s.bytes_sent, 6000u);  // the body went twice
    client.reset_stats();
    EXPECT_EQ(client.stats().requests, 0u);
    EXPECT_EQ(client.stats().bytes_received, 0u);
}

// ---------------------------------------------------------------------------------------------
// redact_hetus and the formatting helpers

TEST(HttpRedact, ReplacesEveryHetuShapedSubstring)
{
    EXPECT_EQ(vtj::redact_hetus("131052-308T"), "[hetu]");
    EXPECT_EQ(vtj::redact_hetus("a 131052-308T, b 010594Y9032; c 020503F9037."), "a [hetu], b [hetu]; c [hetu].");
    EXPECT_EQ(vtj::redact_hetus("131052-308T131052+308T"), "[hetu][hetu]");
    for (char marker : std::string("+-ABCDEFUVWXY"))
        EXPECT_EQ(vtj::redact_hetus(std::string("010101") + marker + "123N"), "[hetu]") << marker;
    EXPECT_EQ(vtj::redact_hetus("x1234567-1234"), "x1[hetu]");  // leftmost match, as a regex
}

TEST(HttpRedact, LeavesOtherTextAlone)
{
    for (const char *s : {"", "131052-308", "131052G308T", "131052-308Z", "131052-308t", "13105-2308T", "131052a308T",
                          "2024-01-31T12:00:00Z", "ääkköset 123456"})
        EXPECT_EQ(vtj::redact_hetus(s), s);
}

TEST(HttpErrorText, SanitizeKeepsUtf8ValidAndCutsOnACharacterBoundary)
{
    using vtj::http_detail::sanitize_text;
    EXPECT_EQ(sanitize_text("a\tb\x01" "c", 100), "a b c");
    EXPECT_EQ(sanitize_text("bad \xFF\xC3 end", 100), "bad ?? end");
    EXPECT_EQ(sanitize_text("\xC3\xA4\xC3\xA4\xC3\xA4", 5), "\xC3\xA4\xC3\xA4...");
}

TEST(HttpErrorText, Base64)
{
    using vtj::http_detail::base64;
    EXPECT_EQ(base64(""), "");
    EXPECT_EQ(base64("f"), "Zg==");
    EXPECT_EQ(base64("fo"), "Zm8=");
    EXPECT_EQ(base64("foo"), "Zm9v");
    EXPECT_EQ(base64("Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

}  // namespace
