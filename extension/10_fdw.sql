-- vtj_fdw install script, part 10: connection management and the last scan's bookmark.

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
