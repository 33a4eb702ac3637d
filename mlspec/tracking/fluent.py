"""The fluent tracking API: MLflow's ``start_run`` / ``log_param`` / ``log_metric`` / ``end_run``
for notebooks, scripts and custom stages, recorded in the project's SQLite database.

The seed's snippet works with only the import changed::

    import mlspec.tracking as mlflow
    mlflow.start_run()
    mlflow.log_param("algorithm", "XGBoost")
    mlflow.log_metric("accuracy", 0.94)
    mlflow.end_run()

Which database: :func:`set_tracking_uri` if called, else ``$MLSPEC_TRACKING_URI``, else
``$MLSPEC_STORE/mlspec.db``, else the ``.mlspec/mlspec.db`` of the nearest directory upwards from
the current one that has a ``.mlspec`` store, else a new ``.mlspec/`` in the current directory.

Inside an mlspec stage the engine's run is already active: ``log_*`` attach to it without
``start_run`` (and ``start_run()`` returns it; ``end_run()`` then leaves it running, since the
engine finishes it). ``start_run(nested=True)`` makes a child run anywhere. A stage served from
the cache does not run, so it logs nothing on that run.

Speed and durability: values are buffered and written in batches by
:class:`mlspec.tracking.writer.RunWriter` (see there for exactly what a crash can lose: at most the
last second of logged values if the process is killed; nothing on a normal exit or an uncaught
exception, which end the run through ``atexit``). A forked worker (multiprocessing, joblib) may log
to its parent's run over its own connection; workers usually leave through ``os._exit``, which
skips ``atexit``, so call :func:`flush` (or log with ``synchronous=True``) before returning.
"""

from __future__ import annotations

import atexit
import os
import re
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlspec.errors import Problem, TrackingError
from mlspec.tracking import lineage as _lineage
from mlspec.tracking.db import Tracker, connect
from mlspec.tracking.writer import RunWriter

ENV_TRACKING_URI = "MLSPEC_TRACKING_URI"
DEFAULT_EXPERIMENT = "default"
# MLflow's statuses are accepted too.
_STATUSES = {
    "completed": "completed",
    "finished": "completed",
    "failed": "failed",
    "killed": "killed",
    "running": "running",
}
_NAME = re.compile(r"^[A-Za-z0-9_\-. /:]{1,250}$")


@dataclass
class RunInfo:
    run_id: str
    run_name: str | None
    experiment: str
    status: str
    start_time: float
    db_path: Path
    parent_run_id: str | None = None
    end_time: float | None = None

    @property
    def experiment_id(self) -> str:  # MLflow spelling
        return self.experiment

    @property
    def run_uuid(self) -> str:  # MLflow spelling
        return self.run_id


@dataclass
class ActiveRun:
    """What ``start_run`` returns: ``run.info.run_id`` as in MLflow; a context manager that ends
    the run (``failed`` when the block raised)."""

    info: RunInfo
    engine: bool = False  # the engine's run: ending it here only flushes
    writer: RunWriter | None = field(default=None, repr=False)
    pid: int = field(default_factory=os.getpid)  # a forked child never ends its parent's runs

    @property
    def run_id(self) -> str:
        return self.info.run_id

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        with _lock:
            if self in _stack:
                while _stack and _stack[-1] is not self:  # nested runs left open inside the block
                    _end(_stack[-1], "failed" if exc_type else "completed")
                _end(self, "failed" if exc_type else "completed")


_lock = threading.RLock()
_stack: list[ActiveRun] = []  # the runs started here and not ended, innermost last
_engine: ActiveRun | None = None  # set by the engine while it executes a plan
_last: ActiveRun | None = None
_uri: str | None = None
_experiment: str | None = None
_schema_ready: set[Path] = set()
_checked_names: set[str] = set()


# -- where -----------------------------------------------------------------------------------
def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    """A project directory, a ``.mlspec`` directory, a ``.db`` file or ``sqlite:///path.db``;
    None goes back to the default look-up."""
    global _uri
    _uri = None if uri is None else str(uri)


def get_tracking_uri() -> str:
    return f"sqlite:///{db_path()}"


def set_experiment(name: str) -> str:
    """Runs started from now on belong to this experiment (shown as their spec name)."""
    global _experiment
    _experiment = str(name)
    return _experiment


def _from_uri(uri: str) -> Path:
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///") :]).expanduser().resolve()
    if "://" in uri:
        raise TrackingError(
            Problem(
                "bad_tracking_uri",
                f"tracking URI '{uri}' is not supported",
                fix="give a project directory, a .mlspec directory, a .db file or sqlite:///PATH",
            )
        )
    path = Path(uri).expanduser().resolve()
    if path.suffix == ".db" or path.is_file():
        return path
    if path.name == ".mlspec":
        return path / "mlspec.db"
    return path / ".mlspec" / "mlspec.db"


def db_path() -> Path:
    """The database file the fluent API writes to (see the module docstring)."""
    uri = _uri or os.environ.get(ENV_TRACKING_URI)
    if uri:
        return _from_uri(uri)
    store = os.environ.get("MLSPEC_STORE")
    if store:
        return Path(store).resolve() / "mlspec.db"
    here = Path.cwd().resolve()
    for directory in (here, *here.parents):
        if (directory / ".mlspec").is_dir():
            return directory / ".mlspec" / "mlspec.db"
    return here / ".mlspec" / "mlspec.db"


_connections: dict[Path, sqlite3.Connection] = {}


def _connection(path: Path) -> sqlite3.Connection:
    """One connection per database for the whole process (used under ``_lock``), closed at
    exit: opening one costs PRAGMAs, closing the last one checkpoints the WAL."""
    conn = _connections.get(path)
    if conn is None:
        conn = _connections[path] = connect(path, check_same_thread=False)
    return conn


def _ready(path: Path) -> Tracker:
    tracker = Tracker(path)
    if path not in _schema_ready:
        path.parent.mkdir(parents=True, exist_ok=True)
        gitignore = path.parent / ".gitignore"
        if path.parent.name == ".mlspec" and not gitignore.exists():
            gitignore.write_text("# mlspec's artifact store and run database\n*\n")
        tracker.ensure_schema()
        _schema_ready.add(path)
    return tracker


# -- runs ------------------------------------------------------------------------------------
def _new_run_id() -> str:
    import secrets

    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it the active one.

    Inside an mlspec stage, the engine's run is returned (no new run) unless ``nested=True``.
    With a run already active, ``nested=True`` is required, as in MLflow.
    """
    global _last
    with _lock:
        if not nested and run_id is None and _engine is not None and _engine not in _stack:
            _stack.append(_engine)
            _tag_and_describe(_engine, tags, description)
            return _engine
        if _stack and not nested:
            raise TrackingError(
                Problem(
                    "run_already_active",
                    f"run {_stack[-1].run_id} is already active",
                    fix="end it with end_run() first, or start a child run with"
                    " start_run(nested=True)",
                )
            )
        parent = (_stack[-1] if _stack else _engine) if nested else None
        if parent is not None and parent_run_id is None:
            parent_run_id = parent.run_id
        # A child run lives in its parent's database and experiment (the engine's, in a stage).
        path = parent.info.db_path if parent is not None else db_path()
        tracker = _ready(path)
        default = parent.info.experiment if parent is not None else DEFAULT_EXPERIMENT
        experiment = experiment_id or _experiment or default
        now = time.time()
        if run_id is not None:
            existing = tracker.get_run(run_id)
            if existing is None:
                raise TrackingError(
                    Problem(
                        "unknown_run",
                        f"no run '{run_id}' in {path}",
                        fix="list runs with `mlspec runs ls`",
                    )
                )
            run_id, experiment = existing.run_id, existing.spec_name
            run_name = run_name or existing.run_name
            parent_run_id = parent_run_id or existing.parent_run_id
            writer = RunWriter(path, run_id, shared=_connection(path))
            writer.connection().execute(
                "UPDATE runs SET status = 'running', finished_at = NULL, pid = ?, host = ?"
                " WHERE run_id = ?",
                (os.getpid(), socket.gethostname(), run_id),
            )
            now = existing.started_at
        else:
            run_id = _new_run_id()
            code = _code_lineage(Path.cwd())
            writer = RunWriter(path, run_id, shared=_connection(path))
            conn = writer.connection()
            conn.execute("BEGIN")
            tracker.start_run(
                run_id,
                experiment,
                {},
                [],
                code.get("commit"),
                None,
                mlspec_version=code.get("mlspec"),
                run_name=run_name,
                source="fluent",
                parent_run_id=parent_run_id,
                conn=conn,
            )
            lineage = {"code": code, "environment": _lineage.environment({})}
            tracker.record_lineage(run_id, lineage, conn=conn)
            conn.execute("COMMIT")
        active = ActiveRun(
            RunInfo(run_id, run_name, experiment, "running", now, path, parent_run_id),
            writer=writer,
        )
        system = {"mlspec.user": _user(), "mlspec.source": _source()}
        if parent_run_id:
            system["mlspec.parentRunId"] = parent_run_id
        writer.tags(system)
        _tag_and_describe(active, tags, description)
        _stack.append(active)
        _last = active
        return active


def _tag_and_describe(
    run: ActiveRun, tags: Mapping[str, Any] | None, description: str | None
) -> None:
    extra = dict(tags or {})
    if description is not None:
        extra["mlspec.note.content"] = description
    if extra:
        _check_names(extra, "tag")
        _writer(run).tags(extra)


_code_cache: dict[Path, dict[str, Any]] = {}


def _code_lineage(root: Path) -> dict[str, Any]:
    """Git state once per directory and process: one `git status` per script, not per run."""
    if root not in _code_cache:
        _code_cache[root] = _lineage.code(root)
    return _code_cache[root]


def _user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no user name (some containers): not worth failing a run over
        return "unknown"


def _source() -> str:
    main = sys.modules.get("__main__")
    name = getattr(main, "__file__", None)
    if not name or str(name).startswith("<"):
        return str(name or "<interactive>")
    return str(Path(name).resolve())


def _writer(run: ActiveRun) -> RunWriter:
    if run.writer is None:
        shared = None if run.engine else _connection(run.info.db_path)
        run.writer = RunWriter(run.info.db_path, run.run_id, shared=shared)
    return run.writer


def end_run(status: str = "completed") -> None:
    """End the active run (``completed``, ``failed`` or ``killed``; MLflow's ``FINISHED``,
    ``FAILED``, ``KILLED`` too). Nothing happens when no run is active, as in MLflow."""
    state = _STATUSES.get(str(status).lower())
    if state is None or state == "running":
        raise TrackingError(
            Problem(
                "bad_status",
                f"cannot end a run with status '{status}'",
                fix="use 'completed', 'failed' or 'killed'",
            )
        )
    with _lock:
        if _stack:
            _end(_stack[-1], state)


def _end(run: ActiveRun, status: str) -> None:
    _stack.remove(run)
    writer = _writer(run)
    if run.engine:  # the engine finishes its own run; leave it attached and flushed
        writer.flush()
        return
    now = time.time()
    statements: list[tuple[str, tuple[Any, ...]]] = [
        ("UPDATE runs SET status = ?, finished_at = ? WHERE run_id = ?", (status, now, run.run_id))
    ]
    libraries = _lineage.imported_libraries()
    if libraries:
        statements.append(
            (
                "UPDATE lineage SET lineage_json = json_set(lineage_json,"
                " '$.environment.libraries', json(?)) WHERE run_id = ?",
                (_json(libraries), run.run_id),
            )
        )
    writer.flush(statements)
    writer.close()
    _params_seen.pop(run.run_id, None)
    run.info.status, run.info.end_time = status, now


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def active_run() -> ActiveRun | None:
    """The innermost active run (the engine's run inside a stage), or None."""
    with _lock:
        if _stack:
            return _stack[-1]
        return _engine


def last_active_run() -> ActiveRun | None:
    return _stack[-1] if _stack else _last


def _current(run_id: str | None = None) -> ActiveRun:
    """The run to log to: the named one, the active one, the engine's, or a new one (MLflow
    starts a run on the first log call too)."""
    if run_id is not None:
        for run in (*_stack, _engine):
            if run is not None and run.run_id == run_id:
                return run
        raise TrackingError(
            Problem(
                "run_not_active",
                f"run '{run_id}' is not active in this process",
                fix=f"resume it first: start_run(run_id='{run_id}')",
            )
        )
    if _stack:
        return _stack[-1]
    if _engine is not None:
        return _engine
    return start_run()


# -- logging ---------------------------------------------------------------------------------
def _check_name(name: Any, kind: str) -> str:
    if name in _checked_names:
        return name  # type: ignore[no-any-return]
    if not isinstance(name, str) or not _NAME.match(name):
        raise TrackingError(
            Problem(
                f"bad_{kind}_name",
                f"{kind} name {name!r} is not allowed",
                fix="use 1-250 letters, digits, and _ - . / : or spaces",
            )
        )
    _checked_names.add(name)
    return name


def _check_names(values: Mapping[str, Any], kind: str) -> None:
    for key in values:
        _check_name(key, kind)


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    synchronous: bool | None = None,
) -> None:
    """Log one value of metric ``key`` at ``step`` (default 0). ``timestamp`` is in
    milliseconds since the epoch, as in MLflow (default: now). ``synchronous=True`` writes it to
    the database before returning; otherwise it is buffered (see the module docstring)."""
    name = key if key in _checked_names else _check_name(key, "metric")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TrackingError(
            Problem(
                "bad_metric_value",
                f"metric '{key}' got {value!r}, which is not a number",
                fix="log numbers (int, float, numpy scalars); log text as a param or tag",
            )
        ) from None
    ts = time.time() if timestamp is None else timestamp / 1000.0
    with _lock:
        run = _current(run_id)
        writer = run.writer or _writer(run)
        writer.metric(name, number, 0 if step is None else int(step), ts)
        if synchronous:
            writer.flush()


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    synchronous: bool | None = None,
) -> None:
    for key, value in metrics.items():
        log_metric(key, value, step, timestamp, run_id)
    if synchronous:
        flush()


def log_param(key: str, value: Any, run_id: str | None = None) -> Any:
    """Record a param. Logging a different value for a key already logged to this run in this
    process is an error, as in MLflow (params describe a run; metrics change)."""
    log_params({key: value}, run_id)
    return value


def log_params(params: Mapping[str, Any], run_id: str | None = None) -> None:
    _check_names(params, "param")
    with _lock:
        run = _current(run_id)
        seen = _params_seen.setdefault(run.run_id, {})
        for key, value in params.items():
            if key in seen and seen[key] != value:
                raise TrackingError(
                    Problem(
                        "param_changed",
                        f"param '{key}' of run {run.run_id} is already {seen[key]!r};"
                        f" cannot change it to {value!r}",
                        fix="params are fixed once logged: start a new run, or log a metric"
                        " or a tag if the value changes",
                    )
                )
        seen.update(params)
        _writer(run).params(params)


_params_seen: dict[str, dict[str, Any]] = {}


def set_tag(key: str, value: Any, run_id: str | None = None) -> None:
    set_tags({key: value}, run_id)


def set_tags(tags: Mapping[str, Any], run_id: str | None = None) -> None:
    _check_names(tags, "tag")
    with _lock:
        _writer(_current(run_id)).tags(tags)


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
    """Copy a file into the content-addressed store and record it against the active run under
    ``artifact_path/<file name>``; returns its digest. Written at once (not buffered)."""
    path = Path(local_path)
    if not path.is_file():
        raise TrackingError(
            Problem(
                "missing_artifact",
                f"'{local_path}' is not a file",
                fix="pass the path of an existing file (log_artifacts for a directory)",
            )
        )
    with _lock:
        run = _current()
        return _put_artifact(run, path, _join(artifact_path, path.name))


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Every file under ``local_dir``, keeping their relative paths."""
    root = Path(local_dir)
    if not root.is_dir():
        raise TrackingError(
            Problem("missing_artifact", f"'{local_dir}' is not a directory", fix="check the path")
        )
    with _lock:
        run = _current()
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            _put_artifact(run, path, _join(artifact_path, path.relative_to(root).as_posix()))


def _join(prefix: str | None, name: str) -> str:
    return f"{prefix.strip('/')}/{name}" if prefix else name


def _put_artifact(run: ActiveRun, path: Path, name: str) -> str:
    from mlspec.store import Store

    store = Store(run.info.db_path.parent)
    store.ensure()
    data = path.read_bytes()
    digest = store.objects.put(data)
    _writer(run).connection().execute(
        "INSERT OR REPLACE INTO run_artifacts VALUES (?, ?, ?, ?, ?)",
        (run.run_id, name, digest, len(data), time.time()),
    )
    return digest


def flush() -> None:
    """Write every buffered value of every active run now."""
    with _lock:
        for run in {id(r): r for r in (*_stack, _engine) if r is not None}.values():
            if run.writer is not None:
                run.writer.flush()


# -- the engine's hook -----------------------------------------------------------------------
@contextmanager
def engine_run(db: Path, run_id: str, experiment: str) -> Iterator[ActiveRun]:
    """Make the engine's run the one stages log to while a plan executes (the runner's hook).
    Cheap when nothing logs: the connection opens on the first flush."""
    global _engine
    run = ActiveRun(RunInfo(run_id, None, experiment, "running", time.time(), db), engine=True)
    with _lock:
        previous, _engine = _engine, run
    try:
        yield run
    finally:
        with _lock:
            _engine = previous
            while run in _stack:
                _stack.remove(run)
            if run.writer is not None:
                run.writer.close()
            _params_seen.pop(run_id, None)


def _at_exit() -> None:
    """End the runs a script left open: failed if it died of an uncaught exception."""
    failed = getattr(sys, "last_value", None) is not None
    with _lock:
        while _stack:
            run = _stack[-1]
            try:
                if run.pid != os.getpid():  # inherited through fork: the parent ends it
                    _stack.remove(run)
                    _writer(run).close()
                    continue
                _end(run, "failed" if failed else "completed")
            except Exception as exc:  # the interpreter is exiting: report, never raise
                if run in _stack:
                    _stack.remove(run)
                print(f"mlspec: could not end run {run.run_id}: {exc}", file=sys.stderr)
        for conn in _connections.values():
            conn.close()
        _connections.clear()


def _after_fork_in_child() -> None:
    """A forked child (multiprocessing, joblib) must not share its parent's SQLite connections
    nor write the values its parent buffered: it gets fresh connections and empty buffers, and
    may go on logging to the inherited runs."""
    global _lock
    _lock = threading.RLock()
    _connections.clear()  # not closed: they belong to the parent
    for run in (*_stack, _engine):
        if run is not None and run.writer is not None:
            run.writer = None


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
