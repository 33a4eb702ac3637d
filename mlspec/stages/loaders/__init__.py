"""Data loaders: a plugin kind of its own (entry-point group ``mlspec.loaders``).

``data.source.kind`` names a loader; the rest of ``data.source`` (apart from the options every
loader shares: ``columns``, ``dtypes``, ``parse_dates``) is that loader's ``Options``.
"""

from mlspec.stages.loaders.api import CommonOptions, Loader, LoaderOptions, loader_registry

__all__ = ["CommonOptions", "Loader", "LoaderOptions", "loader_registry"]
