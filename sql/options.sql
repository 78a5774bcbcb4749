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

-- The password is not readable by other users through pg_user_mappings.
SET ROLE regress_vtj_user;
SELECT srvname, umoptions FROM pg_user_mappings WHERE srvname = 's_ok';
RESET ROLE;

DROP SERVER s_ok CASCADE;
DROP SERVER s_user CASCADE;
REVOKE USAGE ON FOREIGN DATA WRAPPER vtj_fdw FROM regress_vtj_user;
DROP ROLE regress_vtj_user;

DROP EXTENSION vtj_fdw;
