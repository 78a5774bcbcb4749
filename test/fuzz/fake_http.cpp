// A stand-in for core/http.cpp's HttpClient, linked into fuzz_scan instead of it (the scan
// target links no libcurl): requests are answered at once, in the order they were submitted,
// with the next of the bodies the test set (cycling). Only what core/scan.cpp calls exists.
#include "fake_http.hpp"

#include <deque>

namespace vtj {

struct HttpClient::Impl {
    std::deque<HttpRequest> queued;
    InterruptCheck check = nullptr;
};

HttpClient::HttpClient(HttpConfig) : impl_(std::make_unique<Impl>()) {}

HttpClient::~HttpClient() = default;

// (A basic-data scan hands the client to its worker thread and back.)
void HttpClient::set_interrupt_check(InterruptCheck check) noexcept { impl_->check = check; }
InterruptCheck HttpClient::interrupt_check() const noexcept { return impl_->check; }

void HttpClient::submit(HttpRequest request) { impl_->queued.push_back(std::move(request)); }

// (The scan drops what is in flight when an answer does not fit the request.)
void HttpClient::cancel_all() noexcept { impl_->queued.clear(); }

// Answers come at once in next_completed: nothing is ever in flight to drive or to wake from.
bool HttpClient::drive(int) { return false; }
void HttpClient::wake() noexcept {}

bool HttpClient::next_completed(HttpResult &out)
{
    if (impl_->queued.empty())
        return false;
    const HttpRequest req = std::move(impl_->queued.front());
    impl_->queued.pop_front();
    fuzz::FakeAnswers &answers = fuzz::FakeAnswers::get();
    FUZZ_CHECK(!answers.bodies.empty());
    answers.requests.push_back(req.body);
    out = HttpResult{};
    out.tag = req.tag;
    out.status = 200;
    out.body = answers.bodies[answers.next++ % answers.bodies.size()];
    out.content_type = "application/json";
    return true;
}

}  // namespace vtj
