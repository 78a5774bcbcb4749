-- vtj_fdw code, part 20 (the mirror), 01: the shipped products and what a product change does to its registers; and the overview of the mirror.
-- The mirror's code is in files 20_01 … 20_15 by concern, read in name order (its tables:
-- extension/data/20_mirror.sql).

--
-- A register (vtj.rekisteri) binds a foreign server and a product (vtj.tuote); its members
-- (vtj.jasen) are the hetus it keeps. vtj.lataa_perustiedot loads their basic data,
-- vtj.paivita applies the changes since the register's bookmark. The rules of
-- docs/change-semantics.md are implemented by the aggregate vtj_internal.apply; the turvakielto
-- censorship rule of docs/products.md is enforced here, in SQL, whatever the interface sends.
--
-- Censorship, in one place (see also README "The mirror"):
--   * A person is *protected in a run* when the mirror holds them censored, when the mirror
--     does not know their state yet (not loaded, re-added, not returned: puuttuu), or when ANY
--     TURVAKIELTO record of theirs in the window has a turvakieltoAktiivinen that is not exactly
--     false (also inside voimassaolevatTiedot, a KORJATTAVA, one already expired) or a group was
--     withheld by the interface (turvakiellonAlaisetKentat). The muutokset scan puts these facts
--     of the person on every row (henkilolla_salattua, henkilon_turvakielto), so the statement
--     that reads the interface decides each row on its own (20_03_censorship_rule.sql) before it
--     reaches a table, a sort or a hash: a censored value is replaced by
--     {"tietoryhma": T, "sensuroitu": true} on the way in.
--   * For a protected person none of the product's censored groups is stored; what was stored
--     before is deleted in the same transaction; the change log gets the reduced object.
--   * At the end of a run, a person held censored whose turvakielto is no longer in force
--     (ended by a change, or turvaLoppuPv passed) is revealed: their basic data are fetched
--     again in the same run and stored under the same rule (the fresh data decide).
--   * Basic data (perustiedot) are censored by the person's own fresh TURVAKIELTO (in force
--     today) or by any withheld group in the answer.
--
-- Procedures that commit (lataa_perustiedot, paivita) must be called as their own statement.
-- No message of these files prints a hetu or personal data: counts, positions, register names.


-- The shipped products describe DVV's products: keep them as shipped.
CREATE OR REPLACE FUNCTION vtj_internal.tuote_vakio_suojaus() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF OLD.vakio THEN
        RAISE EXCEPTION 'product "%" is shipped with vtj_fdw and cannot be changed or removed', OLD.tuote
            USING ERRCODE = '42501',
                  HINT = 'Add a product of your own: INSERT INTO vtj.tuote (tuote, tietoryhmat, sensuroitavat) VALUES (...).';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE OR REPLACE TRIGGER tuote_vakio BEFORE UPDATE OR DELETE ON vtj.tuote
    FOR EACH ROW EXECUTE FUNCTION vtj_internal.tuote_vakio_suojaus();

-- A product of one's own that censors more groups: what its registers hold of those groups for
-- their censored members goes now, from every table that holds them (vtj_internal.sensuroi:
-- the stored data, the typed rows rebuilt from them, the change log), in this statement and
-- under each register's data lock: a run in flight finishes first, and the next reads the new
-- rule (a run reads its product after taking the lock). The purge takes a change-log position of
-- each register and logs a SENSUROITU row per censored member and group it now censors, so that
-- merge jobs blank those groups too (vtj.muutokset_jalkeen).
CREATE OR REPLACE FUNCTION vtj_internal.tuote_sensuroi_lisatyt() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    x record;
    v_positio bigint;
    v_sensuroidut text[];
    v_lisatyt text[] := ARRAY(SELECT g FROM unnest(NEW.sensuroitavat) g EXCEPT SELECT g FROM unnest(OLD.sensuroitavat) g ORDER BY 1);
BEGIN
    IF NOT (NEW.sensuroitavat <@ OLD.sensuroitavat) THEN
        FOR x IN SELECT r.rekisteri FROM vtj.rekisteri r WHERE r.tuote = NEW.tuote ORDER BY r.rekisteri LOOP
            PERFORM vtj_internal.data_lock(x.rekisteri);
            v_positio := vtj_internal.seuraava_positio(x.rekisteri);
            v_sensuroidut := ARRAY(SELECT j.hetu FROM vtj.jasen j WHERE j.rekisteri = x.rekisteri AND j.sensuroitu ORDER BY j.hetu);
            PERFORM vtj_internal.sensuroi(x.rekisteri, NEW.sensuroitavat, v_sensuroidut);
            PERFORM vtj_internal.kirjaa_sensuroidut(x.rekisteri, v_lisatyt, v_sensuroidut, NULL, v_positio);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER tuote_sensuroi_lisatyt AFTER UPDATE OF sensuroitavat ON vtj.tuote
    FOR EACH ROW EXECUTE FUNCTION vtj_internal.tuote_sensuroi_lisatyt();
