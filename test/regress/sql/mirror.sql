-- The mirror's deterministic parts, no interface needed: products, register and member
-- validation (no message prints a hetu), the apply rules of docs/change-semantics.md as the
-- aggregate vtj_internal.apply, and the turvakielto predicates.
CREATE EXTENSION vtj_fdw;
\pset null '(null)'
\set VERBOSITY default
\set SHOW_CONTEXT never

-- Products of docs/products.md.
SELECT tuote, cardinality(tietoryhmat) AS ryhmia, sensuroitavat FROM vtj.tuote ORDER BY tuote;

-- An interface date as a date: only a whole, existing day; anything else is NULL, never an error.
SELECT d, vtj_internal.vtj_date(d::jsonb)
FROM (VALUES ('{"arvo": "2024-02-29", "tarkkuus": "PAIVA"}'), ('{"arvo": "2023-02-29"}'), ('{"arvo": "2020-13-01"}'),
             ('{"arvo": "0000-01-01"}'), ('{"arvo": "2020-1-01"}'), ('{"arvo": "2020-01-01 "}'), ('{"arvo": "1965-11"}'),
             ('{"arvo": 20200101}'), ('"2020-01-01"'), ('[{"arvo": "2020-01-01"}]'), ('{}'), ('null')) v(d);
SELECT vtj_internal.vtj_date(NULL);
UPDATE vtj.tuote SET sensuroitavat = '{}' WHERE tuote = 'ASREK';
DELETE FROM vtj.tuote WHERE tuote = 'PALVELUSETELI';
INSERT INTO vtj.tuote (tuote, tietoryhmat, sensuroitavat) VALUES ('RIKKI', '{HENKILON_NIMI}', '{KOTIKUNTA}');
INSERT INTO vtj.tuote (tuote, tietoryhmat, sensuroitavat) VALUES ('OMA_REGRESS', '{HENKILON_NIMI,TURVAKIELTO,KOTIKUNTA}', '{KOTIKUNTA}');

-- Registers.
CREATE SERVER mirror_regress FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://127.0.0.1:9/api/v1');
SELECT vtj.luo_rekisteri('reg', 'mirror_regress', 'ASREK');
SELECT vtj.luo_rekisteri('reg', 'mirror_regress', 'ASREK');
SELECT vtj.luo_rekisteri('reg2', 'no_such_server', 'ASREK');
SELECT vtj.luo_rekisteri('reg2', 'mirror_regress', 'NO_SUCH');
SELECT vtj.luo_rekisteri('', 'mirror_regress', 'ASREK');
SELECT vtj.luo_rekisteri('reg2', 'mirror_regress', 'OMA_REGRESS');
SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'vtj_mirror_regress'::regnamespace ORDER BY 1;
SELECT rekisteri, palvelin, tuote, skeema, kirjausavain FROM vtj.rekisteri ORDER BY 1;

-- Members: all valid or nothing; errors by count and position.
SELECT vtj.lisaa_henkilot('reg', '{131052-308T,131052-308U,010594Y9032,xx}');
SELECT vtj.lisaa_henkilot('reg', ARRAY['131052-308T', NULL]);
SELECT vtj.lisaa_henkilot('nope', '{131052-308T}');
SELECT count(*) FROM vtj.jasen;
SELECT vtj.lisaa_henkilot('reg', '{131052-308T,010594Y9032,131052-308T}');
SELECT vtj.lisaa_henkilot('reg', '{131052-308T,010516B903X}');
SELECT hetu, ladattu IS NULL AS lataamatta FROM vtj.jasen ORDER BY hetu;
SELECT rekisteri, hetu, ongelma FROM vtj.laatu ORDER BY 1, 2, 3;
SELECT vtj.poista_henkilot('reg', '{010516B903X,020503F9037}');
SELECT hetu FROM vtj.jasen ORDER BY hetu;
-- Removal validates as adding does (count and positions, never values): nothing is removed.
SELECT vtj.poista_henkilot('reg', '{131052-308T,131052-308X}');
SELECT vtj.poista_henkilot('reg', NULL);
SELECT count(*) FROM vtj.jasen WHERE hetu = '131052-308T';
-- Valid hetus that are not members are counted, and can be listed.
SELECT vtj.poista_henkilot('reg', '{020503F9037,010516B903X}');
SELECT * FROM vtj.ei_jasenia('reg', '{020503F9037,131052-308T,020503F9037}');

-- Procedures that commit refuse a transaction block that already wrote something.
BEGIN;
INSERT INTO vtj.tuote (tuote, tietoryhmat) VALUES ('TX', '{HENKILON_NIMI}');
CALL vtj.paivita('reg');
ROLLBACK;
BEGIN;
INSERT INTO vtj.tuote (tuote, tietoryhmat) VALUES ('TX', '{HENKILON_NIMI}');
CALL vtj.lataa_perustiedot('reg');
ROLLBACK;
CALL vtj.lataa_perustiedot('reg', 0);
CALL vtj.lataa_perustiedot('reg', 50001);

-- The apply rules: each case starts from a stored list (first row) and applies the changes
-- in order.
CREATE TEMP TABLE tapaus (nimi text, moni boolean, n int, g jsonb);
INSERT INTO tapaus VALUES
 ('1 voimassaolevatTiedot replaces', false, 1, '{"voimassaolevatTiedot": [{"tietoryhma": "KOTIKUNTA", "kuntakoodi": "091"}]}'),
 ('1 voimassaolevatTiedot replaces', false, 2, '{"tietoryhma": "KOTIKUNTA", "muutosattribuutti": "POISTETTU", "kuntakoodi": "049", "voimassaolevatTiedot": [{"tietoryhma": "KOTIKUNTA", "muutosattribuutti": "LISATTY", "kuntakoodi": "092"}]}'),
 ('2 LISATIETO never overwrites', false, 1, '{"voimassaolevatTiedot": [{"tietoryhma": "KOTIKUNTA", "kuntakoodi": "091"}]}'),
 ('2 LISATIETO never overwrites', false, 2, '{"tietoryhma": "KOTIKUNTA", "muutosattribuutti": "LISATIETO", "kuntakoodi": "837"}'),
 ('3 KORJATTAVA + KORJATTU', false, 1, '{"voimassaolevatTiedot": [{"tietoryhma": "KUOLINPAIVA", "kuollut": true, "kuolinpv": {"arvo": "2025-01-01"}}]}'),
 ('3 KORJATTAVA + KORJATTU', false, 2, '{"tietoryhma": "KUOLINPAIVA", "muutosattribuutti": "KORJATTAVA", "kuollut": true, "kuolinpv": {"arvo": "2025-01-01"}}'),
 ('3 KORJATTAVA + KORJATTU', false, 3, '{"tietoryhma": "KUOLINPAIVA", "muutosattribuutti": "KORJATTU", "kuollut": false}'),
 ('4 POISTETTU single clears', false, 1, '{"voimassaolevatTiedot": [{"tietoryhma": "KOTIKUNTA", "kuntakoodi": "091"}]}'),
 ('4 POISTETTU single clears', false, 2, '{"tietoryhma": "KOTIKUNTA", "muutosattribuutti": "POISTETTU", "kuntakoodi": "091"}'),
 ('5 MUUTETTU+loppupv then LISATTY', false, 1, '{"voimassaolevatTiedot": [{"tietoryhma": "VAKINAINEN_KOTIMAINEN_OSOITE", "katunumero": "1"}]}'),
 ('5 MUUTETTU+loppupv then LISATTY', false, 2, '{"tietoryhma": "VAKINAINEN_KOTIMAINEN_OSOITE", "muutosattribuutti": "MUUTETTU", "katunumero": "1", "loppupv": {"arvo": "2025-05-05"}}'),
 ('5 MUUTETTU+loppupv then LISATTY', false, 3, '{"tietoryhma": "VAKINAINEN_KOTIMAINEN_OSOITE", "muutosattribuutti": "LISATTY", "katunumero": "2"}'),
 ('5 multi: end one record', true, 1, '{"voimassaolevatTiedot": [{"tietoryhma": "TILAPAINEN_KOTIMAINEN_OSOITE", "katunumero": "1"}, {"tietoryhma": "TILAPAINEN_KOTIMAINEN_OSOITE", "katunumero": "2"}]}'),
 ('5 multi: end one record', true, 2, '{"tietoryhma": "TILAPAINEN_KOTIMAINEN_OSOITE", "muutosattribuutti": "MUUTETTU", "katunumero": "1", "loppupv": {"arvo": "2025-05-05"}}'),
 ('6 multi: append, replace same', true, 1, '{"voimassaolevatTiedot": [{"tietoryhma": "NIMENMUUTOS", "nimi": "A"}]}'),
 ('6 multi: append, replace same', true, 2, '{"tietoryhma": "NIMENMUUTOS", "muutosattribuutti": "LISATTY", "nimi": "B"}'),
 ('6 multi: append, replace same', true, 3, '{"tietoryhma": "NIMENMUUTOS", "muutosattribuutti": "LISATTY", "nimi": "A", "loppupv": null}'),
 ('6 single: LISATTY replaces', false, 1, '{"voimassaolevatTiedot": [{"tietoryhma": "HENKILON_NIMI", "etunimi": "A"}]}'),
 ('6 single: LISATTY replaces', false, 2, '{"tietoryhma": "HENKILON_NIMI", "muutosattribuutti": "MUUTETTU", "etunimi": "B"}'),
 ('7 withheld clears', false, 1, '{"voimassaolevatTiedot": [{"tietoryhma": "KOTIKUNTA", "kuntakoodi": "091"}]}'),
 ('7 withheld clears', false, 2, '{"tietoryhma": "KOTIKUNTA", "muutosattribuutti": "MUUTETTU", "turvakiellonAlaisetKentat": ["kuntakoodi"]}'),
 ('unknown attribute: no effect', false, 1, '{"voimassaolevatTiedot": [{"tietoryhma": "X_UUSI", "a": 1}]}'),
 ('unknown attribute: no effect', false, 2, '{"tietoryhma": "X_UUSI", "muutosattribuutti": "TULEVA", "a": 2}');
SELECT nimi, vtj_internal.apply(g, moni ORDER BY n) AS tulos FROM tapaus GROUP BY nimi ORDER BY nimi;
SELECT vtj_internal.multi_valued('TILAPAINEN_KOTIMAINEN_OSOITE') AS tko, vtj_internal.multi_valued('VAKINAINEN_KOTIMAINEN_OSOITE') AS vko,
       vtj_internal.multi_valued('UUSI_RYHMA') AS tuntematon;

-- Turvakielto in force on a day; protection evidence in a window (p NULL) and in basic data.
SELECT tk, vtj_internal.turvakielto_voimassa(tk::jsonb, '2026-01-10') AS voimassa
FROM (VALUES ('{"turvakieltoAktiivinen": true}'),
             ('{"turvakieltoAktiivinen": true, "turvaLoppuPv": {"arvo": "2026-01-10"}}'),
             ('{"turvakieltoAktiivinen": true, "turvaLoppuPv": {"arvo": "2026-01-09"}}'),
             ('{"turvakieltoAktiivinen": true, "turvaLoppuPv": {"arvo": "huomenna"}}'),
             ('{"turvakieltoAktiivinen": false}'),
             -- fail closed: anything but exactly true or false protects, whatever the end date
             ('{"turvaLoppuPv": {"arvo": "2020-01-01"}}'),
             ('{"turvakieltoAktiivinen": null}'),
             ('{"turvakieltoAktiivinen": "false"}'),
             ('{"turvakieltoAktiivinen": 0, "turvaLoppuPv": {"arvo": "2020-01-01"}}'),
             ('"true"'),
             (NULL)) AS t(tk);
-- Protection in a change window, from the facts the muutokset scan gives on every row of a
-- person (henkilolla_salattua, henkilon_turvakielto: the person's TURVAKIELTO records in the
-- window, also those inside voimassaolevatTiedot); and in basic data on day 2026-01-10.
SELECT salattua, tk, vtj_internal.suojaa_ikkunassa(salattua, tk::jsonb) AS ikkunassa,
       vtj_internal.suojaa_henkilo(salattua, tk::jsonb, '2026-01-10') AS perustiedoissa
FROM (VALUES (false, '[{"turvakieltoAktiivinen": true, "turvaLoppuPv": {"arvo": "2026-01-01"}}]'),
             (false, '[{"turvakieltoAktiivinen": false}, {"turvakieltoAktiivinen": true}]'),
             (false, '[{"turvakieltoAktiivinen": false}]'),
             (false, '[{"turvakieltoAktiivinen": false}, {"turvakieltoAktiivinen": false}]'),
             (false, '[{"turvakieltoAktiivinen": "false"}]'),
             (false, '[{"tietoryhma": "TURVAKIELTO"}]'),
             (false, '[{"turvakieltoAktiivinen": false}, {"turvaLoppuPv": null}]'),
             (false, '[]'),
             (false, NULL),
             (true, NULL),
             (NULL, NULL)) AS t(salattua, tk);

-- A superuser may move "today" (tests against a mock's simulated present).
SET vtj_testi.tanaan = '2030-01-02';
SELECT vtj_internal.today();
RESET vtj_testi.tanaan;
SELECT vtj_internal.today() = current_date AS tanaan;

-- Reports exist and are empty without data.
SELECT count(*) FROM vtj.kotikunnittain;
SELECT count(*) FROM vtj.laskutusosoite;
SELECT count(*) FROM vtj.muuttuneet('reg', now() - interval '1 day');   -- deprecated: it warns

-- Merge jobs read by position: a register without a log is at 0; a bookmark outside the log
-- (beyond it, NULL, behind the retention) is refused.
SELECT vtj.positio('reg'), (SELECT count(*) FROM vtj.muutokset_jalkeen('reg', 0)) AS rivit,
       (SELECT count(*) FROM vtj.muuttuneet_jalkeen('reg', 0, 0)) AS jasenet;
SELECT * FROM vtj.muutokset_jalkeen('reg', 1);
SELECT * FROM vtj.muuttuneet_jalkeen('reg', 0, 1);
SELECT * FROM vtj.muuttuneet_jalkeen('reg', NULL);
UPDATE vtj.rekisteri SET positio = 5, poistettu_positio = 3 WHERE rekisteri = 'reg';
SELECT * FROM vtj.muutokset_jalkeen('reg', 2);
SELECT count(*) FROM vtj.muutokset_jalkeen('reg', 3);
SELECT count(*) FROM vtj.muuttuneet_jalkeen('reg', 4, 5);
SELECT vtj.positio('ei_ole');

SELECT vtj.poista_rekisteri('reg');
SELECT vtj.poista_rekisteri('reg2');
SELECT count(*) FROM vtj.jasen;
DELETE FROM vtj.tuote WHERE tuote = 'OMA_REGRESS';
DROP SCHEMA vtj_mirror_regress CASCADE;
DROP SERVER mirror_regress;

DROP EXTENSION vtj_fdw;
