#include "pg/tables.hpp"

#include <cstring>

namespace vtj::pg {

namespace {

constexpr unsigned bit(TableKind t) { return 1u << static_cast<unsigned>(t); }

constexpr unsigned kKirjausavain = bit(TableKind::Kirjausavain), kMuutokset = bit(TableKind::Muutokset),
                   kPerustiedot = bit(TableKind::Perustiedot), kRyhmittain = bit(TableKind::PerustiedotRyhmittain),
                   kHenkilo = bit(TableKind::Henkilo);
constexpr unsigned kMuutosrajapinta = kKirjausavain | kMuutokset | kPerustiedot | kRyhmittain;

// The tables of each kind, indexed by TableKind: their endpoint option value and remote schema.
const struct {
    const char *name;
    const char *remote_schema;
} kTableKindDefs[kTableKinds] = {
    {"kirjausavain", "muutosrajapinta"},
    {"muutokset", "muutosrajapinta"},
    {"perustiedot", "muutosrajapinta"},
    {"henkilo", "vtjkysely"},
    {"perustiedot_ryhmittain", "muutosrajapinta"},
};

// In IMPORT FOREIGN SCHEMA's column order: each table's columns are a subsequence of this list.
// henkilolla_salattua and henkilon_turvakielto stand at the end of muutokset: a table made before
// them keeps its column order (and works without them).
const ColumnDef kColumns[] = {
    {"paiva", ColumnKind::Paiva, "date", DATEOID, InvalidOid, InvalidOid, kKirjausavain},
    {"hetu", ColumnKind::Hetu, "text", TEXTOID, InvalidOid, InvalidOid, kMuutokset | kPerustiedot | kRyhmittain | kHenkilo},
    {"muutospv", ColumnKind::Muutospv, "timestamptz", TIMESTAMPTZOID, InvalidOid, InvalidOid, kMuutokset},
    {"kirjausavain", ColumnKind::Kirjausavain, "bigint", INT8OID, InvalidOid, InvalidOid, kKirjausavain | kMuutokset},
    {"jarjestys", ColumnKind::Jarjestys, "bigint", INT8OID, InvalidOid, InvalidOid, kMuutokset | kPerustiedot | kRyhmittain},
    {"tietoryhma", ColumnKind::Tietoryhma, "text", TEXTOID, InvalidOid, InvalidOid, kMuutokset | kPerustiedot | kRyhmittain},
    {"muutosattribuutti", ColumnKind::Muutosattribuutti, "text", TEXTOID, InvalidOid, InvalidOid, kMuutokset},
    {"alkupv", ColumnKind::Alkupv, "date", DATEOID, InvalidOid, InvalidOid, kMuutokset | kPerustiedot},
    {"loppupv", ColumnKind::Loppupv, "date", DATEOID, InvalidOid, InvalidOid, kMuutokset | kPerustiedot},
    {"turvakiellon_alaiset_kentat", ColumnKind::Censored, "text[]", TEXTARRAYOID, InvalidOid, InvalidOid,
     kMuutokset | kPerustiedot | kRyhmittain},
    // jsonb built from the decoded answer; json and text keep the bytes as received
    {"tiedot", ColumnKind::Tiedot, "jsonb", JSONBOID, JSONOID, TEXTOID, kMuutokset | kPerustiedot | kRyhmittain},
    {"henkilolla_salattua", ColumnKind::PersonCensored, "boolean", BOOLOID, InvalidOid, InvalidOid, kMuutokset | kRyhmittain},
    {"henkilon_turvakielto", ColumnKind::PersonTurvakielto, "jsonb", JSONBOID, InvalidOid, InvalidOid, kMuutokset | kRyhmittain},
    {"paluukoodi", ColumnKind::Paluukoodi, "text", TEXTOID, InvalidOid, InvalidOid, kHenkilo},
    {"hetu_voimassa", ColumnKind::HetuVoimassa, "boolean", BOOLOID, InvalidOid, InvalidOid, kHenkilo},
    {"sukunimi", ColumnKind::Sukunimi, "text", TEXTOID, InvalidOid, InvalidOid, kHenkilo},
    {"etunimet", ColumnKind::Etunimet, "text", TEXTOID, InvalidOid, InvalidOid, kHenkilo},
    {"aidinkieli", ColumnKind::Aidinkieli, "text", TEXTOID, InvalidOid, InvalidOid, kHenkilo},
    {"kuollut", ColumnKind::Kuollut, "boolean", BOOLOID, InvalidOid, InvalidOid, kHenkilo},
    {"kuolinpv", ColumnKind::Kuolinpv, "date", DATEOID, InvalidOid, InvalidOid, kHenkilo},
    {"turvakielto", ColumnKind::Turvakielto, "boolean", BOOLOID, InvalidOid, InvalidOid, kHenkilo},
    {"turvakielto_loppupv", ColumnKind::TurvakieltoLoppupv, "date", DATEOID, InvalidOid, InvalidOid, kHenkilo},
    {"kotikunta", ColumnKind::Kotikunta, "text", TEXTOID, InvalidOid, InvalidOid, kHenkilo},
    {"kotikunta_nimi", ColumnKind::KotikuntaNimi, "text", TEXTOID, InvalidOid, InvalidOid, kHenkilo},
    {"lahiosoite", ColumnKind::Lahiosoite, "text", TEXTOID, InvalidOid, InvalidOid, kHenkilo},
    {"postinumero", ColumnKind::Postinumero, "text", TEXTOID, InvalidOid, InvalidOid, kHenkilo},
    {"postitoimipaikka", ColumnKind::Postitoimipaikka, "text", TEXTOID, InvalidOid, InvalidOid, kHenkilo},
    {"postiosoite", ColumnKind::Postiosoite, "text", TEXTOID, InvalidOid, InvalidOid, kHenkilo},
    // the answer's serialisation; stored as text by the xml type, so text is accepted too
    {"vastaus", ColumnKind::Vastaus, "xml", XMLOID, TEXTOID, InvalidOid, kHenkilo},
};

// The tables of the interface (remote schema) `table` belongs to.
unsigned interface_tables(TableKind table) { return (bit(table) & kMuutosrajapinta) ? kMuutosrajapinta : kHenkilo; }

}  // namespace

const char *table_kind_name(TableKind kind)
{
    const int i = static_cast<int>(kind);
    return i >= 0 && i < kTableKinds ? kTableKindDefs[i].name : "?";
}

const char *remote_schema_of(TableKind kind)
{
    const int i = static_cast<int>(kind);
    return i >= 0 && i < kTableKinds ? kTableKindDefs[i].remote_schema : "?";
}

TableKind table_kind_of(Oid foreign_table_id)
{
    ForeignTable *table = GetForeignTable(foreign_table_id);
    ListCell *lc;
    foreach (lc, table->options) {
        DefElem *def = (DefElem *)lfirst(lc);
        if (strcmp(def->defname, "endpoint") == 0) {
            const char *v = defGetString(def);
            for (int i = 0; i < kTableKinds; ++i)
                if (strcmp(v, kTableKindDefs[i].name) == 0)
                    return static_cast<TableKind>(i);
            return TableKind::Perustiedot;  // (the option's validator allows only the names above)
        }
    }
    ereport(ERROR, (errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
                    errmsg("foreign table \"%s\" has no option \"endpoint\"", get_rel_name(foreign_table_id))));
    pg_unreachable();
}

const ColumnDef *find_column(TableKind table, const char *name)
{
    const unsigned known = interface_tables(table);
    for (const ColumnDef &c : kColumns)
        if ((c.tables & known) && strcmp(c.name, name) == 0)
            return &c;
    return nullptr;
}

ColumnKind column_kind(TableKind table, const char *name)
{
    const ColumnDef *c = find_column(table, name);
    return c ? c->kind : ColumnKind::Unknown;
}

List *import_commands(const char *remote_schema, const char *local_schema, const char *server_name)
{
    List *commands = NIL;
    for (int t = 0; t < kTableKinds; ++t) {
        if (strcmp(kTableKindDefs[t].remote_schema, remote_schema) != 0)
            continue;
        StringInfoData columns;
        initStringInfo(&columns);
        for (const ColumnDef &c : kColumns)
            if (c.tables & bit(static_cast<TableKind>(t)))
                appendStringInfo(&columns, "%s%s %s", columns.len ? ", " : "", c.name, c.sql_type);
        StringInfoData sql;
        initStringInfo(&sql);
        appendStringInfo(&sql, "CREATE FOREIGN TABLE %s.%s (%s) SERVER %s OPTIONS (endpoint %s)",
                         quote_identifier(local_schema), quote_identifier(kTableKindDefs[t].name), columns.data,
                         quote_identifier(server_name), quote_literal_cstr(kTableKindDefs[t].name));
        commands = lappend(commands, sql.data);
    }
    return commands;
}

}  // namespace vtj::pg
