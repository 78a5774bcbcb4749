-- vtj_fdw install script, part 00: the wrapper and the basic functions.
--
-- extension/*.sql are the code: functions, procedures, aggregates, views, types, triggers,
-- privileges, comments. Each statement replaces what is there (CREATE OR REPLACE; what has no OR
-- REPLACE is dropped if it exists and made again), so the same parts end both the install
-- script (after the data definitions, extension/data/*.sql) and every upgrade script (after the
-- migrations, extension/upgrade/*.sql): an upgrade brings all of the code to this release's.
-- make generates both (extension/script.sh).

-- Schema vtj holds the documented surface only; everything the extension uses internally lives
-- in vtj_internal, which is on nobody's search_path and whose functions PUBLIC cannot execute
-- (the roles that run the mirror get what they need: see the grants at the end of the script).
REVOKE ALL ON SCHEMA vtj_internal FROM PUBLIC;
COMMENT ON SCHEMA vtj_internal IS 'vtj_fdw''s internals: not an interface, may change in any release';

CREATE OR REPLACE FUNCTION vtj.vtj_fdw_handler() RETURNS fdw_handler
    AS 'MODULE_PATHNAME', 'vtj_fdw_handler' LANGUAGE C STRICT;

CREATE OR REPLACE FUNCTION vtj.vtj_fdw_validator(text[], oid) RETURNS void
    AS 'MODULE_PATHNAME', 'vtj_fdw_validator' LANGUAGE C STRICT;

COMMENT ON FUNCTION vtj.vtj_fdw_handler() IS
    'The handler of the foreign-data wrapper vtj_fdw (its scan callbacks); named by the wrapper, not called directly';
COMMENT ON FUNCTION vtj.vtj_fdw_validator(text[], oid) IS
    'The option validator of the foreign-data wrapper vtj_fdw: checks server, user mapping and foreign table options at CREATE/ALTER (README "Options")';

-- The wrapper is made once; it keeps its functions (CREATE OR REPLACE keeps a function's oid).
-- ALTER FOREIGN DATA WRAPPER warns about the servers and tables that depend on it, so it runs
-- only when the wrapper does not name these functions.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_foreign_data_wrapper w WHERE w.fdwname = 'vtj_fdw') THEN
        CREATE FOREIGN DATA WRAPPER vtj_fdw HANDLER vtj.vtj_fdw_handler VALIDATOR vtj.vtj_fdw_validator;
    ELSIF NOT EXISTS (SELECT FROM pg_catalog.pg_foreign_data_wrapper w
                       WHERE w.fdwname = 'vtj_fdw' AND w.fdwhandler = 'vtj.vtj_fdw_handler()'::pg_catalog.regprocedure
                         AND w.fdwvalidator = 'vtj.vtj_fdw_validator(text[], oid)'::pg_catalog.regprocedure) THEN
        ALTER FOREIGN DATA WRAPPER vtj_fdw HANDLER vtj.vtj_fdw_handler VALIDATOR vtj.vtj_fdw_validator;
    END IF;
END
$$;

COMMENT ON FOREIGN DATA WRAPPER vtj_fdw IS
    'VTJ-muutosrajapinta (REST/JSON) and VTJkysely (SOAP/XML) of the Finnish population register';

CREATE OR REPLACE FUNCTION vtj.hetu_kelpaa(hetu text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'vtj_hetu_kelpaa' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION vtj.hetu_kelpaa(text) IS
    'True when the text is a valid henkilötunnus: format, real date, century marker (+ - A and the 2023 letters), check character';

CREATE OR REPLACE FUNCTION vtj.versio() RETURNS text
    AS 'MODULE_PATHNAME', 'vtj_versio' LANGUAGE C STABLE;

COMMENT ON FUNCTION vtj.versio() IS
    'Versions of vtj_fdw, PostgreSQL, libcurl (with its TLS backend) and libxml2, for bug reports';
