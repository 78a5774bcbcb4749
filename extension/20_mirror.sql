-- vtj_fdw install script, part 20: the local mirror.
--
-- A register (vtj.rekisteri) binds a foreign server and a product (vtj.tuote); its members
-- (vtj.jasen) are the hetus it keeps. vtj.lataa_perustiedot loads their basic data,
-- vtj.paivita applies the changes since the register's bookmark. The rules of
-- docs/change-semantics.md are implemented by the aggregate vtj._sovella; the turvakielto
-- censorship rule of docs/product.md is enforced here, in SQL, whatever the interface sends.
--
-- Censorship, in one place (see also README "The mirror"):
--   * A person is *protected in a run* when, at the start of the run, the mirror holds them
--     censored or their stored TURVAKIELTO is in force, or when ANY row of the run carries a
--     TURVAKIELTO with turvakieltoAktiivinen = true (also inside voimassaolevatTiedot, also a
--     KORJATTAVA or an already expired one) or a group withheld by the interface
--     (turvakiellonAlaisetKentat). It is computed over the whole window with a window function
--     in the very statement that reads the interface, so a censored-worthy value never reaches
--     a table - not even the session's temporary staging table: it is replaced by
--     {"tietoryhma": T, "sensuroitu": true} before the INSERT.
--   * For a protected person none of the product's censored groups is stored; what was stored
--     before is deleted in the same transaction; the change log gets the reduced object.
--   * At the end of a run, a person held censored whose turvakielto is no longer in force
--     (ended by a change, or turvaLoppuPv passed) is revealed: their basic data are fetched
--     again in the same run and stored under the same rule (the fresh data decide).
--   * Basic data (perustiedot) are censored by the person's own fresh TURVAKIELTO (in force
--     today) or by any withheld group in the answer.
--
-- Procedures that commit (lataa_perustiedot, paivita) must be called as their own statement.
-- No message of this file prints a hetu or personal data: counts, positions, register names.

-- ---------------------------------------------------------------------------------------
-- Products
-- ---------------------------------------------------------------------------------------
CREATE TABLE vtj.tuote (
    tuote          text PRIMARY KEY CHECK (tuote <> ''),
    kuvaus         text,
    tietoryhmat    text[] NOT NULL CHECK (cardinality(tietoryhmat) > 0 AND array_position(tietoryhmat, NULL) IS NULL),
    sensuroitavat  text[] NOT NULL DEFAULT '{}' CHECK (array_position(sensuroitavat, NULL) IS NULL),
    vakio          boolean NOT NULL DEFAULT false,
    CONSTRAINT tuote_sensuroitavat_tietoryhmissa CHECK (sensuroitavat <@ tietoryhmat)
);
COMMENT ON TABLE vtj.tuote IS
    'Products: the data groups a register receives and the groups censored while a turvakielto is in force (rule TIEDOT_SENSUROIDAAN). vakio = shipped with vtj_fdw (read-only); add your own rows';

INSERT INTO vtj.tuote (tuote, kuvaus, tietoryhmat, sensuroitavat, vakio) VALUES
('ASREK', 'Asiakasrekisteri (hetu-rajattu): customer register restricted by hetu',
 '{HENKILOTUNNUS_KORJAUS,HENKILON_NIMI,NIMENMUUTOS,AIDINKIELI,ASIOINTIKIELI,KUOLINPAIVA,TURVAKIELTO,EDUNVALVONTA,EDUNVALVONTAVALTUUTUS,VAKINAINEN_KOTIMAINEN_OSOITE,TILAPAINEN_KOTIMAINEN_OSOITE,KOTIMAINEN_POSTIOSOITE,VAKINAINEN_ULKOMAINEN_OSOITE,TILAPAINEN_ULKOMAINEN_OSOITE,ULKOMAINEN_POSTIOSOITE,KOTIMAINEN_YHTEYSOSOITE,ULKOMAINEN_YHTEYSOSOITE,KOTIKUNTA}',
 '{VAKINAINEN_KOTIMAINEN_OSOITE,TILAPAINEN_KOTIMAINEN_OSOITE,KOTIMAINEN_POSTIOSOITE,VAKINAINEN_ULKOMAINEN_OSOITE,TILAPAINEN_ULKOMAINEN_OSOITE,KOTIKUNTA,ULKOMAINEN_POSTIOSOITE}',
 true),
('PALVELUSETELI', 'Palveluseteli- ja ostopalvelurekisteri: service-voucher and purchased-services register',
 '{HENKILOTUNNUS_KORJAUS,HENKILON_NIMI,AIDINKIELI,KUOLINPAIVA,TURVAKIELTO,VAKINAINEN_KOTIMAINEN_OSOITE,VAKINAINEN_ULKOMAINEN_OSOITE,KOTIKUNTA}',
 '{VAKINAINEN_KOTIMAINEN_OSOITE,VAKINAINEN_ULKOMAINEN_OSOITE,KOTIKUNTA}',
 true);

-- The shipped products describe DVV's products: keep them as shipped.
CREATE FUNCTION vtj._tuote_vakio_suojaus() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.vakio THEN
        RAISE EXCEPTION 'product "%" is shipped with vtj_fdw and cannot be changed or removed', OLD.tuote
            USING ERRCODE = '42501',
                  HINT = 'Add a product of your own: INSERT INTO vtj.tuote (tuote, tietoryhmat, sensuroitavat) VALUES (...).';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER tuote_vakio BEFORE UPDATE OR DELETE ON vtj.tuote
    FOR EACH ROW EXECUTE FUNCTION vtj._tuote_vakio_suojaus();

-- A product of one's own that censors more groups: what its registers hold of those groups for
-- their censored members goes now (a run censors only the members it touches).
CREATE FUNCTION vtj._tuote_sensuroi_lisatyt() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE x record;
BEGIN
    IF NOT (NEW.sensuroitavat <@ OLD.sensuroitavat) THEN
        FOR x IN SELECT r.rekisteri FROM vtj.rekisteri r WHERE r.tuote = NEW.tuote LOOP
            PERFORM vtj._sensuroi(x.rekisteri, NEW.sensuroitavat,
                                  ARRAY(SELECT j.hetu FROM vtj.jasen j WHERE j.rekisteri = x.rekisteri AND j.sensuroitu));
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tuote_sensuroi_lisatyt AFTER UPDATE OF sensuroitavat ON vtj.tuote
    FOR EACH ROW EXECUTE FUNCTION vtj._tuote_sensuroi_lisatyt();

-- ---------------------------------------------------------------------------------------
-- Registers, members, stored data, logs
-- ---------------------------------------------------------------------------------------
-- Keys (register names, hetus, group names) compare byte by byte (COLLATE "C"): they are codes,
-- not words, and under a language's collation (fi_FI, en_US) every index insertion, sort and
-- window partition of a load compared them with strcoll(), without abbreviated keys.
-- (Joins with columns of the database's default collation take this one.)
CREATE TABLE vtj.rekisteri (
    rekisteri      text COLLATE "C" PRIMARY KEY CHECK (rekisteri <> '' AND length(rekisteri) <= 63),
    id             integer GENERATED ALWAYS AS IDENTITY UNIQUE,   -- advisory-lock key
    palvelin       text NOT NULL,
    tuote          text NOT NULL REFERENCES vtj.tuote ON UPDATE CASCADE,
    skeema         text NOT NULL,      -- where the server's foreign tables were imported
    kirjausavain   bigint,             -- the next run fetches the changes after this bookmark
    luotu          timestamptz NOT NULL DEFAULT now(),
    paivitetty     timestamptz         -- end of the last successful vtj.paivita
);
COMMENT ON TABLE vtj.rekisteri IS
    'Registers: a foreign server, a product, the foreign-table schema and the bookmark of the next change run';

CREATE TABLE vtj.jasen (
    rekisteri        text COLLATE "C" NOT NULL REFERENCES vtj.rekisteri ON DELETE CASCADE,
    hetu             text COLLATE "C" NOT NULL,
    lisatty          timestamptz NOT NULL DEFAULT now(),
    ladattu          timestamptz,              -- basic data last fetched (NULL: not yet)
    puuttuu          boolean NOT NULL DEFAULT false,  -- the interface did not return the person
    turvakielto      jsonb,                    -- the current TURVAKIELTO record (steers censorship)
    sensuroitu       boolean NOT NULL DEFAULT false,  -- the mirror holds the person censored
    aktiivinen_hetu  text COLLATE "C",        -- the interface names another active hetu
    edelliset        text[] COLLATE "C" NOT NULL DEFAULT '{}',  -- hetus this member had before corrections
    PRIMARY KEY (rekisteri, hetu)
);
CREATE INDEX jasen_lataamatta ON vtj.jasen (rekisteri, hetu) WHERE ladattu IS NULL;
CREATE INDEX jasen_sensuroitu ON vtj.jasen (rekisteri) WHERE sensuroitu;
COMMENT ON TABLE vtj.jasen IS
    'Members of a register (hetus) and their state: loaded, missing from the interface, turvakielto, censored';

CREATE TABLE vtj.tieto (
    rekisteri   text COLLATE "C" NOT NULL,
    hetu        text COLLATE "C" NOT NULL,
    tietoryhma  text COLLATE "C" NOT NULL,
    tietueet    jsonb NOT NULL CHECK (jsonb_typeof(tietueet) = 'array' AND tietueet <> '[]'),
    paivitetty  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rekisteri, hetu, tietoryhma)
);
COMMENT ON TABLE vtj.tieto IS
    'Current data, lossless: per register, person and data group the valid records as the interface sends them (without muutosattribuutti/voimassaolevatTiedot), in order';

CREATE TABLE vtj.henkilo (
    rekisteri            text COLLATE "C" NOT NULL,
    hetu                 text COLLATE "C" NOT NULL,
    etunimet             text,
    sukunimi             text,
    aidinkieli           text,
    asiointikieli        text,
    kuollut              boolean NOT NULL DEFAULT false,
    kuolinpv             date,
    turvakielto          boolean NOT NULL DEFAULT false,
    turvakielto_loppupv  date,
    kotikunta            text,
    katuosoite           text,
    postinumero          text,
    postitoimipaikka     text,
    valtiokoodi          text,      -- set when the permanent address is abroad
    PRIMARY KEY (rekisteri, hetu)
);
CREATE INDEX henkilo_kotikunta ON vtj.henkilo (rekisteri, kotikunta);
COMMENT ON TABLE vtj.henkilo IS
    'Typed current data per member (derived from vtj.tieto; censored groups are NULL while a turvakielto is in force)';

CREATE TABLE vtj.osoite (
    rekisteri         text COLLATE "C" NOT NULL,
    hetu              text COLLATE "C" NOT NULL,
    laji              text COLLATE "C" NOT NULL,  -- the data group, e.g. VAKINAINEN_KOTIMAINEN_OSOITE
    nro               integer NOT NULL,  -- position in the group's records
    katuosoite        text,
    lisarivi          text,
    postinumero       text,
    postitoimipaikka  text,
    kuntakoodi        text,
    valtiokoodi       text,
    maa               text,              -- valtionimi, when the interface gives one
    alkupv            date,
    loppupv           date,
    PRIMARY KEY (rekisteri, hetu, laji, nro)
);
COMMENT ON TABLE vtj.osoite IS
    'Every current address of every kind per member, typed (derived from vtj.tieto)';

CREATE TABLE vtj.ajo (
    ajo                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rekisteri          text COLLATE "C" NOT NULL REFERENCES vtj.rekisteri ON DELETE CASCADE,
    laji               text COLLATE "C" NOT NULL,  -- paivita | lataa_perustiedot
    alku               timestamptz NOT NULL DEFAULT clock_timestamp(),
    loppu              timestamptz,
    tila               text NOT NULL DEFAULT 'kaynnissa' CHECK (tila IN ('kaynnissa', 'ok', 'virhe')),
    pyyntoja           bigint,           -- HTTP requests made
    muutoksia          bigint,           -- change rows applied (and logged)
    henkiloita         bigint,           -- persons with changes / loaded
    ladattuja          bigint,           -- basic data fetched (new members, reveals, hetu corrections)
    kirjausavain_alku  bigint,
    kirjausavain_loppu bigint,
    sqlstate           text,
    virhe              text
);
CREATE INDEX ajo_rekisteri ON vtj.ajo (rekisteri, alku);
COMMENT ON TABLE vtj.ajo IS
    'One row per run of vtj.paivita or vtj.lataa_perustiedot, also when it failed (tila = virhe, sqlstate, virhe)';

CREATE TABLE vtj.muutosloki (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rekisteri          text COLLATE "C" NOT NULL,
    hetu               text COLLATE "C" NOT NULL,
    ajo                bigint,
    kirjausavain       bigint,
    muutospv           timestamptz,
    jarjestys          bigint,
    tietoryhma         text COLLATE "C" NOT NULL,
    muutosattribuutti  text,        -- PERUSTIEDOT: the person's basic data were fetched again
    tiedot             jsonb,       -- censored: {"tietoryhma": T, "sensuroitu": true}
    kirjattu           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX muutosloki_hetu ON vtj.muutosloki (rekisteri, hetu);
CREATE INDEX muutosloki_kirjattu ON vtj.muutosloki (rekisteri, kirjattu);
COMMENT ON TABLE vtj.muutosloki IS
    'The changes applied by vtj.paivita, censored, for merge jobs: what changed since t';

-- pg_dump keeps the data of these tables (and the user's own products).
SELECT pg_catalog.pg_extension_config_dump('vtj.tuote', 'WHERE NOT vakio');
SELECT pg_catalog.pg_extension_config_dump('vtj.rekisteri', '');
SELECT pg_catalog.pg_extension_config_dump('vtj.jasen', '');
SELECT pg_catalog.pg_extension_config_dump('vtj.tieto', '');
SELECT pg_catalog.pg_extension_config_dump('vtj.henkilo', '');
SELECT pg_catalog.pg_extension_config_dump('vtj.osoite', '');
SELECT pg_catalog.pg_extension_config_dump('vtj.ajo', '');
SELECT pg_catalog.pg_extension_config_dump('vtj.muutosloki', '');

-- ---------------------------------------------------------------------------------------
-- Small helpers
-- ---------------------------------------------------------------------------------------

-- "Today" for turvaLoppuPv. A superuser may set vtj_testi.tanaan (a date) to run against a mock
-- whose simulated present is not the wall clock; anyone else always gets current_date.
CREATE FUNCTION vtj._tanaan() RETURNS date LANGUAGE plpgsql STABLE AS $$
DECLARE s text := current_setting('vtj_testi.tanaan', true);
BEGIN
    IF coalesce(s, '') <> '' AND (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        RETURN s::date;
    END IF;
    RETURN current_date;
END $$;

-- A VTJ date object {"arvo": "YYYY-MM-DD", "tarkkuus": …} as a date: NULL when absent,
-- partial, malformed or a day that does not exist (never an error: one bad date must not stop a
-- load). In C (src/pg/mirror_functions.cpp): it runs four times for every address typed.
CREATE FUNCTION vtj._pv(d jsonb) RETURNS date
    AS 'MODULE_PATHNAME', 'vtj_pv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Bilingual text {"fi": …, "sv": …} or a plain string: the Finnish (or only) form.
CREATE FUNCTION vtj._fi(v jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(v) WHEN 'object' THEN coalesce(v->>'fi', v->>'sv') WHEN 'string' THEN v #>> '{}' END
$$;

-- change-semantics.md: the multi-valued group types; every other type is single-valued.
CREATE FUNCTION vtj._moniarvoinen(tietoryhma text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT tietoryhma = ANY ('{HUOLTAJA,HUOLLETTAVA,HUOLTAJA_SUPPEA,HUOLLETTAVA_SUPPEA,HUOLTAJA_RAJOITETTU,HUOLLETTAVA_RAJOITETTU,LAPSI,VANHEMPI,LAPSI_SUPPEA,VANHEMPI_SUPPEA,PERHESUHDE,NIMENMUUTOS,NIMENMUUTOS_LAAJA,TILAPAINEN_KOTIMAINEN_OSOITE,TILAPAINEN_ULKOMAINEN_OSOITE,SAHKOPOSTIOSOITE,AVIOLIITTO,REKISTEROITY_PARISUHDE,EDELLINEN_KOTIKUNTA,EDUNVALVONTA,EDUNVALVONTAVALTUUTUS}'::text[])
$$;

-- A group withheld by the interface: turvakiellonAlaisetKentat and no values (rule 7).
-- (An expression without a sub-query, so that the planner inlines it.)
CREATE FUNCTION vtj._on_merkki(g jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT g ? 'turvakiellonAlaisetKentat'
       AND (g - '{tietoryhma,muutosattribuutti,turvakiellonAlaisetKentat}'::text[]) = '{}'::jsonb
$$;

-- Is this TURVAKIELTO record in force on day p?
CREATE FUNCTION vtj._turvakielto_voimassa(tk jsonb, p date) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(tk->>'turvakieltoAktiivinen' = 'true'
                    AND (NOT (tk ? 'turvaLoppuPv') OR jsonb_typeof(tk->'turvaLoppuPv') = 'null'
                         OR vtj._pv(tk->'turvaLoppuPv') IS NULL   -- unreadable end: stay protected
                         OR vtj._pv(tk->'turvaLoppuPv') >= p), false)
$$;

-- Does this row of a change window make its person protected? Any TURVAKIELTO that says
-- active, whatever its end (it was in force at some point of the window), and any group
-- withheld by the interface: the interface itself says the person is protected.
CREATE FUNCTION vtj._suojaa(tietoryhma text, g jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(g ? 'turvakiellonAlaisetKentat', false)
        OR (tietoryhma = 'TURVAKIELTO'
            AND (g->>'turvakieltoAktiivinen' = 'true'
                 OR coalesce(jsonb_path_exists(g, '$.voimassaolevatTiedot[*] ? (@.turvakieltoAktiivinen == true)'), false)))
$$;

-- Is any of these TURVAKIELTO records in force on day p?
CREATE FUNCTION vtj._jokin_turvakielto_voimassa(tietueet jsonb, p date) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT EXISTS (SELECT 1 FROM jsonb_array_elements(tietueet) e WHERE vtj._turvakielto_voimassa(e, p))
$$;

-- Is a person protected in its basic data on day p? Any of its groups with fields withheld
-- (henkilolla_salattua of perustiedot_ryhmittain: also the records withheld whole, which are
-- in no array), or a TURVAKIELTO record in force that day (henkilon_turvakielto, the person's
-- TURVAKIELTO records on each of its rows). Inlined; the records are looked at only for the
-- persons with a TURVAKIELTO group.
CREATE FUNCTION vtj._suojaa_henkilo(salattua boolean, turvakielto jsonb, p date) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(salattua, true) OR (turvakielto IS NOT NULL AND vtj._jokin_turvakielto_voimassa(turvakielto, p))
$$;

-- The active hetu of a HENKILOTUNNUS_KORJAUS group's records: that of the last record in force
-- (inlined, as above).
CREATE FUNCTION vtj._aktiivinen_hetu(tietueet jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_path_query_array(tietueet, '$[*] ? (@.voimassaolo == "AKTIIVI")')->-1->>'aktiivinenHenkilotunnus'
$$;

-- The reduced form that stands for a censored group in staging and in the change log.
CREATE FUNCTION vtj._sensuroitu(tietoryhma text) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object('tietoryhma', tietoryhma, 'sensuroitu', true)
$$;

-- Procedures that COMMIT cannot run inside a transaction block. When the transaction already
-- holds an xid, statements before this CALL wrote something: certainly a transaction block,
-- say so before any work. (Any other atomic context fails at the procedure's first COMMIT with
-- PostgreSQL's own "invalid transaction termination".)
CREATE FUNCTION vtj._oma_lause(kutsu text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION '% must be called as a statement of its own, outside a transaction block', kutsu
            USING ERRCODE = '25001',
                  HINT = 'It commits as it goes (its run log; lataa_perustiedot every batch). Run the CALL by itself in autocommit mode, not between BEGIN and COMMIT.';
    END IF;
END $$;

CREATE FUNCTION vtj._rekisteri(p_rekisteri text) RETURNS vtj.rekisteri LANGUAGE plpgsql STABLE AS $$
DECLARE r vtj.rekisteri;
BEGIN
    SELECT * INTO r FROM vtj.rekisteri WHERE rekisteri = p_rekisteri;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'register "%" does not exist', p_rekisteri
            USING ERRCODE = '42704', HINT = 'Create it with vtj.luo_rekisteri(rekisteri, palvelin, tuote); SELECT rekisteri FROM vtj.rekisteri lists the registers.';
    END IF;
    RETURN r;
END $$;

-- Advisory-lock key of a register: (class, register id). Runs of one register never interleave.
CREATE FUNCTION vtj._lukitse(r vtj.rekisteri, kutsu text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(7763050, r.id) THEN
        RAISE EXCEPTION '%: register "%" is already being updated in another session', kutsu, r.rekisteri
            USING ERRCODE = '55P03',
                  HINT = 'Only one vtj.paivita or vtj.lataa_perustiedot runs per register at a time. Wait for the other run to finish (vtj.ajo, pg_stat_activity) and try again.';
    END IF;
END $$;

-- HTTP requests made so far by this backend (for vtj.ajo.pyyntoja).
CREATE FUNCTION vtj._pyyntoja() RETURNS bigint LANGUAGE sql VOLATILE AS $$
    SELECT coalesce(sum(pyyntoja), 0)::bigint FROM vtj.yhteydet()
$$;

-- Sorting a window of changes by person must stay in memory: a sort that spills writes its
-- rows to temporary files, and those rows may still hold values the next step censors.
-- JIT is off for the same statements: they run once a batch, and compiling their expressions
-- (about 30 ms a statement) costs more than it saves at these row counts.
CREATE FUNCTION vtj._muisti() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF pg_size_bytes(current_setting('work_mem')) < pg_size_bytes('256MB') THEN
        PERFORM set_config('work_mem', '256MB', true);
    END IF;
    PERFORM set_config('jit', 'off', true);
END $$;

-- The planner's statistics of the mirror's tables. Autovacuum analyzes a table only after its
-- naptime and a threshold; meanwhile a load's statements are planned with the row counts of a
-- much smaller table, and a plan that reads "all 5,000 rows of the register" reads all of them
-- when there are 500,000: seen at 1,000,000 members, where the load slowed batch by batch and a
-- change run read the whole of vtj.tieto for a few moved persons. The load calls this whenever
-- it has doubled what it loaded (kevyt: the row counts are what matters then, and a sample of a
-- tenth of the default size gives them at a tenth of the cost) and in full at its end.
-- SECURITY DEFINER: only the tables' owner may ANALYZE them, and the load may be run by any
-- role allowed to; it takes no input but the flag.
CREATE FUNCTION vtj._analysoi(kevyt boolean) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE v_tavoite text := current_setting('default_statistics_target');
BEGIN
    IF kevyt THEN
        PERFORM set_config('default_statistics_target', '10', true);
    END IF;
    -- the columns the mirror's own statements filter and join on: the rest (the stored jsonb
    -- above all) is left to autovacuum, it cost most of the time of a full ANALYZE
    ANALYZE vtj.jasen (rekisteri, hetu, ladattu, sensuroitu), vtj.tieto (rekisteri, hetu, tietoryhma),
            vtj.henkilo (rekisteri, hetu), vtj.osoite (rekisteri, hetu, laji);
    PERFORM set_config('default_statistics_target', v_tavoite, true);
END $$;

-- The most persons one statement reads from the interface (a batch of vtj.lataa_perustiedot, a
-- slice of the members a change run loads): it bounds what one statement holds in memory and in
-- its working tables.
CREATE FUNCTION vtj._suurin_era() RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 50000
$$;

-- ---------------------------------------------------------------------------------------
-- The apply rules (docs/change-semantics.md) as an ordered aggregate per (person, group):
--   vtj._sovella(tiedot, moniarvoinen ORDER BY jarjestys)
-- The first row of each group is {"voimassaolevatTiedot": <stored records>} (rule 1 sets the
-- list), so the aggregate starts from the stored state. Returns the new list (maybe []).
-- ---------------------------------------------------------------------------------------
CREATE FUNCTION vtj._sovella_askel(tila jsonb, g jsonb, moni boolean) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    a text := g->>'muutosattribuutti';
    rec jsonb;
    ydin jsonb;
    uusi jsonb;
    kohta bigint;
BEGIN
    tila := coalesce(tila, '[]');
    -- rule 1: the valid records are given: they are the list
    IF g ? 'voimassaolevatTiedot' THEN
        SELECT coalesce(jsonb_agg(x - 'muutosattribuutti' - 'voimassaolevatTiedot' ORDER BY n), '[]')
          INTO uusi
          FROM jsonb_array_elements(CASE jsonb_typeof(g->'voimassaolevatTiedot') WHEN 'array' THEN g->'voimassaolevatTiedot' ELSE '[]' END)
               WITH ORDINALITY e(x, n);
        RETURN uusi;
    END IF;
    -- rule 7: a value exists but is withheld: forget what we had
    IF vtj._on_merkki(g) THEN
        RETURN '[]';
    END IF;
    -- rule 2: context only
    IF a = 'LISATIETO' THEN
        RETURN tila;
    END IF;
    -- rule 8: a hetu correction's PASSIIVI record describes the hetu given up; the group's
    -- record is the AKTIIVI one, whichever the change sends first
    IF g->>'tietoryhma' = 'HENKILOTUNNUS_KORJAUS' AND g->>'voimassaolo' = 'PASSIIVI' THEN
        RETURN tila;
    END IF;
    rec := g - 'muutosattribuutti' - 'voimassaolevatTiedot';
    ydin := rec - 'loppupv';
    IF a = 'KORJATTAVA' OR a = 'POISTETTU' OR (a = 'MUUTETTU' AND g ? 'loppupv') THEN
        -- rules 3, 4, 5: the record ends / is being corrected / is removed. Only the record it
        -- matches goes, in single- and multi-valued groups alike: DVV sends a move's new
        -- address before or after the closing of the old one, and either order must leave the
        -- new one (a closing record that matches nothing leaves the group alone).
        SELECT coalesce(jsonb_agg(x ORDER BY n), '[]') INTO uusi
          FROM jsonb_array_elements(tila) WITH ORDINALITY e(x, n)
         WHERE (x - 'loppupv') <> ydin;
        RETURN uusi;
    ELSIF a IN ('LISATTY', 'KORJATTU', 'MUUTETTU') THEN
        -- rule 6: the new current value
        IF NOT moni THEN
            RETURN jsonb_build_array(rec);
        END IF;
        SELECT min(n) INTO kohta FROM jsonb_array_elements(tila) WITH ORDINALITY e(x, n)
         WHERE (x - 'loppupv') = ydin;
        IF kohta IS NULL THEN
            RETURN tila || jsonb_build_array(rec);
        END IF;
        RETURN jsonb_set(tila, ARRAY[(kohta - 1)::text], rec);
    END IF;
    -- an attribute nobody knows yet: no rule, no effect
    RETURN tila;
END $$;

CREATE AGGREGATE vtj._sovella(jsonb, boolean) (
    SFUNC = vtj._sovella_askel,
    STYPE = jsonb
);

-- ---------------------------------------------------------------------------------------
-- Session-private working tables. They never hold a censored value (see the header).
-- ---------------------------------------------------------------------------------------
CREATE FUNCTION vtj._tyotaulut() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.vtj_tyyppi') IS NOT NULL THEN
        RETURN;
    END IF;
    -- basic data of one load: one row per person and group (its records as stored, or NULL for
    -- a censored group of a protected person); salattu: the interface withheld fields of it;
    -- tallennettu: the row goes to vtj.tieto as is
    CREATE TEMP TABLE IF NOT EXISTS vtj_pt (
        hetu text COLLATE "C", jarjestys bigint, tietoryhma text COLLATE "C", tietueet jsonb, salattu boolean,
        suojattu boolean, tallennettu boolean
    ) ON COMMIT DELETE ROWS;
    -- one run's window of changes, censored
    CREATE TEMP TABLE IF NOT EXISTS vtj_vaihe (
        hetu text COLLATE "C", jarjestys bigint, kirjausavain bigint, muutospv timestamptz, tietoryhma text COLLATE "C",
        muutosattribuutti text, tiedot jsonb, suojattu boolean, uusi boolean
    ) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS vtj_tulos (hetu text COLLATE "C", tietoryhma text COLLATE "C", tietueet jsonb) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS vtj_siirto (vanha text COLLATE "C", uusi text COLLATE "C") ON COMMIT DELETE ROWS;
    -- the stored groups of the persons whose typed rows are being rebuilt (vtj._tyypita_rivit)
    CREATE TEMP TABLE IF NOT EXISTS vtj_tyyppi (hetu text COLLATE "C", tietoryhma text COLLATE "C", tietueet jsonb) ON COMMIT DELETE ROWS;
END $$;

-- ---------------------------------------------------------------------------------------
-- Typed views of the stored data: vtj.henkilo and vtj.osoite, rebuilt for the given persons.
-- ---------------------------------------------------------------------------------------
-- vtj._tyypita_rivit builds them from the stored groups of exactly the persons p_hetut, so that
-- no statement reads more of the store than the batch: those in pg_temp.vtj_tyyppi (a change
-- run fills it from vtj.tieto by key) and the rows a load has just stored (pg_temp.vtj_pt,
-- tallennettu; empty outside vtj._lataa).
-- p_uudet: none of p_hetut has typed rows yet (vtj._lataa).
CREATE FUNCTION vtj._tyypita_rivit(p_rekisteri text, p_hetut text[], p_uudet boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE p date := vtj._tanaan();
BEGIN
    IF NOT p_uudet THEN
        DELETE FROM vtj.osoite WHERE rekisteri = p_rekisteri AND hetu = ANY (p_hetut);
        DELETE FROM vtj.henkilo WHERE rekisteri = p_rekisteri AND hetu = ANY (p_hetut);
    END IF;
    -- One statement: the addresses, and the persons with their current permanent address.
    WITH tyyppi AS NOT MATERIALIZED (
        SELECT y.hetu, y.tietoryhma, y.tietueet FROM pg_temp.vtj_tyyppi y
        UNION ALL
        SELECT s.hetu, s.tietoryhma, s.tietueet FROM pg_temp.vtj_pt s WHERE s.tallennettu),
    o AS (
        INSERT INTO vtj.osoite
        SELECT p_rekisteri, t.hetu, t.tietoryhma, e.n::integer,
               CASE WHEN t.tietoryhma IN ('VAKINAINEN_KOTIMAINEN_OSOITE', 'TILAPAINEN_KOTIMAINEN_OSOITE')
                    THEN nullif(concat_ws(' ', vtj._fi(e.x->'katunimi'), e.x->>'katunumero', e.x->>'huoneistokirjain',
                                          nullif(ltrim(e.x->>'huoneistonumero', '0'), ''), e.x->>'jakokirjain'), '')
                    ELSE coalesce(vtj._fi(e.x->'postiosoite'), vtj._fi(e.x->'lahiosoite')) END,
               e.x->>'postiosoiteLisarivi',
               e.x->>'postinumero',
               coalesce(vtj._fi(e.x->'postitoimipaikka'), vtj._fi(e.x->'paikkakunta')),
               e.x->>'kuntakoodi',
               e.x->>'valtiokoodi',
               e.x->>'valtionimi',
               vtj._pv(e.x->'alkupv'),
               vtj._pv(e.x->'loppupv')
          FROM tyyppi t
         CROSS JOIN LATERAL jsonb_array_elements(t.tietueet) WITH ORDINALITY e(x, n)
         WHERE t.tietoryhma IN ('VAKINAINEN_KOTIMAINEN_OSOITE', 'TILAPAINEN_KOTIMAINEN_OSOITE', 'KOTIMAINEN_POSTIOSOITE',
                                'VAKINAINEN_ULKOMAINEN_OSOITE', 'TILAPAINEN_ULKOMAINEN_OSOITE', 'ULKOMAINEN_POSTIOSOITE',
                                'KOTIMAINEN_YHTEYSOSOITE', 'ULKOMAINEN_YHTEYSOSOITE')
           AND NOT vtj._on_merkki(e.x)
           AND (vtj._pv(e.x->'loppupv') IS NULL OR vtj._pv(e.x->'loppupv') >= p)
        RETURNING hetu, laji, nro, katuosoite, postinumero, postitoimipaikka, valtiokoodi),
    v AS (
        SELECT DISTINCT ON (o.hetu) o.hetu, o.katuosoite, o.postinumero, o.postitoimipaikka, o.valtiokoodi
          FROM o
         WHERE o.laji IN ('VAKINAINEN_KOTIMAINEN_OSOITE', 'VAKINAINEN_ULKOMAINEN_OSOITE')
         ORDER BY o.hetu, o.laji = 'VAKINAINEN_KOTIMAINEN_OSOITE' DESC, o.nro DESC),
    x AS (
        -- the last record of each group the typed columns come from (one row per person and group)
        SELECT t.hetu,
               (array_agg(t.tietueet->-1) FILTER (WHERE t.tietoryhma = 'HENKILON_NIMI'))[1] AS nimi,
               (array_agg(t.tietueet->-1->>'kielikoodi') FILTER (WHERE t.tietoryhma = 'AIDINKIELI'))[1] AS aidinkieli,
               (array_agg(t.tietueet->-1->>'kielikoodi') FILTER (WHERE t.tietoryhma = 'ASIOINTIKIELI'))[1] AS asiointikieli,
               (array_agg(t.tietueet->-1) FILTER (WHERE t.tietoryhma = 'KUOLINPAIVA'))[1] AS kuolinpaiva,
               (array_agg(t.tietueet->-1->>'kuntakoodi') FILTER (WHERE t.tietoryhma = 'KOTIKUNTA'))[1] AS kotikunta
          FROM tyyppi t
         GROUP BY t.hetu)
    INSERT INTO vtj.henkilo (rekisteri, hetu, etunimet, sukunimi, aidinkieli, asiointikieli, kuollut, kuolinpv,
                             turvakielto, turvakielto_loppupv, kotikunta, katuosoite, postinumero, postitoimipaikka,
                             valtiokoodi)
    SELECT j.rekisteri, j.hetu,
           coalesce(x.nimi->>'etunimiUTF8', x.nimi->>'etunimi'),
           coalesce(x.nimi->>'sukunimiUTF8', x.nimi->>'sukunimi'),
           x.aidinkieli,
           x.asiointikieli,
           coalesce(x.kuolinpaiva->>'kuollut' = 'true', false),
           vtj._pv(x.kuolinpaiva->'kuolinpv'),
           j.sensuroitu,
           CASE WHEN j.sensuroitu THEN vtj._pv(j.turvakielto->'turvaLoppuPv') END,
           x.kotikunta,
           v.katuosoite, v.postinumero, v.postitoimipaikka, v.valtiokoodi
      FROM x
      JOIN vtj.jasen j ON j.rekisteri = p_rekisteri AND j.hetu = x.hetu
      LEFT JOIN v ON v.hetu = x.hetu
     WHERE j.hetu = ANY (p_hetut);
END $$;

-- Rebuilds the typed rows of the given persons from their stored data (read by key).
CREATE FUNCTION vtj._tyypita(p_rekisteri text, p_hetut text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM vtj._tyotaulut();
    TRUNCATE pg_temp.vtj_tyyppi;
    INSERT INTO pg_temp.vtj_tyyppi (hetu, tietoryhma, tietueet)
    SELECT t.hetu, t.tietoryhma, t.tietueet FROM vtj.tieto t WHERE t.rekisteri = p_rekisteri AND t.hetu = ANY (p_hetut);
    PERFORM vtj._tyypita_rivit(p_rekisteri, p_hetut);
    TRUNCATE pg_temp.vtj_tyyppi;
END $$;

-- ---------------------------------------------------------------------------------------
-- Censor what the register holds of those of the given members that are held censored: their
-- censored groups are deleted and their change-log rows of those groups (written before the
-- turvakielto took effect) are reduced to {"tietoryhma": T, "sensuroitu": true}. Runs in the
-- caller's transaction, by key: it changes the state of no one else.
-- ---------------------------------------------------------------------------------------
-- The censored members are looked up first, so that the statements can only go by their key
-- (as a join, with the statistics of a growing table, the planner read every row of the
-- censored groups of the register instead). The look-up joins from the given hetus: as
-- "hetu = ANY (p_hetut) AND sensuroitu" it went through the index of all censored members of
-- the register and compared each with every hetu of the batch, a cost that grew with every
-- batch loaded (a quarter of the load's CPU at 1,000,000 members).
CREATE FUNCTION vtj._sensuroi(p_rekisteri text, p_sensuroitavat text[], p_hetut text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM vtj._sensuroi_jasenet(p_rekisteri, p_sensuroitavat,
                                  ARRAY(SELECT j.hetu FROM unnest(p_hetut) h
                                          JOIN vtj.jasen j ON j.rekisteri = p_rekisteri AND j.hetu = h
                                         WHERE j.sensuroitu));
END $$;

-- The same for members the caller knows to be held censored.
CREATE FUNCTION vtj._sensuroi_jasenet(p_rekisteri text, p_sensuroitavat text[], p_sensuroidut text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(cardinality(p_sensuroidut), 0) = 0 THEN
        RETURN;
    END IF;
    DELETE FROM vtj.tieto d
     WHERE d.rekisteri = p_rekisteri AND d.hetu = ANY (p_sensuroidut) AND d.tietoryhma = ANY (p_sensuroitavat);
    UPDATE vtj.muutosloki m SET tiedot = vtj._sensuroitu(m.tietoryhma)
     WHERE m.rekisteri = p_rekisteri AND m.hetu = ANY (p_sensuroidut) AND m.tietoryhma = ANY (p_sensuroitavat)
       AND m.tiedot IS DISTINCT FROM vtj._sensuroitu(m.tietoryhma);
END $$;

-- ---------------------------------------------------------------------------------------
-- Loading basic data for a set of members (the initial load, new members, reveals, moved
-- persons). Replaces the stored data of every person the interface returned; marks the others
-- as missing. p_ajo/p_kirjaa: log the fetched groups to vtj.muutosloki as PERUSTIEDOT rows.
-- p_uudet: the caller has found, in this transaction and under the register's lock, that no
-- member of p_hetut was ever loaded (jasen.ladattu IS NULL). Nothing of them is stored then
-- (ladattu is set in the transaction that first stores a member's data and never cleared), so
-- the deletes by key and the look-up of kept data are skipped: a tenth of an initial load.
-- Returns the number of persons the interface returned.
-- ---------------------------------------------------------------------------------------
CREATE FUNCTION vtj._lataa(p_rekisteri text, p_hetut text[], p_ajo bigint DEFAULT NULL, p_kirjaa boolean DEFAULT false,
                           p_uudet boolean DEFAULT false)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r vtj.rekisteri := vtj._rekisteri(p_rekisteri);
    t vtj.tuote;
    p date := vtj._tanaan();
    v_palautui integer;
BEGIN
    IF coalesce(cardinality(p_hetut), 0) = 0 THEN
        RETURN 0;
    END IF;
    IF cardinality(p_hetut) > vtj._suurin_era() THEN
        -- (a change run may find many members added since the last one)
        RETURN (SELECT sum(vtj._lataa(p_rekisteri, p_hetut[i:i + vtj._suurin_era() - 1], p_ajo, p_kirjaa, p_uudet))
                  FROM generate_series(1, cardinality(p_hetut), vtj._suurin_era()) i);
    END IF;
    SELECT * INTO t FROM vtj.tuote WHERE tuote = r.tuote;
    PERFORM vtj._tyotaulut();
    TRUNCATE pg_temp.vtj_pt, pg_temp.vtj_tyyppi;
    PERFORM vtj._muisti();
    -- One read of the interface, a row per person and group, each group's records already in
    -- their stored form (perustiedot_ryhmittain). Each row carries what decides for its person,
    -- before the INSERT, whether the censored groups' values may be kept at all.
    EXECUTE format($q$
        INSERT INTO pg_temp.vtj_pt (hetu, jarjestys, tietoryhma, tietueet, salattu, suojattu, tallennettu)
        SELECT x.hetu, x.jarjestys, x.tietoryhma,
               CASE WHEN x.suojattu AND x.tietoryhma = ANY ($3) THEN NULL ELSE x.tiedot END,
               x.salattu, x.suojattu,
               x.tietoryhma = ANY ($2) AND NOT (x.suojattu AND x.tietoryhma = ANY ($3)) AND x.tiedot <> '[]'::jsonb
          FROM (SELECT f.hetu, f.jarjestys, f.tietoryhma, f.tiedot, f.turvakiellon_alaiset_kentat IS NOT NULL AS salattu,
                       vtj._suojaa_henkilo(f.henkilolla_salattua, f.henkilon_turvakielto, $4) AS suojattu
                  FROM %I.perustiedot_ryhmittain f
                 -- (the group condition is applied by the scan, before any conversion)
                 WHERE f.hetu = ANY ($1) AND f.tietoryhma = ANY ($5)) x$q$, r.skeema)
    USING p_hetut, t.tietoryhmat, t.sensuroitavat, p, t.tietoryhmat || '{TURVAKIELTO,HENKILOTUNNUS_KORJAUS}'::text[];

    -- The persons returned: their stored data are replaced. Every statement below reads the
    -- batch's rows by key (or the batch's working tables), never the whole store.
    IF NOT p_uudet THEN
        DELETE FROM vtj.tieto d
         WHERE d.rekisteri = p_rekisteri AND d.hetu = ANY (ARRAY(SELECT DISTINCT s.hetu FROM pg_temp.vtj_pt s));
    END IF;
    -- (the typed rows are built from these rows of vtj_pt too: vtj._tyypita_rivit)
    INSERT INTO vtj.tieto (rekisteri, hetu, tietoryhma, tietueet)
    SELECT p_rekisteri, s.hetu, s.tietoryhma, s.tietueet FROM pg_temp.vtj_pt s WHERE s.tallennettu;

    WITH u AS (
    UPDATE vtj.jasen j
       SET ladattu = now(),
           puuttuu = (s.hetu IS NULL),
           turvakielto = CASE WHEN s.hetu IS NULL THEN j.turvakielto ELSE s.tk END,
           sensuroitu = CASE WHEN s.hetu IS NULL THEN j.sensuroitu ELSE s.suojattu END,
           aktiivinen_hetu = CASE WHEN s.hetu IS NULL THEN j.aktiivinen_hetu
                                  WHEN s.aktiivinen IS DISTINCT FROM q.h THEN s.aktiivinen END
      FROM (SELECT DISTINCT h FROM unnest(p_hetut) h) q
      -- the last TURVAKIELTO record and the active hetu of each person (one row per person and
      -- group: each is there once)
      LEFT JOIN (SELECT v.hetu, bool_or(v.suojattu) AS suojattu,
                        (array_agg(v.tietueet->-1) FILTER (WHERE v.tietoryhma = 'TURVAKIELTO'))[1] AS tk,
                        (array_agg(vtj._aktiivinen_hetu(v.tietueet))
                            FILTER (WHERE v.tietoryhma = 'HENKILOTUNNUS_KORJAUS' AND v.tietueet IS NOT NULL))[1] AS aktiivinen
                   FROM pg_temp.vtj_pt v GROUP BY v.hetu) s ON s.hetu = q.h
     WHERE j.rekisteri = p_rekisteri AND j.hetu = q.h
    RETURNING NOT j.puuttuu AS palautui)
    SELECT count(*) FILTER (WHERE u.palautui) INTO v_palautui FROM u;

    IF p_kirjaa THEN
        -- a row per record; a group censored here, or that the interface withheld fields of,
        -- gets one {"tietoryhma": T, "sensuroitu": true}
        INSERT INTO vtj.muutosloki (rekisteri, hetu, ajo, tietoryhma, muutosattribuutti, tiedot)
        SELECT p_rekisteri, s.hetu, p_ajo, s.tietoryhma, 'PERUSTIEDOT', e.x
          FROM pg_temp.vtj_pt s
         CROSS JOIN LATERAL (SELECT a.x, a.n FROM jsonb_array_elements(s.tietueet) WITH ORDINALITY a(x, n)
                             UNION ALL
                             SELECT vtj._sensuroitu(s.tietoryhma), 0 WHERE s.tietueet IS NULL OR s.salattu) e
         WHERE s.tietoryhma = ANY (t.tietoryhmat)
         ORDER BY s.jarjestys, e.n;
    END IF;

    -- Only these members' state changed here: censor them by key, not the whole register. What
    -- was just stored of the returned ones is censored already; of those protected now, the
    -- change-log rows written before are reduced. The members not returned keep their state
    -- and their stored data (censored when they became censored).
    PERFORM vtj._sensuroi_jasenet(p_rekisteri, t.sensuroitavat, ARRAY(SELECT DISTINCT s.hetu FROM pg_temp.vtj_pt s WHERE s.suojattu));
    -- The members not returned keep their stored data: their typed rows are rebuilt from it
    -- (and those returned from what was stored of them above).
    IF NOT p_uudet THEN
        INSERT INTO pg_temp.vtj_tyyppi (hetu, tietoryhma, tietueet)
        SELECT d.hetu, d.tietoryhma, d.tietueet FROM vtj.tieto d
         WHERE d.rekisteri = p_rekisteri
           AND d.hetu = ANY (ARRAY(SELECT h FROM unnest(p_hetut) h EXCEPT SELECT s.hetu FROM pg_temp.vtj_pt s));
    END IF;
    PERFORM vtj._tyypita_rivit(p_rekisteri, p_hetut, p_uudet);
    TRUNCATE pg_temp.vtj_pt, pg_temp.vtj_tyyppi;
    RETURN v_palautui;
END $$;

-- ---------------------------------------------------------------------------------------
-- Public API: registers and members
-- ---------------------------------------------------------------------------------------
CREATE FUNCTION vtj.luo_rekisteri(rekisteri text, palvelin text, tuote text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_srv oid;
    v_fdw text;
    v_skeema text := left('vtj_' || palvelin, 63);
    v_taulut integer;
BEGIN
    IF rekisteri IS NULL OR rekisteri = '' OR length(rekisteri) > 63 THEN
        RAISE EXCEPTION 'a register needs a name of 1 to 63 characters' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM vtj.rekisteri x WHERE x.rekisteri = luo_rekisteri.rekisteri) THEN
        RAISE EXCEPTION 'register "%" already exists', rekisteri USING ERRCODE = '42710',
            HINT = 'Choose another name, or remove the old register with vtj.poista_rekisteri(rekisteri).';
    END IF;
    SELECT s.oid, w.fdwname INTO v_srv, v_fdw
      FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
     WHERE s.srvname = palvelin;
    IF v_srv IS NULL THEN
        RAISE EXCEPTION 'server "%" does not exist', palvelin USING ERRCODE = '42704',
            HINT = 'Create it first: CREATE SERVER name FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url ''…/api/v1''), and a user mapping.';
    END IF;
    IF v_fdw <> 'vtj_fdw' THEN
        RAISE EXCEPTION 'server "%" is not a vtj_fdw server', palvelin USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM vtj.tuote x WHERE x.tuote = luo_rekisteri.tuote) THEN
        RAISE EXCEPTION 'product "%" does not exist', tuote USING ERRCODE = '42704',
            HINT = format('The products are: %s (vtj.tuote).', (SELECT string_agg(x.tuote, ', ' ORDER BY x.tuote) FROM vtj.tuote x));
    END IF;
    -- The server's foreign tables live in a schema of their own, shared by its registers.
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = v_skeema) THEN
        SELECT count(*) INTO v_taulut
          FROM pg_catalog.pg_foreign_table ft JOIN pg_catalog.pg_class c ON c.oid = ft.ftrelid
         WHERE c.relnamespace = v_skeema::regnamespace AND ft.ftserver = v_srv
           AND c.relname IN ('kirjausavain', 'muutokset', 'perustiedot', 'perustiedot_ryhmittain');
        IF v_taulut <> 4 THEN
            RAISE EXCEPTION 'schema "%" exists but does not hold the foreign tables of server "%"', v_skeema, palvelin
                USING ERRCODE = '42P06',
                      HINT = 'vtj.luo_rekisteri imports the server''s tables into a schema of that name; rename or drop the schema.';
        END IF;
    ELSE
        EXECUTE format('CREATE SCHEMA %I', v_skeema);
        EXECUTE format('IMPORT FOREIGN SCHEMA muutosrajapinta LIMIT TO (kirjausavain, muutokset, perustiedot, perustiedot_ryhmittain) FROM SERVER %I INTO %I',
                       palvelin, v_skeema);
    END IF;
    INSERT INTO vtj.rekisteri (rekisteri, palvelin, tuote, skeema)
    VALUES (luo_rekisteri.rekisteri, palvelin, luo_rekisteri.tuote, v_skeema);
    RETURN v_skeema;
END $$;
COMMENT ON FUNCTION vtj.luo_rekisteri(text, text, text) IS
    'Creates a register bound to a vtj_fdw server and a product; imports the server''s foreign tables into schema vtj_<server> (returned)';

CREATE FUNCTION vtj.poista_rekisteri(rekisteri text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r vtj.rekisteri := vtj._rekisteri(rekisteri);
BEGIN
    PERFORM pg_advisory_xact_lock(7763050, r.id);
    DELETE FROM vtj.muutosloki m WHERE m.rekisteri = r.rekisteri;
    DELETE FROM vtj.osoite m WHERE m.rekisteri = r.rekisteri;
    DELETE FROM vtj.henkilo m WHERE m.rekisteri = r.rekisteri;
    DELETE FROM vtj.tieto m WHERE m.rekisteri = r.rekisteri;
    DELETE FROM vtj.rekisteri m WHERE m.rekisteri = r.rekisteri;   -- members and runs cascade
END $$;
COMMENT ON FUNCTION vtj.poista_rekisteri(text) IS
    'Removes a register with all its members, stored data, change log and run log (the foreign-table schema stays)';

CREATE FUNCTION vtj.lisaa_henkilot(rekisteri text, hetut text[]) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r vtj.rekisteri := vtj._rekisteri(rekisteri);
    v_virheet integer[];
    v_n integer;
BEGIN
    SELECT array_agg(e.n ORDER BY e.n) INTO v_virheet
      FROM unnest(hetut) WITH ORDINALITY e(h, n)
     WHERE e.h IS NULL OR NOT vtj.hetu_kelpaa(e.h);
    IF v_virheet IS NOT NULL THEN
        RAISE EXCEPTION '% of % hetus are invalid, at positions %', cardinality(v_virheet), cardinality(hetut),
            array_to_string(v_virheet[1:20], ', ') || CASE WHEN cardinality(v_virheet) > 20 THEN ', …' ELSE '' END
            USING ERRCODE = '22P02',
                  HINT = 'Nothing was added. Positions count from 1; vtj.hetu_kelpaa(hetu) tells which values are valid.';
    END IF;
    -- Members are added while no run of the register is going on (a run waits for this).
    PERFORM pg_advisory_xact_lock(7763050, r.id);
    -- In hetu order: the load reads, updates and joins the members batch by batch in hetu order,
    -- and a batch's rows then lie on neighbouring pages (at 1,000,000 members the tables do not
    -- fit in shared buffers, and rows in the order given cost a buffer miss each).
    INSERT INTO vtj.jasen (rekisteri, hetu)
    SELECT r.rekisteri, u.h FROM (SELECT DISTINCT h COLLATE "C" AS h FROM unnest(hetut) h) u ORDER BY u.h
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END $$;
COMMENT ON FUNCTION vtj.lisaa_henkilot(text, text[]) IS
    'Adds members (hetus) to a register; all must be valid (else nothing is added); duplicates are ignored. Returns how many were added';

CREATE FUNCTION vtj.poista_henkilot(rekisteri text, hetut text[]) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r vtj.rekisteri := vtj._rekisteri(rekisteri);
    v_n integer;
BEGIN
    -- Wait for a running update of the register, so that it cannot write the persons back.
    PERFORM pg_advisory_xact_lock(7763050, r.id);
    DELETE FROM vtj.muutosloki m WHERE m.rekisteri = r.rekisteri AND m.hetu = ANY (hetut);
    DELETE FROM vtj.osoite m WHERE m.rekisteri = r.rekisteri AND m.hetu = ANY (hetut);
    DELETE FROM vtj.henkilo m WHERE m.rekisteri = r.rekisteri AND m.hetu = ANY (hetut);
    DELETE FROM vtj.tieto m WHERE m.rekisteri = r.rekisteri AND m.hetu = ANY (hetut);
    DELETE FROM vtj.jasen m WHERE m.rekisteri = r.rekisteri AND m.hetu = ANY (hetut);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END $$;
COMMENT ON FUNCTION vtj.poista_henkilot(text, text[]) IS
    'Removes members and all their stored data in the register (current data, typed rows, addresses, change log). Returns how many members were removed';

-- ---------------------------------------------------------------------------------------
-- The initial load
-- ---------------------------------------------------------------------------------------
CREATE PROCEDURE vtj.lataa_perustiedot(rekisteri text, erakoko integer DEFAULT 10000)
LANGUAGE plpgsql AS $$
DECLARE
    r vtj.rekisteri;
    v_ajo bigint;
    v_era text[];
    v_viimeinen text := '';   -- the last hetu of the previous batch
    v_yht bigint;
    v_tehty bigint := 0;
    v_palautui bigint := 0;
    v_alku timestamptz := clock_timestamp();
    v_ilmoitettu timestamptz := clock_timestamp();
    v_pyynnot bigint := vtj._pyyntoja();
    v_nopeus numeric;
    v_analysoitu bigint := 0;   -- members done when the statistics were last refreshed
    v_tila text;
    v_viesti text;
    v_vihje text;
    v_tieto text;
BEGIN
    PERFORM vtj._oma_lause('vtj.lataa_perustiedot');
    COMMIT;   -- fails at once in any other atomic context, before any work
    r := vtj._rekisteri(rekisteri);
    IF erakoko IS NULL OR erakoko < 1 OR erakoko > vtj._suurin_era() THEN
        RAISE EXCEPTION 'erakoko must be between 1 and %', vtj._suurin_era() USING ERRCODE = '22023',
            HINT = 'A batch is one statement and one transaction; a larger batch holds more in memory and loses more on a failure.';
    END IF;
    PERFORM vtj._lukitse(r, 'vtj.lataa_perustiedot');
    SELECT count(*) INTO v_yht FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri AND j.ladattu IS NULL;
    INSERT INTO vtj.ajo (rekisteri, laji, kirjausavain_alku) VALUES (r.rekisteri, 'lataa_perustiedot', r.kirjausavain)
    RETURNING ajo INTO v_ajo;
    LOOP
        -- One batch per transaction: a failure or a cancel loses this batch only.
        BEGIN
            PERFORM vtj._lukitse(r, 'vtj.lataa_perustiedot');
            -- After the previous batch's last hetu: the partial index jasen_lataamatta still
            -- holds the entries of the members loaded before (until VACUUM), and starting from
            -- its beginning every batch would step over all of them. When nothing is left after
            -- it, start once more from the beginning (members added behind it meanwhile).
            v_era := ARRAY(SELECT j.hetu FROM vtj.jasen j
                            WHERE j.rekisteri = r.rekisteri AND j.ladattu IS NULL AND j.hetu > v_viimeinen
                            ORDER BY j.hetu LIMIT erakoko);
            IF cardinality(v_era) = 0 AND v_viimeinen <> '' THEN
                v_viimeinen := '';
                v_era := ARRAY(SELECT j.hetu FROM vtj.jasen j
                                WHERE j.rekisteri = r.rekisteri AND j.ladattu IS NULL
                                ORDER BY j.hetu LIMIT erakoko);
            END IF;
            v_viimeinen := coalesce(v_era[cardinality(v_era)], '');
            IF cardinality(v_era) > 0 THEN
                -- The first change run starts where the load started: today's bookmark (the
                -- first change of today, or the present), taken before any basic data are read.
                SELECT x.kirjausavain INTO r.kirjausavain FROM vtj.rekisteri x WHERE x.rekisteri = r.rekisteri;
                IF r.kirjausavain IS NULL THEN
                    EXECUTE format('SELECT kirjausavain FROM %I.kirjausavain WHERE paiva = $1', r.skeema)
                       INTO r.kirjausavain USING vtj._tanaan();
                    UPDATE vtj.rekisteri x SET kirjausavain = r.kirjausavain WHERE x.rekisteri = r.rekisteri;
                    UPDATE vtj.ajo SET kirjausavain_alku = r.kirjausavain WHERE ajo = v_ajo;
                END IF;
                -- (v_era: members never loaded, read under the lock in this transaction)
                v_palautui := v_palautui + vtj._lataa(r.rekisteri, v_era, p_uudet => true);
                v_tehty := v_tehty + cardinality(v_era);
                IF v_tehty >= 2 * v_analysoitu THEN
                    PERFORM vtj._analysoi(true);
                    v_analysoitu := v_tehty;
                END IF;
            ELSIF v_tehty > 0 THEN
                PERFORM vtj._analysoi(false);   -- the end, in full: for the change runs that follow
            END IF;
            UPDATE vtj.ajo
               SET henkiloita = v_tehty, ladattuja = v_palautui, pyyntoja = vtj._pyyntoja() - v_pyynnot,
                   loppu = CASE WHEN cardinality(v_era) = 0 THEN clock_timestamp() END,
                   tila = CASE WHEN cardinality(v_era) = 0 THEN 'ok' ELSE 'kaynnissa' END,
                   kirjausavain_loppu = r.kirjausavain
             WHERE ajo = v_ajo;
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            GET STACKED DIAGNOSTICS v_tila = RETURNED_SQLSTATE, v_viesti = MESSAGE_TEXT,
                                    v_vihje = PG_EXCEPTION_HINT, v_tieto = PG_EXCEPTION_DETAIL;
            UPDATE vtj.ajo
               SET tila = 'virhe', loppu = clock_timestamp(), sqlstate = v_tila, virhe = v_viesti,
                   henkiloita = v_tehty, ladattuja = v_palautui, pyyntoja = vtj._pyyntoja() - v_pyynnot
             WHERE ajo = v_ajo;
        END;
        COMMIT;   -- a finished batch stays loaded, whatever happens next
        IF v_tila IS NOT NULL THEN
            -- Only the interface's own errors (SQLSTATE class HV) keep their detail: others
            -- (a constraint, say) could quote a key, and a key holds a hetu.
            RAISE EXCEPTION 'vtj.lataa_perustiedot(%) stopped after % of % members: %', r.rekisteri, v_tehty, v_yht, v_viesti
                USING ERRCODE = v_tila,
                      DETAIL = CASE WHEN v_tila LIKE 'HV%' THEN coalesce(v_tieto, '') ELSE '' END,
                      HINT = coalesce(nullif(v_vihje, '') || ' ', '') || 'The loaded batches are kept: CALL vtj.lataa_perustiedot again to continue.';
        END IF;
        EXIT WHEN cardinality(v_era) = 0;
        IF clock_timestamp() - v_ilmoitettu >= interval '5 seconds' THEN
            v_nopeus := v_tehty / greatest(extract(epoch FROM clock_timestamp() - v_alku), 0.001);
            RAISE NOTICE 'vtj.lataa_perustiedot(%): % of % members (% %%), % per second, about % s left',
                r.rekisteri, v_tehty, v_yht, round(100.0 * v_tehty / greatest(v_yht, 1)), round(v_nopeus),
                round((v_yht - v_tehty) / greatest(v_nopeus, 0.001));
            v_ilmoitettu := clock_timestamp();
        END IF;
    END LOOP;
    IF v_tehty > 0 THEN
        RAISE NOTICE 'vtj.lataa_perustiedot(%): % members loaded in % s, % returned by the interface',
            r.rekisteri, v_tehty, round(extract(epoch FROM clock_timestamp() - v_alku)::numeric, 1), v_palautui;
    END IF;
END $$;
COMMENT ON PROCEDURE vtj.lataa_perustiedot(text, integer) IS
    'Loads the basic data of the members not loaded yet, in batches (default 10000) committed one by one; resumable';

-- ---------------------------------------------------------------------------------------
-- The change run
-- ---------------------------------------------------------------------------------------
CREATE FUNCTION vtj._paivita(p_rekisteri text, p_ajo bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r vtj.rekisteri := vtj._rekisteri(p_rekisteri);
    t vtj.tuote;
    p date := vtj._tanaan();
    v_pyynnot bigint := vtj._pyyntoja();
    v_alku_avain bigint;
    v_loppu_avain bigint;
    v_suojatut text[];
    v_ohjaavat text[];
    v_uudet text[];
    v_paljastettavat text[];
    v_siirretyt text[];
    v_kosketut text[];
    v_sensuroidut text[];   -- members held censored from this run on
    v_muutoksia bigint := 0;
    v_henkiloita bigint := 0;
    v_ladattuja bigint := 0;
    v_alku timestamptz := clock_timestamp();
BEGIN
    SELECT * INTO t FROM vtj.tuote WHERE tuote = r.tuote;
    PERFORM vtj._tyotaulut();
    TRUNCATE pg_temp.vtj_vaihe, pg_temp.vtj_tulos, pg_temp.vtj_siirto;
    PERFORM vtj._muisti();
    v_ohjaavat := t.tietoryhmat || '{TURVAKIELTO,HENKILOTUNNUS_KORJAUS}'::text[];

    -- The window starts at the register's bookmark; before any load, at today's.
    v_alku_avain := r.kirjausavain;
    IF v_alku_avain IS NULL THEN
        EXECUTE format('SELECT kirjausavain FROM %I.kirjausavain WHERE paiva = $1', r.skeema)
           INTO v_alku_avain
          USING coalesce((SELECT min(j.ladattu)::date FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri), p);
    END IF;
    v_loppu_avain := v_alku_avain;

    -- Every member is asked about, also the ones not loaded yet: their basic data are
    -- fetched below, but a hetu correction in the window must be seen to fetch the right hetu.
    v_uudet := ARRAY(SELECT j.hetu FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri AND j.ladattu IS NULL);
    -- protected at the start: held censored, or a stored turvakielto in force
    v_suojatut := ARRAY(SELECT j.hetu FROM vtj.jasen j
                         WHERE j.rekisteri = r.rekisteri
                           AND (j.sensuroitu OR vtj._turvakielto_voimassa(j.turvakielto, p)));

    -- 1. Read the window once, censored on the way in (see the header).
    -- (The members go to the scan as ARRAY(SELECT …), built when the statement runs: as a
    -- parameter the planner folded a million-element array into the plan and estimated the
    -- selectivity of each element, 265 MB of planner memory at 1,000,000 members.)
    IF EXISTS (SELECT FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri) THEN
        EXECUTE format($q$
            INSERT INTO pg_temp.vtj_vaihe (hetu, jarjestys, kirjausavain, muutospv, tietoryhma, muutosattribuutti, tiedot,
                                           suojattu, uusi)
            SELECT x.hetu, x.jarjestys, x.kirjausavain, x.muutospv, x.tietoryhma, x.muutosattribuutti,
                   CASE WHEN x.suojattu AND x.tietoryhma = ANY ($4) THEN vtj._sensuroitu(x.tietoryhma) ELSE x.tiedot END,
                   x.suojattu, x.hetu = ANY ($6)
              FROM (SELECT f.hetu, f.jarjestys, f.kirjausavain, f.muutospv, f.tietoryhma, f.muutosattribuutti, f.tiedot,
                           bool_or(vtj._suojaa(f.tietoryhma, f.tiedot)) OVER (PARTITION BY f.hetu COLLATE "C")
                             OR f.hetu = ANY ($5) AS suojattu
                      FROM %I.muutokset f
                     WHERE f.hetu = ANY (ARRAY(SELECT j.hetu FROM vtj.jasen j WHERE j.rekisteri = $1))
                       AND f.kirjausavain > $2) x
             WHERE x.tietoryhma = ANY ($3)$q$, r.skeema)
        USING r.rekisteri, v_alku_avain, v_ohjaavat, t.sensuroitavat, v_suojatut, v_uudet;
        v_loppu_avain := vtj.viimeisin_kirjausavain();
        IF v_loppu_avain IS NULL OR v_loppu_avain < v_alku_avain THEN
            RAISE EXCEPTION 'the change scan of register "%" did not reach the present', r.rekisteri
                USING ERRCODE = 'HV000', HINT = 'Nothing was applied; run vtj.paivita again.';
        END IF;
    END IF;
    -- Temporary tables are never analyzed by autovacuum: without a row count the planner
    -- may scan all of vtj.tieto once per staged row (seen at 1,000,000 members). Only the key
    -- columns: their statistics are what the joins need.
    ANALYZE pg_temp.vtj_vaihe (hetu, tietoryhma);
    SELECT count(*) FILTER (WHERE v.tietoryhma = ANY (t.tietoryhmat) AND NOT v.uusi), count(DISTINCT v.hetu) FILTER (WHERE NOT v.uusi)
      INTO v_muutoksia, v_henkiloita FROM pg_temp.vtj_vaihe v;

    -- 2. Hetu corrections: the person moves to the new active hetu (membership, data, log)
    --    and is fetched again under it (later changes are filed under the new hetu only).
    INSERT INTO pg_temp.vtj_siirto (vanha, uusi)
    SELECT DISTINCT ON (v.hetu) v.hetu, v.tiedot->>'aktiivinenHenkilotunnus'
      FROM pg_temp.vtj_vaihe v
     WHERE v.tietoryhma = 'HENKILOTUNNUS_KORJAUS'
       AND v.muutosattribuutti IN ('LISATTY', 'MUUTETTU', 'KORJATTU')
       AND v.tiedot->>'voimassaolo' = 'AKTIIVI'
     ORDER BY v.hetu, v.jarjestys DESC;
    DELETE FROM pg_temp.vtj_siirto s WHERE s.uusi IS NULL OR s.uusi = s.vanha;
    -- an active hetu we could not ask about is reported (vtj.laatu), not followed
    UPDATE vtj.jasen j SET aktiivinen_hetu = s.uusi
      FROM pg_temp.vtj_siirto s
     WHERE j.rekisteri = r.rekisteri AND j.hetu = s.vanha AND NOT coalesce(vtj.hetu_kelpaa(s.uusi), false);
    DELETE FROM pg_temp.vtj_siirto s WHERE NOT coalesce(vtj.hetu_kelpaa(s.uusi), false);
    v_siirretyt := ARRAY(SELECT s.uusi FROM pg_temp.vtj_siirto s);
    IF cardinality(v_siirretyt) > 0 THEN
        DELETE FROM vtj.osoite d USING pg_temp.vtj_siirto s WHERE d.rekisteri = r.rekisteri AND d.hetu = s.vanha;
        DELETE FROM vtj.henkilo d USING pg_temp.vtj_siirto s WHERE d.rekisteri = r.rekisteri AND d.hetu = s.vanha;
        DELETE FROM vtj.tieto d USING pg_temp.vtj_siirto s WHERE d.rekisteri = r.rekisteri AND d.hetu = s.vanha;
        UPDATE vtj.muutosloki m SET hetu = s.uusi
          FROM pg_temp.vtj_siirto s WHERE m.rekisteri = r.rekisteri AND m.hetu = s.vanha;
        -- the new hetu was already a member: merge into it
        UPDATE vtj.jasen j SET edelliset = j.edelliset || o.edelliset || s.vanha
          FROM pg_temp.vtj_siirto s JOIN vtj.jasen o ON o.rekisteri = r.rekisteri AND o.hetu = s.vanha
         WHERE j.rekisteri = r.rekisteri AND j.hetu = s.uusi;
        DELETE FROM vtj.jasen j USING pg_temp.vtj_siirto s
         WHERE j.rekisteri = r.rekisteri AND j.hetu = s.vanha
           AND EXISTS (SELECT 1 FROM vtj.jasen k WHERE k.rekisteri = r.rekisteri AND k.hetu = s.uusi);
        UPDATE vtj.jasen j SET hetu = s.uusi, edelliset = j.edelliset || s.vanha, aktiivinen_hetu = NULL
          FROM pg_temp.vtj_siirto s WHERE j.rekisteri = r.rekisteri AND j.hetu = s.vanha;
    END IF;

    -- 3. Apply, per (person, group), in the interface's order, starting from the stored
    --    records. Not for moved persons nor members not loaded yet (both fetched below), and
    --    never a censored group of a person protected in this run.
    INSERT INTO pg_temp.vtj_tulos (hetu, tietoryhma, tietueet)
    SELECT o.hetu, o.tietoryhma, vtj._sovella(o.tiedot, vtj._moniarvoinen(o.tietoryhma) ORDER BY o.jarjestys)
      FROM (SELECT v.hetu, v.tietoryhma, v.jarjestys, v.tiedot
              FROM pg_temp.vtj_vaihe v
             WHERE (v.tietoryhma = ANY (t.tietoryhmat) OR v.tietoryhma = 'TURVAKIELTO')
               AND NOT (v.suojattu AND v.tietoryhma = ANY (t.sensuroitavat))
               AND NOT v.uusi
               AND v.hetu NOT IN (SELECT s.vanha FROM pg_temp.vtj_siirto s)
            UNION ALL
            SELECT d.hetu, d.tietoryhma, -9223372036854775808, jsonb_build_object('voimassaolevatTiedot', d.tietueet)
              FROM vtj.tieto d
             WHERE d.rekisteri = r.rekisteri AND d.tietoryhma <> 'TURVAKIELTO'
               AND (d.hetu, d.tietoryhma) IN (SELECT v.hetu, v.tietoryhma FROM pg_temp.vtj_vaihe v
                                               WHERE NOT (v.suojattu AND v.tietoryhma = ANY (t.sensuroitavat))
                                                 AND NOT v.uusi)
            UNION ALL
            SELECT j.hetu, 'TURVAKIELTO', -9223372036854775808,
                   jsonb_build_object('voimassaolevatTiedot', CASE WHEN j.turvakielto IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(j.turvakielto) END)
              FROM vtj.jasen j
             WHERE j.rekisteri = r.rekisteri
               AND j.hetu IN (SELECT v.hetu FROM pg_temp.vtj_vaihe v WHERE v.tietoryhma = 'TURVAKIELTO' AND NOT v.uusi)) o
     GROUP BY o.hetu, o.tietoryhma;
    ANALYZE pg_temp.vtj_tulos (hetu, tietoryhma);

    DELETE FROM vtj.tieto d USING pg_temp.vtj_tulos u
     WHERE d.rekisteri = r.rekisteri AND d.hetu = u.hetu AND d.tietoryhma = u.tietoryhma AND u.tietueet = '[]';
    INSERT INTO vtj.tieto AS d (rekisteri, hetu, tietoryhma, tietueet)
    SELECT r.rekisteri, u.hetu, u.tietoryhma, u.tietueet
      FROM pg_temp.vtj_tulos u
     WHERE u.tietueet <> '[]' AND u.tietoryhma = ANY (t.tietoryhmat)
    ON CONFLICT (rekisteri, hetu, tietoryhma) DO UPDATE
       SET tietueet = EXCLUDED.tietueet, paivitetty = now()
     WHERE d.tietueet IS DISTINCT FROM EXCLUDED.tietueet;
    UPDATE vtj.jasen j SET turvakielto = u.tietueet->-1
      FROM pg_temp.vtj_tulos u
     WHERE u.tietoryhma = 'TURVAKIELTO' AND j.rekisteri = r.rekisteri AND j.hetu = u.hetu;

    -- 4. Censor: persons protected at any point of the run are held censored; their censored
    --    groups and log rows are purged below (vtj._sensuroi), in this transaction.
    WITH s AS (
        UPDATE vtj.jasen j SET sensuroitu = true
         WHERE j.rekisteri = r.rekisteri AND NOT j.sensuroitu
           AND (j.hetu IN (SELECT v.hetu FROM pg_temp.vtj_vaihe v WHERE v.suojattu)
                OR vtj._turvakielto_voimassa(j.turvakielto, p))
        RETURNING j.hetu)
    SELECT ARRAY(SELECT s.hetu FROM s) INTO v_sensuroidut;

    -- 5. Fetch basic data: new members; moved persons; and the censored persons whose
    --    turvakielto is no longer in force (ended by a change, or turvaLoppuPv passed).
    v_uudet := ARRAY(SELECT j.hetu FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri AND j.ladattu IS NULL
                      AND j.hetu <> ALL (v_siirretyt));
    v_paljastettavat := ARRAY(SELECT j.hetu FROM vtj.jasen j
                               WHERE j.rekisteri = r.rekisteri AND j.sensuroitu AND j.ladattu IS NOT NULL
                                 AND NOT vtj._turvakielto_voimassa(j.turvakielto, p)
                                 AND j.hetu <> ALL (v_siirretyt));

    -- 6. The change log: every applied row of the product's groups, censored. (Members not
    --    loaded before this run start from their basic data, like the initial load: no rows.)
    INSERT INTO vtj.muutosloki (rekisteri, hetu, ajo, kirjausavain, muutospv, jarjestys, tietoryhma, muutosattribuutti, tiedot)
    SELECT r.rekisteri, coalesce(s.uusi, v.hetu), p_ajo, v.kirjausavain, v.muutospv, v.jarjestys, v.tietoryhma,
           v.muutosattribuutti, v.tiedot
      FROM pg_temp.vtj_vaihe v LEFT JOIN pg_temp.vtj_siirto s ON s.vanha = v.hetu
     WHERE v.tietoryhma = ANY (t.tietoryhmat) AND NOT v.uusi
     ORDER BY v.jarjestys;

    v_kosketut := ARRAY(SELECT DISTINCT coalesce(s.uusi, v.hetu) FROM pg_temp.vtj_vaihe v
                          LEFT JOIN pg_temp.vtj_siirto s ON s.vanha = v.hetu WHERE NOT v.uusi);
    -- (after the log insert: the log rows of this run are censored by the same statement.)
    -- By key, the persons whose data or state this run changed: a member held censored before
    -- the run and not touched by it had its groups purged when it became censored (every
    -- path that sets jasen.sensuroitu purges in the same transaction), and a sweep of the whole
    -- register read all of vtj.tieto each run (5 s at 1,000,000 members).
    PERFORM vtj._sensuroi(r.rekisteri, t.sensuroitavat, v_kosketut || v_sensuroidut);
    TRUNCATE pg_temp.vtj_vaihe, pg_temp.vtj_tulos;

    v_ladattuja := vtj._lataa(r.rekisteri, v_siirretyt || v_paljastettavat, p_ajo, true)
                 + vtj._lataa(r.rekisteri, v_uudet, p_uudet => true);

    PERFORM vtj._tyypita(r.rekisteri, v_kosketut);

    UPDATE vtj.rekisteri x SET kirjausavain = v_loppu_avain, paivitetty = clock_timestamp()
     WHERE x.rekisteri = r.rekisteri;
    UPDATE vtj.ajo
       SET tila = 'ok', loppu = clock_timestamp(), pyyntoja = vtj._pyyntoja() - v_pyynnot,
           muutoksia = v_muutoksia, henkiloita = v_henkiloita, ladattuja = v_ladattuja,
           kirjausavain_alku = v_alku_avain, kirjausavain_loppu = v_loppu_avain
     WHERE ajo = p_ajo;
    RAISE NOTICE 'vtj.paivita(%): % changes of % persons applied, % persons fetched again, in % s',
        r.rekisteri, v_muutoksia, v_henkiloita, v_ladattuja,
        round(extract(epoch FROM clock_timestamp() - v_alku)::numeric, 1);
END $$;

CREATE PROCEDURE vtj.paivita(rekisteri text)
LANGUAGE plpgsql AS $$
DECLARE
    r vtj.rekisteri;
    v_ajo bigint;
    v_tila text;
    v_viesti text;
    v_vihje text;
    v_tieto text;
BEGIN
    PERFORM vtj._oma_lause('vtj.paivita');
    COMMIT;   -- fails at once in any other atomic context, before any work
    r := vtj._rekisteri(rekisteri);
    PERFORM vtj._lukitse(r, 'vtj.paivita');
    INSERT INTO vtj.ajo (rekisteri, laji, kirjausavain_alku) VALUES (r.rekisteri, 'paivita', r.kirjausavain)
    RETURNING ajo INTO v_ajo;
    -- The work runs in a subtransaction: on any failure (a cancel too) it is rolled back as a
    -- whole - bookmark, data and log together - while the run row above survives, is marked
    -- failed and committed before the error is raised again.
    BEGIN
        PERFORM vtj._paivita(r.rekisteri, v_ajo);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        GET STACKED DIAGNOSTICS v_tila = RETURNED_SQLSTATE, v_viesti = MESSAGE_TEXT,
                                v_vihje = PG_EXCEPTION_HINT, v_tieto = PG_EXCEPTION_DETAIL;
        UPDATE vtj.ajo SET tila = 'virhe', loppu = clock_timestamp(), sqlstate = v_tila, virhe = v_viesti
         WHERE ajo = v_ajo;
    END;
    COMMIT;
    IF v_tila IS NOT NULL THEN
        RAISE EXCEPTION 'vtj.paivita(%) failed: %', r.rekisteri, v_viesti
            USING ERRCODE = v_tila,
                  DETAIL = CASE WHEN v_tila LIKE 'HV%' THEN coalesce(v_tieto, '') ELSE '' END,
                  HINT = coalesce(nullif(v_vihje, '') || ' ', '') || 'Nothing was applied and the bookmark is unchanged; the failure is in vtj.ajo. Run vtj.paivita again.';
    END IF;
END $$;
COMMENT ON PROCEDURE vtj.paivita(text) IS
    'Applies the changes since the register''s bookmark (and loads new members) in one transaction, censored; logs the run in vtj.ajo';

-- ---------------------------------------------------------------------------------------
-- Reports
-- ---------------------------------------------------------------------------------------
CREATE VIEW vtj.kotikunnittain AS
SELECT h.rekisteri, h.kotikunta, count(*) AS henkiloita
  FROM vtj.henkilo h
 WHERE NOT h.kuollut
 GROUP BY h.rekisteri, h.kotikunta;
COMMENT ON VIEW vtj.kotikunnittain IS
    'Living members by municipality of residence (kotikunta NULL: unknown or censored)';

CREATE VIEW vtj.laskutusosoite AS
SELECT h.rekisteri, h.hetu, h.etunimet, h.sukunimi, h.kuollut, h.turvakielto,
       o.laji, o.katuosoite, o.lisarivi, o.postinumero, o.postitoimipaikka, o.valtiokoodi, o.maa
  FROM vtj.henkilo h
  LEFT JOIN LATERAL (
        SELECT a.* FROM vtj.osoite a
         WHERE a.rekisteri = h.rekisteri AND a.hetu = h.hetu
           AND CASE WHEN h.turvakielto THEN a.laji IN ('KOTIMAINEN_YHTEYSOSOITE', 'ULKOMAINEN_YHTEYSOSOITE')
                    ELSE a.laji IN ('KOTIMAINEN_POSTIOSOITE', 'ULKOMAINEN_POSTIOSOITE',
                                    'VAKINAINEN_KOTIMAINEN_OSOITE', 'VAKINAINEN_ULKOMAINEN_OSOITE') END
         ORDER BY CASE a.laji WHEN 'KOTIMAINEN_YHTEYSOSOITE' THEN 1 WHEN 'ULKOMAINEN_YHTEYSOSOITE' THEN 2
                              WHEN 'KOTIMAINEN_POSTIOSOITE' THEN 3 WHEN 'ULKOMAINEN_POSTIOSOITE' THEN 4
                              WHEN 'VAKINAINEN_KOTIMAINEN_OSOITE' THEN 5 ELSE 6 END, a.nro DESC
         LIMIT 1) o ON true;
COMMENT ON VIEW vtj.laskutusosoite IS
    'A billing address per member: the contact address under turvakielto, else the postal address, else the permanent address; kuollut flags the deceased';

CREATE FUNCTION vtj.muuttuneet(rekisteri text, alkaen timestamptz)
RETURNS TABLE (hetu text, tietoryhmat text[], muutoksia bigint, viimeksi timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT m.hetu, array_agg(DISTINCT m.tietoryhma ORDER BY m.tietoryhma), count(*), max(m.kirjattu)
      FROM vtj.muutosloki m
     WHERE m.rekisteri = muuttuneet.rekisteri AND m.kirjattu >= alkaen
     GROUP BY m.hetu
$$;
COMMENT ON FUNCTION vtj.muuttuneet(text, timestamptz) IS
    'Members whose data changed since the given time (from vtj.muutosloki): which groups, how many rows, when last';

CREATE VIEW vtj.laatu AS
SELECT j.rekisteri, j.hetu, 'ei_ladattu'::text AS ongelma, 'basic data not loaded yet'::text AS selitys
  FROM vtj.jasen j WHERE j.ladattu IS NULL
UNION ALL
SELECT j.rekisteri, j.hetu, 'puuttuu', 'the interface did not return the person (unknown, passivated or outside the product)'
  FROM vtj.jasen j WHERE j.puuttuu
UNION ALL
SELECT j.rekisteri, j.hetu, 'virheellinen_hetu', 'the hetu is not valid'
  FROM vtj.jasen j WHERE NOT coalesce(vtj.hetu_kelpaa(j.hetu), false)
UNION ALL
SELECT j.rekisteri, j.hetu, 'passivoitu', 'the interface names another active hetu for the person'
  FROM vtj.jasen j WHERE j.aktiivinen_hetu IS NOT NULL AND j.aktiivinen_hetu <> j.hetu;
COMMENT ON VIEW vtj.laatu IS
    'Data quality: members not loaded, not returned by the interface, with an invalid or passivated hetu';

-- ---------------------------------------------------------------------------------------
-- Self-audit: a random sample of members against fresh basic data, censored by the rule.
-- ---------------------------------------------------------------------------------------
CREATE FUNCTION vtj.tarkista(rekisteri text, otos integer DEFAULT 100)
RETURNS TABLE (hetu text, tietoryhma text, ero text, peilissa jsonb, rajapinnassa jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r vtj.rekisteri := vtj._rekisteri(rekisteri);
    t vtj.tuote;
    p date := vtj._tanaan();
    v_hetut text[];
BEGIN
    SELECT * INTO t FROM vtj.tuote x WHERE x.tuote = r.tuote;
    IF otos IS NULL OR otos < 1 THEN
        RAISE EXCEPTION 'otos must be at least 1' USING ERRCODE = '22023';
    END IF;
    v_hetut := ARRAY(SELECT j.hetu FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri AND j.ladattu IS NOT NULL
                      ORDER BY random() LIMIT otos);
    PERFORM vtj._tyotaulut();
    TRUNCATE pg_temp.vtj_pt;
    PERFORM vtj._muisti();
    -- the same censoring read as vtj._lataa; a person held censored stays censored here too
    EXECUTE format($q$
        INSERT INTO pg_temp.vtj_pt (hetu, jarjestys, tietoryhma, tietueet, salattu, suojattu, tallennettu)
        SELECT x.hetu, x.jarjestys, x.tietoryhma,
               CASE WHEN x.suojattu AND x.tietoryhma = ANY ($3) THEN NULL ELSE x.tiedot END, x.salattu, x.suojattu,
               false
          FROM (SELECT f.hetu, f.jarjestys, f.tietoryhma, f.tiedot, f.turvakiellon_alaiset_kentat IS NOT NULL AS salattu,
                       vtj._suojaa_henkilo(f.henkilolla_salattua, f.henkilon_turvakielto, $4) OR f.hetu = ANY ($5) AS suojattu
                  FROM %I.perustiedot_ryhmittain f WHERE f.hetu = ANY ($1) AND f.tietoryhma = ANY ($2)) x$q$, r.skeema)
    USING v_hetut, t.tietoryhmat, t.sensuroitavat, p,
          ARRAY(SELECT j.hetu FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri AND j.hetu = ANY (v_hetut) AND j.sensuroitu);
    RETURN QUERY
    WITH tuore AS (
        SELECT s.hetu, s.tietoryhma, s.tietueet
          FROM pg_temp.vtj_pt s
         WHERE s.tietueet IS NOT NULL AND s.tietueet <> '[]'::jsonb),
    palautetut AS (SELECT DISTINCT s.hetu FROM pg_temp.vtj_pt s),
    peili AS (
        SELECT d.hetu, d.tietoryhma, d.tietueet FROM vtj.tieto d
         WHERE d.rekisteri = r.rekisteri AND d.hetu = ANY (v_hetut) AND d.hetu IN (SELECT hetu FROM palautetut)),
    suojatut AS (SELECT DISTINCT s.hetu FROM pg_temp.vtj_pt s WHERE s.suojattu
                 UNION SELECT j.hetu FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri AND j.hetu = ANY (v_hetut) AND j.sensuroitu)
    SELECT coalesce(a.hetu, b.hetu), coalesce(a.tietoryhma, b.tietoryhma),
           CASE WHEN a.hetu IS NULL THEN 'vain_rajapinnassa'
                WHEN b.hetu IS NULL AND a.tietoryhma = ANY (t.sensuroitavat) AND a.hetu IN (SELECT hetu FROM suojatut)
                     THEN 'sensuroitava_tallessa'
                WHEN b.hetu IS NULL THEN 'vain_peilissa'
                ELSE 'eri_arvo' END,
           -- a censored group's stored value is never shown, not even to report it
           CASE WHEN a.tietoryhma = ANY (t.sensuroitavat) AND a.hetu IN (SELECT hetu FROM suojatut) THEN NULL ELSE a.tietueet END,
           b.tietueet
      FROM peili a FULL JOIN tuore b ON a.hetu = b.hetu AND a.tietoryhma = b.tietoryhma
     WHERE a.tietueet IS DISTINCT FROM b.tietueet
     UNION ALL
    SELECT h, NULL, 'puuttuu_rajapinnasta', NULL, NULL
      FROM unnest(v_hetut) h WHERE h NOT IN (SELECT hetu FROM palautetut)
     ORDER BY 1, 2;
    TRUNCATE pg_temp.vtj_pt;
END $$;
COMMENT ON FUNCTION vtj.tarkista(text, integer) IS
    'Self-audit: compares a random sample of members with fresh basic data and returns the differences, censored by the product''s rule';
