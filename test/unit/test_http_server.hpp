// A small HTTP/1.1 server for the HTTP client's unit tests: 127.0.0.1, a random port, one
// thread per connection, keep-alive, and a per-test handler that scripts each answer (status,
// headers, body, delay, cutting the body short, streaming a large body). It records what it
// received and what it saw (connections, concurrency, time between attempts) so that tests
// assert on the server's observations rather than on wall time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace vtj_test {

struct ReceivedRequest {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    int connection = 0;  // 1-based id of the connection it arrived on
    int index = 0;       // 0-based order of arrival over the server's life
    std::chrono::steady_clock::time_point arrived;

    // Value of the first header with this name (case-insensitive), "" when absent.
    std::string header(std::string_view name) const;
    bool has_header(std::string_view name) const;
};

struct Reply {
    int status = 200;
    std::vector<std::string> headers;  // extra "Name: value" lines
    std::string body;
    int delay_ms = 0;             // wait before answering (cut short when the server stops)
    bool close = false;           // "Connection: close" and close after answering
    std::size_t cut_after = std::string::npos;  // send only this many body bytes, then close
    bool reset = false;           // with cut_after: close with a TCP reset instead of a FIN
    bool hang_up = false;         // answer nothing: reset the connection after the request
    std::size_t stream_bytes = 0;  // instead of body: this many filler bytes in 64 KiB writes
    bool no_content_length = false;  // body delimited by closing the connection
    std::size_t stall_after = std::string::npos;  // send only this many body bytes, then nothing
                                                  // more until the server stops (then close)
    std::string raw = {};         // sent as it is instead of an HTTP answer, then close
};

using Handler = std::function<Reply(const ReceivedRequest &)>;

class TestHttpServer {
public:
    explicit TestHttpServer(Handler handler);
    ~TestHttpServer();
    TestHttpServer(const TestHttpServer &) = delete;
    TestHttpServer &operator=(const TestHttpServer &) = delete;

    int port() const { return port_; }
    std::string url(std::string_view path) const;

    std::vector<ReceivedRequest> requests() const;
    int request_count() const;
    int connections() const;               // accepted so far
    int max_concurrent_requests() const;   // requests being answered at the same time
    std::size_t body_bytes_sent() const;   // body bytes the server managed to write

    void stop();

private:
    void accept_loop();
    void serve(int fd, int connection);
    bool wait_or_stop(int ms);
    bool send_all(int fd, const char *data, std::size_t n);

    Handler handler_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::thread acceptor_;

    mutable std::mutex mu_;
    std::condition_variable stop_cv_;
    std::vector<std::thread> workers_;
    std::vector<int> open_fds_;
    std::vector<ReceivedRequest> requests_;
    int connections_ = 0;
    int in_flight_ = 0;
    int max_in_flight_ = 0;
    std::size_t body_bytes_sent_ = 0;
};

// A port on 127.0.0.1 that refuses connections (bound then closed).
int refused_port();

}  // namespace vtj_test
