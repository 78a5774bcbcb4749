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

-- (The table: extension/data/30_kysely.sql.)

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

CREATE OR REPLACE FUNCTION vtj.kyselyloki_kirjaa(loppukayttaja text, kayttotarkoitus text, hetu text, paluukoodi text)
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
