-- VTJkysely: IMPORT FOREIGN SCHEMA vtjkysely, what EXPLAIN shows (no hetus, no credentials),
-- the conditions a scan needs, and the accountability log's shape and privileges. No request is
-- made here (the server's kysely_url points nowhere); test/integration/40_kysely.py runs
-- look-ups against the mock.
CREATE EXTENSION IF NOT EXISTS vtj_fdw;
CREATE SERVER vtj_kysely FOREIGN DATA WRAPPER vtj_fdw
    OPTIONS (kysely_url 'http://127.0.0.1:9/vtjkysely', xroad_client 'FI-TEST/MUN/0123456-7/testi', kysely_max_hetut '3');
CREATE USER MAPPING FOR CURRENT_USER SERVER vtj_kysely OPTIONS (username 'kysely-tunnus', password 'kysely-Salasana');
CREATE SCHEMA vk;
IMPORT FOREIGN SCHEMA vtjkysely FROM SERVER vtj_kysely INTO vk;
\d vk.henkilo

-- The hetu condition is pushed down and kept out of the Filter: EXPLAIN prints no hetu.
EXPLAIN (VERBOSE, COSTS OFF) SELECT sukunimi FROM vk.henkilo WHERE hetu = '131052-308T';
EXPLAIN (VERBOSE, COSTS OFF) SELECT sukunimi FROM vk.henkilo
    WHERE hetu = ANY('{131052-308T,010594Y9032}') AND turvakielto IS NOT TRUE;
PREPARE q(text[]) AS SELECT sukunimi FROM vk.henkilo WHERE hetu = ANY($1);
SET plan_cache_mode = force_generic_plan;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE q('{131052-308T}');
RESET plan_cache_mode;
DEALLOCATE q;

-- VTJkysely is not for bulk use: a scan names its persons.
\set VERBOSITY default
SELECT count(*) FROM vk.henkilo;
SELECT count(*) FROM vk.henkilo WHERE sukunimi = 'Virtanen';
-- Checked before any request: too many hetus (after de-duplication), invalid hetus.
SELECT count(*) FROM vk.henkilo WHERE hetu = ANY('{131052-308T,010594Y9032,010516B903X,020503F9037}');
SELECT count(*) FROM vk.henkilo WHERE hetu = ANY('{131052-308T,131052-308U,xx}');
-- Nothing to look up: no request, no row.
SELECT count(*) FROM vk.henkilo WHERE hetu = ANY('{}'::text[]);
SELECT count(*) FROM vk.henkilo WHERE hetu = NULL::text;
\set VERBOSITY terse

-- The accountability log: its columns, who may read it, and the writers nobody else may call.
\d vtj.kyselyloki
-- The reader role is this database's own (roles are cluster-wide).
SELECT vtj.kyselyloki_lukija() = 'vtj_kyselyloki_lukija_' || current_database() AS per_database;
SELECT rolcanlogin FROM pg_roles WHERE rolname = vtj.kyselyloki_lukija();
SELECT count(*) AS cluster_wide_reader FROM pg_roles WHERE rolname = 'vtj_kyselyloki_lukija';
SELECT replace(grantee, current_database(), '<db>') AS grantee, privilege_type FROM information_schema.role_table_grants
WHERE table_schema = 'vtj' AND table_name = 'kyselyloki' AND grantee <> current_user ORDER BY 1, 2;
SELECT p.oid::regprocedure AS writer, p.prosecdef, p.proconfig, has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
FROM pg_proc p WHERE p.pronamespace = 'vtj'::regnamespace AND p.proname IN ('kyselyloki_kirjaa', 'kyselyloki_vastaus') ORDER BY 1;
SELECT c::regclass FROM pg_extension e, unnest(e.extconfig) c WHERE e.extname = 'vtj_fdw' AND c::regclass::text LIKE 'vtj.kyselyloki%' ORDER BY 1;

DROP SCHEMA vk CASCADE;
DROP SERVER vtj_kysely CASCADE;
DROP EXTENSION vtj_fdw;
