"""Values follow asyncpg's type mapping, both ways: as query results, as parameters, and through
a table (insert, then get by primary key).

Each case is (SQL type, SQL literal, Python value): the literal cast to the type must come back
as the value (`SELECT (<literal>)::<type>`), the value sent as `$1::<type>` must come back equal,
and must be accepted by the server as equal to the literal (`$1::<type> = <literal>::<type>`,
so the value really was bound as that type, not as text that happens to print the same).
"""
import json
import datetime
import ipaddress
import math
import uuid
from decimal import Decimal

import pytest

from fastasyncpg import DataError

UTC = datetime.timezone.utc
PLUS2 = datetime.timezone(datetime.timedelta(hours=2))

CASES = [
    # integers
    ("int2", "32767", 32767),
    ("int2", "-32768", -32768),
    ("int4", "-2147483648", -2147483648),
    ("int4", "42", 42),
    ("int8", "9223372036854775807", 9223372036854775807),
    ("int8", "-9223372036854775808", -9223372036854775808),
    # floats
    ("float8", "0.1", 0.1),
    ("float8", "-1.5e300", -1.5e300),
    ("float8", "'Infinity'", math.inf),
    ("float4", "1.5", 1.5),
    ("float4", "-0.25", -0.25),
    # exact numeric
    ("numeric", "12345.6789", Decimal("12345.6789")),
    ("numeric", "0.10", Decimal("0.10")),
    ("numeric", "-0.000001", Decimal("-0.000001")),
    ("numeric", "123456789012345678901234567890.123456789", Decimal("123456789012345678901234567890.123456789")),
    ("numeric(10,2)", "0.99", Decimal("0.99")),
    # text
    ("text", "'héllo wörld ✓ 🐘'", "héllo wörld ✓ 🐘"),
    ("text", "''", ""),
    ("varchar(20)", "'abc'", "abc"),
    ("bpchar", "'x'", "x"),
    ("name", "'pg_class'", "pg_class"),
    # bytea, bool
    ("bytea", "'\\x0001ff'", b"\x00\x01\xff"),
    ("bytea", "''", b""),
    ("bool", "true", True),
    ("bool", "false", False),
    # date and time
    ("date", "'2024-02-29'", datetime.date(2024, 2, 29)),
    ("time", "'12:34:56.789'", datetime.time(12, 34, 56, 789000)),
    ("timestamp", "'2024-01-02 03:04:05.000006'", datetime.datetime(2024, 1, 2, 3, 4, 5, 6)),
    ("timestamptz", "'2024-01-02 03:04:05+00'", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("timestamptz", "'2024-06-30 23:59:59.5+02'", datetime.datetime(2024, 6, 30, 23, 59, 59, 500000, tzinfo=PLUS2)),
    ("interval", "'1 day 01:00:00.000005'", datetime.timedelta(days=1, hours=1, microseconds=5)),
    ("interval", "'-00:00:01.5'", datetime.timedelta(seconds=-1.5)),
    # uuid
    ("uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
    # json / jsonb: decoded
    ("jsonb", """'{"a": [1, 2.5, {"b": null}], "c": "d", "e": true}'""", {"a": [1, 2.5, {"b": None}], "c": "d", "e": True}),
    ("json", """'[1, "two", null]'""", [1, "two", None]),
    ("jsonb", "'\"just a string\"'", "just a string"),
    ("jsonb", "'12345678901234567890'", 12345678901234567890),
    # network
    ("inet", "'192.168.0.1'", ipaddress.IPv4Address("192.168.0.1")),
    ("inet", "'2001:db8::1'", ipaddress.IPv6Address("2001:db8::1")),
    ("inet", "'192.168.0.1/24'", ipaddress.IPv4Interface("192.168.0.1/24")),
    ("cidr", "'10.0.0.0/8'", ipaddress.IPv4Network("10.0.0.0/8")),
    ("cidr", "'2001:db8::/32'", ipaddress.IPv6Network("2001:db8::/32")),
    # arrays
    ("int4[]", "'{1,NULL,3}'", [1, None, 3]),
    ("int4[]", "'{}'", []),
    ("int4[]", "'{{1,2},{3,4}}'", [[1, 2], [3, 4]]),
    ("text[]", """'{"a","b c",NULL,"d,e"}'""", ["a", "b c", None, "d,e"]),
    ("int8[]", "'{9223372036854775807}'", [9223372036854775807]),
    ("float8[]", "'{1.5,-2}'", [1.5, -2.0]),
    ("numeric[]", "'{1.10,NULL}'", [Decimal("1.10"), None]),
    ("uuid[]", "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'", [uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")]),
    ("bool[]", "'{t,f}'", [True, False]),
    ("date[]", "'{2024-01-01}'", [datetime.date(2024, 1, 1)]),
]


def _id(case):
    return f"{case[0]}:{case[1][:24]}"


def same(got, want):
    """Equal, and of the same Python type (True is not 1, Decimal is not float...)."""
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
    if isinstance(want, dict):
        return isinstance(got, dict) and got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    if type(got) is not type(want):
        return False
    if isinstance(want, Decimal):
        return str(got) == str(want)  # the scale too: Decimal('0.10') is not Decimal('0.1')
    if isinstance(want, datetime.datetime):
        return got == want and (got.tzinfo is None) == (want.tzinfo is None)
    return got == want


@pytest.mark.parametrize("typ,lit,val", CASES, ids=[_id(c) for c in CASES])
async def test_result(edb, typ, lit, val):
    got = await edb.fetchval(f"SELECT ({lit})::{typ}")
    assert same(got, val), (typ, lit, got, val)


@pytest.mark.parametrize("typ,lit,val", CASES, ids=[_id(c) for c in CASES])
async def test_parameter(edb, typ, lit, val):
    if typ.startswith("json") and isinstance(val, str):
        # A str bound to json/jsonb is JSON source text (README, "From Python"): plain text is an
        # error naming the parameter, and a JSON string is sent as its JSON text.
        with pytest.raises(DataError, match=r"\$1"):
            await edb.fetchval(f"SELECT $1::{typ}", val)
        val_json = json.dumps(val)
        assert await edb.fetchval(f"SELECT $1::{typ}", val_json) == val
        return
    got = await edb.fetchval(f"SELECT $1::{typ}", val)
    assert same(got, val), (typ, got, val)
    if not typ.startswith("json"):  # json has no equality operator
        assert await edb.fetchval(f"SELECT $1::{typ} = ({lit})::{typ}", val) is True
    else:
        assert await edb.fetchval(f"SELECT $1::jsonb = ({lit})::jsonb", val) is True


async def test_float4_is_a_python_float(edb):
    # SPEC 10.13: float4 comes back as a Python float close to the value
    v = await edb.fetchval("SELECT 0.1::float4")
    assert isinstance(v, float) and abs(v - 0.1) < 1e-6
    v = await edb.fetchval("SELECT $1::float4", 3.14159)
    assert isinstance(v, float) and abs(v - 3.14159) < 1e-5
    await edb.execute("CREATE TABLE f (id int PRIMARY KEY, w real)")
    await edb.refresh()
    r = await edb.t.f.insert(id=1, w=6)
    assert isinstance(r['w'], float) and r['w'] == 6.0


async def test_special_floats_and_numerics(edb):
    assert math.isnan(await edb.fetchval("SELECT 'NaN'::float8"))
    assert await edb.fetchval("SELECT '-Infinity'::float4") == -math.inf
    n = await edb.fetchval("SELECT 'NaN'::numeric")
    assert isinstance(n, Decimal) and n.is_nan()
    assert math.isnan(await edb.fetchval("SELECT $1::float8", math.nan))
    assert (await edb.fetchval("SELECT $1::numeric", Decimal("NaN"))).is_nan()
    # Python ints and floats go into numeric exactly
    assert await edb.fetchval("SELECT $1::numeric", 10 ** 30) == Decimal(10 ** 30)
    # an int goes into bigint and numeric columns (assignment casts)
    assert await edb.fetchval("SELECT $1::int8 + 1", 2 ** 40) == 2 ** 40 + 1


async def test_timestamptz_is_aware(edb):
    v = await edb.fetchval("SELECT now()")
    assert isinstance(v, datetime.datetime) and v.tzinfo is not None
    assert abs((v - datetime.datetime.now(UTC)).total_seconds()) < 60
    naive = await edb.fetchval("SELECT localtimestamp")
    assert isinstance(naive, datetime.datetime) and naive.tzinfo is None
    # an aware datetime is the same instant whatever its zone
    t = datetime.datetime(2024, 1, 1, 12, 0, tzinfo=PLUS2)
    assert await edb.fetchval("SELECT $1::timestamptz = '2024-01-01 10:00:00+00'", t) is True


async def test_null(edb):
    for typ in ("int4", "text", "numeric", "jsonb", "uuid", "timestamptz", "int4[]", "bytea", "inet", "bool"):
        assert await edb.fetchval(f"SELECT NULL::{typ}") is None, typ
        assert await edb.fetchval(f"SELECT $1::{typ}", None) is None, typ
        assert await edb.fetchval(f"SELECT $1::{typ} IS NULL", None) is True, typ


async def test_enums(edb):
    await edb.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
    assert await edb.fetchval("SELECT 'ok'::mood") == "ok"
    assert type(await edb.fetchval("SELECT 'ok'::mood")) is str
    assert await edb.fetchval("SELECT $1::mood", "happy") == "happy"
    assert await edb.fetchval("SELECT ARRAY['sad', 'ok']::mood[]") == ["sad", "ok"]
    assert await edb.fetchval("SELECT $1::mood[]", ["happy", None]) == ["happy", None]
    await edb.execute("CREATE TABLE person (id serial PRIMARY KEY, m mood, ms mood[])")
    await edb.refresh()
    p = await edb.t.person.insert(m="happy", ms=["sad", "happy"])
    assert p['m'] == "happy" and p['ms'] == ["sad", "happy"]
    assert (await edb.t.person[p['id']])['m'] == "happy"


async def test_ranges(edb):
    r = await edb.fetchval("SELECT '[1,10)'::int4range")
    assert (r.lower, r.upper, r.lower_inc, r.upper_inc) == (1, 10, True, False)
    assert not r.isempty
    e = await edb.fetchval("SELECT 'empty'::int4range")
    assert e.isempty
    d = await edb.fetchval("SELECT '[2024-01-01,2024-02-01)'::daterange")
    assert d.lower == datetime.date(2024, 1, 1) and d.upper == datetime.date(2024, 2, 1)
    u = await edb.fetchval("SELECT '(,5]'::int4range")
    assert u.lower is None and u.upper == 6 and not u.upper_inc  # canonical form [,6)
    # a range goes back as a parameter
    assert await edb.fetchval("SELECT $1::int4range = '[1,10)'::int4range", r) is True


async def test_composite_and_unknown_types_do_not_crash(edb):
    v = await edb.fetchval("SELECT ROW(1, 'a')")
    assert v is not None
    assert await edb.fetchval("SELECT '(1,2)'::point") is not None
    assert await edb.fetchval("SELECT 'a fat cat'::tsvector") is not None


async def test_table_round_trip(edb):
    """Every mapped type through a table: t.insert(values) then t[pk] gives the values back."""
    await edb.execute("CREATE TYPE color AS ENUM ('red', 'green')")
    await edb.execute("""
        CREATE TABLE everything (
            id serial PRIMARY KEY,
            i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, num numeric(12, 3), t text, vc varchar(10),
            bin bytea, b bool, d date, tm time, ts timestamp, tstz timestamptz, iv interval, u uuid,
            j json, jb jsonb, ip inet, net cidr, ia int4[], ta text[], ia2 int4[][], col color,
            r int4range
        )""")
    await edb.refresh()
    t = edb.t.everything
    vals = dict(
        i2=-7, i4=123456, i8=2 ** 62, f8=2.5, num=Decimal("1234.500"), t="tëxt", vc="short",
        bin=b"\x00\xff", b=True, d=datetime.date(1999, 12, 31), tm=datetime.time(23, 59, 59, 999999),
        ts=datetime.datetime(2000, 1, 1, 0, 0, 0, 1), tstz=datetime.datetime(2020, 5, 17, 8, 30, tzinfo=UTC),
        iv=datetime.timedelta(days=3, seconds=7), u=uuid.UUID(int=12345),
        j={"k": [1, "v"]}, jb={"nested": {"x": None}}, ip=ipaddress.IPv6Address("::1"),
        net=ipaddress.IPv4Network("192.168.0.0/16"), ia=[1, None, 3], ta=["a", None], ia2=[[1, 2], [3, 4]],
        col="green",
    )
    row = await t.insert(f4=1.25, **vals)
    back = await t[row['id']]
    for k, v in vals.items():
        assert same(row[k], v), (k, row[k], v)
        assert same(back[k], v), (k, back[k], v)
    assert isinstance(back['f4'], float) and back['f4'] == 1.25
    assert back['r'] is None
    # a generated dataclass holds the same values
    cls = t.dataclass()
    obj = await t[row['id']]
    assert isinstance(obj, cls)
    assert same(obj.num, vals["num"]) and same(obj.tstz, vals["tstz"]) and same(obj.ia2, vals["ia2"])
    # and an update through the dataclass round-trips them unchanged
    obj.t = "changed"
    upd = await t.update(obj)
    assert upd.t == "changed" and same(upd.jb, vals["jb"]) and same(upd.ip, vals["ip"])


async def test_text_keys_and_values_in_every_width(edb):
    # ASCII, 2-, 3- and 4-byte UTF-8 as values and as column names, through a table and a
    # COPY; a lone surrogate (not encodable as UTF-8) is an error that names its column.
    await edb.execute('CREATE TABLE txt (id int PRIMARY KEY, "naïve 名" text)')
    await edb.refresh()
    t = edb.t.txt
    words = ['plain', 'héllo', '日本語', '🐘 and ✓', '']
    await t.insert({'id': 0, 'naïve 名': words[0]})
    assert (await t[0])['naïve 名'] == 'plain'
    assert await t.inserts([{'id': i + 1, 'naïve 名': w} for i, w in enumerate(words * 300)]) == 1500
    got = await edb.fetch('SELECT "naïve 名" FROM txt WHERE id BETWEEN 1 AND 5 ORDER BY id')
    assert [r[0] for r in got] == words
    with pytest.raises(Exception) as e:
        await t.insert({'id': -1, 'naïve 名': 'bad \ud800'})
    assert 'naïve 名' in str(e.value), str(e.value)
    assert await edb.fetchval('SELECT count(*) FROM txt WHERE id < 0') == 0
