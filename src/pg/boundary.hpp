// The C++/PostgreSQL error boundary (docs/cpp-boundary.md).
//
// Two directions, two tools:
//
//  * PostgreSQL -> our C++: every entry point PostgreSQL calls (FDW callbacks, SQL-callable
//    functions, _PG_init, memory-context callbacks) runs its body through run_guarded(). The
//    body may throw; run_guarded catches everything, keeps only plain data (SQLSTATE, message,
//    detail, hint, or a copied ErrorData), lets the C++ scope close, and only then calls
//    ereport. No C++ exception ever unwinds into PostgreSQL's C frames.
//
//  * our C++ -> PostgreSQL: a PostgreSQL function that may ereport(ERROR) while C++ objects
//    with destructors are alive on the stack is called through pg_guard(), which catches the
//    longjmp with PG_TRY, copies the ErrorData, and rethrows it as vtj::pg::PgError. run_guarded
//    later re-raises that ErrorData unchanged (same SQLSTATE, message, detail), so a guarded
//    error looks to the user exactly like an unguarded one.
//
// Code that calls PostgreSQL without pg_guard must have no live C++ objects with non-trivial
// destructors in any frame between it and run_guarded ("C zones"): keep long-lived C++ state on
// the heap, owned by a memory-context reset callback (see scan_state in later files).
#pragma once

#include "pg/pg_headers.hpp"

#include <exception>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "core/error.hpp"

namespace vtj::pg {

// A PostgreSQL error caught by pg_guard, carried through C++ frames as an exception.
class PgError : public std::exception {
public:
    explicit PgError(ErrorData *data) noexcept : data_(data) {}
    const char *what() const noexcept override { return data_ && data_->message ? data_->message : "PostgreSQL error"; }
    ErrorData *data() const noexcept { return data_; }

private:
    ErrorData *data_;  // palloc'd in the context that was current when pg_guard was called
};

// What run_guarded keeps of a caught exception: fixed buffers, so recording it cannot throw.
struct PendingError {
    bool set = false;
    ErrorData *pg_data = nullptr;  // re-raised as is when set
    int sqlstate = 0;
    char message[1024] = {0};
    char detail[2048] = {0};
    char hint[1024] = {0};
};

// Maps a core error kind to the SQLSTATE the extension reports.
int sqlstate_for(const vtj::Error &e) noexcept;

// Records the exception currently being handled (call only inside a catch block).
void record_current_exception(PendingError &pending) noexcept;

// Raises the recorded error with ereport(ERROR). Never returns.
[[noreturn]] void raise_pending(const PendingError &pending);

// Runs body() and converts any C++ exception into a PostgreSQL error raised after body's
// frames (and the exception object) are gone.
template <typename Body>
auto run_guarded(Body &&body) -> decltype(body())
{
    using Result = decltype(body());
    PendingError pending;
    if constexpr (std::is_void_v<Result>) {
        try {
            body();
            return;
        } catch (...) {
            record_current_exception(pending);
        }
        raise_pending(pending);
    } else {
        try {
            return body();
        } catch (...) {
            record_current_exception(pending);
        }
        raise_pending(pending);
    }
}

// Calls fn(), a function that may ereport(ERROR), from code with live C++ objects. A
// PostgreSQL error becomes a PgError exception; the memory context is restored.
template <typename Fn>
auto pg_guard(Fn &&fn) -> decltype(fn())
{
    using Result = decltype(fn());
    static_assert(std::is_void_v<Result> || std::is_trivially_copyable_v<Result>,
                  "pg_guard returns only plain values (Datum, pointers, numbers)");
    if constexpr (std::is_void_v<Result>) {
        // one PG_TRY for both kinds: a void fn is run as one that returns a dummy value
        pg_guard([&fn] {
            fn();
            return true;
        });
    } else {
        MemoryContext saved_context = CurrentMemoryContext;
        ErrorData *volatile caught = nullptr;
        Result volatile result{};
        PG_TRY();
        {
            result = fn();
        }
        PG_CATCH();
        {
            MemoryContextSwitchTo(saved_context);
            caught = CopyErrorData();
            FlushErrorState();
        }
        PG_END_TRY();
        if (caught)
            throw PgError(caught);
        return result;
    }
}

}  // namespace vtj::pg

// Declares an SQL-callable function whose body is C++ run under the boundary:
//   VTJ_PG_FUNCTION(vtj_hetu_kelpaa) { ... return BoolGetDatum(...); }
#define VTJ_PG_FUNCTION(name)                                                                  \
    static Datum name##_impl(FunctionCallInfo fcinfo);                                         \
    extern "C" {                                                                               \
    PG_FUNCTION_INFO_V1(name);                                                                 \
    Datum name(PG_FUNCTION_ARGS) { return vtj::pg::run_guarded([&] { return name##_impl(fcinfo); }); } \
    }                                                                                          \
    static Datum name##_impl(FunctionCallInfo fcinfo)
