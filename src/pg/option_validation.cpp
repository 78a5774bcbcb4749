// The DDL-time validation of the options (postgres_fdw style): every value checked against its
// row of the option table (options.cpp), with the SQLSTATE and hint a DBA needs.
#include "pg/options.hpp"

#include <cstdlib>
#include <cstring>

namespace vtj::pg {

namespace {

constexpr Oid kServer = ForeignServerRelationId;

bool choice_allowed(const char *choices, const char *value)
{
    const std::size_t len = strlen(value);
    for (const char *p = choices; *p;) {
        const char *comma = strchr(p, ',');
        const std::size_t n = comma ? static_cast<std::size_t>(comma - p) : strlen(p);
        if (n == len && strncmp(p, value, n) == 0)
            return true;
        if (!comma)
            break;
        p = comma + 1;
    }
    return false;
}

// "a,b,c" -> "a, b, c" for hints.
char *choices_text(const char *choices)
{
    StringInfoData buf;
    initStringInfo(&buf);
    for (const char *p = choices; *p; ++p) {
        appendStringInfoChar(&buf, *p);
        if (*p == ',')
            appendStringInfoChar(&buf, ' ');
    }
    return buf.data;
}

bool ends_with(const char *s, const char *suffix)
{
    const std::size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

void check_http_url(const OptionSpec *spec, const char *value)
{
    if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
        ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
                        errmsg("invalid value for option \"%s\": only http and https URLs are allowed", spec->name),
                        errhint("Use the X-Road security server path, e.g. "
                                "'https://ss.example.fi/r1/FI/GOV/0245437-2/VTJmutpa/VTJmutpa/api/v1', "
                                "or the sandbox base ending in /api/v1.")));
    if (strpbrk(value, " \t\r\n") != nullptr)
        ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
                        errmsg("invalid value for option \"%s\": the URL contains white space", spec->name)));
}

// What a URL may hold. Anyone: no user name or password (server options are readable by every
// role; credentials belong in the user mapping). A role that is not a superuser: https only (the
// user mappings' credentials and the hetus asked for would otherwise travel in clear), and no
// query string or fragment. check_http_url has checked the scheme.
void check_url_parts(const OptionSpec *spec, const char *value)
{
    const char *authority = strstr(value, "://") + 3;
    const std::size_t authority_len = strcspn(authority, "/?#");
    if (memchr(authority, '@', authority_len) != nullptr)
        ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
                        errmsg("invalid value for option \"%s\": the URL must not contain a user name or password", spec->name),
                        errdetail("The options of a server are readable by every role of the database."),
                        errhint("Give the credentials in the user mapping: OPTIONS (username '…', password '…').")));
    if (superuser())
        return;
    if (strncmp(value, "https://", 8) != 0)
        ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
                        errmsg("invalid value for option \"%s\": only a superuser may give an http:// URL", spec->name),
                        errdetail("Over http the credentials of the server's user mappings and the hetus asked for "
                                  "would travel unencrypted."),
                        errhint("Use the https:// address of the X-Road security server.")));
    if (strpbrk(value, "?#") != nullptr)
        ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
                        errmsg("invalid value for option \"%s\": only a superuser may give a URL with a query string or a fragment",
                               spec->name),
                        errhint("Give the address without its \"?…\" or \"#…\" part.")));
}

// For a role that is not a superuser: the answers one scan may hold at once
// (parallel_requests × max_response_mb, both server options, defaults included) must fit
// kInFlightLimitMb. The validator is given every option the server will have.
void check_in_flight(List *options)
{
    if (superuser())
        return;
    const long parallel_default = strtol(default_text(*find_option("parallel_requests", kServer)), nullptr, 10);
    const long mb_default = strtol(default_text(*find_option("max_response_mb", kServer)), nullptr, 10);
    long parallel = parallel_default, mb = mb_default;
    ListCell *cell;
    foreach (cell, options) {
        DefElem *def = static_cast<DefElem *>(lfirst(cell));
        if (strcmp(def->defname, "parallel_requests") == 0)
            parallel = strtol(defGetString(def), nullptr, 10);
        else if (strcmp(def->defname, "max_response_mb") == 0)
            mb = strtol(defGetString(def), nullptr, 10);
    }
    if (parallel * mb > kInFlightLimitMb)
        ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
                        errmsg("parallel_requests (%ld) times max_response_mb (%ld) is %ld MB, more than the %ld MB "
                               "a role that is not a superuser may let a server hold in memory",
                               parallel, mb, parallel * mb, kInFlightLimitMb),
                        errdetail("A scan holds up to parallel_requests answers of up to max_response_mb each, "
                                  "outside PostgreSQL's memory accounting."),
                        errhint("Lower parallel_requests or max_response_mb (the defaults, %ld and %ld, are at the limit), "
                                "or ask a superuser to set them.",
                                parallel_default, mb_default)));
}

void check_value(const OptionSpec *spec, DefElem *def)
{
    const char *value = defGetString(def);
    switch (spec->type) {
    case OptionType::Url:
        check_http_url(spec, value);
        check_url_parts(spec, value);
        if (!ends_with(value, "/api/v1") && !ends_with(value, "/api/v1/"))
            ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
                            errmsg("invalid value for option \"url\": the base URL must end in /api/v1"),
                            errhint("For example 'https://ss.example.fi/r1/FI/GOV/0245437-2/VTJmutpa/VTJmutpa/api/v1'; "
                                    "vtj_fdw appends kirjausavain, muutokset and perustiedot itself.")));
        break;
    case OptionType::Integer: {
        char *end = nullptr;
        errno = 0;
        const long n = strtol(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || n < spec->min_value || n > spec->max_value) {
            const char *default_value = default_text(*spec);
            ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
                            errmsg("invalid value for option \"%s\": \"%s\"", spec->name, value),
                            errhint("Use a whole number from %ld to %ld (default %s).", spec->min_value,
                                    spec->max_value, default_value ? default_value : "none")));
        }
        break;
    }
    case OptionType::Boolean: {
        bool b;
        if (!parse_bool(value, &b))
            ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
                            errmsg("invalid value for option \"%s\": \"%s\"", spec->name, value),
                            errhint("Use true or false.")));
        if (strcmp(spec->name, "verify_tls") == 0 && !b && !superuser())
            ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                            errmsg("only a superuser may set \"verify_tls\" to false"),
                            errhint("Turning off certificate verification exposes personal data to a "
                                    "man in the middle; ask a superuser to do it if it is really needed.")));
        break;
    }
    case OptionType::Choice:
        if (!choice_allowed(spec->choices, value))
            ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
                            errmsg("invalid value for option \"%s\": \"%s\"", spec->name, value),
                            errhint("Valid values are: %s.", choices_text(spec->choices))));
        break;
    case OptionType::File:
        if (value[0] != '/')
            ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
                            errmsg("invalid value for option \"%s\": the file name must be an absolute path", spec->name)));
        break;
    case OptionType::Text:
        if (strcmp(spec->name, "kysely_url") == 0) {
            check_http_url(spec, value);
            check_url_parts(spec, value);
        }
        if (value[0] == '\0' && strcmp(spec->name, "password") != 0)
            ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
                            errmsg("invalid value for option \"%s\": the value is empty", spec->name)));
        break;
    }
    if (spec->superuser_only && !superuser())
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("only a superuser may set option \"%s\"", spec->name),
                        errhint("The option names a file on the database server; a superuser must set it.")));
}

// "url, xroad_client, auth, ..." for the hint of an unknown option.
char *valid_names(Oid context)
{
    StringInfoData buf;
    initStringInfo(&buf);
    for (const OptionSpec *o = option_specs(); o->name; ++o)
        if (o->context == context)
            appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", o->name);
    return buf.data;
}

}  // namespace

void validate_options(List *options, Oid context)
{
    bool has_url = false, has_kysely = false, has_password = false, has_endpoint = false;
    ListCell *cell;
    foreach (cell, options) {
        DefElem *def = static_cast<DefElem *>(lfirst(cell));
        const OptionSpec *spec = find_option(def->defname, context);
        if (!spec) {
            char *names = valid_names(context);
            ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
                            errmsg("invalid option \"%s\" for a vtj_fdw %s", def->defname, object_kind(context)),
                            names[0] ? errhint("Valid options for a vtj_fdw %s are: %s.", object_kind(context), names)
                                     : errhint("A vtj_fdw %s takes no options.", object_kind(context))));
        }
        check_value(spec, def);
        has_url |= strcmp(spec->name, "url") == 0;
        has_kysely |= strcmp(spec->name, "kysely_url") == 0;
        has_password |= strcmp(spec->name, "password") == 0 && defGetString(def)[0] != '\0';
        has_endpoint |= strcmp(spec->name, "endpoint") == 0;
    }
    if (context == ForeignServerRelationId)
        check_in_flight(options);
    if (context == ForeignServerRelationId && !has_url && !has_kysely)
        ereport(ERROR, (errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
                        errmsg("a vtj_fdw server needs option \"url\" (the change interface) or \"kysely_url\" (VTJkysely)"),
                        errhint("For example OPTIONS (url 'https://ss.example.fi/r1/FI/GOV/0245437-2/VTJmutpa/VTJmutpa/api/v1').")));
    if (context == UserMappingRelationId && !has_password && !superuser())
        ereport(ERROR, (errcode(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED),
                        errmsg("password is required"),
                        errdetail("Non-superusers must give a password in the user mapping."),
                        errhint("Add OPTIONS (username '…', password '…') with the credentials DVV issued.")));
    if (context == ForeignTableRelationId && !has_endpoint)
        ereport(ERROR, (errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
                        errmsg("a vtj_fdw foreign table needs option \"endpoint\""),
                        errhint("Create the tables with IMPORT FOREIGN SCHEMA muutosrajapinta (or vtjkysely) FROM SERVER … INTO …;"
                                " valid endpoints are kirjausavain, muutokset, perustiedot, perustiedot_ryhmittain and henkilo.")));
}

}  // namespace vtj::pg
