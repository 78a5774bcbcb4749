-- vtj_fdw code, part 20 (the mirror), 03: the turvakielto rule: who is protected, in a window and in basic data.
-- The mirror's code is in files by concern, read in name order (its tables: extension/data/20_mirror.sql);
-- the overview of the mirror and its censorship is in 20_01_products.sql.

-- Is this TURVAKIELTO record in force on day p? Fail closed: only turvakieltoAktiivinen spelled
-- exactly JSON false ends protection, and true with a turvaLoppuPv that has passed; a flag that is
-- missing, null, a string, a number or anything else protects, whatever the end date says (the
-- interface's own data are then not what we know, and an address that leaks can hurt someone).
-- No record at all (NULL) is no protection.
CREATE OR REPLACE FUNCTION vtj_internal.turvakielto_voimassa(tk jsonb, p date) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN tk IS NULL THEN false
            WHEN tk->'turvakieltoAktiivinen' = 'false'::jsonb THEN false
            WHEN tk->'turvakieltoAktiivinen' = 'true'::jsonb THEN
                 NOT (tk ? 'turvaLoppuPv') OR jsonb_typeof(tk->'turvaLoppuPv') = 'null'
                 OR vtj_internal.vtj_date(tk->'turvaLoppuPv') IS NULL   -- unreadable end: stay protected
                 OR vtj_internal.vtj_date(tk->'turvaLoppuPv') >= p
            ELSE true END;

-- A TURVAKIELTO record whose flag is neither true nor false (held protected by the rule above;
-- counted for a NOTICE that names the register and the count, never a person).
CREATE OR REPLACE FUNCTION vtj_internal.outo_turvakielto(tk jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN jsonb_typeof(tk->'turvakieltoAktiivinen') IS DISTINCT FROM 'boolean';

-- Is a person protected in a change window? The facts the muutokset scan gives on every row
-- of the person (henkilolla_salattua: some group of the person was withheld by the interface;
-- henkilon_turvakielto: every TURVAKIELTO record of the person in the window, also those inside
-- voimassaolevatTiedot): any withheld group, or any TURVAKIELTO record whose flag is not exactly
-- false, whatever its end (it was in force at some point of the window). No facts: protected.
CREATE OR REPLACE FUNCTION vtj_internal.suojaa_ikkunassa(salattua boolean, turvakielto jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(salattua, true)
    OR (turvakielto IS NOT NULL
        AND CASE WHEN jsonb_typeof(turvakielto) = 'array'
                 THEN EXISTS (SELECT 1 FROM jsonb_array_elements(turvakielto) e
                               WHERE e.value->'turvakieltoAktiivinen' IS DISTINCT FROM 'false'::jsonb)
                 ELSE true END);

-- Is any of these TURVAKIELTO records in force on day p?
CREATE OR REPLACE FUNCTION vtj_internal.jokin_turvakielto_voimassa(tietueet jsonb, p date) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN EXISTS (SELECT 1 FROM jsonb_array_elements(tietueet) e WHERE vtj_internal.turvakielto_voimassa(e, p));

-- Is a person protected in its basic data on day p? Any of its groups with fields withheld
-- (henkilolla_salattua of perustiedot_ryhmittain: also the records withheld whole, which are
-- in no array), or a TURVAKIELTO record in force that day (henkilon_turvakielto, the person's
-- TURVAKIELTO records on each of its rows). Inlined; the records are looked at only for the
-- persons with a TURVAKIELTO group.
CREATE OR REPLACE FUNCTION vtj_internal.suojaa_henkilo(salattua boolean, turvakielto jsonb, p date) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(salattua, true) OR (turvakielto IS NOT NULL AND vtj_internal.jokin_turvakielto_voimassa(turvakielto, p));

-- The active hetu of a HENKILOTUNNUS_KORJAUS group's records: that of the last record in force
-- (inlined, as above).
CREATE OR REPLACE FUNCTION vtj_internal.aktiivinen_hetu(tietueet jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN jsonb_path_query_array(tietueet, '$[*] ? (@.voimassaolo == "AKTIIVI")')->-1->>'aktiivinenHenkilotunnus';

-- The reduced form that stands for a censored group in staging and in the change log.
CREATE OR REPLACE FUNCTION vtj_internal.sensuroitu(tietoryhma text) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN jsonb_build_object('tietoryhma', tietoryhma, 'sensuroitu', true);
