-- vtj_fdw code, part 20 (the mirror), 04: calling checks, the register locks, log positions, memory and statistics.
-- The mirror's code is in files by concern, read in name order (its tables: extension/data/20_mirror.sql);
-- the overview of the mirror and its censorship is in 20_01_products.sql.

-- Procedures that COMMIT cannot run inside a transaction block: say so before any work, in
-- words a DBA understands (PostgreSQL would say "invalid transaction termination" at the first
-- COMMIT). A block is an explicit BEGIN or a string of several statements (psql -c "SET …;
-- CALL …"), which PostgreSQL runs as one implicit block; a transaction that already holds an xid
-- wrote something before this CALL.
CREATE OR REPLACE FUNCTION vtj_internal.in_transaction_block() RETURNS boolean
    AS 'MODULE_PATHNAME', 'vtj_transaktiolohkossa' LANGUAGE C STABLE;

-- The caller outside SECURITY DEFINER functions (src/pg/mirror_functions.cpp).
CREATE OR REPLACE FUNCTION vtj_internal.caller() RETURNS oid
    AS 'MODULE_PATHNAME', 'vtj_caller' LANGUAGE C STABLE;
CREATE OR REPLACE FUNCTION vtj_internal.statement_of_its_own(kutsu text) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF vtj_internal.in_transaction_block() OR pg_current_xact_id_if_assigned() IS NOT NULL THEN
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
-- run (vtj_internal.backend_alive). The first transaction of a run decides this under a transaction
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
CREATE OR REPLACE FUNCTION vtj_internal.backend_alive(p_pid integer, p_alku timestamptz, p_ajo_alku timestamptz) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                WHERE a.pid = p_pid AND a.backend_start = p_alku AND a.state = 'active' AND a.query_start <= p_ajo_alku);
CREATE OR REPLACE FUNCTION vtj_internal.run_lock(r vtj.rekisteri, kutsu text) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7763050, r.id);
    IF EXISTS (SELECT 1 FROM vtj_internal.ajo x
                WHERE x.rekisteri = r.rekisteri AND x.tila = 'kaynnissa'
                  AND vtj_internal.backend_alive(x.pid, x.taustaprosessi_alku, x.alku)) THEN
        RAISE EXCEPTION '%: register "%" is already being updated in another session', kutsu, r.rekisteri
            USING ERRCODE = '55P03',
                  HINT = 'Only one vtj.paivita or vtj.lataa_perustiedot runs per register at a time. Wait for the other run to finish (vtj.ajo, vtj.tila, pg_stat_activity) and try again.';
    END IF;
END $$;

-- The data lock: waits for the register's other writers, returns the register as it is now.
CREATE OR REPLACE FUNCTION vtj_internal.data_lock(p_rekisteri text) RETURNS vtj.rekisteri LANGUAGE plpgsql
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
CREATE OR REPLACE FUNCTION vtj_internal.request_count() RETURNS bigint LANGUAGE sql VOLATILE
RETURN (SELECT coalesce(sum(y.pyyntoja), 0)::bigint FROM vtj.yhteydet() y);

-- The memory of the statements of a load and a change run: work_mem vtj.work_mem (default
-- 256MB; it is only ever raised), so that the joins and aggregates over a batch or a window
-- stay in memory. Privacy does not depend on it: no statement sorts or hashes a value before it
-- is censored (the interface's rows carry their person's facts, see the header of this file),
-- so what a small work_mem spills to temporary files is censored already.
-- JIT is off for the same statements: they run once a batch, and compiling their expressions
-- (about 30 ms a statement) costs more than it saves at these row counts.
CREATE OR REPLACE FUNCTION vtj_internal.statement_memory() RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
CREATE OR REPLACE FUNCTION vtj_internal.analyze_tables(kevyt boolean) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
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
CREATE OR REPLACE FUNCTION vtj_internal.max_batch() RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 50000;
