"""MLflow interop for mlspec (a first-party plugin that uses only mlspec's public API).

``mlspec-mlflow mirror --tracking-uri URI [RUN_ID ...]`` copies mlspec runs to MLflow: see
:mod:`mlspec_mlflow.mirror`. ``mlspec-mlflow export NAME@ALIAS -o DIR`` writes a registered model
version as an MLflow pyfunc model directory: see :mod:`mlspec_mlflow.export`.
"""

from mlspec_mlflow.export import ExportResult, export_pyfunc
from mlspec_mlflow.mirror import MirrorResult, mirror_runs

__all__ = ["ExportResult", "MirrorResult", "export_pyfunc", "mirror_runs"]
