"""Pure compilation of a validated spec into a Plan: a DAG of stage nodes with cache-key parts.

No store or data I/O happens here. The parts of a cache key that depend on upstream *outputs*
(input digests) and on external files are filled in by the engine as the plan is walked.
"""

from mlspec.plan.compile import compile_plan
from mlspec.plan.keys import KEY_SCHEMA_VERSION, cache_key, explain_change
from mlspec.plan.model import InputRef, Plan, StageNode

__all__ = [
    "KEY_SCHEMA_VERSION",
    "InputRef",
    "Plan",
    "StageNode",
    "cache_key",
    "compile_plan",
    "explain_change",
]
