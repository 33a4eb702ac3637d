"""Synthetic daily retail demand for the demand-forecast example: several stores, two years.

Seeded, so every run (and every machine) sees the same table. One row per store and day:

- ``customers``: footfall, counted at the end of the day (so only *earlier* days' counts are
  known when forecasting a day: the spec uses it through lags and rolling windows only)
- ``promo``: a promotion running that day (planned in advance: known when forecasting)
- ``holiday``: a public holiday (stores open shorter hours)
- ``sales``: units sold that day, the target

Demand = store level x slow drift x weekly pattern x yearly season x promo uplift x holiday
effect x a persistent store-level shock (AR(1): busy weeks stay busy, which is what recent
footfall reveals) x day noise.
"""

from __future__ import annotations

from typing import Any

# (month, day) of the fixed-date holidays, every year
HOLIDAYS = ((1, 1), (5, 1), (10, 3), (12, 24), (12, 25), (12, 26), (12, 31))
WEEKLY = (0.85, 0.8, 0.85, 0.95, 1.15, 1.45, 0.95)  # Monday .. Sunday


def make_sales(
    n_stores: int = 5,
    days: int = 730,
    start: str = "2023-01-02",
    seed: int = 11,
    promo_share: float = 0.15,
) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    t = np.arange(days)
    weekly = np.asarray(WEEKLY)[dates.dayofweek]
    yearly = 1.0 + 0.25 * np.sin(2 * np.pi * (dates.dayofyear - 100) / 365.25)
    december = 1.0 + 0.35 * ((dates.month == 12) & (dates.day < 24))  # the run-up to Christmas
    holiday = np.array([(d.month, d.day) in HOLIDAYS for d in dates])
    frames = []
    for s in range(n_stores):
        level = rng.uniform(80, 400)
        drift = 1.0 + rng.uniform(-0.1, 0.25) * t / days
        promo = _promotion_weeks(rng, days, promo_share)
        uplift = np.where(promo, rng.uniform(1.25, 1.45), 1.0)
        shock = _ar1(rng, days, phi=0.93, sigma=0.05)
        demand = (
            level
            * drift
            * weekly
            * yearly
            * december
            * uplift
            * np.where(holiday, 0.55, 1.0)
            * np.exp(shock)
        )
        basket = rng.uniform(1.6, 2.4)  # units per customer, per store
        customers = rng.poisson(demand / basket * rng.lognormal(0.0, 0.04, days))
        sales = rng.poisson(customers * basket * rng.lognormal(0.0, 0.05, days))
        frames.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "store": f"store_{s + 1}",
                    "promo": promo.astype("int64"),
                    "holiday": holiday.astype("int64"),
                    "customers": customers.astype("int64"),
                    "sales": sales.astype("float64"),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["date", "store"], kind="stable").reset_index(drop=True)


def _promotion_weeks(rng: Any, days: int, share: float) -> Any:
    """Promotions run for whole weeks, in about ``share`` of the weeks."""
    import numpy as np

    weeks = -(-days // 7)
    on = rng.uniform(size=weeks) < share
    return np.repeat(on, 7)[:days]


def _ar1(rng: Any, n: int, phi: float, sigma: float) -> Any:
    import numpy as np

    x = np.zeros(n)
    noise = rng.normal(0.0, sigma, n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + noise[i]
    return x
