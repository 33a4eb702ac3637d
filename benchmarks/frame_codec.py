"""Frame codec micro-benchmark: what one `frame` artifact costs mlspec to store, and alternatives.

Companion to engine_overhead.py (whose profile shows parquet encoding as the largest part of a cold
run's overhead). Encodes the bench table (the validated 200k x 31 CSV) with mlspec's own codec
(mlspec.store.codecs.encode("frame", ...)) and with other parquet / Arrow IPC settings; prints the
best of --repeats for wall and CPU time, and the encoded size.

    python benchmarks/engine_overhead.py --setup-only --workdir /tmp/bench
    python benchmarks/frame_codec.py --workdir /tmp/bench
    python benchmarks/data_prep.py --setup-only --workdir /tmp/prep
    python benchmarks/frame_codec.py --workdir /tmp/prep --data data/prep.parquet
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def best(fn: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus), out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--data", default="data/bench.csv", help="table in --workdir (.csv/.parquet)")
    args = p.parse_args()

    import blake3
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlspec.store import codecs

    path = args.workdir / args.data
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    print(
        f"frame {df.shape[0]} x {df.shape[1]}, {df.memory_usage().sum() / 1e6:.1f} MB in memory;"
        f" best of {args.repeats}"
    )

    def parquet(**kw: Any) -> Callable[[], bytes]:
        def run() -> bytes:
            buf = io.BytesIO()
            pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf, **kw)
            return buf.getvalue()

        return run

    def ipc(compression: str | None = None) -> Callable[[], bytes]:
        def run() -> bytes:
            sink = pa.BufferOutputStream()
            table = pa.Table.from_pandas(df, preserve_index=False)
            options = pa.ipc.IpcWriteOptions(compression=compression)
            with pa.ipc.new_file(sink, table.schema, options=options) as writer:
                writer.write_table(table)
            return sink.getvalue().to_pybytes()

        return run

    variants: list[tuple[str, Callable[[], bytes]]] = [
        ("mlspec codec (as in the mlspec imported)", lambda: codecs.encode("frame", df)),
        ("parquet zstd, dictionary on (f0345f5 codec)", parquet(compression="zstd")),
        ("parquet zstd, use_dictionary=False", parquet(compression="zstd", use_dictionary=False)),
        ("parquet snappy, dictionary on", parquet(compression="snappy")),
        ("parquet none, use_dictionary=False", parquet(compression="none", use_dictionary=False)),
        ("arrow IPC file, uncompressed", ipc()),
        ("arrow IPC file, lz4", ipc("lz4")),
    ]
    print(f"  {'encoding':<46} {'wall s':>7} {'CPU s':>7} {'MB':>7}")
    encoded = b""
    for name, fn in variants:
        wall, cpu, data = best(fn, args.repeats)
        encoded = encoded or data
        print(f"  {name:<46} {wall:7.3f} {cpu:7.3f} {len(data) / 1e6:7.1f}")
    for name, fn in (
        ("blake3 of the mlspec-encoded bytes", lambda: blake3.blake3(encoded).hexdigest()),
        ("decode (mlspec codec)", lambda: codecs.decode("frame", encoded)),
        ("from_pandas alone (pandas -> Arrow)", lambda: pa.Table.from_pandas(df)),
    ):
        wall, cpu, _ = best(fn, args.repeats)
        print(f"  {name:<46} {wall:7.3f} {cpu:7.3f}")


if __name__ == "__main__":
    main()
