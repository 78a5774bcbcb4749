-- vtj_fdw code, part 20 (the mirror), 10: the state and the run-log row of a load or change run, and its failure.
-- The mirror's code is in files by concern, read in name order (its tables: extension/data/20_mirror.sql);
-- the overview of the mirror and its censorship is in 20_01_products.sql.

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
    PERFORM vtj_internal.run_lock(r, p_kutsu);
    -- No run of the register is executing: one still 'kaynnissa' died.
    UPDATE vtj_internal.ajo x SET tila = 'keskeytynyt', loppu = coalesce(x.elossa, x.alku)
     WHERE x.rekisteri = r.rekisteri AND x.tila = 'kaynnissa';
    a.rekisteri := r.rekisteri;
    a.kutsu := p_kutsu;
    a.alku := clock_timestamp();
    a.ilmoitettu := a.alku;
    a.pyynnot := vtj_internal.request_count();
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
           pyyntoja = vtj_internal.request_count() - a.pyynnot
     WHERE x.ajo = a.ajo;
END;

-- The error a failed run raises after its row is committed: the original SQLSTATE (pg_cron
-- records the job as failed), the message, the interface's DETAIL (class HV only: any other
-- could quote a key), the original hint, and what was kept — said once.
CREATE OR REPLACE FUNCTION vtj_internal.raise_run_error(a vtj_internal.ajon_tila, p_sqlstate text, p_viesti text, p_tieto text,
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
