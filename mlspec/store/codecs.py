"""Codecs turn stage outputs into bytes and back.

Encodings are deterministic for identical values (same library versions): that is what lets an
upstream stage rerun with identical output keep everything downstream cached.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any


def _encode_frame(df: Any) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    buf = io.BytesIO()
    # Dictionary encoding pays off for strings and categories, not for floats: trying it on
    # float columns was most of the encoding time (benchmarks/frame_codec.py: 1.06 s -> 0.20 s
    # for 200k x 31 floats) and made the files larger.
    dictionary = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
    pq.write_table(table, buf, compression="zstd", write_statistics=True, use_dictionary=dictionary)
    return buf.getvalue()


def _decode_frame(data: bytes) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data)).to_pandas()


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


def encode(codec: str, value: Any) -> bytes:
    return CODECS[codec][0](value)


def decode(codec: str, data: bytes) -> Any:
    return CODECS[codec][1](data)
