"""The serving request log (Interface 2): scored rows as JSON lines, written off the request path.

Layout: ``DIR/<model-name>/requests-<UTC yyyymmddTHHMMSS>-<seq>.jsonl``, one line per scored row:

    {"ts": "2026-11-26T21:04:05.123456Z", "model": "fraud-detector", "version": 3,
     "request_id": "<uuid4 hex>", "inputs": {"amount": 12.5, ...},
     "prediction": 0, "probabilities": [0.93, 0.07] | null}

A request hands one record (its columns and predictions) to a bounded queue with
``put_nowait``; when the queue is full the record is dropped and counted — logging never blocks
or slows a request beyond that call. A background thread expands records into lines, appends
them to the current file, and rolls to a new file past ``max_bytes``, deleting the oldest files
beyond ``max_files``. ``mlspec.monitor.serving_log.read_serving_log`` reads this format.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("mlspec.serve")
_STOP = object()


def _plain(values: Any) -> list[Any]:
    return values.tolist() if hasattr(values, "tolist") else list(values)


class RequestLog:
    def __init__(
        self,
        directory: Path,
        model: str,
        max_bytes: int = 64 * 1024 * 1024,
        max_files: int = 20,
        queue_size: int = 10_000,
        on_drop: Callable[[int], None] | None = None,
    ):
        self.dir = Path(directory) / model
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self.on_drop = on_drop
        self.dropped = 0
        self.written = 0
        self._seq = 0
        self._file: Any = None
        self._size = 0
        self._thread: threading.Thread | None = None

    # -- request side (must stay cheap) ---------------------------------------------------------
    def submit(
        self,
        model: str,
        version: int | None,
        request_id: str,
        columns: dict[str, Any],
        predictions: Any,
        probabilities: Any,
    ) -> bool:
        """Queue one request's rows; False (and counted) when the queue is full."""
        record = (time.time(), model, version, request_id, columns, predictions, probabilities)
        try:
            self.queue.put_nowait(record)
            return True
        except queue.Full:
            n = len(predictions)
            self.dropped += n
            if self.on_drop is not None:
                self.on_drop(n)
            return False

    # -- writer thread --------------------------------------------------------------------------
    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="mlspec-request-log", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop."""
        if self._thread is None:
            return
        self.queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        import orjson

        while True:
            item = self.queue.get()
            while item is not _STOP:  # drain what is waiting, then flush once
                self._write(self._lines(item, orjson))
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
            self._flush()
            if item is _STOP:
                break
        self._close_file()

    def _lines(self, record: tuple[Any, ...], orjson: Any) -> bytes:
        ts, model, version, request_id, columns, predictions, probabilities = record
        stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        names = list(columns)
        cols = [_plain(columns[c]) for c in names]
        preds = _plain(predictions)
        probs = _plain(probabilities) if probabilities is not None else None
        out = []
        for i, pred in enumerate(preds):
            row = {
                "ts": stamp,
                "model": model,
                "version": version,
                "request_id": request_id,
                "inputs": {c: col[i] for c, col in zip(names, cols, strict=True)},
                "prediction": pred,
                "probabilities": probs[i] if probs is not None else None,
            }
            out.append(orjson.dumps(row, option=orjson.OPT_SERIALIZE_NUMPY))
        self.written += len(out)
        return b"\n".join(out) + b"\n" if out else b""

    def _write(self, data: bytes) -> None:
        if not data:
            return
        try:
            if self._file is None or self._size >= self.max_bytes:
                self._roll()
            self._file.write(data)
            self._size += len(data)
        except OSError as exc:  # a full disk must not stop serving; say so once per failure
            log.error("request log: cannot write to %s: %s", self.dir, exc)
            self._close_file()

    def _flush(self) -> None:
        if self._file is not None:
            try:
                self._file.flush()
            except OSError as exc:
                log.error("request log: cannot write to %s: %s", self.dir, exc)
                self._close_file()

    def _roll(self) -> None:
        self._close_file()
        self._seq += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.dir / f"requests-{stamp}-{self._seq:06d}.jsonl"
        self._file = path.open("ab")
        self._size = path.stat().st_size
        files = sorted(self.dir.glob("requests-*.jsonl"))  # names sort by time, then sequence
        for old in files[: max(0, len(files) - self.max_files)]:
            if old != path:
                old.unlink(missing_ok=True)

    def _close_file(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None
