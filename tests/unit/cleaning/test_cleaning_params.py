"""Spec-side validation of data.clean, the plugin contract, and cheap imports."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from pydantic import ValidationError

from mlspec.hashing import code_fingerprint
from mlspec.stages.builtin.clean import CleanStage
from mlspec.stages.cleaning import common
from mlspec.stages.cleaning.api import cleaner_registry

NINE = [
    "cast",
    "clip_outliers",
    "drop_duplicates",
    "dropna",
    "fillna",
    "filter",
    "normalize_text",
    "parse_dates",
    "rename",
]


def error(steps) -> str:
    with pytest.raises(ValidationError) as info:
        CleanStage.Params(steps=steps)
    return str(info.value)


def test_registry_loads_all_nine_builtin_steps_cleanly():
    status = cleaner_registry().check_all()
    assert {name: status[name] for name in NINE} == dict.fromkeys(NINE)


def test_unknown_step_suggests_the_right_one():
    msg = error([{"drop_duplicate": {"subset": ["id"]}}])
    assert "unknown cleaning step 'drop_duplicate'" in msg
    assert "did you mean 'drop_duplicates'?" in msg


def test_unknown_option_is_named_with_a_suggestion():
    msg = error(["dropna", {"dropna": {"colums": ["a"]}}])
    assert "step [1] dropna: unknown option 'colums'; did you mean 'columns'?" in msg


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"fillna": {"value": 0, "strategy": "mean"}}, "exactly one of 'value' or 'strategy'"),
        ({"fillna": {}}, "exactly one of 'value' or 'strategy'"),
        ({"fillna": {"strategy": "average"}}, "strategy"),
        ({"dropna": {"how": "all", "thresh": 2}}, "either 'how' or 'thresh'"),
        ({"dropna": {"thresh": 0}}, "greater than or equal to 1"),
        ({"dropna": "some"}, "'any' or 'all'"),
        ({"drop_duplicates": {"keep": False}}, "keep"),
        ({"drop_duplicates": "first"}, "takes a mapping of options"),
        ({"drop_duplicates": {"subset": []}}, "at least 1 item"),
        ({"cast": {"a": "flaot"}}, "unknown dtype 'flaot'; did you mean 'float'?"),
        ({"cast": {"a": "datetime64[ns]"}}, "use the parse_dates step"),
        ({"cast": {"dtypes": {"a": "int"}, "erors": "coerce"}}, "unknown option 'erors'"),
        ({"clip_outliers": {"lower": 0.1}}, "apply to method: quantile"),
        ({"clip_outliers": {"method": "quantile", "factor": 3}}, "applies to method: iqr"),
        ({"clip_outliers": {"method": "quantile", "lower": 0.9, "upper": 0.1}}, "below 'upper'"),
        ({"normalize_text": {"unicode_form": "NFX"}}, "unicode_form"),
        ({"parse_dates": {"errors": "ignore", "columns": ["d"]}}, "errors"),
        ({"rename": {"a": 1}}, "valid string"),
        ({"a": 1, "b": 2}, "one-key mapping"),
    ],
)
def test_bad_step_options_are_rejected_at_spec_time(step, message):
    assert message in error([step])


def test_model_level_errors_read_cleanly():
    msg = error([{"fillna": {"value": 0, "strategy": "mean"}}])
    assert "step [0] fillna: give exactly one of 'value' or 'strategy'" in msg
    assert "Value error, give" not in msg.split("step [0]")[1]


def test_shorthands():
    steps = [
        "dropna",
        {"dropna": "all"},
        {"rename": {"a": "b"}},
        {"rename": {"columns": {"a": "b"}}},
        {"cast": {"a": "int", "errors": "coerce"}},
        {"cast": {"dtypes": {"a": "float"}}},
        {"parse_dates": "ts"},
        {"parse_dates": ["ts", "ts2"]},
    ]
    from mlspec.stages.builtin.clean import resolved_steps

    params = [p for _, p in resolved_steps(CleanStage.Params(steps=steps).steps)]
    assert params[0].how == "any" and params[1].how == "all"
    assert params[2].columns == params[3].columns == {"a": "b"}
    assert params[4].dtypes == {"a": "int64"} and params[4].errors == "coerce"
    assert params[5].dtypes == {"a": "float64"}
    assert params[6].columns == ["ts"] and params[7].columns == ["ts", "ts2"]


def test_filter_params_dump_under_the_spec_names():
    from mlspec.stages.cleaning.filter import FilterParams

    p = FilterParams.model_validate({"any": [{"column": "a", "op": "isna"}]})
    dumped = p.model_dump(mode="python", by_alias=True)
    assert dumped == {"where": None, "any": [{"column": "a", "op": "isna", "value": None}]}


def test_the_clean_stage_fingerprint_covers_the_step_helpers():
    params = CleanStage.Params(
        steps=["dropna", {"filter": {"where": {"column": "a", "op": "isna"}}}]
    )
    objects = CleanStage.code_objects(params)
    assert common in objects
    with_helpers = code_fingerprint(CleanStage, *objects)
    without = code_fingerprint(CleanStage, *(o for o in objects if o is not common))
    assert with_helpers != without


def test_validating_clean_steps_does_not_import_pandas():
    """Plans are compiled without the ML stack; the step modules import pandas lazily."""
    script = textwrap.dedent(
        """
        import json, sys
        from mlspec.stages.builtin.clean import CleanStage
        from mlspec.stages.cleaning.api import cleaner_registry
        cleaner_registry().check_all()
        CleanStage.Params(steps=[
            "dropna", {"cast": {"a": "int"}}, {"rename": {"a": "b"}},
            {"filter": {"where": {"column": "a", "op": "matches", "value": "x+"}}},
            {"clip_outliers": {}}, {"parse_dates": "d"}, "normalize_text",
            {"fillna": {"value": 0}}, "drop_duplicates",
        ])
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("pandas", "numpy"))))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
