"""Cancellation and task isolation, under asyncio's own event loop and under uvloop.

A cancelled await (``asyncio.wait_for`` timing out, ``task.cancel()``) must return promptly,
cancel the query on the server (gone from ``pg_stat_activity`` within a few seconds, checked
from a second connection: psql), leave the connection or pool usable, and roll back a
transaction it interrupts (no row written, no session left ``idle in transaction``).
Concurrent tasks with different ``xtra`` scopes on one table never see each other's scope.

The tests are plain functions that run each scenario on a new event loop of the chosen kind
(``asyncio.run`` / ``uvloop.run``), so the same code is checked under both.
"""
import asyncio
import time

import pytest

from fastasyncpg import NotFoundError, connect, create_pool

SLEEP = "SELECT pg_sleep(30)"
PROMPT = 3.0  # seconds a cancelled await may take to return
GONE = 5.0  # seconds the server may take to drop the cancelled query


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request):
    """Runs a coroutine to completion on a new loop of the parametrized kind."""
    if request.param == "uvloop":
        import uvloop  # a missing uvloop fails the test: it is a test dependency

        return uvloop.run
    return asyncio.run


async def observe(pg, url, sql):
    return await asyncio.to_thread(pg.sql, url, sql)


async def sleepers(pg, url):
    """Sessions of this database running the pg_sleep(30) query right now."""
    rows = await observe(pg, url, (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
        "AND query LIKE '%pg_sleep(30)%' AND query NOT LIKE '%pg_stat_activity%'"))
    return int(rows[0][0])


async def idle_in_tx(pg, url):
    """States of this database's sessions that are idle in a transaction."""
    rows = await observe(pg, url, (
        "SELECT state FROM pg_stat_activity WHERE datname = current_database() "
        "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"))
    return [r[0] for r in rows]


async def eventually(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        if await pred():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.05)


async def assert_query_gone(pg, url):
    async def gone():
        return await sleepers(pg, url) == 0
    await eventually(gone, GONE, "the cancelled pg_sleep(30) is gone from pg_stat_activity")


async def assert_no_idle_in_tx(pg, url):
    async def none():
        return await idle_in_tx(pg, url) == []
    await eventually(none, GONE, "no session idle in transaction")
    await asyncio.sleep(0.3)
    assert await idle_in_tx(pg, url) == [], "a session went back to idle in transaction"


async def open_db(url, pool):
    return await (create_pool(url, min_size=1, max_size=2) if pool else connect(url))


# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pool", [False, True], ids=["conn", "pool"])
def test_wait_for_timeout_cancels_query(run, pg, chinook, pool):
    async def scenario():
        db = await open_db(chinook.url, pool)
        t0 = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(db.fetchval(SLEEP), 0.5)
        assert time.monotonic() - t0 < PROMPT
        await assert_query_gone(pg, chinook.url)
        assert await db.fetchval("SELECT 1") == 1
        assert await db.fetchval("SELECT $1::int4 + 1", 41) == 42
        assert await db.t.artist.count == 275
        # and again: a connection that was cancelled once can be cancelled again
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(db.fetchval(SLEEP), 0.3)
        await assert_query_gone(pg, chinook.url)
        assert await db.fetchval("SELECT 2") == 2
        await db.close()
    run(scenario())


@pytest.mark.parametrize("pool", [False, True], ids=["conn", "pool"])
def test_task_cancel_cancels_query(run, pg, chinook, pool):
    async def scenario():
        db = await open_db(chinook.url, pool)

        async def call():
            return await db.fetchval(SLEEP)

        for make in (lambda: asyncio.create_task(call()), lambda: asyncio.ensure_future(db.fetchval(SLEEP))):
            task = make()

            async def running():
                return await sleepers(pg, chinook.url) >= 1
            await eventually(running, 10, "the pg_sleep(30) query reaches the server")
            t0 = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert time.monotonic() - t0 < PROMPT
            await assert_query_gone(pg, chinook.url)
            assert await db.fetchval("SELECT count(*) FROM album") == 347
        await db.close()
    run(scenario())


def test_cancel_inside_transaction_rolls_back(run, pg, chinook):
    async def scenario():
        db = await connect(chinook.url)
        await db.execute("CREATE TABLE cancel_t (id int PRIMARY KEY, note text)")

        async def in_query():
            async with db.transaction():
                await db.execute("INSERT INTO cancel_t VALUES (1, 'cancelled in a query')")
                await db.fetchval(SLEEP)

        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(in_query(), 0.5)
        await assert_query_gone(pg, chinook.url)
        await assert_no_idle_in_tx(pg, chinook.url)
        assert await observe(pg, chinook.url, "SELECT count(*) FROM cancel_t") == [["0"]]

        async def in_python():
            async with db.transaction():
                await db.execute("INSERT INTO cancel_t VALUES (2, 'cancelled at a Python await')")
                await asyncio.sleep(30)

        task = asyncio.create_task(in_python())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await assert_no_idle_in_tx(pg, chinook.url)
        assert await observe(pg, chinook.url, "SELECT count(*) FROM cancel_t") == [["0"]]

        # the connection is usable, in and out of transactions
        assert await db.execute("INSERT INTO cancel_t VALUES (3, 'autocommit')") == "INSERT 0 1"
        async with db.transaction():
            await db.execute("INSERT INTO cancel_t VALUES (4, 'committed')")
        assert await observe(pg, chinook.url, "SELECT id FROM cancel_t ORDER BY id") == [["3"], ["4"]]
        assert await db.fetchval("SELECT count(*) FROM cancel_t") == 2
        await db.close()
    run(scenario())


def test_cancel_inside_pooled_transaction_rolls_back(run, pg, chinook):
    async def scenario():
        db = await create_pool(chinook.url, min_size=1, max_size=1)
        await db.execute("CREATE TABLE cancel_p (id int PRIMARY KEY)")

        async def work():
            async with db.acquire() as conn:
                async with conn.transaction():
                    await conn.execute("INSERT INTO cancel_p VALUES (1)")
                    await conn.fetchval(SLEEP)

        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(work(), 0.5)
        await assert_query_gone(pg, chinook.url)
        await assert_no_idle_in_tx(pg, chinook.url)
        assert await observe(pg, chinook.url, "SELECT count(*) FROM cancel_p") == [["0"]]
        # the pool's only connection came back clean
        assert await db.execute("INSERT INTO cancel_p VALUES (2)") == "INSERT 0 1"
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM cancel_p") == 1
        await db.close()
    run(scenario())


# ---------------------------------------------------------------------------------------------
# xtra scopes are per task
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pool", [False, True], ids=["conn", "pool"])
def test_concurrent_xtra_scopes_do_not_leak(run, chinook, pool):
    async def scenario():
        db = await open_db(chinook.url, pool)
        album = db.t.album
        expected = {aid: await db.fetchval("SELECT count(*) FROM album WHERE artist_id = $1", aid)
                    for aid in (1, 22, 90)}
        assert expected[1] == 2 and expected[90] > 2

        async def scoped(aid):
            album.xtra(artist_id=aid)
            for _ in range(10):
                await asyncio.sleep(0)  # let the other tasks set their scopes in between
                rows = await album()
                assert {r['artist_id'] for r in rows} == {aid}
                assert len(rows) == expected[aid]
                assert await album.count == expected[aid]
                if aid == 1:
                    assert (await album.get(1))['album_id'] == 1
                else:
                    assert await album.get(1) is None
                    with pytest.raises(NotFoundError):
                        await album[1]
            return aid

        async def unscoped():
            for _ in range(10):
                await asyncio.sleep(0)
                assert await album.count == 347
                assert (await album[2])['album_id'] == 2

        done = await asyncio.gather(scoped(1), scoped(22), scoped(90), unscoped())
        assert done[:3] == [1, 22, 90]
        # nothing leaked back into this task
        assert await album.count == 347
        assert await db.t.album.count == 347
        await db.close()
    run(scenario())


def test_concurrent_xtra_inserts(run, chinook):
    async def scenario():
        db = await create_pool(chinook.url, min_size=1, max_size=3)
        await db.execute("CREATE TABLE pets (id serial PRIMARY KEY, name text, uid int)")
        await db.refresh()
        pets = db.t.pets

        async def tenant(uid):
            pets.xtra(uid=uid)
            for i in range(5):
                r = await pets.insert(name=f"pet {uid}.{i}")
                assert r['uid'] == uid
                await asyncio.sleep(0)
            rows = await pets()
            assert sorted(r['name'] for r in rows) == [f"pet {uid}.{i}" for i in range(5)]
            assert await pets.count == 5
            # a delete_where inside the scope only touches this tenant's rows
            gone = await pets.delete_where("name LIKE $1", ["pet %.0"])
            assert [r['uid'] for r in gone] == [uid]

        await asyncio.gather(*(tenant(u) for u in (1, 2, 3)))
        assert await pets.count == 12
        assert await db.fetchval("SELECT count(DISTINCT uid) FROM pets") == 3
        await db.close()
    run(scenario())


# --- how calls are driven (the runtime runs on the asyncio loop; see src/out.rs) ---------------

def test_driver_mode():
    """On Linux the runtime runs on the asyncio loop unless FASTASYNCPG_THREADS asks for worker
    threads (./dev pytest runs this file in both modes)."""
    import os
    import sys
    from fastasyncpg import _native
    if os.environ.get("FASTASYNCPG_THREADS"):
        assert _native.driver_mode() == "threads"
    elif sys.platform == "linux":
        assert _native.driver_mode() == "loop"


@pytest.mark.parametrize("pool", [False, True], ids=["conn", "pool"])
def test_command_timeout_fires_without_socket_activity(run, pg, chinook, pool):
    """`command_timeout` is a timer of the Rust runtime: it must fire although the server sends
    nothing while pg_sleep runs (the loop ticks the runtime while a call is pending)."""
    async def scenario():
        opts = dict(min_size=1, max_size=2) if pool else {}
        db = await (create_pool if pool else connect)(chinook.url, command_timeout=0.4, **opts)
        from fastasyncpg import QueryTimeoutError
        t0 = time.monotonic()
        with pytest.raises(QueryTimeoutError):
            await db.fetchval(SLEEP)
        assert 0.35 < time.monotonic() - t0 < PROMPT
        await assert_query_gone(pg, chinook.url)
        assert await db.fetchval("SELECT 3") == 3
        await db.close()
    run(scenario())


def test_one_database_across_loops_and_threads(pg, chinook):
    """A Database opened on one loop keeps working on the next loop (`asyncio.run` twice), and
    loops of two threads use one pool at the same time."""
    import threading
    import uvloop

    holder = {}

    async def open_it():
        holder["db"] = await create_pool(chinook.url, min_size=1, max_size=4)
        assert await holder["db"].fetchval("SELECT 1") == 1

    asyncio.run(open_it())

    async def work(tag):
        db = holder["db"]
        got = []
        for i in range(200):
            got.append(await db.fetchval("SELECT $1::int4 * 2", i))
        rows = await asyncio.gather(*(db.fetchval("SELECT count(*) FROM track WHERE album_id = $1", a)
                                      for a in range(1, 41)))
        assert got == [i * 2 for i in range(200)], tag
        assert sum(rows) == await db.fetchval("SELECT count(*) FROM track WHERE album_id <= 40"), tag
        return tag

    results, errors = [], []

    def in_thread(runner, tag):
        try:
            results.append(runner(work(tag)))
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=in_thread, args=(asyncio.run, "asyncio")),
               threading.Thread(target=in_thread, args=(uvloop.run, "uvloop"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(results) == ["asyncio", "uvloop"]
    assert asyncio.run(work("again")) == "again"

    async def close():
        await holder["db"].close()
    asyncio.run(close())
