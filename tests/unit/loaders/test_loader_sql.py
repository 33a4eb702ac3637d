"""sql loader against a real SQLite file (no server here: PostgreSQL URLs are checked offline)."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from pydantic import ValidationError

from mlspec.errors import SpecError
from mlspec.stages.api import StageContext
from mlspec.stages.builtin.load import LoadParams, LoadStage
from mlspec.stages.loaders.sql import sql_error

PG = "postgresql://u:secret@localhost:1/db"


@pytest.fixture
def db(tmp_path):
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("create table orders (id integer, customer text, placed text, amount real)")
        conn.executemany(
            "insert into orders values (?, ?, ?, ?)",
            [(1, "007", "2024-01-05", 9.5), (2, "042", "2024-02-06", 20.0), (3, "007", None, 1.0)],
        )
    conn.close()
    return path


def test_query_with_bound_params(db, load):
    df = load(
        kind="sql",
        url="sqlite:///data/app.db",
        query="select * from orders where customer = :who order by id",
        params={"who": "007"},
        parse_dates=["placed"],
    )
    assert df["id"].tolist() == [1, 3]
    assert df["customer"].tolist() == ["007", "007"]
    assert pd.api.types.is_datetime64_any_dtype(df["placed"])


def test_bound_params_are_never_formatted_into_sql(db, load):
    # An injection attempt is just a value that matches nothing.
    df = load(
        kind="sql",
        url="sqlite:///data/app.db",
        query="select * from orders where customer = :who",
        params={"who": "x' or '1'='1"},
    )
    assert len(df) == 0


def test_whole_table_and_column_subset(db, load):
    assert len(load(kind="sql", url="sqlite:///data/app.db", table="orders")) == 3
    df = load(kind="sql", url="sqlite:///data/app.db", table="orders", columns=["amount", "id"])
    assert list(df.columns) == ["amount", "id"]


def test_absolute_sqlite_url(db, tmp_path, load):
    df = load(root=tmp_path / "elsewhere", kind="sql", url=f"sqlite:///{db}", table="orders")
    assert len(df) == 3


def test_table_column_absent_is_a_spec_error(db, load):
    with pytest.raises(SpecError) as err:
        load(kind="sql", url="sqlite:///data/app.db", table="orders", columns=["amout"])
    assert err.value.problems[0].code == "missing_column"
    assert "did you mean 'amount'?" in err.value.problems[0].fix


def test_missing_table_is_a_sql_error(db, load):
    with pytest.raises(SpecError) as err:
        load(kind="sql", url="sqlite:///data/app.db", query="select * from nope")
    (problem,) = err.value.problems
    assert problem.code == "sql_error"
    assert problem.loc == ("data", "source", "query")
    assert "no such table: nope" in problem.message
    with pytest.raises(SpecError) as err:
        load(kind="sql", url="sqlite:///data/app.db", table="nope")
    assert err.value.problems[0].loc == ("data", "source", "table")


def test_sqlite_file_is_hashed_and_deterministic(db, tmp_path):
    params = LoadParams(kind="sql", url="sqlite:///data/app.db", table="orders")
    assert LoadStage.external_files(params, tmp_path) == {"data/app.db": db}
    assert LoadStage.is_deterministic(params)
    assert LoadStage.check(params, tmp_path) == []


def test_reading_never_creates_or_changes_the_database(db, load):
    before = db.read_bytes()
    load(kind="sql", url="sqlite:///data/app.db", table="orders")
    assert db.read_bytes() == before


def test_missing_sqlite_file_is_reported_not_created(tmp_path, load):
    params = LoadParams(kind="sql", url="sqlite:///data/nope.db", table="t")
    assert LoadStage.external_files(params, tmp_path) == {}
    (problem,) = LoadStage.check(params, tmp_path)
    assert problem.code == "missing_file" and problem.loc == ("url",)
    assert "data/nope.db" in problem.message
    with pytest.raises(SpecError):
        load(kind="sql", url="sqlite:///data/nope.db", table="t")
    assert not (tmp_path / "data" / "nope.db").exists()


def test_server_url_is_not_deterministic_and_never_shows_the_password(tmp_path, load):
    params = LoadParams(kind="sql", url=PG, query="select 1")
    assert not LoadStage.is_deterministic(params)
    assert LoadStage.external_files(params, tmp_path) == {}
    messages = [p.message + str(p.fix) for p in LoadStage.check(params, tmp_path)]
    with pytest.raises(SpecError) as err:  # no driver or no server here: either way an error
        load(kind="sql", url=PG, query="select 1")
    messages.append(str(err.value))
    assert err.value.problems[0].code == "sql_error"
    assert err.value.problems[0].loc == ("data", "source", "url")
    with pytest.raises(ValidationError) as bad:
        LoadParams(kind="sql", url=PG, query="select 1", table="t", params=[1])
    messages.append(str(bad.value))
    assert all("secret" not in m for m in messages), messages
    assert "secret" not in repr(params.options())


def test_unparseable_url_and_unknown_dialect(tmp_path):
    for url, words in [("nonsense", "not a valid SQLAlchemy URL"), ("nosuchdb://x/y", "dialect")]:
        (problem,) = LoadStage.check(LoadParams(kind="sql", url=url, table="t"), tmp_path)
        assert problem.code == "sql_error" and problem.loc == ("url",)
        assert words in problem.message


def test_password_env_must_be_set(tmp_path, monkeypatch):
    monkeypatch.delenv("MLSPEC_TEST_PW", raising=False)
    params = LoadParams(kind="sql", url="sqlite:///x.db", table="t", password_env="MLSPEC_TEST_PW")
    problems = LoadStage.check(params, tmp_path)
    assert any(p.loc == ("password_env",) for p in problems)


def test_contract_run_writes_no_files(db, tmp_path):
    params = LoadParams(kind="sql", url="sqlite:///data/app.db", table="orders")
    before = sorted(p.name for p in (tmp_path / "data").iterdir())
    LoadStage().run(params, {}, StageContext("load", "t", tmp_path, log=lambda m: None))
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == before


def test_driver_messages_are_scrubbed_of_the_password():
    options = LoadParams(kind="sql", url=PG, query="select 1").options()
    exc = RuntimeError('connection to "u:secret@localhost" failed (Background on this error at: x)')
    err = sql_error("cannot connect to postgresql://u:***@localhost:1/db", exc, options, "url")
    assert "secret" not in str(err) and "Background" not in str(err)
