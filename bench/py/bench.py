#!/usr/bin/env python3
"""Python implementations of fastasyncpg's benchmark: the Python bindings (fastasyncpg-rs) and
the Python peers asyncpg, psqlpy and fastasyncpg 0.1.0 (the original Python library).

    bench.py --params '{"workload": "w1", "impl": "asyncpg", "url": "...", "n": 1000, ...}'
    bench.py --versions

Runs one measurement (connect, warm up, then time only the workload) and prints one JSON line:
{"ok": true, "value": ..., "unit": ..., "extra": {...}} or {"ok": false, "na"|"error": ...}.
Parameters are those of `fab one` (bench/src/params.rs). Implementations: `asyncpg`,
`asyncpg-copy` (W4 copy_records_to_table; W9–W11 use asyncpg's COPY and cursor),
`fastasyncpg-py` (fastasyncpg 0.1.0 from PyPI), `fastasyncpg-rs-py` (this project's Python
bindings, crates/fastasyncpg-py; `fastasyncpg-rs-py-table` is its W1 through `t[pk]`) and
`psqlpy` (W4: its copy_records_to_table). Every one runs on uvloop when it is installed.

fastasyncpg 0.1.0 patches asyncpg's Connection on import, so it is imported only when measuring
it: each measurement runs in a process of its own. The bindings have the same import name
(`fastasyncpg`) as 0.1.0, so `bench/run` installs their wheel into a directory of its own,
`bench/.venv/fastasyncpg-rs` (`pip install --target`), which only their measurements put first
on `sys.path`.
"""
import os
import argparse
import asyncio
import json
import random
import socket
import sys
import time

SQL_W1 = "SELECT abalance FROM pgbench_accounts WHERE aid = $1"
SQL_W1T = "SELECT aid, bid, abalance, filler FROM pgbench_accounts WHERE aid = $1"
SQL_W3 = "SELECT aid, bid, abalance, filler FROM pgbench_accounts WHERE aid BETWEEN $1 AND $2"
SQL_W7 = ("SELECT g AS id, g % 1000 AS qty, 'name ' || g AS name, 'note for row number ' || g AS note "
          "FROM generate_series(1, $1::int4) AS g")
DDL_W4 = "CREATE TABLE IF NOT EXISTS bench_insert (id bigint PRIMARY KEY, name text NOT NULL, qty integer NOT NULL, note text)"
DDL_W5 = "CREATE TABLE IF NOT EXISTS bench_upsert (id bigint PRIMARY KEY, name text NOT NULL, qty integer NOT NULL, note text)"
SQL_INSERT = "INSERT INTO bench_insert (id, name, qty, note) VALUES ($1, $2, $3, $4)"
SQL_UPSERT = ("INSERT INTO bench_upsert (id, name, qty, note) VALUES ($1, $2, $3, $4) "
              "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, qty = EXCLUDED.qty, note = EXCLUDED.note")
SQL_W11 = "SELECT id, name, qty, note FROM bench_copy_src WHERE id <= $1"
DDL_W10 = "CREATE TABLE IF NOT EXISTS bench_load (id bigint, name text NOT NULL, qty integer NOT NULL, note text)"
W11_PREFETCH = 50
COLS = ["id", "name", "qty", "note"]


def sql_w9(rows):
    """The query W9 copies out (the same text as the Rust peers and psql)."""
    return f"SELECT id, name, qty, note FROM bench_copy_src WHERE id <= {rows}"


class NA(Exception):
    """Not applicable / unavailable."""


def emit(d):
    print(json.dumps(d))
    sys.stdout.flush()


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def cpu_ns():
    """On-CPU time of this process so far (ns): the sum of /proc/self/task/*/schedstat."""
    import os
    total = 0
    for t in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def with_cpu(out, cpu, count):
    if cpu > 0 and count > 0:
        out.setdefault("extra", {})["cpu_us_per_op"] = cpu / 1000 / count
    return out


def reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def proxy_count(ctl):
    if not ctl:
        return None
    host, port = ctl.rsplit(":", 1)
    with socket.create_connection((host, int(port))) as s:
        data = b""
        while True:
            b = s.recv(64)
            if not b:
                break
            data += b
    return int(data.decode().strip())


def records(n, tag):
    return [(i, f"{tag} name {i}", i % 1000, None if i % 10 == 0 else f"note {i}") for i in range(1, n + 1)]


def import_asyncpg():
    try:
        import asyncpg
        return asyncpg
    except ImportError as e:
        raise NA(f"unavailable (asyncpg not installed: {e})")


RS = "fastasyncpg-rs-py"
RS_TABLE = "fastasyncpg-rs-py-table"
RS_IMPLS = (RS, RS_TABLE)
# impls that take rows as dicts for the table API's bulk calls
DICT_IMPLS = ("fastasyncpg-py",) + RS_IMPLS


def rs_dir():
    return os.environ.get("FAB_RS_PY_DIR") or os.path.join(sys.prefix, "fastasyncpg-rs")


def import_rs():
    """The Rust bindings (not fastasyncpg 0.1.0, which has the same import name)."""
    d = rs_dir()
    if not os.path.isdir(d):
        raise NA(f"unavailable (the bindings' wheel is not installed in {d}: bench/run builds it)")
    sys.path.insert(0, d)
    try:
        import fastasyncpg
        import fastasyncpg._native  # noqa: F401 - fails for fastasyncpg 0.1.0
        return fastasyncpg
    except ImportError as e:
        raise NA(f"unavailable (the bindings do not import: {e})")


# psqlpy cannot decode bpchar (pgbench_accounts.filler is char(84)): its documented way out is a
# custom decoder for the column.
PSQLPY_DECODERS = {"filler": lambda b: b.decode()}


def import_psqlpy():
    try:
        import psqlpy
        return psqlpy
    except ImportError as e:
        raise NA(f"unavailable (psqlpy not installed: {e})")


def import_fa():
    try:
        import fastasyncpg.core as fa
        return fa
    except ImportError as e:
        raise NA(f"unavailable (fastasyncpg 0.1.0 not installed: {e})")


async def connect_impl(p):
    """(kind, handle): an asyncpg connection or a fastasyncpg-0.1.0 Database on one connection."""
    if p["impl"] in ("asyncpg", "asyncpg-copy"):
        asyncpg = import_asyncpg()
        return "asyncpg", await asyncpg.connect(p["url"])
    if p["impl"] == "fastasyncpg-py":
        fa = import_fa()
        return "fa", await fa.connect(p["url"])
    if p["impl"] in RS_IMPLS:
        rs = import_rs()
        return "rs", await rs.connect(p["url"])
    if p["impl"] == "psqlpy":
        psqlpy = import_psqlpy()
        return "psqlpy", await psqlpy.connect(dsn=p["url"])
    raise NA(f"n/a (no Python implementation {p['impl']!r})")


class Budget:
    """`n` iterations, or until `seconds` have passed when seconds > 0."""

    def __init__(self, p, n=None, seconds=None):
        self.n = p["n"] if n is None else n
        secs = p.get("seconds", 0) if seconds is None else seconds
        self.deadline = time.perf_counter() + secs if secs > 0 else None

    def more(self, done):
        if self.deadline is None:
            return done < self.n
        return done == 0 or time.perf_counter() < self.deadline


async def seq_loop(p, get):
    """Warm up, then call `get(aid)` for the budget; returns (count, seconds)."""
    rng, nacc = random.Random(7), p["naccounts"]
    for _ in range(p["warmup"]):
        await get(rng.randint(1, nacc))
    c0, t0 = cpu_ns(), time.perf_counter()
    b, done = Budget(p), 0
    while b.more(done):
        await get(rng.randint(1, nacc))
        done += 1
    return done, time.perf_counter() - t0, cpu_ns() - c0


async def w1(p):
    kind, c = await connect_impl(p)
    if kind == "asyncpg" or (kind == "rs" and p["impl"] == RS):
        async def get(aid):
            return await c.fetchval(SQL_W1, aid)
    elif kind == "rs":
        tbl = c.t.pgbench_accounts

        async def get(aid):
            return (await tbl[aid])["abalance"]
    elif kind == "psqlpy":
        async def get(aid):
            return await c.fetch_val(SQL_W1, [aid])
    else:
        async def get(aid):
            return (await c.q(SQL_W1, aid))[0][0]
    n, el, cpu = await seq_loop(p, get)
    return with_cpu({"value": n / el, "unit": "q/s"}, cpu, n)


async def w1t(p):
    kind, c = await connect_impl(p)
    out = {}
    if kind == "asyncpg":
        async def get(aid):
            r = await c.fetchrow(SQL_W1T, aid)
            return r["abalance"]
    elif kind == "rs":
        tbl = c.t.pgbench_accounts

        async def get(aid):
            r = await tbl[aid]
            return r["abalance"]
    elif kind == "psqlpy":
        async def get(aid):
            r = (await c.fetch_row(SQL_W1T, [aid])).result(custom_decoders=PSQLPY_DECODERS)
            return r["abalance"]
    else:
        if not c.t.pgbench_accounts.pks:
            # fastasyncpg 0.1.0 lists tables with NOT relname LIKE 'pg_%', which hides every
            # pgbench_* table; give it the primary key it would have found.
            c._pks["pgbench_accounts"] = ["aid"]
            out["note"] = "0.1.0 hides tables matching LIKE 'pg_%'; primary key supplied by hand"
        tbl = c.t.pgbench_accounts

        async def get(aid):
            r = await tbl.get(aid)
            return r["abalance"]
    n, el, cpu = await seq_loop(p, get)
    return with_cpu({"value": n / el, "unit": "q/s", **out}, cpu, n)


async def w2(p):
    size, tasks, nacc = p["pool"], p["tasks"], p["naccounts"]
    if p["impl"] == "asyncpg":
        asyncpg = import_asyncpg()
        pool = await asyncpg.create_pool(p["url"], min_size=size, max_size=size)

        async def get(aid):
            return await pool.fetchval(SQL_W1, aid)
    elif p["impl"] == "fastasyncpg-py":
        fa = import_fa()
        db = await fa.create_pool(p["url"], min_size=size, max_size=size)

        async def get(aid):
            return (await db.q(SQL_W1, aid))[0][0]
    elif p["impl"] == RS:
        rs = import_rs()
        db = await rs.create_pool(p["url"], min_size=size, max_size=size)

        async def get(aid):
            return await db.fetchval(SQL_W1, aid)
    elif p["impl"] == "psqlpy":
        psqlpy = import_psqlpy()
        pool = psqlpy.ConnectionPool(dsn=p["url"], max_db_pool_size=size)

        async def get(aid):
            async with pool.acquire() as conn:
                return await conn.fetch_val(SQL_W1, [aid])
    else:
        raise NA(f"n/a (no Python implementation {p['impl']!r})")

    async def worker(i, b):
        rng, done = random.Random(100 + i), 0
        while b.more(done):
            await get(rng.randint(1, nacc))
            done += 1
        return done

    async def run(b):
        c0, t0 = cpu_ns(), time.perf_counter()
        counts = await asyncio.gather(*(worker(i, b) for i in range(tasks)))
        return sum(counts), time.perf_counter() - t0, cpu_ns() - c0

    await run(Budget(p, n=max(1, p["warmup"] // tasks), seconds=0))
    n, el, cpu = await run(Budget(p, n=max(1, p["n"] // tasks)))
    return with_cpu({"value": n / el, "unit": "q/s"}, cpu, n)


async def w3(p):
    kind, c = await connect_impl(p)
    span, rng = p["rows"], random.Random(3)
    hi_max = max(1, p["naccounts"] - span)
    if kind in ("asyncpg", "rs"):
        async def fetch(lo):
            return len(await c.fetch(SQL_W3, lo, lo + span - 1))
    elif kind == "psqlpy":
        async def fetch(lo):
            return len((await c.fetch(SQL_W3, [lo, lo + span - 1])).result(custom_decoders=PSQLPY_DECODERS))
    else:
        async def fetch(lo):
            return len(await c.q(SQL_W3, lo, lo + span - 1))
    for _ in range(p["warmup"]):
        await fetch(rng.randint(1, hi_max))
    got, done = 0, 0
    c0, t0 = cpu_ns(), time.perf_counter()
    b = Budget(p)
    while b.more(done):
        got += await fetch(rng.randint(1, hi_max))
        done += 1
    el, cpu = time.perf_counter() - t0, cpu_ns() - c0
    if got != done * span:
        raise RuntimeError(f"fetched {got} rows, expected {done * span}")
    return with_cpu({"value": got / el, "unit": "rows/s"}, cpu, done)


async def admin_conn(p):
    asyncpg = import_asyncpg()
    return await asyncpg.connect(p["url"])


async def w4(p):
    admin = await admin_conn(p)
    await admin.execute(DDL_W4)
    recs = records(p["rows"], "w4")
    dicts = [dict(zip(COLS, r)) for r in recs] if p["impl"] in DICT_IMPLS else None
    total = 0.0
    for _ in range(p["n"]):
        await admin.execute("TRUNCATE bench_insert")
        kind, c = await connect_impl(p)
        t0 = time.perf_counter()
        if p["impl"] == "asyncpg":
            await c.executemany(SQL_INSERT, recs)
        elif p["impl"] == "asyncpg-copy":
            await c.copy_records_to_table("bench_insert", records=recs, columns=COLS)
        elif kind == "psqlpy":
            await c.copy_records_to_table("bench_insert", records=recs, columns=COLS)
        else:
            await c.t.bench_insert.inserts(dicts)
        total += time.perf_counter() - t0
        n = await admin.fetchval("SELECT count(*) FROM bench_insert")
        if n != p["rows"]:
            raise RuntimeError(f"inserted {n} rows, expected {p['rows']}")
    return {"value": p["n"] * p["rows"] / total, "unit": "rows/s"}


async def w5(p):
    admin = await admin_conn(p)
    await admin.execute(DDL_W5)
    recs = records(p["rows"], "w5")
    dicts = [dict(zip(COLS, r)) for r in recs] if p["impl"] in DICT_IMPLS else None
    lists = [list(r) for r in recs]
    total = 0.0
    for _ in range(p["n"]):
        await admin.execute(
            "TRUNCATE bench_upsert; INSERT INTO bench_upsert SELECT g, 'old ' || g, 0, NULL "
            f"FROM generate_series(1, {p['rows'] // 2}) g; ANALYZE bench_upsert")
        kind, c = await connect_impl(p)  # fastasyncpg 0.1.0 reads the primary key at connect
        t0 = time.perf_counter()
        if kind == "asyncpg":
            await c.executemany(SQL_UPSERT, recs)
        elif kind == "psqlpy":
            await c.execute_many(SQL_UPSERT, lists)
        else:
            await c.t.bench_upsert.upserts(dicts)
        total += time.perf_counter() - t0
        n = await admin.fetchval("SELECT count(*) FROM bench_upsert WHERE name LIKE 'w5 %'")
        if n != p["rows"]:
            raise RuntimeError(f"upserted {n} rows, expected {p['rows']}")
    return {"value": p["n"] * p["rows"] / total, "unit": "rows/s"}


async def w6(p):
    if p["impl"] not in ("fastasyncpg-py", RS):
        raise NA(f"n/a ({p['impl']} has no metadata API)")
    _, db = await connect_impl(p)  # connect() already refreshes once
    for _ in range(p["warmup"]):
        await db.refresh()
    c0 = proxy_count(p.get("proxy_ctl"))
    t0 = time.perf_counter()
    for _ in range(p["n"]):
        await db.refresh()
    el = time.perf_counter() - t0
    c1 = proxy_count(p.get("proxy_ctl"))
    out = {"value": el * 1000 / p["n"], "unit": "ms", "extra": {}}
    if c0 is not None and c1 is not None:
        out["extra"]["round_trips"] = (c1 - c0) / p["n"]
    return out


async def w7(p):
    kind, c = await connect_impl(p)
    n = p["rows"]
    if kind == "asyncpg":
        await c.fetch(SQL_W7, 10)
    else:
        await c.q(SQL_W7, 10)
    was_reset = reset_hwm()
    rss0, hwm0 = status_kb("VmRSS"), status_kb("VmHWM")
    count, sink = 0, 0
    t0 = time.perf_counter()
    if kind == "asyncpg":
        async with c.transaction():
            async for r in c.cursor(SQL_W7, n, prefetch=1000):
                sink += r[1] + len(r[2])
                count += 1
    else:
        # fastasyncpg 0.1.0 has no cursor API: q() materializes the result.
        for r in await c.q(SQL_W7, n):
            sink += r[1] + len(r[2])
            count += 1
    el = time.perf_counter() - t0
    if count != n:
        raise RuntimeError(f"streamed {count} rows, expected {n}")
    hwm1 = status_kb("VmHWM")
    base = rss0 if was_reset else hwm0
    return {"value": max(0, hwm1 - base) / 1024, "unit": "MB", "extra": {"rows_per_s": count / el}}


def asyncpg_only(p):
    if p["impl"] != "asyncpg":
        raise NA(f"n/a (no Python implementation {p['impl']!r})")


async def w9(p):
    asyncpg_only(p)
    _, c = await connect_impl(p)
    await c.execute("SELECT 1")
    path, n = p["file"], p["rows"]
    t0 = time.perf_counter()
    status = await c.copy_from_query(sql_w9(n), output=path)
    el = time.perf_counter() - t0
    import os
    with open(path, "rb") as f:
        lines = f.read().count(b"\n")
    os.remove(path)
    if lines != n or status != f"COPY {n}":
        raise RuntimeError(f"copied {lines} lines ({status}), expected {n}")
    return {"value": n / el, "unit": "rows/s"}


async def w10(p):
    asyncpg_only(p)
    admin = await admin_conn(p)
    await admin.execute(DDL_W10)
    await admin.execute("TRUNCATE bench_load")
    _, c = await connect_impl(p)
    await c.execute("SELECT 1")
    n = p["rows"]
    t0 = time.perf_counter()
    status = await c.copy_to_table("bench_load", source=p["file"], format="csv", header=True)
    el = time.perf_counter() - t0
    got = await admin.fetchval("SELECT count(*) FROM bench_load")
    if got != n or status != f"COPY {n}":
        raise RuntimeError(f"loaded {got} rows ({status}), expected {n}")
    return {"value": n / el, "unit": "rows/s"}


async def w11(p):
    asyncpg_only(p)
    _, c = await connect_impl(p)
    n = p["rows"]
    await c.fetch(SQL_W11, 10)
    count, sink = 0, 0
    t0 = time.perf_counter()
    async with c.transaction():
        async for r in c.cursor(SQL_W11, n, prefetch=W11_PREFETCH):
            sink += r[0] + r[2]
            count += 1
    el = time.perf_counter() - t0
    if count != n:
        raise RuntimeError(f"fetched {count} rows, expected {n}")
    return {"value": count / el, "unit": "rows/s"}


WORKLOADS = {"w1": w1, "w1t": w1t, "w2": w2, "w3": w3, "w4": w4, "w5": w5, "w6": w6, "w6c": w6, "w7": w7,
             "w9": w9, "w10": w10, "w11": w11}


def versions():
    import platform
    from importlib import metadata
    v = {"python": platform.python_version()}
    for pkg in ("asyncpg", "uvloop", "fastasyncpg", "psqlpy"):
        try:
            v[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            v[pkg] = "not installed"
    # the bindings' wheel, installed apart (see the module docs)
    try:
        dists = list(metadata.distributions(path=[rs_dir()]))
        v["fastasyncpg-rs"] = dists[0].version if dists else "not installed"
    except Exception:  # noqa: BLE001
        v["fastasyncpg-rs"] = "not installed"
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--params")
    ap.add_argument("--versions", action="store_true")
    a = ap.parse_args()
    if a.versions:
        emit(versions())
        return
    p = json.loads(a.params)
    fn = WORKLOADS.get(p["workload"])
    try:
        if fn is None:
            raise NA(f"n/a (no Python workload {p['workload']!r})")
        try:
            import uvloop
            loop_name = "uvloop"
            res = uvloop.run(fn(p))
        except ImportError:
            loop_name = "asyncio"
            res = asyncio.run(fn(p))
        out = {"ok": True, **res}
        if loop_name != "uvloop":
            out["note"] = "asyncio loop: uvloop unavailable"
        emit(out)
    except NA as e:
        emit({"ok": False, "na": str(e)})
    except Exception as e:  # noqa: BLE001 - reported, the run goes on
        emit({"ok": False, "error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
