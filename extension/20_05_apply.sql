-- vtj_fdw code, part 20 (the mirror), 05: the apply rules (docs/change-semantics.md) as an ordered aggregate.
-- The mirror's code is in files by concern, read in name order (its tables: extension/data/20_mirror.sql);
-- the overview of the mirror and its censorship is in 20_01_products.sql.

-- ---------------------------------------------------------------------------------------
-- The apply rules (docs/change-semantics.md) as an ordered aggregate per (person, group):
--   vtj_internal.apply(tiedot, multi_valued ORDER BY jarjestys)
-- The first row of each group is {"voimassaolevatTiedot": <stored records>} (rule 1 sets the
-- list), so the aggregate starts from the stored state. Returns the new list (maybe []).
-- ---------------------------------------------------------------------------------------
-- The step is C (src/pg/apply_step.cpp): the function of SQL it replaced, with sub-queries,
-- took about 30 µs a step, the largest part of a change run over a long backlog. Its rules, in
-- the order the step tries them (the first that fits decides):
--   g NULL: no effect
--   rule 1: g ? 'voimassaolevatTiedot': the list is those records (each less muutosattribuutti
--           and voimassaolevatTiedot; [] unless g's value there is an array)
--   rule 7: vtj_internal.is_marker(g), a value exists but is withheld: []
--   rule 2: muutosattribuutti LISATIETO, context only: no effect
--   rule 8: a hetu correction's PASSIIVI record describes the hetu given up; the group's record
--           is the AKTIIVI one, whichever the change sends first: no effect
--   rules 3, 4, 5: KORJATTAVA, POISTETTU, or MUUTETTU with loppupv: the record ends / is being
--           corrected / is removed. Only the record it matches goes (equal but for loppupv), in
--           single- and multi-valued groups alike: DVV sends a move's new address before or
--           after the closing of the old one, and either order must leave the new one (a
--           closing record that matches nothing leaves the group alone).
--   rule 6: LISATTY, KORJATTU, MUUTETTU: the new current value (stripped): single-valued, the
--           list is [it]; multi-valued (moni), it replaces the same record, or is added at the end
--   an attribute nobody knows yet: no rule, no effect
-- The property test (test/integration/45_apply_property.py) holds it against the mock's
-- reference, test/mock/vtjmock/apply.py.
CREATE OR REPLACE FUNCTION vtj_internal.apply_step(tila jsonb, g jsonb, moni boolean) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'vtj_apply_step' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE AGGREGATE vtj_internal.apply(jsonb, boolean) (
    SFUNC = vtj_internal.apply_step,
    STYPE = jsonb
);
