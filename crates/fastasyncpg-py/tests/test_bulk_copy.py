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
