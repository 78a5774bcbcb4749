-- vtj_fdw install script, part 30: the accountability log of VTJkysely look-ups.
--
-- DVV requires the user organisation to be able to tell who looked up whom, when, for whom and
-- why. Every look-up through a vtjkysely.henkilo foreign table writes one row here (found or
-- not). This is the one table of vtj_fdw that stores hetus on purpose.
--
-- The rows are written by vtj_fdw's log worker (src/pg/kysely_log.cpp), a background worker
-- that connects as the extension's owner and commits in transactions of its own: the row of a
-- look-up is committed before the request is sent (paluukoodi NULL) and the answer's Paluukoodi
-- before any row reaches the caller, so neither a ROLLBACK, a later error nor a cancel of the
-- caller's transaction can remove it.
--
-- Nobody but the extension's owner (and superusers) can change the log: PUBLIC has no
-- privileges on it, and the two writer functions have EXECUTE revoked from PUBLIC. Reading
-- needs membership in this database's reader role, vtj.kyselyloki_lukija()
-- (vtj_kyselyloki_lukija_<database>): roles are cluster-wide, so one role for all databases
-- would let a reader of one database read every database's log.

REVOKE ALL ON vtj.kyselyloki FROM PUBLIC;
REVOKE ALL ON SEQUENCE vtj.kyselyloki_id_seq FROM PUBLIC;
CREATE OR REPLACE FUNCTION vtj.kyselyloki_kirjaa(tietokantakayttaja text, nykyinen_kayttaja text, loppukayttaja text,
                                      kayttotarkoitus text, hetu text)
    RETURNS bigint
    LANGUAGE sql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
        INSERT INTO vtj.kyselyloki (aika, tietokantakayttaja, nykyinen_kayttaja, loppukayttaja, kayttotarkoitus, hetu)
        VALUES (pg_catalog.clock_timestamp(), $1, $2, $3, $4, $5)
        RETURNING vtj.kyselyloki.id
    $$;
REVOKE ALL ON FUNCTION vtj.kyselyloki_kirjaa(text, text, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION vtj.kyselyloki_kirjaa(text, text, text, text, text) IS
    'Logs one look-up before its request is sent; called by vtj_fdw''s log worker (not executable by PUBLIC)';
CREATE OR REPLACE FUNCTION vtj.kyselyloki_vastaus(id bigint, paluukoodi text)
    RETURNS void
    LANGUAGE sql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
        UPDATE vtj.kyselyloki SET paluukoodi = $2, vastattu = pg_catalog.clock_timestamp()
        WHERE vtj.kyselyloki.id OPERATOR(pg_catalog.=) $1 AND vtj.kyselyloki.paluukoodi IS NULL
    $$;
REVOKE ALL ON FUNCTION vtj.kyselyloki_vastaus(bigint, text) FROM PUBLIC;
COMMENT ON FUNCTION vtj.kyselyloki_vastaus(bigint, text) IS
    'Records the Paluukoodi of a logged look-up; called by vtj_fdw''s log worker (not executable by PUBLIC)';

-- This database's reader role: vtj_kyselyloki_lukija_<database> (a database name too long for
-- a role name gives vtj_kyselyloki_lukija_ and 16 hex digits of its md5). It may exist already
-- (a reinstall); roles survive DROP EXTENSION.
DO $$
DECLARE
    db text := pg_catalog.current_database();
    r text := 'vtj_kyselyloki_lukija_' OPERATOR(pg_catalog.||) db;
BEGIN
    IF pg_catalog.octet_length(r) OPERATOR(pg_catalog.>) 63 THEN
        r := 'vtj_kyselyloki_lukija_' OPERATOR(pg_catalog.||) pg_catalog.left(pg_catalog.md5(db), 16);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) r) THEN
        EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        EXECUTE pg_catalog.format('COMMENT ON ROLE %I IS %L', r,
                                  'may read vtj.kyselyloki, the log of VTJkysely look-ups, in database '
                                  OPERATOR(pg_catalog.||) db OPERATOR(pg_catalog.||) ' (vtj_fdw)');
    END IF;
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA vtj TO %I', r);
    EXECUTE pg_catalog.format('GRANT SELECT ON vtj.kyselyloki TO %I', r);
    EXECUTE pg_catalog.format('CREATE OR REPLACE FUNCTION vtj.kyselyloki_lukija() RETURNS name LANGUAGE sql IMMUTABLE '
                              'SET search_path = pg_catalog, pg_temp AS %L',
                              'SELECT ' OPERATOR(pg_catalog.||) pg_catalog.quote_literal(r) OPERATOR(pg_catalog.||) '::pg_catalog.name');
END
$$;
COMMENT ON FUNCTION vtj.kyselyloki_lukija() IS
    'The role whose members may read vtj.kyselyloki in this database (vtj_kyselyloki_lukija_<database>)';
