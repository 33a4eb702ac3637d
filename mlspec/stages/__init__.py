"""Stages: the units of work a plan is made of, built-in and third-party alike.

Plugin authors subclass :class:`Stage` and register the class under the ``mlspec.stages``
entry-point group; the built-in stages register the same way (see pyproject.toml).
"""

from mlspec.stages.api import Stage, StageContext

__all__ = ["Stage", "StageContext"]
