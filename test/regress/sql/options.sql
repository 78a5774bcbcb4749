-- Option validation at DDL time: unknown options with a hint listing the valid ones, bad
-- values with the allowed range, and postgres_fdw-style security rules.
CREATE EXTENSION vtj_fdw;
\set VERBOSITY default

-- The wrapper itself takes no options.
ALTER FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://x/api/v1');

-- A server needs the change interface's url or VTJkysely's kysely_url.
CREATE SERVER s_none FOREIGN DATA WRAPPER vtj_fdw;
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (uri 'http://x/api/v1');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'ftp://x/api/v1');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://x/api/v2');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://x y/api/v1');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://x/api/v1', auth 'oauth');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://x/api/v1', connect_timeout '0');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://x/api/v1', request_timeout 'soon');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://x/api/v1', perustiedot_batch_size '1001');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://x/api/v1', parallel_requests '64');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://x/api/v1', verify_tls 'maybe');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://x/api/v1', ca_file 'relative.pem');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://x/api/v1', xroad_client '');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (kysely_url 'file:///etc/passwd');

-- Every option with a valid value.
CREATE SERVER s_ok FOREIGN DATA WRAPPER vtj_fdw OPTIONS (
    url 'https://ss.example.fi/r1/FI/GOV/0245437-2/VTJmutpa/VTJmutpa/api/v1',
    xroad_client 'FI/MUN/0123456-7/vtj-client', auth 'mutp', connect_timeout '5',
    request_timeout '30', max_retries '2', perustiedot_batch_size '1000',
    muutokset_batch_size '5000', parallel_requests '4', max_pages '1000', max_response_mb '64',
    ca_file '/etc/ssl/certs/ca-certificates.crt', client_cert '/etc/vtj/client.pem',
    client_key '/etc/vtj/client.key', verify_tls 'true',
    kysely_url 'https://ss.example.fi/', kysely_palvelu 'FI/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1',
    soso_nimi 'Perussanoma 3', kysely_max_hetut '10');
ALTER SERVER s_ok OPTIONS (SET parallel_requests '0');
ALTER SERVER s_ok OPTIONS (ADD password 'secret');

-- User mappings take username and password only.
CREATE USER MAPPING FOR CURRENT_USER SERVER s_ok OPTIONS (username 'u', password 'p', token 't');
CREATE USER MAPPING FOR CURRENT_USER SERVER s_ok OPTIONS (username 'u', password 'p');

-- Foreign tables need an endpoint.
CREATE FOREIGN TABLE ft_bad (hetu text) SERVER s_ok;
CREATE FOREIGN TABLE ft_bad (hetu text) SERVER s_ok OPTIONS (endpoint 'henkilot');
CREATE FOREIGN TABLE ft_bad (hetu text) SERVER s_ok OPTIONS (endpoint 'muutokset', batch '1');
CREATE FOREIGN TABLE ft_bad (hetu text OPTIONS (name 'x')) SERVER s_ok OPTIONS (endpoint 'muutokset');

-- Security: non-superusers cannot name server files, turn off TLS verification, or use a
-- mapping without a password.
CREATE ROLE regress_vtj_user;
GRANT USAGE ON FOREIGN DATA WRAPPER vtj_fdw TO regress_vtj_user;
SET ROLE regress_vtj_user;
CREATE SERVER s_user FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'https://x/api/v1', ca_file '/etc/passwd');
CREATE SERVER s_user FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'https://x/api/v1', client_key '/etc/ssl/private/key.pem');
CREATE SERVER s_user FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'https://x/api/v1', verify_tls 'false');
CREATE SERVER s_user FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'https://x/api/v1', verify_tls 'true');
CREATE USER MAPPING FOR CURRENT_USER SERVER s_user OPTIONS (username 'u');
CREATE USER MAPPING FOR CURRENT_USER SERVER s_user OPTIONS (username 'u', password '');
CREATE USER MAPPING FOR CURRENT_USER SERVER s_user OPTIONS (username 'u', password 'p');
RESET ROLE;
-- A superuser may.
ALTER SERVER s_user OPTIONS (SET verify_tls 'false');

-- URLs: nobody gives credentials in one (server options are readable by every role); a
-- non-superuser's are https, without a query string or a fragment. A superuser may use http (the
-- tests' mock does).
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://u:p@x/api/v1');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (kysely_url 'https://u@x/');
CREATE SERVER s_http FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://x/api/v1', kysely_url 'http://x/?a=b');
SET ROLE regress_vtj_user;
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://x/api/v1');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (kysely_url 'http://x/');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'https://x/api/v1?x=/api/v1');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (kysely_url 'https://x/?token=1');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (kysely_url 'https://x/#f');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (kysely_url 'https://x:8443@y/');
-- (an @ in the path is no user name)
CREATE SERVER s_at FOREIGN DATA WRAPPER vtj_fdw OPTIONS (kysely_url 'https://x/a@b');

-- The answers one scan may hold: for a non-superuser, parallel_requests times max_response_mb
-- (defaults 4 and 256) is at most 1024 MB, over the server's whole option set.
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'https://x/api/v1', parallel_requests '8');
CREATE SERVER s_bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'https://x/api/v1', max_response_mb '257');
CREATE SERVER s_mem FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'https://x/api/v1', parallel_requests '8', max_response_mb '128');
ALTER SERVER s_mem OPTIONS (SET max_response_mb '129');
ALTER SERVER s_mem OPTIONS (DROP max_response_mb);
ALTER SERVER s_mem OPTIONS (SET parallel_requests '32', SET max_response_mb '32');
ALTER SERVER s_mem OPTIONS (SET url 'http://x/api/v1');
RESET ROLE;
-- A superuser may; the owner then cannot change the server until both are within the rules.
ALTER SERVER s_mem OPTIONS (SET url 'http://x/api/v1', SET max_response_mb '1024');
SET ROLE regress_vtj_user;
ALTER SERVER s_mem OPTIONS (ADD request_timeout '30');
ALTER SERVER s_mem OPTIONS (SET url 'https://x/api/v1', ADD request_timeout '30');
ALTER SERVER s_mem OPTIONS (SET url 'https://x/api/v1', SET max_response_mb '32', ADD request_timeout '30');
RESET ROLE;

-- Repointing (url, kysely_url) a server that other roles have user mappings on, or dropping its
-- TLS files, needs a superuser: the event trigger vtj_fdw_server_guard sees the statement
-- before it runs (the validator sees only the options the server will have).
CREATE ROLE regress_vtj_other;
CREATE SERVER s_shared FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'https://x/api/v1');
ALTER SERVER s_shared OWNER TO regress_vtj_user;
CREATE SERVER s_tls FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'https://x/api/v1',
    ca_file '/etc/vtj/ca.pem', client_cert '/etc/vtj/client.pem', client_key '/etc/vtj/client.key');
ALTER SERVER s_tls OWNER TO regress_vtj_user;
SET ROLE regress_vtj_user;
CREATE USER MAPPING FOR CURRENT_USER SERVER s_shared OPTIONS (username 'u', password 'p');
CREATE USER MAPPING FOR CURRENT_USER SERVER s_tls OPTIONS (username 'u', password 'p');
-- only the owner's own mapping: the owner may
ALTER SERVER s_shared OPTIONS (SET url 'https://y/api/v1', ADD kysely_url 'https://y/');
RESET ROLE;
GRANT USAGE ON FOREIGN SERVER s_shared, s_tls TO regress_vtj_other;
CREATE USER MAPPING FOR regress_vtj_other SERVER s_shared OPTIONS (username 'o', password 'q');
CREATE USER MAPPING FOR regress_vtj_other SERVER s_tls OPTIONS (username 'o', password 'q');
SET ROLE regress_vtj_user;
ALTER SERVER s_shared OPTIONS (SET url 'https://evil.example/api/v1');
ALTER SERVER s_shared OPTIONS (SET kysely_url 'https://evil.example/');
ALTER SERVER s_shared OPTIONS (DROP kysely_url, ADD kysely_url 'https://evil.example/');
ALTER SERVER s_tls OPTIONS (DROP ca_file, DROP client_cert, DROP client_key);
ALTER SERVER s_tls OPTIONS (SET url 'https://evil.example/api/v1');
-- other options, and dropping an address, stay the owner's
ALTER SERVER s_shared OPTIONS (ADD request_timeout '30', DROP kysely_url);
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 's_shared';
RESET ROLE;
-- a PUBLIC mapping is other roles' too
DROP USER MAPPING FOR regress_vtj_other SERVER s_shared;
CREATE USER MAPPING FOR PUBLIC SERVER s_shared OPTIONS (username 'o', password 'q');
SET ROLE regress_vtj_user;
ALTER SERVER s_shared OPTIONS (ADD kysely_url 'https://evil.example/');
RESET ROLE;
DROP USER MAPPING FOR PUBLIC SERVER s_shared;
-- a member of the other mapping's role has its privileges: not another role's mapping
CREATE USER MAPPING FOR regress_vtj_other SERVER s_shared OPTIONS (username 'o', password 'q');
GRANT regress_vtj_other TO regress_vtj_user;
SET ROLE regress_vtj_user;
ALTER SERVER s_shared OPTIONS (SET url 'https://w/api/v1');
RESET ROLE;
REVOKE regress_vtj_other FROM regress_vtj_user;
-- someone who does not own the server gets PostgreSQL's own error
SET ROLE regress_vtj_other;
ALTER SERVER s_shared OPTIONS (SET url 'https://evil.example/api/v1');
RESET ROLE;
-- nor may the owner make or change another role's (or PUBLIC's) mapping: it could drop the other
-- roles' mappings, repoint the server and make them new ones
SET ROLE regress_vtj_user;
CREATE USER MAPPING FOR PUBLIC SERVER s_shared OPTIONS (username 'x', password 'y');
ALTER USER MAPPING FOR regress_vtj_other SERVER s_shared OPTIONS (SET password 'z');
DROP USER MAPPING FOR regress_vtj_other SERVER s_shared;
CREATE USER MAPPING FOR regress_vtj_other SERVER s_shared OPTIONS (username 'x', password 'y');
ALTER USER MAPPING FOR CURRENT_USER SERVER s_shared OPTIONS (SET password 'p2');
RESET ROLE;
CREATE USER MAPPING FOR regress_vtj_other SERVER s_shared OPTIONS (username 'o', password 'q');
-- a superuser may
ALTER SERVER s_shared OPTIONS (SET url 'https://z/api/v1');
ALTER SERVER s_tls OPTIONS (DROP ca_file, DROP client_cert, DROP client_key);
-- a wrapper made of vtj_fdw's functions under another name is guarded too; another wrapper's
-- servers are not
CREATE FOREIGN DATA WRAPPER regress_vtj_alias HANDLER vtj.vtj_fdw_handler VALIDATOR vtj.vtj_fdw_validator;
CREATE FOREIGN DATA WRAPPER regress_other_fdw;
GRANT USAGE ON FOREIGN DATA WRAPPER regress_vtj_alias, regress_other_fdw TO regress_vtj_user;
CREATE SERVER s_alias FOREIGN DATA WRAPPER regress_vtj_alias OPTIONS (url 'https://x/api/v1');
CREATE SERVER s_other FOREIGN DATA WRAPPER regress_other_fdw OPTIONS (url 'https://x/api/v1');
ALTER SERVER s_alias OWNER TO regress_vtj_user;
ALTER SERVER s_other OWNER TO regress_vtj_user;
CREATE USER MAPPING FOR regress_vtj_other SERVER s_alias OPTIONS (username 'o', password 'q');
CREATE USER MAPPING FOR regress_vtj_other SERVER s_other OPTIONS (username 'o', password 'q');
SET ROLE regress_vtj_user;
ALTER SERVER s_alias OPTIONS (SET url 'https://evil.example/api/v1');
ALTER SERVER s_other OPTIONS (SET url 'https://elsewhere.example/api/v1');
RESET ROLE;
DROP SERVER s_http, s_at, s_mem, s_shared, s_tls, s_alias, s_other CASCADE;
DROP FOREIGN DATA WRAPPER regress_vtj_alias, regress_other_fdw;
DROP ROLE regress_vtj_other;

-- The password is not readable by other users through pg_user_mappings.
SET ROLE regress_vtj_user;
SELECT srvname, umoptions FROM pg_user_mappings WHERE srvname = 's_ok';
RESET ROLE;

DROP SERVER s_ok CASCADE;
DROP SERVER s_user CASCADE;
REVOKE USAGE ON FOREIGN DATA WRAPPER vtj_fdw FROM regress_vtj_user;
DROP ROLE regress_vtj_user;

DROP EXTENSION vtj_fdw;
