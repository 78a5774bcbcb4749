-- vtj_fdw data definitions, part 20: the mirror's tables (the code is in extension/20_mirror.sql).
--
-- Created once, by CREATE EXTENSION. A change here reaches existing databases only through a
-- hand-written migration in extension/upgrade/ (README, "Releasing"): the upgrade test
-- compares an updated database with a fresh install and names what a migration lacks.

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
    paivitetty     timestamptz,        -- end of the last successful vtj.paivita
    -- The change log's position: the transactions that write the register's log take the
    -- register's row (FOR NO KEY UPDATE) and raise this by one, so a position is visible only
    -- once every write with a smaller one has committed (a merge job's bookmark; vtj.muutokset_jalkeen).
    positio        bigint NOT NULL DEFAULT 0,
    -- How long the change log keeps a row (it keeps old addresses): each change run deletes the
    -- register's rows older than this. NULL: keep them. A merge job must run more often.
    sailytysaika   interval DEFAULT '90 days' CHECK (sailytysaika IS NULL OR sailytysaika > interval '0'),
    -- the largest log position whose rows retention has deleted (a merge job behind it must resync)
    poistettu_positio bigint NOT NULL DEFAULT 0
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
    -- the day a change run last fetched the member's basic data to reveal it (its turvakielto
    -- had ended); the interface may still withhold it, and it is asked again the next day
    paljastus_haettu date,
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

-- The run log. The table lives in vtj_internal; vtj.ajo (below, with the reports) shows it
-- with the runs whose backend is gone as 'keskeytynyt', whoever reads it and whenever.

CREATE TABLE vtj_internal.ajo (
    ajo                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rekisteri          text COLLATE "C" NOT NULL REFERENCES vtj.rekisteri ON DELETE CASCADE,
    laji               text COLLATE "C" NOT NULL,  -- paivita | lataa_perustiedot
    alku               timestamptz NOT NULL DEFAULT clock_timestamp(),
    loppu              timestamptz,
    tila               text NOT NULL DEFAULT 'kaynnissa' CHECK (tila IN ('kaynnissa', 'ok', 'virhe', 'keskeytynyt')),
    pyyntoja           bigint,           -- HTTP requests made
    muutoksia          bigint,           -- change rows applied (and logged)
    henkiloita         bigint,           -- persons with changes / loaded
    ladattuja          bigint,           -- basic data fetched (new members, reveals, hetu corrections)
    kirjausavain_alku  bigint,
    kirjausavain_loppu bigint,
    sqlstate           text,
    virhe              text,
    sensuroituja       bigint,           -- members the run began to hold censored (also when it failed)
    positio            bigint,           -- the change-log position its last transaction wrote under
    jasenia            bigint,           -- a load: members to load when it began
    pid                integer,          -- the backend that ran it, and when that backend started:
    taustaprosessi_alku timestamptz,     -- together they tell whether it still runs
    elossa             timestamptz,      -- when it was last seen alive (its last commit)
    poistettu_lokista  bigint            -- change-log rows past the register's retention it deleted
);
CREATE INDEX ajo_rekisteri ON vtj_internal.ajo (rekisteri, alku);
CREATE INDEX ajo_kaynnissa ON vtj_internal.ajo (rekisteri) WHERE tila = 'kaynnissa';

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
    kirjattu           timestamptz NOT NULL DEFAULT now(),
    -- the register's log position of the transaction that wrote it (vtj.positio; every writer
    -- takes one, so a row without one is a bug that must fail, not a row merge jobs never see)
    positio            bigint NOT NULL
);
CREATE INDEX muutosloki_hetu ON vtj.muutosloki (rekisteri, hetu);
CREATE INDEX muutosloki_kirjattu ON vtj.muutosloki (rekisteri, kirjattu);
CREATE INDEX muutosloki_positio ON vtj.muutosloki (rekisteri, positio);
-- A change run's check that a change was logged before reads the log rows of its window's
-- period by this index; the rows of members' events (LADATTU and the rest: no muutospv) are
-- not in it, so a load does not write it.
CREATE INDEX muutosloki_muutospv ON vtj.muutosloki (rekisteri, muutospv) WHERE muutospv IS NOT NULL;
COMMENT ON TABLE vtj.muutosloki IS
    'The changes applied to a register, censored, and the events of its members (tietoryhma JASEN: LADATTU, PUUTTUU, PALJASTETTU, HETU_KORJATTU; SENSUROITU per group), for merge jobs: the rows after a position (vtj.muutokset_jalkeen)';

-- pg_dump keeps the data of these tables (and the user's own products).
SELECT pg_catalog.pg_extension_config_dump('vtj.tuote', 'WHERE NOT vakio');
SELECT pg_catalog.pg_extension_config_dump('vtj.rekisteri', '');
SELECT pg_catalog.pg_extension_config_dump('vtj.jasen', '');
SELECT pg_catalog.pg_extension_config_dump('vtj.tieto', '');
SELECT pg_catalog.pg_extension_config_dump('vtj.henkilo', '');
SELECT pg_catalog.pg_extension_config_dump('vtj.osoite', '');
SELECT pg_catalog.pg_extension_config_dump('vtj_internal.ajo', '');
SELECT pg_catalog.pg_extension_config_dump('vtj.muutosloki', '');

-- The identity sequences of the tables above: a restored database continues numbering where the
-- dumped one stood (without them the first run after a restore failed on ajo_pkey).
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('vtj.rekisteri', 'id'), '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('vtj_internal.ajo', 'ajo'), '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('vtj.muutosloki', 'id'), '');
