-- vtj_fdw 0.1.0 → 0.2.0: the migration of the data definitions (make appends the code of 0.2.0,
-- extension/*.sql, which replaces every function, view and trigger; README, "Releasing").
--
-- What changed in the data since 0.1.0: the internals moved into schema vtj_internal, the run
-- log with them (vtj.ajo is now a view over vtj_internal.ajo, which shows a run whose backend died
-- as 'keskeytynyt'); the run log learned its backend, its change-log position, the members it
-- censored and what a load had to do; the registers and the change log carry the log's
-- position; pg_dump keeps the identity sequences.
-- New code needs no line here (make appends all of 0.2.0's code): e.g. vtj_internal.options(),
-- the option table as rows; test/upgrade/run compares the updated catalog with a fresh install.
-- Nor do the routines of vtj_internal renamed while 0.2.0 was made (muisti → statement_memory,
-- poiston_esto → drop_guard, …) or its event triggers (vtj_fdw_drop_guard, vtj_fdw_server_guard):
-- 0.1.0 had neither, so only their new names ever reach a database.
-- Nor does the apply aggregate: 0.1.0's vtj._sovella goes below, and the code makes
-- vtj_internal.apply anew, its step vtj_internal.apply_step now in C (src/pg/apply_step.cpp).

CREATE SCHEMA vtj_internal;

-- ---- what 0.1.0 had and 0.2.0 has not ------------------------------------------------------
-- 0.1.0's internal functions were vtj._*; 0.2.0's are in vtj_internal (the code below makes them).
-- The triggers on vtj.tuote used two of them; the code makes the triggers again.
DROP TRIGGER tuote_vakio ON vtj.tuote;
DROP TRIGGER tuote_sensuroi_lisatyt ON vtj.tuote;
DROP AGGREGATE vtj._sovella(jsonb, boolean);
DROP FUNCTION vtj._tuote_vakio_suojaus();
DROP FUNCTION vtj._tuote_sensuroi_lisatyt();
DROP FUNCTION vtj._tanaan();
DROP FUNCTION vtj._pv(jsonb);
DROP FUNCTION vtj._fi(jsonb);
DROP FUNCTION vtj._moniarvoinen(text);
DROP FUNCTION vtj._on_merkki(jsonb);
DROP FUNCTION vtj._turvakielto_voimassa(jsonb, date);
DROP FUNCTION vtj._suojaa(text, jsonb);
DROP FUNCTION vtj._jokin_turvakielto_voimassa(jsonb, date);
DROP FUNCTION vtj._suojaa_henkilo(boolean, jsonb, date);
DROP FUNCTION vtj._aktiivinen_hetu(jsonb);
DROP FUNCTION vtj._sensuroitu(text);
DROP FUNCTION vtj._oma_lause(text);
DROP FUNCTION vtj._rekisteri(text);
DROP FUNCTION vtj._lukitse(vtj.rekisteri, text);
DROP FUNCTION vtj._pyyntoja();
DROP FUNCTION vtj._muisti();
DROP FUNCTION vtj._analysoi(boolean);
DROP FUNCTION vtj._suurin_era();
DROP FUNCTION vtj._sovella_askel(jsonb, jsonb, boolean);
DROP FUNCTION vtj._tyotaulut();
DROP FUNCTION vtj._tyypita_rivit(text, text[], boolean);
DROP FUNCTION vtj._tyypita(text, text[]);
DROP FUNCTION vtj._sensuroi(text, text[], text[]);
DROP FUNCTION vtj._sensuroi_jasenet(text, text[], text[]);
DROP FUNCTION vtj._lataa(text, text[], bigint, boolean, boolean);
DROP FUNCTION vtj._paivita(text, bigint);

-- ---- the run log moves to vtj_internal (its rows, identity sequence and indexes with it) ------
ALTER TABLE vtj.ajo SET SCHEMA vtj_internal;
COMMENT ON TABLE vtj_internal.ajo IS NULL;   -- the comment is the view's now
ALTER TABLE vtj_internal.ajo
    DROP CONSTRAINT ajo_tila_check,
    ADD CONSTRAINT ajo_tila_check CHECK (tila IN ('kaynnissa', 'ok', 'virhe', 'keskeytynyt')),
    ADD COLUMN sensuroituja bigint,
    ADD COLUMN positio bigint,
    ADD COLUMN jasenia bigint,
    ADD COLUMN pid integer,
    ADD COLUMN taustaprosessi_alku timestamptz,
    ADD COLUMN elossa timestamptz;
-- (A 0.1.0 run still 'kaynnissa' has no backend recorded: the view shows it 'keskeytynyt', and
-- the register's next run marks it so.)
CREATE INDEX ajo_kaynnissa ON vtj_internal.ajo (rekisteri) WHERE tila = 'kaynnissa';

-- ---- the change log's positions -------------------------------------------------------------
-- Every register starts at position 0, and so does the log it has: the rows written before the
-- update are at position 0, before anything written after it. (A default given with ADD COLUMN
-- is kept in the catalog, not written into every row; the log's column has none afterwards.)
ALTER TABLE vtj.rekisteri ADD COLUMN positio bigint NOT NULL DEFAULT 0;
ALTER TABLE vtj.muutosloki ADD COLUMN positio bigint DEFAULT 0;
ALTER TABLE vtj.muutosloki ALTER COLUMN positio DROP DEFAULT;
CREATE INDEX muutosloki_positio ON vtj.muutosloki (rekisteri, positio);
COMMENT ON TABLE vtj.muutosloki IS
    'The changes applied to a register, censored, for merge jobs: the rows after a position (vtj.muutokset_jalkeen)';

-- ---- pg_dump keeps the identity sequences ---------------------------------------------------
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('vtj.rekisteri', 'id'), '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('vtj_internal.ajo', 'ajo'), '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('vtj.muutosloki', 'id'), '');

-- ---- the change log's retention, the daily reveal ------------------------------------------
ALTER TABLE vtj.rekisteri
    ADD COLUMN sailytysaika interval DEFAULT '90 days' CHECK (sailytysaika IS NULL OR sailytysaika > interval '0'),
    ADD COLUMN poistettu_positio bigint NOT NULL DEFAULT 0;
ALTER TABLE vtj.jasen ADD COLUMN paljastus_haettu date;
ALTER TABLE vtj_internal.ajo ADD COLUMN poistettu_lokista bigint;

-- ---- the look-up log: a row before the request, its answer after, who looked -----------------
-- 0.1.0 wrote a row after the answer, in the caller's transaction (a rollback erased it); 0.2.0
-- writes it through a background worker before the request and records the answer by the row's
-- id. The rows of 0.1.0 get ids in their physical order.
DROP FUNCTION vtj.kyselyloki_kirjaa(text, text, text, text);
ALTER TABLE vtj.kyselyloki
    ALTER COLUMN tietokantakayttaja DROP DEFAULT,
    ADD COLUMN id bigserial PRIMARY KEY,
    ADD COLUMN nykyinen_kayttaja text,
    ADD COLUMN vastattu timestamptz;
COMMENT ON TABLE vtj.kyselyloki IS
    'Accountability log of VTJkysely look-ups (one row per person looked up, committed before the request); readable by members of vtj.kyselyloki_lukija()';
COMMENT ON COLUMN vtj.kyselyloki.id IS 'row number, in the order the look-ups were logged';
COMMENT ON COLUMN vtj.kyselyloki.aika IS 'when the look-up was logged, just before its request was sent';
COMMENT ON COLUMN vtj.kyselyloki.nykyinen_kayttaja IS 'the current user at the look-up (after SET ROLE, or the owner of a SECURITY DEFINER function)';
COMMENT ON COLUMN vtj.kyselyloki.paluukoodi IS 'VTJkysely''s Paluukoodi: 0000 found, 0001 not found, 0002 passivated hetu; NULL: sent, but no answer was read (an error, a cancel, a broken answer)';
COMMENT ON COLUMN vtj.kyselyloki.vastattu IS 'when the answer''s Paluukoodi was logged (NULL with paluukoodi)';
SELECT pg_catalog.pg_extension_config_dump('vtj.kyselyloki_id_seq', '');
-- 0.1.0's reader role was one for the whole cluster (a member read every database's log); 0.2.0
-- makes one per database (vtj.kyselyloki_lukija() names it). The old role loses this database's
-- log; grant the new role to those who must keep reading it.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'vtj_kyselyloki_lukija') THEN
        REVOKE SELECT ON vtj.kyselyloki FROM vtj_kyselyloki_lukija;
        REVOKE USAGE ON SCHEMA vtj FROM vtj_kyselyloki_lukija;
        RAISE NOTICE 'role vtj_kyselyloki_lukija no longer reads vtj.kyselyloki of database %', pg_catalog.current_database()
            USING HINT = 'The reader role of this database is vtj.kyselyloki_lukija(); GRANT it to the members of vtj_kyselyloki_lukija who must read this log.';
    END IF;
END
$$;

-- ---- the registers' foreign tables: each muutokset row carries its person's facts ------------
-- 0.2.0's change run decides censorship with two columns a fresh IMPORT FOREIGN SCHEMA puts at
-- the end of muutokset; the tables the registers imported under 0.1.0 get them the same way
-- (the scan fills columns by name).
DO $$
DECLARE t regclass;
BEGIN
    FOR t IN SELECT DISTINCT c.oid::regclass
               FROM vtj.rekisteri r
               JOIN pg_catalog.pg_namespace n ON n.nspname OPERATOR(pg_catalog.=) r.skeema
               JOIN pg_catalog.pg_class c ON c.relnamespace OPERATOR(pg_catalog.=) n.oid
                                        AND c.relname OPERATOR(pg_catalog.=) 'muutokset' AND c.relkind OPERATOR(pg_catalog.=) 'f'
              WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                                 WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid
                                   AND a.attname OPERATOR(pg_catalog.=) 'henkilolla_salattua' AND NOT a.attisdropped)
    LOOP
        EXECUTE pg_catalog.format('ALTER FOREIGN TABLE %s ADD COLUMN henkilolla_salattua boolean, '
                                  'ADD COLUMN henkilon_turvakielto jsonb', t);
    END LOOP;
END
$$;

-- ---- merge jobs by position (issue 19) -------------------------------------------------------
-- Every change-log row has a position (the rows from before the update have 0): a writer that
-- forgot to take one fails instead of writing a row that merge jobs would never read.
ALTER TABLE vtj.muutosloki ALTER COLUMN positio SET NOT NULL;
COMMENT ON TABLE vtj.muutosloki IS
    'The changes applied to a register, censored, and the events of its members (tietoryhma JASEN: LADATTU, PUUTTUU, PALJASTETTU, HETU_KORJATTU; SENSUROITU per group), for merge jobs: the rows after a position (vtj.muutokset_jalkeen)';
-- (vtj.muuttuneet(text, timestamptz) keeps its signature: deprecated, it warns; the code below
-- replaces it and adds vtj.positio, vtj.muutokset_jalkeen and vtj.muuttuneet_jalkeen.)

-- ---- the whole population (issue 18, item 4) -----------------------------------------------
-- A change run's check that a change was logged before reads the log rows of its window's
-- period (vtj_internal.paivita_kirjaa_era, in the code below) instead of hashing the register's
-- whole log once per slice: the index it reads by.
CREATE INDEX muutosloki_muutospv ON vtj.muutosloki (rekisteri, muutospv) WHERE muutospv IS NOT NULL;

-- ---- freed memory scrubbed (a spill file of a change run held a protected address) -------------
-- No statement: vtj_internal.freed_memory_scrubbed() is a function of extension/10_fdw.sql, which
-- the generated update script carries whole; the scrubbing itself is the library's (_PG_init).
