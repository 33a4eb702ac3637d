"""Synthetic card transactions for the fraud example: a seeded 60-day stream, realistic mess.

Seeded, so every run (and every machine) sees the same table. Two uses:

- ``make_transactions`` (the spec's ``callable`` source): the training window, days 1-30 of the
  stream, with deliberate, counted mess: exact duplicate rows (a replayed batch), merchants with
  stray case and spaces, negative and missing amounts, and a few impossible country codes — what
  `data.clean` and the schema's quarantine policy are for.
- ``write_stream`` / ``python -m examples.fraud_data``: one parquet file per day
  (``day-01.parquet`` ... ``day-60.parquet``), the data `mlspec monitor` watches day by day.

**Fraud patterns shift after day 30.** Days 1-30: fraud is likelier for large online,
electronics and travel payments at night on young accounts. From day 31 fraudsters test stolen
cards with many small online payments at any hour: online payments and tiny amounts become far
more common, and the label follows the new pattern (concept drift, visible in the inputs and in
the model's scores).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DAYS = 60
SHIFT_AFTER_DAY = 30
START = "2025-01-01"
MERCHANTS = ("grocer", "fuel", "electronics", "travel", "online", "pharmacy")
COUNTRIES = ("DE", "FR", "ES", "IT", "NL", "PL")


def _rows(n_rows: int, rng: Any, first_day: int, last_day: int) -> Any:
    """Clean rows with timestamps spread over days ``first_day``..``last_day`` (1-based)."""
    import numpy as np
    import pandas as pd

    offsets = np.sort(rng.uniform(first_day - 1, last_day, n_rows))
    shifted = offsets >= SHIFT_AFTER_DAY
    before = [0.3, 0.2, 0.1, 0.1, 0.2, 0.1]
    after = [0.15, 0.1, 0.1, 0.1, 0.5, 0.05]
    merchant = np.where(
        shifted,
        rng.choice(np.array(MERCHANTS), n_rows, p=after),
        rng.choice(np.array(MERCHANTS), n_rows, p=before),
    )
    country = rng.choice(np.array(COUNTRIES), n_rows)
    amount = np.round(rng.lognormal(3.5, 1.0, n_rows), 2)
    testing = shifted & (rng.uniform(size=n_rows) < 0.35)  # card testing: tiny payments
    amount = np.where(testing, np.round(rng.uniform(0.5, 5.0, n_rows), 2), amount)
    age_days = rng.integers(1, 3650, n_rows)
    hour = rng.integers(0, 24, n_rows)
    online = np.isin(merchant, ["online", "electronics", "travel"])
    old = (
        -5.6
        + 2.2 * online
        + 2.2 * (amount > 150)
        + 2.4 * ((hour < 5) | (hour > 22))
        + 2.8 * (age_days < 180)
    )
    new = -5.0 + 2.2 * (merchant == "online") + 3.5 * (amount < 5) + 1.5 * (age_days < 365)
    logit = np.where(shifted, new, old)
    is_fraud = (rng.uniform(size=n_rows) < 1.0 / (1.0 + np.exp(-logit))).astype("int64")
    return pd.DataFrame(
        {
            "ts": pd.Timestamp(START) + pd.to_timedelta(offsets, "D"),
            "merchant": merchant.astype(object),
            "country": country.astype(object),
            "amount": amount,
            "age_days": age_days.astype("int64"),
            "hour": hour.astype("int64"),
            "is_fraud": is_fraud,
        }
    )


def make_transactions(
    n_rows: int = 20_000,
    seed: int = 7,
    dirty_fraction: float = 0.03,
    first_day: int = 1,
    last_day: int = SHIFT_AFTER_DAY,
) -> Any:
    """The training window (default days 1-30), with the mess described above."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    df = _rows(n_rows, rng, first_day, last_day)
    df.insert(0, "txn_id", np.arange(n_rows, dtype="int64"))
    n_dirty = int(n_rows * dirty_fraction)
    pick = rng.choice(n_rows, 4 * n_dirty, replace=False)
    messy, negative, missing, bad_country = np.split(pick, 4)
    df.loc[messy, "merchant"] = [f"  {m.upper()} " for m in df.loc[messy, "merchant"]]
    df.loc[negative, "amount"] = -df.loc[negative, "amount"]
    df.loc[missing, "amount"] = np.nan
    df.loc[bad_country, "country"] = "XX"
    replayed = df.sample(n=n_dirty, random_state=seed)
    return pd.concat([df, replayed], ignore_index=True)


def make_day(day: int, rows: int = 700, seed: int = 7) -> Any:
    """The clean transactions of one day of the stream (1-based); transaction ids continue
    after the training window's and never collide between days."""
    import numpy as np

    if not 1 <= day <= DAYS:
        raise ValueError(f"day {day} is outside the stream (1..{DAYS})")
    rng = np.random.default_rng([seed, day])
    df = _rows(rows, rng, day, day)
    df.insert(0, "txn_id", np.arange(rows, dtype="int64") + 1_000_000 * day)
    return df


def write_stream(
    out_dir: str | Path, days: range = range(1, DAYS + 1), rows: int = 700, seed: int = 7
) -> list[Path]:
    """``out_dir/day-NN.parquet`` for each day; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for day in days:
        path = out / f"day-{day:02d}.parquet"
        make_day(day, rows, seed).to_parquet(path, index=False)
        paths.append(path)
    return paths


def _days(text: str) -> range:
    first, _, last = text.partition("-")
    return range(int(first), int(last or first) + 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the fraud example's daily stream.")
    parser.add_argument("--out", default="data/stream", help="directory (default data/stream)")
    parser.add_argument("--days", default=f"1-{DAYS}", help="e.g. 31-60 (default 1-60)")
    parser.add_argument("--rows", type=int, default=700, help="transactions per day")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    paths = write_stream(args.out, _days(args.days), args.rows, args.seed)
    print(f"wrote {len(paths)} days to {args.out}/ ({paths[0].name} .. {paths[-1].name})")


if __name__ == "__main__":
    main()
