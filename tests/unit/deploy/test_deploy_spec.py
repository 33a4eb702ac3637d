"""The spec's ``deploy:`` section: named targets, and errors that name the key path and the fix."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mlspec.config.deploy import BatchTarget, DockerTarget, RestTarget
from mlspec.config.errors import problems_from_validation
from mlspec.config.spec import Spec


def _spec(deploy: Any) -> dict[str, Any]:
    return {
        "name": "bc",
        "data": {"source": {"kind": "sklearn", "name": "breast_cancer"}, "target": "target"},
        "model": {"_target_": "lightgbm.LGBMClassifier"},
        "register": {"name": "bc_clf"},
        "deploy": deploy,
    }


def _problems(deploy: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as err:
        Spec.model_validate(_spec(deploy))
    return [
        (".".join(map(str, p.loc)), p.message + " | " + (p.fix or ""))
        for p in problems_from_validation(err.value, Spec)
    ]


def test_several_targets_with_defaults() -> None:
    spec = Spec.model_validate(
        _spec(
            {
                "default": "api",
                "targets": {
                    "api": {"kind": "rest"},
                    "nightly": {"kind": "batch", "input": "in.parquet", "output": "out.csv"},
                    "image": {"kind": "docker"},
                },
            }
        )
    )
    assert spec.deploy is not None
    api, nightly, image = (spec.deploy.targets[n] for n in ("api", "nightly", "image"))
    assert isinstance(api, RestTarget) and (api.host, api.port) == ("127.0.0.1", 8080)
    assert api.token_env is None and api.log_requests is None and api.model is None
    assert isinstance(nightly, BatchTarget)
    assert (nightly.chunk_size, nightly.probabilities, nightly.id_column) == (100_000, False, None)
    assert isinstance(image, DockerTarget) and image.context == "build/docker"
    assert spec.deploy.select(None)[0] == "api"
    assert spec.deploy.select("image") == ("image", image)


def test_selecting_a_target() -> None:
    two = Spec.model_validate(
        _spec({"targets": {"a": {"kind": "rest"}, "b": {"kind": "docker"}}})
    ).deploy
    assert two is not None
    with pytest.raises(ValueError, match="2 deploy targets and no default; pass target=NAME"):
        two.select(None)
    with pytest.raises(ValueError, match="unknown deploy target 'c'"):
        two.select("c")
    one = Spec.model_validate(_spec({"targets": {"only": {"kind": "rest"}}})).deploy
    assert one is not None and one.select(None)[0] == "only"


@pytest.mark.parametrize(
    ("deploy", "where", "text"),
    [
        (
            {"targets": {"api": {"kind": "rest", "prot": 9000}}},
            "deploy.targets.api.prot",
            "unknown key 'prot' | did you mean 'port'? valid keys here: host, kind, log_requests,"
            " model, port, token_env",
        ),
        (
            {"targets": {"api": {"kind": "rst"}}},
            "deploy.targets.api.kind",
            "unknown target kind 'rst' | did you mean 'rest'? Valid choices: batch, docker, rest",
        ),
        (
            {"targets": {"api": {"port": 1}}},
            "deploy.targets.api.kind",
            "the target needs 'kind' | set it to one of: rest, batch, docker",
        ),
        (
            {"targets": {"api": "rest"}},
            "deploy.targets.api",
            "expected a mapping with a 'kind', got 'rest'",
        ),
        (
            {"targets": {"api": {"kind": "rest", "port": 70000}}},
            "deploy.targets.api.port",
            "port 70000 is out of range | use a port from 1 to 65535",
        ),
        (
            {"targets": {"api": {"kind": "rest", "port": "http"}}},
            "deploy.targets.api.port",
            "expected an integer, got 'http' (str)",
        ),
        (
            {"targets": {"api": {"kind": "rest", "token_env": "s3cr3t-token"}}},
            "deploy.targets.api.token_env",
            "'s3cr3t-token' is not an environment variable name | token_env names the variable",
        ),
        (
            {"targets": {"api": {"kind": "rest", "model": "bc clf@champion"}}},
            "deploy.targets.api.model",
            "'bc clf@champion' is not a model reference | write NAME@ALIAS",
        ),
        (
            {"targets": {"job": {"kind": "batch", "input": "in.txt", "output": "o.csv"}}},
            "deploy.targets.job.input",
            "'in.txt' is neither a parquet nor a CSV file | give a path ending in .parquet or .csv",
        ),
        (
            {"targets": {"job": {"kind": "batch", "input": "in.csv"}}},
            "deploy.targets.job.output",
            "required key is missing",
        ),
        (
            {"targets": {"job": {"kind": "batch", "input": "a.csv", "output": "a.csv"}}},
            "deploy.targets.job",
            "output 'a.csv' is the input file | write the scores to another path",
        ),
        (
            {
                "targets": {
                    "job": {"kind": "batch", "input": "a.csv", "output": "b.csv", "chunk_size": 0}
                }
            },
            "deploy.targets.job.chunk_size",
            "chunk_size 0 is not positive",
        ),
        (
            {
                "targets": {
                    "job": {"kind": "batch", "input": "a.csv", "output": "b.csv", "port": 80}
                }
            },
            "deploy.targets.job.port",
            "unknown key 'port' | valid keys here: chunk_size, id_column, input, kind, model,"
            " output, probabilities",
        ),
        (
            {"targets": {"img": {"kind": "docker", "contxt": "build"}}},
            "deploy.targets.img.contxt",
            "unknown key 'contxt' | did you mean 'context'?",
        ),
        ({"targets": {}}, "deploy.targets", "deploy.targets is empty | add a named target"),
        (
            {"targets": {"my api": {"kind": "rest"}}},
            "deploy.targets",
            "target name 'my api' is not a slug",
        ),
        (
            {"default": "apx", "targets": {"api": {"kind": "rest"}}},
            "deploy.default",
            "unknown default target 'apx' | did you mean 'api'?",
        ),
        (
            {"target": "rest", "port": 8080},
            "deploy",
            "deploy lists named targets, not one target's settings | write"
            " deploy: {targets: {rest: {kind: rest, port: 8080}}}",
        ),
    ],
)
def test_errors_name_the_key_path_and_the_fix(deploy: Any, where: str, text: str) -> None:
    problems = _problems(deploy)
    assert any(loc == where and text in msg for loc, msg in problems), problems
