"""Errors of the model registry (all carry the usual Problem: where, what, how to fix)."""

from __future__ import annotations

from mlspec.errors import MlspecError


class RegistryError(MlspecError):
    """An unknown model name, version or alias; a bad reference. Nothing was changed."""

    exit_code = 2
    title = "registry error"


class BundleIntegrityError(MlspecError):
    """A bundle file does not match its recorded digest: it is refused before any decoding."""

    exit_code = 1
    title = "bundle integrity error"


class GatesFailed(MlspecError):
    """The model is not blessed: at least one gate failed, so nothing was registered."""

    exit_code = 1
    title = "not blessed"
