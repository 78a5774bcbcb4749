-- vtj_fdw install script, part 40: monitoring (README, "Monitoring").
--
-- vtj.tila: one row per register, what a DBA or a monitoring agent asks first: when the register
-- was last brought up to date, what failed since, what runs now and how far it is, which members
-- need a look. vtj.tarkistus: the same as one state in the Nagios sense (OK, WARNING, CRITICAL)
-- and a message, for `psql -Atc "SELECT * FROM vtj.tarkistus()"`. Neither shows a hetu or any
-- personal data: register names, counts, times, SQLSTATEs and the runs' messages (which name
-- no person either). The role vtj_seuranta may read both.

CREATE OR REPLACE VIEW vtj.tila AS
SELECT r.rekisteri,
       r.tuote,
       viimeisin.tila AS viimeisin_ajo,
       ok.loppu AS paivitetty,
       pg_catalog.clock_timestamp() - ok.loppu AS paivityksen_ika,
       lataus.loppu AS ladattu,
       virheet.n AS virheita,
       latausvirheet.n AS latausvirheita,
       virhe.loppu AS virhe_aika,
       virhe.sqlstate AS virhe_sqlstate,
       virhe.virhe,
       kesken.laji AS kaynnissa,
       kesken.alku AS kaynnissa_alkaen,
       kesken.henkiloita AS kaynnissa_tehty,
       kesken.jasenia AS kaynnissa_yhteensa,
       (SELECT pg_catalog.count(*) FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri) AS jasenia,
       (SELECT pg_catalog.count(*) FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri AND j.ladattu IS NULL) AS lataamatta,
       (SELECT pg_catalog.count(*) FROM vtj.jasen j
         WHERE j.rekisteri = r.rekisteri AND j.ladattu IS NULL
           AND j.lisatty < greatest(ok.alku, lataus.alku)) AS lataamatta_ajon_jalkeen,
       (SELECT pg_catalog.count(*) FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri AND j.puuttuu) AS puuttuu,
       (SELECT pg_catalog.count(*) FROM vtj.jasen j
         WHERE j.rekisteri = r.rekisteri AND j.aktiivinen_hetu IS NOT NULL AND j.aktiivinen_hetu <> j.hetu) AS aktiivinen_hetu,
       r.kirjausavain
  FROM vtj.rekisteri r
  -- the latest run of any kind, as vtj.ajo shows it (a run whose backend died: 'keskeytynyt')
  LEFT JOIN LATERAL (SELECT a.tila FROM vtj.ajo a WHERE a.rekisteri = r.rekisteri ORDER BY a.alku DESC, a.ajo DESC LIMIT 1)
       viimeisin ON true
  -- the last successful change run, and the last successful load
  LEFT JOIN LATERAL (SELECT a.alku, a.loppu FROM vtj.ajo a WHERE a.rekisteri = r.rekisteri AND a.laji = 'paivita' AND a.tila = 'ok'
                      ORDER BY a.alku DESC, a.ajo DESC LIMIT 1) ok ON true
  LEFT JOIN LATERAL (SELECT a.alku, a.loppu FROM vtj.ajo a
                      WHERE a.rekisteri = r.rekisteri AND a.laji = 'lataa_perustiedot' AND a.tila = 'ok'
                      ORDER BY a.alku DESC, a.ajo DESC LIMIT 1) lataus ON true
  -- the change runs that failed or were interrupted since the last successful one: the failures in a row
  CROSS JOIN LATERAL (SELECT pg_catalog.count(*) AS n FROM vtj.ajo a
                       WHERE a.rekisteri = r.rekisteri AND a.laji = 'paivita' AND a.tila IN ('virhe', 'keskeytynyt')
                         AND (ok.alku IS NULL OR a.alku > ok.alku)) virheet
  CROSS JOIN LATERAL (SELECT pg_catalog.count(*) AS n FROM vtj.ajo a
                       WHERE a.rekisteri = r.rekisteri AND a.laji = 'lataa_perustiedot' AND a.tila IN ('virhe', 'keskeytynyt')
                         AND (lataus.alku IS NULL OR a.alku > lataus.alku)) latausvirheet
  -- the last failed or interrupted run since the last success of its kind
  LEFT JOIN LATERAL (SELECT a.loppu, a.sqlstate, a.virhe FROM vtj.ajo a
                      WHERE a.rekisteri = r.rekisteri AND a.tila IN ('virhe', 'keskeytynyt')
                        AND a.alku > coalesce(CASE a.laji WHEN 'paivita' THEN ok.alku ELSE lataus.alku END, '-infinity')
                      ORDER BY a.alku DESC, a.ajo DESC LIMIT 1) virhe ON true
  -- the run in progress (its backend alive), and how far a load is
  LEFT JOIN LATERAL (SELECT a.laji, a.alku, a.henkiloita, a.jasenia FROM vtj.ajo a
                      WHERE a.rekisteri = r.rekisteri AND a.tila = 'kaynnissa' ORDER BY a.alku DESC LIMIT 1) kesken ON true;
COMMENT ON VIEW vtj.tila IS
    'One row per register: the last successful change run (paivitetty) and its age, the failed or interrupted runs since (virheita: change runs in a row, latausvirheita: loads), the last failure, the run in progress and how far a load is, members not loaded, missing from the interface or with another active hetu, the bookmark';

-- "1 member", "2 members": a count and a noun for a message.
CREATE OR REPLACE FUNCTION vtj_internal.count_noun(n bigint, sana text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN n::text || ' ' || sana || CASE WHEN n = 1 THEN '' ELSE 's' END;

-- The state of all registers for a monitoring agent, in the sense of Nagios:
--   CRITICAL  a register whose data are older than max_ika: the last successful change run (or,
--             before the first one, the load) ended longer ago than that, or never happened
--             after members were added and loaded; or two change runs or more failed (or were
--             interrupted) in a row since the last successful one;
--   WARNING   one change run failed since the last successful one; a load failed since the last
--             successful one; members added before the last successful run that are still not
--             loaded, or a register whose members were never loaded; members the interface did
--             not return (jasen.puuttuu) or for whom it names another active hetu;
--   OK        otherwise (also while a run is in progress: it is named, with a load's progress).
-- The message names the registers and what is wrong with each, worst first; never a hetu.
CREATE OR REPLACE FUNCTION vtj.tarkistus(max_ika interval DEFAULT '36 hours')
RETURNS TABLE (tila text, viesti text)
LANGUAGE plpgsql STABLE
-- as its owner: a monitoring role needs EXECUTE on it and nothing else (it takes no input but
-- the age, and shows no personal data)
SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_taso integer := 0;        -- 0 OK, 1 WARNING, 2 CRITICAL
    v_ongelmat text[] := '{}';
    v_tiedot text[] := '{}';
    v_n integer := 0;
    v_vanhin interval;
    x record;
BEGIN
    IF max_ika IS NULL OR max_ika <= interval '0' THEN
        RAISE EXCEPTION 'max_ika must be a positive interval' USING ERRCODE = '22023';
    END IF;
    FOR x IN
        SELECT t.*, pg_catalog.clock_timestamp() - coalesce(t.paivitetty, t.ladattu) AS ika
          FROM vtj.tila t ORDER BY t.rekisteri
    LOOP
        v_n := v_n + 1;
        DECLARE
            v_kriittinen text[] := '{}';
            v_varoitus text[] := '{}';
        BEGIN
            IF x.jasenia > 0 AND x.ladattu IS NULL AND x.paivitetty IS NULL THEN
                v_varoitus := v_varoitus || 'never loaded (CALL vtj.lataa_perustiedot)'::text;
            ELSIF x.ika > max_ika THEN
                v_kriittinen := v_kriittinen || pg_catalog.format('last successful %s %s ago (at most %s)',
                    CASE WHEN x.paivitetty IS NULL THEN 'load, and no change run since,' ELSE 'change run' END,
                    pg_catalog.date_trunc('second', x.ika), max_ika);
            END IF;
            IF x.virheita >= 2 THEN
                v_kriittinen := v_kriittinen || pg_catalog.format('%s change runs failed in a row (the last: %s)',
                    x.virheita, coalesce('SQLSTATE ' || x.virhe_sqlstate, 'interrupted'));
            ELSIF x.virheita = 1 THEN
                v_varoitus := v_varoitus || pg_catalog.format('the last change run failed (%s)',
                    coalesce('SQLSTATE ' || x.virhe_sqlstate, 'interrupted'));
            END IF;
            IF x.latausvirheita > 0 THEN
                v_varoitus := v_varoitus || pg_catalog.format('%s failed since the last successful one', vtj_internal.count_noun(x.latausvirheita, 'load'));
            END IF;
            IF x.lataamatta_ajon_jalkeen > 0 THEN
                v_varoitus := v_varoitus || pg_catalog.format('%s added before the last run not loaded',
                                                              vtj_internal.count_noun(x.lataamatta_ajon_jalkeen, 'member'));
            END IF;
            IF x.puuttuu > 0 THEN
                v_varoitus := v_varoitus || pg_catalog.format('%s not returned by the interface (vtj.laatu)', vtj_internal.count_noun(x.puuttuu, 'member'));
            END IF;
            IF x.aktiivinen_hetu > 0 THEN
                v_varoitus := v_varoitus || pg_catalog.format('%s with another active hetu (vtj.laatu)', vtj_internal.count_noun(x.aktiivinen_hetu, 'member'));
            END IF;
            IF pg_catalog.cardinality(v_kriittinen) > 0 THEN
                v_taso := 2;
                v_ongelmat := v_ongelmat || pg_catalog.format('%s: %s', x.rekisteri,
                                                              pg_catalog.array_to_string(v_kriittinen || v_varoitus, ', '));
            ELSIF pg_catalog.cardinality(v_varoitus) > 0 THEN
                v_taso := greatest(v_taso, 1);
                v_ongelmat := v_ongelmat || pg_catalog.format('%s: %s', x.rekisteri, pg_catalog.array_to_string(v_varoitus, ', '));
            END IF;
            IF x.kaynnissa IS NOT NULL THEN
                v_tiedot := v_tiedot || pg_catalog.format('%s: %s running since %s%s', x.rekisteri,
                    CASE x.kaynnissa WHEN 'paivita' THEN 'a change run' ELSE 'a load' END,
                    pg_catalog.date_trunc('second', x.kaynnissa_alkaen),
                    CASE WHEN x.kaynnissa = 'lataa_perustiedot' AND x.kaynnissa_yhteensa IS NOT NULL
                         THEN pg_catalog.format(', %s of %s members', coalesce(x.kaynnissa_tehty, 0), x.kaynnissa_yhteensa) END);
            END IF;
            IF x.ika IS NOT NULL AND (v_vanhin IS NULL OR x.ika > v_vanhin) THEN
                v_vanhin := x.ika;
            END IF;
        END;
    END LOOP;
    tila := CASE v_taso WHEN 2 THEN 'CRITICAL' WHEN 1 THEN 'WARNING' ELSE 'OK' END;
    IF v_n = 0 THEN
        viesti := 'no registers';
    ELSIF v_taso = 0 THEN
        viesti := pg_catalog.format('%s up to date%s', vtj_internal.count_noun(v_n, 'register'),
                                    coalesce(pg_catalog.format(' (the oldest run %s ago)', pg_catalog.date_trunc('second', v_vanhin)), ''));
    ELSE
        viesti := pg_catalog.array_to_string(v_ongelmat, '; ');
    END IF;
    IF pg_catalog.cardinality(v_tiedot) > 0 THEN
        viesti := viesti || '; ' || pg_catalog.array_to_string(v_tiedot, '; ');
    END IF;
    RETURN NEXT;
END $$;
COMMENT ON FUNCTION vtj.tarkistus(interval) IS
    'Monitoring: OK, WARNING or CRITICAL (Nagios) and a message naming the registers and what is wrong; CRITICAL when a register''s last successful run is older than max_ika or two change runs failed in a row (README, "Monitoring")';

-- A monitoring agent's role: GRANT vtj_seuranta TO <the agent's login>.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vtj_seuranta') THEN
        CREATE ROLE vtj_seuranta NOLOGIN;
        COMMENT ON ROLE vtj_seuranta IS 'may read vtj.tila and run vtj.tarkistus, the monitoring of vtj_fdw''s registers';
    END IF;
END
$$;
GRANT USAGE ON SCHEMA vtj TO vtj_seuranta;
GRANT SELECT ON vtj.tila TO vtj_seuranta;
REVOKE ALL ON FUNCTION vtj.tarkistus(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vtj.tarkistus(interval) TO vtj_seuranta;
