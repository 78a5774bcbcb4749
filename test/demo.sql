-- The demo script run by test/demo against the embedded mock. It grows with the product.
\pset footer off
CREATE EXTENSION vtj_fdw;

\echo
\echo '== vtj.versio(): what to paste into a bug report'
SELECT vtj.versio();

\echo
\echo '== vtj.hetu_kelpaa(): strict henkilötunnus validation'
SELECT hetu, vtj.hetu_kelpaa(hetu) AS kelpaa
FROM (VALUES ('131052-308T'), ('131052-308U'), ('010594Y9032'), ('290200-900B'), ('131052-308t')) AS t(hetu);

\echo
\echo '== A register mirrored from the change interface (the mock, account mutpT1x: production-like)'
CREATE SERVER vtj_mock FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url :'mock_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER vtj_mock OPTIONS (username 'mutpT1x', password :'mock_password');
SELECT vtj.luo_rekisteri('asiakkaat', 'vtj_mock', 'ASREK') AS vieraat_taulut;
-- 2,000 of the mock's synthetic persons become the register's members.
\set hetut `curl -s "$VTJ_MOCK_ROOT/_control/hetut?limit=2000"`
SELECT vtj.lisaa_henkilot('asiakkaat', ARRAY(SELECT json_array_elements_text(:'hetut'::json))) AS lisatty;
-- turvaLoppuPv is compared with "today": here the mock's simulated present, not the wall clock.
\set tanaan `curl -s "$VTJ_MOCK_ROOT/_control/state" | python3 -c 'import json,sys; print(json.load(sys.stdin)["present_date"])'`
SET vtj_testi.tanaan = :'tanaan';
CALL vtj.lataa_perustiedot('asiakkaat');

\echo
\echo '== A week passes at DVV; the nightly run applies it'
\! curl -s -X POST "$VTJ_MOCK_ROOT/_control/advance" -d '{"days": 7}' > /dev/null
\set tanaan `curl -s "$VTJ_MOCK_ROOT/_control/state" | python3 -c 'import json,sys; print(json.load(sys.stdin)["present_date"])'`
SET vtj_testi.tanaan = :'tanaan';
CALL vtj.paivita('asiakkaat');
SELECT laji, tila, henkiloita, muutoksia, ladattuja, pyyntoja, round(extract(epoch FROM loppu - alku)::numeric, 2) AS sekuntia
FROM vtj.ajo WHERE rekisteri = 'asiakkaat' ORDER BY ajo;

\echo
\echo '== Report: the register'
SELECT (SELECT count(*) FROM vtj.jasen WHERE rekisteri = 'asiakkaat') AS jasenia,
       (SELECT count(*) FROM vtj.henkilo WHERE rekisteri = 'asiakkaat' AND NOT kuollut) AS elossa,
       (SELECT muutoksia FROM vtj.ajo WHERE rekisteri = 'asiakkaat' AND laji = 'paivita' ORDER BY ajo DESC LIMIT 1) AS muutoksia_viikossa,
       (SELECT count(*) FROM vtj.henkilo WHERE rekisteri = 'asiakkaat' AND turvakielto) AS turvakiellossa,
       (SELECT count(*) FROM vtj.laatu WHERE rekisteri = 'asiakkaat') AS laatuhuomioita;

\echo
\echo '== Report: top municipalities (living members; NULL = censored or unknown)'
SELECT kotikunta, henkiloita FROM vtj.kotikunnittain WHERE rekisteri = 'asiakkaat' ORDER BY henkiloita DESC, kotikunta LIMIT 6;

\echo
\echo '== Report: what the week changed (vtj.muutosloki; censored groups logged as {"sensuroitu": true})'
SELECT tietoryhma, muutosattribuutti, count(*) AS riveja, count(*) FILTER (WHERE tiedot ? 'sensuroitu') AS sensuroituja
FROM vtj.muutosloki WHERE rekisteri = 'asiakkaat' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 10;

\echo
\echo '== Report: billing addresses of persons under turvakielto (only the contact address exists)'
SELECT turvakielto, coalesce(laji, '(ei osoitetta)') AS laji, count(*) AS henkiloita
FROM vtj.laskutusosoite WHERE rekisteri = 'asiakkaat' GROUP BY 1, 2 ORDER BY 1, 3 DESC;

\echo
\echo '== Self-audit: 200 random members against fresh basic data (differences, censored)'
SELECT count(*) AS eroja FROM vtj.tarkista('asiakkaat', 200);

\echo
\echo '== Monitoring: vtj.tila per register, vtj.tarkistus() for a monitoring agent (OK / WARNING / CRITICAL)'
SELECT rekisteri, viimeisin_ajo, date_trunc('second', paivityksen_ika) AS paivityksen_ika, virheita, lataamatta, puuttuu, kirjausavain
FROM vtj.tila;
SELECT * FROM vtj.tarkistus();
