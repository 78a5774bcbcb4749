-- vtj_fdw install script, part 85: no silent loss of the registers and the look-up log by a drop.
--
-- DROP EXTENSION vtj_fdw [CASCADE] drops the extension's tables with their rows: every register
-- with its members, stored data and change log, the run log, and the VTJkysely look-up log
-- (vtj.kyselyloki), which the organisation must keep for years. So does DROP SCHEMA vtj CASCADE
-- (the extension depends on its schema) and DROP OWNED BY the extension's owner. The event
-- trigger below refuses such a statement while registers or look-up log rows exist, unless
-- the session says so with SET vtj.salli_poisto = on (README "Removing vtj_fdw").
--
-- The trigger belongs to the extension and is dropped with it, so it acts at ddl_command_start,
-- before anything is dropped. What the statement will drop is read from its parse tree by the C
-- function (src/pg/drop_guard.cpp); the decision is check_drop's. DROP DATABASE runs no
-- event trigger: it is not guarded.

-- The decision: refuses (2BP01) while vtj_fdw holds registers or look-up log rows, unless
-- vtj.salli_poisto is on. komento is the statement's tag (DROP EXTENSION, DROP SCHEMA, DROP OWNED).
CREATE OR REPLACE FUNCTION vtj_internal.check_drop(komento text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_rekistereita bigint;
    v_loki boolean;
    v_mita text;
BEGIN
    IF coalesce(nullif(current_setting('vtj.salli_poisto', true), ''), 'off')::boolean THEN
        RETURN;
    END IF;
    v_rekistereita := (SELECT count(*) FROM vtj.rekisteri);
    v_loki := EXISTS (SELECT FROM vtj.kyselyloki);
    IF v_rekistereita = 0 AND NOT v_loki THEN
        RETURN;
    END IF;
    v_mita := concat_ws(' and ',
                        CASE WHEN v_rekistereita > 0
                             THEN format('%s register%s (members, stored data, change log, runs)', v_rekistereita,
                                         CASE WHEN v_rekistereita > 1 THEN 's' ELSE '' END) END,
                        CASE WHEN v_loki THEN 'the VTJkysely look-up log (vtj.kyselyloki)' END);
    RAISE EXCEPTION '% would delete what vtj_fdw holds: %', coalesce(komento, 'this statement'), v_mita
        USING ERRCODE = '2BP01',
              DETAIL = 'Dropping the extension (DROP EXTENSION vtj_fdw, DROP SCHEMA vtj CASCADE, DROP OWNED BY its owner) '
                       'drops its tables with all their rows; the look-up log is the accountability record of VTJkysely look-ups.',
              HINT = 'Keep a dump first (pg_dump -Fc -n vtj -n vtj_internal), or remove the registers with vtj.poista_rekisteri. '
                     'To drop anyway: SET vtj.salli_poisto = on, then the same statement again in that session.';
END $$;
COMMENT ON FUNCTION vtj_internal.check_drop(text) IS
    'Refuses a statement that would drop vtj_fdw while it holds registers or look-up log rows, unless vtj.salli_poisto is on';

-- The parse-tree reader: the event trigger's function.
CREATE OR REPLACE FUNCTION vtj_internal.drop_guard() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'vtj_drop_guard' LANGUAGE C;
COMMENT ON FUNCTION vtj_internal.drop_guard() IS
    'Event trigger function of vtj_fdw_drop_guard: a DROP that would drop vtj_fdw goes through vtj_internal.check_drop first';

-- The trigger, made again by every install and upgrade (an event trigger has no OR REPLACE; the
-- one to replace is the extension's own).
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_event_trigger t
                 JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_event_trigger'::pg_catalog.regclass
                                            AND d.objid = t.oid AND d.deptype = 'e'
                 JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'vtj_fdw'
                WHERE t.evtname = 'vtj_fdw_drop_guard') THEN
        DROP EVENT TRIGGER vtj_fdw_drop_guard;
    END IF;
    CREATE EVENT TRIGGER vtj_fdw_drop_guard ON ddl_command_start
        WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
        EXECUTE FUNCTION vtj_internal.drop_guard();
    COMMENT ON EVENT TRIGGER vtj_fdw_drop_guard IS
        'vtj_fdw: refuses to drop the extension while it holds registers or look-up log rows (SET vtj.salli_poisto = on allows it)';
END
$$;
