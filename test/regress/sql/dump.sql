-- What pg_dump keeps of vtj_fdw's own objects. The rows of an extension's tables, and the
-- position of its sequences, are dumped only for those registered with
-- pg_extension_config_dump; every other member comes back as CREATE EXTENSION makes it (empty,
-- or at 1). Every table of vtj_fdw holds the user's data, and every sequence is an identity
-- column's over such a table (a restored run log whose sequence starts again at 1 makes the
-- next run fail on ajo_pkey), so each must be registered: one added without its
-- pg_extension_config_dump is listed here by name.
CREATE EXTENSION vtj_fdw;

SELECT pg_describe_object(d.classid, d.objid, 0) AS not_dumped
  FROM pg_depend d
  JOIN pg_extension e ON e.oid = d.refobjid
  JOIN pg_class c ON c.oid = d.objid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.classid = 'pg_class'::regclass AND d.deptype = 'e'
   AND e.extname = 'vtj_fdw' AND c.relkind IN ('r', 'p', 'S')
   AND c.oid <> ALL (e.extconfig)
 ORDER BY 1;

-- What is registered, and which rows of it a dump keeps.
SELECT pg_describe_object('pg_class'::regclass, x.tab, 0) AS dumped, nullif(x.cond, '') AS rows_where
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) x(tab, cond)
 WHERE e.extname = 'vtj_fdw'
 ORDER BY 1;

DROP EXTENSION vtj_fdw;
