-- Issue 10's database: a second schema, names that need quoting, a partitioned table, views
-- and a materialized view, a bare name shadowed by the search path and one that is ambiguous.
-- Shared by tests/it/schema_view.rs and the CLI's tests/schema_view.rs.
CREATE SCHEMA inventory;
CREATE SCHEMA archive;
CREATE SCHEMA "Inventory";
CREATE TABLE customer (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE inventory.customer (id int PRIMARY KEY, region text);
CREATE TABLE inventory.item (id int PRIMARY KEY, sku text NOT NULL, qty int NOT NULL DEFAULT 0);
CREATE TABLE "Inventory"."Item" (id int PRIMARY KEY, label text);
CREATE TABLE inventory."Odd Name" (id int PRIMARY KEY, "Mixed Col" text);
CREATE VIEW inventory.item_view AS SELECT id, sku FROM inventory.item;
CREATE TABLE inventory.event (id int, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE inventory.event_2024 PARTITION OF inventory.event FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE MATERIALIZED VIEW stock AS SELECT sku, qty FROM inventory.item;
CREATE TABLE inventory.log (id int PRIMARY KEY, msg text);
CREATE TABLE archive.log (id int PRIMARY KEY, msg text, archived_at timestamptz);
INSERT INTO inventory.item VALUES (1, 'A-1', 5), (2, 'B-2', 0);
INSERT INTO inventory."Odd Name" VALUES (1, 'odd');
