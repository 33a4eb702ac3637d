"""Content digests of external files, with a stat cache so unchanged large files are not re-read.

The cache maps a path to (inode, size, mtime_ns) -> digest. Touching a file changes its mtime, so
it is re-hashed; the *digest* stays the same, so nothing downstream reruns (the cache key only
ever sees content digests).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlspec.hashing import digest_file

RACY_WINDOW_NS = 2_000_000_000
_MEMO: dict[tuple[str, int, int, int], str] = {}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stat_cache (
    path TEXT PRIMARY KEY, inode INTEGER, size INTEGER, mtime_ns INTEGER, digest TEXT
)
"""


class StatCache:
    def __init__(self, db_path: Path | None, read_only: bool = False):
        # db_path None: no persistent cache (e.g. `mlspec plan` before the store exists).
        # read_only: use the cache but never write it (plan, pre-flight: they must write nothing).
        self.db_path = db_path
        self.read_only = read_only

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One connection per look-up, closed afterwards (sqlite3's own context manager only
        commits); commits on success."""
        assert self.db_path is not None
        conn = sqlite3.connect(self.db_path, timeout=60)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)
            with conn:
                yield conn
        finally:
            conn.close()

    def digest(self, path: Path) -> str:
        st = os.stat(path)
        sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        key = str(path.resolve())
        if self.db_path is None or not self.db_path.exists():
            return self._hash(path, key, sig, st.st_mtime_ns)
        with self._connect() as conn:
            row = conn.execute(
                "SELECT inode, size, mtime_ns, digest FROM stat_cache WHERE path = ?", (key,)
            ).fetchone()
            if row is not None and tuple(row[:3]) == sig:
                return str(row[3])
            digest = self._hash(path, key, sig, st.st_mtime_ns)
            if not self.read_only and not _racy(st.st_mtime_ns):
                conn.execute(
                    "INSERT OR REPLACE INTO stat_cache VALUES (?, ?, ?, ?, ?)", (key, *sig, digest)
                )
        return digest

    @staticmethod
    def _hash(path: Path, key: str, sig: tuple[int, int, int], mtime_ns: int) -> str:
        """Hash the file, or reuse this process's earlier hash of the same signature (pre-flight
        before the store exists, then the run): the memo saves a re-read, never a DB write."""
        racy = _racy(mtime_ns)
        memo_key = (key, *sig)
        digest = _MEMO.get(memo_key) if not racy else None
        if digest is None:
            digest = digest_file(path)
        if not racy:
            _MEMO[memo_key] = digest
        return digest


def _racy(mtime_ns: int) -> bool:
    """ "Racy clean" (as git calls it): a file modified within the filesystem's timestamp
    granularity of being hashed could change again without changing its stat signature. Such
    digests are neither cached nor memoised; the next look hashes the file again."""
    return time.time_ns() - mtime_ns <= RACY_WINDOW_NS
