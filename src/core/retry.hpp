// The one retry policy of both clients (the change interface's REST client in core/http.cpp,
// VTJkysely's look-ups in core/kysely.cpp): capped exponential backoff, jittered 0.8-1.2 so
// that the retries of parallel requests and scans spread apart, never sooner than the answer's
// Retry-After asks and never longer than the cap. What is worth a retry is each client's own
// rule (SOAP answers a final fault with HTTP 500). PostgreSQL-free.
#pragma once

namespace vtj {

// The wait in milliseconds before retry `retry` (0-based: the first retry waits about
// base_ms, each later one twice the one before), given the answer's Retry-After in
// milliseconds (-1 when it had none). A negative base or cap counts as 0.
long backoff_ms(long base_ms, long cap_ms, int retry, long retry_after_ms);

}  // namespace vtj
