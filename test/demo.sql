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
