// The option table (options.hpp): each row names its option's type and limits and how its value
// reaches ServerSettings; the defaults are ServerSettings' and vtj::HttpConfig's initialisers.
#include "pg/options.hpp"

#include "pg/boundary.hpp"
#include "pg/server_config.hpp"

#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace vtj::pg {

namespace {

constexpr Oid kServer = ForeignServerRelationId;
constexpr Oid kMapping = UserMappingRelationId;
constexpr Oid kTable = ForeignTableRelationId;

// ---- reading a value into a field, showing a field as a value -------------------------------
// The values come from the catalog, where the validator (option_validation.cpp) let only
// well-formed ones in. The settings being filled are live C++ objects, hence pg_guard.

const char *text_of(DefElem *def) { return pg_guard([&] { return defGetString(def); }); }
long number_of(DefElem *def) { return strtol(text_of(def), nullptr, 10); }

void read_into(std::string &field, DefElem *def) { field = text_of(def); }
void read_into(long &field, DefElem *def) { field = number_of(def); }
void read_into(int &field, DefElem *def) { field = static_cast<int>(number_of(def)); }
// PostgreSQL's reading of a boolean option (true, false, on, off), as before the table.
void read_into(bool &field, DefElem *def) { field = pg_guard([&] { return defGetBoolean(def); }); }

std::string text(const std::string &value) { return value; }
std::string text(long value) { return std::to_string(value); }
std::string text(int value) { return std::to_string(value); }
std::string text(bool value) { return value ? "true" : "false"; }

// The part of ServerSettings a member pointer's struct is: the settings themselves or their
// HTTP configuration (const for show).
template <typename Part, typename Settings> auto &part(Settings &s)
{
    if constexpr (std::is_same_v<Part, vtj::HttpConfig>)
        return s.http;
    else
        return s;
}

// An option that is one field of the settings, read and shown as it is.
template <auto Member> struct Plain;
template <typename Part, typename T, T Part::*Member> struct Plain<Member> {
    static void apply(ServerSettings &s, DefElem *def) { read_into(part<Part>(s).*Member, def); }
    static std::string show(const ServerSettings &s) { return text(part<Part>(s).*Member); }
};

// The field's initialiser (ServerSettings, vtj::HttpConfig) is the option's default.
template <auto Member> constexpr OptionField with_default() { return {Plain<Member>::apply, Plain<Member>::show}; }
// The field starts empty and an empty value means "not given": the option has no default.
template <auto Member> constexpr OptionField no_default() { return {Plain<Member>::apply, nullptr}; }

// ---- the options that are not one field as they are -----------------------------------------

// auth: the scheme's name; a mapping without a user name turns it to None (read_user_mapping).
void apply_auth(ServerSettings &s, DefElem *def)
{
    s.http.auth = strcmp(text_of(def), "mutp") == 0 ? vtj::AuthScheme::Mutp : vtj::AuthScheme::Basic;
}
std::string show_auth(const ServerSettings &s)
{
    switch (s.http.auth) {
    case vtj::AuthScheme::Basic:
        return "basic";
    case vtj::AuthScheme::Mutp:
        return "mutp";
    case vtj::AuthScheme::None:
        break;
    }
    return "";  // not a value of the option
}

// max_response_mb: the client counts bytes.
void apply_max_response_mb(ServerSettings &s, DefElem *def)
{
    s.http.max_response_bytes = static_cast<std::size_t>(number_of(def)) << 20;
}
std::string show_max_response_mb(const ServerSettings &s) { return std::to_string(s.http.max_response_bytes >> 20); }

// One row per option. README's option tables are tested against it (65_readme_options, through
// vtj_internal.options()). parallel_requests is the HTTP client's max_parallel: the scans read
// it there too.
const OptionSpec kOptions[] = {
    // Server: the change interface (VTJ-muutosrajapinta)
    {"url", kServer, OptionType::Url, 0, 0, nullptr, false, false, no_default<&ServerSettings::url>()},
    {"xroad_client", kServer, OptionType::Text, 0, 0, nullptr, false, false, no_default<&vtj::HttpConfig::xroad_client>()},
    {"auth", kServer, OptionType::Choice, 0, 0, "basic,mutp", false, false, {apply_auth, show_auth}},
    {"connect_timeout", kServer, OptionType::Integer, 1, 3600, nullptr, false, false,
     with_default<&vtj::HttpConfig::connect_timeout_s>()},
    {"request_timeout", kServer, OptionType::Integer, 1, 86400, nullptr, false, false,
     with_default<&vtj::HttpConfig::request_timeout_s>()},
    {"max_retries", kServer, OptionType::Integer, 0, 20, nullptr, false, false, with_default<&vtj::HttpConfig::max_retries>()},
    {"perustiedot_batch_size", kServer, OptionType::Integer, 1, 1000, nullptr, false, false,
     with_default<&ServerSettings::perustiedot_batch_size>()},
    {"muutokset_batch_size", kServer, OptionType::Integer, 1, 1000000, nullptr, false, false,
     with_default<&ServerSettings::muutokset_batch_size>()},
    {"parallel_requests", kServer, OptionType::Integer, 1, 32, nullptr, false, false,
     with_default<&vtj::HttpConfig::max_parallel>()},
    {"max_pages", kServer, OptionType::Integer, 1, 100000000, nullptr, false, false, with_default<&ServerSettings::max_pages>()},
    {"max_response_mb", kServer, OptionType::Integer, 1, 1024, nullptr, false, false,
     {apply_max_response_mb, show_max_response_mb}},
    {"ca_file", kServer, OptionType::File, 0, 0, nullptr, true, false, no_default<&vtj::HttpConfig::ca_file>()},
    {"client_cert", kServer, OptionType::File, 0, 0, nullptr, true, false, no_default<&vtj::HttpConfig::client_cert>()},
    {"client_key", kServer, OptionType::File, 0, 0, nullptr, true, false, no_default<&vtj::HttpConfig::client_key>()},
    {"verify_tls", kServer, OptionType::Boolean, 0, 0, nullptr, false, false, with_default<&vtj::HttpConfig::verify_tls>()},
    // Server: VTJkysely (SOAP)
    {"kysely_url", kServer, OptionType::Text, 0, 0, nullptr, false, false, no_default<&ServerSettings::kysely_url>()},
    {"kysely_palvelu", kServer, OptionType::Text, 0, 0, nullptr, false, false, with_default<&ServerSettings::kysely_palvelu>()},
    {"soso_nimi", kServer, OptionType::Text, 0, 0, nullptr, false, false, with_default<&ServerSettings::soso_nimi>()},
    {"kysely_max_hetut", kServer, OptionType::Integer, 1, 1000, nullptr, false, false,
     with_default<&ServerSettings::kysely_max_hetut>()},
    // User mapping
    {"username", kMapping, OptionType::Text, 0, 0, nullptr, false, false, no_default<&vtj::HttpConfig::username>()},
    {"password", kMapping, OptionType::Text, 0, 0, nullptr, false, true, no_default<&vtj::HttpConfig::password>()},
    // Foreign table: chooses the table's executor (fdw_plan), no setting
    {"endpoint", kTable, OptionType::Choice, 0, 0, "kirjausavain,muutokset,perustiedot,perustiedot_ryhmittain,henkilo", false,
     false, {nullptr, nullptr}},
    {nullptr, InvalidOid, OptionType::Text, 0, 0, nullptr, false, false, {nullptr, nullptr}},
};

}  // namespace

const OptionSpec *option_specs() { return kOptions; }

const OptionSpec *find_option(const char *name, Oid context)
{
    for (const OptionSpec *o = kOptions; o->name; ++o)
        if (o->context == context && strcmp(o->name, name) == 0)
            return o;
    return nullptr;
}

const char *object_kind(Oid context)
{
    switch (context) {
    case ForeignServerRelationId:
        return "server";
    case UserMappingRelationId:
        return "user mapping";
    case ForeignTableRelationId:
        return "foreign table";
    case ForeignDataWrapperRelationId:
        return "foreign-data wrapper";
    case AttributeRelationId:
        return "column";
    default:
        return "object";
    }
}

const char *default_text(const OptionSpec &spec)
{
    if (!spec.field.show)
        return nullptr;
    const std::string text = spec.field.show(default_settings());
    return pg_guard([&] { return pstrdup(text.c_str()); });
}

}  // namespace vtj::pg
