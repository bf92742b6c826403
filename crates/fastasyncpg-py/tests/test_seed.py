"""The seed document (fastasyncpg 0.1.0's docs) run on the Rust bindings, in the document's order.

Each test is one section of the document, verbatim where Python allows, on a throwaway Chinook
database of its own (Chinook 1.4.5, `data/chinook/`); the expected values are the outputs the
document shows. Where the document's output depends on its author's machine (user, port, tables
left over from earlier sessions), the test's own values stand in for them.

Deliberate deviations from the original (SPEC.md section 10, "the original's known defects") are
marked `DEVIATION`: placeholders follow the Rust core's numbering rule (`$1` mixed with `?`
never gives two arguments one number), `limit=0` returns no rows, columns are checked to exist.
"""
import dataclasses
import datetime
import importlib
import sys
from decimal import Decimal

import pytest

import fastasyncpg
from fastasyncpg import NotFoundError, conv_placeholders, connect, create_pool


# ---------------------------------------------------------------------------------------------
# "Connecting with Python": execute / fetch / records / cursor in a transaction
# ---------------------------------------------------------------------------------------------

async def test_connecting_users_table(empty):
    conn = await connect(user=empty.user, database=empty.name, host=empty.host, port=empty.port)
    assert 'PostgreSQL' in await conn.fetchval('SELECT version()')

    await conn.execute('''DROP TABLE IF EXISTS users''')
    assert await conn.execute('''CREATE TABLE users ( id SERIAL PRIMARY KEY, name TEXT NOT NULL, age INTEGER )''') == 'CREATE TABLE'
    assert await conn.execute("INSERT INTO users (name, age) VALUES ($1, $2)", 'Alice', 30) == 'INSERT 0 1'

    rs = await conn.fetch("SELECT * FROM users")
    assert isinstance(rs, list) and len(rs) == 1
    r = rs[0]
    assert isinstance(r, fastasyncpg.FRecord)
    assert repr(r) == "<FRecord id=1 name='Alice' age=30>"
    # dict-like access by column name or index, and (FRecord) attribute access
    assert r['name'] == 'Alice' and r[0] == 1 and r[2] == 30
    assert r.name == 'Alice'
    assert dict(r) == {'id': 1, 'name': 'Alice', 'age': 30}

    seen = []
    async with conn.transaction():
        async for record in conn.cursor("SELECT * FROM users"):
            print(record)
            seen.append(record)
    assert [dict(x) for x in seen] == [{'id': 1, 'name': 'Alice', 'age': 30}]

    # The rest of the driver-level API the document relies on.
    await conn.executemany("INSERT INTO users (name, age) VALUES ($1, $2)", [('Bob', 40), ('Carol', None)])
    row = await conn.fetchrow("SELECT * FROM users WHERE name = $1", 'Carol')
    assert row['id'] == 3 and row['age'] is None
    assert await conn.fetchrow("SELECT * FROM users WHERE name = $1", 'nobody') is None
    assert await conn.fetchval("SELECT count(*) FROM users") == 3
    await conn.close()


async def test_chinook_count(chinook):
    conn = await connect(user=chinook.user, database=chinook.name, host=chinook.host, port=chinook.port)
    assert await conn.fetchval("SELECT count(*) FROM artist") == 275
    await conn.close()


# ---------------------------------------------------------------------------------------------
# "Metadata": Results, FRecord, connect, db.t, tables, columns
# ---------------------------------------------------------------------------------------------

async def test_results_and_frecord(db):
    res = await db.q("SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                     "WHERE table_name = 'artist' ORDER BY ordinal_position")
    assert isinstance(res, list) and type(res).__name__ == 'Results'
    assert isinstance(res, fastasyncpg.Results)
    assert [tuple(r) for r in res] == [('artist_id', 'integer', 'NO'), ('name', 'character varying', 'YES')]
    html = res._repr_html_()
    for cell in ('<table', '<th>column_name</th>', '<th>data_type</th>', '<th>is_nullable</th>',
                 '<td>artist_id</td>', '<td>character varying</td>', '<td>YES</td>'):
        assert cell in html, (cell, html)
    r = res[0]
    assert isinstance(r, fastasyncpg.FRecord)
    assert r.column_name == r['column_name'] == r[0] == 'artist_id'
    assert '<td>artist_id</td>' in r._repr_html_()
    # Results(...) is a plain list subclass
    assert fastasyncpg.Results([1, 2]) == [1, 2]


async def test_connect_and_tables(chinook):
    db = await connect(user=chinook.user, database=chinook.name, host='127.0.0.1', port=chinook.port)
    assert str(db) == f'postgresql://{chinook.user}@127.0.0.1:{chinook.port}/{chinook.name}'

    dt = db.t
    artist = dt.artist
    assert repr(artist) == 'Table "artist"'
    assert str(artist) == '"artist"'
    assert artist.name == 'artist'
    assert artist.pks == ['artist_id']

    two = dt['album', 'artist']
    assert [t.name for t in two] == ['album', 'artist']
    assert repr(two) == '[Table "album", Table "artist"]'
    assert dt['artist'].name == 'artist'

    printed = []
    for tbl in dt:
        if tbl.name[0] == 'a':
            print(tbl)
            printed.append(str(tbl))
    assert sorted(printed) == ['"album"', '"artist"']
    assert sorted(t.name for t in dt) == sorted(
        ['artist', 'album', 'employee', 'customer', 'invoice', 'invoice_line', 'track', 'playlist',
         'playlist_track', 'genre', 'media_type'])

    assert 'artist' in dt
    assert artist in dt
    assert 'foo' not in dt

    assert artist.cols == {'artist_id': 'integer', 'name': 'character varying(120)'}
    await db.close()


async def test_columns(db):
    artist = db.t.artist
    ac = artist.c
    assert repr(ac) == 'artist_id, name'
    assert str(ac.name) == '"artist"."name"'
    assert f"select {ac.name} ..." == 'select "artist"."name" ...'
    assert f"select {ac.name} from {artist}" == 'select "artist"."name" from "artist"'
    assert 'name' in ac
    assert ac.name in ac
    assert 'foo' not in ac
    # `c()` returns every column (broken in the original, SPEC 10.15)
    assert [str(c) for c in ac()] == ['"artist"."artist_id"', '"artist"."name"']


async def test_columns_are_checked(db):
    ac = db.t.artist.c
    # DEVIATION (SPEC 10.15): the original printed `select "artist"."Name" from "artist"` for
    # `ac.Name`, a column that does not exist; columns are checked, and the error names the
    # near match.
    with pytest.raises(Exception) as e:
        print(f"select {ac.Name} from {db.t.artist}")
    assert 'Name' in str(e.value) and 'name' in str(e.value).replace('Name', '')


# ---------------------------------------------------------------------------------------------
# "Queries and views": conv_placeholders, db.q
# ---------------------------------------------------------------------------------------------

def test_conv_placeholders():
    assert conv_placeholders("""
    SELECT * FROM a WHERE id = ?;
    SELECT * FROM b WHERE name = ?
""")[0] == """
    SELECT * FROM a WHERE id = $1;
    SELECT * FROM b WHERE name = $2
"""
    # DEVIATION (SPEC 10.6): `?` is numbered after the highest explicit `$n` (the original gave
    # both placeholders `$1`).
    assert conv_placeholders("SELECT * FROM artist WHERE artist_id = $1 AND name = ?") == \
        ('SELECT * FROM artist WHERE artist_id = $1 AND name = $2', [])
    assert conv_placeholders("SELECT * FROM artist WHERE artist_id = :id AND name = :name", id=5, name='AC/DC') == \
        ('SELECT * FROM artist WHERE artist_id = $1 AND name = $2', [5, 'AC/DC'])
    assert conv_placeholders("SELECT * FROM a WHERE id = :uid OR creator = :uid", uid=42) == \
        ('SELECT * FROM a WHERE id = $1 OR creator = $1', [42])
    assert conv_placeholders("SELECT * FROM a WHERE id = ? AND name = :name and foo=?", name='test') == \
        ('SELECT * FROM a WHERE id = $1 AND name = $3 and foo=$2', ['test'])
    # Text that only looks like a placeholder is left alone (the core's lexer).
    assert conv_placeholders("SELECT '?', data ? 'k', x::int FROM t WHERE a = ?")[0] == \
        "SELECT '?', data ? 'k', x::int FROM t WHERE a = $1"


def _acdc_html(res):
    html = res._repr_html_()
    assert '<th>artist_id</th>' in html and '<th>name</th>' in html, html
    assert '<td>1</td>' in html and '<td>AC/DC</td>' in html, html


async def test_q(db):
    dt = db.t
    artist = dt.artist
    ac = artist.c
    acdc = await db.q(f"select * from {artist} where {ac.name} like 'AC/%'")
    assert isinstance(acdc, fastasyncpg.Results)
    assert [dict(r) for r in acdc] == [{'artist_id': 1, 'name': 'AC/DC'}]
    _acdc_html(acdc)

    for res in (await db.q(f"select * from {artist} where {ac.name}=$1", 'AC/DC'),
                await db.q(f"select * from {artist} where {ac.name}=?", 'AC/DC'),
                await db.q(f"select * from {artist} where {ac.name}=:name", name='AC/DC')):
        assert [dict(r) for r in res] == [{'artist_id': 1, 'name': 'AC/DC'}]
        _acdc_html(res)


# ---------------------------------------------------------------------------------------------
# "Dataclasses"
# ---------------------------------------------------------------------------------------------

async def test_dataclasses(db):
    dt = db.t
    artist = dt.artist
    acdc = await db.q(f"select * from {artist} where {artist.c.name} like 'AC/%'")

    Artist = artist.dataclass()
    art1_obj = Artist(**acdc[0])
    assert repr(art1_obj) == "Artist(artist_id=1, name='AC/DC')"
    assert artist.cls is Artist
    assert Artist.__name__ == 'Artist'
    assert dataclasses.is_dataclass(Artist)
    flds = {f.name: f for f in dataclasses.fields(Artist)}
    assert list(flds) == ['artist_id', 'name']
    assert all(f.default is fastasyncpg.UNSET for f in flds.values())
    # partial instantiation: unset fields are UNSET
    assert Artist(name='x').artist_id is fastasyncpg.UNSET
    assert flds['artist_id'].type in (int | None, 'int | None')
    assert flds['name'].type in (str | None, 'str | None')


async def test_all_dcs(db):
    dcs = fastasyncpg.all_dcs(db)
    names = sorted(d.__name__ for d in dcs)
    # the original names a table's dataclass `name.title()`: invoice_line -> Invoice_Line
    assert names == sorted(['Artist', 'Album', 'Employee', 'Customer', 'Invoice', 'Invoice_Line', 'Track',
                            'Playlist', 'Playlist_Track', 'Genre', 'Media_Type'])
    assert all(dataclasses.is_dataclass(d) for d in dcs)
    # store=True (the default) links them to the tables
    assert db.t.invoice_line.cls.__name__ == 'Invoice_Line'
    assert repr(await db.t.invoice_line[1]) == (
        "Invoice_Line(invoice_line_id=1, invoice_id=1, track_id=2, unit_price=Decimal('0.99'), quantity=1)")


# ---------------------------------------------------------------------------------------------
# "get": t[pk], xtra, NotFoundError, get
# ---------------------------------------------------------------------------------------------

async def test_getitem_and_xtra(db, capsys):
    dt = db.t
    artist = dt.artist
    Artist = artist.dataclass()
    a = await artist[1]
    assert repr(a) == "Artist(artist_id=1, name='AC/DC')"
    assert isinstance(a, Artist)

    album = dt.album
    Album = album.dataclass()
    print("Album 1:", await album[1])
    print("Artist ID of album 1:", (await album[1]).artist_id)

    album.xtra(artist_id=1)
    print("\nWith xtra(artist_id=1):")
    print("Album 1:", await album[1])  # Should work - album 1 is by artist 1

    try: await album[2]  # Album 2 is by a different artist
    except NotFoundError as e: print('Error correctly raised:', type(e))
    else: raise AssertionError("album[2] was found through xtra(artist_id=1)")

    out = capsys.readouterr().out
    assert out == (
        "Album 1: Album(album_id=1, title='For Those About To Rock We Salute You', artist_id=1)\n"
        "Artist ID of album 1: 1\n"
        "\nWith xtra(artist_id=1):\n"
        "Album 1: Album(album_id=1, title='For Those About To Rock We Salute You', artist_id=1)\n"
        f"Error correctly raised: {NotFoundError!r}\n"
    )
    assert isinstance(await album[1], Album)


async def test_get(db):
    artist = db.t.artist
    artist.dataclass()
    assert repr(await artist.get(1)) == "Artist(artist_id=1, name='AC/DC')"
    assert await artist.get(99999) is None  # Should return None
    with pytest.raises(NotFoundError):
        await artist[99999]


# ---------------------------------------------------------------------------------------------
# "call/select": rows_where, count, pks_and_rows_where, __call__, selectone, item
# ---------------------------------------------------------------------------------------------

FIRST3 = "[Artist(artist_id=1, name='AC/DC'), Artist(artist_id=2, name='Accept'), Artist(artist_id=3, name='Aerosmith')]"
FIRST3_PK = ("[(1, Artist(artist_id=1, name='AC/DC')), (2, Artist(artist_id=2, name='Accept')), "
             "(3, Artist(artist_id=3, name='Aerosmith'))]")
ALBUMS_OF_1 = ("[Album(album_id=1, title='For Those About To Rock We Salute You', artist_id=1), "
               "Album(album_id=4, title='Let There Be Rock', artist_id=1)]")


async def test_rows_where_count_call(db):
    dt = db.t
    artist, album = dt.artist, dt.album
    artist.dataclass()
    album.dataclass()

    assert repr(await artist.rows_where(limit=3)) == FIRST3

    album.xtra(artist_id=1)
    assert repr(await album.rows_where(limit=5)) == ALBUMS_OF_1

    album.xtra(artist_id=1)
    assert await album.count == 2
    album.xtra()
    assert await album.count == 347
    assert await artist.count == 275

    assert await album.count_where('artist_id = $1', [1]) == 2
    # SPEC 10.9: count_where accepts `?`
    assert await album.count_where('artist_id = ?', [1]) == 2
    assert await album.count_where() == 347

    assert repr(await artist.pks_and_rows_where(limit=3)) == FIRST3_PK

    assert repr(await artist(limit=3)) == FIRST3
    assert repr(await artist(limit=3, with_pk=True)) == FIRST3_PK

    album.xtra(artist_id=1)
    assert repr(await album(limit=5)) == ALBUMS_OF_1
    album.xtra()

    # the other arguments of __call__ / rows_where
    rows = await artist(where='name like ?', where_args=['A%'], order_by='name desc', limit=2, offset=1)
    names = [r[1] for r in await db.fetch("select artist_id, name from artist where name like 'A%' order by name desc")]
    assert [r.name for r in rows] == names[1:3]
    recs = await artist(limit=2, as_cls=False)
    assert [dict(r) for r in recs] == [{'artist_id': 1, 'name': 'AC/DC'}, {'artist_id': 2, 'name': 'Accept'}]
    assert [dict(r) for r in await artist(select='name', limit=1, as_cls=False)] == [{'name': 'AC/DC'}]
    assert [r.name for r in await artist(where='artist_id = :id', where_args={'id': 3})] == ['Aerosmith']
    # DEVIATION (SPEC 10.7): limit=0 returns no rows (the original returned every row)
    assert await artist(limit=0) == []
    assert await artist.rows_where(limit=0) == []


async def test_selectone_and_item(db, capsys):
    artist = db.t.artist
    artist.dataclass()
    res = await artist.selectone('Name=$1', ('AC/DC',), debug=True)
    assert repr(res) == "Artist(artist_id=1, name='AC/DC')"
    out = capsys.readouterr().out
    # the original printed: SELECT * FROM "artist" WHERE Name=$1 LIMIT 2
    assert 'SELECT' in out and '"artist"' in out and 'Name=$1' in out and 'LIMIT' in out, out

    try: await artist.selectone('Name like $1', ('%a%',))
    except NotFoundError as e: raise AssertionError(f"NotFoundError instead of ValueError: {e}")
    except ValueError: pass
    else: raise Exception("Failed to get non unique exception")

    try: await artist.selectone('Name=$1', ('i do not exist',))
    except NotFoundError: pass
    else: raise Exception("Failed to get NotFoundError")

    assert await db.item('select artist_id from artist where name=$1', ('AC/DC',)) == 1
    assert await db.item('select count(*) from album') == 347


# ---------------------------------------------------------------------------------------------
# "create_mod", link_dcs, set_classes / get_tables
# ---------------------------------------------------------------------------------------------

TRACK1 = ("Track(track_id=1, name='For Those About To Rock (We Salute You)', album_id=1, media_type_id=1, "
          "genre_id=1, composer='Angus Young, Malcolm Young, Brian Johnson', milliseconds=343719, "
          "bytes=11170334, unit_price=Decimal('0.99'))")
EMPLOYEE1 = ("Employee(employee_id=1, last_name='Adams', first_name='Andrew', title='General Manager', "
             "reports_to=None, birth_date=datetime.datetime(1962, 2, 18, 0, 0), "
             "hire_date=datetime.datetime(2002, 8, 14, 0, 0), address='11120 Jasper Ave NW', city='Edmonton', "
             "state='AB', country='Canada', postal_code='T5K 2N1', phone='+1 (780) 428-9482', "
             "fax='+1 (780) 428-3457', email='andrew@chinookcorp.com')")


@pytest.fixture
def mod_dir(tmp_path, monkeypatch):
    """cwd and sys.path at a temp dir; `db_dc` forgotten before and after."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop('db_dc', None)
    importlib.invalidate_caches()
    yield tmp_path
    sys.modules.pop('db_dc', None)


async def test_create_mod(db, mod_dir):
    dt = db.t
    fastasyncpg.create_mod(db, 'db_dc')
    assert (mod_dir / 'db_dc.py').is_file()
    src = (mod_dir / 'db_dc.py').read_text()
    assert 'class Artist' in src and 'UNSET' in src

    ns = {}
    exec("from db_dc import *", ns)  # `from db_dc import *`
    import db_dc
    assert dataclasses.is_dataclass(db_dc.Track)
    assert [f.name for f in dataclasses.fields(db_dc.Track)] == [
        'track_id', 'name', 'album_id', 'media_type_id', 'genre_id', 'composer', 'milliseconds', 'bytes',
        'unit_price']
    assert all(f.default is fastasyncpg.UNSET for f in dataclasses.fields(db_dc.Artist))

    # create_mod(store=True, the default) already linked the tables to its dataclasses
    t1 = await dt.track[1]
    assert repr(t1) == TRACK1
    assert t1.unit_price == Decimal('0.99') and isinstance(t1.unit_price, Decimal)


async def test_link_dcs_set_classes_get_tables(db, mod_dir):
    dt = db.t
    fastasyncpg.create_mod(db, 'db_dc', store=False)
    ns = {}
    exec("from db_dc import *", ns)  # `from db_dc import *`
    import db_dc

    db.link_dcs(db_dc)
    t1 = await dt.track[1]
    assert type(t1) is db_dc.Track
    assert repr(t1) == TRACK1

    assert repr(db.t) == ('artist, album, employee, customer, invoice, invoice_line, track, playlist, '
                          'playlist_track, genre, media_type') or \
        sorted(repr(db.t).split(', ')) == sorted(t.name for t in db.t)

    db.set_classes(ns)
    db.get_tables(ns)
    albums, employees = ns['albums'], ns['employees']
    assert repr(albums) == 'Table "album"'
    for plural in ('artists', 'tracks', 'invoice_lines', 'playlist_tracks', 'media_types', 'genres', 'customers'):
        assert plural in ns, plural

    res = await albums(limit=1)
    assert repr(res) == "[Album(album_id=1, title='For Those About To Rock We Salute You', artist_id=1)]"
    assert type(res[0]) is ns['Album']
    emp = await employees(limit=1)
    assert repr(emp) == f"[{EMPLOYEE1}]"
    assert emp[0].birth_date == datetime.datetime(1962, 2, 18, 0, 0)


# ---------------------------------------------------------------------------------------------
# "insert", "update", "delete", delete_where: the cat table
# ---------------------------------------------------------------------------------------------

def _by_id(rows):
    """The document's lists come in heap order; compare them ordered by id."""
    return repr(sorted(rows, key=lambda r: r.id))


async def test_cats_insert_update_delete(db, capsys):
    ns = {}
    assert await db.execute('''
DROP TABLE IF EXISTS cat;
CREATE TABLE cat (
    id SERIAL PRIMARY KEY,
    name TEXT,
    weight REAL,
    uid INTEGER
)''') == 'CREATE TABLE'

    await db.table2glb('cat', ns)
    cats, Cat = ns['cats'], ns['Cat']
    assert repr(cats) == 'Table "cat"'
    assert dataclasses.is_dataclass(Cat)

    c = await cats.insert(name='meow', weight=6, uid=2)
    assert repr(c) == "Cat(id=1, name='meow', weight=6.0, uid=2)"
    assert isinstance(c.weight, float)
    assert repr(await cats()) == "[Cat(id=1, name='meow', weight=6.0, uid=2)]"

    cats.xtra(uid=1)
    c2 = await cats.insert(name='purr', weight=4)
    assert repr(c2) == "Cat(id=2, name='purr', weight=4.0, uid=1)"
    assert repr(await cats()) == "[Cat(id=2, name='purr', weight=4.0, uid=1)]"

    assert repr(cats.xtra()) == 'Table "cat"'
    assert _by_id(await cats()) == ("[Cat(id=1, name='meow', weight=6.0, uid=2), "
                                    "Cat(id=2, name='purr', weight=4.0, uid=1)]")

    # update
    c.name = "moo"
    c.uid = 1
    assert repr(c) == "Cat(id=1, name='moo', weight=6.0, uid=1)"
    assert repr(await cats.update(c)) == "Cat(id=1, name='moo', weight=6.0, uid=1)"
    assert _by_id(await cats()) == ("[Cat(id=1, name='moo', weight=6.0, uid=1), "
                                    "Cat(id=2, name='purr', weight=4.0, uid=1)]")

    cats.xtra(uid=2)
    c.uid = 2
    try: await cats.update(c)  # Should fail - c has id=1 which has uid=1, not uid=2
    except NotFoundError as e: print('Correctly blocked:', e)
    else: raise AssertionError("update outside the xtra scope succeeded")
    assert repr(cats.xtra()) == 'Table "cat"'
    # nothing changed
    assert repr(await cats[1]) == "Cat(id=1, name='moo', weight=6.0, uid=1)"

    # delete
    assert _by_id(await cats()) == ("[Cat(id=1, name='moo', weight=6.0, uid=1), "
                                    "Cat(id=2, name='purr', weight=4.0, uid=1)]")
    assert repr(await cats.delete(c.id)) == "Cat(id=1, name='moo', weight=6.0, uid=1)"
    assert repr(await cats()) == "[Cat(id=2, name='purr', weight=4.0, uid=1)]"

    cats.xtra(uid=99)
    try: await cats.delete(2)  # Should fail - cat 2 has uid=1, not uid=99
    except NotFoundError as e: print('Correctly blocked:', e)
    else: raise AssertionError("delete outside the xtra scope succeeded")
    cats.xtra()
    assert repr(await cats()) == "[Cat(id=2, name='purr', weight=4.0, uid=1)]"

    out = capsys.readouterr().out.splitlines()
    # the original printed "Correctly blocked: cat[[1, 2]]" and "Correctly blocked: cat[2]"
    assert len(out) == 2 and all(line.startswith('Correctly blocked: ') and 'cat' in line for line in out), out

    # delete_where
    await cats.insert(name='Cat McCat Face', weight=9)
    assert repr(await cats.insert(name='Skitter', weight=2)) == "Cat(id=4, name='Skitter', weight=2.0, uid=None)"
    assert _by_id(await cats.delete_where('weight > $1', [3])) == (
        "[Cat(id=2, name='purr', weight=4.0, uid=1), Cat(id=3, name='Cat McCat Face', weight=9.0, uid=None)]")
    assert repr(await cats()) == "[Cat(id=4, name='Skitter', weight=2.0, uid=None)]"
    # SPEC 10.8: the caller's argument list is not mutated
    args = [3]
    await cats.delete_where('weight > $1', args)
    assert args == [3]
    assert [r.name for r in await cats.delete_where()] == ['Skitter']
    assert await cats.count == 0


# ---------------------------------------------------------------------------------------------
# "Create": db.create, drop, foreign keys; "Upsert"
# ---------------------------------------------------------------------------------------------

class Dog: id:int; name:str; age:int


class Toy: id:int; name:str; dog_id:int


async def test_create_drop_upsert(db):
    # The document's database had a `dog` table from an earlier session: make one to drop.
    await db.execute("CREATE TABLE dog (id int)")
    await db.refresh()
    assert 'dog' in db.t
    await db.t.dog.drop(cascade=True)
    assert 'dog' not in db.t

    dogs = await db.create(Dog, replace=True)
    assert dogs.cols == {'id': 'integer', 'name': 'text', 'age': 'integer'}
    assert dogs.pks == ['id']

    d = await dogs.insert(name='Rex', age=5)
    assert repr(d) == "Dog(id=1, name='Rex', age=5)"

    toys = await db.create(Toy, replace=True, foreign_keys={'dog_id': ('dog', 'id')})
    assert toys.cols == {'id': 'integer', 'name': 'text', 'dog_id': 'integer'}

    t = await toys.insert(name='Ball', dog_id=d.id)
    assert repr(t) == "Toy(id=1, name='Ball', dog_id=1)"
    # the foreign key is enforced by PostgreSQL
    with pytest.raises(Exception) as e:
        await toys.insert(name='Bone', dog_id=999)
    assert '23503' in str(e.value)

    # upsert
    assert repr(await dogs()) == "[Dog(id=1, name='Rex', age=5)]"
    d.age = 6
    assert repr(await dogs.upsert(d)) == "Dog(id=1, name='Rex', age=6)"
    assert repr(await dogs()) == "[Dog(id=1, name='Rex', age=6)]"
    assert repr(await dogs.upsert(name='Spot', age=3)) == "Dog(id=2, name='Spot', age=3)"
    assert _by_id(await dogs()) == "[Dog(id=1, name='Rex', age=6), Dog(id=2, name='Spot', age=3)]"

    dogs.xtra(age=6)
    d.name = 'Rexy'
    assert repr(await dogs.upsert(d)) == "Dog(id=1, name='Rexy', age=6)"  # Should set age=6 from xtra
    dogs.xtra()
    assert _by_id(await dogs()) == "[Dog(id=1, name='Rexy', age=6), Dog(id=2, name='Spot', age=3)]"


# ---------------------------------------------------------------------------------------------
# "Connection pool"
# ---------------------------------------------------------------------------------------------

async def test_create_pool(chinook):
    db = await connect(chinook.url)
    await db.close()

    db = await create_pool(user=chinook.user, database=chinook.name, host='127.0.0.1', port=chinook.port)
    res = await db.t.artist(limit=3)
    assert repr(res) == ("[<FRecord artist_id=1 name='AC/DC'>, <FRecord artist_id=2 name='Accept'>, "
                         "<FRecord artist_id=3 name='Aerosmith'>]")
    assert all(isinstance(r, fastasyncpg.FRecord) for r in res)
    assert str(db) == f'postgresql://{chinook.user}@127.0.0.1:{chinook.port}/{chinook.name}'

    # acquire: a held connection with the same API
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM artist") == 275
        async with conn.transaction():
            await conn.execute("INSERT INTO artist (artist_id, name) VALUES (1000, 'in tx')")
    assert await db.fetchval("SELECT name FROM artist WHERE artist_id = 1000") == 'in tx'
    await db.close()


async def test_create_pool_dsn(chinook):
    db = await create_pool(chinook.url)
    assert await db.fetchval("SELECT count(*) FROM artist") == 275
    assert await db.t.artist.count == 275
    await db.close()


async def test_views_and_refresh(db):
    await db.execute("CREATE VIEW acdc_albums AS SELECT * FROM album WHERE artist_id = 1")
    await db.refresh()
    assert 'acdc_albums' in db.v
    v = db.v.acdc_albums
    assert [r['album_id'] for r in await v(as_cls=False)] == [1, 4]
