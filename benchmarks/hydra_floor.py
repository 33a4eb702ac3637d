"""The floor under every `mlspec run`: what issue 2's own requirements cost before mlspec works.

A plain ``@hydra.main`` application, run as ``python hydra_floor.py --config-dir DIR
--config-name NAME [overrides]``: Hydra's own run path (import, plugin scan, composition, output
directory and ``.hydra/`` files) over the same spec mlspec composes, with the Hydra overrides
mlspec applies, and a task that imports the two libraries the issue names for the work every run
does (pydantic to validate the spec, rich to show progress) and returns. It validates nothing,
compiles nothing, opens no store and records nothing.

`engine_overhead.py` times it beside the no-op `mlspec run`: no cached rerun can be faster than
this while it goes through Hydra's run path, so ``floor / cold`` bounds the no-op ratio from below
on the machine measured.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path=None, config_name=None)
def floor(cfg: DictConfig) -> None:
    # What validating the spec (pydantic) and showing progress (rich) need.
    import pydantic  # noqa: F401
    import rich.console
    import rich.table  # noqa: F401

    print("FLOOR_DONE")


if __name__ == "__main__":
    floor()
