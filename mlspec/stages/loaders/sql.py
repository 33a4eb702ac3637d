"""sql: a query's result, or a whole table, read through SQLAlchemy (SQLite, PostgreSQL, ...).

One code path for every database: the query goes through ``sqlalchemy.text`` with *bound*
parameters (never formatted into the SQL), a table through SQLAlchemy's own quoting. A SQLite file
is data like any other file: its bytes are hashed into the cache key and the stage is cached. A
server can change with no file changing, so there the stage always runs (downstream stays cached
when it returns identical bytes). The URL's password never appears in a message; to keep it out
of the spec and the cache records too, name an environment variable in ``password_env``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from pydantic import Field, model_validator

from mlspec.errors import Problem, SpecError
from mlspec.stages.builtin.load import LOC, display_path, require_columns, resolve_path
from mlspec.stages.loaders.api import CommonOptions, Loader, LoaderOptions

# sqlite[+driver]://<host>/<database>[?query] — parsed without importing SQLAlchemy (plan time).
_SQLITE = re.compile(r"^sqlite(?:\+\w+)?://(?P<rest>[^?]*)")
_BACKGROUND = re.compile(r"\s*\(Background on this error at: [^)]*\)")
URL_FIX = (
    "use a SQLAlchemy URL: dialect+driver://user@host:port/database (e.g."
    " postgresql+psycopg://me@db.example.com/sales) or sqlite:///data/app.db"
)


class SqlOptions(LoaderOptions):
    url: str = Field(repr=False, description="SQLAlchemy URL; sqlite paths start at the project")
    query: str | None = Field(None, description="a SELECT; :name placeholders take 'params'")
    table: str | None = Field(None, description="read this whole table (schema.table allowed)")
    params: dict[str, Any] = Field(default_factory=dict, description="bound query parameters")
    password_env: str | None = Field(None, description="environment variable with the password")

    @model_validator(mode="after")
    def _query_or_table(self) -> SqlOptions:
        if self.query is None and self.table is None:
            raise ValueError(
                "source kind 'sql' needs 'query' (a SELECT) or 'table'; set exactly one of them"
            )
        if self.query is not None and self.table is not None:
            raise ValueError("set either 'query' or 'table', not both; remove one of them")
        return self


def sqlite_file(url: str, project_root: Path) -> Path | None:
    """The database file of a ``sqlite:///path`` URL (relative to the project root), else None."""
    m = _SQLITE.match(url)
    if not m or not m["rest"].startswith("/"):
        return None  # not SQLite, or in memory (sqlite://)
    database = unquote(m["rest"][1:])
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return resolve_path(database, project_root)


class SqlLoader(Loader):
    kind = "sql"
    Options = SqlOptions
    libraries = ("sqlalchemy",)

    @classmethod
    def files(cls, options: Any, project_root: Path) -> list[Path]:
        path = sqlite_file(options.url, project_root)
        if path is None or not path.is_file():
            return []  # check() reports a missing file at data.source.url
        wal = path.with_name(path.name + "-wal")  # committed rows not yet checkpointed live here
        return [path, wal] if wal.is_file() else [path]

    @classmethod
    def deterministic(cls, options: Any) -> bool:
        return sqlite_file(options.url, Path(".")) is not None

    @classmethod
    def check(cls, options: Any, project_root: Path) -> list[Problem]:
        problems = _url_problems(options, project_root)
        if problems:
            return problems
        try:
            _engine(options, project_root).dispose()  # imports the driver; does not connect
        except SpecError as exc:
            return [Problem(p.code, p.message, p.loc[len(LOC) :], fix=p.fix) for p in exc.problems]
        return []

    def load(
        self, options: Any, common: CommonOptions, project_root: Path, log: Callable[[str], None]
    ) -> Any:
        import pandas as pd
        import sqlalchemy as sa

        problems = _url_problems(options, project_root)
        if problems:
            raise SpecError(
                [Problem(p.code, p.message, (*LOC, *p.loc), fix=p.fix) for p in problems]
            )
        engine = _engine(options, project_root)
        shown = shown_url(options.url)
        what = f"table '{options.table}'" if options.table else "query"
        log(f"reading {what} from {shown}")
        try:
            try:
                conn = engine.connect()
            except sa.exc.SQLAlchemyError as exc:
                raise sql_error(f"cannot connect to {shown}", exc, options, "url") from None
            with conn:
                where = "table" if options.table else "query"
                failed = f"reading table '{options.table}' failed" if options.table else None
                try:
                    if options.table:
                        return _read_table(conn, options.table, common)
                    # parse_dates is left to the load stage, which names a missing column.
                    query = sa.text(options.query)
                    return pd.read_sql(query, conn, params=dict(options.params))
                except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
                    cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) else None
                    reason = cause or exc
                    raise sql_error(failed or "the query failed", reason, options, where) from None
        finally:
            engine.dispose()


def _read_table(conn: Any, name: str, common: CommonOptions) -> Any:
    """SELECT from the table; with ``columns``, check them first and read only those."""
    import pandas as pd
    import sqlalchemy as sa

    schema, _, table_name = name.rpartition(".")
    table = sa.table(table_name, schema=schema or None)
    if common.columns is None:
        return pd.read_sql(sa.select(sa.literal_column("*")).select_from(table), conn)
    probe = conn.execute(sa.select(sa.literal_column("*")).select_from(table).limit(0))
    require_columns(list(probe.keys()), common, f"table '{name}'")
    wanted = dict.fromkeys([*common.columns, *common.dtypes, *common.parse_dates])
    return pd.read_sql(sa.select(*(sa.column(c) for c in wanted)).select_from(table), conn)


def shown_url(url: str) -> str:
    """The URL as it may appear in a message: password masked, or not at all if unparseable."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "data.source.url"


def _url_problems(options: Any, project_root: Path) -> list[Problem]:
    """Cheap checks, locs relative to data.source: URL syntax, SQLite file, password variable."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(options.url)
    except ArgumentError:
        return [
            Problem(
                "sql_error", "data.source.url is not a valid SQLAlchemy URL", ("url",), fix=URL_FIX
            )
        ]
    problems = []
    path = sqlite_file(options.url, project_root)
    if path is not None and not path.is_file():
        problems.append(
            Problem(
                "missing_file",
                f"SQLite database '{display_path(path, project_root)}' does not exist",
                ("url",),
                fix="check the path in data.source.url (sqlite:///relative/path.db starts at the"
                " project root; sqlite:////abs/path.db is absolute)",
            )
        )
    if options.password_env and options.password_env not in os.environ:
        problems.append(
            Problem(
                "sql_error",
                f"environment variable '{options.password_env}' is not set",
                ("password_env",),
                fix=f"export {options.password_env}=... before running, or remove password_env",
            )
        )
    return problems


def _engine(options: Any, project_root: Path) -> Any:
    """An engine for the URL (nothing connects yet); SQLite files open read-only."""
    import sqlalchemy as sa

    url = sa.make_url(options.url)
    path = sqlite_file(options.url, project_root)
    if path is not None:  # read-only: a vanished file must not be recreated empty
        query = {**url.query, "mode": "ro", "uri": "true"}
        url = url.set(database=f"file:{quote(str(path.resolve()))}", query=query)
    if options.password_env:
        url = url.set(password=os.environ[options.password_env])
    try:
        return sa.create_engine(url)
    except sa.exc.NoSuchModuleError:
        message = f"no SQLAlchemy dialect named '{url.drivername}'"
        fix = URL_FIX
    except ImportError as exc:
        message = f"the database driver for '{url.drivername}' is not installed ({exc})"
        fix = "install it (e.g. pip install psycopg) or name an installed driver in the URL"
    except (sa.exc.ArgumentError, TypeError, ValueError) as exc:
        message = f"cannot use {shown_url(options.url)}: {_first_line(exc, options)}"
        fix = URL_FIX
    raise SpecError(Problem("sql_error", message, (*LOC, "url"), fix=fix))


def sql_error(what: str, exc: BaseException, options: Any, key: str) -> SpecError:
    reason = _first_line(getattr(exc, "orig", None) or exc, options)
    fixes = {
        "url": "check the server address, the database name and the credentials",
        "query": "try the query in a SQL client; placeholders (:name) take data.source.params",
        "table": "check the table name (schema.table for another schema)",
    }
    return SpecError(Problem("sql_error", f"{what}: {reason}", (*LOC, key), fix=fixes[key]))


def _first_line(exc: BaseException, options: Any) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    text = _BACKGROUND.sub("", text)[:300]
    secrets = [options.url]
    try:
        from sqlalchemy import make_url

        secrets.append(str(make_url(options.url).password or ""))
    except Exception:  # an unparseable URL has no password to find
        pass
    if options.password_env:
        secrets.append(os.environ.get(options.password_env, ""))
    for secret in filter(None, secrets):
        text = text.replace(secret, "***")
    return text
