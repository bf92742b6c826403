-- Everything `fastasyncpg gen` needs, as one JSON document, in one round trip: the relations
-- of the chosen schemas ($1, or the search path when NULL) with their columns and primary keys,
-- and every type those columns use, followed through arrays, domains, ranges, multiranges and
-- composite attributes.
WITH RECURSIVE sp AS (
  SELECT s.nspname, s.ord
  FROM unnest(COALESCE($1::text[], pg_catalog.current_schemas(false)::text[])) WITH ORDINALITY AS s(nspname, ord)
), ns AS (
  SELECT n.oid, n.nspname, sp.ord FROM pg_catalog.pg_namespace n JOIN sp ON sp.nspname = n.nspname
), rels AS (
  SELECT c.oid, c.relname, c.relkind, ns.nspname, ns.ord
  FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND NOT c.relispartition
), cols AS (
  SELECT a.attrelid, a.attnum, a.attname, a.atttypid, pg_catalog.format_type(a.atttypid, a.atttypmod) AS sql_type,
         a.attndims, a.attnotnull, a.attidentity, a.attgenerated, pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS def,
         pg_catalog.col_description(a.attrelid, a.attnum) AS comment
  FROM pg_catalog.pg_attribute a JOIN rels r ON r.oid = a.attrelid
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE a.attnum > 0 AND NOT a.attisdropped
), tc(oid) AS (
  SELECT DISTINCT atttypid FROM cols
  UNION
  SELECT x.oid FROM tc JOIN pg_catalog.pg_type t ON t.oid = tc.oid
  CROSS JOIN LATERAL (
    SELECT t.typelem WHERE t.typelem <> 0 AND t.typsubscript = 'pg_catalog.array_subscript_handler'::regproc
    UNION ALL SELECT t.typbasetype WHERE t.typtype = 'd'
    UNION ALL SELECT r.rngsubtype FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid
    UNION ALL SELECT r.rngtypid FROM pg_catalog.pg_range r WHERE r.rngmultitypid = t.oid
    UNION ALL SELECT a.atttypid FROM pg_catalog.pg_attribute a
      WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
  ) AS x(oid)
)
SELECT json_build_object(
  'relations', (SELECT COALESCE(json_agg(json_build_object(
      'schema', r.nspname, 'name', r.relname, 'kind', r.relkind,
      'comment', pg_catalog.obj_description(r.oid, 'pg_class'),
      'columns', (SELECT COALESCE(json_agg(json_build_object(
          'name', c.attname, 'type_oid', c.atttypid::int8, 'sql_type', c.sql_type, 'ndims', c.attndims,
          'not_null', c.attnotnull, 'identity', c.attidentity, 'generated', c.attgenerated,
          'default', c.def, 'comment', c.comment) ORDER BY c.attnum), '[]'::json)
        FROM cols c WHERE c.attrelid = r.oid),
      'pk', (SELECT COALESCE(json_agg(a.attname ORDER BY k.ord), '[]'::json)
        FROM pg_catalog.pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = r.oid AND i.indisprimary)
    ) ORDER BY r.ord, r.relname), '[]'::json) FROM rels r),
  'types', (SELECT COALESCE(json_agg(json_build_object(
      'oid', t.oid::int8, 'schema', n.nspname, 'name', t.typname, 'typtype', t.typtype,
      'elem', CASE WHEN t.typsubscript = 'pg_catalog.array_subscript_handler'::regproc THEN t.typelem::int8 ELSE 0 END,
      'base', t.typbasetype::int8,
      'comment', pg_catalog.obj_description(t.oid, 'pg_type'),
      'labels', (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid),
      'attrs', (SELECT json_agg(json_build_object('name', a.attname, 'type_oid', a.atttypid::int8,
                  'sql_type', pg_catalog.format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
                FROM pg_catalog.pg_attribute a
                WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
    ) ORDER BY n.nspname, t.typname), '[]'::json)
    FROM tc JOIN pg_catalog.pg_type t ON t.oid = tc.oid JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace)
)::text
