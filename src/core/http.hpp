// HTTP over libcurl for the change interface and VTJkysely: concurrent requests (curl multi),
// keep-alive connection reuse, timeouts, retries with capped exponential backoff honouring
// Retry-After, a bounded response size and a cooperative cancel check.
//
// PostgreSQL-free. Errors are thrown as vtj::Error (core/error.hpp) with a DBA-readable
// message, the remote's error body (X-Road fault JSON, the interface's error JSON, an HTML
// page's title) in the detail, hetus redacted, credentials never included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/hetu.hpp"  // redact_hetus(): the client's error texts carry no hetu

namespace vtj {

enum class AuthScheme { Basic, Mutp, None };

struct HttpConfig {
    std::string username;
    std::string password;            // never logged, never in an error
    AuthScheme auth = AuthScheme::Basic;
    std::string xroad_client;        // sent as X-Road-Client when not empty
    long connect_timeout_s = 10;
    long request_timeout_s = 60;     // whole request, per attempt
    int max_retries = 3;             // retries after the first attempt
    std::string ca_file;
    std::string client_cert;
    std::string client_key;
    bool verify_tls = true;
    std::size_t max_response_bytes = 256u << 20;
    // The answer bodies all HttpClients of this process hold at once (being received, or
    // received and not yet returned by next_completed) may not pass this many bytes because of
    // a transfer of this client: the transfer is refused (ErrorKind::MemoryLimit) before it
    // buffers more. 0: no limit. Success bodies are counted from their Content-Length (or as
    // they grow); error bodies (at most 64 KiB each) are not.
    std::size_t max_in_flight_bytes = 0;
    long backoff_base_ms = 500;      // first retry delay; doubles each retry
    long backoff_cap_ms = 30000;     // no single wait (also Retry-After) is longer than this
    int max_parallel = 4;            // transfers in flight at once
    std::string user_agent = "vtj_fdw";
};

// Asked often (from the progress callback and between waits); returns true when the caller
// (PostgreSQL: QueryCancelPending || ProcDiePending) wants the transfer stopped. Must not
// throw or longjmp.
using InterruptCheck = bool (*)() noexcept;

struct HttpRequest {
    enum class Method { Get, Post };
    Method method = Method::Post;
    std::string url;                 // absolute http:// or https:// URL
    std::string body;                // for Post
    std::string content_type = "application/json";
    std::string accept = "application/json";
    std::vector<std::string> extra_headers;  // "Name: value" (e.g. SOAPAction)
    std::string what;                // short description for messages, e.g. "POST /muutokset"
    std::uint64_t tag = 0;           // returned with the result
};

struct HttpResult {
    std::uint64_t tag = 0;
    long status = 0;                 // 2xx only; anything else has become an exception
    std::string body;
    std::string content_type;
    int attempts = 1;
    double seconds = 0;              // of the successful attempt
};

struct HttpStats {
    std::uint64_t requests = 0;      // attempts sent, retries included
    std::uint64_t retries = 0;
    std::uint64_t bytes_received = 0;
    std::uint64_t bytes_sent = 0;
};

class HttpClient {
public:
    explicit HttpClient(HttpConfig config);
    ~HttpClient();
    HttpClient(const HttpClient &) = delete;
    HttpClient &operator=(const HttpClient &) = delete;

    void set_interrupt_check(InterruptCheck check) noexcept;
    InterruptCheck interrupt_check() const noexcept;  // (Scan hands the client to a worker thread)

    // Changes config.max_in_flight_bytes for the transfers started from now on (a cached
    // client serves users with different limits).
    void set_max_in_flight(std::size_t bytes) noexcept;

    // Queues a request; it starts as soon as fewer than max_parallel are in flight.
    void submit(HttpRequest request);

    // Drives transfers until one request has completed with a 2xx status and returns it in
    // `out` (completion order). Returns false when nothing is queued or in flight. Retryable
    // failures (connection errors, timeouts, 429/500/502/503/504) are retried up to
    // max_retries with backoff; other statuses (400, 401, 403, 404, …), exhausted retries, an
    // over-size body and an interrupt throw vtj::Error (Cancelled for an interrupt). After a
    // throw the client is still usable: call cancel_all() first.
    bool next_completed(HttpResult &out);

    // Drives the transfers queued and in flight for at most about max_wait_ms without handing
    // an answer over: the answers that complete wait for next_completed. For a thread that has
    // nothing else to do meanwhile (the Prefetcher's worker while the consumer holds both
    // slots), so that requests go out and answers come in during the wait. Returns false when
    // nothing is queued or in flight (calling again would not wait). Throws as next_completed.
    bool drive(int max_wait_ms);

    // Cuts short a wait inside drive or next_completed; callable from any thread.
    void wake() noexcept;

    // Drops every queued and in-flight request. Healthy connections stay cached.
    void cancel_all() noexcept;

    std::size_t pending() const noexcept;   // queued + in flight + completed-not-yet-returned
    const HttpStats &stats() const noexcept;
    void reset_stats() noexcept;

    // Closes cached connections (vtj.katkaise()).
    void close_connections() noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Bytes of answer bodies the HttpClients of this process hold now (see max_in_flight_bytes).
std::size_t http_bytes_in_flight() noexcept;

}  // namespace vtj
