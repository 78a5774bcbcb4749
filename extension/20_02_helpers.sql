-- vtj_fdw code, part 20 (the mirror), 02: small helpers: dates, bilingual text, group kinds, withheld groups.
-- The mirror's code is in files by concern, read in name order (its tables: extension/data/20_mirror.sql);
-- the overview of the mirror and its censorship is in 20_01_products.sql.

-- ---------------------------------------------------------------------------------------
-- Small helpers
-- ---------------------------------------------------------------------------------------

-- "Today" for turvaLoppuPv. A superuser may set vtj_testi.tanaan (a date) to run against a mock
-- whose simulated present is not the wall clock; anyone else always gets current_date.
-- (The session user, not current_user: inside a SECURITY DEFINER function current_user is the
-- extension's owner, and a "today" in the future would make every turvakielto look ended.)
CREATE OR REPLACE FUNCTION vtj_internal.today() RETURNS date LANGUAGE sql STABLE
RETURN CASE WHEN coalesce(current_setting('vtj_testi.tanaan', true), '') <> ''
                 AND (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user)
            THEN current_setting('vtj_testi.tanaan', true)::date
            ELSE current_date END;

-- A VTJ date object {"arvo": "YYYY-MM-DD", "tarkkuus": …} as a date: NULL when absent,
-- partial, malformed or a day that does not exist (never an error: one bad date must not stop a
-- load). In C (src/pg/mirror_functions.cpp): it runs four times for every address typed.
CREATE OR REPLACE FUNCTION vtj_internal.vtj_date(d jsonb) RETURNS date
    AS 'MODULE_PATHNAME', 'vtj_pv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Bilingual text {"fi": …, "sv": …} or a plain string: the Finnish (or only) form.
CREATE OR REPLACE FUNCTION vtj_internal.finnish_text(v jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE jsonb_typeof(v) WHEN 'object' THEN coalesce(v->>'fi', v->>'sv') WHEN 'string' THEN v #>> '{}' END;

-- change-semantics.md: the multi-valued group types; every other type is single-valued.
CREATE OR REPLACE FUNCTION vtj_internal.multi_valued(tietoryhma text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN tietoryhma = ANY ('{HUOLTAJA,HUOLLETTAVA,HUOLTAJA_SUPPEA,HUOLLETTAVA_SUPPEA,HUOLTAJA_RAJOITETTU,HUOLLETTAVA_RAJOITETTU,LAPSI,VANHEMPI,LAPSI_SUPPEA,VANHEMPI_SUPPEA,PERHESUHDE,NIMENMUUTOS,NIMENMUUTOS_LAAJA,TILAPAINEN_KOTIMAINEN_OSOITE,TILAPAINEN_ULKOMAINEN_OSOITE,SAHKOPOSTIOSOITE,AVIOLIITTO,REKISTEROITY_PARISUHDE,EDELLINEN_KOTIKUNTA,EDUNVALVONTA,EDUNVALVONTAVALTUUTUS}'::text[]);

-- A group withheld by the interface: turvakiellonAlaisetKentat and no values (rule 7).
-- (An expression without a sub-query, so that the planner inlines it.)
CREATE OR REPLACE FUNCTION vtj_internal.is_marker(g jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN g ? 'turvakiellonAlaisetKentat'
       AND (g - '{tietoryhma,muutosattribuutti,turvakiellonAlaisetKentat}'::text[]) = '{}'::jsonb;
