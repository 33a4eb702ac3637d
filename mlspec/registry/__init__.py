"""The model registry: bundles in the content-addressed store, versions/aliases/tags in SQLite,
gates that decide whether a run's model is blessed.

Importing this package is cheap; the heavy libraries (skops, scikit-learn, pandas) are imported
by the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlspec.registry.loader import LoadedBundle

__all__ = ["load_bundle"]


def load_bundle(ref: str, project_root: Any = None) -> LoadedBundle:
    """Load ``NAME@alias``, ``NAME:version`` or a bundle directory, digests verified first."""
    from mlspec.registry.loader import load_bundle as _load

    return _load(ref, project_root)
