-- vtj_fdw code, part 20 (the mirror), 15: the self-audit (vtj.tarkista).
-- The mirror's code is in files by concern, read in name order (its tables: extension/data/20_mirror.sql);
-- the overview of the mirror and its censorship is in 20_01_products.sql.

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
