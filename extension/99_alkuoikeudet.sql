-- vtj_fdw code, part 99: the extension's initial privileges are its own grants only.
--
-- Whenever a script of the extension grants on an object, PostgreSQL records the object's whole
-- ACL as its "initial privileges" (pg_init_privs) — during an update, with the grants the
-- database's users had made on it before (a reporting role's SELECT on vtj.henkilo, say).
-- pg_dump dumps only the difference from the initial privileges, so such a grant would be
-- missing from every dump taken after the update, and a restore would lose it. So the entries
-- the scripts did not make are taken out again: those of a grantee other than PUBLIC, the
-- object's owner (its own entry) and the extension's roles. On a fresh install there is none.
-- (The update runs as a superuser, who may change this catalog.)
DO $$
DECLARE
    ext oid := (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'vtj_fdw');
BEGIN
    UPDATE pg_catalog.pg_init_privs i SET initprivs = o.omat
      FROM (SELECT p.classoid, p.objoid, p.objsubid,
                   ARRAY(SELECT x FROM pg_catalog.unnest(p.initprivs) WITH ORDINALITY AS u(x, n)
                          WHERE NOT EXISTS (
                                SELECT FROM pg_catalog.aclexplode(ARRAY[u.x]) a
                                 WHERE a.grantee OPERATOR(pg_catalog.<>) 0
                                   AND a.grantee OPERATOR(pg_catalog.<>) a.grantor
                                   AND NOT EXISTS (
                                       SELECT FROM pg_catalog.pg_roles r
                                        WHERE r.oid OPERATOR(pg_catalog.=) a.grantee
                                          AND (r.rolname OPERATOR(pg_catalog.=) ANY (ARRAY['vtj_lukija', 'vtj_ajaja', 'vtj_seuranta']::name[])
                                               OR pg_catalog.starts_with(r.rolname, 'vtj_kyselyloki_lukija_'))))
                          ORDER BY u.n) AS omat
              FROM pg_catalog.pg_init_privs p
              JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) p.classoid AND d.objid OPERATOR(pg_catalog.=) p.objoid
                                         AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
                                         AND d.refobjid OPERATOR(pg_catalog.=) ext AND d.deptype OPERATOR(pg_catalog.=) 'e'
             WHERE p.privtype OPERATOR(pg_catalog.=) 'e') o
     WHERE i.classoid OPERATOR(pg_catalog.=) o.classoid AND i.objoid OPERATOR(pg_catalog.=) o.objoid
       AND i.objsubid OPERATOR(pg_catalog.=) o.objsubid AND i.privtype OPERATOR(pg_catalog.=) 'e'
       AND i.initprivs OPERATOR(pg_catalog.<>) o.omat;
END
$$;
