"""Feature engineering from the spec: column groups of steps, lags, interactions.

Layout (each module imports the ML stack only where it must):

- ``params``       the ``features:`` section's pydantic models (no ML imports)
- ``steps``        the step registry: built-in steps, ``_target_`` steps and the
                   ``mlspec.transforms`` entry-point group
- ``builtins``     the built-in steps' builders (sklearn imported inside them)
- ``build``        spec + training frame -> one unfitted ``FeatureTransformer``; column errors
- ``transformers`` the transformer classes (import scikit-learn at module level: loaded only
                   when a stage runs or a model is unpickled, never while planning)
- ``timeseries``   ``LagFeatures``: per-group lags and rolling windows with no look-ahead
"""

# Modules whose source enters the features stage's code fingerprint.
MODULES = (
    "mlspec.stages.features.params",
    "mlspec.stages.features.steps",
    "mlspec.stages.features.builtins",
    "mlspec.stages.features.build",
    "mlspec.stages.features.transformers",
    "mlspec.stages.features.timeseries",
)
