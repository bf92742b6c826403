"""Fixtures of the Python bindings' test suite.

- ``pg`` (session): a throwaway PostgreSQL server with the Chinook template, started by the
  ``fastasyncpg-test-server`` binary (path in ``FASTASYNCPG_TEST_SERVER``, else
  ``cargo run -q -p fastasyncpg-testing --bin fastasyncpg-test-server``; with ``DATABASE_URL`` set
  the binary uses that server instead). The binary lives as long as this process: closing its
  stdin stops it, and the server with it.
- ``chinook`` / ``empty``: a fresh database of each test's own (a copy of the Chinook template /
  an empty one), dropped afterwards. Tests never share a database, so they can run in any order
  and in parallel (``pytest -n auto`` with pytest-xdist: each worker has its own server).
- ``db`` / ``edb``: a ``fastasyncpg.connect(...)`` Database on ``chinook`` / ``empty``.

Admin work (CREATE/DROP DATABASE, observing ``pg_stat_activity``) goes through ``psql``, not the
bindings, so that a defect of the bindings cannot hide itself. Nothing here skips: a missing
component (the server binary, psql, the extension module) fails the tests.
"""
from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _check_binding():
    """The imported `fastasyncpg` must be the Rust bindings, not fastasyncpg 0.1.0 from PyPI."""
    try:
        import fastasyncpg
        import fastasyncpg._native  # noqa: F401
    except ImportError as e:
        pytest.fail(
            "cannot import the Rust bindings (fastasyncpg._native): build them with "
            "`cd crates/fastasyncpg-py && maturin develop` in this venv: " + repr(e),
            pytrace=False,
        )
    return fastasyncpg


@dataclass
class DbInfo:
    """One test's database."""

    name: str
    url: str
    user: str
    host: str
    port: int


class Server:
    """The running test server (from the binary's JSON line) and admin helpers."""

    def __init__(self, info: dict):
        self.info = info
        self.admin_url: str = info["admin_url"]
        self.template: str = info["chinook_template"]
        self.host: str = info["host"]
        self.port: int = int(info["port"])
        self.user: str = info["user"]
        self.psql = self._find_psql(info.get("bin_dir"))
        self._counter = itertools.count()
        self.version = int(self.sql(self.admin_url, "SHOW server_version_num")[0][0])

    @staticmethod
    def _find_psql(bin_dir):
        cands = []
        if bin_dir:
            cands.append(Path(bin_dir) / "psql")
        w = shutil.which("psql")
        if w:
            cands.append(Path(w))
        cands += sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"), reverse=True)
        for c in cands:
            if c.is_file() and os.access(c, os.X_OK):
                return str(c)
        pytest.fail("psql not found (needed for the tests' admin queries)", pytrace=False)

    def url(self, dbname: str) -> str:
        return self.info["db_url_template"].replace(self.info["db_placeholder"], dbname)

    def sql(self, url: str, sql: str, timeout: float = 60):
        """Runs `sql` with psql; returns the rows as lists of strings (NULL as '')."""
        r = subprocess.run(
            [self.psql, "-X", "-q", "-A", "-t", "-F", "\x1f", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"},
        )
        if r.returncode != 0:
            raise RuntimeError(f"psql: {sql}: {r.stderr.strip()}")
        return [line.split("\x1f") for line in r.stdout.splitlines() if line != ""]

    def unique_name(self, hint: str) -> str:
        hint = re.sub(r"[^a-z0-9_]", "_", hint.lower())[:30].strip("_") or "t"
        return f"py_{os.getpid()}_{next(self._counter)}_{hint}"

    def create_db(self, hint: str, template: str | None) -> DbInfo:
        name = self.unique_name(hint)
        sql = f'CREATE DATABASE "{name}"'
        if template:
            sql += f' TEMPLATE "{template}"'
            if self.version >= 150000:
                sql += " STRATEGY FILE_COPY"
        deadline = time.monotonic() + 60
        while True:
            try:
                self.sql(self.admin_url, sql)
                break
            except RuntimeError as e:
                # Another process (or a just-closed connection) is on the template.
                if "is being accessed by other users" in str(e) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise
        return DbInfo(name=name, url=self.url(name), user=self.user, host=self.host, port=self.port)

    def drop_db(self, name: str):
        try:
            self.sql(self.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception as e:  # noqa: BLE001 - best effort: the server is thrown away anyway
            print(f"warning: could not drop {name}: {e}", file=sys.stderr)


@pytest.fixture(scope="session")
def pg():
    _check_binding()
    exe = os.environ.get("FASTASYNCPG_TEST_SERVER")
    argv = [exe] if exe else ["cargo", "run", "-q", "-p", "fastasyncpg-testing", "--bin", "fastasyncpg-test-server"]
    err = tempfile.TemporaryFile(mode="w+")
    try:
        proc = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
    except OSError as e:
        pytest.fail(f"cannot start the test server {argv}: {e}", pytrace=False)
    line = proc.stdout.readline()
    info = None
    try:
        info = json.loads(line) if line.strip() else None
    except ValueError:
        pass
    if not info or "error" in info:
        proc.stdin.close()
        proc.wait(timeout=60)
        err.seek(0)
        pytest.fail(
            f"the test server {argv} did not start: {info.get('error') if info else line!r}\n{err.read()[-4000:]}",
            pytrace=False,
        )
    try:
        yield Server(info)
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def chinook(pg, request):
    """A fresh copy of the Chinook database, this test's own."""
    d = pg.create_db(request.node.name, pg.template)
    yield d
    pg.drop_db(d.name)


@pytest.fixture
def empty(pg, request):
    """A fresh empty database, this test's own."""
    d = pg.create_db(request.node.name, None)
    yield d
    pg.drop_db(d.name)


@pytest.fixture
async def db(chinook):
    """`fastasyncpg.connect()` on this test's Chinook copy."""
    fa = _check_binding()
    d = await fa.connect(chinook.url)
    yield d
    try:
        await d.close()
    except Exception:  # noqa: BLE001 - a test may have closed it already
        pass


@pytest.fixture
async def edb(empty):
    """`fastasyncpg.connect()` on this test's empty database."""
    fa = _check_binding()
    d = await fa.connect(empty.url)
    yield d
    try:
        await d.close()
    except Exception:  # noqa: BLE001
        pass
