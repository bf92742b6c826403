-- A schema with every kind of thing `fastasyncpg gen` must handle: every built-in type of the
-- spec's type table, enums, domains, composites, arrays, ranges and multiranges, mixed-case and
-- keyword names, composite and missing primary keys, a partitioned table, a view, a
-- materialized view and a second schema, an extension's type. A few rows each, with NULLs and
-- the extreme values of every type (min/max integers, NaN and infinities, ±infinity and the
-- farthest dates PostgreSQL accepts, `24:00:00`, empty and NULL-element arrays, empty ranges and
-- multiranges, unicode and control characters).

CREATE EXTENSION IF NOT EXISTS hstore;
CREATE SCHEMA "other schema";

CREATE TYPE mood AS ENUM ('sad', 'ok', 'very happy');
COMMENT ON TYPE mood IS 'How someone feels.';
CREATE TYPE "other schema"."Level" AS ENUM ('Low', 'HIGH', '1st');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');
CREATE DOMAIN int_list AS integer[] CHECK (cardinality(VALUE) <= 10);
CREATE TYPE address AS (street text, city varchar(40), zip integer);
CREATE TYPE "Inventory Item" AS (name text, "Count" integer, tags text[], feel mood);

-- Every built-in scalar type, nullable, with one full row and one all-NULL row.
CREATE TABLE all_types (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  c_bool boolean,
  c_int2 smallint,
  c_int4 integer,
  c_int8 bigint,
  c_float4 real,
  c_float8 double precision,
  c_numeric numeric,
  c_numeric_p numeric(10, 2),
  c_money money,
  c_text text,
  c_varchar varchar(20),
  c_char char(3),
  c_qchar "char",
  c_name name,
  c_bytea bytea,
  c_date date,
  c_time time,
  c_timetz timetz,
  c_timestamp timestamp,
  c_timestamptz timestamptz,
  c_interval interval,
  c_uuid uuid,
  c_json json,
  c_jsonb jsonb,
  c_xml xml,
  c_inet inet,
  c_cidr cidr,
  c_macaddr macaddr,
  c_macaddr8 macaddr8,
  c_bit bit(4),
  c_varbit varbit,
  c_point point,
  c_line line,
  c_lseg lseg,
  c_box box,
  c_path path,
  c_polygon polygon,
  c_circle circle,
  c_oid oid,
  c_regclass regclass,
  c_tid tid,
  c_tsvector tsvector,
  c_tsquery tsquery,
  c_pg_lsn pg_lsn
);
COMMENT ON TABLE all_types IS 'One column per built-in type.
Second line of the comment.';
COMMENT ON COLUMN all_types.c_numeric IS 'Exact, with NaN and infinities.';

INSERT INTO all_types (c_bool, c_int2, c_int4, c_int8, c_float4, c_float8, c_numeric, c_numeric_p,
  c_money, c_text, c_varchar, c_char, c_qchar, c_name, c_bytea, c_date, c_time, c_timetz,
  c_timestamp, c_timestamptz, c_interval, c_uuid, c_json, c_jsonb, c_xml, c_inet, c_cidr,
  c_macaddr, c_macaddr8, c_bit, c_varbit, c_point, c_line, c_lseg, c_box, c_path, c_polygon,
  c_circle, c_oid, c_regclass, c_tid, c_tsvector, c_tsquery, c_pg_lsn)
VALUES
  (true, -32768, 2147483647, -9223372036854775808, 1.5, 2.25e300, 12345678901234567890.123456789,
   99.99, 12.34, 'héllo "world"', 'varchar', 'ab', 'x', 'a_name', '\xdeadbeef', '2024-02-29',
   '13:14:15.123456', '13:14:15+02', '2024-02-29 13:14:15.5', '2024-02-29 13:14:15+00',
   '1 year 2 mons 3 days 04:05:06.7', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2]}',
   '{"b": {"c": null}}', '<x>1</x>', '2001:db8::1/64', '10.0.0.0/8', '08:00:2b:01:02:03',
   '08:00:2b:01:02:03:04:05', B'1010', B'10101', '(1.5,2)', '{1,-1,0}', '[(0,0),(1,1)]',
   '((0,0),(2,2))', '[(0,0),(1,1),(2,0)]', '((0,0),(1,1),(1,0))', '<(0,0),5>', 42,
   'all_types', '(3,4)', 'a fat cat', 'fat & cat', '16/B374D848'),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (false, 0, 0, 0, 'NaN', '-Infinity', 'NaN', 0, -0.01, '', '', '', ' ', '', '', '1970-01-01',
   '00:00', '00:00+00', '1970-01-01', '1970-01-01 00:00+00', '-1 day', '00000000-0000-0000-0000-000000000000',
   'null', '[]', '<y/>', '127.0.0.1', '::/0', '00:00:00:00:00:00', '00:00:00:00:00:00:00:00', B'0000',
   B'', '(0,0)', '{0,1,0}', '[(0,0),(0,0)]', '((0,0),(0,0))', '((0,0))', '((0,0))', '<(0,0),0>', 0,
   'pg_class', '(0,0)', '', 'a', '0/0'),
  -- The largest values, +infinity and friends.
  (true, 32767, 2147483647, 9223372036854775807, 'Infinity', 'Infinity', 'Infinity', 99999999.99,
   92233720368547758.07, E'日本語 🎉 \x01\x02\t\n\r\x1b\x7f ''q'' "dq" \\ end', 'ééééééééééééééééééé🎉',
   '🎉', '~', repeat('n', 63), '\x00ff00', 'infinity', '23:59:59.999999', '23:59:59.999999-15:59',
   'infinity', 'infinity', '178000000 years 2147483647 days 2562047788:00:54.775807',
   'ffffffff-ffff-ffff-ffff-ffffffffffff', '{"k": "日本 \u0001", "a": [true, null, -1.5]}',
   '{"k": "🎉", "nested": {"deep": [[[]]]}}', '<x a="ü">日本 &amp; 🎉</x>',
   'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff::/16', 'ff:ff:ff:ff:ff:ff',
   'ff:ff:ff:ff:ff:ff:ff:ff', B'1111', repeat('10', 40)::varbit, '(Infinity,-Infinity)',
   '{1,0,-1e300}', '[(1e300,1e300),(-1e300,-1e300)]', '((1e300,1e300),(-1e300,-1e300))',
   '((0,0),(1,1),(2,2),(3,3))', '((0,0),(1e300,0),(0,1e300))', '<(1e300,-1e300),1e300>',
   4294967295, 'pg_type', '(4294967295,65535)', $$'it''s':1A 'fat':2B,4C '日本':5D 'cat'$$,
   '!fat & (rat | cat:*AB) <-> dog <2> bird', 'FFFFFFFF/FFFFFFFF'),
  -- The smallest values, -infinity and friends.
  (false, -32768, -2147483648, -9223372036854775808, '-Infinity', '-0', '-Infinity', -99999999.99,
   -92233720368547758.08, E'\x01', 'a', 'a', 'a', 'a', '\x00', '-infinity', '00:00:00',
   '00:00:00+15:59', '-infinity', '-infinity', '-178000000 years -2147483648 days -2562047788:00:54.775807',
   '00000000-0000-0000-0000-000000000001', '"\u0000x"', '""', 'text only', '0.0.0.0/0', '0.0.0.0/0',
   '00:00:00:00:00:01', '00:00:00:00:00:00:00:01', B'0001', B'0', '(NaN,-0)', '{0,1,0}',
   '[(-0,0),(0,-0)]', '((0,0),(0,0))', '[(1,1)]', '((1,1))', '<(0,0),0>', 0, 0, '(0,1)', '',
   '!a', '0/1');
-- The farthest dates and times PostgreSQL accepts (beyond chrono's range) and 24:00:00.
INSERT INTO all_types (c_date, c_time, c_timetz, c_timestamp, c_timestamptz) VALUES
  ('5874897-12-31', '24:00:00', '24:00:00-15:59', '294276-12-31 23:59:59.999999',
   '294276-12-31 23:59:59.999999+00'),
  ('4713-01-01 BC', '00:00:00.000001', '00:00:00-15:59', '4713-01-01 00:00:00 BC',
   '4713-01-01 00:00:00+00 BC');

-- Arrays (with NULL elements), ranges and multiranges, enums, domains and composites.
CREATE TABLE containers (
  id integer PRIMARY KEY,
  ints integer[],
  texts text[] NOT NULL DEFAULT '{}',
  nums numeric[],
  moods mood[],
  stamps timestamptz[],
  uuids uuid[],
  int_range int4range,
  ts_range tsrange,
  num_range numrange,
  date_range daterange,
  int_multi int4multirange,
  feeling mood NOT NULL DEFAULT 'ok',
  level "other schema"."Level",
  amount posint,
  contact email,
  home address,
  item "Inventory Item",
  addresses address[],
  grid integer[][],
  date_multi datemultirange,
  num_multi nummultirange,
  small_list int_list,
  posints posint[],
  dates date[],
  levels "other schema"."Level"[],
  items "Inventory Item"[],
  extra hstore,
  big_range int8range
);
INSERT INTO containers VALUES
  (1, '{1,NULL,3}', '{"a","b c",NULL}', '{1.5,NaN}', '{sad,"very happy"}',
   '{"2024-01-01 00:00+00",NULL}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '[1,10)', '[2024-01-01,2024-02-01)',
   '(,5.5]', 'empty', '{[1,3),[5,8)}', 'very happy', 'HIGH', 7, 'a@b.c', ROW('Main St', 'Springfield', 12345),
   ROW('widget', 3, '{x,y}', 'ok'), ARRAY[ROW('A', 'B', 1)::address, NULL], '{{1,2},{3,NULL}}'),
  (2, NULL, '{}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'sad', NULL, NULL, NULL, NULL,
   NULL, NULL, NULL);
INSERT INTO containers VALUES
  (3, '{}', '{""}', '{}', '{}', '{}', '{}', 'empty', '(,)', '[0,0]', '(,)', '{}', 'ok', '1st', 1, 'x@y',
   ROW(NULL, NULL, NULL), ROW(NULL, NULL, NULL, NULL), '{}', '{}', '{}', '{}', '{}', '{}', '{}',
   '{}', '{}', '', 'empty'),
  (4, '{-2147483648,2147483647,NULL}', '{NULL,"","日本","a\"b","{}"}', '{NaN,Infinity,-Infinity,0.000001}',
   '{NULL,sad}', '{infinity,-infinity,NULL}', '{NULL}', '[-2147483648,2147483647)',
   '[-infinity,infinity]', '(,0)', '[-infinity,infinity)', '{[1,2),[3,4),[5,)}', 'very happy', 'Low',
   2147483647, 'ü@ß.de', ROW('日本', NULL, -1), ROW(NULL, 0, '{NULL}', NULL),
   ARRAY[NULL, ROW(NULL, NULL, NULL)::address], '{{NULL,NULL},{NULL,NULL}}',
   '{[-infinity,2024-01-01),[2025-01-01,infinity)}', '{(,-1e-10],[1e10,)}', '{NULL,-1,2147483647}',
   '{1,NULL,2147483647}', '{infinity,-infinity,NULL,5874897-12-31}', '{1st,NULL,HIGH}',
   ARRAY[NULL, ROW('w', -2147483648, '{}', 'sad')::"Inventory Item", ROW(NULL, NULL, NULL, NULL)::"Inventory Item"],
   'a=>1, "b c"=>NULL, "日本"=>"🎉"', '[-9223372036854775808,9223372036854775807)');
UPDATE containers SET date_multi = '{[2024-01-01,2024-02-01)}', num_multi = '{[1.5,2.5]}',
  small_list = '{1,2,3}', posints = '{1,NULL}', dates = '{2024-02-29,NULL}', levels = '{HIGH}',
  items = ARRAY[ROW('widget', 3, '{x,NULL}', 'ok')::"Inventory Item"], extra = 'k=>v',
  big_range = '[1,2)' WHERE id = 1;

-- Mixed-case and keyword names; a generated column; a composite primary key in a different
-- order from the columns.
CREATE TABLE "MixedCase" (
  "Type" text NOT NULL,
  "first name" text,
  "select" integer NOT NULL,
  "self" boolean,
  "ID" integer NOT NULL,
  "order" integer GENERATED ALWAYS AS ("select" * 2) STORED,
  "1st" text,
  "first_name" text,
  PRIMARY KEY ("ID", "Type")
);
COMMENT ON COLUMN "MixedCase"."first name" IS 'Has a space.';
INSERT INTO "MixedCase" ("Type", "first name", "select", "self", "ID", "1st", "first_name") VALUES
  ('a', 'Ann', 1, true, 1, 'x', 'dup'),
  ('b', NULL, 2, NULL, 1, NULL, NULL);

-- Keyword table name, serial key, defaults.
CREATE TABLE "type" (
  id serial PRIMARY KEY,
  "where" text DEFAULT 'here',
  created timestamptz NOT NULL DEFAULT now(),
  "fn" integer
);
INSERT INTO "type" ("where", created) VALUES (NULL, '2024-01-01 00:00+00'), (DEFAULT, '2024-01-02 00:00+00');

-- No primary key at all.
CREATE TABLE log_line (at timestamp, message text, level smallint);
INSERT INTO log_line VALUES ('2024-01-01 10:00', 'started', 1), (NULL, NULL, NULL), ('2024-01-01 10:01', 'done', 2);

-- A partitioned table with two partitions (the partitions are not generated).
CREATE TABLE measurement (
  city_id integer NOT NULL,
  logdate date NOT NULL,
  peaktemp integer,
  PRIMARY KEY (city_id, logdate)
) PARTITION BY RANGE (logdate);
CREATE TABLE measurement_2023 PARTITION OF measurement FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE measurement_2024 PARTITION OF measurement FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO measurement VALUES (1, '2023-06-01', 30), (1, '2024-06-01', NULL), (2, '2024-07-01', 35);

-- A table in another schema with the same name as one in public, and an enum from that schema.
CREATE TABLE "other schema".containers (
  id uuid PRIMARY KEY DEFAULT '00000000-0000-0000-0000-000000000001',
  level "other schema"."Level" NOT NULL,
  note text
);
COMMENT ON TABLE "other schema".containers IS 'Same name as public.containers.';
INSERT INTO "other schema".containers VALUES (DEFAULT, 'Low', NULL), ('00000000-0000-0000-0000-000000000002', '1st', 'n');

-- A view and a materialized view.
CREATE VIEW happy_containers AS
  SELECT id, feeling, home, int_range FROM containers WHERE feeling <> 'sad';
COMMENT ON VIEW happy_containers IS 'Containers that are not sad.';
CREATE MATERIALIZED VIEW measurement_stats AS
  SELECT city_id, count(*) AS n, max(peaktemp) AS hottest, avg(peaktemp) AS mean FROM measurement GROUP BY city_id;
