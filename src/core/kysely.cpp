// VTJkysely look-ups over HTTP (kysely.hpp: fetch_answers) and the errors shared with the parser
// (kysely_detail.hpp).
#include "core/kysely.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>

#include "core/error.hpp"
#include "core/hetu.hpp"
#include "core/http_errors.hpp"
#include "core/kysely_detail.hpp"
#include "core/retry.hpp"

namespace vtj::kysely {

namespace detail {

std::string clean(std::string_view text, const std::vector<std::string> &secrets, std::size_t max)
{
    return http_detail::sanitize_text(http_detail::scrub_secrets(redact_hetus(std::string(text)), secrets), max);
}

bool looks_like_auth_failure(std::string_view text) noexcept
{
    static const char *const kWords[] = {"auth", "salasana", "tunnussana", "kayttajatunnus", "käyttäjätunnus",
                                         "password", "credential", "login", "unauthori", "-1500"};
    std::string lower(text.size(), '\0');
    std::transform(text.begin(), text.end(), lower.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    for (const char *w : kWords)
        if (lower.find(w) != std::string::npos)
            return true;
    return false;
}

Error fault_error(std::string_view fault, const std::vector<std::string> &secrets)
{
    const std::string text = clean(fault, secrets, 1000);
    if (looks_like_auth_failure(fault))
        return Error(ErrorKind::HttpStatus, "VTJkysely refused the credentials (SOAP fault)", text,
                     "Check the username and password of the user mapping for this server: VTJkysely receives them "
                     "as Kayttajatunnus and Salasana.");
    return Error(ErrorKind::HttpStatus, "VTJkysely answered the look-up with a SOAP fault", text,
                 "The fault came from VTJkysely or from the X-Road security server; DETAIL has its faultcode and faultstring.");
}

Error paluukoodi_error(std::string_view koodi, std::string_view text, const std::vector<std::string> &secrets)
{
    std::string message = "VTJkysely did not answer the look-up: Paluukoodi " + clean(koodi, secrets, 40);
    if (!text.empty())
        message += " (" + clean(text, secrets, 400) + ")";
    std::string hint;
    if (koodi == "0003" || koodi == "0004" || koodi == "-1500" || looks_like_auth_failure(text))
        hint = "Check the username and password of the user mapping for this server: VTJkysely receives them as "
               "Kayttajatunnus and Salasana.";
    else if (koodi == "-1904")
        hint = "Set vtj.loppukayttaja to the end user on whose behalf the look-up is made.";
    else if (koodi == "-1900" || koodi == "-1901")
        hint = "Check the server option soso_nimi (the VTJkysely product, default 'Perussanoma 3') and what DVV has granted.";
    else
        hint = "Paluukoodi values are listed in DVV's VTJHenkilotiedotKatalogi.xsd (PaluukoodiTekstiTyyppi).";
    return Error(ErrorKind::HttpStatus, message, {}, hint);
}

}  // namespace detail

namespace {

std::vector<std::string> secrets_of(const RequestSettings &s)
{
    std::vector<std::string> out;
    if (!s.password.empty())
        out.push_back(s.password);
    if (!s.username.empty())
        out.push_back(s.username);
    std::sort(out.begin(), out.end(), [](const std::string &a, const std::string &b) { return a.size() > b.size(); });
    return out;
}

// The HTTP client's error, in VTJkysely's terms and with the SOAP body's credentials scrubbed
// (the client scrubs only HTTP credentials, and this client has none).
Error translate(const Error &e, const std::vector<std::string> &secrets)
{
    static const std::string kSoapFault = "SOAP fault ";
    if (e.http_status() >= 400 && e.detail().compare(0, kSoapFault.size(), kSoapFault) == 0) {
        Error f = detail::fault_error(std::string_view(e.detail()).substr(kSoapFault.size()), secrets);
        f.with_status(e.http_status());
        return f;
    }
    std::string hint = e.hint();
    if (e.kind() == ErrorKind::ResponseTooLarge)
        hint = "One person's answer is about 10 KB; check that kysely_url points to VTJkysely.";
    else if (e.kind() == ErrorKind::HttpStatus && e.http_status() == 404)
        hint = "Check the server option kysely_url (the VTJkysely SOAP endpoint of your X-Road security server).";
    Error out(e.kind(), detail::clean(e.what(), secrets), detail::clean(e.detail(), secrets, 1100),
              detail::clean(hint, secrets));
    if (e.http_status())
        out.with_status(e.http_status());
    return out;
}

bool is_soap_fault(const Error &e)
{
    return e.detail().compare(0, 11, "SOAP fault ") == 0;
}

// An attempt that produced no answer from VTJkysely: worth another round.
bool retryable(const Error &e)
{
    switch (e.kind()) {
    case ErrorKind::UnableToConnect:
        return std::string(e.what()).compare(0, 9, "TLS with ") != 0;  // a certificate does not heal
    case ErrorKind::Timeout:
        return true;
    case ErrorKind::BadResponse:
        return e.cut_short();  // a connection reset in the middle of an answer: no answer was had
    case ErrorKind::HttpStatus: {
        const long st = e.http_status();
        return st == 429 || st == 502 || st == 503 || st == 504 || (st == 500 && !is_soap_fault(e));
    }
    default:
        return false;
    }
}

// Waits `ms`, in slices, stopping early with Cancelled when asked to.
void backoff_wait(long ms, InterruptCheck interrupted)
{
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
        if (interrupted && interrupted())
            throw Error(ErrorKind::Cancelled, "VTJkysely look-ups were cancelled");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (interrupted && interrupted())
        throw Error(ErrorKind::Cancelled, "VTJkysely look-ups were cancelled");
}

}  // namespace

long backoff_ms(const RetryPolicy &retry, int round, long retry_after_ms)
{
    return vtj::backoff_ms(retry.backoff_base_ms, retry.backoff_cap_ms, round, retry_after_ms);
}

HttpConfig http_config(const HttpConfig &server)
{
    HttpConfig c = server;
    c.auth = AuthScheme::None;  // Kayttajatunnus/Salasana go in the SOAP body
    c.username.clear();
    c.password.clear();
    c.xroad_client.clear();     // the X-Road ids go in the SOAP header
    c.max_retries = 0;          // fetch_answers() decides (RetryPolicy)
    if (c.max_response_bytes == 0 || c.max_response_bytes > kMaxAnswerBytes)
        c.max_response_bytes = kMaxAnswerBytes;
    return c;
}

RetryPolicy retry_policy(const HttpConfig &server, InterruptCheck interrupted)
{
    RetryPolicy r;
    r.max_retries = server.max_retries < 0 ? 0 : server.max_retries;
    r.backoff_base_ms = server.backoff_base_ms;
    r.backoff_cap_ms = server.backoff_cap_ms;
    r.interrupted = interrupted;
    return r;
}

std::vector<std::string> fetch_answers(HttpClient &client, const RequestSettings &settings,
                                       const std::vector<std::string> &hetus, const RetryPolicy &retry,
                                       std::uint64_t *retries)
{
    std::vector<std::string> answers(hetus.size());
    std::vector<char> have(hetus.size(), 0);
    if (hetus.empty())
        return answers;
    const std::vector<std::string> secrets = secrets_of(settings);
    std::size_t received = 0;
    long retry_after_ms = -1;
    for (int round = 0;; ++round) {
        try {
            for (std::size_t i = 0; i < hetus.size(); ++i)
                if (!have[i])
                    client.submit(build_request(settings, hetus[i], static_cast<std::uint64_t>(i)));
            HttpResult r;
            while (client.next_completed(r)) {
                if (r.tag < answers.size() && !have[r.tag]) {
                    answers[r.tag] = std::move(r.body);
                    have[r.tag] = 1;
                    ++received;
                }
            }
            if (received != hetus.size())
                throw Error(ErrorKind::Internal, "VTJkysely look-ups ended without every answer");
            return answers;
        } catch (const Error &e) {
            client.cancel_all();
            if (e.kind() == ErrorKind::Cancelled || e.kind() == ErrorKind::Internal)
                throw;
            if (!retryable(e) || round >= retry.max_retries)
                throw translate(e, secrets);
            retry_after_ms = e.retry_after_ms();
        } catch (...) {
            client.cancel_all();
            throw;
        }
        // Another round for the look-ups without an answer (also those cut off in flight), after
        // the backoff of core/retry.hpp: capped exponential, jittered 0.8–1.2, never sooner than a
        // Retry-After asks (but no longer than the cap).
        if (retries)
            *retries += hetus.size() - received;
        backoff_wait(backoff_ms(retry, round, retry_after_ms), retry.interrupted);
    }
}

}  // namespace vtj::kysely
