"""Drift monitoring: reference profiles, drift statistics and comparisons (issue 7).

Sits below ``stages`` and ``registry`` (the register stage captures the reference profile with
it) and imports nothing heavy here: ``options`` is light, the compute modules (``profile``,
``stats``, ``drift``) import numpy and, inside functions, pandas and scipy.
"""
