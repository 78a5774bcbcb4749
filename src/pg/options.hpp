// The option table of the wrapper's objects: one row per option, the one home of its name,
// type, limits, how it reaches ServerSettings and (through that) its default. Read by the
// DDL-time validator (postgres_fdw style), by read_server_settings / read_user_mapping, and by
// vtj_internal.options() (README's option tables are tested against it).
#pragma once

#include "pg/pg_headers.hpp"

#include <string>

namespace vtj::pg {

struct ServerSettings;  // pg/server_config.hpp

enum class OptionType { Text, Url, Integer, Boolean, Choice, File };

// Where an option's value goes. `apply` stores a value the validator accepted in the settings;
// `show` writes the settings' value back as the option's text, and is asked only of the
// default settings (default_text): nullptr for an option without a default (url, ca_file,
// username, …). Both nullptr for an option that configures no setting (a table's endpoint).
struct OptionField {
    void (*apply)(ServerSettings &settings, DefElem *def);
    std::string (*show)(const ServerSettings &settings);
};

struct OptionSpec {
    const char *name;
    Oid context;              // ForeignServerRelationId, UserMappingRelationId, ForeignTableRelationId
    OptionType type;
    long min_value;           // Integer bounds
    long max_value;
    const char *choices;      // Choice: comma-separated allowed values
    bool superuser_only;      // names a file of the database server (check_value)
    bool secret;              // never printed anywhere (EXPLAIN, errors, logs)
    OptionField field;
};

// What the answers held by one backend at once may take for a role that is not a superuser:
// the validator refuses a server whose parallel_requests × max_response_mb is more (for a
// non-superuser), and the HTTP clients of a non-superuser's scans refuse an answer that would
// bring the backend's total past it (HV001).
constexpr long kInFlightLimitMb = 1024;

// The table itself (NULL-terminated), for validation, documentation tests and option lookup.
const OptionSpec *option_specs();

// The row of option `name` of catalog `context`; nullptr when there is none.
const OptionSpec *find_option(const char *name, Oid context);

// "server", "user mapping", "foreign table", … for messages and vtj_internal.options().
const char *object_kind(Oid context);

// The option's default as text (palloc'd), shown from the default settings; NULL when the
// option has none. Leaves no C++ object behind: callable from a C zone.
const char *default_text(const OptionSpec &spec);

// Validates a list of DefElem for catalog `context`; ereports with a hint on the first problem.
// Called from the validator, i.e. from a C zone (no live C++ objects).
void validate_options(List *options, Oid context);

}  // namespace vtj::pg
