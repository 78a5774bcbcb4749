-- Foreign tables over the change interface: IMPORT FOREIGN SCHEMA, what pushes down (EXPLAIN),
-- and the errors for scans that lack a required condition. No request is made here: EXPLAIN
-- without ANALYZE never calls the interface (test/integration/20_fdw.sh checks the request log).
CREATE EXTENSION vtj_fdw;
\getenv mock_url VTJ_MOCK_URL
\getenv mock_password VTJ_MOCK_PASSWORD
CREATE SERVER vtj_mock FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url :'mock_url', perustiedot_batch_size '2', muutokset_batch_size '3');
CREATE USER MAPPING FOR CURRENT_USER SERVER vtj_mock OPTIONS (username 'mutpT1x', password :'mock_password');

CREATE SCHEMA mr;
IMPORT FOREIGN SCHEMA muutosrajapinta FROM SERVER vtj_mock INTO mr;
SELECT c.relname, ft.ftoptions
FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'mr' ORDER BY 1;
\d mr.muutokset
\d mr.perustiedot
CREATE SCHEMA only_some;
IMPORT FOREIGN SCHEMA muutosrajapinta LIMIT TO (perustiedot) FROM SERVER vtj_mock INTO only_some;
IMPORT FOREIGN SCHEMA muutosrajapinta EXCEPT (perustiedot, muutokset) FROM SERVER vtj_mock INTO only_some;
SELECT relname FROM pg_class WHERE relnamespace = 'only_some'::regnamespace ORDER BY 1;
IMPORT FOREIGN SCHEMA muutostietopalvelu FROM SERVER vtj_mock INTO only_some;

-- Scans that would download a whole register fail at once, naming the condition to add.
\set VERBOSITY default
SELECT count(*) FROM mr.perustiedot;
SELECT count(*) FROM mr.muutokset WHERE kirjausavain > 0;
SELECT count(*) FROM mr.muutokset WHERE hetu = '010101-9011';
SELECT count(*) FROM mr.kirjausavain;
EXPLAIN (COSTS OFF) SELECT * FROM mr.perustiedot WHERE tietoryhma = 'KOTIKUNTA';
-- A condition the interface cannot use is not a hetu restriction.
SELECT count(*) FROM mr.perustiedot WHERE hetu LIKE '0101%';
SELECT count(*) FROM mr.perustiedot WHERE hetu = '010101-9011' OR hetu = '020202-9022';

-- Pushdown, as EXPLAIN VERBOSE shows it: never a hetu, never a credential.
EXPLAIN (VERBOSE, COSTS OFF) SELECT tietoryhma FROM mr.perustiedot WHERE hetu = '131052-308T';
EXPLAIN (VERBOSE, COSTS OFF) SELECT tietoryhma FROM mr.perustiedot WHERE '131052-308T' = hetu;
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM mr.perustiedot WHERE hetu IN ('131052-308T', '010594Y9032', '010516B903X');
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM mr.perustiedot WHERE hetu = ANY('{131052-308T,010594Y9032,010516B903X,020503F9037,131052-308T}'::text[]) AND tietoryhma = 'HENKILON_NIMI';
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM mr.muutokset WHERE hetu = ANY('{131052-308T}') AND kirjausavain > 1000;
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM mr.muutokset WHERE hetu = ANY('{131052-308T}') AND kirjausavain >= 1000 AND muutospv < '2026-02-01';
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM mr.muutokset WHERE hetu = '131052-308T' AND muutospv >= now() - interval '7 days';
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM mr.muutokset WHERE hetu = '131052-308T' AND muutospv > current_date - 1;
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM mr.kirjausavain WHERE paiva = '2026-01-15';

-- Parameters: prepared statements under a generic plan, and sub-plans.
SET plan_cache_mode = force_generic_plan;
PREPARE p1(text[]) AS SELECT count(*) FROM mr.perustiedot WHERE hetu = ANY($1);
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE p1('{131052-308T}');
PREPARE p2(text, bigint) AS SELECT count(*) FROM mr.muutokset WHERE hetu = $1 AND kirjausavain > $2;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE p2('131052-308T', 5);
RESET plan_cache_mode;
CREATE TABLE jasenet (hetu text PRIMARY KEY);
INSERT INTO jasenet VALUES ('131052-308T'), ('010594Y9032');
ANALYZE jasenet;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT count(*) FROM mr.perustiedot WHERE hetu = ANY(ARRAY(SELECT hetu FROM jasenet));

-- A join on hetu becomes one parameterized scan per outer row.
EXPLAIN (VERBOSE, COSTS OFF)
SELECT j.hetu, p.tietoryhma FROM jasenet j JOIN mr.perustiedot p ON p.hetu = j.hetu;

-- The foreign table's columns must have the interface's types.
CREATE FOREIGN TABLE vaara (hetu text, tiedot int) SERVER vtj_mock OPTIONS (endpoint 'perustiedot');
SELECT * FROM vaara WHERE hetu = '131052-308T';

-- perustiedot_ryhmittain: a row per person and group. A row of several records has no one
-- validity period; the person's columns exist only there. (Refused before any request.)
\d mr.perustiedot_ryhmittain
EXPLAIN (VERBOSE, COSTS OFF) SELECT hetu, tietoryhma, tiedot, henkilolla_salattua FROM mr.perustiedot_ryhmittain WHERE hetu = ANY('{131052-308T,010594Y9032}');
EXPLAIN (VERBOSE, COSTS OFF) SELECT tiedot FROM mr.perustiedot_ryhmittain WHERE hetu = '131052-308T' AND tietoryhma = ANY('{HENKILON_NIMI,KOTIKUNTA}');
CREATE FOREIGN TABLE vaara_ryhmat (hetu text, tiedot jsonb, alkupv date) SERVER vtj_mock OPTIONS (endpoint 'perustiedot_ryhmittain');
SELECT * FROM vaara_ryhmat WHERE hetu = '131052-308T';
CREATE FOREIGN TABLE vaara_tietueet (hetu text, henkilon_turvakielto jsonb) SERVER vtj_mock OPTIONS (endpoint 'perustiedot');
SELECT * FROM vaara_tietueet WHERE hetu = '131052-308T';
DROP FOREIGN TABLE vaara_ryhmat, vaara_tietueet;

-- muutokset carries the person's protection facts too (IMPORT adds them at the end); a table
-- made without them is still a muutokset table.
CREATE FOREIGN TABLE vanha_muutokset (hetu text, kirjausavain bigint, tietoryhma text, tiedot jsonb)
    SERVER vtj_mock OPTIONS (endpoint 'muutokset');
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM vanha_muutokset WHERE hetu = '131052-308T' AND kirjausavain > 1000;
EXPLAIN (VERBOSE, COSTS OFF) SELECT hetu, henkilolla_salattua, henkilon_turvakielto FROM mr.muutokset WHERE hetu = '131052-308T' AND kirjausavain > 1000;
DROP FOREIGN TABLE vanha_muutokset;

-- A window start the interface cannot be asked for is refused before any request (22008).
SELECT count(*) FROM mr.muutokset WHERE hetu = '131052-308T' AND muutospv >= 'infinity';
SELECT count(*) FROM mr.muutokset WHERE hetu = '131052-308T' AND muutospv > '-infinity';
SELECT count(*) FROM mr.muutokset WHERE hetu = '131052-308T' AND muutospv >= '0044-03-15 BC';
SELECT count(*) FROM mr.muutokset WHERE hetu = '131052-308T' AND muutospv >= 'infinity'::date;
SELECT count(*) FROM mr.muutokset WHERE hetu = '131052-308T' AND kirjausavain > 0 AND muutospv > '12000-01-01';
DO $$ BEGIN
    PERFORM count(*) FROM mr.muutokset WHERE hetu = '131052-308T' AND muutospv >= 'infinity';
EXCEPTION WHEN datetime_field_overflow THEN RAISE NOTICE 'SQLSTATE %', SQLSTATE;
END $$;

-- What change scans read of protection: internal, not for PUBLIC; empty in a fresh transaction.
SELECT * FROM vtj_internal.protection_facts_read();
SELECT vtj_internal.reset_protection_facts();
CREATE ROLE regress_vtj_muu;
SELECT has_schema_privilege('regress_vtj_muu', 'vtj_internal', 'USAGE') AS skeema,
       has_function_privilege('regress_vtj_muu', 'vtj_internal.protection_facts_read()', 'EXECUTE') AS luetut,
       has_function_privilege('regress_vtj_muu', 'vtj_internal.reset_protection_facts()', 'EXECUTE') AS nollaa;
DROP ROLE regress_vtj_muu;

-- Invalid hetus are refused before any request, by count and position, never by value.
SELECT count(*) FROM mr.perustiedot WHERE hetu = ANY('{131052-308T,131052-308U,xx,010594Y9032}');
SELECT count(*) FROM mr.perustiedot WHERE hetu = '131052-308t';

-- ANALYZE skips the foreign tables instead of downloading them.
ANALYZE mr.perustiedot;

DROP SCHEMA only_some CASCADE;
DROP TABLE jasenet;
DROP FOREIGN TABLE vaara;
DROP SCHEMA mr CASCADE;
DROP SERVER vtj_mock CASCADE;

DROP EXTENSION vtj_fdw;
