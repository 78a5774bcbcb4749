// HttpClient over libcurl's multi interface (see http.hpp for the contract).
//
// Runs inside a PostgreSQL backend, hence:
//  * every libcurl callback is noexcept and only records into its Transfer, returning libcurl's
//    abort value; the decision (retry, throw) is taken after libcurl has returned;
//  * NOSIGNAL, protocols limited to http/https, redirects not followed (a 3xx is reported as an
//    error: the X-Road security server never redirects, and a redirect would be a wrong url);
//  * proxies from the postmaster's environment are ignored (CURLOPT_PROXY ""), so behaviour does
//    not depend on how the service was started;
//  * waits are curl_multi_poll() slices of at most kPollSliceMs, with the InterruptCheck asked
//    between slices and from the progress callback, so a cancel is noticed well within a second,
//    also during a retry's backoff or while a server is silent.
//
// One HttpClient is used by one thread at a time (a backend, or the worker a Scan hands it to
// meanwhile: core/prefetch.hpp); it starts no threads itself (libcurl's threaded resolver aside).
//
// Connection reuse: the multi handle owns libcurl's connection cache, so it lives as long as the
// client (close_connections() replaces it); easy handles are pooled and curl_easy_reset() between
// attempts (which keeps their DNS and TLS session caches).
#include "core/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <optional>
#include <utility>

#include "core/error.hpp"
#include "core/hetu.hpp"
#include "core/http_errors.hpp"
#include "core/retry.hpp"

namespace vtj {

namespace {

using Clock = std::chrono::steady_clock;

constexpr long kPollSliceMs = 100;                 // longest wait without asking InterruptCheck
constexpr std::size_t kErrorBodyKeep = 64 * 1024;  // enough of an error body for its DETAIL

// The answer bodies every HttpClient of this process holds at once (HttpConfig::
// max_in_flight_bytes). Atomic: a backend's basic-data scan drives its client from a worker
// thread while other clients of the backend (another scan of the query) run on the backend's.
std::atomic<std::size_t> g_in_flight{0};

// One body's share of g_in_flight; given back when released, moved on or destroyed.
class InFlight {
public:
    InFlight() = default;
    InFlight(InFlight &&o) noexcept : bytes_(std::exchange(o.bytes_, 0)) {}
    InFlight &operator=(InFlight &&o) noexcept
    {
        if (this != &o) {
            release();
            bytes_ = std::exchange(o.bytes_, 0);
        }
        return *this;
    }
    InFlight(const InFlight &) = delete;
    InFlight &operator=(const InFlight &) = delete;
    ~InFlight() { release(); }

    // Counts this body as `total` bytes. False, and nothing more counted, when that would bring
    // the process's total past `limit` (0: no limit); `held` then says what was held already.
    bool grow_to(std::size_t total, std::size_t limit, std::size_t &held) noexcept
    {
        if (total <= bytes_)
            return true;
        const std::size_t add = total - bytes_;
        std::size_t now = g_in_flight.load();
        if (limit == 0) {
            g_in_flight.fetch_add(add);
        } else {
            do {
                if (add > limit || now > limit - add) {
                    held = now;
                    return false;
                }
            } while (!g_in_flight.compare_exchange_weak(now, now + add));
        }
        bytes_ = total;
        return true;
    }

    void release() noexcept
    {
        if (bytes_) {
            g_in_flight.fetch_sub(bytes_);
            bytes_ = 0;
        }
    }

private:
    std::size_t bytes_ = 0;
};

// "256 MB", "1.5 MB", "700 bytes" for messages.
std::string size_text(std::size_t bytes)
{
    constexpr std::size_t mb = std::size_t{1} << 20;
    if (bytes % mb == 0)
        return std::to_string(bytes / mb) + " MB";
    if (bytes >= mb) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / static_cast<double>(mb));
        return buf;
    }
    return std::to_string(bytes) + " bytes";
}

// One request from submit() until it is returned, fails or is cancelled. The per-attempt fields
// are written by the libcurl callbacks (which run inside curl_multi_perform on this thread).
struct Transfer {
    HttpRequest req;
    curl_slist *headers = nullptr;  // built once per request, reused by its retries
    CURL *easy = nullptr;           // while running
    int attempts = 0;
    Clock::time_point not_before{};  // backoff: not started again before this

    // Per attempt.
    std::string body;
    long header_status = 0;     // status line seen by the header callback
    long retry_after_ms = -1;   // Retry-After of this answer, -1 when absent
    bool too_large = false;
    bool error_body_cut = false;  // non-2xx body longer than kErrorBodyKeep: stopped reading
    bool interrupted = false;
    bool out_of_memory = false;
    std::size_t max_bytes = 0;
    InFlight in_flight;               // the body's share of the process's answers in memory
    std::size_t in_flight_limit = 0;  // HttpConfig::max_in_flight_bytes when the attempt began
    bool over_in_flight = false;      // refused: the process's answers would pass the limit
    std::size_t in_flight_held = 0;   // what the process held then
    InterruptCheck check = nullptr;
    char errbuf[CURL_ERROR_SIZE] = {0};

    Transfer() = default;
    Transfer(const Transfer &) = delete;
    Transfer &operator=(const Transfer &) = delete;
    ~Transfer() { curl_slist_free_all(headers); }

    void begin_attempt(std::size_t limit, std::size_t process_limit, InterruptCheck c)
    {
        body.clear();
        in_flight.release();
        header_status = 0;
        retry_after_ms = -1;
        too_large = error_body_cut = interrupted = out_of_memory = over_in_flight = false;
        max_bytes = limit;
        in_flight_limit = process_limit;
        in_flight_held = 0;
        check = c;
        errbuf[0] = '\0';
    }

    bool status_is_success() const { return header_status == 0 || (header_status >= 200 && header_status < 300); }
};

bool iequals_prefix(const char *data, std::size_t n, const char *name)
{
    std::size_t len = std::strlen(name);
    if (n < len)
        return false;
    for (std::size_t i = 0; i < len; ++i) {
        char c = data[i];
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        if (c != name[i])
            return false;
    }
    return true;
}

// Value of a header line after "Name:", trimmed.
std::string header_value(const char *data, std::size_t n, std::size_t name_len)
{
    std::size_t b = name_len, e = n;
    while (b < e && (data[b] == ' ' || data[b] == '\t'))
        ++b;
    while (e > b && (data[e - 1] == '\r' || data[e - 1] == '\n' || data[e - 1] == ' ' || data[e - 1] == '\t'))
        --e;
    return std::string(data + b, e - b);
}

bool parse_unsigned(const std::string &s, unsigned long long &out)
{
    if (s.empty() || s.size() > 19)
        return false;
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return false;
        out = out * 10 + static_cast<unsigned long long>(c - '0');
    }
    return true;
}

// Retry-After: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); -1 when unreadable.
long parse_retry_after_ms(const std::string &v)
{
    unsigned long long secs = 0;
    if (parse_unsigned(v, secs))
        return secs > 86400 ? 86400L * 1000 : static_cast<long>(secs) * 1000;
    time_t when = curl_getdate(v.c_str(), nullptr);
    if (when == -1)
        return -1;
    time_t now = time(nullptr);
    return when <= now ? 0 : static_cast<long>(std::min<time_t>(when - now, 86400)) * 1000;
}

size_t on_header(char *data, size_t size, size_t nitems, void *userp) noexcept
{
    auto *t = static_cast<Transfer *>(userp);
    std::size_t n = size * nitems;
    try {
        if (iequals_prefix(data, n, "http/")) {
            // A new status line (also after a 1xx): the headers that follow belong to it.
            const char *sp = static_cast<const char *>(std::memchr(data, ' ', n));
            long status = 0;
            if (sp)
                for (const char *p = sp + 1; p < data + n && *p >= '0' && *p <= '9'; ++p)
                    status = status * 10 + (*p - '0');
            t->header_status = status;
            t->retry_after_ms = -1;
        } else if (iequals_prefix(data, n, "content-length:")) {
            unsigned long long len = 0;
            if (t->status_is_success() && parse_unsigned(header_value(data, n, 15), len)) {
                if (len > t->max_bytes) {
                    t->too_large = true;  // refuse before receiving any of the body
                    return 0;
                }
                if (!t->in_flight.grow_to(static_cast<std::size_t>(len), t->in_flight_limit, t->in_flight_held)) {
                    t->over_in_flight = true;  // likewise
                    return 0;
                }
                // One allocation for the body, plus the padding the JSON decoder needs after it (so it
                // never reallocates a multi-megabyte page).
                t->body.reserve(static_cast<std::size_t>(len) + 64);
            }
        } else if (iequals_prefix(data, n, "retry-after:")) {
            t->retry_after_ms = parse_retry_after_ms(header_value(data, n, 12));
        }
    } catch (...) {
        t->out_of_memory = true;
        return 0;
    }
    return n;
}

size_t on_write(char *data, size_t size, size_t nmemb, void *userp) noexcept
{
    auto *t = static_cast<Transfer *>(userp);
    std::size_t n = size * nmemb;
    try {
        if (t->status_is_success()) {
            if (n > t->max_bytes - t->body.size()) {
                t->too_large = true;  // never buffer more than the limit
                return 0;
            }
            // (Counted already when a Content-Length announced the body.)
            if (!t->in_flight.grow_to(t->body.size() + n, t->in_flight_limit, t->in_flight_held)) {
                t->over_in_flight = true;
                return 0;
            }
            t->body.append(data, n);
        } else {
            // An error answer: only its beginning goes into the DETAIL.
            std::size_t room = kErrorBodyKeep - std::min(t->body.size(), kErrorBodyKeep);
            if (n > room) {
                t->body.append(data, room);
                t->error_body_cut = true;
                return 0;
            }
            t->body.append(data, n);
        }
    } catch (...) {
        t->out_of_memory = true;
        return 0;
    }
    return n;
}

int on_progress(void *userp, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept
{
    auto *t = static_cast<Transfer *>(userp);
    if (t->check && t->check()) {
        t->interrupted = true;
        return 1;  // CURLE_ABORTED_BY_CALLBACK
    }
    return 0;
}

// Which interface a request is for, for messages: the client serves both, and only VTJkysely
// speaks XML.
const char *service_of(const HttpRequest &r)
{
    auto has_xml = [](const std::string &s) { return s.find("xml") != std::string::npos; };
    return has_xml(r.content_type) || has_xml(r.accept) ? "VTJkysely" : "VTJ-muutosrajapinta";
}

std::string what_of(const HttpRequest &r)
{
    if (!r.what.empty())
        return r.what;
    // Fallback: method and path (never the query, never userinfo).
    std::string path = r.url;
    std::size_t scheme = path.find("://");
    std::size_t slash = path.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    path = slash == std::string::npos ? "/" : path.substr(slash);
    path = path.substr(0, path.find_first_of("?#"));
    return std::string(r.method == HttpRequest::Method::Get ? "GET " : "POST ") + path;
}

std::string after_attempts(int attempts)
{
    return attempts > 1 ? " after " + std::to_string(attempts) + " attempts" : std::string();
}

std::string seconds_text(curl_off_t us)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f s", static_cast<double>(us) / 1e6);
    return buf;
}

const char *kHintConnect = "Check the server's url and that the X-Road security server is reachable from the database server.";
const char *kHintTimeout = "Raise request_timeout or check the network path to the security server.";
const char *kHintConnectTimeout =
    "Raise connect_timeout or check that the X-Road security server is reachable from the database server.";
const char *kHintAuth = "Check the username and password of the user mapping for this server, and that DVV has granted this product.";
const char *kHintThrottled = "The interface is throttling requests; lower parallel_requests or try later.";
const char *kHintTls = "Check the server's ca_file, client_cert and client_key (PEM files the database server can read) and verify_tls.";

enum class Failure { None, Connect, Timeout, Broken, Tls, BadUrl, BadEncoding, NotHttp, Other };

Failure classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK: return Failure::None;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:  // mostly a handshake cut by the peer or a middlebox
        return Failure::Connect;
    case CURLE_OPERATION_TIMEDOUT: return Failure::Timeout;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return Failure::Broken;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
        return Failure::Tls;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return Failure::BadUrl;
    case CURLE_BAD_CONTENT_ENCODING: return Failure::BadEncoding;
    case CURLE_WEIRD_SERVER_REPLY: return Failure::NotHttp;  // a status line or header HTTP cannot have
    default: return Failure::Other;
    }
}

bool retryable(Failure f) { return f == Failure::Connect || f == Failure::Timeout || f == Failure::Broken; }

bool retryable_status(long status)
{
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

bool header_safe(const std::string &s) { return s.find_first_of("\r\n") == std::string::npos; }

}  // namespace

struct HttpClient::Impl {
    HttpConfig cfg;
    InterruptCheck check = nullptr;
    CURLM *multi = nullptr;
    std::vector<CURL *> idle;  // pooled easy handles
    std::deque<std::unique_ptr<Transfer>> waiting;  // retries (backing off) first, then new
    std::vector<std::unique_ptr<Transfer>> running;
    struct Completed {
        HttpResult result;
        InFlight in_flight;  // the body stays counted until next_completed hands it over
    };
    std::deque<Completed> done;
    HttpStats stats;
    std::vector<std::string> secrets;  // scrubbed from every message we produce

    explicit Impl(HttpConfig c) : cfg(std::move(c))
    {
        if (cfg.max_parallel < 1)
            cfg.max_parallel = 1;
        if (cfg.max_retries < 0)
            cfg.max_retries = 0;
        if (cfg.backoff_base_ms < 0)
            cfg.backoff_base_ms = 0;
        if (cfg.backoff_cap_ms < 0)
            cfg.backoff_cap_ms = 0;
        if (cfg.auth != AuthScheme::None && (!header_safe(cfg.username) || !header_safe(cfg.password)))
            throw Error(ErrorKind::InvalidValue, "the user mapping's username or password contains a line break");
        if (!header_safe(cfg.xroad_client))
            throw Error(ErrorKind::InvalidValue, "option xroad_client contains a line break");
        if (cfg.auth != AuthScheme::None) {
            // The base64 form too: a Basic header echoed back in an error page is a credential.
            secrets = {cfg.password, cfg.username, http_detail::base64(cfg.username + ":" + cfg.password)};
            // Longest first, so that a secret containing another is scrubbed whole.
            std::sort(secrets.begin(), secrets.end(), [](const std::string &a, const std::string &b) { return a.size() > b.size(); });
        }
        ensure_multi();
    }

    ~Impl()
    {
        drop_all();
        release_handles();
    }

    void ensure_multi()
    {
        if (multi)
            return;
        multi = curl_multi_init();
        if (!multi)
            throw Error(ErrorKind::Internal, "could not create a libcurl multi handle");
        // The cache must hold a connection per parallel transfer; libcurl's default is derived
        // from the number of easy handles attached, which drops to 1 between scans.
        curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(std::max(cfg.max_parallel, 1) * 2));
    }

    void release_handles() noexcept
    {
        for (CURL *e : idle)
            curl_easy_cleanup(e);
        idle.clear();
        if (multi) {
            curl_multi_cleanup(multi);
            multi = nullptr;
        }
    }

    // Detaches a running transfer's easy handle and returns it to the pool.
    void detach(Transfer &t) noexcept
    {
        if (!t.easy)
            return;
        curl_multi_remove_handle(multi, t.easy);
        // The error buffer belongs to the Transfer, which may go away before the handle is
        // reconfigured; libcurl must not write into it meanwhile.
        curl_easy_setopt(t.easy, CURLOPT_ERRORBUFFER, static_cast<char *>(nullptr));
        try {
            idle.push_back(t.easy);
        } catch (...) {
            curl_easy_cleanup(t.easy);
        }
        t.easy = nullptr;
    }

    void drop_all() noexcept
    {
        for (auto &t : running)
            detach(*t);
        running.clear();
        waiting.clear();
        done.clear();
    }

    Error make_error(ErrorKind kind, const std::string &message, const std::string &detail, const std::string &hint,
                     long status = 0) const
    {
        auto clean = [this](const std::string &s, std::size_t max) {
            return http_detail::sanitize_text(http_detail::scrub_secrets(redact_hetus(s), secrets), max);
        };
        Error e(kind, clean(message, 900), clean(detail, 1100), clean(hint, 900));
        if (status)
            e.with_status(status);
        return e;
    }

    Error cancelled_error() const
    {
        return make_error(ErrorKind::Cancelled, "HTTP requests to the VTJ interfaces were cancelled", {}, {});
    }

    void build_headers(Transfer &t)
    {
        auto add = [&t](const std::string &line) {
            curl_slist *n = curl_slist_append(t.headers, line.c_str());
            if (!n)
                throw std::bad_alloc();
            t.headers = n;
        };
        const HttpRequest &r = t.req;
        if (!r.accept.empty())
            add("Accept: " + r.accept);
        if (r.method == HttpRequest::Method::Post) {
            if (!r.content_type.empty())
                add("Content-Type: " + r.content_type);
            add("Expect:");  // no 100-continue round trip
        }
        if (!cfg.xroad_client.empty())
            add("X-Road-Client: " + cfg.xroad_client);
        if (cfg.auth == AuthScheme::Mutp) {
            add("MUTP-Tunnus: " + cfg.username);
            add("MUTP-Salasana: " + cfg.password);
        }
        for (const std::string &h : r.extra_headers)
            add(h);
    }

    void configure(CURL *e, Transfer &t)
    {
        curl_easy_reset(e);
        CURLcode rc = CURLE_OK;
        auto set = [&rc](CURLcode r) {
            if (rc == CURLE_OK)
                rc = r;
        };
        using WriteFn = size_t (*)(char *, size_t, size_t, void *);
        using ProgressFn = int (*)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t);
        const HttpRequest &r = t.req;
        set(curl_easy_setopt(e, CURLOPT_PRIVATE, static_cast<void *>(&t)));
        set(curl_easy_setopt(e, CURLOPT_URL, r.url.c_str()));
        set(curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L));
        set(curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"));
        set(curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
        set(curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L));
        set(curl_easy_setopt(e, CURLOPT_PROXY, ""));
        set(curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, cfg.connect_timeout_s));
        set(curl_easy_setopt(e, CURLOPT_TIMEOUT, cfg.request_timeout_s));
        set(curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L));
        set(curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""));  // whatever libcurl can decode
        // No CURLOPT_BUFFERSIZE: libcurl 7.88 refuses to change it on a reused handle.
        set(curl_easy_setopt(e, CURLOPT_USERAGENT, cfg.user_agent.c_str()));
        set(curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf));
        set(curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, static_cast<WriteFn>(on_write)));
        set(curl_easy_setopt(e, CURLOPT_WRITEDATA, static_cast<void *>(&t)));
        set(curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, static_cast<WriteFn>(on_header)));
        set(curl_easy_setopt(e, CURLOPT_HEADERDATA, static_cast<void *>(&t)));
        set(curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, static_cast<ProgressFn>(on_progress)));
        set(curl_easy_setopt(e, CURLOPT_XFERINFODATA, static_cast<void *>(&t)));
        set(curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L));
        set(curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers));
        if (cfg.auth == AuthScheme::Basic && !(cfg.username.empty() && cfg.password.empty())) {
            set(curl_easy_setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC)));
            set(curl_easy_setopt(e, CURLOPT_USERNAME, cfg.username.c_str()));
            set(curl_easy_setopt(e, CURLOPT_PASSWORD, cfg.password.c_str()));
        }
        if (!cfg.ca_file.empty())
            set(curl_easy_setopt(e, CURLOPT_CAINFO, cfg.ca_file.c_str()));
        if (!cfg.client_cert.empty()) {
            set(curl_easy_setopt(e, CURLOPT_SSLCERT, cfg.client_cert.c_str()));
            set(curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM"));
        }
        if (!cfg.client_key.empty()) {
            set(curl_easy_setopt(e, CURLOPT_SSLKEY, cfg.client_key.c_str()));
            set(curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM"));
        }
        if (!cfg.verify_tls) {
            set(curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L));
            set(curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L));
        }
        if (r.method == HttpRequest::Method::Post) {
            set(curl_easy_setopt(e, CURLOPT_POST, 1L));
            // The request's own buffer, not copied: the Transfer outlives the attempt.
            set(curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data()));
            set(curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size())));
        } else {
            set(curl_easy_setopt(e, CURLOPT_HTTPGET, 1L));
        }
        if (rc != CURLE_OK)
            throw Error(ErrorKind::Internal, std::string("could not configure a libcurl transfer: ") + curl_easy_strerror(rc));
    }

    void start(std::unique_ptr<Transfer> t)
    {
        ensure_multi();
        running.reserve(static_cast<std::size_t>(cfg.max_parallel));  // push_back below cannot throw
        CURL *e = nullptr;
        if (!idle.empty()) {
            e = idle.back();
            idle.pop_back();
        } else {
            e = curl_easy_init();
            if (!e)
                throw Error(ErrorKind::Internal, "could not create a libcurl easy handle");
        }
        try {
            t->begin_attempt(cfg.max_response_bytes, cfg.max_in_flight_bytes, check);
            configure(e, *t);
            CURLMcode mc = curl_multi_add_handle(multi, e);
            if (mc != CURLM_OK)
                throw Error(ErrorKind::Internal, std::string("could not start a libcurl transfer: ") + curl_multi_strerror(mc));
        } catch (...) {
            curl_easy_cleanup(e);
            throw;
        }
        t->easy = e;
        ++t->attempts;
        ++stats.requests;
        running.push_back(std::move(t));
    }

    // Starts waiting transfers whose backoff has passed, while slots are free.
    void start_ready()
    {
        if (waiting.empty() || running.size() >= static_cast<std::size_t>(cfg.max_parallel))
            return;
        auto now = Clock::now();
        for (std::size_t i = 0; i < waiting.size() && running.size() < static_cast<std::size_t>(cfg.max_parallel);) {
            if (waiting[i]->not_before > now) {
                ++i;
                continue;
            }
            std::unique_ptr<Transfer> t = std::move(waiting[i]);
            waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(i));
            start(std::move(t));
        }
    }

    // How long the next wait may be: one slice, or less if a backoff ends sooner.
    int wait_ms() const
    {
        long ms = kPollSliceMs;
        if (running.size() < static_cast<std::size_t>(cfg.max_parallel)) {
            auto now = Clock::now();
            // Backing-off transfers sit at the front of the queue.
            for (const auto &t : waiting) {
                if (t->not_before <= now)
                    return 0;
                auto until = std::chrono::duration_cast<std::chrono::milliseconds>(t->not_before - now).count() + 1;
                ms = std::min<long>(ms, static_cast<long>(until));
                if (t->attempts == 0)
                    break;  // the fresh ones behind are ready (or slots are full)
            }
        }
        return static_cast<int>(ms);
    }

    // core/retry.hpp's policy; retry_number is 1 for the first retry.
    long backoff_ms(int retry_number, long retry_after_ms) const
    {
        return vtj::backoff_ms(cfg.backoff_base_ms, cfg.backoff_cap_ms, retry_number - 1, retry_after_ms);
    }

    // One turn: an interrupt is asked for, what may start starts, libcurl moves the transfers
    // along, and what finished is judged (answers queued in `done`; a failure throws).
    void step()
    {
        throw_if_interrupted();
        start_ready();
        int still_running = 0;
        const CURLMcode mc = curl_multi_perform(multi, &still_running);
        if (mc != CURLM_OK)
            throw Error(ErrorKind::Internal, std::string("libcurl failed: ") + curl_multi_strerror(mc));
        collect();
    }

    // Waits up to timeout_ms for socket activity (or HttpClient::wake).
    void poll(int timeout_ms)
    {
        if (timeout_ms <= 0)
            return;
        const CURLMcode mc = curl_multi_poll(multi, nullptr, 0, timeout_ms, nullptr);
        if (mc != CURLM_OK)
            throw Error(ErrorKind::Internal, std::string("libcurl failed: ") + curl_multi_strerror(mc));
    }

    void throw_if_interrupted()
    {
        if (check && check()) {
            drop_all();
            throw cancelled_error();
        }
    }

    std::string timeout_breakdown(CURL *e, const Transfer &t) const
    {
        curl_off_t lookup = 0, connect = 0, tls = 0, first = 0, total = 0;
        curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &lookup);
        curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect);
        curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &tls);
        curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &first);
        curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total);
        bool https = t.req.url.compare(0, 8, "https://") == 0;
        // Times since the attempt started, as `curl -w` shows them; "-" = phase never reached.
        auto at = [](curl_off_t us) { return us > 0 ? seconds_text(us) : std::string("-"); };
        std::string s = "name lookup " + at(lookup) + ", connect " + at(connect);
        if (https)
            s += ", TLS " + at(tls);
        s += ", first byte " + at(first) + ", total " + seconds_text(total);
        return s;
    }

    // What to do with a finished attempt.
    enum class Next { Success, Retry, Fail };

    // Decides about the attempt that just ended on t.easy (still attached); fills `result` on
    // success and `error` on failure.
    Next judge(Transfer &t, CURLcode rc, HttpResult &result, std::optional<Error> &error)
    {
        CURL *e = t.easy;
        long status = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_off_t down = 0, up = 0;
        long header_bytes = 0, request_bytes = 0;
        curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &down);
        curl_easy_getinfo(e, CURLINFO_HEADER_SIZE, &header_bytes);
        curl_easy_getinfo(e, CURLINFO_SIZE_UPLOAD_T, &up);
        curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &request_bytes);
        stats.bytes_received += static_cast<std::uint64_t>(std::max<curl_off_t>(down, 0) + std::max(header_bytes, 0L));
        stats.bytes_sent += static_cast<std::uint64_t>(std::max<curl_off_t>(up, 0) + std::max(request_bytes, 0L));

        const std::string service = service_of(t.req);
        const std::string what = what_of(t.req);
        const bool may_retry = t.attempts <= cfg.max_retries;

        if (t.interrupted || rc == CURLE_ABORTED_BY_CALLBACK) {
            error.emplace(cancelled_error());
            return Next::Fail;
        }
        if (t.out_of_memory)
            throw std::bad_alloc();
        if (t.too_large) {
            error.emplace(make_error(ErrorKind::ResponseTooLarge,
                                     service + "'s answer to " + what + " is larger than max_response_mb (" +
                                         size_text(cfg.max_response_bytes) + ")",
                                     {},
                                     "Lower the batch size of the request (muutokset_batch_size, perustiedot_batch_size) or raise max_response_mb."));
            return Next::Fail;
        }
        if (t.over_in_flight) {
            error.emplace(make_error(ErrorKind::MemoryLimit,
                                     service + "'s answer to " + what + " would bring the answers held in memory by this session past " +
                                         size_text(t.in_flight_limit),
                                     "Answers being received or not yet read took " + size_text(t.in_flight_held) +
                                         " when this one arrived; the limit applies to roles that are not superusers.",
                                     "Lower the server's parallel_requests or max_response_mb (their product bounds one scan), "
                                     "or run fewer vtj_fdw scans at once in one statement."));
            return Next::Fail;
        }

        Failure failure = classify(rc);
        // libcurl reports bytes that are not an HTTP answer ("Received HTTP/0.9 when not allowed":
        // garbage, an SSH or SMTP banner) as an unsupported protocol, like a URL scheme it lacks;
        // once connected (a new connection or a kept-alive one: both have the peer's address), it is
        // the peer's answer that is wrong, not the url.
        if (failure == Failure::BadUrl && rc == CURLE_UNSUPPORTED_PROTOCOL) {
            const char *ip = nullptr;
            if (curl_easy_getinfo(e, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip && *ip)
                failure = Failure::NotHttp;
        }
        // A complete HTTP answer (or an error answer we stopped reading): the status decides.
        if (failure == Failure::None || (rc == CURLE_WRITE_ERROR && t.error_body_cut) ||
            (failure == Failure::Broken && status >= 300)) {
            if (status >= 200 && status < 300 && failure == Failure::None) {
                result.tag = t.req.tag;
                result.status = status;
                result.body = std::move(t.body);
                const char *ct = nullptr;
                if (curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
                    result.content_type = ct;
                result.attempts = t.attempts;
                curl_off_t total = 0;
                curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total);
                result.seconds = static_cast<double>(total) / 1e6;
                return Next::Success;
            }
            if (retryable_status(status) && may_retry)
                return Next::Retry;
            const char *ct = nullptr;
            curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &ct);
            std::string detail = http_detail::readable_error_body(t.body, ct ? ct : "");
            const char *reason = http_detail::reason_phrase(status);
            std::string message = service + " answered HTTP " + std::to_string(status) +
                                  (*reason ? std::string(" (") + reason + ")" : std::string()) + " to " + what +
                                  after_attempts(t.attempts);
            ErrorKind kind = ErrorKind::HttpStatus;
            std::string hint;
            if (status == 401 || status == 403) {
                kind = ErrorKind::Unauthorized;
                hint = kHintAuth;
            } else if (status == 429) {
                hint = kHintThrottled;
            } else if (status == 404) {
                hint = "Check the server's url (for the change interface it ends in /api/v1).";
            } else if (status >= 300 && status < 400) {
                hint = "Redirects are not followed; check the server's url.";
            } else if (status >= 500) {
                hint = "The interface or the X-Road security server failed; try again later.";
            }
            error.emplace(make_error(kind, message, detail, hint, status));
            error->with_retry_after_ms(t.retry_after_ms);
            return Next::Fail;
        }

        if (retryable(failure) && may_retry)
            return Next::Retry;

        std::string curl_text = t.errbuf[0] ? std::string(t.errbuf) : std::string(curl_easy_strerror(rc));
        switch (failure) {
        case Failure::Timeout: {
            // While connecting, libcurl applies the smaller of the two limits.
            bool connecting = [&] {
                curl_off_t connect = 0;
                curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect);
                return connect == 0;
            }();
            const bool connect_limit = connecting && cfg.connect_timeout_s < cfg.request_timeout_s;
            std::string limit = connect_limit ? "connect_timeout " + std::to_string(cfg.connect_timeout_s) + " s"
                                              : "request_timeout " + std::to_string(cfg.request_timeout_s) + " s";
            error.emplace(make_error(ErrorKind::Timeout,
                                     service + " did not answer " + what + " in time (" + limit + ")" + after_attempts(t.attempts) +
                                         "; last attempt: " + timeout_breakdown(e, t),
                                     curl_text, connect_limit ? kHintConnectTimeout : kHintTimeout));
            break;
        }
        case Failure::Broken:
            if (status >= 200 && status < 300) {
                error.emplace(make_error(ErrorKind::BadResponse,
                                         service + "'s answer to " + what + " was cut short" + after_attempts(t.attempts), curl_text,
                                         "The connection broke while the answer was being received; check the network path to the security server."));
                error->mark_cut_short();
                break;
            }
            [[fallthrough]];
        case Failure::Connect:
            error.emplace(make_error(ErrorKind::UnableToConnect,
                                     "could not reach " + service + " for " + what + after_attempts(t.attempts) + ": " +
                                         curl_easy_strerror(rc),
                                     curl_text, kHintConnect));
            break;
        case Failure::Tls:
            error.emplace(make_error(ErrorKind::UnableToConnect,
                                     "TLS with " + service + " failed for " + what + ": " + curl_easy_strerror(rc), curl_text, kHintTls));
            break;
        case Failure::BadUrl:
            error.emplace(make_error(ErrorKind::UnableToConnect, "cannot request " + what + " from " + service + ": " + curl_easy_strerror(rc),
                                     curl_text, "Check the server's url: it must be an absolute http:// or https:// URL."));
            break;
        case Failure::NotHttp:
            error.emplace(make_error(ErrorKind::BadResponse, service + "'s answer to " + what + " is not HTTP", curl_text,
                                     "Something other than the interface answered at the server's url (its host and port); "
                                     "check the url and the X-Road security server."));
            break;
        case Failure::BadEncoding:
            error.emplace(make_error(ErrorKind::BadResponse, service + "'s answer to " + what + " could not be decoded", curl_text, {}));
            break;
        default:
            error.emplace(make_error(ErrorKind::UnableToConnect,
                                     service + " request " + what + " failed" + after_attempts(t.attempts) + ": " + curl_easy_strerror(rc),
                                     curl_text, kHintConnect));
            break;
        }
        return Next::Fail;
    }

    // Handles every finished attempt libcurl reports; throws the first failure after all of
    // them have been dealt with (successes stay queued for the caller).
    void collect()
    {
        std::optional<Error> first_error;
        bool cancelled = false;
        int left = 0;
        while (CURLMsg *msg = curl_multi_info_read(multi, &left)) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            CURLcode rc = msg->data.result;
            auto it = std::find_if(running.begin(), running.end(), [e](const auto &t) { return t->easy == e; });
            if (it == running.end()) {
                curl_multi_remove_handle(multi, e);
                continue;
            }
            std::unique_ptr<Transfer> t = std::move(*it);
            running.erase(it);
            HttpResult result;
            std::optional<Error> error;
            Next next = Next::Fail;
            try {
                next = judge(*t, rc, result, error);
            } catch (...) {
                detach(*t);
                throw;
            }
            detach(*t);
            switch (next) {
            case Next::Success:
                done.push_back(Completed{std::move(result), std::move(t->in_flight)});
                break;
            case Next::Retry:
                ++stats.retries;
                t->body = std::string();  // nothing of a failed attempt is kept while waiting
                t->in_flight.release();
                t->not_before = Clock::now() + std::chrono::milliseconds(backoff_ms(t->attempts, t->retry_after_ms));
                waiting.push_front(std::move(t));  // ahead of new requests once its wait is over
                break;
            case Next::Fail:
                if (error && error->kind() == ErrorKind::Cancelled)
                    cancelled = true;
                if (!first_error && error)
                    first_error = std::move(error);
                break;
            }
        }
        if (cancelled) {
            drop_all();
            throw cancelled_error();
        }
        if (first_error)
            throw *first_error;
    }
};

HttpClient::HttpClient(HttpConfig config)
{
    // Idempotent and reference-counted; the PostgreSQL layer also calls it in _PG_init, before
    // any thread exists. Done once per process here for users of the core outside PostgreSQL.
    static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (init != CURLE_OK)
        throw Error(ErrorKind::Internal, "could not initialise libcurl");
    impl_ = std::make_unique<Impl>(std::move(config));
}

HttpClient::~HttpClient() = default;

void HttpClient::set_interrupt_check(InterruptCheck check) noexcept { impl_->check = check; }

InterruptCheck HttpClient::interrupt_check() const noexcept { return impl_->check; }

void HttpClient::set_max_in_flight(std::size_t bytes) noexcept { impl_->cfg.max_in_flight_bytes = bytes; }

std::size_t http_bytes_in_flight() noexcept { return g_in_flight.load(); }

void HttpClient::submit(HttpRequest request)
{
    // The multi handle exists from the first submit on (close_connections drops it), so that it
    // is made on the owner's thread before a worker drives it: wake() reads it from another thread.
    impl_->ensure_multi();
    auto t = std::make_unique<Transfer>();
    t->req = std::move(request);
    impl_->build_headers(*t);
    impl_->waiting.push_back(std::move(t));
}

bool HttpClient::next_completed(HttpResult &out)
{
    Impl &m = *impl_;
    for (;;) {
        if (!m.done.empty()) {
            out = std::move(m.done.front().result);
            m.done.pop_front();  // the body is the caller's now: no longer counted
            return true;
        }
        if (m.waiting.empty() && m.running.empty())
            return false;
        m.step();
        if (!m.done.empty())
            continue;
        // Something may have become startable (a slot freed by a retry, a backoff ended).
        m.poll(m.wait_ms());
    }
}

bool HttpClient::drive(int max_wait_ms)
{
    Impl &m = *impl_;
    if (m.waiting.empty() && m.running.empty())
        return false;
    m.step();
    if (m.waiting.empty() && m.running.empty())
        return false;
    m.poll(std::min(m.wait_ms(), max_wait_ms));
    return true;
}

void HttpClient::wake() noexcept
{
    // `multi` is not written while transfers are queued or in flight (see submit), which is when
    // another thread wakes a wait; without any there is no wait to cut short.
    if (impl_->multi)
        curl_multi_wakeup(impl_->multi);
}

void HttpClient::cancel_all() noexcept { impl_->drop_all(); }

std::size_t HttpClient::pending() const noexcept
{
    return impl_->waiting.size() + impl_->running.size() + impl_->done.size();
}

const HttpStats &HttpClient::stats() const noexcept { return impl_->stats; }

void HttpClient::reset_stats() noexcept { impl_->stats = HttpStats{}; }

void HttpClient::close_connections() noexcept
{
    impl_->drop_all();
    impl_->release_handles();  // the multi handle owns the connection cache
}

}  // namespace vtj
