"""mlspec: declarative, cached, pluggable ML lifecycle for tabular data.

The public API is small on purpose: the ``Stage`` contract for plugin authors. Everything else is
reached through the ``mlspec`` command.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
