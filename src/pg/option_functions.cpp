// vtj_internal.options(): the option table (options.cpp) as rows, defaults shown from the default
// settings, for the test of README's option tables (65_readme_options) and for a DBA's look.
#include "pg/boundary.hpp"
#include "pg/options.hpp"

#include "catalog/pg_collation.h"  // C_COLLATION_OID

namespace {

const char *type_name(vtj::pg::OptionType type)
{
    switch (type) {
    case vtj::pg::OptionType::Text:
        return "text";
    case vtj::pg::OptionType::Url:
        return "url";
    case vtj::pg::OptionType::Integer:
        return "integer";
    case vtj::pg::OptionType::Boolean:
        return "boolean";
    case vtj::pg::OptionType::Choice:
        return "choice";
    case vtj::pg::OptionType::File:
        return "file";
    }
    return "?";
}

// "a,b,c" as text[] {a,b,c}: PostgreSQL's string_to_array (a choice list is never empty).
Datum choices_array(const char *choices)
{
    return DirectFunctionCall2Coll(text_to_array, C_COLLATION_OID, CStringGetTextDatum(choices), CStringGetTextDatum(","));
}

// C zone: one row per option (default_text leaves no C++ object behind).
void fill_options(FunctionCallInfo fcinfo)
{
    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo *rsinfo = (ReturnSetInfo *)fcinfo->resultinfo;
    for (const vtj::pg::OptionSpec *o = vtj::pg::option_specs(); o->name; ++o) {
        Datum values[8];
        bool nulls[8] = {false, false, false, false, false, false, false, false};
        values[0] = CStringGetTextDatum(o->name);
        values[1] = CStringGetTextDatum(vtj::pg::object_kind(o->context));
        values[2] = CStringGetTextDatum(type_name(o->type));
        const bool integer = o->type == vtj::pg::OptionType::Integer;
        values[3] = Int64GetDatum(o->min_value);
        nulls[3] = !integer;
        values[4] = Int64GetDatum(o->max_value);
        nulls[4] = !integer;
        const char *default_value = o->secret ? nullptr : vtj::pg::default_text(*o);  // (a secret has none anyway)
        if (default_value)
            values[5] = CStringGetTextDatum(default_value);
        else
            nulls[5] = true;
        if (o->choices)
            values[6] = choices_array(o->choices);
        else
            nulls[6] = true;
        values[7] = BoolGetDatum(o->superuser_only);
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
}

}  // namespace

VTJ_PG_FUNCTION(vtj_options)
{
    fill_options(fcinfo);
    return (Datum)0;
}
