-- vtj_fdw code, part 20 (the mirror), 11: the initial load (vtj.lataa_perustiedot).
-- The mirror's code is in files by concern, read in name order (its tables: extension/data/20_mirror.sql);
-- the overview of the mirror and its censorship is in 20_01_products.sql.

CREATE OR REPLACE FUNCTION vtj_internal.lataus_alkaa(p_rekisteri text, p_erakoko integer) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE a vtj_internal.ajon_tila;
BEGIN
    IF p_erakoko IS NULL OR p_erakoko < 1 OR p_erakoko > vtj_internal.max_batch() THEN
        RAISE EXCEPTION 'erakoko must be between 1 and %', vtj_internal.max_batch() USING ERRCODE = '22023',
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
    PERFORM vtj_internal.work_tables();
    a := vtj_internal.next_batch(a);
    IF cardinality(a.era) > 0 THEN
        -- The first change run starts where the load started: today's bookmark (the first
        -- change of today, or the present), taken before any basic data are read.
        IF (SELECT x.kirjausavain FROM vtj.rekisteri x WHERE x.rekisteri = a.rekisteri) IS NULL THEN
            EXECUTE format('SELECT kirjausavain FROM %I.kirjausavain WHERE paiva = $1',
                           (SELECT x.skeema FROM vtj.rekisteri x WHERE x.rekisteri = a.rekisteri))
               INTO v_avain USING vtj_internal.today();
            PERFORM vtj_internal.tallenna_alkuavain(a, v_avain);
        END IF;
        -- (a.era: members never loaded, read under the data lock in this transaction)
        a.palautui := a.palautui + vtj_internal.lataa(a.rekisteri, a.era, a.ajo, p_uudet => true, p_positio => a.positio);
        a.tehty := a.tehty + cardinality(a.era);
    ELSE
        a.valmis := true;
    END IF;
    RETURN vtj_internal.batch_done(a);
END $$;

-- The next batch of a load, under the data lock: the next erakoko members not loaded yet, in
-- hetu order after the previous batch's last.
CREATE OR REPLACE FUNCTION vtj_internal.next_batch(a vtj_internal.ajon_tila) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE r vtj.rekisteri := vtj_internal.data_lock(a.rekisteri);
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
CREATE OR REPLACE FUNCTION vtj_internal.batch_done(a vtj_internal.ajon_tila) RETURNS vtj_internal.ajon_tila
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT a.valmis AND a.tehty >= 2 * a.analysoitu THEN
        PERFORM vtj_internal.analyze_tables(true);
        a.analysoitu := a.tehty;
    ELSIF a.valmis AND a.tehty > 0 THEN
        PERFORM vtj_internal.analyze_tables(false);   -- the end, in full: for the change runs that follow
    END IF;
    UPDATE vtj_internal.ajo
       SET henkiloita = a.tehty, ladattuja = a.palautui, pyyntoja = vtj_internal.request_count() - a.pyynnot,
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
    PERFORM vtj_internal.statement_of_its_own('vtj.lataa_perustiedot');
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
        PERFORM vtj_internal.raise_run_error(a, v_tila, v_viesti, v_tieto, v_vihje);
    END IF;
END $$;
COMMENT ON PROCEDURE vtj.lataa_perustiedot(text, integer) IS
    'Loads the basic data of the members not loaded yet, in batches (default 10000) committed one by one; resumable';
