"""Stage plugins through the `mlspec.stages` entry-point group (DESIGN §3, stage contract): listed
by `mlspec plugins`, part of the cache key by code, isolated when broken, and never ambiguous."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_helpers import (
    FAST,
    STAGES,
    derive_spec,
    install_plugin,
    ok,
    plan_json,
    runs,
    show,
    stage_runs,
    statuses,
)

SCALED_STAGES = ("load", "validate", "scale", "split", "profile", "features", "train", "evaluate")


def _scale_plugin(root: Path) -> tuple[dict[str, str], Path]:
    site = root / "plugin_site"
    module = install_plugin(
        site,
        "mlspec-testplugin",
        "mlspec_testplugin",
        "scale_column.py",
        {"scale_column": "mlspec_testplugin:ScaleColumnStage"},
    )
    derive_spec(
        root,
        "bc_scaled",
        """
        stages:
          - name: scale
            uses: scale_column
            after: validate
            params: {column: "mean radius", factor: 2.0}
        """,
    )
    return {"PYTHONPATH": str(site)}, module


def test_plugins_lists_the_builtin_plugins_of_every_kind(mlspec) -> None:
    result = ok(mlspec("plugins"))
    rows = {
        (cells[0].split(" (")[0], cells[1]): cells[2:]
        for line in result.stdout.splitlines()
        if (cells := [c.strip() for c in line.strip("│ ").split("│")]) and len(cells) == 5
    }
    expected = [("stage", name) for name in (*STAGES, "clean")]
    expected += [("loader", k) for k in ("sklearn", "csv", "parquet", "jsonl", "sql", "callable")]
    expected += [("cleaning step", k) for k in ("drop_duplicates", "dropna", "filter", "cast")]
    for kind_name in expected:
        assert kind_name in rows, show(result)
        package, target, status = rows[kind_name]
        assert package == "mlspec", rows[kind_name]
        assert target.startswith("mlspec.stages."), rows[kind_name]
        assert status == "ok", rows[kind_name]


@pytest.mark.slow
def test_editing_plugin_code_invalidates_the_stage_and_its_dependants(
    project: Path, mlspec
) -> None:
    env, module = _scale_plugin(project)
    listing = ok(mlspec("plugins", env=env)).stdout
    assert "scale_column" in listing and "mlspec-testplugin" in listing, listing

    ok(mlspec("run", "conf=bc_scaled", *FAST, env=env))
    assert statuses(project) == dict.fromkeys(SCALED_STAGES, "miss")
    assert [r["node"] for r in stage_runs(project)] == list(SCALED_STAGES)

    # Change what run() computes (factor 2 applied twice: the column is now x4).
    source = module.read_text()
    edited = source.replace("* params.factor  # EDIT-ME", "* params.factor**2  # EDIT-ME")
    assert edited != source
    module.write_text(edited)

    plan = plan_json(project, "conf=bc_scaled", *FAST, env=env)
    assert plan["load"]["status"] == plan["validate"]["status"] == "hit"
    assert plan["scale"]["status"] == "miss"
    assert "code" in plan["scale"]["reason"], plan["scale"]

    ok(mlspec("run", "conf=bc_scaled", *FAST, env=env))
    assert statuses(project) == {
        "load": "hit",
        "validate": "hit",
        "scale": "miss",
        "split": "miss",
        "profile": "miss",
        "features": "miss",
        "train": "miss",
        "evaluate": "miss",
    }

    # A comment-only edit is not a code change: the fingerprint ignores comments.
    recommented = edited.replace("# scale the column", "# multiply the column (reworded)")
    assert recommented != edited
    module.write_text(recommented + "\n# a trailing comment\n")
    ok(mlspec("run", "conf=bc_scaled", *FAST, env=env))
    assert statuses(project) == dict.fromkeys(SCALED_STAGES, "hit")


def test_broken_plugin_is_reported_and_only_fails_specs_that_use_it(warm_bc: Path, mlspec) -> None:
    site = warm_bc / "plugin_site"
    install_plugin(
        site,
        "mlspec-brokenplugin",
        "mlspec_brokenplugin",
        "broken.py",
        {"broken_stage": "mlspec_brokenplugin:BrokenStage"},
    )
    env = {"PYTHONPATH": str(site)}
    derive_spec(warm_bc, "bc_broken", "stages: [{name: broken, uses: broken_stage}]\n")

    listing = mlspec("plugins", env=env)
    assert listing.returncode == 1, show(listing)
    line = next(ln for ln in listing.stdout.splitlines() if "broken_stage" in ln)
    assert "mlspec-brokenplugin" in line and "failed to load" in line, line
    assert "not_a_real_dependency" in listing.stdout, listing.stdout  # the cause (cell may wrap)
    for name in STAGES:
        ok_rows = [ln for ln in listing.stdout.splitlines() if name in ln and " ok " in ln]
        assert ok_rows, listing.stdout

    # A spec using it: exit 2, the package named, no traceback, nothing run or written.
    before = len(stage_runs(warm_bc))
    bad = mlspec("run", "conf=bc_broken", *FAST, env=env)
    assert bad.returncode == 2, show(bad)
    assert "mlspec-brokenplugin" in bad.stderr, show(bad)
    assert "broken_stage" in bad.stderr, show(bad)
    assert "Traceback" not in bad.stdout + bad.stderr, show(bad)
    assert len(stage_runs(warm_bc)) == before
    assert not (warm_bc / "outputs").exists()

    # A spec that does not use it runs as usual with the broken plugin installed.
    good = ok(mlspec("run", "conf=breast_cancer", *FAST, env=env))
    assert "roc_auc" in good.stdout
    assert runs(warm_bc)[-1]["status"] == "completed"


def test_two_distributions_with_one_stage_name_is_an_error_naming_both(
    project: Path, mlspec
) -> None:
    site = project / "plugin_site"
    for suffix in ("one", "two"):
        dist, module = f"mlspec-twin-{suffix}", f"mlspec_twin_{suffix}"
        install_plugin(site, dist, module, "twin.py", {"twin": f"{module}:TwinStage"})
    env = {"PYTHONPATH": str(site)}
    derive_spec(project, "bc_twin", "stages: [{name: twin, after: validate}]\n")

    for verb in ("run", "plan"):
        result = mlspec(verb, "conf=bc_twin", *FAST, env=env)
        assert result.returncode == 2, show(result)
        assert "mlspec-twin-one" in result.stderr, show(result)
        assert "mlspec-twin-two" in result.stderr, show(result)
        assert "twin" in result.stderr
        assert "Traceback" not in result.stderr, show(result)
    assert not (project / ".mlspec").exists() or stage_runs(project) == []


def test_custom_stage_named_like_a_builtin_node_is_a_spec_error(project: Path, mlspec) -> None:
    # Node names identify artifacts, stage_runs rows and `plan` explanations: a plugin stage
    # called 'split' next to the built-in 'split' node makes all of them ambiguous.
    env, _ = _scale_plugin(project)
    derive_spec(
        project,
        "bc_clash",
        """
        stages:
          - {name: split, uses: scale_column, after: validate, params: {column: "mean radius"}}
        """,
    )
    result = mlspec("run", "conf=bc_clash", *FAST, env=env)
    assert result.returncode == 2, show(result)
    assert "'split'" in result.stderr, show(result)
    assert "Traceback" not in result.stderr, show(result)
    assert stage_runs(project) == []
