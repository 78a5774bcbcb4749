-- vtj_fdw code, part 20 (the mirror), 07: applying censorship to what a register holds.
-- The mirror's code is in files by concern, read in name order (its tables: extension/data/20_mirror.sql);
-- the overview of the mirror and its censorship is in 20_01_products.sql.

-- ---------------------------------------------------------------------------------------
-- Censor what the register holds of those of the given members that are held censored: their
-- censored groups are deleted and their change-log rows of those groups (written before the
-- turvakielto took effect) are reduced to {"tietoryhma": T, "sensuroitu": true}. Runs in the
-- caller's transaction, by key: it changes the state of no one else.
-- ---------------------------------------------------------------------------------------
-- The censored members are looked up first, so that the statements can only go by their key
-- (as a join, with the statistics of a growing table, the planner read every row of the
-- censored groups of the register instead). The look-up joins from the given hetus: as
-- "hetu = ANY (p_hetut) AND sensuroitu" it went through the index of all censored members of
-- the register and compared each with every hetu of the batch, a cost that grew with every
-- batch loaded (a quarter of the load's CPU at 1,000,000 members).
CREATE OR REPLACE FUNCTION vtj_internal.sensuroi(p_rekisteri text, p_sensuroitavat text[], p_hetut text[]) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM vtj_internal.sensuroi_jasenet(p_rekisteri, p_sensuroitavat,
                                  ARRAY(SELECT j.hetu FROM unnest(p_hetut) h
                                          JOIN vtj.jasen j ON j.rekisteri = p_rekisteri AND j.hetu = h
                                         WHERE j.sensuroitu));
END $$;

-- The same for members the caller knows to be held censored.
CREATE OR REPLACE FUNCTION vtj_internal.sensuroi_jasenet(p_rekisteri text, p_sensuroitavat text[], p_sensuroidut text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF coalesce(cardinality(p_sensuroidut), 0) = 0 THEN
        RETURN;
    END IF;
    DELETE FROM vtj.tieto d
     WHERE d.rekisteri = p_rekisteri AND d.hetu = ANY (p_sensuroidut) AND d.tietoryhma = ANY (p_sensuroitavat);
    UPDATE vtj.muutosloki m SET tiedot = vtj_internal.sensuroitu(m.tietoryhma)
     WHERE m.rekisteri = p_rekisteri AND m.hetu = ANY (p_sensuroidut) AND m.tietoryhma = ANY (p_sensuroitavat)
       AND m.tiedot IS DISTINCT FROM vtj_internal.sensuroitu(m.tietoryhma);
    -- The typed rows (vtj.henkilo, vtj.osoite) are derived from vtj.tieto: rebuilt from what is
    -- left, so that no typed column keeps a group that is gone, whichever columns derive from it.
    PERFORM vtj_internal.fill_typed(p_rekisteri, p_sensuroidut);
END $$;
