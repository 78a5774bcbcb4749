-- vtj_fdw install script, part 30: the accountability log of VTJkysely look-ups.
--
-- DVV requires the user organisation to be able to tell who looked up whom, when, for whom and
-- why. Every look-up through a vtjkysely.henkilo foreign table writes one row here, in the
-- query's own transaction (found or not). This is the one table of vtj_fdw that stores hetus
-- on purpose.
--
-- Nobody but the extension's owner (and superusers) can change the log: PUBLIC has no
-- privileges on it, and rows are added only by vtj_fdw's scan, which calls
-- vtj.kyselyloki_kirjaa as that function's owner (EXECUTE is revoked from PUBLIC too, so no user
-- can forge a row). Reading needs membership in the role vtj_kyselyloki_lukija.

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

REVOKE ALL ON vtj.kyselyloki FROM PUBLIC;

-- Roles are cluster-wide: the reader role may exist already (another database, a reinstall).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vtj_kyselyloki_lukija') THEN
        CREATE ROLE vtj_kyselyloki_lukija NOLOGIN;
        COMMENT ON ROLE vtj_kyselyloki_lukija IS 'may read vtj.kyselyloki, the log of VTJkysely look-ups (vtj_fdw)';
    END IF;
END
$$;
GRANT USAGE ON SCHEMA vtj TO vtj_kyselyloki_lukija;
GRANT SELECT ON vtj.kyselyloki TO vtj_kyselyloki_lukija;

CREATE FUNCTION vtj.kyselyloki_kirjaa(loppukayttaja text, kayttotarkoitus text, hetu text, paluukoodi text)
    RETURNS void
    LANGUAGE sql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
        INSERT INTO vtj.kyselyloki (aika, tietokantakayttaja, loppukayttaja, kayttotarkoitus, hetu, paluukoodi)
        VALUES (pg_catalog.clock_timestamp(), session_user, $1, $2, $3, $4)
    $$;
REVOKE ALL ON FUNCTION vtj.kyselyloki_kirjaa(text, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION vtj.kyselyloki_kirjaa(text, text, text, text) IS
    'Writes one row of vtj.kyselyloki; called by vtj_fdw''s VTJkysely scan (not executable by PUBLIC)';
