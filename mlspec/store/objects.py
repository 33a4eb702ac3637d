"""Write-once blobs named by content digest; verified on every read."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import blake3

from mlspec.errors import Problem, StoreError
from mlspec.hashing import DIGEST_PREFIX, digest_bytes, digest_file, digest_hex


def fsync_dir(path: Path) -> None:
    """Make a rename durable: fsync the directory entry (POSIX)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, data: bytes, tmp_dir: Path) -> None:
    """Write ``data`` to ``path`` so that readers see either nothing or all of it."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=path.name[:16] + ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


class _DigestingWriter(io.RawIOBase):
    """A write-only file that hashes what passes through it (so no second read is needed).

    ``close`` leaves the underlying file open: Arrow's ``PythonFile`` closes what it wraps.
    """

    def __init__(self, fh: BinaryIO):
        super().__init__()
        self._fh = fh
        self._hasher = blake3.blake3()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._hasher.update(view)
        self._fh.write(view)
        self.size += view.nbytes
        return view.nbytes

    def tell(self) -> int:
        return self.size

    @property
    def digest(self) -> str:
        return DIGEST_PREFIX + self._hasher.hexdigest()


def commit_staged(staged: Path, path: Path) -> None:
    """Make a staged object durable under its final name (fsync, rename, fsync the directory).

    A staged file whose object already exists is simply removed (objects are write-once).
    """
    if path.exists():
        staged.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(staged, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(staged, path)
    fsync_dir(path.parent)


class ObjectStore:
    def __init__(self, root: Path):
        self.root = root
        self.objects = root / "objects"
        self.tmp = root / "tmp"

    def path_for(self, digest: str) -> Path:
        hexd = digest_hex(digest)
        return self.objects / hexd[:2] / hexd

    def has(self, digest: str) -> bool:
        return self.path_for(digest).is_file()

    def put(self, data: bytes) -> str:
        digest = digest_bytes(data)
        target = self.path_for(digest)
        if not target.exists():  # write-once: identical content is never rewritten
            atomic_write(target, data, self.tmp)
        return digest

    def stage(self, write: Callable[[BinaryIO], None]) -> tuple[str, int, Path]:
        """Let ``write`` fill a temporary file; its digest, size and path (not yet durable).

        Large encodings go to disk as they are produced instead of being held in memory until
        a commit writes them; ``commit_staged`` later makes the file an object.
        """
        self.tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="staged.")
        try:
            with os.fdopen(fd, "wb") as fh:
                writer = _DigestingWriter(fh)
                write(writer)  # type: ignore[arg-type]  # a binary file, write-only
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
            raise
        return writer.digest, writer.size, Path(name)

    def get(self, digest: str) -> bytes:
        """The object's bytes, refused if they do not hash to ``digest`` (before any decoding)."""
        path = self.path_for(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreError(
                Problem(
                    code="missing_object",
                    message=f"object {digest} is missing from the store",
                    file=str(path),
                    fix="rerun the pipeline; the stage that produced it will run again",
                )
            ) from None
        actual = digest_bytes(data)
        if actual != digest:
            raise StoreError(
                Problem(
                    code="corrupt_object",
                    message=f"object {digest} does not match its digest"
                    f" (content hashes to {actual})",
                    file=str(path),
                    fix="run `mlspec verify --repair` to remove corrupt objects, then rerun",
                )
            )
        return data

    def iter_digests(self) -> Iterator[tuple[str, Path]]:
        if not self.objects.is_dir():
            return
        for sub in sorted(self.objects.iterdir()):
            if not sub.is_dir():
                continue
            for path in sorted(sub.iterdir()):
                yield DIGEST_PREFIX + path.name, path

    def check(self, digest: str, path: Path) -> str | None:
        """Why the object at ``path`` is damaged, or None."""
        try:
            actual = digest_file(path)
        except OSError as exc:
            return f"unreadable: {exc}"
        if actual != digest:
            return f"content hashes to {actual}"
        if path.parent.name != digest_hex(digest)[:2]:
            return "stored under the wrong prefix directory"
        return None
