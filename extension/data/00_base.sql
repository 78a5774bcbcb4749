-- vtj_fdw data definitions, part 00: the schema of the internals.
--
-- extension/data/*.sql are the data definitions: schemas, tables, indexes, sequences, the rows
-- the extension ships, pg_extension_config_dump. CREATE EXTENSION runs them once, before the
-- code (extension/*.sql). A change here reaches a database that has the extension already only
-- through a hand-written migration, extension/upgrade/<from>--<to>.sql (README, "Releasing").

-- Schema vtj holds the documented surface only (the control file creates it); everything the
-- extension uses internally lives in vtj_internal (its privileges and comment: the code).
CREATE SCHEMA vtj_internal;
