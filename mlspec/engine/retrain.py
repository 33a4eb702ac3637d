"""``mlspec monitor --retrain``: rerun the spec on a new data window, through the normal engine.

The window is built from what the monitored model was trained on — the ``load.data`` artifact
of the run that registered it, from the store, digest-verified — then every labelled batch
monitored for that model since it was registered (``mlspec monitor`` keeps labelled current data
in the store and names it in its result), then the current data:

- ``monitor.window.kind: append``: all of it, in that order;
- ``sliding``: the same, then only the ``last`` N rows or the ``last`` span of time (by
  ``monitor.window.time_column``, default the time split's column).

The window is written once (atomically) to ``.mlspec/monitor/windows/<result id>.parquet`` and
the spec runs with ``data.source`` pointing at it; everything else is the spec as composed
(overrides included). The run is an ordinary run: cleaning, validation, split, training,
evaluation and the gates of ``evaluate.gates`` against the champion; a new version is registered
and the alias moved only when every gate passes. Retraining again from the new champion starts
from this window, so windows chain: append keeps growing, sliding keeps sliding.

The run's lineage has a ``trigger`` section naming the monitoring result (and a
``monitoring_result`` tag), so ``mlspec runs show`` tells why it ran.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from mlspec.config.load import LoadedSpec
from mlspec.config.spec import MonitorSpec, Spec
from mlspec.errors import Problem, SpecError
from mlspec.monitor.errors import MonitorInputError
from mlspec.registry.db import ModelVersion
from mlspec.registry.errors import GatesFailed
from mlspec.store import Store
from mlspec.store.objects import atomic_write
from mlspec.tracking import Tracker

WINDOWS_DIR = ("monitor", "windows")


def training_data(store: Store, version: ModelVersion) -> Any:
    """The raw table the version's run loaded (its ``load.data`` artifact)."""
    from mlspec.registry.register import run_outputs
    from mlspec.store import ArtifactRef

    outputs = run_outputs(Tracker(store.db_path), version.run_id) if version.run_id else {}
    ref = outputs.get("load.data")
    if ref is None:
        raise MonitorInputError(
            Problem(
                "no_training_data",
                f"{version.name}:{version.version} was registered by run"
                f" '{version.run_id}', whose loaded data is not recorded in this project",
                fix="retrain from the project that registered the model (its .mlspec store)",
            )
        )
    return store.load(ArtifactRef.from_dict(ref))


def build_window(
    base: Any, current: Any, mon: MonitorSpec, spec: Spec, earlier: list[Any] | None = None
) -> Any:
    """The new training window (see the module docstring): ``base``, the ``earlier``
    labelled batches, then ``current``."""
    import pandas as pd

    batches = [_aligned(base, b) for b in (earlier or [])]
    window = pd.concat([base, *batches, _aligned(base, current)], ignore_index=True)
    span = mon.window.span
    if mon.window.kind == "append" or span is None:
        return window
    return _slide(window, span, mon, spec)


def _aligned(base: Any, current: Any) -> Any:
    """``current`` with exactly the training data's columns, converted to their types."""
    missing = [c for c in base.columns if c not in current.columns]
    if missing:
        raise MonitorInputError(
            [
                Problem(
                    "missing_column",
                    f"the current data lacks column '{c}', which the training data has:"
                    " retraining appends the current rows to it",
                    loc=(c,),
                    fix="monitor data with every column of the training data"
                    f" ({', '.join(map(str, base.columns))}) to retrain",
                )
                for c in missing
            ]
        )
    new = current[list(base.columns)].copy()
    for col in base.columns:
        if new[col].dtype != base[col].dtype:
            try:
                new[col] = new[col].astype(base[col].dtype)
            except (TypeError, ValueError) as exc:
                raise MonitorInputError(
                    Problem(
                        "wrong_dtype",
                        f"column '{col}' is {new[col].dtype} in the current data but"
                        f" {base[col].dtype} in the training data, and does not convert: {exc}",
                        loc=(col,),
                        fix="convert the column to its training type before retraining",
                    )
                ) from None
    return new


def _slide(window: Any, span: Any, mon: MonitorSpec, spec: Spec) -> Any:
    from mlspec.monitor.windows import take_last

    time_column = mon.window.time_column
    if time_column is None and spec.data.split.kind == "time":
        time_column = spec.data.split.column
    if time_column is not None and time_column not in window.columns:
        raise SpecError(
            Problem(
                "unknown_column",
                f"monitor.window.time_column '{time_column}' is not a column of the data",
                loc=("monitor", "window", "time_column"),
                fix="columns: " + ", ".join(map(str, window.columns)),
            )
        )
    if span.duration is not None and time_column is None:
        raise SpecError(
            Problem(
                "no_time_column",
                "a sliding window by duration needs a time column",
                loc=("monitor", "window", "time_column"),
                fix="set monitor.window.time_column, or give the window's size in rows",
            )
        )
    return take_last(window, span, time_column).reset_index(drop=True)


@dataclass
class PreparedRetrain:
    """Everything checked before the monitoring result is recorded: the window is built (its
    columns and types checked) and written, and the spec that trains on it validates and
    pre-flights (a failure removes the window file again)."""

    loaded: LoadedSpec
    plan: Any
    window: Any
    path: str
    info: dict[str, Any]


def prepare_retrain(
    loaded: LoadedSpec,
    mon: MonitorSpec,
    current: Any,
    earlier: list[dict[str, Any]],
    version: ModelVersion,
    result_id: str,
) -> PreparedRetrain:
    """``earlier``: the labelled batches monitored since ``version`` was registered
    (``MonitorRecords.labelled_batches``), loaded from the store, digest-verified."""
    from omegaconf import OmegaConf

    from mlspec.config.load import validate_cfg
    from mlspec.engine.operations import prepare_run

    root = loaded.source.project_root
    store = Store.for_project(root)
    from mlspec.store import ArtifactRef

    base = training_data(store, version)
    frames = [
        store.load(ArtifactRef(digest=b["digest"], codec="frame", size=int(b["size"])))
        for b in earlier
    ]
    window = build_window(base, current, mon, loaded.spec, frames)
    path = store.root.joinpath(*WINDOWS_DIR, f"{result_id}.parquet")
    rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    resolved = {**loaded.resolved, "data": {**loaded.resolved["data"]}}
    resolved["data"]["source"] = {"kind": "parquet", "path": rel}
    retrained = validate_cfg(
        OmegaConf.create(resolved), loaded.source, loaded.choices, list(loaded.overrides)
    )
    buf = io.BytesIO()
    window.to_parquet(buf, index=False)
    atomic_write(path, buf.getvalue(), store.root / "tmp")
    try:
        plan = prepare_run(retrained)  # pre-flight: reads the store, writes nothing
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    info = {
        "kind": mon.window.kind,
        "last": mon.window.last,
        "path": rel,
        "rows": len(window),
        "rows_training": len(base),
        "rows_current": len(current),
        "rows_earlier": sum(len(f) for f in frames),
        "batches_earlier": [b["id"] for b in earlier],
    }
    return PreparedRetrain(retrained, plan, window, rel, info)


def retrain(
    prepared: PreparedRetrain,
    result: dict[str, Any],
    version: ModelVersion,
    console: Any,
) -> dict[str, Any]:
    """Write the window, run the spec on it; returns ``{"run_id", "outcome", "version",
    "promoted", "window": {...}, "gates": [...]}``. Outcome ``promoted`` (a new version got the
    alias), ``not_blessed`` (a gate failed; nothing registered), ``unchanged`` (the model is
    identical to the champion) or ``registered`` (blessed, no alias to move)."""
    from mlspec.engine.operations import execute_run, new_run_id
    from mlspec.registry.registry import Registry

    loaded = prepared.loaded
    root = loaded.source.project_root
    run_id = new_run_id()
    info = prepared.info
    trigger = {
        "kind": "monitor",
        "monitoring_result": result["id"],
        "model": f"{version.name}:{version.version}",
        "rule": result["retrain_when"]["rule"],
        "window": f"{info['kind']}, {info['rows']} rows ({prepared.path})",
    }
    console.print(
        f"[bold]retrain[/] {run_id}: {result['retrain_when']['rule']} holds; window"
        f" {info['kind']} = {info['rows_training']} training + {info['rows_current']} new rows"
        f" -> {info['rows']} rows ({prepared.path})"
    )
    blessed = True
    try:
        execute_run(loaded, console, plan=prepared.plan, run_id=run_id, trigger=trigger)
    except GatesFailed:
        blessed = False
    registry = Registry.for_project(root)
    head, gates = registry.db.run_gates(run_id)
    reg = loaded.spec.register_
    name = reg.name if reg else version.name
    alias = reg.alias if reg else None
    new_version = head.get("version") if head else None
    at_alias = registry.db.aliases(name).get(alias) if alias else None
    if not blessed:
        outcome = "not_blessed"
    elif new_version is not None and alias and at_alias == new_version:
        outcome = "promoted" if new_version != version.version else "unchanged"
    else:
        outcome = "registered" if new_version is not None else "not_registered"
    return {
        "run_id": run_id,
        "outcome": outcome,
        "blessed": blessed,
        "version": new_version,
        "alias": alias,
        "promoted": outcome == "promoted",
        "previous_version": version.version,
        "window": info,
        "gates": gates,
    }
