-- The whole schema snapshot as one result (see introspect.rs): one row per schema, relation,
-- column, primary key, unique index, foreign key, enum and domain, told apart by `kind`, all
-- in one statement (one snapshot, one round trip). {schemas} is replaced by a text[] literal of
-- schema names, or NULL::text[] for every schema the user can use.
--
-- Rows, not one JSON document: json_build_object per column cost about as much as the whole
-- bench baseline catalog query (200 tables, 1,860 columns), and a correlated subquery per relation
-- for its columns ran once per relation; here every part is one pass over its catalog (or an
-- index probe per row where EXPLAIN ANALYZE showed a pass over the whole catalog to cost more).
--
-- sp: the schemas to load, in name-lookup order. With a list, the list (ord 1..n). Without,
-- the search path (current_schemas(false), ord 1..n) then every other schema with USAGE by
-- name (ord from 1000001); system schemas (pg_catalog, information_schema, pg_toast, temporary
-- ones) never. 'search_path' is the part with ord <= 1000000: where bare names look first.
--
-- Key columns are resolved to names by the decoder from the relation's own column rows
-- (a correlated subquery per key was ~30 us each). Columns: kind, k1, k2, k3 (in no particular order: the decoder sorts by them; an ORDER BY here cost ~5 ms), then t1..t8 by kind:
--   0 schema      k1 ord                  t1 name, t2 on the search path
--   1 relation    k1 rel (1..n, in lookup order: schema ord, then name)
--                 t1 schema, t2 name, t3 relkind, t4 partition, t5 visible
--   2 column      k1 rel, k2 attnum       t1 name, t2 type, t3 type oid, t4 not null,
--                                         t5 default, t6 identity, t7 generated
--   3 primary key k1 rel                  t1 indkey (attnums, space-separated, key order)
--   4 unique      k1 rel                  t1 index, t2 constraint, t3 partial, t4 expression,
--                                         t5 indkey (0 for an expression part)
--   5 foreign key k1 rel, k2 constraint oid, k3 position
--                                         t1 name, t2 ref schema, t3 ref table, t4 attnum,
--                                         t5 referenced column name, or NULL when the
--                                         referenced relation is loaded: t6 its rel, t7 the
--                                         referenced attnum (the decoder names it)
--   6 enum        k1 by schema, name      t1 schema, t2 name, t3 oid, t4 labels (JSON array)
--   7 domain      k1 by schema, name      t1 schema, t2 name, t3 oid, t4 base type,
--                                         t5 not null, t6 default
--   8 comment     k1 rel, k2 attnum (0: the relation's own)
--                                         t1 text
--
-- kind is int4, k1..k3 int8, t1..t8 text: the rows come in binary format.
WITH path AS (
  SELECT s.nspname, s.ord FROM unnest(COALESCE({schemas}, pg_catalog.current_schemas(false)::text[])) WITH ORDINALITY AS s(nspname, ord)
), sp AS (
  SELECT nspname, ord FROM path
  UNION ALL
  SELECT n.nspname, 1000000 + row_number() OVER (ORDER BY n.nspname)
  FROM pg_catalog.pg_namespace n
  WHERE {schemas} IS NULL AND n.nspname NOT IN (SELECT nspname FROM path)
    AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')
), ns AS (
  SELECT n.oid, n.nspname, sp.ord FROM pg_catalog.pg_namespace n JOIN sp ON sp.nspname = n.nspname
  WHERE {schemas} IS NOT NULL OR (n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname !~ '^pg_(toast_)?temp_')
), rels AS (
  SELECT c.oid, c.relname, c.relkind, c.relispartition, ns.nspname,
    row_number() OVER (ORDER BY ns.ord, c.relname) AS rel
  FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
)
SELECT kind, k1, k2, k3, t1, t2, t3, t4, t5, t6, t7, t8 FROM (
  SELECT 0 AS kind, ord AS k1, 0::int8 AS k2, 0::int8 AS k3, nspname::text AS t1, (ord <= 1000000)::text AS t2,
    NULL::text AS t3, NULL::text AS t4, NULL::text AS t5, NULL::text AS t6, NULL::text AS t7, NULL::text AS t8
  FROM ns
  UNION ALL
  SELECT 1, r.rel, 0, 0, r.nspname, r.relname, r.relkind::text, r.relispartition::text,
    pg_catalog.pg_table_is_visible(r.oid)::text, NULL, NULL, NULL
  FROM rels r
  UNION ALL
  SELECT 2, r.rel, a.attnum, 0, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid::text,
    a.attnotnull::text, pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text,
    NULL
  FROM rels r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  UNION ALL
  SELECT 3, r.rel, 0, 0, i.indkey::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM rels r JOIN pg_catalog.pg_index i ON i.indrelid = r.oid AND i.indisprimary
  UNION ALL
  SELECT 4, r.rel, 0, 0, ic.relname, con.conname, (i.indpred IS NOT NULL)::text,
    (i.indexprs IS NOT NULL)::text, i.indkey::text, NULL, NULL, NULL
  FROM rels r JOIN pg_catalog.pg_index i ON i.indrelid = r.oid AND i.indisunique AND NOT i.indisprimary
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('u', 'p')
  UNION ALL
  SELECT 5, r.rel, con.oid::int8, k.ord, con.conname, rn.nspname, rc.relname, k.attnum::text, fa.attname,
    rr.rel::text, k.fattnum::text, NULL
  FROM rels r JOIN pg_catalog.pg_constraint con ON con.conrelid = r.oid AND con.contype = 'f'
  JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
  JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
  LEFT JOIN rels rr ON rr.oid = con.confrelid
  CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, fattnum, ord)
  -- the referenced column's name only when its relation is not loaded (else the decoder
  -- takes it from that relation's column rows): an index probe per key part cost ~1 ms of
  -- the 200-table snapshot, and a plain join hashed all of pg_attribute (4.8 of 28 ms)
  LEFT JOIN LATERAL (SELECT fa.attname FROM pg_catalog.pg_attribute fa
    WHERE rr.rel IS NULL AND fa.attrelid = con.confrelid AND fa.attnum = k.fattnum OFFSET 0) fa ON true
  UNION ALL
  SELECT 6, row_number() OVER (ORDER BY ns.ord, t.typname), 0, 0, ns.nspname, t.typname, t.oid::text,
    (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid)::text,
    NULL, NULL, NULL, NULL
  FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace WHERE t.typtype = 'e'
  UNION ALL
  SELECT 7, row_number() OVER (ORDER BY ns.ord, t.typname), 0, 0, ns.nspname, t.typname, t.oid::text,
    pg_catalog.format_type(t.typbasetype, t.typtypmod), t.typnotnull::text, t.typdefault, NULL, NULL
  FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace WHERE t.typtype = 'd'
  UNION ALL
  -- comments of relations and columns: one hash join here instead of a pg_description probe
  -- per column (that probe was ~4 ms of the 200-table snapshot)
  SELECT 8, r.rel, ds.objsubid, 0, ds.description, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM rels r JOIN pg_catalog.pg_description ds ON ds.objoid = r.oid
    AND ds.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
) x
