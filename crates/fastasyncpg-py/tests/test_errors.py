"""Errors: PostgreSQL's own message and SQLSTATE in the exception, names in lookup and binding
errors, and the seed's `NotFoundError`."""
import re

import pytest

import fastasyncpg
from fastasyncpg import NotFoundError


def test_not_found_error_importable():
    from fastasyncpg import NotFoundError as N
    assert N is fastasyncpg.NotFoundError
    assert issubclass(N, Exception)


async def test_unique_violation(db):
    with pytest.raises(Exception) as e:
        await db.execute("INSERT INTO artist (artist_id, name) VALUES (1, 'again')")
    msg = str(e.value)
    assert 'duplicate key value violates unique constraint' in msg, msg
    assert '23505' in msg, msg
    assert 'artist_pkey' in msg, msg
    assert e.value.sqlstate == '23505'
    # the same through the table API
    with pytest.raises(Exception) as e:
        await db.t.artist.insert(artist_id=1, name='again')
    assert '23505' in str(e.value) and e.value.sqlstate == '23505'
    # nothing was written, and the connection is fine
    assert await db.fetchval("SELECT count(*) FROM artist") == 275


async def test_undefined_table(db):
    with pytest.raises(Exception) as e:
        await db.fetch("SELECT * FROM nosuch_table")
    msg = str(e.value)
    assert 'relation "nosuch_table" does not exist' in msg, msg
    assert '42P01' in msg, msg
    assert e.value.sqlstate == '42P01'


async def test_other_server_errors(db):
    cases = [
        ("SELEC 1", "42601", "syntax error"),
        ("SELECT 1/0", "22012", "division by zero"),
        ("SELECT nosuch_col FROM artist", "42703", "nosuch_col"),
        ("INSERT INTO album (album_id, title, artist_id) VALUES (9999, NULL, 1)", "23502", "title"),
    ]
    for sql, code, text in cases:
        with pytest.raises(Exception) as e:
            await db.execute(sql)
        msg = str(e.value)
        assert code in msg and text in msg, (sql, msg)
        assert e.value.sqlstate == code
    assert await db.fetchval("SELECT 1") == 1


async def test_error_in_transaction_rolls_back(db):
    with pytest.raises(Exception) as e:
        async with db.transaction():
            await db.execute("INSERT INTO artist (artist_id, name) VALUES (5000, 'rolled back')")
            await db.execute("INSERT INTO artist (artist_id, name) VALUES (1, 'duplicate')")
    assert '23505' in str(e.value)
    assert await db.fetchval("SELECT count(*) FROM artist WHERE artist_id = 5000") == 0
    # and a Python exception rolls back too
    with pytest.raises(KeyError):
        async with db.transaction():
            await db.execute("INSERT INTO artist (artist_id, name) VALUES (5001, 'rolled back')")
            raise KeyError("boom")
    assert await db.fetchval("SELECT count(*) FROM artist WHERE artist_id = 5001") == 0


async def test_unknown_table_name(db):
    with pytest.raises(Exception) as e:
        db.t.nosuch
    assert 'nosuch' in str(e.value)
    # a near miss suggests the real name
    with pytest.raises(Exception) as e:
        db.t.artsit
    assert 'artsit' in str(e.value) and "artist" in str(e.value).replace('artsit', '')
    with pytest.raises(Exception) as e:
        db.t['albun']
    assert 'album' in str(e.value)
    assert not hasattr(db.t, 'nosuch')  # an AttributeError for getattr/hasattr


async def test_unknown_column(db):
    with pytest.raises(Exception) as e:
        await db.t.artist.insert(artist_id=9000, nmae='typo')
    assert 'nmae' in str(e.value)
    assert await db.fetchval("SELECT count(*) FROM artist WHERE artist_id = 9000") == 0


async def test_bad_parameter_type_names_the_parameter(db):
    with pytest.raises(Exception) as e:
        await db.fetchval("SELECT $1::int4", [1, 2])
    msg = str(e.value)
    assert re.search(r"\$1|parameter 1|argument 1", msg, re.I), msg
    with pytest.raises(Exception) as e:
        await db.fetchval("SELECT $1::int4, $2::int4", 1, {"not": "an int"})
    msg = str(e.value)
    assert re.search(r"\$2|parameter 2|argument 2", msg, re.I), msg
    # through the table API, the column is named
    with pytest.raises(Exception) as e:
        await db.t.artist.insert(artist_id=[1, 2], name='x')
    assert 'artist_id' in str(e.value)
    assert await db.fetchval("SELECT 1") == 1


async def test_argument_count_and_names(db):
    with pytest.raises(Exception) as e:
        await db.fetch("SELECT * FROM artist WHERE artist_id = $1 AND name = $2", 1)
    assert '2' in str(e.value)
    with pytest.raises(Exception) as e:
        await db.q("SELECT * FROM artist WHERE name = :name")
    assert 'name' in str(e.value)
    with pytest.raises(Exception) as e:
        await db.q("SELECT * FROM artist WHERE artist_id = ?", 1, 2)
    assert str(e.value)


async def test_not_found(db):
    artist = db.t.artist
    with pytest.raises(NotFoundError):
        await artist[99999]
    with pytest.raises(NotFoundError):
        await artist.update(artist_id=99999, name='nobody')
    with pytest.raises(NotFoundError):
        await artist.delete(99999)
    with pytest.raises(NotFoundError):
        await artist.selectone('artist_id = $1', [99999])
    with pytest.raises(Exception):  # no row: no value
        await db.item("SELECT name FROM artist WHERE artist_id = $1", [99999])
