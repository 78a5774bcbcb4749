// The foreign tables of the two interfaces: their kinds and one column table. IMPORT FOREIGN
// SCHEMA writes its DDL from the table (fdw_import.cpp); the planner (fdw_plan.cpp) and the
// executors (scan_base.cpp) recognise and type-check columns by it.
#pragma once

#include "pg/pg_headers.hpp"

namespace vtj::pg {

// The value of a foreign table's option "endpoint". PerustiedotRyhmittain: POST /perustiedot,
// one row per person and data group; Henkilo: VTJkysely look-ups.
enum class TableKind { Kirjausavain = 0, Muutokset = 1, Perustiedot = 2, Henkilo = 3, PerustiedotRyhmittain = 4 };
constexpr int kTableKinds = 5;

inline bool is_perustiedot(TableKind t) { return t == TableKind::Perustiedot || t == TableKind::PerustiedotRyhmittain; }

enum class ColumnKind {
    Unknown = 0,
    // muutosrajapinta (hetu: both interfaces)
    Hetu,
    Muutospv,
    Kirjausavain,
    Jarjestys,
    Tietoryhma,
    Muutosattribuutti,
    Alkupv,
    Loppupv,
    Censored,           // turvakiellon_alaiset_kentat
    Tiedot,
    Paiva,
    PersonCensored,     // henkilolla_salattua (muutokset, perustiedot_ryhmittain)
    PersonTurvakielto,  // henkilon_turvakielto (muutokset, perustiedot_ryhmittain)
    // vtjkysely.henkilo
    Paluukoodi,
    HetuVoimassa,
    Sukunimi,
    Etunimet,
    Aidinkieli,
    Kuollut,
    Kuolinpv,
    Turvakielto,
    TurvakieltoLoppupv,
    Kotikunta,
    KotikuntaNimi,
    Lahiosoite,
    Postinumero,
    Postitoimipaikka,
    Postiosoite,
    Vastaus,
};

// One column of the interfaces' tables. A table knows every column that IMPORT FOREIGN SCHEMA
// gives some table of its interface (its "remote schema"): such a column is type-checked and
// filled, any other column of the table is NULL.
struct ColumnDef {
    const char *name;
    ColumnKind kind;
    const char *sql_type;  // as IMPORT FOREIGN SCHEMA writes it
    Oid type;              // the type a table must declare ...
    Oid also;              // ... or one of these (InvalidOid: none)
    Oid also2;
    unsigned tables;       // bit (1 << TableKind): IMPORT FOREIGN SCHEMA creates it there
};

// The table kind of a foreign table (its option "endpoint"); ereports when it has none.
TableKind table_kind_of(Oid foreign_table_id);
const char *table_kind_name(TableKind kind);
// The "remote schema" of IMPORT FOREIGN SCHEMA the table kind belongs to.
const char *remote_schema_of(TableKind kind);

// The column of this name that tables of `table`'s interface know, or nullptr.
const ColumnDef *find_column(TableKind table, const char *name);
ColumnKind column_kind(TableKind table, const char *name);

// C zone: the IMPORT FOREIGN SCHEMA commands of every table of `remote_schema` (NIL when
// there is no such schema), for a server named `server_name`, into `local_schema`.
List *import_commands(const char *remote_schema, const char *local_schema, const char *server_name);

}  // namespace vtj::pg
