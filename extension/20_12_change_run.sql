-- vtj_fdw code, part 20 (the mirror), 12: the change run (vtj.paivita) in its steps.
-- The mirror's code is in files by concern, read in name order (its tables: extension/data/20_mirror.sql);
-- the overview of the mirror and its censorship is in 20_01_products.sql.

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
    r vtj.rekisteri := vtj_internal.data_lock(a.rekisteri);
    p date := vtj_internal.today();
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
    PERFORM vtj_internal.statement_memory();
    -- (what this read learns about protection is also kept outside the transaction's blocks,
    -- for step 2 when the read fails: vtj_internal.protection_facts_read)
    PERFORM vtj_internal.reset_protection_facts();
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
                WHERE v.tietoryhma = 'TURVAKIELTO' AND v.ikkunassa AND NOT vtj_internal.is_marker(v.tiedot)
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
-- keeps their facts in the backend, vtj_internal.protection_facts_read), by the same rule.
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
        v_loydetyt := ARRAY(SELECT s.hetu FROM vtj_internal.protection_facts_read() s
                             WHERE vtj_internal.suojaa_ikkunassa(s.henkilolla_salattua, s.henkilon_turvakielto));
    END IF;
    PERFORM vtj_internal.reset_protection_facts();
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

-- Step 3's slices: the last hetu of each, in hetu order, so that each holds about
-- vtj.paivitys_era staged changes (a person's changes are never split; a person with more
-- changes than that is a slice of their own). One slice when the window is small.
CREATE OR REPLACE FUNCTION vtj_internal.paivita_rajat() RETURNS text[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE v_era bigint := coalesce(nullif(current_setting('vtj.paivitys_era', true), ''), '50000')::bigint;
BEGIN
    RETURN ARRAY(
        SELECT max(c.hetu) FROM (
            -- (div: the running sum is numeric, and numeric / bigint is no integer division)
            SELECT h.hetu, div(sum(h.n) OVER (ORDER BY h.hetu) - h.n, v_era) AS era
              FROM (SELECT v.hetu, count(*) AS n FROM pg_temp.vtj_vaihe v GROUP BY v.hetu) h) c
         GROUP BY c.era ORDER BY 1);
END $$;

-- Step 3, one slice (the staged persons with p_ala < hetu <= p_yla): apply per (person, group),
-- in the interface's order, starting from the stored records; write vtj.tieto and the stored
-- turvakielto. Not for moved persons nor members not loaded yet (both fetched later), and
-- never a censored group of a person protected in this run.
CREATE OR REPLACE FUNCTION vtj_internal.paivita_sovella_era(p_rekisteri text, t vtj.tuote, p_ala text, p_yla text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    TRUNCATE pg_temp.vtj_tulos;
    INSERT INTO pg_temp.vtj_tulos (hetu, tietoryhma, tietueet)
    SELECT o.hetu, o.tietoryhma, vtj_internal.apply(o.tiedot, vtj_internal.multi_valued(o.tietoryhma) ORDER BY o.jarjestys)
      FROM (SELECT v.hetu, v.tietoryhma, v.jarjestys, v.tiedot
              FROM pg_temp.vtj_vaihe v
             WHERE v.hetu > p_ala AND v.hetu <= p_yla
               AND (v.tietoryhma = ANY (t.tietoryhmat) OR v.tietoryhma = 'TURVAKIELTO')
               AND NOT (v.suojattu AND v.tietoryhma = ANY (t.sensuroitavat))
               AND NOT v.uusi
               AND v.hetu NOT IN (SELECT s.vanha FROM pg_temp.vtj_siirto s)
            UNION ALL
            SELECT d.hetu, d.tietoryhma, -9223372036854775808, jsonb_build_object('voimassaolevatTiedot', d.tietueet)
              FROM vtj.tieto d
             WHERE d.rekisteri = p_rekisteri AND d.tietoryhma <> 'TURVAKIELTO'
               AND d.hetu > p_ala AND d.hetu <= p_yla
               AND (d.hetu, d.tietoryhma) IN (SELECT v.hetu, v.tietoryhma FROM pg_temp.vtj_vaihe v
                                               WHERE v.hetu > p_ala AND v.hetu <= p_yla
                                                 AND NOT (v.suojattu AND v.tietoryhma = ANY (t.sensuroitavat))
                                                 AND NOT v.uusi)
            UNION ALL
            SELECT j.hetu, 'TURVAKIELTO', -9223372036854775808,
                   jsonb_build_object('voimassaolevatTiedot', CASE WHEN j.turvakielto IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(j.turvakielto) END)
              FROM vtj.jasen j
             WHERE j.rekisteri = p_rekisteri
               AND j.hetu > p_ala AND j.hetu <= p_yla
               AND j.hetu IN (SELECT v.hetu FROM pg_temp.vtj_vaihe v
                               WHERE v.hetu > p_ala AND v.hetu <= p_yla AND v.tietoryhma = 'TURVAKIELTO' AND NOT v.uusi)) o
     GROUP BY o.hetu, o.tietoryhma;
    ANALYZE pg_temp.vtj_tulos (hetu, tietoryhma);

    DELETE FROM vtj.tieto d USING pg_temp.vtj_tulos u
     WHERE d.rekisteri = p_rekisteri AND d.hetu = u.hetu AND d.tietoryhma = u.tietoryhma AND u.tietueet = '[]';
    INSERT INTO vtj.tieto AS d (rekisteri, hetu, tietoryhma, tietueet)
    SELECT p_rekisteri, u.hetu, u.tietoryhma, u.tietueet
      FROM pg_temp.vtj_tulos u
     WHERE u.tietueet <> '[]' AND u.tietoryhma = ANY (t.tietoryhmat)
    ON CONFLICT (rekisteri, hetu, tietoryhma) DO UPDATE
       SET tietueet = EXCLUDED.tietueet, paivitetty = now()
     WHERE d.tietueet IS DISTINCT FROM EXCLUDED.tietueet;
    UPDATE vtj.jasen j SET turvakielto = u.tietueet->-1
      FROM pg_temp.vtj_tulos u
     WHERE u.tietoryhma = 'TURVAKIELTO' AND j.rekisteri = p_rekisteri AND j.hetu = u.hetu;
    TRUNCATE pg_temp.vtj_tulos;
END $$;

-- Step 3, one slice after the censor: the change log, the purge of the censored groups and log
-- rows of the persons the slice touched (vtj_internal.sensuroi), their typed rows.
-- The log: every applied row of the product's groups, censored. (Members not loaded before
-- this run start from their basic data, like the initial load: no rows; those the interface did
-- not return last time start from the basic data fetched later.) A change an earlier run has
-- logged is not logged again: a window replayed (a bookmark set back) re-applies its changes,
-- harmlessly, but a merge job must not get them twice. A change is its person and muutospv (a
-- change record's instant; the bookmark is the page's, which depends on where the window
-- began); its rows are logged whole or not at all. Within a slice the rows go in the
-- interface's order; a person's rows are all in one slice. p_alku and p_loppu are the window's
-- first and last muutospv: a change logged before has its muutospv between them, so the check
-- reads only the log rows of that period (the partial index muutosloki_muutospv), not the
-- register's whole log once per slice (a LADATTU row per member: 5,600,000 at the whole
-- population, each slice hashed them all).
CREATE OR REPLACE FUNCTION vtj_internal.paivita_kirjaa_era(p_rekisteri text, t vtj.tuote, p_ajo bigint, p_positio bigint,
                                                           p_ala text, p_yla text,
                                                           p_alku timestamptz, p_loppu timestamptz) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE v_kosketut text[];
BEGIN
    INSERT INTO vtj.muutosloki (rekisteri, hetu, ajo, kirjausavain, muutospv, jarjestys, tietoryhma, muutosattribuutti, tiedot,
                                positio)
    SELECT p_rekisteri, coalesce(s.uusi, v.hetu), p_ajo, v.kirjausavain, v.muutospv, v.jarjestys, v.tietoryhma,
           v.muutosattribuutti, v.tiedot, p_positio
      FROM pg_temp.vtj_vaihe v LEFT JOIN pg_temp.vtj_siirto s ON s.vanha = v.hetu
     WHERE v.hetu > p_ala AND v.hetu <= p_yla
       AND v.tietoryhma = ANY (t.tietoryhmat) AND NOT v.uusi
       AND NOT EXISTS (SELECT 1 FROM vtj.muutosloki m
                        WHERE m.rekisteri = p_rekisteri AND m.hetu = coalesce(s.uusi, v.hetu)
                          AND m.muutospv = v.muutospv AND m.muutospv BETWEEN p_alku AND p_loppu AND m.ajo <> p_ajo
                          AND m.muutosattribuutti IS DISTINCT FROM 'PERUSTIEDOT')
     ORDER BY v.jarjestys;
    v_kosketut := ARRAY(SELECT DISTINCT coalesce(s.uusi, v.hetu) FROM pg_temp.vtj_vaihe v
                          LEFT JOIN pg_temp.vtj_siirto s ON s.vanha = v.hetu
                         WHERE v.hetu > p_ala AND v.hetu <= p_yla AND NOT v.uusi);
    -- (after the log insert: the log rows of this slice are censored by the same statement.)
    -- By key, the persons whose data or state this run changed: a member held censored before
    -- the run and not touched by it had its groups purged when it became censored (every path
    -- that sets jasen.sensuroitu purges in the same transaction), and a sweep of the whole
    -- register read all of vtj.tieto each run (5 s at 1,000,000 members).
    PERFORM vtj_internal.sensuroi(p_rekisteri, t.sensuroitavat, v_kosketut);
    -- (the persons fetched later are typed again by the fetch)
    PERFORM vtj_internal.fill_typed(p_rekisteri, v_kosketut);
END $$;

-- Step 3's writes: hetu corrections, the apply, censoring, the change log, typed rows; the
-- members to fetch basic data of go to pg_temp.vtj_haettavat.
CREATE OR REPLACE FUNCTION vtj_internal.paivita_tallenna(a vtj_internal.ajon_tila) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r vtj.rekisteri := vtj_internal.rekisteri(a.rekisteri);
    t vtj.tuote;
    p date := vtj_internal.today();
    v_uudet text[];
    v_paljastettavat text[];
    v_siirretyt text[];
    v_sensuroidut text[];   -- members held censored from this step on
    v_rajat text[];         -- the last hetu of each slice (vtj_internal.paivita_rajat)
    v_ala text COLLATE "C";
    v_yla text COLLATE "C";
    v_alku timestamptz;     -- the window's first and last muutospv (the log's check)
    v_loppu timestamptz;
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

    -- The rest goes in slices of persons (hetu ranges, vtj.paivitys_era staged changes each):
    -- a long outage's window is hundreds of thousands of changes, and as one statement each the
    -- apply's sort, the log's insert and the typed rows spilled to temporary files (848 MB at
    -- 1,000,000 members). A person's rows are all in one slice, so the order of their changes is
    -- kept; all slices are in this transaction, so the bookmark still moves only when all are done.
    v_rajat := vtj_internal.paivita_rajat();
    -- (counts only: a slice's bounds are hetus)
    RAISE DEBUG 'vtj.paivita(%): the window in % slices of persons (vtj.paivitys_era)', r.rekisteri, cardinality(v_rajat);
    FOR i IN 1 .. cardinality(v_rajat) LOOP
        v_ala := CASE WHEN i = 1 THEN '' ELSE v_rajat[i - 1] END;
        v_yla := v_rajat[i];
        PERFORM vtj_internal.paivita_sovella_era(r.rekisteri, t, v_ala, v_yla);
    END LOOP;

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

    -- The change log, the censoring of what the run touched and the typed rows, slice by slice
    -- (after the censor above: every slice's log rows are censored by its own slice's purge).
    SELECT min(v.muutospv), max(v.muutospv) INTO v_alku, v_loppu FROM pg_temp.vtj_vaihe v;
    FOR i IN 1 .. cardinality(v_rajat) LOOP
        v_ala := CASE WHEN i = 1 THEN '' ELSE v_rajat[i - 1] END;
        v_yla := v_rajat[i];
        PERFORM vtj_internal.paivita_kirjaa_era(r.rekisteri, t, a.ajo, a.positio, v_ala, v_yla, v_alku, v_loppu);
    END LOOP;
    -- the members held censored by this run that it did not touch
    PERFORM vtj_internal.sensuroi(r.rekisteri, t.sensuroitavat, v_sensuroidut);
    TRUNCATE pg_temp.vtj_vaihe, pg_temp.vtj_tulos, pg_temp.vtj_haettavat;
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
       SET tila = 'ok', loppu = clock_timestamp(), elossa = clock_timestamp(), pyyntoja = vtj_internal.request_count() - a.pyynnot,
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
    PERFORM vtj_internal.statement_of_its_own('vtj.paivita');
    COMMIT;   -- fails at once in any other atomic context, before any work
    a := vtj_internal.paivitys_alkaa(rekisteri);
    COMMIT;   -- the run's row is there before any work
    PERFORM vtj_internal.work_tables();   -- (the session's working tables, made as the session's role)
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
        PERFORM vtj_internal.raise_run_error(a, v_tila, v_viesti, v_tieto, v_vihje);
    END IF;
END $$;
COMMENT ON PROCEDURE vtj.paivita(text) IS
    'Applies the changes since the register''s bookmark (and loads new members) in one transaction, censored; logs the run in vtj.ajo';
