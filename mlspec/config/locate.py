"""Resolve ``conf=NAME`` (conf/NAME.yaml in the project) or ``conf=path/to/spec.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlspec.errors import Problem, SpecError, did_you_mean


@dataclass(frozen=True)
class SpecSource:
    """Where a spec lives and how Hydra should find it."""

    project_root: Path  # relative data paths resolve against this (the invocation directory)
    config_dir: Path  # absolute; Hydra's primary config directory
    config_name: str  # file stem
    overrides: tuple[str, ...] = field(default_factory=tuple)

    @property
    def file(self) -> Path:
        return self.config_dir / f"{self.config_name}.yaml"

    def display(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.project_root))
        except ValueError:
            return str(path)


def split_conf_arg(args: list[str]) -> tuple[str | None, list[str]]:
    """Pull ``conf=…`` out of the argument list; everything else goes to Hydra."""
    conf, rest = None, []
    for arg in args:
        if arg.startswith("conf=") and conf is None:
            conf = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return conf, rest


def locate_spec(conf: str | None, project_root: Path) -> SpecSource:
    if not conf:
        raise SpecError(
            Problem(
                code="missing_conf",
                message="no spec given",
                fix="pass conf=NAME for conf/NAME.yaml, or conf=path/to/spec.yaml",
            )
        )
    looks_like_path = conf.endswith((".yaml", ".yml")) or "/" in conf
    if looks_like_path:
        path = Path(conf).expanduser()
        path = path if path.is_absolute() else project_root / path
        if path.suffix not in (".yaml", ".yml"):
            path = path.with_suffix(".yaml")
        if not path.is_file():
            parent = path.parent
            here = sorted(p.name for p in parent.glob("*.yaml")) if parent.is_dir() else []
            hint = did_you_mean(path.name, here)
            raise SpecError(
                Problem(
                    code="missing_file",
                    message=f"spec file '{conf}' does not exist",
                    file=SpecSource(project_root, path.parent, path.stem).display(path),
                    fix=(hint + " " if hint else "")
                    + "check the path; it is relative to the current directory",
                )
            )
        if path.suffix == ".yml":
            raise SpecError(
                Problem(
                    code="bad_extension",
                    message="Hydra only reads '.yaml' files",
                    file=str(path),
                    fix=f"rename it to {path.with_suffix('.yaml').name}",
                )
            )
        return SpecSource(project_root, path.parent.resolve(), path.stem)
    conf_dir = project_root / "conf"
    path = conf_dir / f"{conf}.yaml"
    if not path.is_file():
        available = sorted(p.stem for p in conf_dir.glob("*.yaml")) if conf_dir.is_dir() else []
        if not conf_dir.is_dir():
            fix = (
                "run from the project root (the directory holding conf/),"
                f" or pass conf=path/to/{conf}.yaml"
            )
        else:
            hint = did_you_mean(conf, available)
            fix = (hint + " " if hint else "") + "specs here: " + (", ".join(available) or "none")
        raise SpecError(
            Problem(
                code="unknown_spec",
                message=f"no spec named '{conf}'",
                file=f"conf/{conf}.yaml",
                fix=fix,
            )
        )
    return SpecSource(project_root, conf_dir.resolve(), conf)
