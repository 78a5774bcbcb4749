// Internal to the HTTP client (core/http.cpp): turning a remote's error answer into text a DBA
// can read in an error's DETAIL, without hetus, credentials, control characters or invalid
// UTF-8 (PostgreSQL would pass those on to the client verbatim).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vtj::http_detail {

// "Service Unavailable" for 503; "" for a status without a standard reason phrase.
const char *reason_phrase(long status) noexcept;

// The remote's error body made readable: an X-Road fault JSON {"type","message","detail"} as
// "X-Road fault <type>: <message> (<detail>)", other JSON compacted, an HTML page's <title> (or
// its first 200 characters of text), a SOAP fault's faultcode/faultstring, plain text with its
// whitespace collapsed. Hetus are redacted and the result is cut to about 1000 bytes.
std::string readable_error_body(std::string_view body, std::string_view content_type);

// Replaces each occurrence of every secret (3 characters or longer) with "[credential]".
std::string scrub_secrets(std::string text, const std::vector<std::string> &secrets);

// Replaces control characters with spaces and invalid UTF-8 with '?', then cuts the text to at
// most `max_bytes` bytes on a character boundary, marking a cut with "...".
std::string sanitize_text(std::string_view text, std::size_t max_bytes);

// Standard base64 (for scrubbing an echoed "Authorization: Basic ..." header).
std::string base64(std::string_view data);

}  // namespace vtj::http_detail
