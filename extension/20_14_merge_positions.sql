-- vtj_fdw code, part 20 (the mirror), 14: merge jobs: the change log's position.
-- The mirror's code is in files by concern, read in name order (its tables: extension/data/20_mirror.sql);
-- the overview of the mirror and its censorship is in 20_01_products.sql.

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
