// Errors raised by the PostgreSQL-free core.
//
// The core never calls ereport: it throws vtj::Error, and the PostgreSQL layer's boundary
// (src/pg/boundary.hpp) catches it after every C++ scope has closed and turns the kind into a
// SQLSTATE. Messages are written for a DBA and must never contain a hetu, a credential or
// personal data: callers pass counts and positions, not values.
#pragma once

#include <stdexcept>
#include <string>

namespace vtj {

enum class ErrorKind {
    InvalidValue,        // a bad value supplied by the user (22023)
    InvalidHetu,         // hetus that fail validation (22P02-like; reported by count/position)
    UnableToConnect,     // DNS, connect, TLS handshake (HV00N)
    Timeout,             // a transfer exceeded its timeout (HV00N with a timing breakdown)
    Cancelled,           // the PostgreSQL layer asked us to stop (query cancel, terminate)
    HttpStatus,          // the interface answered with an error status (HV000 family)
    Unauthorized,        // 401/403: the interface refused our credentials
    BadResponse,         // JSON/XML we cannot read, truncated bodies (HV00L-like)
    ResponseTooLarge,    // over the bounded response size
    MemoryLimit,         // the answers a process holds at once would pass their limit (HV001)
    RunawayPaging,       // the interface never says it is up to date / bookmark stuck
    TooManyRows,         // a bulk refusal (VTJkysely is not for bulk use)
    Prohibited,          // a security rule refused the request (2F003, as postgres_fdw)
    MissingCondition,    // a scan lacks a required WHERE condition (HV00P-like; hint names it)
    Internal             // a bug in vtj_fdw
};

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, std::string message, std::string detail = {}, std::string hint = {})
        : std::runtime_error(message), kind_(kind), detail_(std::move(detail)), hint_(std::move(hint))
    {
    }

    ErrorKind kind() const noexcept { return kind_; }
    const std::string &detail() const noexcept { return detail_; }
    const std::string &hint() const noexcept { return hint_; }
    // HTTP status that caused the error, 0 when not an HTTP status error.
    long http_status() const noexcept { return http_status_; }
    Error &with_status(long status) noexcept
    {
        http_status_ = status;
        return *this;
    }

    // Retry-After of the answer that caused the error, in milliseconds; -1 when absent.
    long retry_after_ms() const noexcept { return retry_after_ms_; }
    Error &with_retry_after_ms(long ms) noexcept
    {
        retry_after_ms_ = ms;
        return *this;
    }
    // The connection broke while a 2xx answer was being received: no answer was had.
    bool cut_short() const noexcept { return cut_short_; }
    Error &mark_cut_short() noexcept
    {
        cut_short_ = true;
        return *this;
    }

private:
    ErrorKind kind_;
    std::string detail_;
    std::string hint_;
    long http_status_ = 0;
    long retry_after_ms_ = -1;
    bool cut_short_ = false;
};

}  // namespace vtj
