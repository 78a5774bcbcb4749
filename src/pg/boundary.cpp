#include "pg/boundary.hpp"

#include <cstdio>
#include <cstring>

namespace vtj::pg {

namespace {

void copy_text(char *dst, std::size_t size, const char *src) noexcept
{
    if (!src)
        src = "";
    std::snprintf(dst, size, "%s", src);
}

}  // namespace

int sqlstate_for(const vtj::Error &e) noexcept
{
    switch (e.kind()) {
    case ErrorKind::InvalidValue:
        return ERRCODE_INVALID_PARAMETER_VALUE;                // 22023
    case ErrorKind::InvalidHetu:
        return ERRCODE_INVALID_TEXT_REPRESENTATION;            // 22P02
    case ErrorKind::UnableToConnect:
    case ErrorKind::Timeout:
        return ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;     // HV00N
    case ErrorKind::Cancelled:
        return ERRCODE_QUERY_CANCELED;                         // 57014 (normally CHECK_FOR_INTERRUPTS raises first)
    case ErrorKind::HttpStatus:
        return ERRCODE_FDW_ERROR;                              // HV000
    case ErrorKind::Unauthorized:
        return ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;     // HV00N: the remote refused our credentials
    case ErrorKind::BadResponse:
        return ERRCODE_FDW_UNABLE_TO_CREATE_REPLY;             // HV00M: the reply cannot be read into rows
    case ErrorKind::ResponseTooLarge:
    case ErrorKind::MemoryLimit:
        return ERRCODE_FDW_OUT_OF_MEMORY;                      // HV001
    case ErrorKind::RunawayPaging:
        return ERRCODE_FDW_ERROR;                              // HV000
    case ErrorKind::TooManyRows:
        return ERRCODE_PROGRAM_LIMIT_EXCEEDED;                 // 54000: a refused bulk request
    case ErrorKind::Prohibited:
        return ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED;  // 2F003
    case ErrorKind::MissingCondition:
        return ERRCODE_FDW_DYNAMIC_PARAMETER_VALUE_NEEDED;       // HV002: add the condition the hint names
    case ErrorKind::Internal:
        return ERRCODE_INTERNAL_ERROR;
    }
    return ERRCODE_INTERNAL_ERROR;
}

void record_current_exception(PendingError &pending) noexcept
{
    pending.set = true;
    try {
        throw;
    } catch (const PgError &e) {
        pending.pg_data = e.data();
    } catch (const vtj::Error &e) {
        pending.sqlstate = sqlstate_for(e);
        copy_text(pending.message, sizeof pending.message, e.what());
        copy_text(pending.detail, sizeof pending.detail, e.detail().c_str());
        copy_text(pending.hint, sizeof pending.hint, e.hint().c_str());
    } catch (const std::bad_alloc &) {
        pending.sqlstate = ERRCODE_OUT_OF_MEMORY;
        copy_text(pending.message, sizeof pending.message, "out of memory in vtj_fdw");
    } catch (const std::exception &e) {
        pending.sqlstate = ERRCODE_INTERNAL_ERROR;
        std::snprintf(pending.message, sizeof pending.message, "vtj_fdw internal error: %s", e.what());
    } catch (...) {
        pending.sqlstate = ERRCODE_INTERNAL_ERROR;
        copy_text(pending.message, sizeof pending.message, "vtj_fdw internal error: unknown exception");
    }
}

void raise_pending(const PendingError &pending)
{
    if (pending.pg_data)
        ReThrowError(pending.pg_data);
    // The core stopped because PostgreSQL asked it to (cancel, statement_timeout, terminate):
    // let PostgreSQL raise its own error with the right SQLSTATE and message.
    if (pending.sqlstate == ERRCODE_QUERY_CANCELED)
        CHECK_FOR_INTERRUPTS();
    ereport(ERROR, (errcode(pending.sqlstate), errmsg("%s", pending.message),
                    pending.detail[0] ? errdetail("%s", pending.detail) : 0,
                    pending.hint[0] ? errhint("%s", pending.hint) : 0));
    pg_unreachable();
}

}  // namespace vtj::pg
