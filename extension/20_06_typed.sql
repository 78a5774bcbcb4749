-- vtj_fdw code, part 20 (the mirror), 06: session working tables and the typed tables vtj.henkilo and vtj.osoite.
-- The mirror's code is in files by concern, read in name order (its tables: extension/data/20_mirror.sql);
-- the overview of the mirror and its censorship is in 20_01_products.sql.

-- ---------------------------------------------------------------------------------------
-- Session-private working tables. They never hold a censored value (see the header).
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION vtj_internal.work_tables() RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
    -- the stored groups of the persons whose typed rows are being rebuilt (vtj_internal.typed_rows)
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
-- vtj_internal.typed_rows builds them from the stored groups of exactly the persons p_hetut, so that
-- no statement reads more of the store than the batch: those in pg_temp.vtj_tyyppi (a change
-- run fills it from vtj.tieto by key) and the rows a load has just stored (pg_temp.vtj_pt,
-- tallennettu; empty outside vtj_internal.lataa).
-- p_uudet: none of p_hetut has typed rows yet (vtj_internal.lataa).
CREATE OR REPLACE FUNCTION vtj_internal.typed_rows(p_rekisteri text, p_hetut text[], p_uudet boolean DEFAULT false,
                                           p_pt boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE p date := vtj_internal.today();
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
                    THEN nullif(concat_ws(' ', vtj_internal.finnish_text(e.x->'katunimi'), e.x->>'katunumero', e.x->>'huoneistokirjain',
                                          nullif(ltrim(e.x->>'huoneistonumero', '0'), ''), e.x->>'jakokirjain'), '')
                    ELSE coalesce(vtj_internal.finnish_text(e.x->'postiosoite'), vtj_internal.finnish_text(e.x->'lahiosoite')) END,
               e.x->>'postiosoiteLisarivi',
               e.x->>'postinumero',
               coalesce(vtj_internal.finnish_text(e.x->'postitoimipaikka'), vtj_internal.finnish_text(e.x->'paikkakunta')),
               e.x->>'kuntakoodi',
               e.x->>'valtiokoodi',
               e.x->>'valtionimi',
               vtj_internal.vtj_date(e.x->'alkupv'),
               vtj_internal.vtj_date(e.x->'loppupv')
          FROM tyyppi t
         CROSS JOIN LATERAL jsonb_array_elements(t.tietueet) WITH ORDINALITY e(x, n)
         WHERE t.tietoryhma IN ('VAKINAINEN_KOTIMAINEN_OSOITE', 'TILAPAINEN_KOTIMAINEN_OSOITE', 'KOTIMAINEN_POSTIOSOITE',
                                'VAKINAINEN_ULKOMAINEN_OSOITE', 'TILAPAINEN_ULKOMAINEN_OSOITE', 'ULKOMAINEN_POSTIOSOITE',
                                'KOTIMAINEN_YHTEYSOSOITE', 'ULKOMAINEN_YHTEYSOSOITE')
           AND NOT vtj_internal.is_marker(e.x)
           AND (vtj_internal.vtj_date(e.x->'loppupv') IS NULL OR vtj_internal.vtj_date(e.x->'loppupv') >= p)
        RETURNING hetu, laji, nro, katuosoite, postinumero, postitoimipaikka, valtiokoodi),
    v AS (
        SELECT DISTINCT ON (o.hetu) o.hetu, o.katuosoite, o.postinumero, o.postitoimipaikka, o.valtiokoodi
          FROM o
         WHERE o.laji IN ('VAKINAINEN_KOTIMAINEN_OSOITE', 'VAKINAINEN_ULKOMAINEN_OSOITE')
         ORDER BY o.hetu, o.laji = 'VAKINAINEN_KOTIMAINEN_OSOITE' DESC, o.nro DESC),
    x AS (
        -- the typed columns from the last record of each group (one row per person and group),
        -- and the current permanent address from v (one row per person at most, so its max is
        -- its value). (Aggregates of a small state: with array_agg each group's state was a
        -- memory context of its own, the planner counted 8 kB a group for each, and the hash
        -- aggregate of a change run's 16,000 persons went to disk at 256MB of work_mem. v is
        -- aggregated with the groups, not joined to them: the planner cannot count the groups of
        -- this union, takes them for 200, and at 5,600,000 members it joined v to the persons
        -- by a nested loop that read all of v again for each person, 4 s for 17,000 persons.)
        SELECT t.hetu,
               max(coalesce(t.tietueet->-1->>'etunimiUTF8', t.tietueet->-1->>'etunimi'))
                   FILTER (WHERE t.tietoryhma = 'HENKILON_NIMI') AS etunimet,
               max(coalesce(t.tietueet->-1->>'sukunimiUTF8', t.tietueet->-1->>'sukunimi'))
                   FILTER (WHERE t.tietoryhma = 'HENKILON_NIMI') AS sukunimi,
               max(t.tietueet->-1->>'kielikoodi') FILTER (WHERE t.tietoryhma = 'AIDINKIELI') AS aidinkieli,
               max(t.tietueet->-1->>'kielikoodi') FILTER (WHERE t.tietoryhma = 'ASIOINTIKIELI') AS asiointikieli,
               bool_or(t.tietueet->-1->>'kuollut' = 'true') FILTER (WHERE t.tietoryhma = 'KUOLINPAIVA') AS kuollut,
               max(vtj_internal.vtj_date(t.tietueet->-1->'kuolinpv')) FILTER (WHERE t.tietoryhma = 'KUOLINPAIVA') AS kuolinpv,
               max(t.tietueet->-1->>'kuntakoodi') FILTER (WHERE t.tietoryhma = 'KOTIKUNTA') AS kotikunta,
               max(t.katuosoite) AS katuosoite, max(t.postinumero) AS postinumero,
               max(t.postitoimipaikka) AS postitoimipaikka, max(t.valtiokoodi) AS valtiokoodi
          FROM (SELECT y.hetu, y.tietoryhma, y.tietueet, NULL::text AS katuosoite, NULL::text AS postinumero,
                       NULL::text AS postitoimipaikka, NULL::text AS valtiokoodi
                  FROM tyyppi y
                UNION ALL
                SELECT v.hetu, NULL, NULL, v.katuosoite, v.postinumero, v.postitoimipaikka, v.valtiokoodi FROM v) t
         GROUP BY t.hetu)
    INSERT INTO vtj.henkilo (rekisteri, hetu, etunimet, sukunimi, aidinkieli, asiointikieli, kuollut, kuolinpv,
                             turvakielto, turvakielto_loppupv, kotikunta, katuosoite, postinumero, postitoimipaikka,
                             valtiokoodi)
    SELECT j.rekisteri, j.hetu,
           x.etunimet,
           x.sukunimi,
           x.aidinkieli,
           x.asiointikieli,
           coalesce(x.kuollut, false),
           x.kuolinpv,
           j.sensuroitu,
           CASE WHEN j.sensuroitu THEN vtj_internal.vtj_date(j.turvakielto->'turvaLoppuPv') END,
           x.kotikunta,
           x.katuosoite, x.postinumero, x.postitoimipaikka, x.valtiokoodi
      FROM x
      JOIN vtj.jasen j ON j.rekisteri = p_rekisteri AND j.hetu = x.hetu
     WHERE j.hetu = ANY (p_hetut);
END $$;

-- Rebuilds the typed rows of the given persons from their stored data (read by key).
CREATE OR REPLACE FUNCTION vtj_internal.fill_typed(p_rekisteri text, p_hetut text[]) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vtj_internal.work_tables();
    TRUNCATE pg_temp.vtj_tyyppi;
    INSERT INTO pg_temp.vtj_tyyppi (hetu, tietoryhma, tietueet)
    SELECT t.hetu, t.tietoryhma, t.tietueet
      FROM (SELECT DISTINCT h.hetu FROM unnest(p_hetut) h(hetu) ORDER BY 1) h,
           -- (a person at a time, by the key: OFFSET 0 keeps the planner from making this a
           -- join. As t.hetu = ANY (p_hetut) it read all of the register's vtj.tieto once per
           -- slice of a change run, 523 ms for the 103,120 rows of 40,000 persons at 300,000
           -- members, and more with every member.)
           LATERAL (SELECT t.hetu, t.tietoryhma, t.tietueet FROM vtj.tieto t
                     WHERE t.rekisteri = p_rekisteri AND t.hetu = h.hetu OFFSET 0) t;
    -- (without a row count the planner took the table for 120 rows and joined the addresses
    -- to the persons by a nested loop: 16,000 persons of a sliced change run took 30 s)
    ANALYZE pg_temp.vtj_tyyppi (hetu, tietoryhma);
    PERFORM vtj_internal.typed_rows(p_rekisteri, p_hetut);
    TRUNCATE pg_temp.vtj_tyyppi;
END $$;
