"""The table API beyond the seed document's examples (SPEC sections 5 and 10): bulk calls,
composite keys, odd identifiers, other schemas, groupby, claim — and a regression test for each of
the original's defects that the Python API can show (SPEC 10.N noted on each)."""
import asyncio

import pytest

import fastasyncpg
from fastasyncpg import NotFoundError


async def make(db, ddl):
    await db.execute(ddl)
    await db.refresh()


async def test_inserts_updates_upserts(edb):
    await make(edb, "CREATE TABLE item (id serial PRIMARY KEY, name text NOT NULL, qty int NOT NULL DEFAULT 7, note text)")
    t = edb.t.item
    n = await t.inserts([{'name': 'a', 'qty': 1}, {'name': 'b'}, {'name': 'c', 'qty': 3, 'note': 'x'}])
    assert n == 3 or (isinstance(n, list) and len(n) == 3)
    rows = {r['name']: r for r in await t(as_cls=False)}
    # SPEC 10.12: a missing key gets the column's DEFAULT, not NULL
    assert rows['b']['qty'] == 7 and rows['b']['note'] is None
    assert [rows[k]['id'] for k in 'abc'] == [1, 2, 3]

    # updates: by primary key; missing keys stay unchanged (SPEC 10.12)
    up = await t.updates([{'id': 1, 'qty': 10}, {'id': 3, 'note': None}])
    assert len(up) == 2
    got = {r['id']: r for r in await t(as_cls=False)}
    assert (got[1]['name'], got[1]['qty']) == ('a', 10)
    assert (got[3]['name'], got[3]['qty'], got[3]['note']) == ('c', 3, None)

    # upserts: update the existing, insert the new
    n = await t.upserts([{'id': 2, 'name': 'B', 'qty': 2}, {'id': 50, 'name': 'new', 'qty': 5}])
    assert n == 2
    got = {r['id']: r for r in await t(as_cls=False)}
    assert got[2]['name'] == 'B' and got[50]['name'] == 'new' and len(got) == 4
    # returning=True: the rows written, in the order given
    res = await t.upserts([{'id': 51, 'name': 'x', 'qty': 1}, {'id': 2, 'name': 'BB', 'qty': 3}],
                          returning=True)
    assert [(r['id'], r['name']) for r in res] == [(51, 'x'), (2, 'BB')]
    await t.delete(51)

    # atomic: one bad row and nothing is written
    with pytest.raises(Exception):
        await t.inserts([{'name': 'ok'}, {'name': None}])
    assert await t.count == 4
    # the caller's rows are not mutated (SPEC 10.8)
    recs = [{'name': 'd'}]
    await t.inserts(recs)
    assert recs == [{'name': 'd'}]


async def test_bulk_with_xtra_and_dataclasses(edb):
    await make(edb, "CREATE TABLE note (id serial PRIMARY KEY, body text, uid int)")
    t = edb.t.note
    Note = t.dataclass()
    t.xtra(uid=5)
    await t.inserts([Note(body='one'), {'body': 'two'}])
    t.xtra()
    assert sorted((r.body, r.uid) for r in await t()) == [('one', 5), ('two', 5)]
    t.xtra(uid=6)
    # updates outside the scope touch nothing (an empty result or a NotFoundError)
    try:
        assert await t.updates([{'id': 1, 'body': 'changed'}]) == []
    except NotFoundError:
        pass
    t.xtra()
    assert (await t[1]).body == 'one'


async def test_insert_default_values_and_kwargs_override(edb):
    await make(edb, "CREATE TABLE d (id serial PRIMARY KEY, v int DEFAULT 42, w text)")
    t = edb.t.d
    r = await t.insert()
    assert (r['id'], r['v'], r['w']) == (1, 42, None)
    r = await t.insert({'v': 1, 'w': 'rec'}, v=2)
    assert (r['v'], r['w']) == (2, 'rec')


async def test_composite_primary_key(db):
    pt = db.t.playlist_track
    # SPEC 10.4: in key order, and all key columns used
    assert pt.pks == ['playlist_id', 'track_id']
    r = await pt[1, 3402]
    assert (r['playlist_id'], r['track_id']) == (1, 3402)
    assert await pt.get((1, 999999)) is None
    with pytest.raises(NotFoundError):
        await pt[(1, -1)]
    n = await db.fetchval("SELECT count(*) FROM playlist_track")
    await pt.delete((1, 3402))
    assert await db.fetchval("SELECT count(*) FROM playlist_track") == n - 1


async def test_mixed_case_and_quote_identifiers(edb):
    # SPEC 10.1 and 10.2: identifiers are quoted and escaped; mixed case survives a refresh
    await make(edb, 'CREATE TABLE "MixedCase" ("Id" serial PRIMARY KEY, "Weird ""col""" text)')
    assert 'MixedCase' in edb.t
    t = edb.t['MixedCase']
    assert t.pks == ['Id']
    assert str(t) == '"MixedCase"'
    r = await t.insert({'Weird "col"': 'ok'})
    assert r['Weird "col"'] == 'ok'
    assert str(t.c['Weird "col"']) == '"MixedCase"."Weird ""col"""'
    # a key that tries to inject SQL is a column name, not SQL
    with pytest.raises(Exception):
        await t.insert({'Id" integer); DROP TABLE "MixedCase"; --': 1})
    await edb.refresh()
    assert 'MixedCase' in edb.t


async def test_pg_prefixed_names_and_other_schemas(edb):
    # SPEC 10.3: names starting with pg are not hidden; 10.5: partitioned tables, materialized
    # views and other schemas are visible
    await edb.execute("CREATE TABLE pgx_accounts (id int PRIMARY KEY)")
    await edb.execute("CREATE TABLE part (id int, k int, PRIMARY KEY (id, k)) PARTITION BY RANGE (k)")
    await edb.execute("CREATE TABLE part_1 PARTITION OF part FOR VALUES FROM (0) TO (100)")
    await edb.execute("CREATE MATERIALIZED VIEW mv AS SELECT 1 AS one")
    await edb.execute("CREATE SCHEMA other; CREATE TABLE other.thing (id int PRIMARY KEY, v text)")
    await edb.refresh()
    assert 'pgx_accounts' in edb.t and edb.t.pgx_accounts.pks == ['id']
    assert 'part' in edb.t and edb.t.part.pks == ['id', 'k']
    assert 'mv' in edb.v
    thing = edb.t['other.thing']
    await thing.insert(id=1, v='x')
    assert (await thing[1])['v'] == 'x'
    assert await edb.fetchval("SELECT v FROM other.thing") == 'x'


async def test_update_without_primary_key_is_refused(edb):
    # SPEC 10.11: the original updated every row in scope
    await make(edb, "CREATE TABLE nopk (a int, b text)")
    await edb.execute("INSERT INTO nopk VALUES (1, 'x'), (2, 'y')")
    with pytest.raises(Exception):
        await edb.t.nopk.update({'a': 1, 'b': 'changed'})
    assert await edb.fetchval("SELECT count(*) FROM nopk WHERE b = 'changed'") == 0


async def test_jsonb_operators_are_not_placeholders(edb):
    # SPEC 10.6: jsonb `?` operators stay operators
    assert await edb.fetchval("SELECT '{\"a\": 1}'::jsonb ? 'a'") is True
    assert await edb.fetchval("SELECT $1::jsonb ? 'a'", {'a': 1}) is True
    assert [dict(r) for r in await edb.q("SELECT ?::int AS x", 5)] == [{'x': 5}]


async def test_groupby(db):
    album = db.t.album
    res = await album.groupby('artist_id', limit=3)
    assert isinstance(res, list) and len(res) == 3
    assert [r['artist_id'] for r in res] == [1, 2, 3]
    assert [r['n'] for r in res] == [2, 2, 1]
    album.xtra(artist_id=90)
    res = await album.groupby('artist_id')
    album.xtra()
    assert [r['artist_id'] for r in res] == [90]


async def test_claim_skips_locked_rows(edb):
    # SPEC 5 job queue / 10.16: a claimed batch returns every row it locked
    await make(edb, "CREATE TABLE job (id serial PRIMARY KEY, payload text, status text NOT NULL DEFAULT 'pending')")
    await edb.t.job.inserts([{'payload': f'p{i}'} for i in range(6)])
    got = await edb.t.job.claim(4)
    assert len(got) == 4
    assert await edb.fetchval("SELECT count(*) FROM job WHERE status <> 'pending'") == 4
    one = await edb.t.job.claim_one()
    assert one is not None and one['id'] not in {r['id'] for r in got}
    await edb.t.job.claim_one()
    assert await edb.t.job.claim_one() is None


async def test_concurrent_claims_are_disjoint(empty):
    db = await fastasyncpg.create_pool(empty.url, min_size=2, max_size=4)
    await make(db, "CREATE TABLE job (id serial PRIMARY KEY, status text NOT NULL DEFAULT 'pending')")
    await db.t.job.inserts([{} for _ in range(40)])

    async def worker():
        mine = []
        while True:
            batch = await db.t.job.claim(3)
            if not batch:
                return mine
            mine += [r['id'] for r in batch]

    results = await asyncio.gather(*(worker() for _ in range(4)))
    ids = [i for r in results for i in r]
    assert sorted(ids) == list(range(1, 41))  # each job claimed exactly once
    await db.close()
