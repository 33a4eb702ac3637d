"""Content digests of external files, with a stat cache so unchanged large files are not re-read.

The cache maps a path to (inode, size, mtime_ns) -> digest. Touching a file changes its mtime, so
it is re-hashed; the *digest* stays the same, so nothing downstream reruns (the cache key only
ever sees content digests).
"""

from __future__ import annotations

import os
import sqlite3
import time
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

    def _connect(self) -> sqlite3.Connection:
        assert self.db_path is not None
        conn = sqlite3.connect(self.db_path, timeout=60)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(_SCHEMA)
        return conn

    def digest(self, path: Path) -> str:
        st = os.stat(path)
        sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        key = str(path.resolve())
        use_db = self.db_path is not None and self.db_path.exists()
        if use_db:
            with self._connect() as conn:
                row = conn.execute(
                    "SELECT inode, size, mtime_ns, digest FROM stat_cache WHERE path = ?", (key,)
                ).fetchone()
            if row is not None and tuple(row[:3]) == sig:
                return str(row[3])
        # "Racy clean" (as git calls it): a file modified within the filesystem's timestamp
        # granularity of being hashed could change again without changing its stat signature.
        # Such digests are neither cached nor memoised; the next look hashes the file again.
        racy = time.time_ns() - st.st_mtime_ns <= RACY_WINDOW_NS
        memo_key = (key, *sig)
        # Within one process (pre-flight before the store exists, then the run) a file is read
        # once; the memo never replaces the persistent cache, it only saves the re-read.
        digest = _MEMO.get(memo_key) if not racy else None
        if digest is None:
            digest = digest_file(path)
        if not racy:
            _MEMO[memo_key] = digest
        if use_db and not self.read_only and not racy:
            with self._connect() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO stat_cache VALUES (?, ?, ?, ?, ?)", (key, *sig, digest)
                )
        return digest
