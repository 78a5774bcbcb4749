// VTJkysely (SOAP 1.1 over X-Road, docs/interface.md#variant-1-over-x-road): one-person look-ups with
// HenkilonTunnusKysely and a PERUSSANOMA 3 answer. PostgreSQL-free.
//
//  * build_envelope(): the request: X-Road 4.0 headers (client, service, id, userId,
//    protocolVersion) and the body's SoSoNimi, Kayttajatunnus, Salasana, Loppukayttaja,
//    Henkilotunnus, every value XML-escaped.
//  * fetch_answers(): one POST per hetu (VTJkysely asks one person at a time), concurrently up to
//    the client's max_parallel, answers returned in the hetus' order.
//  * parse_answer(): the answer read with libxml2 (kysely_xml.cpp). A document with a DOCTYPE is
//    refused before its internal subset is read (SOAP 1.1 forbids DTDs; this is also what stops
//    entity-expansion attacks), no network access, no entity substitution, no XInclude,
//    libxml2's default size limits; answers that are not UTF-8 (or honestly labelled
//    ISO-8859-1), and attribute values over 64 KiB, are refused. Turvakielto fails closed: only a
//    plain "0" in a single TurvakieltoTieto lifts it. Under turvakielto the location columns are
//    empty and `vastaus` is rebuilt from an allowlist of elements (kysely_xml.cpp).
//
// Inside PostgreSQL the caller brackets parse_answer() with pg_xml_init()/pg_xml_done(); the
// parser installs only per-document callbacks that record and never throw, and never calls
// xmlCleanupParser(). Errors are vtj::Error; their texts carry no hetu, no credential and no
// personal data: a parse error names libxml2's error number and position, never its message
// (which can quote names, entities and bytes of the answer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/http.hpp"

namespace vtj::kysely {

constexpr const char *kDefaultPalvelu = "FI/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1";
constexpr const char *kDefaultSoSoNimi = "Perussanoma 3";
constexpr const char *kRequestNamespace = "http://xml.vrk.fi/ws/vtj/vtjkysely/1";
constexpr std::size_t kMaxAnswerBytes = 8u << 20;  // one person's answer is ~10 KB

// X-Road identifiers, from "FI/MUN/0123456-7/subsystem" and
// "FI/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1" (the version may be left out).
struct XroadClient {
    std::string instance, member_class, member_code, subsystem;
};
struct XroadService {
    std::string instance, member_class, member_code, subsystem, service_code, service_version;
};
// Throw vtj::Error(InvalidValue) naming the option when the text has the wrong shape.
XroadClient parse_xroad_client(std::string_view text);
XroadService parse_xroad_service(std::string_view text);

struct RequestSettings {
    std::string url;                          // kysely_url
    std::string palvelu = kDefaultPalvelu;    // kysely_palvelu
    std::string xroad_client;                 // empty: no X-Road header (a direct endpoint)
    std::string soso_nimi = kDefaultSoSoNimi;
    std::string username;                     // Kayttajatunnus
    std::string password;                     // Salasana: never logged, never in an error
    std::string loppukayttaja;                // Loppukayttaja and the X-Road userId
};

// Checks every setting once (X-Road ids, characters XML can carry); throws InvalidValue.
void validate(const RequestSettings &settings);

// Text escaped for XML element content and attribute values (& < > " '). Throws
// vtj::Error(InvalidValue) naming `field` (never the value) for characters XML 1.0 cannot carry
// (control characters other than tab, LF, CR) or invalid UTF-8.
std::string xml_escape(std::string_view text, const char *field);

// A fresh random UUID (version 4), the X-Road message id.
std::string new_request_id();

// The SOAP envelope of one look-up.
std::string build_envelope(const RequestSettings &settings, std::string_view hetu, std::string_view request_id);

// The HTTP request of one look-up: POST to settings.url, text/xml, SOAPAction.
HttpRequest build_request(const RequestSettings &settings, std::string_view hetu, std::uint64_t tag);

// The HTTP configuration of the VTJkysely client, from the server's: the credentials travel in
// the SOAP body, so no HTTP authentication and no X-Road-Client header; the response size is
// bounded by the smaller of max_response_mb and kMaxAnswerBytes; no retries inside the client
// (fetch_answers() retries itself, see RetryPolicy).
HttpConfig http_config(const HttpConfig &server);

// Retries of look-ups. SOAP answers with HTTP 500 for a fault, and a fault is VTJkysely's final
// word (a refused password above all: repeating it could lock the account), so the HTTP
// client's retry of 500 cannot be used. fetch_answers() retries only what did not produce an
// answer: connection failures, timeouts, a connection reset in the middle of an answer,
// 429/502/503/504, and a 500 whose body is not a SOAP fault; up to max_retries rounds with the
// one retry policy of both clients (core/retry.hpp: capped exponential, jitter 0.8-1.2, at least
// Retry-After, at most the cap), waiting in slices so that an interrupt is noticed.
struct RetryPolicy {
    int max_retries = 0;
    long backoff_base_ms = 500;
    long backoff_cap_ms = 30000;
    InterruptCheck interrupted = nullptr;  // true: stop waiting, throw ErrorKind::Cancelled
};
RetryPolicy retry_policy(const HttpConfig &server, InterruptCheck interrupted);

// The wait before retry round `round` (0-based); retry_after_ms -1 when the answer had none.
long backoff_ms(const RetryPolicy &retry, int round, long retry_after_ms);

// Sends one look-up per hetu through `client` (a client made with http_config(), up to its
// max_parallel at once) and returns the raw answers in the order of `hetus`. Transport errors
// are the client's (hetus redacted); a SOAP fault answered with an HTTP error status becomes the
// same error parse_answer() raises for one; the credentials are scrubbed from every message.
// `retries` (when given) receives the number of requests sent again.
std::vector<std::string> fetch_answers(HttpClient &client, const RequestSettings &settings,
                                       const std::vector<std::string> &hetus, const RetryPolicy &retry = {},
                                       std::uint64_t *retries = nullptr);

// YYYYMMDD as days since 1970-01-01. False for "" and for anything that is not a complete,
// real calendar date (VTJ writes unknown parts as 00).
bool parse_yyyymmdd(std::string_view text, std::int32_t &days) noexcept;

enum class Outcome {
    Found,       // Paluukoodi 0000: a row
    NotFound,    // 0001: no row, no error
    Passivated,  // 0002: a row with hetu_voimassa false
};

// One look-up's answer, as the columns of vtjkysely.henkilo. An absent optional is NULL.
struct Answer {
    Outcome outcome = Outcome::NotFound;
    std::string paluukoodi;        // the koodi attribute, e.g. "0000"
    std::string paluukoodi_text;   // its text, e.g. "Haku onnistui"
    bool hetu_voimassa = true;
    std::optional<std::string> sukunimi, etunimet, aidinkieli;
    std::optional<bool> kuollut;
    std::optional<std::int32_t> kuolinpv;               // days since 1970-01-01
    std::optional<bool> turvakielto;                    // always set: true unless the answer says '0'
    std::optional<std::int32_t> turvakielto_loppupv;
    std::optional<std::string> kotikunta, kotikunta_nimi, lahiosoite, postinumero, postitoimipaikka, postiosoite;
    bool censored = false;         // location removed (turvakielto, or its state not a plain '0')
    std::string vastaus;           // the VTJHenkiloVastaussanoma element serialised (UTF-8), "" without one
};

// Reads one answer. `secrets` (the credentials) are scrubbed from error texts. Throws:
//   BadResponse  not well-formed, a DOCTYPE, not a SOAP envelope, no answer message, no Paluukoodi
//   HttpStatus   a SOAP fault, a fault in the answer's faultCode/faultString, a Paluukoodi
//                other than 0000/0001/0002 (with its code and text, hetus redacted)
Answer parse_answer(std::string_view body, const std::vector<std::string> &secrets = {});

}  // namespace vtj::kysely
