// libFuzzer target: the error-text helpers of core/http_errors.hpp, which turn a remote's error
// answer into an error's DETAIL. Input: "content type\nsecret\nbody" (a missing line is empty).
//  * readable_error_body(): at most about 1000 bytes, valid UTF-8, no control characters, and
//    no hetu-shaped text left, whatever the body (JSON, X-Road fault, HTML, SOAP fault, text);
//  * the cleaning the HTTP client and VTJkysely apply to every message (redact, scrub the
//    credentials, sanitize) leaves neither a hetu nor the secret in the text (for a secret that
//    shares no character with the "[credential]" marker, the "..." of a cut or the '?' and ' '
//    that replace invalid UTF-8 and control characters — those can be rebuilt from the marker
//    or by the replacing itself);
//  * sanitize_text() keeps clean text as is, and cuts at the bound on a character boundary;
//  * base64() decodes back to its input; reason_phrase() is never null.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/http_errors.hpp"
#include "fuzz_common.hpp"

namespace hd = vtj::http_detail;

namespace {

bool clean_text(const std::string &s)
{
    if (!fuzz::valid_utf8(s))
        return false;
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7F)
            return false;
    return true;
}

bool checkable_secret(const std::string &secret)
{
    if (secret.size() < 3 || !fuzz::valid_utf8(secret))
        return false;
    for (unsigned char c : secret)
        if (c < 0x20 || c == 0x7F || std::strchr("[credential]?. ", c) != nullptr)
            return false;
    return true;
}

std::string unbase64(const std::string &s)
{
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : s) {
        if (c == '=')
            break;
        const std::size_t v = alphabet.find(c);
        FUZZ_CHECK(v != std::string::npos);
        acc = (acc << 6) | std::uint32_t(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += char((acc >> bits) & 0xFF);
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string input(reinterpret_cast<const char *>(data), size);
    std::string content_type, secret, body;
    const std::size_t nl1 = input.find('\n');
    if (nl1 == std::string::npos) {
        body = input;
    } else {
        content_type = input.substr(0, nl1);
        const std::size_t nl2 = input.find('\n', nl1 + 1);
        if (nl2 == std::string::npos) {
            body = input.substr(nl1 + 1);
        } else {
            secret = input.substr(nl1 + 1, nl2 - nl1 - 1);
            body = input.substr(nl2 + 1);
        }
    }

    const std::string readable = hd::readable_error_body(body, content_type);
    FUZZ_CHECK(readable.size() <= 1000 + 3);
    FUZZ_CHECK(clean_text(readable));
    FUZZ_CHECK(fuzz::hetu_free(readable));

    // As core/http.cpp and core/kysely.cpp clean a message.
    const std::vector<std::string> secrets = {secret};
    const std::size_t max = 200 + static_cast<unsigned char>(content_type.empty() ? 0 : content_type[0]) * 4;
    for (const std::string *text : {static_cast<const std::string *>(&body), &readable}) {
        const std::string cleaned = hd::sanitize_text(hd::scrub_secrets(vtj::redact_hetus(*text), secrets), max);
        FUZZ_CHECK(cleaned.size() <= max + 3);
        FUZZ_CHECK(clean_text(cleaned));
        FUZZ_CHECK(fuzz::hetu_free(cleaned));
        if (checkable_secret(secret))
            FUZZ_CHECK(cleaned.find(secret) == std::string::npos);
    }
    const std::string scrubbed = hd::scrub_secrets(body, secrets);
    if (secret.size() < 3)
        FUZZ_CHECK(scrubbed == body);
    else if (checkable_secret(secret))
        FUZZ_CHECK(scrubbed.find(secret) == std::string::npos);

    const std::size_t bound = content_type.size();
    const std::string sanitized = hd::sanitize_text(body, bound);
    FUZZ_CHECK(clean_text(sanitized));
    FUZZ_CHECK(sanitized.size() <= bound + 3);
    if (clean_text(body) && body.size() <= bound)
        FUZZ_CHECK(sanitized == body);
    if (sanitized.size() > bound) {
        // Cut: a prefix of the body's clean form, then "...".
        FUZZ_CHECK(sanitized.compare(sanitized.size() - 3, 3, "...") == 0);
    }

    const std::string b64 = hd::base64(body);
    FUZZ_CHECK(b64.size() == (body.size() + 2) / 3 * 4);
    FUZZ_CHECK(unbase64(b64) == body);

    long status = 0;
    for (std::size_t i = 0; i < content_type.size() && i < 4; ++i)
        status = status * 256 + static_cast<unsigned char>(content_type[i]);
    const char *reason = hd::reason_phrase(status % 1000);
    FUZZ_CHECK(reason != nullptr && clean_text(reason));
    return 0;
}
