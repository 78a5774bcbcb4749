// Option tables of the wrapper's objects and their DDL-time validation (postgres_fdw style).
#pragma once

#include "pg/pg_headers.hpp"

namespace vtj::pg {

enum class OptionType { Text, Url, Integer, Boolean, Choice, File };

struct OptionSpec {
    const char *name;
    Oid context;              // ForeignServerRelationId, UserMappingRelationId, ForeignTableRelationId
    OptionType type;
    long min_value;           // Integer bounds
    long max_value;
    const char *choices;      // Choice: comma-separated allowed values
    const char *default_text; // documented default, NULL when none
    bool superuser_only;      // names server files or weakens security (see is_restricted_value)
    bool secret;              // never printed anywhere (EXPLAIN, errors, logs)
};

// What the answers held by one backend at once may take for a role that is not a superuser:
// the validator refuses a server whose parallel_requests × max_response_mb is more (for a
// non-superuser), and the HTTP clients of a non-superuser's scans refuse an answer that would
// bring the backend's total past it (HV001).
constexpr long kInFlightLimitMb = 1024;

// The table itself (NULL-terminated), for validation, documentation tests and option lookup.
const OptionSpec *option_specs();

// Validates a list of DefElem for catalog `context`; ereports with a hint on the first problem.
// Called from the validator, i.e. from a C zone (no live C++ objects).
void validate_options(List *options, Oid context);

}  // namespace vtj::pg
