"""Entry points and versions are looked up once per process, and a distribution installed or
removed afterwards is still seen on the next look-up."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlspec import installed

GROUP = "mlspec.test_installed_group"


def _install(site: Path, name: str, version: str, entry: str) -> Path:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{entry}\n")
    return info


def test_a_distribution_installed_later_is_seen_and_one_removed_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    assert installed.entry_points_of(GROUP) == []
    assert installed.distribution_version("mlspec-installed-probe") is None

    info = _install(tmp_path, "mlspec_installed_probe", "1.2.3", "probe = probe_mod:Probe")
    (ep,) = installed.entry_points_of(GROUP)
    assert (ep.name, ep.value) == ("probe", "probe_mod:Probe")
    assert installed.distribution_name(ep.dist) == "mlspec_installed_probe"
    assert installed.distribution_version("mlspec-installed-probe") == "1.2.3"

    shutil.rmtree(info)
    assert installed.entry_points_of(GROUP) == []
    assert installed.distribution_version("mlspec-installed-probe") is None


def test_repeated_look_ups_scan_the_installed_distributions_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scans: list[int] = []
    real = installed.entry_points

    def counting() -> object:
        scans.append(1)
        return real()

    monkeypatch.setattr(installed, "entry_points", counting)
    installed._all_entry_points.cache_clear()
    for group in ("mlspec.stages", "mlspec.loaders", "mlspec.cleaners", "mlspec.stages"):
        installed.entry_points_of(group)
    assert len(scans) == 1
    assert {ep.name for ep in installed.entry_points_of("mlspec.stages")} >= {"load", "train"}
