"""Codecs turn stage outputs into bytes and back.

Encodings are deterministic for identical values (same library versions): that is what lets an
upstream stage rerun with identical output keep everything downstream cached.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

_BATCH_ROWS = 1 << 16


# LZ4 is kept for a frame when it makes the first batch at least this much smaller.
_MIN_LZ4_SAVING = 0.10


def _write_frame(df: Any, sink: Any) -> None:
    """Arrow IPC (file format), written in batches of 65,536 rows, LZ4-compressed where it pays.

    Frames in the store are intermediates a later stage reads back, often many times (every
    member of a sweep reads the split). Against parquet + zstd on 200k x 31 floats
    (benchmarks/frame_codec.py), IPC + LZ4 encodes in about half the time and decodes about six
    times faster, for files a few percent larger. Pandas metadata travels in the schema, so
    categories, nullable integers and time zones round-trip. Exports convert to parquet or CSV.

    LZ4 shrinks repetitive columns (categories, codes, flags) but barely touches measured floats:
    on the engine benchmark's 200k x 31 frame it saved 4 % of 50 MB for 0.11 s of compression,
    paid again by every stage that writes such a frame. So the first batch is written both ways
    in memory and LZ4 is kept only if it saves at least a tenth; the choice depends on the values
    alone, so identical frames still give identical bytes.

    Converting batch by batch keeps one batch's uncompressed Arrow copy alive at a time instead
    of a second copy of the whole frame; with a file as ``sink`` (the runner's path), nothing of
    the size of the frame is held in memory at all. The batch size is fixed, so identical frames
    give identical bytes whatever the sink.
    """
    import pyarrow as pa

    schema = pa.Schema.from_pandas(df, preserve_index=False)
    batches = _batches(df, schema)
    first = next(batches, None)
    compression = "lz4" if first is None else _compression_for(first, schema)
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_file(sink, schema, options=options) as writer:
        if first is None:  # no rows: the schema still round-trips
            writer.write_table(pa.Table.from_pandas(df, schema=schema, preserve_index=False))
        else:
            for batch in itertools.chain([first], batches):  # one batch alive at a time
                writer.write_batch(batch)


def _batches(df: Any, schema: Any) -> Iterator[Any]:
    import pyarrow as pa

    for start in range(0, len(df), _BATCH_ROWS):
        part = df.iloc[start : start + _BATCH_ROWS]
        # Columns already backed by Arrow arrive chunked, however they were built: combined,
        # each slice is exactly one record batch, so the bytes depend on the values only.
        table = pa.Table.from_pandas(part, schema=schema, preserve_index=False)
        yield from table.combine_chunks().to_batches()


def _compression_for(batch: Any, schema: Any) -> str | None:
    """ "lz4" if it makes ``batch`` at least `_MIN_LZ4_SAVING` smaller, else None."""
    import pyarrow as pa

    sizes: dict[str | None, int] = {}
    for codec in (None, "lz4"):
        sink = pa.BufferOutputStream()
        options = pa.ipc.IpcWriteOptions(compression=codec)
        with pa.ipc.new_stream(sink, schema, options=options) as writer:
            writer.write_batch(batch)
        sizes[codec] = sink.getvalue().size
    return "lz4" if sizes["lz4"] <= (1 - _MIN_LZ4_SAVING) * sizes[None] else None


def _encode_frame(df: Any) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    _write_frame(df, sink)
    return bytes(sink.getvalue())


def _stream_frame(df: Any, fh: BinaryIO) -> None:
    import pyarrow as pa

    sink = pa.PythonFile(fh, mode="w")  # not closed: closing it would close ``fh``
    _write_frame(df, sink)
    sink.flush()


_ARROW_MAGIC = b"ARROW1"
_PARQUET_MAGIC = b"PAR1"


def _decode_frame(data: bytes) -> Any:
    import pyarrow as pa

    if data[:6] == _ARROW_MAGIC:
        return pa.ipc.open_file(pa.py_buffer(data)).read_all().to_pandas()
    if data[:4] == _PARQUET_MAGIC:  # stores written before 0.2 kept frames as parquet
        import pyarrow.parquet as pq

        return pq.read_table(pa.py_buffer(data)).to_pandas()
    raise ValueError("not a frame: neither Arrow IPC nor parquet")


def _encode_estimator(obj: Any) -> bytes:
    import joblib

    buf = io.BytesIO()
    joblib.dump(obj, buf, compress=3)
    return buf.getvalue()


def _decode_estimator(data: bytes) -> Any:
    import joblib

    # Callers only reach this after the object's digest was verified (ObjectStore.get).
    return joblib.load(io.BytesIO(data))


def _json_default(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)
    # numpy arrays first: they have .item() too
    if getattr(value, "ndim", 0) and callable(tolist):
        return tolist()
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _encode_json(obj: Any) -> bytes:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)
    return text.encode("utf-8")


def _decode_json(data: bytes) -> Any:
    return json.loads(data.decode("utf-8"))


CODECS: dict[str, tuple[Callable[[Any], bytes], Callable[[bytes], Any]]] = {
    "frame": (_encode_frame, _decode_frame),
    "estimator": (_encode_estimator, _decode_estimator),
    "json": (_encode_json, _decode_json),
}


# Codecs that can write straight to a file, without the whole encoding in memory first.
STREAMING: dict[str, Callable[[Any, BinaryIO], None]] = {"frame": _stream_frame}


def encode(codec: str, value: Any) -> bytes:
    return CODECS[codec][0](value)


def encode_into(codec: str, value: Any, fh: BinaryIO) -> None:
    """Write exactly the bytes ``encode(codec, value)`` returns to the binary file ``fh``."""
    streaming = STREAMING.get(codec)
    if streaming is not None:
        streaming(value, fh)
    else:
        fh.write(encode(codec, value))


def decode(codec: str, data: bytes) -> Any:
    return CODECS[codec][1](data)
