-- vtj_fdw install script, part 20: the local mirror (its tables: extension/data/20_mirror.sql).
--
-- A register (vtj.rekisteri) binds a foreign server and a product (vtj.tuote); its members
-- (vtj.jasen) are the hetus it keeps. vtj.lataa_perustiedot loads their basic data,
-- vtj.paivita applies the changes since the register's bookmark. The rules of
-- docs/change-semantics.md are implemented by the aggregate vtj_internal.sovella; the turvakielto
-- censorship rule of docs/products.md is enforced here, in SQL, whatever the interface sends.
--
-- Censorship, in one place (see also README "The mirror"):
--   * A person is *protected in a run* when, at the start of the run, the mirror holds them
--     censored or their stored TURVAKIELTO is in force, or when ANY row of the run carries a
--     TURVAKIELTO with turvakieltoAktiivinen = true (also inside voimassaolevatTiedot, also a
--     KORJATTAVA or an already expired one) or a group withheld by the interface
--     (turvakiellonAlaisetKentat). It is computed over the whole window with a window function
--     in the very statement that reads the interface, so a censored-worthy value never reaches
--     a table - not even the session's temporary staging table: it is replaced by
--     {"tietoryhma": T, "sensuroitu": true} before the INSERT.
--   * For a protected person none of the product's censored groups is stored; what was stored
--     before is deleted in the same transaction; the change log gets the reduced object.
--   * At the end of a run, a person held censored whose turvakielto is no longer in force
--     (ended by a change, or turvaLoppuPv passed) is revealed: their basic data are fetched
--     again in the same run and stored under the same rule (the fresh data decide).
--   * Basic data (perustiedot) are censored by the person's own fresh TURVAKIELTO (in force
--     today) or by any withheld group in the answer.
--
-- Procedures that commit (lataa_perustiedot, paivita) must be called as their own statement.
-- No message of this file prints a hetu or personal data: counts, positions, register names.


-- The shipped products describe DVV's products: keep them as shipped.
CREATE OR REPLACE FUNCTION vtj_internal.tuote_vakio_suojaus() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF OLD.vakio THEN
        RAISE EXCEPTION 'product "%" is shipped with vtj_fdw and cannot be changed or removed', OLD.tuote
            USING ERRCODE = '42501',
                  HINT = 'Add a product of your own: INSERT INTO vtj.tuote (tuote, tietoryhmat, sensuroitavat) VALUES (...).';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE OR REPLACE TRIGGER tuote_vakio BEFORE UPDATE OR DELETE ON vtj.tuote
    FOR EACH ROW EXECUTE FUNCTION vtj_internal.tuote_vakio_suojaus();

-- A product of one's own that censors more groups: what its registers hold of those groups for
-- their censored members goes now, from every table that holds them (vtj_internal.sensuroi:
-- the stored data, the typed rows rebuilt from them, the change log), in this statement and
-- under each register's data lock: a run in flight finishes first, and the next reads the new
-- rule (a run reads its product after taking the lock). The purge takes a change-log position of
-- each register and logs a SENSUROITU row per censored member and group it now censors, so that
-- merge jobs blank those groups too (vtj.muutokset_jalkeen).
CREATE OR REPLACE FUNCTION vtj_internal.tuote_sensuroi_lisatyt() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    x record;
    v_positio bigint;
    v_sensuroidut text[];
    v_lisatyt text[] := ARRAY(SELECT g FROM unnest(NEW.sensuroitavat) g EXCEPT SELECT g FROM unnest(OLD.sensuroitavat) g ORDER BY 1);
BEGIN
    IF NOT (NEW.sensuroitavat <@ OLD.sensuroitavat) THEN
        FOR x IN SELECT r.rekisteri FROM vtj.rekisteri r WHERE r.tuote = NEW.tuote ORDER BY r.rekisteri LOOP
            PERFORM vtj_internal.datalukko(x.rekisteri);
            v_positio := vtj_internal.seuraava_positio(x.rekisteri);
            v_sensuroidut := ARRAY(SELECT j.hetu FROM vtj.jasen j WHERE j.rekisteri = x.rekisteri AND j.sensuroitu ORDER BY j.hetu);
            PERFORM vtj_internal.sensuroi(x.rekisteri, NEW.sensuroitavat, v_sensuroidut);
            PERFORM vtj_internal.kirjaa_sensuroidut(x.rekisteri, v_lisatyt, v_sensuroidut, NULL, v_positio);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER tuote_sensuroi_lisatyt AFTER UPDATE OF sensuroitavat ON vtj.tuote
    FOR EACH ROW EXECUTE FUNCTION vtj_internal.tuote_sensuroi_lisatyt();

-- ---------------------------------------------------------------------------------------
-- Small helpers
-- ---------------------------------------------------------------------------------------

-- "Today" for turvaLoppuPv. A superuser may set vtj_testi.tanaan (a date) to run against a mock
-- whose simulated present is not the wall clock; anyone else always gets current_date.
-- (The session user, not current_user: inside a SECURITY DEFINER function current_user is the
-- extension's owner, and a "today" in the future would make every turvakielto look ended.)
CREATE OR REPLACE FUNCTION vtj_internal.tanaan() RETURNS date LANGUAGE sql STABLE
RETURN CASE WHEN coalesce(current_setting('vtj_testi.tanaan', true), '') <> ''
                 AND (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user)
            THEN current_setting('vtj_testi.tanaan', true)::date
            ELSE current_date END;

-- A VTJ date object {"arvo": "YYYY-MM-DD", "tarkkuus": …} as a date: NULL when absent,
-- partial, malformed or a day that does not exist (never an error: one bad date must not stop a
-- load). In C (src/pg/mirror_functions.cpp): it runs four times for every address typed.
CREATE OR REPLACE FUNCTION vtj_internal.pv(d jsonb) RETURNS date
    AS 'MODULE_PATHNAME', 'vtj_pv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Bilingual text {"fi": …, "sv": …} or a plain string: the Finnish (or only) form.
CREATE OR REPLACE FUNCTION vtj_internal.fi(v jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE jsonb_typeof(v) WHEN 'object' THEN coalesce(v->>'fi', v->>'sv') WHEN 'string' THEN v #>> '{}' END;

-- change-semantics.md: the multi-valued group types; every other type is single-valued.
CREATE OR REPLACE FUNCTION vtj_internal.moniarvoinen(tietoryhma text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN tietoryhma = ANY ('{HUOLTAJA,HUOLLETTAVA,HUOLTAJA_SUPPEA,HUOLLETTAVA_SUPPEA,HUOLTAJA_RAJOITETTU,HUOLLETTAVA_RAJOITETTU,LAPSI,VANHEMPI,LAPSI_SUPPEA,VANHEMPI_SUPPEA,PERHESUHDE,NIMENMUUTOS,NIMENMUUTOS_LAAJA,TILAPAINEN_KOTIMAINEN_OSOITE,TILAPAINEN_ULKOMAINEN_OSOITE,SAHKOPOSTIOSOITE,AVIOLIITTO,REKISTEROITY_PARISUHDE,EDELLINEN_KOTIKUNTA,EDUNVALVONTA,EDUNVALVONTAVALTUUTUS}'::text[]);

-- A group withheld by the interface: turvakiellonAlaisetKentat and no values (rule 7).
-- (An expression without a sub-query, so that the planner inlines it.)
CREATE OR REPLACE FUNCTION vtj_internal.on_merkki(g jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN g ? 'turvakiellonAlaisetKentat'
       AND (g - '{tietoryhma,muutosattribuutti,turvakiellonAlaisetKentat}'::text[]) = '{}'::jsonb;

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
                 OR vtj_internal.pv(tk->'turvaLoppuPv') IS NULL   -- unreadable end: stay protected
                 OR vtj_internal.pv(tk->'turvaLoppuPv') >= p
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

-- Procedures that COMMIT cannot run inside a transaction block: say so before any work, in
-- words a DBA understands (PostgreSQL would say "invalid transaction termination" at the first
-- COMMIT). A block is an explicit BEGIN or a string of several statements (psql -c "SET …;
-- CALL …"), which PostgreSQL runs as one implicit block; a transaction that already holds an xid
-- wrote something before this CALL.
CREATE OR REPLACE FUNCTION vtj_internal.transaktiolohkossa() RETURNS boolean
    AS 'MODULE_PATHNAME', 'vtj_transaktiolohkossa' LANGUAGE C STABLE;

-- The caller outside SECURITY DEFINER functions (src/pg/mirror_functions.cpp).
CREATE OR REPLACE FUNCTION vtj_internal.kutsuja() RETURNS oid
    AS 'MODULE_PATHNAME', 'vtj_kutsuja' LANGUAGE C STABLE;
CREATE OR REPLACE FUNCTION vtj_internal.oma_lause(kutsu text) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF vtj_internal.transaktiolohkossa() OR pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION '% must be called as a statement of its own, outside a transaction block', kutsu
            USING ERRCODE = '25001',
                  HINT = 'It commits as it goes (its run log; lataa_perustiedot every batch). Run the CALL by itself '
                         'in autocommit mode: not between BEGIN and COMMIT, and not in one string with other '
                         'statements (psql -c "SET …; CALL …" is one transaction: use psql -c "SET …" -c "CALL …").';
    END IF;
END $$;
CREATE OR REPLACE FUNCTION vtj_internal.rekisteri(p_rekisteri text) RETURNS vtj.rekisteri LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE r vtj.rekisteri;
BEGIN
    SELECT * INTO r FROM vtj.rekisteri WHERE rekisteri = p_rekisteri;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'register "%" does not exist', p_rekisteri
            USING ERRCODE = '42704', HINT = 'Create it with vtj.luo_rekisteri(rekisteri, palvelin, tuote); SELECT rekisteri FROM vtj.rekisteri lists the registers.';
    END IF;
    RETURN r;
END $$;

-- ---------------------------------------------------------------------------------------
-- Locks of a register: two, for two different rules.
--
-- One run at a time: one vtj.paivita or vtj.lataa_perustiedot of a register runs at a time; a
-- second one stops at once with 55P03 (a pg_cron run meeting a manual one). A run is "running"
-- while its row in vtj_internal.ajo says 'kaynnissa' AND the statement that wrote it still
-- executes: its backend is alive, active, and began its current statement no later than the
-- run (vtj_internal.elossa). The first transaction of a run decides this under a transaction
-- lock (advisory, on (7763050, register id)), so two runs starting together are decided one
-- after the other; nothing is held between the run's transactions, so nothing can be left
-- locked when a run dies — killed, crashed, or cancelled between two of its transactions: its
-- row is then simply no longer running, vtj.ajo shows it as 'keskeytynyt' at once, and the
-- next run of the register marks it so in the table.
--
-- The data lock (the register's row in vtj.rekisteri, FOR NO KEY UPDATE, waited for) is taken
-- by every transaction that writes the register's data: a load batch, a change run's work,
-- adding or removing members, a product change's purge. They follow one another instead of
-- failing: a member edit waits for the batch in flight, the next batch waits for the edit.
-- The same row carries the change log's position (vtj_internal.seuraava_positio), so the log's
-- writers commit in the order of their positions.
-- ---------------------------------------------------------------------------------------

-- Whether the run whose row was written by backend (pid, started at) at time alku is still
-- executing. SECURITY DEFINER: pg_stat_activity hides other roles' backends' details from a role
-- without pg_read_all_stats.
CREATE OR REPLACE FUNCTION vtj_internal.elossa(p_pid integer, p_alku timestamptz, p_ajo_alku timestamptz) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                WHERE a.pid = p_pid AND a.backend_start = p_alku AND a.state = 'active' AND a.query_start <= p_ajo_alku);
CREATE OR REPLACE FUNCTION vtj_internal.ajolukko(r vtj.rekisteri, kutsu text) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7763050, r.id);
    IF EXISTS (SELECT 1 FROM vtj_internal.ajo x
                WHERE x.rekisteri = r.rekisteri AND x.tila = 'kaynnissa'
                  AND vtj_internal.elossa(x.pid, x.taustaprosessi_alku, x.alku)) THEN
        RAISE EXCEPTION '%: register "%" is already being updated in another session', kutsu, r.rekisteri
            USING ERRCODE = '55P03',
                  HINT = 'Only one vtj.paivita or vtj.lataa_perustiedot runs per register at a time. Wait for the other run to finish (vtj.ajo, vtj.tila, pg_stat_activity) and try again.';
    END IF;
END $$;

-- The data lock: waits for the register's other writers, returns the register as it is now.
CREATE OR REPLACE FUNCTION vtj_internal.datalukko(p_rekisteri text) RETURNS vtj.rekisteri LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE r vtj.rekisteri;
BEGIN
    SELECT * INTO r FROM vtj.rekisteri x WHERE x.rekisteri = p_rekisteri FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM vtj_internal.rekisteri(p_rekisteri);   -- raises "does not exist"
    END IF;
    RETURN r;
END $$;

-- The next change-log position of a register, under its data lock (held to the commit).
CREATE OR REPLACE FUNCTION vtj_internal.seuraava_positio(p_rekisteri text) RETURNS bigint LANGUAGE sql
BEGIN ATOMIC
    UPDATE vtj.rekisteri SET positio = positio + 1 WHERE rekisteri = p_rekisteri RETURNING positio;
END;

-- The change log's events of members that a merge job must learn although no change row of the
-- interface says so. A member's event has tietoryhma 'JASEN' and no data but what is named:
--   LADATTU       basic data stored where the mirror had none (a load, a member added, or one the
--                 interface returns again after PUUTTUU): read the member's typed rows
--   PUUTTUU       the interface did not return the member (unknown, passivated, outside the
--                 product); what the mirror held of it stays
--   PALJASTETTU   the member is no longer held censored (its turvakielto ended): the basic data
--                 fetched again follow as PERUSTIEDOT rows
--   HETU_KORJATTU the member moved to a new hetu: {"edellinen_hetu": old, "hetu": new}, filed
--                 under the new one (the member's earlier rows move with it)
-- and SENSUROITU, one row per censored group, {"tietoryhma": T, "sensuroitu": true}: the member
-- became censored (a run found its turvakielto; a product began to censor the group): blank T.
CREATE OR REPLACE FUNCTION vtj_internal.kirjaa_sensuroidut(p_rekisteri text, p_ryhmat text[], p_hetut text[], p_ajo bigint,
                                                           p_positio bigint) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO vtj.muutosloki (rekisteri, hetu, ajo, tietoryhma, muutosattribuutti, tiedot, positio)
    SELECT p_rekisteri, h.h, p_ajo, g.g, 'SENSUROITU', vtj_internal.sensuroitu(g.g), p_positio
      FROM unnest(p_hetut) h(h) CROSS JOIN unnest(p_ryhmat) g(g)
     ORDER BY h.h, g.g;
END;


-- HTTP requests made so far by this backend (for vtj.ajo.pyyntoja).
CREATE OR REPLACE FUNCTION vtj_internal.pyyntoja() RETURNS bigint LANGUAGE sql VOLATILE
RETURN (SELECT coalesce(sum(y.pyyntoja), 0)::bigint FROM vtj.yhteydet() y);

-- The memory of the statements of a load and a change run: work_mem vtj.work_mem (default
-- 256MB; it is only ever raised), so that the joins and aggregates over a batch or a window
-- stay in memory. Privacy does not depend on it: no statement sorts or hashes a value before it
-- is censored (the interface's rows carry their person's facts, see the header of this file),
-- so what a small work_mem spills to temporary files is censored already.
-- JIT is off for the same statements: they run once a batch, and compiling their expressions
-- (about 30 ms a statement) costs more than it saves at these row counts.
CREATE OR REPLACE FUNCTION vtj_internal.muisti() RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE v text := coalesce(nullif(current_setting('vtj.work_mem', true), ''), '256MB');
BEGIN
    IF pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(v) THEN
        PERFORM set_config('work_mem', v, true);
    END IF;
    PERFORM set_config('jit', 'off', true);
END $$;

-- The planner's statistics of the mirror's tables. Autovacuum analyzes a table only after its
-- naptime and a threshold; meanwhile a load's statements are planned with the row counts of a
-- much smaller table, and a plan that reads "all 5,000 rows of the register" reads all of them
-- when there are 500,000: seen at 1,000,000 members, where the load slowed batch by batch and a
-- change run read the whole of vtj.tieto for a few moved persons. The load calls this whenever
-- it has doubled what it loaded (kevyt: the row counts are what matters then, and a sample of a
-- tenth of the default size gives them at a tenth of the cost) and in full at its end.
-- SECURITY DEFINER: only the tables' owner may ANALYZE them, and the load may be run by any
-- role allowed to; it takes no input but the flag.
CREATE OR REPLACE FUNCTION vtj_internal.analysoi(kevyt boolean) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE v_tavoite text := current_setting('default_statistics_target');
BEGIN
    IF kevyt THEN
        PERFORM set_config('default_statistics_target', '10', true);
    END IF;
    -- the columns the mirror's own statements filter and join on: the rest (the stored jsonb
    -- above all) is left to autovacuum, it cost most of the time of a full ANALYZE
    ANALYZE vtj.jasen (rekisteri, hetu, ladattu, sensuroitu), vtj.tieto (rekisteri, hetu, tietoryhma),
            vtj.henkilo (rekisteri, hetu), vtj.osoite (rekisteri, hetu, laji);
    PERFORM set_config('default_statistics_target', v_tavoite, true);
END $$;

-- The most persons one statement reads from the interface (a batch of vtj.lataa_perustiedot, a
-- slice of the members a change run loads): it bounds what one statement holds in memory and in
-- its working tables.
CREATE OR REPLACE FUNCTION vtj_internal.suurin_era() RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 50000;

-- ---------------------------------------------------------------------------------------
-- The apply rules (docs/change-semantics.md) as an ordered aggregate per (person, group):
--   vtj_internal.sovella(tiedot, moniarvoinen ORDER BY jarjestys)
-- The first row of each group is {"voimassaolevatTiedot": <stored records>} (rule 1 sets the
-- list), so the aggregate starts from the stored state. Returns the new list (maybe []).
-- ---------------------------------------------------------------------------------------
-- A function of SQL with a standard body (RETURN): parsed and bound when the extension is
-- installed, so no caller's search_path can change what it calls, and no PL/pgSQL call setup per
-- step (as fast as the PL/pgSQL version it replaced, measured over 100,000 steps).
CREATE OR REPLACE FUNCTION vtj_internal.sovella_askel(tila jsonb, g jsonb, moni boolean) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    -- rule 1: the valid records are given: they are the list
    WHEN g ? 'voimassaolevatTiedot' THEN
        (SELECT coalesce(jsonb_agg(e.x - 'muutosattribuutti' - 'voimassaolevatTiedot' ORDER BY e.n), '[]')
           FROM jsonb_array_elements(CASE jsonb_typeof(g->'voimassaolevatTiedot') WHEN 'array' THEN g->'voimassaolevatTiedot'
                                                                               ELSE '[]' END) WITH ORDINALITY e(x, n))
    -- rule 7: a value exists but is withheld: forget what we had
    WHEN vtj_internal.on_merkki(g) THEN '[]'
    -- rule 2: context only
    WHEN g->>'muutosattribuutti' = 'LISATIETO' THEN coalesce(tila, '[]')
    -- rule 8: a hetu correction's PASSIIVI record describes the hetu given up; the group's record
    -- is the AKTIIVI one, whichever the change sends first
    WHEN g->>'tietoryhma' = 'HENKILOTUNNUS_KORJAUS' AND g->>'voimassaolo' = 'PASSIIVI' THEN coalesce(tila, '[]')
    -- rules 3, 4, 5: the record ends / is being corrected / is removed. Only the record it matches
    -- goes, in single- and multi-valued groups alike: DVV sends a move's new address before or
    -- after the closing of the old one, and either order must leave the new one (a closing
    -- record that matches nothing leaves the group alone).
    WHEN g->>'muutosattribuutti' IN ('KORJATTAVA', 'POISTETTU') OR (g->>'muutosattribuutti' = 'MUUTETTU' AND g ? 'loppupv') THEN
        (SELECT coalesce(jsonb_agg(e.x ORDER BY e.n), '[]')
           FROM jsonb_array_elements(coalesce(tila, '[]')) WITH ORDINALITY e(x, n)
          WHERE (e.x - 'loppupv') <> (g - 'muutosattribuutti' - 'voimassaolevatTiedot' - 'loppupv'))
    -- rule 6: the new current value; in a multi-valued group it replaces the same record, or is
    -- added at the end
    WHEN g->>'muutosattribuutti' IN ('LISATTY', 'KORJATTU', 'MUUTETTU') THEN
        CASE WHEN NOT moni THEN jsonb_build_array(g - 'muutosattribuutti' - 'voimassaolevatTiedot')
             ELSE (SELECT CASE WHEN min(e.n) IS NULL THEN coalesce(tila, '[]') || jsonb_build_array(u.rec)
                               ELSE jsonb_set(tila, ARRAY[(min(e.n) - 1)::text], u.rec) END
                     FROM (SELECT g - 'muutosattribuutti' - 'voimassaolevatTiedot' AS rec) u
                     LEFT JOIN jsonb_array_elements(coalesce(tila, '[]')) WITH ORDINALITY e(x, n)
                            ON (e.x - 'loppupv') = (u.rec - 'loppupv')
                    GROUP BY u.rec) END
    -- an attribute nobody knows yet: no rule, no effect
    ELSE coalesce(tila, '[]')
END;
CREATE OR REPLACE AGGREGATE vtj_internal.sovella(jsonb, boolean) (
    SFUNC = vtj_internal.sovella_askel,
    STYPE = jsonb
);

-- ---------------------------------------------------------------------------------------
-- Session-private working tables. They never hold a censored value (see the header).
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION vtj_internal.tyotaulut() RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- (Created by the session's own role, in its context: the tables are the session's, and the
    -- steps that read the interface write them as the caller.)
    IF to_regclass('pg_temp.vtj_haettavat') IS NOT NULL THEN
        RETURN;
    END IF;
    -- basic data of one load: one row per person and group (its records as stored, or NULL for
    -- a censored group of a protected person); salattu: the interface withheld fields of it;
    -- tallennettu: the row goes to vtj.tieto as is
    CREATE TEMP TABLE IF NOT EXISTS vtj_pt (
        hetu text COLLATE "C", jarjestys bigint, tietoryhma text COLLATE "C", tietueet jsonb, salattu boolean,
        suojattu boolean, tallennettu boolean
    ) ON COMMIT DELETE ROWS;
    -- one run's window of changes, censored
    -- (suojattu: the row's person is protected in this run; ikkunassa: by what the window
    -- itself says, not only by what the mirror held or did not know before it)
    CREATE TEMP TABLE IF NOT EXISTS vtj_vaihe (
        hetu text COLLATE "C", jarjestys bigint, kirjausavain bigint, muutospv timestamptz, tietoryhma text COLLATE "C",
        muutosattribuutti text, tiedot jsonb, suojattu boolean, uusi boolean, ikkunassa boolean
    ) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS vtj_tulos (hetu text COLLATE "C", tietoryhma text COLLATE "C", tietueet jsonb) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS vtj_siirto (vanha text COLLATE "C", uusi text COLLATE "C") ON COMMIT DELETE ROWS;
    -- the stored groups of the persons whose typed rows are being rebuilt (vtj_internal.tyypita_rivit)
    CREATE TEMP TABLE IF NOT EXISTS vtj_tyyppi (hetu text COLLATE "C", tietoryhma text COLLATE "C", tietueet jsonb) ON COMMIT DELETE ROWS;
    -- the members a change run asks about: protected from the start (held censored, a stored
    -- turvakielto in force, or protection not known yet), not loaded yet
    CREATE TEMP TABLE IF NOT EXISTS vtj_lue (hetu text COLLATE "C", suojattu boolean, uusi boolean) ON COMMIT DELETE ROWS;
    -- the members a change run fetches basic data of: kirjaa = log what changed (not for new ones)
    CREATE TEMP TABLE IF NOT EXISTS vtj_haettavat (hetu text COLLATE "C", kirjaa boolean) ON COMMIT DELETE ROWS;
END $$;

-- ---------------------------------------------------------------------------------------
-- Typed views of the stored data: vtj.henkilo and vtj.osoite, rebuilt for the given persons.
-- ---------------------------------------------------------------------------------------
-- vtj_internal.tyypita_rivit builds them from the stored groups of exactly the persons p_hetut, so that
-- no statement reads more of the store than the batch: those in pg_temp.vtj_tyyppi (a change
-- run fills it from vtj.tieto by key) and the rows a load has just stored (pg_temp.vtj_pt,
-- tallennettu; empty outside vtj_internal.lataa).
-- p_uudet: none of p_hetut has typed rows yet (vtj_internal.lataa).
CREATE OR REPLACE FUNCTION vtj_internal.tyypita_rivit(p_rekisteri text, p_hetut text[], p_uudet boolean DEFAULT false,
                                           p_pt boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE p date := vtj_internal.tanaan();
BEGIN
    IF NOT p_uudet THEN
        DELETE FROM vtj.osoite WHERE rekisteri = p_rekisteri AND hetu = ANY (p_hetut);
        DELETE FROM vtj.henkilo WHERE rekisteri = p_rekisteri AND hetu = ANY (p_hetut);
    END IF;
    -- One statement: the addresses, and the persons with their current permanent address.
    WITH tyyppi AS NOT MATERIALIZED (
        SELECT y.hetu, y.tietoryhma, y.tietueet FROM pg_temp.vtj_tyyppi y
        UNION ALL
        SELECT s.hetu, s.tietoryhma, s.tietueet FROM pg_temp.vtj_pt s WHERE p_pt AND s.tallennettu),
    o AS (
        INSERT INTO vtj.osoite
        SELECT p_rekisteri, t.hetu, t.tietoryhma, e.n::integer,
               CASE WHEN t.tietoryhma IN ('VAKINAINEN_KOTIMAINEN_OSOITE', 'TILAPAINEN_KOTIMAINEN_OSOITE')
                    THEN nullif(concat_ws(' ', vtj_internal.fi(e.x->'katunimi'), e.x->>'katunumero', e.x->>'huoneistokirjain',
                                          nullif(ltrim(e.x->>'huoneistonumero', '0'), ''), e.x->>'jakokirjain'), '')
                    ELSE coalesce(vtj_internal.fi(e.x->'postiosoite'), vtj_internal.fi(e.x->'lahiosoite')) END,
               e.x->>'postiosoiteLisarivi',
               e.x->>'postinumero',
               coalesce(vtj_internal.fi(e.x->'postitoimipaikka'), vtj_internal.fi(e.x->'paikkakunta')),
               e.x->>'kuntakoodi',
               e.x->>'valtiokoodi',
               e.x->>'valtionimi',
               vtj_internal.pv(e.x->'alkupv'),
               vtj_internal.pv(e.x->'loppupv')
          FROM tyyppi t
         CROSS JOIN LATERAL jsonb_array_elements(t.tietueet) WITH ORDINALITY e(x, n)
         WHERE t.tietoryhma IN ('VAKINAINEN_KOTIMAINEN_OSOITE', 'TILAPAINEN_KOTIMAINEN_OSOITE', 'KOTIMAINEN_POSTIOSOITE',
                                'VAKINAINEN_ULKOMAINEN_OSOITE', 'TILAPAINEN_ULKOMAINEN_OSOITE', 'ULKOMAINEN_POSTIOSOITE',
                                'KOTIMAINEN_YHTEYSOSOITE', 'ULKOMAINEN_YHTEYSOSOITE')
           AND NOT vtj_internal.on_merkki(e.x)
           AND (vtj_internal.pv(e.x->'loppupv') IS NULL OR vtj_internal.pv(e.x->'loppupv') >= p)
        RETURNING hetu, laji, nro, katuosoite, postinumero, postitoimipaikka, valtiokoodi),
    v AS (
        SELECT DISTINCT ON (o.hetu) o.hetu, o.katuosoite, o.postinumero, o.postitoimipaikka, o.valtiokoodi
          FROM o
         WHERE o.laji IN ('VAKINAINEN_KOTIMAINEN_OSOITE', 'VAKINAINEN_ULKOMAINEN_OSOITE')
         ORDER BY o.hetu, o.laji = 'VAKINAINEN_KOTIMAINEN_OSOITE' DESC, o.nro DESC),
    x AS (
        -- the last record of each group the typed columns come from (one row per person and group)
        SELECT t.hetu,
               (array_agg(t.tietueet->-1) FILTER (WHERE t.tietoryhma = 'HENKILON_NIMI'))[1] AS nimi,
               (array_agg(t.tietueet->-1->>'kielikoodi') FILTER (WHERE t.tietoryhma = 'AIDINKIELI'))[1] AS aidinkieli,
               (array_agg(t.tietueet->-1->>'kielikoodi') FILTER (WHERE t.tietoryhma = 'ASIOINTIKIELI'))[1] AS asiointikieli,
               (array_agg(t.tietueet->-1) FILTER (WHERE t.tietoryhma = 'KUOLINPAIVA'))[1] AS kuolinpaiva,
               (array_agg(t.tietueet->-1->>'kuntakoodi') FILTER (WHERE t.tietoryhma = 'KOTIKUNTA'))[1] AS kotikunta
          FROM tyyppi t
         GROUP BY t.hetu)
    INSERT INTO vtj.henkilo (rekisteri, hetu, etunimet, sukunimi, aidinkieli, asiointikieli, kuollut, kuolinpv,
                             turvakielto, turvakielto_loppupv, kotikunta, katuosoite, postinumero, postitoimipaikka,
                             valtiokoodi)
    SELECT j.rekisteri, j.hetu,
           coalesce(x.nimi->>'etunimiUTF8', x.nimi->>'etunimi'),
           coalesce(x.nimi->>'sukunimiUTF8', x.nimi->>'sukunimi'),
           x.aidinkieli,
           x.asiointikieli,
           coalesce(x.kuolinpaiva->>'kuollut' = 'true', false),
           vtj_internal.pv(x.kuolinpaiva->'kuolinpv'),
           j.sensuroitu,
           CASE WHEN j.sensuroitu THEN vtj_internal.pv(j.turvakielto->'turvaLoppuPv') END,
           x.kotikunta,
           v.katuosoite, v.postinumero, v.postitoimipaikka, v.valtiokoodi
      FROM x
      JOIN vtj.jasen j ON j.rekisteri = p_rekisteri AND j.hetu = x.hetu
      LEFT JOIN v ON v.hetu = x.hetu
     WHERE j.hetu = ANY (p_hetut);
END $$;

-- Rebuilds the typed rows of the given persons from their stored data (read by key).
CREATE OR REPLACE FUNCTION vtj_internal.tyypita(p_rekisteri text, p_hetut text[]) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vtj_internal.tyotaulut();
    TRUNCATE pg_temp.vtj_tyyppi;
    INSERT INTO pg_temp.vtj_tyyppi (hetu, tietoryhma, tietueet)
    SELECT t.hetu, t.tietoryhma, t.tietueet FROM vtj.tieto t WHERE t.rekisteri = p_rekisteri AND t.hetu = ANY (p_hetut);
    PERFORM vtj_internal.tyypita_rivit(p_rekisteri, p_hetut);
    TRUNCATE pg_temp.vtj_tyyppi;
END $$;

-- ---------------------------------------------------------------------------------------
-- Censor what the register holds of those of the given members that are held censored: their
-- censored groups are deleted and their change-log rows of those groups (written before the
-- turvakielto took effect) are reduced to {"tietoryhma": T, "sensuroitu": true}. Runs in the
-- caller's transaction, by key: it changes the state of no one else.
-- ---------------------------------------------------------------------------------------
-- The censored members are looked up first, so that the statements can only go by their key
-- (as a join, with the statistics of a growing table, the planner read every row of the
-- censored groups of the register instead). The look-up joins from the given hetus: as
-- "hetu = ANY (p_hetut) AND sensuroitu" it went through the index of all censored members of
-- the register and compared each with every hetu of the batch, a cost that grew with every
-- batch loaded (a quarter of the load's CPU at 1,000,000 members).
CREATE OR REPLACE FUNCTION vtj_internal.sensuroi(p_rekisteri text, p_sensuroitavat text[], p_hetut text[]) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vtj_internal.sensuroi_jasenet(p_rekisteri, p_sensuroitavat,
                                  ARRAY(SELECT j.hetu FROM unnest(p_hetut) h
                                          JOIN vtj.jasen j ON j.rekisteri = p_rekisteri AND j.hetu = h
                                         WHERE j.sensuroitu));
END $$;

-- The same for members the caller knows to be held censored.
CREATE OR REPLACE FUNCTION vtj_internal.sensuroi_jasenet(p_rekisteri text, p_sensuroitavat text[], p_sensuroidut text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF coalesce(cardinality(p_sensuroidut), 0) = 0 THEN
        RETURN;
    END IF;
    DELETE FROM vtj.tieto d
     WHERE d.rekisteri = p_rekisteri AND d.hetu = ANY (p_sensuroidut) AND d.tietoryhma = ANY (p_sensuroitavat);
    UPDATE vtj.muutosloki m SET tiedot = vtj_internal.sensuroitu(m.tietoryhma)
     WHERE m.rekisteri = p_rekisteri AND m.hetu = ANY (p_sensuroidut) AND m.tietoryhma = ANY (p_sensuroitavat)
       AND m.tiedot IS DISTINCT FROM vtj_internal.sensuroitu(m.tietoryhma);
    -- The typed rows (vtj.henkilo, vtj.osoite) are derived from vtj.tieto: rebuilt from what is
    -- left, so that no typed column keeps a group that is gone, whichever columns derive from it.
    PERFORM vtj_internal.tyypita(p_rekisteri, p_sensuroidut);
END $$;

-- ---------------------------------------------------------------------------------------
-- Loading basic data for a set of members (the initial load, new members, reveals, moved
-- persons). Replaces the stored data of every person the interface returned; marks the others
-- as missing. p_ajo/p_kirjaa: log the fetched groups to vtj.muutosloki as PERUSTIEDOT rows.
-- p_uudet: the caller has found, in this transaction and under the register's lock, that no
-- member of p_hetut was ever loaded (jasen.ladattu IS NULL). Nothing of them is stored then
-- (ladattu is set in the transaction that first stores a member's data and never cleared), so
-- the deletes by key and the look-up of kept data are skipped: a tenth of an initial load.
-- Returns the number of persons the interface returned.
-- ---------------------------------------------------------------------------------------
-- (Two halves: vtj_internal.lataa_lue reads the interface as the caller — with the caller's
-- user mapping — into the session's working table, censored on the way in; the store,
-- vtj_internal.lataa_tallenna, writes the register's tables as the extension's owner.)
CREATE OR REPLACE FUNCTION vtj_internal.lataa(p_rekisteri text, p_hetut text[], p_ajo bigint DEFAULT NULL, p_kirjaa boolean DEFAULT false,
                           p_uudet boolean DEFAULT false, p_positio bigint DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE v_palautui integer := 0;
BEGIN
    -- (a change run may find many members added since the last one: a statement reads at most
    -- vtj_internal.suurin_era() persons)
    FOR i IN 1 .. coalesce(cardinality(p_hetut), 0) BY vtj_internal.suurin_era() LOOP
        PERFORM vtj_internal.lataa_lue(p_rekisteri, p_hetut[i:i + vtj_internal.suurin_era() - 1]);
        v_palautui := v_palautui + vtj_internal.lataa_tallenna(p_rekisteri, p_hetut[i:i + vtj_internal.suurin_era() - 1],
                                                               p_ajo, p_kirjaa, p_uudet, p_positio);
    END LOOP;
    RETURN v_palautui;
END $$;

-- The read: one read of the interface for the persons, a row per person and group.
CREATE OR REPLACE FUNCTION vtj_internal.lataa_lue(p_rekisteri text, p_hetut text[], p_suojatut text[] DEFAULT '{}') RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r vtj.rekisteri := vtj_internal.rekisteri(p_rekisteri);
    t vtj.tuote;
    p date := vtj_internal.tanaan();
BEGIN
    SELECT * INTO t FROM vtj.tuote WHERE tuote = r.tuote;
    PERFORM vtj_internal.tyotaulut();
    TRUNCATE pg_temp.vtj_pt, pg_temp.vtj_tyyppi;
    PERFORM vtj_internal.muisti();
    -- One read of the interface, a row per person and group, each group's records already in
    -- their stored form (perustiedot_ryhmittain). Each row carries what decides for its person,
    -- before the INSERT, whether the censored groups' values may be kept at all.
    EXECUTE format($q$
        INSERT INTO pg_temp.vtj_pt (hetu, jarjestys, tietoryhma, tietueet, salattu, suojattu, tallennettu)
        SELECT x.hetu, x.jarjestys, x.tietoryhma,
               CASE WHEN x.suojattu AND x.tietoryhma = ANY ($3) THEN NULL ELSE x.tiedot END,
               x.salattu, x.suojattu,
               x.tietoryhma = ANY ($2) AND NOT (x.suojattu AND x.tietoryhma = ANY ($3)) AND x.tiedot <> '[]'::jsonb
          FROM (SELECT f.hetu, f.jarjestys, f.tietoryhma, f.tiedot, f.turvakiellon_alaiset_kentat IS NOT NULL AS salattu,
                       vtj_internal.suojaa_henkilo(f.henkilolla_salattua, f.henkilon_turvakielto, $4)
                         OR f.hetu = ANY ($6) AS suojattu
                  FROM %I.perustiedot_ryhmittain f
                 -- (the group condition is applied by the scan, before any conversion)
                 WHERE f.hetu = ANY ($1) AND f.tietoryhma = ANY ($5)) x$q$, r.skeema)
    USING p_hetut, t.tietoryhmat, t.sensuroitavat, p, t.tietoryhmat || '{TURVAKIELTO,HENKILOTUNNUS_KORJAUS}'::text[],
          coalesce(p_suojatut, '{}');
END $$;

-- The store: replaces the stored data of every person the read returned (vtj_pt), marks the
-- others as missing; returns how many it returned. SECURITY DEFINER: it writes the register's
-- tables, which the roles that run the mirror (vtj_ajaja) cannot touch otherwise.
CREATE OR REPLACE FUNCTION vtj_internal.lataa_tallenna(p_rekisteri text, p_hetut text[], p_ajo bigint, p_kirjaa boolean,
                                            p_uudet boolean, p_positio bigint) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r vtj.rekisteri := vtj_internal.rekisteri(p_rekisteri);
    t vtj.tuote;
    v_palautui integer;
BEGIN
    SELECT * INTO t FROM vtj.tuote WHERE tuote = r.tuote;

    IF EXISTS (SELECT 1 FROM pg_temp.vtj_pt s
                WHERE s.tietoryhma = 'TURVAKIELTO'
                  AND EXISTS (SELECT 1 FROM jsonb_array_elements(s.tietueet) e WHERE vtj_internal.outo_turvakielto(e.value))) THEN
        RAISE NOTICE 'vtj: register "%": % persons have a TURVAKIELTO record whose turvakieltoAktiivinen is neither true nor false; they are held protected',
            p_rekisteri, (SELECT count(DISTINCT s.hetu) FROM pg_temp.vtj_pt s
                           WHERE s.tietoryhma = 'TURVAKIELTO'
                             AND EXISTS (SELECT 1 FROM jsonb_array_elements(s.tietueet) e WHERE vtj_internal.outo_turvakielto(e.value)));
    END IF;

    IF p_kirjaa THEN
        -- What the basic data fetched again changed, against what the register held (before it is
        -- replaced): the records of a group that differs, as PERUSTIEDOT rows; a group censored
        -- here, or that the interface withheld fields of, and that the register held, as one
        -- {"tietoryhma": T, "sensuroitu": true}; a group that is gone, as {"tietoryhma": T,
        -- "poistettu": true}. A person fetched again with nothing changed gets no row.
        WITH vanha AS (
            SELECT d.hetu, d.tietoryhma, d.tietueet FROM vtj.tieto d
             WHERE d.rekisteri = p_rekisteri AND d.hetu = ANY (ARRAY(SELECT DISTINCT s.hetu FROM pg_temp.vtj_pt s))),
        uusi AS (
            SELECT s.hetu, s.tietoryhma, s.jarjestys, s.tietueet, s.tallennettu, s.tietueet IS NULL OR s.salattu AS salattu
              FROM pg_temp.vtj_pt s WHERE s.tietoryhma = ANY (t.tietoryhmat)),
        rivit AS (
            SELECT u.hetu, u.tietoryhma, u.jarjestys, e.n, e.x
              FROM uusi u LEFT JOIN vanha v ON v.hetu = u.hetu AND v.tietoryhma = u.tietoryhma
             CROSS JOIN LATERAL (SELECT a.x, a.n FROM jsonb_array_elements(CASE WHEN u.tallennettu THEN u.tietueet ELSE '[]' END)
                                                      WITH ORDINALITY a(x, n)
                                 UNION ALL
                                 SELECT vtj_internal.sensuroitu(u.tietoryhma), 0 WHERE u.salattu) e
             WHERE CASE WHEN e.n = 0 THEN v.hetu IS NOT NULL
                        ELSE v.tietueet IS DISTINCT FROM u.tietueet END
            UNION ALL
            SELECT v.hetu, v.tietoryhma, 9223372036854775807, 0,
                   jsonb_build_object('tietoryhma', v.tietoryhma, 'poistettu', true)
              FROM vanha v
             WHERE NOT EXISTS (SELECT 1 FROM uusi u WHERE u.hetu = v.hetu AND u.tietoryhma = v.tietoryhma))
        INSERT INTO vtj.muutosloki (rekisteri, hetu, ajo, tietoryhma, muutosattribuutti, tiedot, positio)
        SELECT p_rekisteri, x.hetu, p_ajo, x.tietoryhma, 'PERUSTIEDOT', x.x, p_positio
          FROM rivit x
         ORDER BY x.hetu, x.jarjestys, x.n;
    END IF;

    -- The persons returned: their stored data are replaced. Every statement below reads the
    -- batch's rows by key (or the batch's working tables), never the whole store.
    IF NOT p_uudet THEN
        DELETE FROM vtj.tieto d
         WHERE d.rekisteri = p_rekisteri AND d.hetu = ANY (ARRAY(SELECT DISTINCT s.hetu FROM pg_temp.vtj_pt s));
    END IF;
    -- (the typed rows are built from these rows of vtj_pt too: vtj_internal.tyypita_rivit)
    INSERT INTO vtj.tieto (rekisteri, hetu, tietoryhma, tietueet)
    SELECT p_rekisteri, s.hetu, s.tietoryhma, s.tietueet FROM pg_temp.vtj_pt s WHERE s.tallennettu;

    -- The members' state, and their events in the change log (vtj_internal.kirjaa_sensuroidut):
    -- LADATTU for basic data stored where the mirror had none, PUUTTUU for a member not returned
    -- that was returned before (or never loaded), PALJASTETTU for one no longer held censored.
    -- (o: the member's row before this statement)
    WITH u AS (
    UPDATE vtj.jasen j
       SET ladattu = now(),
           puuttuu = (s.hetu IS NULL),
           turvakielto = CASE WHEN s.hetu IS NULL THEN j.turvakielto ELSE s.tk END,
           sensuroitu = CASE WHEN s.hetu IS NULL THEN j.sensuroitu ELSE s.suojattu END,
           aktiivinen_hetu = CASE WHEN s.hetu IS NULL THEN j.aktiivinen_hetu
                                  WHEN s.aktiivinen IS DISTINCT FROM q.h THEN s.aktiivinen END
      FROM (SELECT DISTINCT h FROM unnest(p_hetut) h) q
      JOIN vtj.jasen o ON o.rekisteri = p_rekisteri AND o.hetu = q.h
      -- the last TURVAKIELTO record and the active hetu of each person (one row per person and
      -- group: each is there once)
      LEFT JOIN (SELECT v.hetu, bool_or(v.suojattu) AS suojattu,
                        (array_agg(v.tietueet->-1) FILTER (WHERE v.tietoryhma = 'TURVAKIELTO'))[1] AS tk,
                        (array_agg(vtj_internal.aktiivinen_hetu(v.tietueet))
                            FILTER (WHERE v.tietoryhma = 'HENKILOTUNNUS_KORJAUS' AND v.tietueet IS NOT NULL))[1] AS aktiivinen
                   FROM pg_temp.vtj_pt v GROUP BY v.hetu) s ON s.hetu = q.h
     WHERE j.rekisteri = p_rekisteri AND j.hetu = q.h
    RETURNING j.hetu, NOT j.puuttuu AS palautui,
              CASE WHEN j.puuttuu THEN CASE WHEN o.ladattu IS NULL OR NOT o.puuttuu THEN 'PUUTTUU' END
                   WHEN o.ladattu IS NULL OR o.puuttuu THEN 'LADATTU' END AS tapahtuma,
              o.sensuroitu AND NOT j.sensuroitu AS paljastettu,
              j.sensuroitu AND NOT o.sensuroitu AND o.ladattu IS NOT NULL AND NOT o.puuttuu AS sensuroitiin),
    l AS (
        INSERT INTO vtj.muutosloki (rekisteri, hetu, ajo, tietoryhma, muutosattribuutti, tiedot, positio)
        SELECT p_rekisteri, e.hetu, p_ajo, e.tietoryhma, e.tapahtuma, e.tiedot, p_positio
          FROM (SELECT u.hetu, 'JASEN' AS tietoryhma, u.tapahtuma, NULL::jsonb AS tiedot FROM u WHERE u.tapahtuma IS NOT NULL
                UNION ALL
                SELECT u.hetu, 'JASEN', 'PALJASTETTU', NULL FROM u WHERE u.paljastettu
                UNION ALL
                -- (a member fetched again that is censored now: its groups, whatever the fetch logged)
                SELECT u.hetu, g.g, 'SENSUROITU', vtj_internal.sensuroitu(g.g)
                  FROM u CROSS JOIN unnest(t.sensuroitavat) g(g) WHERE u.sensuroitiin) e
         ORDER BY e.hetu, e.tietoryhma, e.tapahtuma)
    SELECT count(*) FILTER (WHERE u.palautui) INTO v_palautui FROM u;

    -- The members not returned keep their stored data: their typed rows are rebuilt from it
    -- (and those returned from what was stored of them above).
    IF NOT p_uudet THEN
        INSERT INTO pg_temp.vtj_tyyppi (hetu, tietoryhma, tietueet)
        SELECT d.hetu, d.tietoryhma, d.tietueet FROM vtj.tieto d
         WHERE d.rekisteri = p_rekisteri
           AND d.hetu = ANY (ARRAY(SELECT h FROM unnest(p_hetut) h EXCEPT SELECT s.hetu FROM pg_temp.vtj_pt s));
    END IF;
    PERFORM vtj_internal.tyypita_rivit(p_rekisteri, p_hetut, p_uudet, p_pt => true);
    -- Only these members' state changed here: censor them by key, not the whole register. What
    -- was just stored of the returned ones is censored already; of those protected now, the
    -- change-log rows written before are reduced. The members not returned keep their state
    -- and their stored data (censored when they became censored). (After the typed rows: the
    -- censoring rebuilds those of the members it censors.)
    PERFORM vtj_internal.sensuroi_jasenet(p_rekisteri, t.sensuroitavat, ARRAY(SELECT DISTINCT s.hetu FROM pg_temp.vtj_pt s WHERE s.suojattu));
    TRUNCATE pg_temp.vtj_pt, pg_temp.vtj_tyyppi;
    RETURN v_palautui;
END $$;

-- ---------------------------------------------------------------------------------------
-- Public API: registers and members
-- ---------------------------------------------------------------------------------------
-- SECURITY DEFINER: the schema and the foreign tables are the extension owner's (a role that
-- runs the mirror gets USAGE and SELECT on them, nothing more); the caller must have USAGE on
-- the server, as for a user mapping of its own.
CREATE OR REPLACE FUNCTION vtj.luo_rekisteri(rekisteri text, palvelin text, tuote text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_srv oid;
    v_fdw text;
    v_url boolean;
    v_skeema text := left('vtj_' || palvelin, 63);
    v_kutsuja oid := vtj_internal.kutsuja();
    v_omistaja oid := (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'vtj_fdw');
    v_vieras text;
BEGIN
    IF rekisteri IS NULL OR rekisteri = '' OR length(rekisteri) > 63 THEN
        RAISE EXCEPTION 'a register needs a name of 1 to 63 characters' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM vtj.rekisteri x WHERE x.rekisteri = luo_rekisteri.rekisteri) THEN
        RAISE EXCEPTION 'register "%" already exists', rekisteri USING ERRCODE = '42710',
            HINT = 'Choose another name, or remove the old register with vtj.poista_rekisteri(rekisteri).';
    END IF;
    SELECT s.oid, w.fdwname, EXISTS (SELECT 1 FROM unnest(s.srvoptions) o WHERE o LIKE 'url=%')
      INTO v_srv, v_fdw, v_url
      FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
     WHERE s.srvname = palvelin;
    IF v_srv IS NULL THEN
        RAISE EXCEPTION 'server "%" does not exist', palvelin USING ERRCODE = '42704',
            HINT = 'Create it first: CREATE SERVER name FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url ''…/api/v1''), and a user mapping.';
    END IF;
    IF v_fdw <> 'vtj_fdw' THEN
        RAISE EXCEPTION 'server "%" is not a vtj_fdw server', palvelin USING ERRCODE = '22023';
    END IF;
    IF NOT v_url THEN
        RAISE EXCEPTION 'server "%" has no change interface (option "url")', palvelin USING ERRCODE = '22023',
            HINT = 'A register is kept from VTJ-muutosrajapinta: give the server OPTIONS (ADD url ''…/api/v1''); VTJkysely (kysely_url) is for one-person look-ups only.';
    END IF;
    IF NOT pg_catalog.has_server_privilege(v_kutsuja, v_srv, 'USAGE') THEN
        RAISE EXCEPTION 'permission denied for foreign server "%"', palvelin USING ERRCODE = '42501',
            HINT = 'A register is created by a role with USAGE on its server: GRANT USAGE ON FOREIGN SERVER … TO the role.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM vtj.tuote x WHERE x.tuote = luo_rekisteri.tuote) THEN
        RAISE EXCEPTION 'product "%" does not exist', tuote USING ERRCODE = '42704',
            HINT = format('The products are: %s (vtj.tuote).', (SELECT string_agg(x.tuote, ', ' ORDER BY x.tuote) FROM vtj.tuote x));
    END IF;
    -- The server's foreign tables live in a schema of their own, shared by its registers. One
    -- that exists already is adopted only when it and its tables are the extension owner's (or
    -- the caller's) and the tables are this server's foreign tables: a schema prepared by
    -- another role could hold a view that runs that role's code whenever the register is read.
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = v_skeema) THEN
        SELECT string_agg(x.mika, '; ') INTO v_vieras FROM (
            SELECT format('the schema is owned by %s', n.nspowner::regrole) AS mika
              FROM pg_catalog.pg_namespace n
             WHERE n.nspname = v_skeema AND n.nspowner NOT IN (v_omistaja, v_kutsuja)
            UNION ALL
            SELECT format('%s is missing, or is not a foreign table of server %s owned by the extension''s owner', t.n, palvelin)
              FROM unnest('{kirjausavain,muutokset,perustiedot,perustiedot_ryhmittain}'::text[]) t(n)
             WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_foreign_table ft ON ft.ftrelid = c.oid
                                WHERE c.relnamespace = v_skeema::regnamespace AND c.relname = t.n AND c.relkind = 'f'
                                  AND ft.ftserver = v_srv AND c.relowner IN (v_omistaja, v_kutsuja))
            UNION ALL
            SELECT format('%s is owned by %s', c.relname, c.relowner::regrole)
              FROM pg_catalog.pg_class c
             WHERE c.relnamespace = v_skeema::regnamespace AND c.relowner NOT IN (v_omistaja, v_kutsuja)
            UNION ALL
            SELECT format('function %s is owned by %s', p.oid::regprocedure, p.proowner::regrole)
              FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = v_skeema::regnamespace AND p.proowner NOT IN (v_omistaja, v_kutsuja)) x;
        IF v_vieras IS NOT NULL THEN
            RAISE EXCEPTION 'schema "%" exists but vtj.luo_rekisteri cannot use it', v_skeema
                USING ERRCODE = '42P06', DETAIL = v_vieras,
                      HINT = 'vtj.luo_rekisteri imports the server''s tables into a schema of that name and uses only what it made: rename or drop the schema, then try again.';
        END IF;
    ELSE
        EXECUTE format('CREATE SCHEMA %I', v_skeema);
        EXECUTE format('IMPORT FOREIGN SCHEMA muutosrajapinta LIMIT TO (kirjausavain, muutokset, perustiedot, perustiedot_ryhmittain) FROM SERVER %I INTO %I',
                       palvelin, v_skeema);
    END IF;
    -- the roles that run the mirror read the interface through these tables, as themselves
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO vtj_ajaja', v_skeema);
    EXECUTE format('GRANT SELECT ON %I.kirjausavain, %I.muutokset, %I.perustiedot, %I.perustiedot_ryhmittain TO vtj_ajaja',
                   v_skeema, v_skeema, v_skeema, v_skeema);
    INSERT INTO vtj.rekisteri (rekisteri, palvelin, tuote, skeema)
    VALUES (luo_rekisteri.rekisteri, palvelin, luo_rekisteri.tuote, v_skeema);
    RETURN v_skeema;
END $$;
COMMENT ON FUNCTION vtj.luo_rekisteri(text, text, text) IS
    'Creates a register bound to a vtj_fdw server and a product; imports the server''s foreign tables into schema vtj_<server> (returned)';
CREATE OR REPLACE FUNCTION vtj.poista_rekisteri(rekisteri text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE r vtj.rekisteri := vtj_internal.rekisteri(rekisteri);
BEGIN
    PERFORM vtj_internal.datalukko(r.rekisteri);
    DELETE FROM vtj.muutosloki m WHERE m.rekisteri = r.rekisteri;
    DELETE FROM vtj.osoite m WHERE m.rekisteri = r.rekisteri;
    DELETE FROM vtj.henkilo m WHERE m.rekisteri = r.rekisteri;
    DELETE FROM vtj.tieto m WHERE m.rekisteri = r.rekisteri;
    DELETE FROM vtj.rekisteri m WHERE m.rekisteri = r.rekisteri;   -- members and runs cascade
END $$;
COMMENT ON FUNCTION vtj.poista_rekisteri(text) IS
    'Removes a register with all its members, stored data, change log and run log (the foreign-table schema stays)';

-- The hetus given to vtj.lisaa_henkilot and vtj.poista_henkilot: all must be valid, else
-- nothing happens and the error gives the count and positions of the invalid ones, never values
-- (a typo in a data-protection deletion must not pass unnoticed either).
CREATE OR REPLACE FUNCTION vtj_internal.tarkista_hetut(p_hetut text[], p_kutsu text, p_mitaan text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE v_virheet integer[];
BEGIN
    IF p_hetut IS NULL THEN
        RAISE EXCEPTION '%: the list of hetus is NULL', p_kutsu USING ERRCODE = '22004',
            HINT = p_mitaan || ' Give an array of hetus, e.g. ARRAY[''010101-900F''] or ARRAY(SELECT hetu FROM …).';
    END IF;
    SELECT array_agg(e.n ORDER BY e.n) INTO v_virheet
      FROM unnest(p_hetut) WITH ORDINALITY e(h, n)
     WHERE e.h IS NULL OR NOT vtj.hetu_kelpaa(e.h);
    IF v_virheet IS NOT NULL THEN
        RAISE EXCEPTION '%: % of % hetus are invalid, at positions %', p_kutsu, cardinality(v_virheet), cardinality(p_hetut),
            array_to_string(v_virheet[1:20], ', ') || CASE WHEN cardinality(v_virheet) > 20 THEN ', …' ELSE '' END
            USING ERRCODE = '22P02',
                  HINT = p_mitaan || ' Positions count from 1; vtj.hetu_kelpaa(hetu) tells which values are valid.';
    END IF;
END $$;
CREATE OR REPLACE FUNCTION vtj.lisaa_henkilot(rekisteri text, hetut text[]) RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r vtj.rekisteri := vtj_internal.rekisteri(rekisteri);
    v_n integer;
BEGIN
    PERFORM vtj_internal.tarkista_hetut(hetut, 'vtj.lisaa_henkilot', 'Nothing was added.');
    -- Members are added between the transactions of a run or load (the data lock: a batch in
    -- flight finishes first, the next waits for this).
    PERFORM vtj_internal.datalukko(r.rekisteri);
    -- In hetu order: the load reads, updates and joins the members batch by batch in hetu order,
    -- and a batch's rows then lie on neighbouring pages (at 1,000,000 members the tables do not
    -- fit in shared buffers, and rows in the order given cost a buffer miss each).
    INSERT INTO vtj.jasen (rekisteri, hetu)
    SELECT r.rekisteri, u.h FROM (SELECT DISTINCT h COLLATE "C" AS h FROM unnest(hetut) h) u ORDER BY u.h
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END $$;
COMMENT ON FUNCTION vtj.lisaa_henkilot(text, text[]) IS
    'Adds members (hetus) to a register; all must be valid (else nothing is added); duplicates are ignored. Returns how many were added';
CREATE OR REPLACE FUNCTION vtj.poista_henkilot(rekisteri text, hetut text[]) RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r vtj.rekisteri := vtj_internal.rekisteri(rekisteri);
    v_n integer;
    v_ei integer;
BEGIN
    PERFORM vtj_internal.tarkista_hetut(hetut, 'vtj.poista_henkilot', 'Nothing was removed.');
    -- Wait for the register's transaction in flight, so that it cannot write the persons back.
    PERFORM vtj_internal.datalukko(r.rekisteri);
    DELETE FROM vtj.muutosloki m WHERE m.rekisteri = r.rekisteri AND m.hetu = ANY (hetut);
    DELETE FROM vtj.osoite m WHERE m.rekisteri = r.rekisteri AND m.hetu = ANY (hetut);
    DELETE FROM vtj.henkilo m WHERE m.rekisteri = r.rekisteri AND m.hetu = ANY (hetut);
    DELETE FROM vtj.tieto m WHERE m.rekisteri = r.rekisteri AND m.hetu = ANY (hetut);
    DELETE FROM vtj.jasen m WHERE m.rekisteri = r.rekisteri AND m.hetu = ANY (hetut);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_ei := (SELECT count(DISTINCT h) FROM unnest(hetut) h) - v_n;
    IF v_ei > 0 THEN
        RAISE NOTICE 'vtj.poista_henkilot(%): % of the % hetus given were not members of the register',
            r.rekisteri, v_ei, (SELECT count(DISTINCT h) FROM unnest(hetut) h)
            USING HINT = 'SELECT * FROM vtj.ei_jasenia(rekisteri, hetut) lists them (a hetu corrected since is a member under its new hetu: vtj.jasen.edelliset).';
    END IF;
    RETURN v_n;
END $$;
COMMENT ON FUNCTION vtj.poista_henkilot(text, text[]) IS
    'Removes members and all their stored data in the register (current data, typed rows, addresses, change log); all hetus must be valid. Returns how many members were removed (a NOTICE counts the hetus that were not members)';

-- The hetus of a list that are not members of the register (what vtj.poista_henkilot did not find).
CREATE OR REPLACE FUNCTION vtj.ei_jasenia(rekisteri text, hetut text[]) RETURNS TABLE (hetu text, nykyinen_hetu text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE r vtj.rekisteri := vtj_internal.rekisteri(rekisteri);
BEGIN
    RETURN QUERY
    SELECT DISTINCT h, (SELECT j.hetu FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri AND h = ANY (j.edelliset) LIMIT 1)
      FROM unnest(hetut) h
     WHERE NOT EXISTS (SELECT 1 FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri AND j.hetu = h)
     ORDER BY 1;
END $$;
COMMENT ON FUNCTION vtj.ei_jasenia(text, text[]) IS
    'The hetus of the list that are not members of the register, each with the member''s current hetu when it was corrected since';

-- ---------------------------------------------------------------------------------------
-- The initial load
-- ---------------------------------------------------------------------------------------

-- The state of a run between its transactions and steps (the procedures only COMMIT and hand
-- this on: every statement of a run is in a function with a fixed search_path).
DROP TYPE IF EXISTS vtj_internal.ajon_tila CASCADE;
CREATE TYPE vtj_internal.ajon_tila AS (
    ajo           bigint,
    rekisteri     text,
    kutsu         text,          -- 'vtj.paivita' | 'vtj.lataa_perustiedot', for messages
    erakoko       integer,       -- a load: members a batch
    jasenia       bigint,        -- a load: members to load when it began
    tehty         bigint,        -- a load: members done
    palautui      bigint,        -- a load: members the interface returned
    viimeinen     text,          -- a load: the last hetu of the previous batch
    analysoitu    bigint,        -- a load: members done when the statistics were last refreshed
    alku          timestamptz,
    ilmoitettu    timestamptz,   -- the last progress NOTICE
    pyynnot       bigint,        -- this backend's HTTP requests when the run began
    valmis        boolean,       -- a load: nothing left
    alku_avain    bigint,        -- a change run: the window
    loppu_avain   bigint,
    muutoksia     bigint,
    henkiloita    bigint,
    ladattuja     bigint,
    sensuroituja  bigint,        -- members the run began to hold censored
    positio       bigint,        -- the change-log position of the run's (current) transaction
    poistettu_lokista bigint,    -- change-log rows the run deleted (the register's retention)
    era           text[]         -- a load: the members of the batch being loaded
);

-- The start of a run: its lock, the dead runs it replaces, its row in vtj.ajo. The caller
-- commits right after, so the row is there before any work, whatever happens to the backend.
CREATE OR REPLACE FUNCTION vtj_internal.ajo_alkaa(p_rekisteri text, p_laji text, p_kutsu text) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r vtj.rekisteri := vtj_internal.rekisteri(p_rekisteri);
    a vtj_internal.ajon_tila;
BEGIN
    PERFORM vtj_internal.ajolukko(r, p_kutsu);
    -- No run of the register is executing: one still 'kaynnissa' died.
    UPDATE vtj_internal.ajo x SET tila = 'keskeytynyt', loppu = coalesce(x.elossa, x.alku)
     WHERE x.rekisteri = r.rekisteri AND x.tila = 'kaynnissa';
    a.rekisteri := r.rekisteri;
    a.kutsu := p_kutsu;
    a.alku := clock_timestamp();
    a.ilmoitettu := a.alku;
    a.pyynnot := vtj_internal.pyyntoja();
    a.tehty := 0;
    a.palautui := 0;
    a.viimeinen := '';
    a.analysoitu := 0;
    a.valmis := false;
    a.muutoksia := 0;
    a.henkiloita := 0;
    a.ladattuja := 0;
    a.sensuroituja := 0;
    INSERT INTO vtj_internal.ajo (rekisteri, laji, kirjausavain_alku, pid, taustaprosessi_alku, elossa)
    SELECT r.rekisteri, p_laji, r.kirjausavain, pg_backend_pid(), s.backend_start, clock_timestamp()
      FROM pg_catalog.pg_stat_activity s WHERE s.pid = pg_backend_pid()
    RETURNING ajo INTO a.ajo;
    RETURN a;
END $$;

-- A failed run, recorded once for both kinds: its row says why, with what it had done. The
-- message only: a DETAIL may quote a key, and a key holds a hetu.
CREATE OR REPLACE FUNCTION vtj_internal.ajo_epaonnistui(a vtj_internal.ajon_tila, p_sqlstate text, p_viesti text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    UPDATE vtj_internal.ajo x
       SET tila = 'virhe', loppu = clock_timestamp(), elossa = clock_timestamp(), sqlstate = p_sqlstate, virhe = p_viesti,
           henkiloita = CASE WHEN x.laji = 'lataa_perustiedot' THEN a.tehty ELSE x.henkiloita END,
           ladattuja = CASE WHEN x.laji = 'lataa_perustiedot' THEN a.palautui ELSE x.ladattuja END,
           sensuroituja = a.sensuroituja, positio = coalesce(a.positio, x.positio),
           pyyntoja = vtj_internal.pyyntoja() - a.pyynnot
     WHERE x.ajo = a.ajo;
END;

-- The error a failed run raises after its row is committed: the original SQLSTATE (pg_cron
-- records the job as failed), the message, the interface's DETAIL (class HV only: any other
-- could quote a key), the original hint, and what was kept — said once.
CREATE OR REPLACE FUNCTION vtj_internal.nosta_virhe(a vtj_internal.ajon_tila, p_sqlstate text, p_viesti text, p_tieto text,
                                         p_vihje text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_viesti text;
    v_jatko text;
    v_vihje text;
    v_tieto text := CASE WHEN p_sqlstate LIKE 'HV%' THEN nullif(p_tieto, '') END;
BEGIN
    IF a.kutsu = 'vtj.lataa_perustiedot' THEN
        v_viesti := format('vtj.lataa_perustiedot(%s) stopped after %s of %s members: %s', a.rekisteri, a.tehty,
                           coalesce(a.jasenia, 0), p_viesti);
        v_jatko := CASE WHEN a.tehty > 0 THEN 'The loaded batches are kept: CALL vtj.lataa_perustiedot again to continue.'
                        ELSE 'Nothing was loaded: CALL vtj.lataa_perustiedot again once the cause is fixed.' END;
    ELSE
        v_viesti := format('vtj.paivita(%s) failed: %s', a.rekisteri, p_viesti);
        v_jatko := 'Nothing was applied and the bookmark is unchanged; the failure is in vtj.ajo. Run vtj.paivita again.';
        IF coalesce(a.sensuroituja, 0) > 0 THEN
            v_jatko := v_jatko || format(' The %s members whose turvakielto the run had read are held censored all the same.',
                                         a.sensuroituja);
        END IF;
    END IF;
    -- the original hint first, unless it already says what was kept
    v_vihje := CASE WHEN coalesce(p_vihje, '') = '' THEN v_jatko
                    WHEN strpos(p_vihje, 'Nothing was') > 0 OR strpos(p_vihje, 'are kept') > 0 THEN p_vihje
                    ELSE p_vihje || ' ' || v_jatko END;
    IF v_tieto IS NULL THEN
        RAISE EXCEPTION '%', v_viesti USING ERRCODE = p_sqlstate, HINT = v_vihje;
    END IF;
    RAISE EXCEPTION '%', v_viesti USING ERRCODE = p_sqlstate, DETAIL = v_tieto, HINT = v_vihje;
END $$;
CREATE OR REPLACE FUNCTION vtj_internal.lataus_alkaa(p_rekisteri text, p_erakoko integer) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE a vtj_internal.ajon_tila;
BEGIN
    IF p_erakoko IS NULL OR p_erakoko < 1 OR p_erakoko > vtj_internal.suurin_era() THEN
        RAISE EXCEPTION 'erakoko must be between 1 and %', vtj_internal.suurin_era() USING ERRCODE = '22023',
            HINT = 'A batch is one statement and one transaction; a larger batch holds more in memory and loses more on a failure.';
    END IF;
    a := vtj_internal.ajo_alkaa(p_rekisteri, 'lataa_perustiedot', 'vtj.lataa_perustiedot');
    a.erakoko := p_erakoko;
    a.jasenia := (SELECT count(*) FROM vtj.jasen j WHERE j.rekisteri = a.rekisteri AND j.ladattu IS NULL);
    UPDATE vtj_internal.ajo SET jasenia = a.jasenia WHERE ajo = a.ajo;
    RETURN a;
END $$;

-- One batch of a load, in the caller's transaction (committed after it): under the data lock,
-- the next erakoko members not loaded yet, in hetu order after the previous batch's last.
CREATE OR REPLACE FUNCTION vtj_internal.lataa_era(a vtj_internal.ajon_tila) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE v_avain bigint;
BEGIN
    PERFORM vtj_internal.tyotaulut();
    a := vtj_internal.era_valitse(a);
    IF cardinality(a.era) > 0 THEN
        -- The first change run starts where the load started: today's bookmark (the first
        -- change of today, or the present), taken before any basic data are read.
        IF (SELECT x.kirjausavain FROM vtj.rekisteri x WHERE x.rekisteri = a.rekisteri) IS NULL THEN
            EXECUTE format('SELECT kirjausavain FROM %I.kirjausavain WHERE paiva = $1',
                           (SELECT x.skeema FROM vtj.rekisteri x WHERE x.rekisteri = a.rekisteri))
               INTO v_avain USING vtj_internal.tanaan();
            PERFORM vtj_internal.tallenna_alkuavain(a, v_avain);
        END IF;
        -- (a.era: members never loaded, read under the data lock in this transaction)
        a.palautui := a.palautui + vtj_internal.lataa(a.rekisteri, a.era, a.ajo, p_uudet => true, p_positio => a.positio);
        a.tehty := a.tehty + cardinality(a.era);
    ELSE
        a.valmis := true;
    END IF;
    RETURN vtj_internal.era_valmis(a);
END $$;

-- The next batch of a load, under the data lock: the next erakoko members not loaded yet, in
-- hetu order after the previous batch's last.
CREATE OR REPLACE FUNCTION vtj_internal.era_valitse(a vtj_internal.ajon_tila) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE r vtj.rekisteri := vtj_internal.datalukko(a.rekisteri);
BEGIN
    a.positio := vtj_internal.seuraava_positio(a.rekisteri);
    -- After the previous batch's last hetu: the partial index jasen_lataamatta still holds the
    -- entries of the members loaded before (until VACUUM), and starting from its beginning every
    -- batch would step over all of them. When nothing is left after it, start once more from the
    -- beginning (members added behind it meanwhile).
    a.era := ARRAY(SELECT j.hetu FROM vtj.jasen j
                    WHERE j.rekisteri = r.rekisteri AND j.ladattu IS NULL AND j.hetu > a.viimeinen
                    ORDER BY j.hetu LIMIT a.erakoko);
    IF cardinality(a.era) = 0 AND a.viimeinen <> '' THEN
        a.viimeinen := '';
        a.era := ARRAY(SELECT j.hetu FROM vtj.jasen j
                        WHERE j.rekisteri = r.rekisteri AND j.ladattu IS NULL
                        ORDER BY j.hetu LIMIT a.erakoko);
    END IF;
    a.viimeinen := coalesce(a.era[cardinality(a.era)], '');
    RETURN a;
END $$;

-- The register's first window start, taken when its load begins.
CREATE OR REPLACE FUNCTION vtj_internal.tallenna_alkuavain(a vtj_internal.ajon_tila, p_avain bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE vtj.rekisteri x SET kirjausavain = p_avain WHERE x.rekisteri = a.rekisteri AND x.kirjausavain IS NULL;
    UPDATE vtj_internal.ajo SET kirjausavain_alku = p_avain WHERE ajo = a.ajo AND kirjausavain_alku IS NULL;
END $$;

-- A batch done: fresh statistics when the loaded count has doubled (and in full at the end),
-- and the run's row.
CREATE OR REPLACE FUNCTION vtj_internal.era_valmis(a vtj_internal.ajon_tila) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT a.valmis AND a.tehty >= 2 * a.analysoitu THEN
        PERFORM vtj_internal.analysoi(true);
        a.analysoitu := a.tehty;
    ELSIF a.valmis AND a.tehty > 0 THEN
        PERFORM vtj_internal.analysoi(false);   -- the end, in full: for the change runs that follow
    END IF;
    UPDATE vtj_internal.ajo
       SET henkiloita = a.tehty, ladattuja = a.palautui, pyyntoja = vtj_internal.pyyntoja() - a.pyynnot,
           elossa = clock_timestamp(), positio = a.positio,
           kirjausavain_loppu = (SELECT x.kirjausavain FROM vtj.rekisteri x WHERE x.rekisteri = a.rekisteri),
           loppu = CASE WHEN a.valmis THEN clock_timestamp() END,
           tila = CASE WHEN a.valmis THEN 'ok' ELSE 'kaynnissa' END
     WHERE ajo = a.ajo;
    a.era := NULL;
    RETURN a;
END $$;

-- Progress of a load, every 5 s: done/total, rate, time left.
CREATE OR REPLACE FUNCTION vtj_internal.lataus_edistyy(a vtj_internal.ajon_tila) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE v_nopeus numeric;
BEGIN
    IF a.valmis THEN
        IF a.tehty > 0 THEN
            RAISE NOTICE 'vtj.lataa_perustiedot(%): % members loaded in % s, % returned by the interface',
                a.rekisteri, a.tehty, round(extract(epoch FROM clock_timestamp() - a.alku)::numeric, 1), a.palautui;
        END IF;
    ELSIF clock_timestamp() - a.ilmoitettu >= interval '5 seconds' THEN
        v_nopeus := a.tehty / greatest(extract(epoch FROM clock_timestamp() - a.alku), 0.001);
        RAISE NOTICE 'vtj.lataa_perustiedot(%): % of % members (% %%), % per second, about % s left',
            a.rekisteri, a.tehty, a.jasenia, round(100.0 * a.tehty / greatest(a.jasenia, 1)), round(v_nopeus),
            round(greatest(a.jasenia - a.tehty, 0) / greatest(v_nopeus, 0.001));
        a.ilmoitettu := clock_timestamp();
    END IF;
    RETURN a;
END $$;

-- The procedures commit between their transactions, so they take no SET search_path
-- (PostgreSQL refuses transaction control under one): their statements are only calls of
-- schema-qualified functions, COMMIT and tests of variables; everything else is in the
-- functions above and below, whose search_path is fixed.
CREATE OR REPLACE PROCEDURE vtj.lataa_perustiedot(rekisteri text, erakoko integer DEFAULT 10000)
LANGUAGE plpgsql AS $$
DECLARE
    a vtj_internal.ajon_tila;
    v_tila text;
    v_viesti text;
    v_vihje text;
    v_tieto text;
BEGIN
    PERFORM vtj_internal.oma_lause('vtj.lataa_perustiedot');
    COMMIT;   -- fails at once in any other atomic context, before any work
    a := vtj_internal.lataus_alkaa(rekisteri, erakoko);
    COMMIT;   -- the run's row is there before any work
    LOOP
        -- One batch per transaction: a failure or a cancel loses this batch only.
        BEGIN
            a := vtj_internal.lataa_era(a);
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            GET STACKED DIAGNOSTICS v_tila = RETURNED_SQLSTATE, v_viesti = MESSAGE_TEXT,
                                    v_vihje = PG_EXCEPTION_HINT, v_tieto = PG_EXCEPTION_DETAIL;
            PERFORM vtj_internal.ajo_epaonnistui(a, v_tila, v_viesti);
        END;
        COMMIT;   -- a finished batch stays loaded, whatever happens next
        EXIT WHEN v_tila IS NOT NULL;
        a := vtj_internal.lataus_edistyy(a);
        EXIT WHEN a.valmis;
    END LOOP;
    IF v_tila IS NOT NULL THEN
        PERFORM vtj_internal.nosta_virhe(a, v_tila, v_viesti, v_tieto, v_vihje);
    END IF;
END $$;
COMMENT ON PROCEDURE vtj.lataa_perustiedot(text, integer) IS
    'Loads the basic data of the members not loaded yet, in batches (default 10000) committed one by one; resumable';

-- ---------------------------------------------------------------------------------------
-- The change run
-- ---------------------------------------------------------------------------------------
-- A run is three steps in one transaction, each in a block of its own:
--   1. read the window into the session's staging table, censored on the way in;
--   2. hold censored the persons the read found protected, and purge what the register holds
--      of their censored groups — outside the other blocks, so this stays even when step 1 or
--      step 3 fails (a failed run must not leave a new turvakielto's addresses stored);
--   3. apply, log, fetch basic data, rebuild typed rows, save the bookmark.
-- A failure in 1 or 3 rolls back that block only; the run row records it, step 2 is kept, the
-- bookmark is not moved.

CREATE OR REPLACE FUNCTION vtj_internal.paivitys_alkaa(p_rekisteri text) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE r vtj.rekisteri := vtj_internal.rekisteri(p_rekisteri);
BEGIN
    -- A register never loaded would be loaded here in one giant transaction (a pg_cron job
    -- scheduled before the first load): refuse, and name the load.
    IF EXISTS (SELECT 1 FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri)
       AND NOT EXISTS (SELECT 1 FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri AND j.ladattu IS NOT NULL) THEN
        RAISE EXCEPTION 'vtj.paivita(%): the register has never been loaded', r.rekisteri
            USING ERRCODE = '55000',
                  HINT = format('Load it first with CALL vtj.lataa_perustiedot(%L); it loads in batches committed one by one. '
                                'vtj.paivita then loads only members added later.', r.rekisteri);
    END IF;
    RETURN vtj_internal.ajo_alkaa(p_rekisteri, 'paivita', 'vtj.paivita');
END $$;

-- Before the blocks, in the run's transaction: the data lock and the log position (held to the
-- commit, whatever the blocks do) and the working tables (created outside the blocks, so that a
-- block that fails cannot take them with it).
CREATE OR REPLACE FUNCTION vtj_internal.paivita_valmistele(a vtj_internal.ajon_tila) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r vtj.rekisteri := vtj_internal.datalukko(a.rekisteri);
    p date := vtj_internal.tanaan();
BEGIN
    a.positio := vtj_internal.seuraava_positio(a.rekisteri);
    -- The window starts at the register's bookmark (saved when its load began).
    a.alku_avain := r.kirjausavain;
    a.loppu_avain := a.alku_avain;
    IF a.alku_avain IS NULL THEN
        RAISE EXCEPTION 'register "%" has no bookmark to start its change window from', r.rekisteri
            USING ERRCODE = '55000',
                  HINT = 'A load saves the bookmark of the day it begins; run CALL vtj.lataa_perustiedot for the register.';
    END IF;
    -- The members the read asks about: every member, also the ones not loaded yet (their basic
    -- data are fetched in step 3, but a hetu correction in the window must be seen to fetch the
    -- right hetu). Protected from the start: held censored, or a stored turvakielto in force —
    -- and every member whose protection the mirror does not know: not loaded yet, or not
    -- returned by the interface when last asked (until their basic data say otherwise).
    TRUNCATE pg_temp.vtj_lue;
    INSERT INTO pg_temp.vtj_lue (hetu, suojattu, uusi)
    SELECT j.hetu, j.sensuroitu OR j.ladattu IS NULL OR j.puuttuu OR vtj_internal.turvakielto_voimassa(j.turvakielto, p),
           j.ladattu IS NULL
      FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri;
    RETURN a;
END $$;

-- Step 1: the window, read once, censored on the way in (see the header of this file). As the
-- caller, with the caller's user mapping; it writes the session's staging table only.
CREATE OR REPLACE FUNCTION vtj_internal.paivita_lue(a vtj_internal.ajon_tila) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r vtj.rekisteri := vtj_internal.rekisteri(a.rekisteri);
    t vtj.tuote;
    v_suojatut text[] := ARRAY(SELECT l.hetu FROM pg_temp.vtj_lue l WHERE l.suojattu);
    v_uudet text[] := ARRAY(SELECT l.hetu FROM pg_temp.vtj_lue l WHERE l.uusi);
BEGIN
    SELECT * INTO t FROM vtj.tuote x WHERE x.tuote = r.tuote;
    TRUNCATE pg_temp.vtj_vaihe, pg_temp.vtj_tulos, pg_temp.vtj_siirto;
    PERFORM vtj_internal.muisti();
    -- (what this read learns about protection is also kept outside the transaction's blocks,
    -- for step 2 when the read fails: vtj_internal.luetut_suojaukset)
    PERFORM vtj_internal.nollaa_suojaukset();
    -- (The members go to the scan as ARRAY(SELECT …), built when the statement runs: as a
    -- parameter the planner folded a million-element array into the plan and estimated the
    -- selectivity of each element, 265 MB of planner memory at 1,000,000 members.)
    IF EXISTS (SELECT FROM pg_temp.vtj_lue) THEN
        EXECUTE format($q$
            INSERT INTO pg_temp.vtj_vaihe (hetu, jarjestys, kirjausavain, muutospv, tietoryhma, muutosattribuutti, tiedot,
                                           suojattu, uusi, ikkunassa)
            SELECT x.hetu, x.jarjestys, x.kirjausavain, x.muutospv, x.tietoryhma, x.muutosattribuutti,
                   CASE WHEN x.suojattu AND x.tietoryhma = ANY ($4) THEN vtj_internal.sensuroitu(x.tietoryhma) ELSE x.tiedot END,
                   x.suojattu, x.hetu = ANY ($6), x.ikkunassa
              FROM (SELECT y.*, y.ikkunassa OR y.hetu = ANY ($5) AS suojattu
                      FROM (SELECT f.hetu, f.jarjestys, f.kirjausavain, f.muutospv, f.tietoryhma, f.muutosattribuutti, f.tiedot,
                                   vtj_internal.suojaa_ikkunassa(f.henkilolla_salattua, f.henkilon_turvakielto) AS ikkunassa
                              FROM %I.muutokset f
                             WHERE f.hetu = ANY (ARRAY(SELECT l.hetu FROM pg_temp.vtj_lue l))
                               AND f.kirjausavain > $2) y) x
             WHERE x.tietoryhma = ANY ($3)$q$, r.skeema)
        USING r.rekisteri, a.alku_avain, t.tietoryhmat || '{TURVAKIELTO,HENKILOTUNNUS_KORJAUS}'::text[], t.sensuroitavat,
              v_suojatut, v_uudet;
        a.loppu_avain := vtj.viimeisin_kirjausavain();
        IF a.loppu_avain IS NULL OR a.loppu_avain < a.alku_avain THEN
            RAISE EXCEPTION 'the change scan of register "%" did not reach the present', r.rekisteri
                USING ERRCODE = 'HV000';
        END IF;
    END IF;
    -- Temporary tables are never analyzed by autovacuum: without a row count the planner
    -- may scan all of vtj.tieto once per staged row (seen at 1,000,000 members). Only the key
    -- columns: their statistics are what the joins need.
    ANALYZE pg_temp.vtj_vaihe (hetu, tietoryhma);
    SELECT count(*) FILTER (WHERE v.tietoryhma = ANY (t.tietoryhmat) AND NOT v.uusi), count(DISTINCT v.hetu) FILTER (WHERE NOT v.uusi)
      INTO a.muutoksia, a.henkiloita FROM pg_temp.vtj_vaihe v;
    IF EXISTS (SELECT 1 FROM pg_temp.vtj_vaihe v
                WHERE v.tietoryhma = 'TURVAKIELTO' AND v.ikkunassa AND NOT vtj_internal.on_merkki(v.tiedot)
                  AND vtj_internal.outo_turvakielto(v.tiedot)) THEN
        RAISE NOTICE 'vtj: register "%": % persons have a TURVAKIELTO change whose turvakieltoAktiivinen is neither true nor false; they are held protected',
            r.rekisteri, (SELECT count(DISTINCT v.hetu) FROM pg_temp.vtj_vaihe v
                           WHERE v.tietoryhma = 'TURVAKIELTO' AND v.ikkunassa AND vtj_internal.outo_turvakielto(v.tiedot));
    END IF;
    RETURN a;
END $$;

-- Step 2: the members the read found protected are held censored from now on, and what the
-- register holds of their censored groups goes — committed with the run's row even when the
-- read or the apply fails. When the read itself failed, the staging table is empty: the persons
-- are then those whose protecting records the failed scan had read before it failed (the scan
-- keeps their facts in the backend, vtj_internal.luetut_suojaukset), by the same rule.
CREATE OR REPLACE FUNCTION vtj_internal.paivita_suojaa(a vtj_internal.ajon_tila, p_luettu boolean) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r vtj.rekisteri := vtj_internal.rekisteri(a.rekisteri);
    t vtj.tuote;
    v_loydetyt text[];
    v_uudet text[];
BEGIN
    SELECT * INTO t FROM vtj.tuote x WHERE x.tuote = r.tuote;
    IF p_luettu THEN
        v_loydetyt := ARRAY(SELECT DISTINCT v.hetu FROM pg_temp.vtj_vaihe v WHERE v.ikkunassa);
    ELSE
        v_loydetyt := ARRAY(SELECT s.hetu FROM vtj_internal.luetut_suojaukset() s
                             WHERE vtj_internal.suojaa_ikkunassa(s.henkilolla_salattua, s.henkilon_turvakielto));
    END IF;
    PERFORM vtj_internal.nollaa_suojaukset();
    WITH s AS (
        UPDATE vtj.jasen j SET sensuroitu = true
         WHERE j.rekisteri = r.rekisteri AND NOT j.sensuroitu AND j.hetu = ANY (v_loydetyt)
        RETURNING j.hetu)
    SELECT ARRAY(SELECT s.hetu FROM s ORDER BY s.hetu) INTO v_uudet;
    PERFORM vtj_internal.sensuroi_jasenet(r.rekisteri, t.sensuroitavat, v_uudet);
    -- (under the run's position: a merge job learns it also when the rest of the run fails)
    PERFORM vtj_internal.kirjaa_sensuroidut(r.rekisteri, t.sensuroitavat, v_uudet, a.ajo, a.positio);
    a.sensuroituja := a.sensuroituja + cardinality(v_uudet);
    RETURN a;
END $$;

-- Step 3: apply, log, fetch basic data, type, save the bookmark.
CREATE OR REPLACE FUNCTION vtj_internal.paivita_sovella(a vtj_internal.ajon_tila) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    a := vtj_internal.paivita_tallenna(a);
    -- basic data of the members step 3 fetches, read as the caller (vtj_internal.lataa)
    a.ladattuja := vtj_internal.lataa(a.rekisteri, ARRAY(SELECT h.hetu FROM pg_temp.vtj_haettavat h WHERE h.kirjaa),
                                      a.ajo, true, p_positio => a.positio)
                 + vtj_internal.lataa(a.rekisteri, ARRAY(SELECT h.hetu FROM pg_temp.vtj_haettavat h WHERE NOT h.kirjaa),
                                      a.ajo, p_uudet => true, p_positio => a.positio);
    RETURN vtj_internal.paivita_lopeta(a);
END $$;

-- Step 3's writes: hetu corrections, the apply, censoring, the change log, typed rows; the
-- members to fetch basic data of go to pg_temp.vtj_haettavat.
CREATE OR REPLACE FUNCTION vtj_internal.paivita_tallenna(a vtj_internal.ajon_tila) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r vtj.rekisteri := vtj_internal.rekisteri(a.rekisteri);
    t vtj.tuote;
    p date := vtj_internal.tanaan();
    v_uudet text[];
    v_paljastettavat text[];
    v_siirretyt text[];
    v_kosketut text[];
    v_sensuroidut text[];   -- members held censored from this step on
BEGIN
    SELECT * INTO t FROM vtj.tuote x WHERE x.tuote = r.tuote;

    -- Hetu corrections: the person moves to the new active hetu (membership, data, log) and is
    -- fetched again under it (later changes are filed under the new hetu only).
    INSERT INTO pg_temp.vtj_siirto (vanha, uusi)
    SELECT DISTINCT ON (v.hetu) v.hetu, v.tiedot->>'aktiivinenHenkilotunnus'
      FROM pg_temp.vtj_vaihe v
     WHERE v.tietoryhma = 'HENKILOTUNNUS_KORJAUS'
       AND v.muutosattribuutti IN ('LISATTY', 'MUUTETTU', 'KORJATTU')
       AND v.tiedot->>'voimassaolo' = 'AKTIIVI'
     ORDER BY v.hetu, v.jarjestys DESC;
    DELETE FROM pg_temp.vtj_siirto s WHERE s.uusi IS NULL OR s.uusi = s.vanha;
    -- an active hetu we could not ask about is reported (vtj.laatu), not followed
    UPDATE vtj.jasen j SET aktiivinen_hetu = s.uusi
      FROM pg_temp.vtj_siirto s
     WHERE j.rekisteri = r.rekisteri AND j.hetu = s.vanha AND NOT coalesce(vtj.hetu_kelpaa(s.uusi), false);
    DELETE FROM pg_temp.vtj_siirto s WHERE NOT coalesce(vtj.hetu_kelpaa(s.uusi), false);
    v_siirretyt := ARRAY(SELECT s.uusi FROM pg_temp.vtj_siirto s);
    IF cardinality(v_siirretyt) > 0 THEN
        DELETE FROM vtj.osoite d USING pg_temp.vtj_siirto s WHERE d.rekisteri = r.rekisteri AND d.hetu = s.vanha;
        DELETE FROM vtj.henkilo d USING pg_temp.vtj_siirto s WHERE d.rekisteri = r.rekisteri AND d.hetu = s.vanha;
        DELETE FROM vtj.tieto d USING pg_temp.vtj_siirto s WHERE d.rekisteri = r.rekisteri AND d.hetu = s.vanha;
        UPDATE vtj.muutosloki m SET hetu = s.uusi
          FROM pg_temp.vtj_siirto s WHERE m.rekisteri = r.rekisteri AND m.hetu = s.vanha;
        -- the event, so that a merge job re-keys its row (its earlier rows now say the new hetu)
        INSERT INTO vtj.muutosloki (rekisteri, hetu, ajo, tietoryhma, muutosattribuutti, tiedot, positio)
        SELECT r.rekisteri, s.uusi, a.ajo, 'JASEN', 'HETU_KORJATTU',
               jsonb_build_object('edellinen_hetu', s.vanha, 'hetu', s.uusi), a.positio
          FROM pg_temp.vtj_siirto s ORDER BY s.vanha;
        -- the new hetu was already a member: merge into it
        UPDATE vtj.jasen j SET edelliset = j.edelliset || o.edelliset || s.vanha,
                               sensuroitu = j.sensuroitu OR o.sensuroitu
          FROM pg_temp.vtj_siirto s JOIN vtj.jasen o ON o.rekisteri = r.rekisteri AND o.hetu = s.vanha
         WHERE j.rekisteri = r.rekisteri AND j.hetu = s.uusi;
        DELETE FROM vtj.jasen j USING pg_temp.vtj_siirto s
         WHERE j.rekisteri = r.rekisteri AND j.hetu = s.vanha
           AND EXISTS (SELECT 1 FROM vtj.jasen k WHERE k.rekisteri = r.rekisteri AND k.hetu = s.uusi);
        UPDATE vtj.jasen j SET hetu = s.uusi, edelliset = j.edelliset || s.vanha, aktiivinen_hetu = NULL
          FROM pg_temp.vtj_siirto s WHERE j.rekisteri = r.rekisteri AND j.hetu = s.vanha;
    END IF;

    -- Apply, per (person, group), in the interface's order, starting from the stored records.
    -- Not for moved persons nor members not loaded yet (both fetched below), and never a
    -- censored group of a person protected in this run.
    INSERT INTO pg_temp.vtj_tulos (hetu, tietoryhma, tietueet)
    SELECT o.hetu, o.tietoryhma, vtj_internal.sovella(o.tiedot, vtj_internal.moniarvoinen(o.tietoryhma) ORDER BY o.jarjestys)
      FROM (SELECT v.hetu, v.tietoryhma, v.jarjestys, v.tiedot
              FROM pg_temp.vtj_vaihe v
             WHERE (v.tietoryhma = ANY (t.tietoryhmat) OR v.tietoryhma = 'TURVAKIELTO')
               AND NOT (v.suojattu AND v.tietoryhma = ANY (t.sensuroitavat))
               AND NOT v.uusi
               AND v.hetu NOT IN (SELECT s.vanha FROM pg_temp.vtj_siirto s)
            UNION ALL
            SELECT d.hetu, d.tietoryhma, -9223372036854775808, jsonb_build_object('voimassaolevatTiedot', d.tietueet)
              FROM vtj.tieto d
             WHERE d.rekisteri = r.rekisteri AND d.tietoryhma <> 'TURVAKIELTO'
               AND (d.hetu, d.tietoryhma) IN (SELECT v.hetu, v.tietoryhma FROM pg_temp.vtj_vaihe v
                                               WHERE NOT (v.suojattu AND v.tietoryhma = ANY (t.sensuroitavat))
                                                 AND NOT v.uusi)
            UNION ALL
            SELECT j.hetu, 'TURVAKIELTO', -9223372036854775808,
                   jsonb_build_object('voimassaolevatTiedot', CASE WHEN j.turvakielto IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(j.turvakielto) END)
              FROM vtj.jasen j
             WHERE j.rekisteri = r.rekisteri
               AND j.hetu IN (SELECT v.hetu FROM pg_temp.vtj_vaihe v WHERE v.tietoryhma = 'TURVAKIELTO' AND NOT v.uusi)) o
     GROUP BY o.hetu, o.tietoryhma;
    ANALYZE pg_temp.vtj_tulos (hetu, tietoryhma);

    DELETE FROM vtj.tieto d USING pg_temp.vtj_tulos u
     WHERE d.rekisteri = r.rekisteri AND d.hetu = u.hetu AND d.tietoryhma = u.tietoryhma AND u.tietueet = '[]';
    INSERT INTO vtj.tieto AS d (rekisteri, hetu, tietoryhma, tietueet)
    SELECT r.rekisteri, u.hetu, u.tietoryhma, u.tietueet
      FROM pg_temp.vtj_tulos u
     WHERE u.tietueet <> '[]' AND u.tietoryhma = ANY (t.tietoryhmat)
    ON CONFLICT (rekisteri, hetu, tietoryhma) DO UPDATE
       SET tietueet = EXCLUDED.tietueet, paivitetty = now()
     WHERE d.tietueet IS DISTINCT FROM EXCLUDED.tietueet;
    UPDATE vtj.jasen j SET turvakielto = u.tietueet->-1
      FROM pg_temp.vtj_tulos u
     WHERE u.tietoryhma = 'TURVAKIELTO' AND j.rekisteri = r.rekisteri AND j.hetu = u.hetu;

    -- Censor: a member whose stored turvakielto is in force after the apply is held censored
    -- (those protected in the window already are, by step 2); the censored groups and log rows
    -- of everyone touched are purged below (vtj_internal.sensuroi), in this transaction.
    WITH s AS (
        UPDATE vtj.jasen j SET sensuroitu = true
         WHERE j.rekisteri = r.rekisteri AND NOT j.sensuroitu
           AND vtj_internal.turvakielto_voimassa(j.turvakielto, p)
        RETURNING j.hetu)
    SELECT ARRAY(SELECT s.hetu FROM s ORDER BY s.hetu) INTO v_sensuroidut;
    a.sensuroituja := a.sensuroituja + cardinality(v_sensuroidut);
    PERFORM vtj_internal.kirjaa_sensuroidut(r.rekisteri, t.sensuroitavat, v_sensuroidut, a.ajo, a.positio);

    -- Fetch basic data: new members; moved persons; the censored persons whose turvakielto is
    -- no longer in force (ended by a change, or turvaLoppuPv passed); and the members the
    -- interface did not return last time that have changes in this window.
    v_uudet := ARRAY(SELECT j.hetu FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri AND j.ladattu IS NULL
                      AND j.hetu <> ALL (v_siirretyt));
    -- (A turvakielto past its end date that the interface still withholds stays withheld until
    -- DVV ends it: such a person is asked again once a day, not on every run; one whose
    -- TURVAKIELTO changed in this window is asked now.)
    v_paljastettavat := ARRAY(SELECT j.hetu FROM vtj.jasen j
                               WHERE j.rekisteri = r.rekisteri AND j.ladattu IS NOT NULL
                                 AND ((j.sensuroitu AND NOT vtj_internal.turvakielto_voimassa(j.turvakielto, p)
                                       AND (j.paljastus_haettu IS DISTINCT FROM p
                                            OR j.hetu IN (SELECT v.hetu FROM pg_temp.vtj_vaihe v WHERE v.tietoryhma = 'TURVAKIELTO')))
                                      OR (j.puuttuu AND j.hetu IN (SELECT v.hetu FROM pg_temp.vtj_vaihe v)))
                                 AND j.hetu <> ALL (v_siirretyt));
    UPDATE vtj.jasen j SET paljastus_haettu = p
     WHERE j.rekisteri = r.rekisteri AND j.hetu = ANY (v_paljastettavat) AND j.sensuroitu;

    -- The change log: every applied row of the product's groups, censored. (Members not loaded
    -- before this run start from their basic data, like the initial load: no rows; those the
    -- interface did not return last time start from the basic data fetched below.)
    -- A change an earlier run has logged is not logged again: a window replayed (a bookmark set
    -- back) re-applies its changes, harmlessly, but a merge job must not get them twice. A change
    -- is its person and muutospv (a change record's instant; the bookmark is the page's, which
    -- depends on where the window began); its rows are logged whole or not at all.
    INSERT INTO vtj.muutosloki (rekisteri, hetu, ajo, kirjausavain, muutospv, jarjestys, tietoryhma, muutosattribuutti, tiedot,
                                positio)
    SELECT r.rekisteri, coalesce(s.uusi, v.hetu), a.ajo, v.kirjausavain, v.muutospv, v.jarjestys, v.tietoryhma,
           v.muutosattribuutti, v.tiedot, a.positio
      FROM pg_temp.vtj_vaihe v LEFT JOIN pg_temp.vtj_siirto s ON s.vanha = v.hetu
     WHERE v.tietoryhma = ANY (t.tietoryhmat) AND NOT v.uusi
       AND NOT EXISTS (SELECT 1 FROM vtj.muutosloki m
                        WHERE m.rekisteri = r.rekisteri AND m.hetu = coalesce(s.uusi, v.hetu)
                          AND m.muutospv = v.muutospv AND m.ajo <> a.ajo
                          AND m.muutosattribuutti IS DISTINCT FROM 'PERUSTIEDOT')
     ORDER BY v.jarjestys;

    v_kosketut := ARRAY(SELECT DISTINCT coalesce(s.uusi, v.hetu) FROM pg_temp.vtj_vaihe v
                          LEFT JOIN pg_temp.vtj_siirto s ON s.vanha = v.hetu WHERE NOT v.uusi);
    -- (after the log insert: the log rows of this run are censored by the same statement.)
    -- By key, the persons whose data or state this run changed: a member held censored before
    -- the run and not touched by it had its groups purged when it became censored (every path
    -- that sets jasen.sensuroitu purges in the same transaction), and a sweep of the whole
    -- register read all of vtj.tieto each run (5 s at 1,000,000 members).
    PERFORM vtj_internal.sensuroi(r.rekisteri, t.sensuroitavat, v_kosketut || v_sensuroidut);
    TRUNCATE pg_temp.vtj_vaihe, pg_temp.vtj_tulos, pg_temp.vtj_haettavat;
    -- (the persons fetched below are typed again by the fetch)
    PERFORM vtj_internal.tyypita(r.rekisteri, v_kosketut);
    INSERT INTO pg_temp.vtj_haettavat (hetu, kirjaa)
    SELECT h, true FROM unnest(v_siirretyt || v_paljastettavat) h
    UNION ALL
    SELECT h, false FROM unnest(v_uudet) h;
    RETURN a;
END $$;

-- Step 3's end: the bookmark, and the change log's retention.
CREATE OR REPLACE FUNCTION vtj_internal.paivita_lopeta(a vtj_internal.ajon_tila) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r vtj.rekisteri := vtj_internal.rekisteri(a.rekisteri);
    v_poistettu bigint;
BEGIN
    UPDATE vtj.rekisteri x SET kirjausavain = a.loppu_avain, paivitetty = clock_timestamp()
     WHERE x.rekisteri = r.rekisteri;

    -- The change log keeps old addresses: rows older than the register's retention go.
    IF r.sailytysaika IS NOT NULL THEN
        WITH d AS (DELETE FROM vtj.muutosloki m
                    WHERE m.rekisteri = r.rekisteri AND m.kirjattu < now() - r.sailytysaika
                   RETURNING m.positio)
        SELECT count(*), max(d.positio) INTO a.poistettu_lokista, v_poistettu FROM d;
        UPDATE vtj.rekisteri x SET poistettu_positio = greatest(x.poistettu_positio, v_poistettu)
         WHERE x.rekisteri = r.rekisteri AND v_poistettu IS NOT NULL;
    END IF;
    RETURN a;
END $$;

-- The end of a run, in its last transaction: its row, and for merge jobs that LISTEN, a
-- notification delivered when the run commits.
CREATE OR REPLACE FUNCTION vtj_internal.paivitys_valmis(a vtj_internal.ajon_tila) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE vtj_internal.ajo
       SET tila = 'ok', loppu = clock_timestamp(), elossa = clock_timestamp(), pyyntoja = vtj_internal.pyyntoja() - a.pyynnot,
           muutoksia = a.muutoksia, henkiloita = a.henkiloita, ladattuja = a.ladattuja, sensuroituja = a.sensuroituja,
           kirjausavain_alku = a.alku_avain, kirjausavain_loppu = a.loppu_avain, positio = a.positio,
           poistettu_lokista = a.poistettu_lokista
     WHERE ajo = a.ajo;
    PERFORM pg_notify('vtj_paivitetty', a.rekisteri);
    RAISE NOTICE 'vtj.paivita(%): % changes of % persons applied, % persons fetched again, in % s',
        a.rekisteri, a.muutoksia, a.henkiloita, a.ladattuja,
        round(extract(epoch FROM clock_timestamp() - a.alku)::numeric, 1);
END $$;
CREATE OR REPLACE PROCEDURE vtj.paivita(rekisteri text)
LANGUAGE plpgsql AS $$
DECLARE
    a vtj_internal.ajon_tila;
    v_lukittu boolean := false;
    v_tila text;
    v_viesti text;
    v_vihje text;
    v_tieto text;
BEGIN
    PERFORM vtj_internal.oma_lause('vtj.paivita');
    COMMIT;   -- fails at once in any other atomic context, before any work
    a := vtj_internal.paivitys_alkaa(rekisteri);
    COMMIT;   -- the run's row is there before any work
    PERFORM vtj_internal.tyotaulut();   -- (the session's working tables, made as the session's role)
    -- Each step in a block of its own: the first failure is recorded and raised at the end;
    -- the protection step runs whenever the data lock was taken.
    -- (A lock taken in a block that completes is held to the end of the transaction; a failed
    -- block gives its locks back, so the read has a block of its own.)
    BEGIN
        a := vtj_internal.paivita_valmistele(a);
        v_lukittu := true;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        GET STACKED DIAGNOSTICS v_tila = RETURNED_SQLSTATE, v_viesti = MESSAGE_TEXT,
                                v_vihje = PG_EXCEPTION_HINT, v_tieto = PG_EXCEPTION_DETAIL;
    END;
    IF v_tila IS NULL THEN
        BEGIN
            a := vtj_internal.paivita_lue(a);
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            GET STACKED DIAGNOSTICS v_tila = RETURNED_SQLSTATE, v_viesti = MESSAGE_TEXT,
                                    v_vihje = PG_EXCEPTION_HINT, v_tieto = PG_EXCEPTION_DETAIL;
        END;
    END IF;
    IF v_lukittu THEN
        BEGIN
            a := vtj_internal.paivita_suojaa(a, v_tila IS NULL);
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            GET STACKED DIAGNOSTICS v_tila = RETURNED_SQLSTATE, v_viesti = MESSAGE_TEXT,
                                    v_vihje = PG_EXCEPTION_HINT, v_tieto = PG_EXCEPTION_DETAIL;
        END;
    END IF;
    IF v_tila IS NULL THEN
        BEGIN
            a := vtj_internal.paivita_sovella(a);
            PERFORM vtj_internal.paivitys_valmis(a);
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            GET STACKED DIAGNOSTICS v_tila = RETURNED_SQLSTATE, v_viesti = MESSAGE_TEXT,
                                    v_vihje = PG_EXCEPTION_HINT, v_tieto = PG_EXCEPTION_DETAIL;
        END;
    END IF;
    IF v_tila IS NOT NULL THEN
        PERFORM vtj_internal.ajo_epaonnistui(a, v_tila, v_viesti);
    END IF;
    COMMIT;
    IF v_tila IS NOT NULL THEN
        PERFORM vtj_internal.nosta_virhe(a, v_tila, v_viesti, v_tieto, v_vihje);
    END IF;
END $$;
COMMENT ON PROCEDURE vtj.paivita(text) IS
    'Applies the changes since the register''s bookmark (and loads new members) in one transaction, censored; logs the run in vtj.ajo';

-- ---------------------------------------------------------------------------------------
-- Reports
-- ---------------------------------------------------------------------------------------
-- The run log as it is: a run whose backend is gone (killed, crashed) shows as 'keskeytynyt',
-- ended when it was last seen alive, whoever reads it (the next run of the register also marks
-- its row so).
CREATE OR REPLACE VIEW vtj.ajo AS
SELECT a.ajo, a.rekisteri, a.laji, a.alku,
       CASE WHEN k.kuollut THEN coalesce(a.elossa, a.alku) ELSE a.loppu END AS loppu,
       CASE WHEN k.kuollut THEN 'keskeytynyt' ELSE a.tila END AS tila,
       a.pyyntoja, a.muutoksia, a.henkiloita, a.ladattuja, a.kirjausavain_alku, a.kirjausavain_loppu,
       a.sqlstate, a.virhe, a.sensuroituja, a.jasenia, a.positio, a.pid, a.elossa, a.poistettu_lokista
  FROM vtj_internal.ajo a
  CROSS JOIN LATERAL (SELECT a.tila = 'kaynnissa' AND NOT vtj_internal.elossa(a.pid, a.taustaprosessi_alku, a.alku) AS kuollut) k;
COMMENT ON VIEW vtj.ajo IS
    'One row per run of vtj.paivita or vtj.lataa_perustiedot: ok, virhe (sqlstate, virhe), kaynnissa, or keskeytynyt (its backend died; loppu = when last seen alive)';
CREATE OR REPLACE VIEW vtj.kotikunnittain AS
SELECT h.rekisteri, h.kotikunta, count(*) AS henkiloita
  FROM vtj.henkilo h
 WHERE NOT h.kuollut
 GROUP BY h.rekisteri, h.kotikunta;
COMMENT ON VIEW vtj.kotikunnittain IS
    'Living members by municipality of residence (kotikunta NULL: unknown or censored)';
CREATE OR REPLACE VIEW vtj.laskutusosoite AS
SELECT h.rekisteri, h.hetu, h.etunimet, h.sukunimi, h.kuollut, h.turvakielto,
       o.laji, o.katuosoite, o.lisarivi, o.postinumero, o.postitoimipaikka, o.valtiokoodi, o.maa
  FROM vtj.henkilo h
  LEFT JOIN LATERAL (
        SELECT a.* FROM vtj.osoite a
         WHERE a.rekisteri = h.rekisteri AND a.hetu = h.hetu
           AND CASE WHEN h.turvakielto THEN a.laji IN ('KOTIMAINEN_YHTEYSOSOITE', 'ULKOMAINEN_YHTEYSOSOITE')
                    ELSE a.laji IN ('KOTIMAINEN_POSTIOSOITE', 'ULKOMAINEN_POSTIOSOITE',
                                    'VAKINAINEN_KOTIMAINEN_OSOITE', 'VAKINAINEN_ULKOMAINEN_OSOITE') END
         ORDER BY CASE a.laji WHEN 'KOTIMAINEN_YHTEYSOSOITE' THEN 1 WHEN 'ULKOMAINEN_YHTEYSOSOITE' THEN 2
                              WHEN 'KOTIMAINEN_POSTIOSOITE' THEN 3 WHEN 'ULKOMAINEN_POSTIOSOITE' THEN 4
                              WHEN 'VAKINAINEN_KOTIMAINEN_OSOITE' THEN 5 ELSE 6 END, a.nro DESC
         LIMIT 1) o ON true;
COMMENT ON VIEW vtj.laskutusosoite IS
    'A billing address per member: the contact address under turvakielto, else the postal address, else the permanent address; kuollut flags the deceased';
-- ---------------------------------------------------------------------------------------
-- Merge jobs: the change log's position
-- ---------------------------------------------------------------------------------------
-- A merge job keeps a table of its own in step with a register by reading the change log after
-- its bookmark. The bookmark is a position, vtj.rekisteri.positio, not a time: kirjattu is the
-- start of the transaction that wrote a row (now()), and a run's rows become visible only when it
-- commits, so a job that saved its own time while a run was in flight never saw that run's rows.
--
-- Why a position is safe: every transaction that writes a register's log (a change run, a load
-- batch, a product change's purge) first takes the register's data lock — its row in
-- vtj.rekisteri, FOR NO KEY UPDATE, held to the commit — and raises vtj.rekisteri.positio by one
-- under it (vtj_internal.seuraava_positio); its rows carry that number. The next writer waits for
-- the lock, so it takes its number only after the previous writer has committed (or rolled
-- back: the number is then given again). Positions are therefore committed in their order, one
-- at a time. A reader sees vtj.rekisteri.positio = K of the last committed writer: every row with
-- a position <= K is committed and visible to it, and no row with a position <= K can appear
-- later. The run in flight holds K + 1 uncommitted, invisible to everyone else until its commit:
-- vtj.positio never returns a position past a run still in flight. So "the rows with P < positio
-- <= K", read with K, never skip a row that commits later, whatever the isolation level (K is
-- read first, or in the same snapshot, and bounds the rows).
-- Rows change in place in two ways a merge job must know: a censored member's earlier rows are
-- reduced to {"tietoryhma": T, "sensuroitu": true} (and SENSUROITU rows say so at the new
-- position), and a hetu correction files the member's earlier rows under the new hetu (and
-- HETU_KORJATTU says so). The retention deletes whole old rows: a bookmark behind
-- vtj.rekisteri.poistettu_positio is refused (the job must reload).

-- The register of a merge job's call, its bookmark checked against the log (in the caller's
-- snapshot: every public function below is STABLE, one snapshot for its checks and its rows).
-- (The two readers of rows are SECURITY DEFINER only to call this; they read what vtj_lukija reads.)
CREATE OR REPLACE FUNCTION vtj_internal.positio_rajat(p_kutsu text, p_rekisteri text, p_positio bigint, p_asti bigint)
RETURNS bigint LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE r vtj.rekisteri;
BEGIN
    SELECT * INTO r FROM vtj.rekisteri x WHERE x.rekisteri = p_rekisteri;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'register "%" does not exist', p_rekisteri
            USING ERRCODE = '42704', HINT = 'SELECT rekisteri FROM vtj.rekisteri lists the registers.';
    END IF;
    IF p_positio IS NULL THEN
        RAISE EXCEPTION '%(%): the position is NULL', p_kutsu, r.rekisteri
            USING ERRCODE = '22004',
                  HINT = format('A merge job starts from a full copy and saves vtj.positio(%L), read before the copy or in its snapshot; '
                                'later it passes the position it saved.', r.rekisteri);
    END IF;
    IF p_positio > r.positio OR p_asti > r.positio OR p_positio < 0 OR p_asti < p_positio THEN
        RAISE EXCEPTION '%(%): position % (up to %) is outside the change log, which is at position %', p_kutsu, r.rekisteri,
            p_positio, coalesce(p_asti::text, 'the present'), r.positio
            USING ERRCODE = '22023',
                  HINT = format('A bookmark lies between 0 and vtj.positio(%L), and "asti" between it and vtj.positio. One beyond '
                                'it was not saved from this register in this database (another register, a register '
                                'created again, a database restored from an older backup): reload the merge job''s table in full.',
                                r.rekisteri);
    END IF;
    IF p_positio < r.poistettu_positio THEN
        RAISE EXCEPTION '%(%): the change log after position % is no longer complete: its retention deleted rows up to position %',
            p_kutsu, r.rekisteri, p_positio, r.poistettu_positio
            USING ERRCODE = '55000',
                  HINT = format('The merge job fell behind the register''s retention (vtj.rekisteri.sailytysaika = %s). Reload its '
                                'table in full from the mirror (vtj.henkilo, vtj.laskutusosoite), save vtj.positio(%L) read before '
                                'the copy as the bookmark, and run the job more often than the retention.',
                                coalesce(r.sailytysaika::text, 'NULL'), r.rekisteri);
    END IF;
    RETURN coalesce(p_asti, r.positio);
END $$;

CREATE OR REPLACE FUNCTION vtj.positio(rekisteri text) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE v bigint;
BEGIN
    SELECT x.positio INTO v FROM vtj.rekisteri x WHERE x.rekisteri = positio.rekisteri;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'register "%" does not exist', positio.rekisteri
            USING ERRCODE = '42704', HINT = 'SELECT rekisteri FROM vtj.rekisteri lists the registers.';
    END IF;
    RETURN v;
END $$;
COMMENT ON FUNCTION vtj.positio(text) IS
    'The register''s change-log position: every row at or below it is committed and none can appear there later (never past a run in flight). A merge job saves it as its bookmark';

CREATE OR REPLACE FUNCTION vtj.muutokset_jalkeen(rekisteri text, positio bigint, asti bigint DEFAULT NULL)
RETURNS SETOF vtj.muutosloki
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE v_asti bigint := vtj_internal.positio_rajat('vtj.muutokset_jalkeen', rekisteri, positio, asti);
BEGIN
    RETURN QUERY
    SELECT m.* FROM vtj.muutosloki m
     WHERE m.rekisteri = muutokset_jalkeen.rekisteri AND m.positio > muutokset_jalkeen.positio AND m.positio <= v_asti
     ORDER BY m.positio, m.id;
END $$;
COMMENT ON FUNCTION vtj.muutokset_jalkeen(text, bigint, bigint) IS
    'The change-log rows after a position (up to asti, default vtj.positio), in the order to apply them. Refuses a position whose rows the retention deleted (55000: reload) or beyond the log (22023)';

CREATE OR REPLACE FUNCTION vtj.muuttuneet_jalkeen(rekisteri text, positio bigint, asti bigint DEFAULT NULL)
RETURNS TABLE (hetu text, tietoryhmat text[], muutoksia bigint, viimeisin_positio bigint, edelliset_hetut text[])
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE v_asti bigint := vtj_internal.positio_rajat('vtj.muuttuneet_jalkeen', rekisteri, positio, asti);
BEGIN
    RETURN QUERY
    SELECT m.hetu::text, array_agg(DISTINCT m.tietoryhma::text ORDER BY m.tietoryhma::text), count(*), max(m.positio),
           coalesce(array_agg(m.tiedot->>'edellinen_hetu' ORDER BY m.positio, m.id)
                        FILTER (WHERE m.tietoryhma = 'JASEN' AND m.muutosattribuutti = 'HETU_KORJATTU'), '{}')
      FROM vtj.muutosloki m
     WHERE m.rekisteri = muuttuneet_jalkeen.rekisteri AND m.positio > muuttuneet_jalkeen.positio AND m.positio <= v_asti
     GROUP BY m.hetu
     ORDER BY m.hetu;
END $$;
COMMENT ON FUNCTION vtj.muuttuneet_jalkeen(text, bigint, bigint) IS
    'The members with change-log rows after a position (up to asti, default vtj.positio): groups, rows, their last position, and the hetus corrected into this one since (re-key those rows first). Refuses as vtj.muutokset_jalkeen does';

-- Deprecated: a time is not a safe bookmark (the header of this section).
CREATE OR REPLACE FUNCTION vtj.muuttuneet(rekisteri text, alkaen timestamptz)
RETURNS TABLE (hetu text, tietoryhmat text[], muutoksia bigint, viimeksi timestamptz)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    RAISE WARNING 'vtj.muuttuneet(rekisteri, timestamptz) is deprecated: a merge job that reads by time misses the rows of a change run in flight'
        USING DETAIL = 'A row''s kirjattu is the start of the run that wrote it, and the run''s rows become visible only when it commits: '
                       'a bookmark taken while a run was in flight is later than rows that appear after it.',
              HINT = 'Save vtj.positio(rekisteri) as the bookmark and read vtj.muuttuneet_jalkeen(rekisteri, positio) or '
                     'vtj.muutokset_jalkeen(rekisteri, positio) (README, "Merge jobs").';
    RETURN QUERY
    SELECT m.hetu::text, array_agg(DISTINCT m.tietoryhma::text ORDER BY m.tietoryhma::text), count(*), max(m.kirjattu)
      FROM vtj.muutosloki m
     WHERE m.rekisteri = muuttuneet.rekisteri AND m.kirjattu >= alkaen
     GROUP BY m.hetu;
END $$;
COMMENT ON FUNCTION vtj.muuttuneet(text, timestamptz) IS
    'Deprecated (misses the rows of a change run in flight: use vtj.muuttuneet_jalkeen): members whose data changed since the given time (from vtj.muutosloki)';
CREATE OR REPLACE VIEW vtj.laatu AS
SELECT j.rekisteri, j.hetu, 'ei_ladattu'::text AS ongelma, 'basic data not loaded yet'::text AS selitys
  FROM vtj.jasen j WHERE j.ladattu IS NULL
UNION ALL
SELECT j.rekisteri, j.hetu, 'puuttuu', 'the interface did not return the person (unknown, passivated or outside the product)'
  FROM vtj.jasen j WHERE j.puuttuu
UNION ALL
SELECT j.rekisteri, j.hetu, 'virheellinen_hetu', 'the hetu is not valid'
  FROM vtj.jasen j WHERE NOT coalesce(vtj.hetu_kelpaa(j.hetu), false)
UNION ALL
SELECT j.rekisteri, j.hetu, 'passivoitu', 'the interface names another active hetu for the person'
  FROM vtj.jasen j WHERE j.aktiivinen_hetu IS NOT NULL AND j.aktiivinen_hetu <> j.hetu;
COMMENT ON VIEW vtj.laatu IS
    'Data quality: members not loaded, not returned by the interface, with an invalid or passivated hetu';

-- ---------------------------------------------------------------------------------------
-- Self-audit: a random sample of members against fresh basic data, censored by the rule.
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION vtj.tarkista(rekisteri text, otos integer DEFAULT 100)
RETURNS TABLE (hetu text, tietoryhma text, ero text, peilissa jsonb, rajapinnassa jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    r vtj.rekisteri := vtj_internal.rekisteri(rekisteri);
    v_hetut text[];
BEGIN
    IF otos IS NULL OR otos < 1 THEN
        RAISE EXCEPTION 'otos must be at least 1' USING ERRCODE = '22023';
    END IF;
    v_hetut := vtj_internal.tarkista_otos(r.rekisteri, otos);
    -- the same censoring read as a load, as the caller; a person held censored stays censored here too
    PERFORM vtj_internal.lataa_lue(r.rekisteri, v_hetut, vtj_internal.tarkista_suojatut(r.rekisteri, v_hetut));
    RETURN QUERY SELECT * FROM vtj_internal.tarkista_vertaa(r.rekisteri, v_hetut);
    TRUNCATE pg_temp.vtj_pt;
END $$;

-- The audit's sample: members loaded, at random.
CREATE OR REPLACE FUNCTION vtj_internal.tarkista_otos(p_rekisteri text, p_otos integer) RETURNS text[]
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN ARRAY(SELECT j.hetu FROM vtj.jasen j WHERE j.rekisteri = p_rekisteri AND j.ladattu IS NOT NULL
              ORDER BY random() LIMIT p_otos);
CREATE OR REPLACE FUNCTION vtj_internal.tarkista_suojatut(p_rekisteri text, p_hetut text[]) RETURNS text[]
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN ARRAY(SELECT j.hetu FROM vtj.jasen j WHERE j.rekisteri = p_rekisteri AND j.hetu = ANY (p_hetut) AND j.sensuroitu);

-- The audit's comparison of the fresh basic data (pg_temp.vtj_pt) with what the register holds;
-- a censored group's stored value is never shown, not even to report it.
CREATE OR REPLACE FUNCTION vtj_internal.tarkista_vertaa(p_rekisteri text, p_hetut text[])
RETURNS TABLE (hetu text, tietoryhma text, ero text, peilissa jsonb, rajapinnassa jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    r vtj.rekisteri := vtj_internal.rekisteri(p_rekisteri);
    t vtj.tuote;
BEGIN
    SELECT * INTO t FROM vtj.tuote x WHERE x.tuote = r.tuote;
    RETURN QUERY
    WITH tuore AS (
        SELECT s.hetu, s.tietoryhma, s.tietueet
          FROM pg_temp.vtj_pt s
         WHERE s.tietueet IS NOT NULL AND s.tietueet <> '[]'::jsonb AND s.tietoryhma = ANY (t.tietoryhmat)),
    palautetut AS (SELECT DISTINCT s.hetu FROM pg_temp.vtj_pt s),
    peili AS (
        SELECT d.hetu, d.tietoryhma, d.tietueet FROM vtj.tieto d
         WHERE d.rekisteri = r.rekisteri AND d.hetu = ANY (p_hetut) AND d.hetu IN (SELECT hetu FROM palautetut)),
    suojatut AS (SELECT DISTINCT s.hetu FROM pg_temp.vtj_pt s WHERE s.suojattu
                 UNION SELECT j.hetu FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri AND j.hetu = ANY (p_hetut) AND j.sensuroitu)
    SELECT coalesce(a.hetu, b.hetu), coalesce(a.tietoryhma, b.tietoryhma),
           CASE WHEN a.hetu IS NULL THEN 'vain_rajapinnassa'
                WHEN b.hetu IS NULL AND a.tietoryhma = ANY (t.sensuroitavat) AND a.hetu IN (SELECT hetu FROM suojatut)
                     THEN 'sensuroitava_tallessa'
                WHEN b.hetu IS NULL THEN 'vain_peilissa'
                ELSE 'eri_arvo' END,
           CASE WHEN a.tietoryhma = ANY (t.sensuroitavat) AND a.hetu IN (SELECT hetu FROM suojatut) THEN NULL ELSE a.tietueet END,
           b.tietueet
      FROM peili a FULL JOIN tuore b ON a.hetu = b.hetu AND a.tietoryhma = b.tietoryhma
     WHERE a.tietueet IS DISTINCT FROM b.tietueet
     UNION ALL
    SELECT h, NULL, 'puuttuu_rajapinnasta', NULL, NULL
      FROM unnest(p_hetut) h WHERE h NOT IN (SELECT hetu FROM palautetut)
     ORDER BY 1, 2;
END $$;
COMMENT ON FUNCTION vtj.tarkista(text, integer) IS
    'Self-audit: compares a random sample of members with fresh basic data and returns the differences, censored by the product''s rule';
