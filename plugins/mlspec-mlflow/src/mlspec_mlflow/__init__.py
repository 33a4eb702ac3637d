"""MLflow interop for mlspec (a first-party plugin that uses only mlspec's public API).

``mlspec-mlflow mirror --tracking-uri URI [RUN_ID ...]`` copies mlspec runs to MLflow: see
:mod:`mlspec_mlflow.mirror`.
"""

from mlspec_mlflow.mirror import MirrorResult, mirror_runs

__all__ = ["MirrorResult", "mirror_runs"]
