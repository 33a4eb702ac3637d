"""Synthetic card transactions for the fraud example: realistic shape, realistic mess.

Seeded, so every run (and every machine) sees the same table. The mess is deliberate and counted:
exact duplicate rows (a replayed batch), merchants with stray case and spaces, negative and
missing amounts, and a few impossible country codes — what `data.clean` and the schema's
quarantine policy are for.
"""

from __future__ import annotations

from typing import Any


def make_transactions(n_rows: int = 20_000, seed: int = 7, dirty_fraction: float = 0.03) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    merchants = np.array(["grocer", "fuel", "electronics", "travel", "online", "pharmacy"])
    countries = np.array(["DE", "FR", "ES", "IT", "NL", "PL"])
    merchant = rng.choice(merchants, n_rows, p=[0.3, 0.2, 0.1, 0.1, 0.2, 0.1])
    country = rng.choice(countries, n_rows)
    amount = np.round(rng.lognormal(3.5, 1.0, n_rows), 2)
    age_days = rng.integers(1, 3650, n_rows)
    hour = rng.integers(0, 24, n_rows)
    ts = pd.Timestamp("2025-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 365, n_rows)), "D")
    # Fraud is likelier for large online/electronics/travel payments at night on young accounts.
    logit = (
        -5.0
        + 1.6 * np.isin(merchant, ["online", "electronics", "travel"])
        + 1.4 * (amount > 150)
        + 1.5 * ((hour < 5) | (hour > 22))
        + 1.8 * (age_days < 180)
    )
    is_fraud = (rng.uniform(size=n_rows) < 1.0 / (1.0 + np.exp(-logit))).astype("int64")
    df = pd.DataFrame(
        {
            "txn_id": np.arange(n_rows, dtype="int64"),
            "ts": ts,
            "merchant": merchant.astype(object),
            "country": country.astype(object),
            "amount": amount,
            "age_days": age_days.astype("int64"),
            "hour": hour.astype("int64"),
            "is_fraud": is_fraud,
        }
    )
    n_dirty = int(n_rows * dirty_fraction)
    pick = rng.choice(n_rows, 4 * n_dirty, replace=False)
    messy, negative, missing, bad_country = np.split(pick, 4)
    df.loc[messy, "merchant"] = [f"  {m.upper()} " for m in df.loc[messy, "merchant"]]
    df.loc[negative, "amount"] = -df.loc[negative, "amount"]
    df.loc[missing, "amount"] = np.nan
    df.loc[bad_country, "country"] = "XX"
    replayed = df.sample(n=n_dirty, random_state=seed)
    return pd.concat([df, replayed], ignore_index=True)
