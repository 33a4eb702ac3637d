"""Cleaning steps: a plugin kind of its own (entry-point group ``mlspec.cleaners``).

``data.clean`` is an ordered list of steps, each ``{step_name: {params}}`` (or just the name).
The clean stage applies them in order and accounts for every row: rows in, rows out, rows changed.
"""

from mlspec.stages.cleaning.api import CleaningStep, StepResult, cleaner_registry

__all__ = ["CleaningStep", "StepResult", "cleaner_registry"]
