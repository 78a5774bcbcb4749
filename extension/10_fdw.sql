-- vtj_fdw install script, part 10: connection management, the last scan's bookmark, and what
-- change scans read about protection.

CREATE OR REPLACE FUNCTION vtj.yhteydet(
    OUT palvelin text, OUT kayttaja text, OUT vapaita integer, OUT kaytossa integer,
    OUT pyyntoja bigint, OUT tavuja bigint, OUT voimassa boolean)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'vtj_yhteydet' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION vtj.yhteydet() IS
    'The HTTP clients this backend keeps per user mapping: idle and in use, requests and bytes so far, whether still valid';

CREATE OR REPLACE FUNCTION vtj.katkaise(palvelin text DEFAULT NULL) RETURNS integer
    AS 'MODULE_PATHNAME', 'vtj_katkaise' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vtj.katkaise(text) IS
    'Closes the idle cached connections of one server (NULL: of all servers); returns how many clients were closed';

CREATE OR REPLACE FUNCTION vtj.viimeisin_kirjausavain() RETURNS bigint
    AS 'MODULE_PATHNAME', 'vtj_viimeisin_kirjausavain' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vtj.viimeisin_kirjausavain() IS
    'The bookmark up to which the last complete muutokset scan of this session brought every hetu (ajanTasalla); save it for the next run. NULL when there was none';

-- What the muutokset scans of this backend read about persons' protection since the last reset
-- (or the start of the transaction): kept page by page as the scans decode them, before any row
-- is returned, so that it survives a scan that fails later and a subtransaction rollback; cleared
-- at the end of every top-level transaction. Only persons with a withheld group or a TURVAKIELTO
-- record. Internal: the mirror's change run reads it to purge after a failed read.
CREATE OR REPLACE FUNCTION vtj_internal.protection_facts_read(
    OUT hetu text, OUT henkilolla_salattua boolean, OUT henkilon_turvakielto jsonb)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'vtj_protection_facts_read' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION vtj_internal.protection_facts_read() IS
    'Protection facts read by the muutokset scans of this backend in this transaction, also by scans that failed: per person whether a group was withheld, and the TURVAKIELTO records (as in muutokset.henkilon_turvakielto)';
REVOKE EXECUTE ON FUNCTION vtj_internal.protection_facts_read() FROM PUBLIC;

CREATE OR REPLACE FUNCTION vtj_internal.reset_protection_facts() RETURNS void
    AS 'MODULE_PATHNAME', 'vtj_reset_protection_facts' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vtj_internal.reset_protection_facts() IS
    'Forgets the protection facts vtj_internal.protection_facts_read() would return';
REVOKE EXECUTE ON FUNCTION vtj_internal.reset_protection_facts() FROM PUBLIC;

-- Whether memory freed in this backend is scrubbed (src/core/freed_memory.hpp: _PG_init turns
-- it on, so that no answer's bytes reach a spill file through memory handed out again).
CREATE OR REPLACE FUNCTION vtj_internal.freed_memory_scrubbed() RETURNS boolean
    AS 'MODULE_PATHNAME', 'vtj_freed_memory_scrubbed' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION vtj_internal.freed_memory_scrubbed() IS
    'True when a block freed in this backend no longer holds what was written into it once it is allocated again (glibc M_PERTURB, turned on when vtj_fdw is loaded)';
REVOKE EXECUTE ON FUNCTION vtj_internal.freed_memory_scrubbed() FROM PUBLIC;

-- The option table of src/pg/options.cpp, one row per option: what README's option tables are
-- tested against (test/integration/65_readme_options.py). kohde: 'server', 'user mapping' or
-- 'foreign table'; pienin, suurin: a whole-number option's range; oletus: the default as the
-- option's text (NULL: none); vaihtoehdot: a choice option's values.
CREATE OR REPLACE FUNCTION vtj_internal.options(
    OUT nimi text, OUT kohde text, OUT tyyppi text, OUT pienin bigint, OUT suurin bigint,
    OUT oletus text, OUT vaihtoehdot text[], OUT vain_superuser boolean)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'vtj_options' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION vtj_internal.options() IS
    'The options of vtj_fdw''s servers, user mappings and foreign tables: type, range, default, values, whether only a superuser may set it';
REVOKE EXECUTE ON FUNCTION vtj_internal.options() FROM PUBLIC;

-- The guard of servers that other roles use (README "Security"): a role that is not a superuser
-- may not repoint (url, kysely_url) a server on which other roles (or PUBLIC) have user mappings,
-- nor drop the TLS files (ca_file, client_cert, client_key) a superuser gave it, nor create or
-- alter another role's (or PUBLIC's) user mapping on a vtj_fdw server. The option validator is
-- given only the options a server will have, not the ones it had, so this is an event trigger at
-- ddl_command_start, which the statement reaches before anything changes; calling it loads the
-- library (no shared_preload_libraries needed); src/pg/server_guard.cpp.
CREATE OR REPLACE FUNCTION vtj_internal.server_guard() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'vtj_server_guard' LANGUAGE C;
COMMENT ON FUNCTION vtj_internal.server_guard() IS
    'Event trigger of ALTER SERVER and CREATE/ALTER USER MAPPING: only a superuser may repoint a vtj_fdw server that other roles have user mappings on, drop its TLS files, or make or change another role''s mapping on it';
REVOKE EXECUTE ON FUNCTION vtj_internal.server_guard() FROM PUBLIC;
-- (An event trigger has no OR REPLACE: made again on every install and upgrade.)
DO $$
BEGIN
    DROP EVENT TRIGGER IF EXISTS vtj_fdw_server_guard;
    CREATE EVENT TRIGGER vtj_fdw_server_guard ON ddl_command_start
        WHEN TAG IN ('ALTER SERVER', 'CREATE USER MAPPING', 'ALTER USER MAPPING')
        EXECUTE FUNCTION vtj_internal.server_guard();
END
$$;
COMMENT ON EVENT TRIGGER vtj_fdw_server_guard IS
    'vtj_fdw: only a superuser may repoint a server that other roles have user mappings on, drop its TLS files, or make or change another role''s mapping on it';
