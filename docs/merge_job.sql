-- A worked merge job: an application table `asiakas` kept in step with a register of vtj_fdw
-- through the change log's position (README, "Merge jobs"). Tested by
-- test/integration/64_merge_concurrency.py, which runs it in a loop while change runs go on.
--
--   psql -d kunta -f docs/merge_job.sql                 -- the tables and the procedure
--   CALL asiakas_yhdista('asrek');                      -- one merge: a statement of its own
--   SELECT cron.schedule('asiakas-asrek', '*/10 * * * *', $$CALL asiakas_yhdista('asrek')$$);
--
-- The role that runs it needs vtj_lukija (it reads the mirror and the change log) and owns, or may
-- write, the three tables below. Nothing here is part of the extension: copy it and make it yours
-- (your own columns in asiakas, your own names). Unqualified names are those of the schema the
-- file was loaded into, found through search_path when the job runs.
--
-- How it stays in step, and why it never misses a change:
--   * Its bookmark (asiakas_kirjanmerkki.positio) is a change-log position, vtj.positio(rekisteri),
--     never a time. Every row at or below a position is committed and none can appear there
--     later (the extension's writers take positions one at a time under the register's lock, in
--     commit order), so reading the rows after the bookmark up to the position read now, and then
--     saving that position, misses no row of a run that was in flight: its rows carry a larger
--     position and are read by the next merge.
--   * One merge is one REPEATABLE READ transaction: the position, the change log and the typed
--     mirror it copies are read in one snapshot, so the rows it writes are exactly the mirror at
--     the position it saves.
--   * It does not interpret the interface's change rows: for every member with rows after the
--     bookmark it copies the member's current typed state (vtj.henkilo, vtj.laskutusosoite,
--     vtj.jasen) — a name change, a move, a death, a turvakielto that starts (SENSUROITU rows:
--     address and kotikunta become NULL, turvakielto true) or ends (PALJASTETTU, then the
--     basic data fetched again), a member the interface no longer returns (PUUTTUU), a load or
--     a fetch of basic data (LADATTU, PERUSTIEDOT), a product that starts censoring a group
--     (SENSUROITU). Before that it moves the rows of corrected hetus (HETU_KORJATTU: old → new)
--     in the log's order, so that your own columns follow the person.
--   * Idempotent: a second run finds nothing after its bookmark and changes nothing; a run
--     again over rows already applied (a bookmark restored from a backup) copies the same state.
--   * Behind the register's retention (vtj.rekisteri.sailytysaika) the log is incomplete:
--     vtj.muutokset_jalkeen refuses with SQLSTATE 55000 and the job reloads the table in full.
--     Run it more often than the retention (90 days by default); a change run's NOTIFY
--     vtj_paivitetty says when there is something to merge.

CREATE TABLE IF NOT EXISTS asiakas (
    hetu              text PRIMARY KEY,
    etunimet          text,
    sukunimi          text,
    -- the billing address (vtj.laskutusosoite: the contact address under turvakielto, else the
    -- postal address, else the permanent address)
    katuosoite        text,
    lisarivi          text,
    postinumero       text,
    postitoimipaikka  text,
    maa               text,
    kotikunta         text,         -- municipality code; NULL while censored
    kuollut           boolean NOT NULL DEFAULT false,
    kuolinpv          date,
    turvakielto       boolean NOT NULL DEFAULT false,   -- protected: held censored by the mirror
    vtj_puuttuu       boolean NOT NULL DEFAULT false,   -- the interface no longer returns the person
    vtj_positio       bigint        -- the register's position this row was last changed at
);

-- The bookmark: one row per register, written in the transaction that merged up to it.
CREATE TABLE IF NOT EXISTS asiakas_kirjanmerkki (
    rekisteri   text PRIMARY KEY,
    positio     bigint NOT NULL,
    paivitetty  timestamptz NOT NULL DEFAULT now(),
    kierroksia  bigint NOT NULL DEFAULT 0,   -- merges run
    muutoksia   bigint NOT NULL DEFAULT 0    -- rows of asiakas inserted, changed, moved or deleted
);

-- The merges that had something to do: the positions each covered (each starts where the one
-- before ended), the members it copied and the rows it changed.
CREATE TABLE IF NOT EXISTS asiakas_kierros (
    rekisteri      text NOT NULL,
    alku_positio   bigint,        -- NULL: a full reload
    loppu_positio  bigint NOT NULL,
    lokirivit      bigint NOT NULL,   -- change-log rows after alku_positio up to loppu_positio
    jasenia        bigint NOT NULL,   -- members copied from the mirror
    muutoksia      bigint NOT NULL,   -- rows of asiakas inserted, changed, moved or deleted
    aika           timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- A hetu correction: the person's row moves to the new hetu; when the new hetu has a row already
-- (both were customers), the old one goes. Merge your own columns here. Returns rows changed.
CREATE OR REPLACE FUNCTION asiakas_korjaa_hetu(vanha text, uusi text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_n bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM asiakas a WHERE a.hetu = uusi) THEN
        DELETE FROM asiakas a WHERE a.hetu = vanha;
    ELSE
        UPDATE asiakas a SET hetu = uusi WHERE a.hetu = vanha;
    END IF;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END $$;

-- The rows of the given members (NULL: every member) brought to the mirror's state at position
-- p_positio. Returns (members copied, rows inserted or changed).
CREATE OR REPLACE FUNCTION asiakas_tuo(p_rekisteri text, p_hetut text[], p_positio bigint,
                                       OUT jasenia bigint, OUT muutoksia bigint) LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.asiakas_uusi') IS NULL THEN
        CREATE TEMP TABLE asiakas_uusi (LIKE asiakas) ON COMMIT DELETE ROWS;
    END IF;
    INSERT INTO asiakas_uusi (hetu, etunimet, sukunimi, katuosoite, lisarivi, postinumero, postitoimipaikka, maa,
                              kotikunta, kuollut, kuolinpv, turvakielto, vtj_puuttuu, vtj_positio)
    SELECT j.hetu, h.etunimet, h.sukunimi, l.katuosoite, l.lisarivi, l.postinumero, l.postitoimipaikka,
           coalesce(l.maa, l.valtiokoodi), h.kotikunta, coalesce(h.kuollut, false), h.kuolinpv,
           coalesce(h.turvakielto, false), j.puuttuu, p_positio
      FROM vtj.jasen j
      LEFT JOIN vtj.henkilo h ON h.rekisteri = j.rekisteri AND h.hetu = j.hetu
      LEFT JOIN vtj.laskutusosoite l ON l.rekisteri = j.rekisteri AND l.hetu = j.hetu
     WHERE j.rekisteri = p_rekisteri AND (p_hetut IS NULL OR j.hetu = ANY (p_hetut));
    GET DIAGNOSTICS jasenia = ROW_COUNT;
    INSERT INTO asiakas AS a
    SELECT * FROM asiakas_uusi
    ON CONFLICT (hetu) DO UPDATE
       SET etunimet = EXCLUDED.etunimet, sukunimi = EXCLUDED.sukunimi, katuosoite = EXCLUDED.katuosoite,
           lisarivi = EXCLUDED.lisarivi, postinumero = EXCLUDED.postinumero,
           postitoimipaikka = EXCLUDED.postitoimipaikka, maa = EXCLUDED.maa, kotikunta = EXCLUDED.kotikunta,
           kuollut = EXCLUDED.kuollut, kuolinpv = EXCLUDED.kuolinpv, turvakielto = EXCLUDED.turvakielto,
           vtj_puuttuu = EXCLUDED.vtj_puuttuu, vtj_positio = EXCLUDED.vtj_positio
     WHERE (a.etunimet, a.sukunimi, a.katuosoite, a.lisarivi, a.postinumero, a.postitoimipaikka, a.maa, a.kotikunta,
            a.kuollut, a.kuolinpv, a.turvakielto, a.vtj_puuttuu)
           IS DISTINCT FROM
           (EXCLUDED.etunimet, EXCLUDED.sukunimi, EXCLUDED.katuosoite, EXCLUDED.lisarivi, EXCLUDED.postinumero,
            EXCLUDED.postitoimipaikka, EXCLUDED.maa, EXCLUDED.kotikunta, EXCLUDED.kuollut, EXCLUDED.kuolinpv,
            EXCLUDED.turvakielto, EXCLUDED.vtj_puuttuu);
    GET DIAGNOSTICS muutoksia = ROW_COUNT;
    TRUNCATE asiakas_uusi;
END $$;

-- One merge. Must be called as a statement of its own (it commits: CALL asiakas_yhdista('asrek')
-- in autocommit, as pg_cron does), so that it can run in a REPEATABLE READ transaction of its own.
CREATE OR REPLACE PROCEDURE asiakas_yhdista(rekisteri text)
LANGUAGE plpgsql AS $$
DECLARE
    v_alku bigint;          -- the bookmark: everything up to it is in asiakas
    v_loppu bigint;         -- the position this merge brings asiakas to
    v_rivit bigint := 0;
    v_jasenia bigint := 0;
    v_muutoksia bigint := 0;
    v_n bigint;
    v_hetut text[];
    k record;
BEGIN
    COMMIT;   -- ends the caller's transaction: the merge's own begins here, in one snapshot
    SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;
    -- one merge of a register at a time (pg_cron meeting a manual run)
    IF NOT pg_try_advisory_xact_lock(hashtext('asiakas_yhdista'), hashtext(rekisteri)) THEN
        RAISE EXCEPTION 'asiakas_yhdista(%): another merge of the register is running', rekisteri
            USING ERRCODE = '55P03', HINT = 'Wait for it to finish; it merges everything up to the present.';
    END IF;
    SELECT b.positio INTO v_alku FROM asiakas_kirjanmerkki b WHERE b.rekisteri = asiakas_yhdista.rekisteri;
    v_loppu := vtj.positio(rekisteri);
    IF v_alku IS NOT NULL AND v_alku < v_loppu THEN
        BEGIN
            -- 1. hetu corrections, in the log's order: the rows move with the person
            FOR k IN SELECT m.tiedot->>'edellinen_hetu' AS vanha, m.tiedot->>'hetu' AS uusi
                       FROM vtj.muutokset_jalkeen(rekisteri, v_alku, v_loppu) m
                      WHERE m.tietoryhma = 'JASEN' AND m.muutosattribuutti = 'HETU_KORJATTU' LOOP
                v_muutoksia := v_muutoksia + asiakas_korjaa_hetu(k.vanha, k.uusi);
            END LOOP;
            -- 2. every member with rows after the bookmark: its current state
            SELECT coalesce(sum(c.muutoksia), 0), coalesce(array_agg(c.hetu), '{}')
              INTO v_rivit, v_hetut FROM vtj.muuttuneet_jalkeen(rekisteri, v_alku, v_loppu) c;
            SELECT t.jasenia, v_muutoksia + t.muutoksia INTO v_jasenia, v_muutoksia
              FROM asiakas_tuo(rekisteri, v_hetut, v_loppu) t;
        EXCEPTION WHEN SQLSTATE '55000' THEN
            -- the retention deleted rows this merge needed: reload below (the block's writes are undone)
            RAISE WARNING 'asiakas_yhdista(%): the change log after position % is incomplete; reloading asiakas in full',
                rekisteri, v_alku;
            v_alku := NULL;
            v_rivit := 0;
            v_jasenia := 0;
            v_muutoksia := 0;
        END;
        INSERT INTO asiakas_kierros (rekisteri, alku_positio, loppu_positio, lokirivit, jasenia, muutoksia)
        SELECT rekisteri, v_alku, v_loppu, v_rivit, v_jasenia, v_muutoksia WHERE v_alku IS NOT NULL;
    END IF;
    IF v_alku IS NULL THEN
        -- The first merge, or one behind the retention: asiakas becomes the mirror at v_loppu.
        -- Rows of hetus corrected since are moved first (vtj.jasen.edelliset), rows of persons that
        -- are no longer members go.
        FOR k IN SELECT e.vanha, j.hetu AS uusi
                   FROM vtj.jasen j CROSS JOIN LATERAL unnest(j.edelliset) e(vanha)
                  WHERE j.rekisteri = asiakas_yhdista.rekisteri
                    AND EXISTS (SELECT 1 FROM asiakas a WHERE a.hetu = e.vanha) LOOP
            v_muutoksia := v_muutoksia + asiakas_korjaa_hetu(k.vanha, k.uusi);
        END LOOP;
        DELETE FROM asiakas a
         WHERE NOT EXISTS (SELECT 1 FROM vtj.jasen j WHERE j.rekisteri = asiakas_yhdista.rekisteri AND j.hetu = a.hetu);
        GET DIAGNOSTICS v_n = ROW_COUNT;
        SELECT t.jasenia, v_muutoksia + v_n + t.muutoksia INTO v_jasenia, v_muutoksia FROM asiakas_tuo(rekisteri, NULL, v_loppu) t;
        INSERT INTO asiakas_kierros (rekisteri, alku_positio, loppu_positio, lokirivit, jasenia, muutoksia)
        VALUES (rekisteri, NULL, v_loppu, 0, v_jasenia, v_muutoksia);
    END IF;
    INSERT INTO asiakas_kirjanmerkki AS b (rekisteri, positio, kierroksia, muutoksia)
    VALUES (rekisteri, v_loppu, 1, v_muutoksia)
    ON CONFLICT ON CONSTRAINT asiakas_kirjanmerkki_pkey DO UPDATE
       SET positio = EXCLUDED.positio, paivitetty = now(), kierroksia = b.kierroksia + 1,
           muutoksia = b.muutoksia + EXCLUDED.muutoksia;
    COMMIT;
END $$;
