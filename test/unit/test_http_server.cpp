#include "test_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace vtj_test {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

std::string trim(std::string s)
{
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.pop_back();
    std::size_t b = 0;
    while (b < s.size() && (s[b] == ' ' || s[b] == '\t'))
        ++b;
    return s.substr(b);
}

const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Whatever";
    }
}

}  // namespace

std::string ReceivedRequest::header(std::string_view name) const
{
    for (const auto &h : headers)
        if (iequals(h.first, name))
            return h.second;
    return {};
}

bool ReceivedRequest::has_header(std::string_view name) const
{
    for (const auto &h : headers)
        if (iequals(h.first, name))
            return true;
    return false;
}

TestHttpServer::TestHttpServer(Handler handler) : handler_(std::move(handler))
{
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0)
        throw std::runtime_error("socket failed");
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;  // the kernel picks a free port
    if (::bind(listen_fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0)
        throw std::runtime_error("bind/listen failed");
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

TestHttpServer::~TestHttpServer() { stop(); }

std::string TestHttpServer::url(std::string_view path) const
{
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

void TestHttpServer::stop()
{
    if (stopping_.exchange(true))
        return;
    stop_cv_.notify_all();
    if (acceptor_.joinable())
        acceptor_.join();
    std::vector<std::thread> workers;
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (int fd : open_fds_)
            ::shutdown(fd, SHUT_RDWR);  // wakes a worker blocked on this socket
        workers.swap(workers_);
    }
    stop_cv_.notify_all();
    for (auto &w : workers)
        w.join();
    ::close(listen_fd_);
}

void TestHttpServer::accept_loop()
{
    while (!stopping_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0)
            continue;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        int one = 1;  // headers and body go in separate writes: no Nagle delay between them
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::lock_guard<std::mutex> lock(mu_);
        int id = ++connections_;
        open_fds_.push_back(fd);
        workers_.emplace_back([this, fd, id] { serve(fd, id); });
    }
}

bool TestHttpServer::wait_or_stop(int ms)
{
    std::unique_lock<std::mutex> lock(mu_);
    return !stop_cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_.load(); });
}

bool TestHttpServer::send_all(int fd, const char *data, std::size_t n)
{
    while (n > 0) {
        pollfd p{fd, POLLOUT, 0};
        int r = ::poll(&p, 1, 20);
        if (stopping_)
            return false;
        if (r <= 0)
            continue;
        ssize_t sent = ::send(fd, data, n, MSG_NOSIGNAL);
        if (sent <= 0) {
            if (sent < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            return false;
        }
        data += sent;
        n -= static_cast<std::size_t>(sent);
    }
    return true;
}

void TestHttpServer::serve(int fd, int connection)
{
    std::string buf;
    char chunk[16384];
    bool open = true;
    while (open && !stopping_) {
        // Read one request: head up to the blank line, then Content-Length bytes of body.
        std::size_t head_end;
        while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
            pollfd p{fd, POLLIN, 0};
            int r = ::poll(&p, 1, 20);
            if (stopping_)
                break;
            if (r <= 0)
                continue;
            ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
            if (got <= 0) {
                open = false;
                break;
            }
            buf.append(chunk, static_cast<std::size_t>(got));
        }
        if (!open || stopping_)
            break;
        ReceivedRequest req;
        req.connection = connection;
        req.arrived = std::chrono::steady_clock::now();
        std::string head = buf.substr(0, head_end);
        buf.erase(0, head_end + 4);
        std::size_t line_end = head.find("\r\n");
        std::string request_line = head.substr(0, line_end);
        std::size_t sp1 = request_line.find(' '), sp2 = request_line.rfind(' ');
        req.method = request_line.substr(0, sp1);
        req.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
        std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
        while (pos < head.size()) {
            std::size_t e = head.find("\r\n", pos);
            if (e == std::string::npos)
                e = head.size();
            std::string line = head.substr(pos, e - pos);
            std::size_t colon = line.find(':');
            if (colon != std::string::npos)
                req.headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
            pos = e + 2;
        }
        std::size_t content_length = 0;
        if (req.has_header("Content-Length"))
            content_length = std::stoul(req.header("Content-Length"));
        while (buf.size() < content_length && !stopping_) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0)
                continue;
            ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
            if (got <= 0) {
                open = false;
                break;
            }
            buf.append(chunk, static_cast<std::size_t>(got));
        }
        if (!open || stopping_)
            break;
        req.body = buf.substr(0, content_length);
        buf.erase(0, content_length);

        {
            std::lock_guard<std::mutex> lock(mu_);
            req.index = static_cast<int>(requests_.size());
            requests_.push_back(req);
            max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
        }
        Reply reply = handler_(req);
        if (reply.delay_ms > 0 && !wait_or_stop(reply.delay_ms)) {
            std::lock_guard<std::mutex> lock(mu_);
            --in_flight_;
            break;
        }
        if (reply.hang_up) {
            linger hard{1, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
            std::lock_guard<std::mutex> lock(mu_);
            --in_flight_;
            break;
        }
        if (!reply.raw.empty()) {
            send_all(fd, reply.raw.data(), reply.raw.size());
            std::lock_guard<std::mutex> lock(mu_);
            --in_flight_;
            break;
        }
        std::size_t body_len = reply.stream_bytes ? reply.stream_bytes : reply.body.size();
        std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " + reason(reply.status) + "\r\n";
        for (const auto &h : reply.headers)
            out += h + "\r\n";
        if (!reply.no_content_length)
            out += "Content-Length: " + std::to_string(body_len) + "\r\n";
        bool close_after = reply.close || reply.no_content_length || reply.cut_after != std::string::npos;
        if (close_after)
            out += "Connection: close\r\n";
        out += "\r\n";
        bool ok = send_all(fd, out.data(), out.size());
        std::size_t to_send = std::min({body_len, reply.cut_after, reply.stall_after});
        if (ok && reply.stream_bytes) {
            std::string filler(64 * 1024, 'x');
            std::size_t sent = 0;
            while (ok && sent < to_send) {
                std::size_t n = std::min(filler.size(), to_send - sent);
                ok = send_all(fd, filler.data(), n);
                if (ok) {
                    sent += n;
                    std::lock_guard<std::mutex> lock(mu_);
                    body_bytes_sent_ += n;
                }
            }
        } else if (ok) {
            ok = send_all(fd, reply.body.data(), to_send);
            if (ok) {
                std::lock_guard<std::mutex> lock(mu_);
                body_bytes_sent_ += to_send;
            }
        }
        {
            std::lock_guard<std::mutex> lock(mu_);
            --in_flight_;
        }
        if (ok && reply.stall_after != std::string::npos) {
            while (wait_or_stop(60000)) {
            }
            ok = false;  // the server is stopping: close
        }
        if (ok && reply.reset && reply.cut_after != std::string::npos) {
            linger hard{1, 0};  // close() now sends RST
            ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        }
        if (!ok || close_after)
            open = false;
    }
    std::lock_guard<std::mutex> lock(mu_);
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
    ::close(fd);
}

std::vector<ReceivedRequest> TestHttpServer::requests() const
{
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
}

int TestHttpServer::request_count() const
{
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(requests_.size());
}

int TestHttpServer::connections() const
{
    std::lock_guard<std::mutex> lock(mu_);
    return connections_;
}

int TestHttpServer::max_concurrent_requests() const
{
    std::lock_guard<std::mutex> lock(mu_);
    return max_in_flight_;
}

std::size_t TestHttpServer::body_bytes_sent() const
{
    std::lock_guard<std::mutex> lock(mu_);
    return body_bytes_sent_;
}

int refused_port()
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
    ::close(fd);  // nothing listens there now
    return ntohs(addr.sin_port);
}

}  // namespace vtj_test
