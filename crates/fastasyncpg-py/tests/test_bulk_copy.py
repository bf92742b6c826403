"""Bulk inserts of same-shaped dicts: one COPY, values converted while it runs, still atomic."""
import pytest

from fastasyncpg import DataError, UNSET


async def _table(db):
    await db.execute("CREATE TABLE bulk (id bigint PRIMARY KEY, name text NOT NULL DEFAULT 'anon', "
                     "qty integer NOT NULL, uid integer)")
    await db.refresh()
    return db.t.bulk


async def test_inserts_many_rows_in_chunks(edb):
    t = await _table(edb)
    rows = [dict(id=i, name=f'n{i}', qty=i % 7) for i in range(10_000)]
    assert await t.inserts(rows) == 10_000
    assert await edb.fetchval("SELECT sum(qty) FROM bulk") == sum(i % 7 for i in range(10_000))
    assert await edb.fetchval("SELECT name FROM bulk WHERE id = 9999") == 'n9999'


async def test_a_bad_value_after_the_first_chunks_writes_nothing(edb):
    t = await _table(edb)
    rows = [dict(id=i, name=f'n{i}', qty=i) for i in range(6_000)]
    rows[4_500]['qty'] = 'not a number'
    with pytest.raises(DataError) as e:
        await t.inserts(rows)
    assert 'qty' in str(e.value), str(e.value)
    assert await edb.fetchval("SELECT count(*) FROM bulk") == 0


async def test_mixed_shapes_and_unset_keep_defaults(edb):
    t = await _table(edb)
    assert await t.inserts([dict(id=1, qty=1), dict(id=2, name='b', qty=2), dict(id=3, name=UNSET, qty=3)]) == 3
    assert [r['name'] for r in await edb.fetch("SELECT name FROM bulk ORDER BY id")] == ['anon', 'b', 'anon']


async def test_scope_columns_are_set(edb):
    t = await _table(edb)
    t.xtra(uid=7)
    assert await t.inserts([dict(id=i, qty=i) for i in range(3)]) == 3
    t.xtra()
    assert await edb.fetchval("SELECT count(*) FROM bulk WHERE uid = 7") == 3


async def test_rows_of_another_shape_after_the_first_take_the_general_path(edb):
    # The first rows share one shape (the COPY starts with them); a later row lacks a key, one
    # has another, one holds UNSET: every row is written, defaults where a key is missing.
    t = await _table(edb)
    rows = [dict(id=i, name=f'n{i}', qty=i) for i in range(3_000)]
    rows += [dict(id=3_000, qty=1), dict(id=3_001, name='x', qty=2, uid=5), dict(id=3_002, name=UNSET, qty=3)]
    rows += [dict(id=i, name=f'n{i}', qty=i) for i in range(3_003, 5_000)]
    assert await t.inserts(rows) == 5_000
    got = {r['id']: (r['name'], r['uid']) for r in await edb.fetch("SELECT id, name, uid FROM bulk WHERE id >= 2999 AND id <= 3003")}
    assert got == {2999: ('n2999', None), 3000: ('anon', None), 3001: ('x', 5), 3002: ('anon', None), 3003: ('n3003', None)}
    assert await edb.fetchval("SELECT count(*) FROM bulk") == 5_000


async def test_another_shape_inside_a_transaction_keeps_the_transaction(edb):
    t = await _table(edb)
    async with edb.transaction():
        await edb.execute("INSERT INTO bulk (id, qty) VALUES (-1, 0)")
        assert await t.inserts([dict(id=1, name='a', qty=1), dict(id=2, qty=2)]) == 2
        assert await edb.fetchval("SELECT count(*) FROM bulk") == 3
    assert await edb.fetchval("SELECT name FROM bulk WHERE id = 2") == 'anon'


async def test_a_row_that_is_not_a_dict_is_named(edb):
    t = await _table(edb)
    with pytest.raises(Exception) as e:
        await t.inserts([dict(id=1, qty=1), 42])
    assert 'row 2' in str(e.value), str(e.value)
    assert await edb.fetchval("SELECT count(*) FROM bulk") == 0
