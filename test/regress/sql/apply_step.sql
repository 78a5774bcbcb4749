-- The step of the apply rules, vtj_internal.apply_step (src/pg/apply_step.cpp), at its edges:
-- NULL arguments, values of every JSON type where an object or an array is expected, and the
-- errors of jsonb's operators. The step replaced a function of SQL; this file's expected output
-- was made by that function (its last version: extension/20_05_apply.sql at commit e3de6f9),
-- so the C step answers every case, errors included, as the SQL did. The rules themselves, on
-- realistic sequences, are the property test's (test/integration/45_apply_property.py).
CREATE EXTENSION vtj_fdw;

CREATE FUNCTION pg_temp.askel(t jsonb, g jsonb, m boolean) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN coalesce(vtj_internal.apply_step(t, g, m)::text, 'NULL');
EXCEPTION WHEN OTHERS THEN
    RETURN 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT tila, g, moni, pg_temp.askel(tila::jsonb, g::jsonb, moni) AS tulos
  FROM (VALUES (1, NULL), (2, '[]'), (3, '[{"a": 1}]'), (4, '[{"a": 1, "loppupv": "2020"}, {"b": 2}]'),
               (5, '[1, "x"]'), (6, '{"a": 1}'), (7, '5'), (8, '[["loppupv"]]')) tt(i, tila),
       (VALUES (1, NULL), (2, '{}'), (3, '5'), (4, '"voimassaolevatTiedot"'), (5, '"turvakiellonAlaisetKentat"'),
               (6, '["turvakiellonAlaisetKentat"]'), (7, '["voimassaolevatTiedot"]'),
               (8, '{"voimassaolevatTiedot": [{"x": 1, "muutosattribuutti": "L"}, {"voimassaolevatTiedot": 1}]}'),
               (9, '{"voimassaolevatTiedot": {"x": 1}}'), (10, '{"voimassaolevatTiedot": [1]}'),
               (11, '{"voimassaolevatTiedot": [["muutosattribuutti", 1]]}'), (12, '{"voimassaolevatTiedot": null}'),
               (13, '{"turvakiellonAlaisetKentat": ["a"], "tietoryhma": "X"}'),
               (14, '{"turvakiellonAlaisetKentat": ["a"], "tietoryhma": "X", "a": null}'),
               (15, '{"muutosattribuutti": "LISATIETO", "a": 1}'), (16, '{"muutosattribuutti": ["LISATIETO"], "a": 1}'),
               (17, '{"tietoryhma": "HENKILOTUNNUS_KORJAUS", "voimassaolo": "PASSIIVI", "muutosattribuutti": "LISATTY"}'),
               (18, '{"tietoryhma": "HENKILOTUNNUS_KORJAUS", "voimassaolo": "AKTIIVI", "muutosattribuutti": "LISATTY"}'),
               (19, '{"a": 1, "muutosattribuutti": "KORJATTAVA"}'), (20, '{"a": 1, "muutosattribuutti": "POISTETTU", "loppupv": "x"}'),
               (21, '{"a": 1, "muutosattribuutti": "MUUTETTU", "loppupv": "2021"}'), (22, '{"b": 2, "muutosattribuutti": "MUUTETTU"}'),
               (23, '{"a": 1, "muutosattribuutti": "LISATTY", "loppupv": "9"}'), (24, '{"c": 3, "muutosattribuutti": "KORJATTU"}'),
               (25, '{"c": 3, "muutosattribuutti": "UUSI"}'), (26, '{"c": 3, "muutosattribuutti": null}'),
               (27, '{"c": 3, "muutosattribuutti": 5}'), (28, '{"b": 2, "muutosattribuutti": "LISATTY"}')) gg(j, g),
       (VALUES (1, true), (2, false), (3, NULL::boolean)) mm(k, moni)
 ORDER BY tt.i, gg.j, mm.k;

DROP EXTENSION vtj_fdw;
