-- vtj_fdw data definitions, part 30: the accountability log of VTJkysely look-ups (who may
-- read and write it, and the function that writes it: extension/30_kysely.sql).

CREATE TABLE vtj.kyselyloki (
    aika timestamptz NOT NULL DEFAULT clock_timestamp(),
    tietokantakayttaja text NOT NULL,
    loppukayttaja text,
    kayttotarkoitus text,
    hetu text NOT NULL,
    paluukoodi text,
    -- (0.2.0's columns last, where an update's ALTER TABLE … ADD COLUMN puts them)
    id bigserial PRIMARY KEY,
    nykyinen_kayttaja text,
    vastattu timestamptz
);
CREATE INDEX kyselyloki_aika ON vtj.kyselyloki (aika);
CREATE INDEX kyselyloki_hetu ON vtj.kyselyloki (hetu, aika);
COMMENT ON TABLE vtj.kyselyloki IS
    'Accountability log of VTJkysely look-ups (one row per person looked up, committed before the request); readable by members of vtj.kyselyloki_lukija()';
COMMENT ON COLUMN vtj.kyselyloki.id IS 'row number, in the order the look-ups were logged';
COMMENT ON COLUMN vtj.kyselyloki.aika IS 'when the look-up was logged, just before its request was sent';
COMMENT ON COLUMN vtj.kyselyloki.tietokantakayttaja IS 'the session user (the role that logged in)';
COMMENT ON COLUMN vtj.kyselyloki.nykyinen_kayttaja IS 'the current user at the look-up (after SET ROLE, or the owner of a SECURITY DEFINER function)';
COMMENT ON COLUMN vtj.kyselyloki.loppukayttaja IS 'the end user sent as Loppukayttaja: vtj.loppukayttaja, or the session user';
COMMENT ON COLUMN vtj.kyselyloki.kayttotarkoitus IS 'the purpose given in vtj.kayttotarkoitus (NULL when unset)';
COMMENT ON COLUMN vtj.kyselyloki.hetu IS 'the henkilötunnus looked up';
COMMENT ON COLUMN vtj.kyselyloki.paluukoodi IS 'VTJkysely''s Paluukoodi: 0000 found, 0001 not found, 0002 passivated hetu; NULL: sent, but no answer was read (an error, a cancel, a broken answer)';
COMMENT ON COLUMN vtj.kyselyloki.vastattu IS 'when the answer''s Paluukoodi was logged (NULL with paluukoodi)';

-- The log is data a dump must keep (extension tables are otherwise dumped without rows), and so
-- is its sequence (or a restored log would reuse ids).
SELECT pg_catalog.pg_extension_config_dump('vtj.kyselyloki', '');
SELECT pg_catalog.pg_extension_config_dump('vtj.kyselyloki_id_seq', '');
