"""``mlspec monitor``: compare current data with a registered model's reference profile.

One monitoring run, in order: compose and validate the spec (its ``monitor:`` section); resolve
the model (``model=`` on the command line, ``monitor.model``, else ``register.name@champion``);
read the reference profile from the model's bundle (digest-verified); read the current data (a
file, or a window of the serving log); score it through the same ``ScoringPipeline`` that
``mlspec serve`` and ``mlspec score`` use (prediction drift); ``compare`` column by column;
performance against training when the current data carries labels; evaluate
``monitor.retrain_when``; record the result in the project database; and, with ``--retrain``
when the rule holds, retrain through the normal engine (``mlspec.engine.retrain``).

Bad current data (no rows, missing columns, wrong types) raises ``MonitorInputError`` (exit 2)
before anything is recorded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlspec.config.load import LoadedSpec, compose_spec
from mlspec.config.locate import SpecSource
from mlspec.config.spec import MonitorSpec
from mlspec.errors import DataError, MlspecError, Problem, SpecError, choices_hint
from mlspec.monitor.errors import MonitorInputError
from mlspec.monitor.records import MonitorRecords, new_result_id
from mlspec.store import Store

SERVING_LOG = "serving-log"


@dataclass
class MonitorRequest:
    source: SpecSource
    overrides: list[str] = field(default_factory=list)
    current: str = SERVING_LOG
    model: str | None = None
    last: str | None = None  # serving-log window: rows or a duration
    since: str | None = None
    until: str | None = None
    retrain: bool = False


@dataclass
class MonitorOutcome:
    result: dict[str, Any]

    @property
    def exit_code(self) -> int:
        return int(self.result["exit_code"])


def monitor_spec(loaded: LoadedSpec) -> MonitorSpec:
    return loaded.spec.monitor or MonitorSpec()


def model_ref(loaded: LoadedSpec, given: str | None) -> str:
    """``model=`` > ``monitor.model`` > ``register.name@<register.compare_to>``."""
    if given:
        return given
    mon = loaded.spec.monitor
    if mon is not None and mon.model:
        return mon.model
    reg = loaded.spec.register_
    if reg is not None:
        return f"{reg.name}@{reg.compare_to}"
    raise SpecError(
        Problem(
            "no_model",
            "nothing names the model to monitor",
            loc=("monitor", "model"),
            file=loaded.source.display(loaded.source.file),
            fix="set monitor.model (e.g. fraud-detector@champion), add a register: section,"
            " or pass model=NAME@ALIAS",
        )
    )


def run_monitor(request: MonitorRequest, console: Any) -> MonitorOutcome:
    from mlspec.registry.registry import Registry

    loaded = compose_spec(request.source, request.overrides)
    mon = monitor_spec(loaded)
    root = request.source.project_root
    ref = model_ref(loaded, request.model)
    registry = Registry.for_project(root)
    version = registry.resolve(ref)
    profile, inputs = _reference_profile(registry, version, ref)
    ignored = _ignored(loaded, mon, profile)
    target = loaded.spec.data.target
    current, where, window = _current_data(request, mon, version.name, root)
    # Checked against the bundle's input schema before the model is even decoded: bad data
    # fails fast (exit 2) and names its columns.
    check_inputs(current, inputs, ref)
    from mlspec.monitor.performance import labelled

    has_labels = labelled(current, target)
    if request.retrain and not has_labels:
        raise MonitorInputError(
            Problem(
                "retrain_without_labels",
                f"--retrain needs labelled data, and the current data ({where}) has no"
                f" '{target}' column with values",
                loc=(target,),
                fix="monitor labelled data (a file with the target column) to retrain, or drop"
                " --retrain to only report drift",
            )
        )
    scored = _score(f"{version.name}:{version.version}", current, root)
    drift = _compare(profile, ignored, current, mon, scored)
    perf = None
    if has_labels:
        from mlspec.monitor.performance import performance

        perf = performance(
            current[target],
            scored["predictions"],
            scored["probabilities"],
            scored["task"],
            scored["classes"],
            version.metrics,
        )
        perf["target"] = target
    result: dict[str, Any] = {
        "id": new_result_id(),
        "created_at": time.time(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "spec": loaded.spec.name,
        "model": {
            "ref": ref,
            "name": version.name,
            "version": version.version,
            "model_digest": version.model_digest,
            "run_id": version.run_id,
            "task": scored["task"],
        },
        "current": {"source": where, "rows": len(current), "window": window},
        "ignored": ignored,
        "drift": drift,
        "performance": perf,
        "retrain": None,
    }
    result["retrain_when"] = mon.retrain_when.evaluate(result)
    prediction = drift.get("prediction") or {}
    drifted = (
        bool(drift["dataset_drift"])
        or bool(prediction.get("drifted"))
        or bool(result["retrain_when"]["holds"])
    )
    result["status"] = "drift" if drifted else drift["status"]
    result["exit_code"] = 1 if drifted else 0
    store = Store.for_project(root)
    # Labelled rows are training material: kept (content-addressed) so a later retrain's
    # window holds every labelled batch monitored since the model was trained.
    kept = store.encode(current.reset_index(drop=True), "frame") if has_labels else None
    prepared = None
    if request.retrain and result["retrain_when"]["holds"]:
        from mlspec.engine.retrain import prepare_retrain

        # Checked before anything is recorded: bad columns or a spec that does not validate
        # on the window fail here (exit 2), not halfway.
        assert kept is not None  # --retrain requires labels
        earlier = [
            b
            for b in MonitorRecords(store.db_path).labelled_batches(
                version.name, since=version.created_at
            )
            if b["digest"] != kept[0].digest  # this very batch, monitored before
        ]
        prepared = prepare_retrain(loaded, mon, current, earlier, version, result["id"])
    if kept is not None:
        store.ensure()
        store.objects.put(kept[1])
        result["current"]["frame"] = {"digest": kept[0].digest, "size": kept[0].size}
    records = MonitorRecords(store.db_path)
    records.save(result)
    if prepared is not None:
        from mlspec.engine.retrain import retrain

        try:
            outcome = retrain(prepared, result, version, console)
        except MlspecError as exc:
            records.set_retrain(result["id"], {"outcome": "failed", "error": exc.render()})
            raise
        result["retrain"] = outcome
        records.set_retrain(result["id"], outcome)
    return MonitorOutcome(result)


# -- steps ----------------------------------------------------------------------------------------


def _reference_profile(registry: Any, version: Any, ref: str) -> tuple[Any, list[tuple[str, str]]]:
    """The version's reference profile and input columns (name, dtype), from its bundle."""
    import json

    from mlspec.monitor.profile import ReferenceProfile
    from mlspec.registry.bundle import REFERENCE_PROFILE

    _, files = registry.read_bundle(version)  # every file checked against its digest
    label = f"{version.name}:{version.version}"
    if REFERENCE_PROFILE not in files:
        raise MonitorInputError(
            Problem(
                "no_reference_profile",
                f"{label} ({ref}) was registered before reference profiles were captured:"
                " there is nothing to compare with",
                fix="rerun the spec so the register stage stores a new version with"
                " reference_profile.json",
            )
        )
    schema = json.loads(files["input_schema.json"])
    inputs = [(str(c["name"]), str(c.get("dtype") or "")) for c in schema["columns"]]
    return ReferenceProfile.from_json(json.loads(files[REFERENCE_PROFILE])), inputs


def check_inputs(current: Any, inputs: list[tuple[str, str]], ref: str) -> None:
    """Every input column present, timestamps parsed from text, types compatible."""
    needed = [name for name, _ in inputs]
    missing = [c for c in needed if c not in current.columns]
    if missing:
        raise MonitorInputError(
            [
                Problem(
                    "missing_column",
                    f"the current data lacks column '{c}', which model {ref} takes",
                    loc=(c,),
                    fix="the model takes: " + ", ".join(needed),
                )
                for c in missing
            ]
        )
    _parse_timestamps(current, inputs)
    wrong = _wrong_dtypes(current, inputs)
    if wrong:
        raise MonitorInputError(wrong)


def _ignored(loaded: LoadedSpec, mon: MonitorSpec, profile: Any) -> list[str]:
    """Columns not compared: ``monitor.ignore``, else the columns ``features.drop`` removes."""
    if mon.ignore is not None:
        unknown = [c for c in mon.ignore if c not in profile.columns]
        if unknown:
            raise SpecError(
                [
                    Problem(
                        "unknown_column",
                        f"monitor.ignore names '{c}', which the model's reference lacks",
                        loc=("monitor", "ignore"),
                        file=loaded.source.display(loaded.source.file),
                        fix=choices_hint(c, list(profile.columns)),
                    )
                    for c in unknown
                ]
            )
        return list(mon.ignore)
    drop = loaded.spec.features.get("drop") or []
    return [c for c in drop if c in profile.columns]


def _current_data(
    request: MonitorRequest, mon: MonitorSpec, model_name: str, root: Path
) -> tuple[Any, str, str | None]:
    """(frame, where it came from, the window in words)."""
    from mlspec.monitor.current import read_current, require_rows

    if request.current != SERVING_LOG:
        return read_current(request.current, root), request.current, None
    log = mon.serving_log
    if log is None:
        raise SpecError(
            Problem(
                "no_serving_log",
                "current=serving-log, but the spec has no monitor.serving_log",
                loc=("monitor", "serving_log"),
                fix="add monitor: {serving_log: {dir: DIR}} (the DIR of `mlspec serve"
                " --log-requests DIR`), or pass current=PATH",
            )
        )
    from mlspec.monitor.serving_log import read_serving_log_detailed
    from mlspec.monitor.windows import parse_span, take_last

    directory = Path(log.dir) if Path(log.dir).is_absolute() else root / log.dir
    last = request.last if request.last is not None else log.last
    try:
        span = parse_span(last) if last is not None else None
    except ValueError as exc:
        raise SpecError(
            Problem("bad_window", str(exc), loc=("monitor", "serving_log", "last"))
        ) from None
    read = read_serving_log_detailed(
        directory, model=log.model or model_name, since=request.since, until=request.until
    )
    frame = read.frame
    if span is not None:
        frame = take_last(frame, span, "__ts").reset_index(drop=True)
    parts = [str(span)] if span is not None else []
    if request.since:
        parts.append(f"since {request.since}")
    if request.until:
        parts.append(f"until {request.until}")
    where = f"serving-log:{log.dir}"
    require_rows(frame, where + (f" ({', '.join(parts)})" if parts else ""))
    return frame, where, ", ".join(parts) or "everything logged"


def _score(ref: str, current: Any, root: Path) -> dict[str, Any]:
    """The model's predictions on the current rows, through the serving pipeline; bad input
    becomes a MonitorInputError naming the column."""
    from mlspec.monitor.profile import prediction_scores
    from mlspec.serve.errors import RequestError
    from mlspec.serve.pipeline import ScoringPipeline

    pipe = ScoringPipeline.load(ref, project_root=root)
    needed = [name for name, _ in pipe.input_columns]
    try:
        frame = pipe.validate(current[needed])  # labels and extra columns are not inputs
    except RequestError as exc:
        raise MonitorInputError(exc.problems) from None
    out = pipe.predict(frame, probabilities=True)
    classes = list(pipe.classes) if pipe.classes is not None else None
    scores, _ = prediction_scores(out["predictions"], out["probabilities"], classes)
    return {
        "predictions": out["predictions"],
        "probabilities": out["probabilities"],
        "scores": scores,
        "task": pipe.task,
        "classes": classes,
    }


def _parse_timestamps(current: Any, columns: list[tuple[str, str]]) -> None:
    """Timestamps arrive as text from CSV files and JSON request logs: parse the columns the
    model took as datetimes (in place); text that does not parse is left for the type check."""
    import pandas as pd

    for name, dtype in columns:
        if not str(dtype).startswith("datetime64"):
            continue
        series = current[name]
        if pd.api.types.is_datetime64_any_dtype(series) or series.isna().all():
            continue
        try:
            current[name] = pd.to_datetime(series, format="ISO8601")
        except (TypeError, ValueError):
            continue


def _wrong_dtypes(current: Any, columns: list[tuple[str, str]]) -> list[Problem]:
    """Columns whose type cannot be what the model was trained on: text where numbers or
    timestamps were, numbers where timestamps were (all-missing columns pass: they are a
    missing-rate question, which ``compare`` answers)."""
    import pandas as pd

    types = pd.api.types
    problems = []
    for name, dtype in columns:
        series = current[name]
        if series.isna().all() or not dtype:
            continue
        try:
            expected = pd.api.types.pandas_dtype(dtype)
        except TypeError:
            continue
        if types.is_datetime64_any_dtype(expected):
            ok = types.is_datetime64_any_dtype(series)
        elif types.is_bool_dtype(expected) or types.is_numeric_dtype(expected):
            ok = types.is_numeric_dtype(series) or types.is_bool_dtype(series)
        else:
            continue
        if not ok:
            sample = ", ".join(repr(v) for v in series.dropna().head(3).tolist())
            problems.append(
                Problem(
                    "wrong_dtype",
                    f"column '{name}' is {series.dtype} in the current data (e.g. {sample}) but"
                    f" {dtype} at training",
                    loc=(name,),
                    fix=f"convert '{name}' to {dtype} before monitoring",
                )
            )
    return problems


def _compare(
    profile: Any, ignored: list[str], current: Any, mon: MonitorSpec, scored: dict[str, Any]
) -> dict[str, Any]:
    from mlspec.monitor.drift import compare
    from mlspec.monitor.profile import ReferenceProfile

    kept = ReferenceProfile(
        rows=profile.rows,
        columns={k: v for k, v in profile.columns.items() if k not in ignored},
        options=profile.options,
        prediction=profile.prediction,
        target=profile.target,
    )
    try:
        result = compare(kept, current, mon.drift, current_predictions=scored["scores"])
    except DataError as exc:
        raise MonitorInputError(exc.problems) from None
    except SpecError as exc:  # drift options naming columns or tests that do not fit
        raise SpecError(
            [
                Problem(p.code, p.message, ("monitor", "drift", *p.loc), p.file, p.fix)
                for p in exc.problems
            ]
        ) from None
    return result.to_json()
