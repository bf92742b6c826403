"""fastasyncpg: PostgreSQL as easy as a notebook, on a Rust core.

    import fastasyncpg
    db = await fastasyncpg.connect('postgresql://localhost/chinook')
    artist = db.t.artist
    await artist[1]                      # <FRecord artist_id=1 name='AC/DC'>
    await db.q('select * from artist where name = ?', 'AC/DC')

The seed's API (fastasyncpg 0.1.0, a layer over asyncpg) with the same names, run by the Rust
engine: the distribution is `fastasyncpg-rs`, the import name `fastasyncpg`.
"""

from . import _native
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all
from .core import *  # noqa: F401,F403
from .core import __all__ as _core_all

__version__ = _native.__version__
__all__ = list(_core_all) + list(_errors_all)
