-- The whole schema snapshot as one JSON document (see introspect.rs). {schemas} is replaced by a
-- text[] literal of schema names, or NULL::text[] for every schema the user can use.
--
-- sp: the schemas to load, in name-lookup order. With a list, the list (ord 1..n). Without,
-- the search path (current_schemas(false), ord 1..n) then every other schema with USAGE by
-- name (ord from 1000001); system schemas (pg_catalog, information_schema, pg_toast, temporary
-- ones) never. 'search_path' is the part with ord <= 1000000: where bare names look first.
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
  SELECT c.oid, c.relname, c.relkind, c.relispartition, ns.nspname, ns.ord
  FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
)
SELECT json_build_object(
  'search_path', (SELECT json_agg(nspname ORDER BY ord) FROM ns WHERE ord <= 1000000),
  'schemas', (SELECT json_agg(nspname ORDER BY ord) FROM ns),
  'relations', (SELECT COALESCE(json_agg(json_build_object(
      'schema', r.nspname, 'name', r.relname, 'kind', r.relkind, 'partition', r.relispartition, 'visible', pg_catalog.pg_table_is_visible(r.oid),
      'comment', pg_catalog.obj_description(r.oid, 'pg_class'),
      'columns', (SELECT json_agg(json_build_object(
          'name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod), 'oid', a.atttypid::int8,
          'not_null', a.attnotnull, 'default', pg_catalog.pg_get_expr(d.adbin, d.adrelid),
          'identity', a.attidentity, 'generated', a.attgenerated,
          'comment', pg_catalog.col_description(a.attrelid, a.attnum)) ORDER BY a.attnum)
        FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped),
      'pk', (SELECT json_agg(a.attname ORDER BY k.ord)
        FROM pg_catalog.pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = r.oid AND i.indisprimary),
      'uniques', (SELECT json_agg(json_build_object(
          'name', ic.relname, 'constraint', con.conname, 'partial', i.indpred IS NOT NULL,
          'columns', (SELECT json_agg(a.attname ORDER BY k.ord)
             FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum),
          'expression', i.indexprs IS NOT NULL) ORDER BY ic.relname)
        FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
        LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('u', 'p')
        WHERE i.indrelid = r.oid AND i.indisunique AND NOT i.indisprimary),
      'foreign_keys', (SELECT json_agg(json_build_object(
          'name', con.conname, 'ref_schema', rn.nspname, 'ref_table', rc.relname,
          'columns', (SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum),
          'ref_columns', (SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum)) ORDER BY con.conname)
        FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
        JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
        WHERE con.conrelid = r.oid AND con.contype = 'f')
    ) ORDER BY r.ord, r.relname), '[]'::json) FROM rels r),
  'enums', (SELECT COALESCE(json_agg(json_build_object('schema', ns.nspname, 'name', t.typname, 'oid', t.oid::int8,
      'labels', (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid))
      ORDER BY ns.ord, t.typname), '[]'::json)
    FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace WHERE t.typtype = 'e'),
  'domains', (SELECT COALESCE(json_agg(json_build_object('schema', ns.nspname, 'name', t.typname, 'oid', t.oid::int8,
      'base', pg_catalog.format_type(t.typbasetype, t.typtypmod), 'not_null', t.typnotnull, 'default', t.typdefault)
      ORDER BY ns.ord, t.typname), '[]'::json)
    FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace WHERE t.typtype = 'd')
)::text
