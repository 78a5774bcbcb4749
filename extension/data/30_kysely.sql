-- vtj_fdw data definitions, part 30: the accountability log of VTJkysely look-ups (who may
-- read and write it, and the function that writes it: extension/30_kysely.sql).

CREATE TABLE vtj.kyselyloki (
    aika timestamptz NOT NULL DEFAULT clock_timestamp(),
    tietokantakayttaja text NOT NULL DEFAULT session_user,
    loppukayttaja text,
    kayttotarkoitus text,
    hetu text NOT NULL,
    paluukoodi text
);
CREATE INDEX kyselyloki_aika ON vtj.kyselyloki (aika);
CREATE INDEX kyselyloki_hetu ON vtj.kyselyloki (hetu, aika);

COMMENT ON TABLE vtj.kyselyloki IS
    'Accountability log of VTJkysely look-ups (one row per person looked up); readable by members of vtj_kyselyloki_lukija';
COMMENT ON COLUMN vtj.kyselyloki.aika IS 'when the look-up was answered';
COMMENT ON COLUMN vtj.kyselyloki.tietokantakayttaja IS 'the session user (the role that logged in)';
COMMENT ON COLUMN vtj.kyselyloki.loppukayttaja IS 'the end user sent as Loppukayttaja: vtj.loppukayttaja, or the session user';
COMMENT ON COLUMN vtj.kyselyloki.kayttotarkoitus IS 'the purpose given in vtj.kayttotarkoitus (NULL when unset)';
COMMENT ON COLUMN vtj.kyselyloki.hetu IS 'the henkilötunnus looked up';
COMMENT ON COLUMN vtj.kyselyloki.paluukoodi IS 'VTJkysely''s Paluukoodi: 0000 found, 0001 not found, 0002 passivated hetu';

-- The log is data a dump must keep (extension tables are otherwise dumped without rows).
SELECT pg_catalog.pg_extension_config_dump('vtj.kyselyloki', '');
