-- vtj_fdw install script, part 90: who may do what.
--
-- Two roles, so that nobody must be a superuser or a table owner to keep a register:
--   vtj_ajaja   runs the mirror: creates registers on servers it has USAGE on, adds and removes
--               members, runs loads, change runs and the self-audit. It reads the interface as
--               itself (its own user mapping) into its session's working tables; everything
--               that writes the mirror's tables is a SECURITY DEFINER function with a fixed
--               search_path. It cannot write the tables otherwise. It reads what vtj_lukija
--               reads. It is trusted with what it brings: the rows its session read (it holds
--               the interface's credentials, and could read the interface itself).
--   vtj_lukija  reads the typed mirror, the reports and the change log — not vtj.jasen's
--               protection columns (turvakielto, sensuroitu) and not the look-up log.
-- Roles are cluster-wide: a member acts in every database of the cluster that has vtj_fdw
-- (README "Roles" says how to keep databases apart). Nothing internal (schema vtj_internal) is
-- executable by PUBLIC.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vtj_lukija') THEN
        CREATE ROLE vtj_lukija NOLOGIN;
        COMMENT ON ROLE vtj_lukija IS 'vtj_fdw: reads the mirror''s typed data, reports and change log';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vtj_ajaja') THEN
        CREATE ROLE vtj_ajaja NOLOGIN;
        COMMENT ON ROLE vtj_ajaja IS 'vtj_fdw: runs the mirror (registers, members, loads, change runs, self-audit)';
    END IF;
END
$$;
GRANT vtj_lukija TO vtj_ajaja;

-- Internals: nobody's but the roles that run the mirror.
REVOKE ALL ON ALL ROUTINES IN SCHEMA vtj_internal FROM PUBLIC;
GRANT USAGE ON SCHEMA vtj_internal TO vtj_ajaja;
GRANT EXECUTE ON ALL ROUTINES IN SCHEMA vtj_internal TO vtj_ajaja;
-- (a view's functions run with the privileges of whoever reads the view)
-- (vtj.tila, read by vtj_seuranta, uses it too)
GRANT EXECUTE ON FUNCTION vtj_internal.backend_alive(integer, timestamptz, timestamptz) TO vtj_lukija, vtj_seuranta;

GRANT USAGE ON SCHEMA vtj TO vtj_lukija, vtj_ajaja;

-- Reading.
GRANT SELECT ON vtj.rekisteri, vtj.tuote, vtj.tieto, vtj.henkilo, vtj.osoite, vtj.muutosloki, vtj.ajo,
                vtj.kotikunnittain, vtj.laskutusosoite, vtj.laatu TO vtj_lukija;
GRANT SELECT (rekisteri, hetu, lisatty, ladattu, puuttuu, aktiivinen_hetu, edelliset) ON vtj.jasen TO vtj_lukija;

-- Running the mirror: the documented entry points, not executable by PUBLIC.
REVOKE EXECUTE ON FUNCTION vtj.luo_rekisteri(text, text, text), vtj.poista_rekisteri(text),
                           vtj.lisaa_henkilot(text, text[]), vtj.poista_henkilot(text, text[]),
                           vtj.ei_jasenia(text, text[]), vtj.tarkista(text, integer),
                           vtj.muuttuneet(text, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE vtj.lataa_perustiedot(text, integer), vtj.paivita(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vtj.luo_rekisteri(text, text, text), vtj.poista_rekisteri(text),
                          vtj.lisaa_henkilot(text, text[]), vtj.poista_henkilot(text, text[]),
                          vtj.ei_jasenia(text, text[]), vtj.tarkista(text, integer) TO vtj_ajaja;
GRANT EXECUTE ON PROCEDURE vtj.lataa_perustiedot(text, integer), vtj.paivita(text) TO vtj_ajaja;
GRANT EXECUTE ON FUNCTION vtj.muuttuneet(text, timestamptz) TO vtj_lukija;

-- Merge jobs: the change log by position (vtj.muuttuneet, by time, is deprecated).
REVOKE EXECUTE ON FUNCTION vtj.positio(text), vtj.muutokset_jalkeen(text, bigint, bigint),
                           vtj.muuttuneet_jalkeen(text, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vtj.positio(text), vtj.muutokset_jalkeen(text, bigint, bigint),
                          vtj.muuttuneet_jalkeen(text, bigint, bigint) TO vtj_lukija;
