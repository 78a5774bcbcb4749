-- vtj_fdw code, part 20 (the mirror), 08: reading and storing basic data (the load, new members, reveals, corrections).
-- The mirror's code is in files by concern, read in name order (its tables: extension/data/20_mirror.sql);
-- the overview of the mirror and its censorship is in 20_01_products.sql.

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
    -- vtj_internal.max_batch() persons)
    FOR i IN 1 .. coalesce(cardinality(p_hetut), 0) BY vtj_internal.max_batch() LOOP
        PERFORM vtj_internal.lataa_lue(p_rekisteri, p_hetut[i:i + vtj_internal.max_batch() - 1]);
        v_palautui := v_palautui + vtj_internal.lataa_tallenna(p_rekisteri, p_hetut[i:i + vtj_internal.max_batch() - 1],
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
    p date := vtj_internal.today();
BEGIN
    SELECT * INTO t FROM vtj.tuote WHERE tuote = r.tuote;
    PERFORM vtj_internal.work_tables();
    TRUNCATE pg_temp.vtj_pt, pg_temp.vtj_tyyppi;
    PERFORM vtj_internal.statement_memory();
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
    -- (the typed rows are built from these rows of vtj_pt too: vtj_internal.typed_rows)
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
    PERFORM vtj_internal.typed_rows(p_rekisteri, p_hetut, p_uudet, p_pt => true);
    -- Only these members' state changed here: censor them by key, not the whole register. What
    -- was just stored of the returned ones is censored already; of those protected now, the
    -- change-log rows written before are reduced. The members not returned keep their state
    -- and their stored data (censored when they became censored). (After the typed rows: the
    -- censoring rebuilds those of the members it censors.)
    PERFORM vtj_internal.sensuroi_jasenet(p_rekisteri, t.sensuroitavat, ARRAY(SELECT DISTINCT s.hetu FROM pg_temp.vtj_pt s WHERE s.suojattu));
    TRUNCATE pg_temp.vtj_pt, pg_temp.vtj_tyyppi;
    RETURN v_palautui;
END $$;
