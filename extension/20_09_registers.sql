-- vtj_fdw code, part 20 (the mirror), 09: the public API of registers and members.
-- The mirror's code is in files by concern, read in name order (its tables: extension/data/20_mirror.sql);
-- the overview of the mirror and its censorship is in 20_01_products.sql.

-- ---------------------------------------------------------------------------------------
-- Public API: registers and members
-- ---------------------------------------------------------------------------------------
-- SECURITY DEFINER: the schema and the foreign tables are the extension owner's (a role that
-- runs the mirror gets USAGE and SELECT on them, nothing more); the caller must have USAGE on
-- the server, as for a user mapping of its own.
CREATE OR REPLACE FUNCTION vtj.luo_rekisteri(rekisteri text, palvelin text, tuote text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_srv oid;
    v_fdw text;
    v_url boolean;
    v_skeema text := left('vtj_' || palvelin, 63);
    v_kutsuja oid := vtj_internal.caller();
    v_omistaja oid := (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'vtj_fdw');
    v_vieras text;
BEGIN
    IF rekisteri IS NULL OR rekisteri = '' OR length(rekisteri) > 63 THEN
        RAISE EXCEPTION 'a register needs a name of 1 to 63 characters' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM vtj.rekisteri x WHERE x.rekisteri = luo_rekisteri.rekisteri) THEN
        RAISE EXCEPTION 'register "%" already exists', rekisteri USING ERRCODE = '42710',
            HINT = 'Choose another name, or remove the old register with vtj.poista_rekisteri(rekisteri).';
    END IF;
    SELECT s.oid, w.fdwname, EXISTS (SELECT 1 FROM unnest(s.srvoptions) o WHERE o LIKE 'url=%')
      INTO v_srv, v_fdw, v_url
      FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
     WHERE s.srvname = palvelin;
    IF v_srv IS NULL THEN
        RAISE EXCEPTION 'server "%" does not exist', palvelin USING ERRCODE = '42704',
            HINT = 'Create it first: CREATE SERVER name FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url ''…/api/v1''), and a user mapping.';
    END IF;
    IF v_fdw <> 'vtj_fdw' THEN
        RAISE EXCEPTION 'server "%" is not a vtj_fdw server', palvelin USING ERRCODE = '22023';
    END IF;
    IF NOT v_url THEN
        RAISE EXCEPTION 'server "%" has no change interface (option "url")', palvelin USING ERRCODE = '22023',
            HINT = 'A register is kept from VTJ-muutosrajapinta: give the server OPTIONS (ADD url ''…/api/v1''); VTJkysely (kysely_url) is for one-person look-ups only.';
    END IF;
    IF NOT pg_catalog.has_server_privilege(v_kutsuja, v_srv, 'USAGE') THEN
        RAISE EXCEPTION 'permission denied for foreign server "%"', palvelin USING ERRCODE = '42501',
            HINT = 'A register is created by a role with USAGE on its server: GRANT USAGE ON FOREIGN SERVER … TO the role.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM vtj.tuote x WHERE x.tuote = luo_rekisteri.tuote) THEN
        RAISE EXCEPTION 'product "%" does not exist', tuote USING ERRCODE = '42704',
            HINT = format('The products are: %s (vtj.tuote).', (SELECT string_agg(x.tuote, ', ' ORDER BY x.tuote) FROM vtj.tuote x));
    END IF;
    -- The server's foreign tables live in a schema of their own, shared by its registers. One
    -- that exists already is adopted only when it and its tables are the extension owner's (or
    -- the caller's) and the tables are this server's foreign tables: a schema prepared by
    -- another role could hold a view that runs that role's code whenever the register is read.
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = v_skeema) THEN
        SELECT string_agg(x.mika, '; ') INTO v_vieras FROM (
            SELECT format('the schema is owned by %s', n.nspowner::regrole) AS mika
              FROM pg_catalog.pg_namespace n
             WHERE n.nspname = v_skeema AND n.nspowner NOT IN (v_omistaja, v_kutsuja)
            UNION ALL
            SELECT format('%s is missing, or is not a foreign table of server %s owned by the extension''s owner', t.n, palvelin)
              FROM unnest('{kirjausavain,muutokset,perustiedot,perustiedot_ryhmittain}'::text[]) t(n)
             WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_foreign_table ft ON ft.ftrelid = c.oid
                                WHERE c.relnamespace = v_skeema::regnamespace AND c.relname = t.n AND c.relkind = 'f'
                                  AND ft.ftserver = v_srv AND c.relowner IN (v_omistaja, v_kutsuja))
            UNION ALL
            SELECT format('%s is owned by %s', c.relname, c.relowner::regrole)
              FROM pg_catalog.pg_class c
             WHERE c.relnamespace = v_skeema::regnamespace AND c.relowner NOT IN (v_omistaja, v_kutsuja)
            UNION ALL
            SELECT format('function %s is owned by %s', p.oid::regprocedure, p.proowner::regrole)
              FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = v_skeema::regnamespace AND p.proowner NOT IN (v_omistaja, v_kutsuja)) x;
        IF v_vieras IS NOT NULL THEN
            RAISE EXCEPTION 'schema "%" exists but vtj.luo_rekisteri cannot use it', v_skeema
                USING ERRCODE = '42P06', DETAIL = v_vieras,
                      HINT = 'vtj.luo_rekisteri imports the server''s tables into a schema of that name and uses only what it made: rename or drop the schema, then try again.';
        END IF;
    ELSE
        EXECUTE format('CREATE SCHEMA %I', v_skeema);
        EXECUTE format('IMPORT FOREIGN SCHEMA muutosrajapinta LIMIT TO (kirjausavain, muutokset, perustiedot, perustiedot_ryhmittain) FROM SERVER %I INTO %I',
                       palvelin, v_skeema);
    END IF;
    -- the roles that run the mirror read the interface through these tables, as themselves
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO vtj_ajaja', v_skeema);
    EXECUTE format('GRANT SELECT ON %I.kirjausavain, %I.muutokset, %I.perustiedot, %I.perustiedot_ryhmittain TO vtj_ajaja',
                   v_skeema, v_skeema, v_skeema, v_skeema);
    INSERT INTO vtj.rekisteri (rekisteri, palvelin, tuote, skeema)
    VALUES (luo_rekisteri.rekisteri, palvelin, luo_rekisteri.tuote, v_skeema);
    RETURN v_skeema;
END $$;
COMMENT ON FUNCTION vtj.luo_rekisteri(text, text, text) IS
    'Creates a register bound to a vtj_fdw server and a product; imports the server''s foreign tables into schema vtj_<server> (returned)';
CREATE OR REPLACE FUNCTION vtj.poista_rekisteri(rekisteri text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE r vtj.rekisteri := vtj_internal.rekisteri(rekisteri);
BEGIN
    PERFORM vtj_internal.data_lock(r.rekisteri);
    DELETE FROM vtj.muutosloki m WHERE m.rekisteri = r.rekisteri;
    DELETE FROM vtj.osoite m WHERE m.rekisteri = r.rekisteri;
    DELETE FROM vtj.henkilo m WHERE m.rekisteri = r.rekisteri;
    DELETE FROM vtj.tieto m WHERE m.rekisteri = r.rekisteri;
    DELETE FROM vtj.rekisteri m WHERE m.rekisteri = r.rekisteri;   -- members and runs cascade
END $$;
COMMENT ON FUNCTION vtj.poista_rekisteri(text) IS
    'Removes a register with all its members, stored data, change log and run log (the foreign-table schema stays)';

-- The hetus given to vtj.lisaa_henkilot and vtj.poista_henkilot: all must be valid, else
-- nothing happens and the error gives the count and positions of the invalid ones, never values
-- (a typo in a data-protection deletion must not pass unnoticed either).
CREATE OR REPLACE FUNCTION vtj_internal.check_hetus(p_hetut text[], p_kutsu text, p_mitaan text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE v_virheet integer[];
BEGIN
    IF p_hetut IS NULL THEN
        RAISE EXCEPTION '%: the list of hetus is NULL', p_kutsu USING ERRCODE = '22004',
            HINT = p_mitaan || ' Give an array of hetus, e.g. ARRAY[''010101-900F''] or ARRAY(SELECT hetu FROM …).';
    END IF;
    SELECT array_agg(e.n ORDER BY e.n) INTO v_virheet
      FROM unnest(p_hetut) WITH ORDINALITY e(h, n)
     WHERE e.h IS NULL OR NOT vtj.hetu_kelpaa(e.h);
    IF v_virheet IS NOT NULL THEN
        RAISE EXCEPTION '%: % of % hetus are invalid, at positions %', p_kutsu, cardinality(v_virheet), cardinality(p_hetut),
            array_to_string(v_virheet[1:20], ', ') || CASE WHEN cardinality(v_virheet) > 20 THEN ', …' ELSE '' END
            USING ERRCODE = '22P02',
                  HINT = p_mitaan || ' Positions count from 1; vtj.hetu_kelpaa(hetu) tells which values are valid.';
    END IF;
END $$;
CREATE OR REPLACE FUNCTION vtj.lisaa_henkilot(rekisteri text, hetut text[]) RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r vtj.rekisteri := vtj_internal.rekisteri(rekisteri);
    v_n integer;
BEGIN
    PERFORM vtj_internal.check_hetus(hetut, 'vtj.lisaa_henkilot', 'Nothing was added.');
    -- Members are added between the transactions of a run or load (the data lock: a batch in
    -- flight finishes first, the next waits for this).
    PERFORM vtj_internal.data_lock(r.rekisteri);
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
CREATE OR REPLACE FUNCTION vtj.poista_henkilot(rekisteri text, hetut text[]) RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r vtj.rekisteri := vtj_internal.rekisteri(rekisteri);
    v_n integer;
    v_ei integer;
BEGIN
    PERFORM vtj_internal.check_hetus(hetut, 'vtj.poista_henkilot', 'Nothing was removed.');
    -- Wait for the register's transaction in flight, so that it cannot write the persons back.
    PERFORM vtj_internal.data_lock(r.rekisteri);
    DELETE FROM vtj.muutosloki m WHERE m.rekisteri = r.rekisteri AND m.hetu = ANY (hetut);
    DELETE FROM vtj.osoite m WHERE m.rekisteri = r.rekisteri AND m.hetu = ANY (hetut);
    DELETE FROM vtj.henkilo m WHERE m.rekisteri = r.rekisteri AND m.hetu = ANY (hetut);
    DELETE FROM vtj.tieto m WHERE m.rekisteri = r.rekisteri AND m.hetu = ANY (hetut);
    DELETE FROM vtj.jasen m WHERE m.rekisteri = r.rekisteri AND m.hetu = ANY (hetut);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_ei := (SELECT count(DISTINCT h) FROM unnest(hetut) h) - v_n;
    IF v_ei > 0 THEN
        RAISE NOTICE 'vtj.poista_henkilot(%): % of the % hetus given were not members of the register',
            r.rekisteri, v_ei, (SELECT count(DISTINCT h) FROM unnest(hetut) h)
            USING HINT = 'SELECT * FROM vtj.ei_jasenia(rekisteri, hetut) lists them (a hetu corrected since is a member under its new hetu: vtj.jasen.edelliset).';
    END IF;
    RETURN v_n;
END $$;
COMMENT ON FUNCTION vtj.poista_henkilot(text, text[]) IS
    'Removes members and all their stored data in the register (current data, typed rows, addresses, change log); all hetus must be valid. Returns how many members were removed (a NOTICE counts the hetus that were not members)';

-- The hetus of a list that are not members of the register (what vtj.poista_henkilot did not find).
CREATE OR REPLACE FUNCTION vtj.ei_jasenia(rekisteri text, hetut text[]) RETURNS TABLE (hetu text, nykyinen_hetu text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE r vtj.rekisteri := vtj_internal.rekisteri(rekisteri);
BEGIN
    RETURN QUERY
    SELECT DISTINCT h, (SELECT j.hetu FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri AND h = ANY (j.edelliset) LIMIT 1)
      FROM unnest(hetut) h
     WHERE NOT EXISTS (SELECT 1 FROM vtj.jasen j WHERE j.rekisteri = r.rekisteri AND j.hetu = h)
     ORDER BY 1;
END $$;
COMMENT ON FUNCTION vtj.ei_jasenia(text, text[]) IS
    'The hetus of the list that are not members of the register, each with the member''s current hetu when it was corrected since';
