-- vtj_fdw code, part 20 (the mirror), 05: the apply rules (docs/change-semantics.md) as an ordered aggregate.
-- The mirror's code is in files by concern, read in name order (its tables: extension/data/20_mirror.sql);
-- the overview of the mirror and its censorship is in 20_01_products.sql.

-- ---------------------------------------------------------------------------------------
-- The apply rules (docs/change-semantics.md) as an ordered aggregate per (person, group):
--   vtj_internal.apply(tiedot, multi_valued ORDER BY jarjestys)
-- The first row of each group is {"voimassaolevatTiedot": <stored records>} (rule 1 sets the
-- list), so the aggregate starts from the stored state. Returns the new list (maybe []).
-- ---------------------------------------------------------------------------------------
-- A function of SQL with a standard body (RETURN): parsed and bound when the extension is
-- installed, so no caller's search_path can change what it calls, and no PL/pgSQL call setup per
-- step (as fast as the PL/pgSQL version it replaced, measured over 100,000 steps).
CREATE OR REPLACE FUNCTION vtj_internal.apply_step(tila jsonb, g jsonb, moni boolean) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    -- rule 1: the valid records are given: they are the list
    WHEN g ? 'voimassaolevatTiedot' THEN
        (SELECT coalesce(jsonb_agg(e.x - 'muutosattribuutti' - 'voimassaolevatTiedot' ORDER BY e.n), '[]')
           FROM jsonb_array_elements(CASE jsonb_typeof(g->'voimassaolevatTiedot') WHEN 'array' THEN g->'voimassaolevatTiedot'
                                                                               ELSE '[]' END) WITH ORDINALITY e(x, n))
    -- rule 7: a value exists but is withheld: forget what we had
    WHEN vtj_internal.is_marker(g) THEN '[]'
    -- rule 2: context only
    WHEN g->>'muutosattribuutti' = 'LISATIETO' THEN coalesce(tila, '[]')
    -- rule 8: a hetu correction's PASSIIVI record describes the hetu given up; the group's record
    -- is the AKTIIVI one, whichever the change sends first
    WHEN g->>'tietoryhma' = 'HENKILOTUNNUS_KORJAUS' AND g->>'voimassaolo' = 'PASSIIVI' THEN coalesce(tila, '[]')
    -- rules 3, 4, 5: the record ends / is being corrected / is removed. Only the record it matches
    -- goes, in single- and multi-valued groups alike: DVV sends a move's new address before or
    -- after the closing of the old one, and either order must leave the new one (a closing
    -- record that matches nothing leaves the group alone).
    WHEN g->>'muutosattribuutti' IN ('KORJATTAVA', 'POISTETTU') OR (g->>'muutosattribuutti' = 'MUUTETTU' AND g ? 'loppupv') THEN
        (SELECT coalesce(jsonb_agg(e.x ORDER BY e.n), '[]')
           FROM jsonb_array_elements(coalesce(tila, '[]')) WITH ORDINALITY e(x, n)
          WHERE (e.x - 'loppupv') <> (g - 'muutosattribuutti' - 'voimassaolevatTiedot' - 'loppupv'))
    -- rule 6: the new current value; in a multi-valued group it replaces the same record, or is
    -- added at the end
    WHEN g->>'muutosattribuutti' IN ('LISATTY', 'KORJATTU', 'MUUTETTU') THEN
        CASE WHEN NOT moni THEN jsonb_build_array(g - 'muutosattribuutti' - 'voimassaolevatTiedot')
             ELSE (SELECT CASE WHEN min(e.n) IS NULL THEN coalesce(tila, '[]') || jsonb_build_array(u.rec)
                               ELSE jsonb_set(tila, ARRAY[(min(e.n) - 1)::text], u.rec) END
                     FROM (SELECT g - 'muutosattribuutti' - 'voimassaolevatTiedot' AS rec) u
                     LEFT JOIN jsonb_array_elements(coalesce(tila, '[]')) WITH ORDINALITY e(x, n)
                            ON (e.x - 'loppupv') = (u.rec - 'loppupv')
                    GROUP BY u.rec) END
    -- an attribute nobody knows yet: no rule, no effect
    ELSE coalesce(tila, '[]')
END;
CREATE OR REPLACE AGGREGATE vtj_internal.apply(jsonb, boolean) (
    SFUNC = vtj_internal.apply_step,
    STYPE = jsonb
);
