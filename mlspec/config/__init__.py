"""Hydra glue and spec validation: turns a conf name plus overrides into a validated Spec."""

from mlspec.config.locate import SpecSource, locate_spec
from mlspec.config.spec import Spec

__all__ = ["Spec", "SpecSource", "locate_spec"]
