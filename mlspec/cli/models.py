"""mlspec models [ls | show REF | promote NAME VERSION --alias A | rollback NAME [--alias A] |
tag REF KEY=VALUE... | untag REF KEY... | export REF -o DIR] — the model registry.

REF is NAME (latest version), NAME:VERSION or NAME@ALIAS.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from mlspec.cli.main import make_parser
from mlspec.engine.console import make_console
from mlspec.errors import Problem
from mlspec.registry.errors import RegistryError
from mlspec.registry.registry import ModelRef, Registry, parse_ref
from mlspec.registry.report import gates_table, to_json

ACTIONS = ("ls", "show", "promote", "rollback", "tag", "untag", "export")


def command(argv: list[str]) -> int | None:
    parser = make_parser("models", "Registered models: versions, aliases, tags, bundles.")
    parser.add_argument("action", nargs="?", default="ls", choices=ACTIONS)
    parser.add_argument("args", nargs="*", help="NAME, NAME:VERSION, NAME@ALIAS, VERSION, KEY=V")
    parser.add_argument("--alias", help="promote: the alias to set; rollback: default champion")
    parser.add_argument("-o", "--output", help="export: the directory to write the bundle to")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    registry = Registry.for_project(Path.cwd())
    console = make_console()
    if args.action == "ls":
        return _ls(registry, console, args.json)
    if not args.args:
        raise _usage(args.action)
    if args.action == "show":
        return _show(registry, console, args.args[0], args.json)
    if args.action == "promote":
        return _promote(registry, console, args.args, args.alias)
    if args.action == "rollback":
        name = args.args[0]
        alias = args.alias or "champion"
        registry.resolve(ModelRef(name, alias=alias))  # unknown name/alias -> clear error
        moved = registry.db.rollback_alias(name, alias)
        if moved is None:
            raise RegistryError(
                Problem(
                    "nothing_to_roll_back",
                    f"@{alias} of '{name}' has no earlier version to roll back to",
                    fix=f"point it somewhere explicitly: mlspec models promote {name} VERSION"
                    f" --alias {alias}",
                )
            )
        console.print(f"{escape(name)}@{escape(alias)}: version {moved[0]} -> {moved[1]}")
        return 0
    if args.action in ("tag", "untag"):
        version = registry.resolve(args.args[0])
        pairs = args.args[1:]
        if args.action == "tag":
            bad = [p for p in pairs if "=" not in p]
            if bad or not pairs:
                raise RegistryError(
                    Problem("bad_tag", f"tags are KEY=VALUE, got {bad or 'nothing'}")
                )
            registry.db.set_tags(
                version.name, version.version, dict(p.split("=", 1) for p in pairs)
            )
        else:
            registry.db.remove_tags(version.name, version.version, pairs)
        tags = registry.db.get_version(version.name, version.version)
        console.print(f"{version.name}:{version.version} tags: {tags.tags if tags else {}}")
        return 0
    version = registry.resolve(args.args[0])  # export
    if not args.output:
        raise RegistryError(
            Problem("missing_argument", "where to?", fix="mlspec models export REF -o DIR")
        )
    out = registry.export(version, Path(args.output))
    console.print(f"exported {version.name}:{version.version} to {out}")
    return 0


def _usage(action: str) -> RegistryError:
    usage = {
        "show": "mlspec models show NAME[:VERSION|@ALIAS] [--json]",
        "promote": "mlspec models promote NAME VERSION --alias ALIAS",
        "rollback": "mlspec models rollback NAME [--alias champion]",
        "tag": "mlspec models tag NAME:VERSION KEY=VALUE ...",
        "untag": "mlspec models untag NAME:VERSION KEY ...",
        "export": "mlspec models export NAME[:VERSION|@ALIAS] -o DIR",
    }[action]
    return RegistryError(Problem("missing_argument", f"'{action}' needs a model", fix=usage))


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _ls(registry: Registry, console: Any, as_json: bool) -> int:
    rows: list[dict[str, Any]] = []
    for name in registry.db.names():
        versions = registry.db.versions(name)
        rows.append(
            {
                "name": name,
                "versions": len(versions),
                "latest": versions[-1].version,
                "aliases": registry.db.aliases(name),
                "updated": versions[-1].created_at,
            }
        )
    if as_json:
        print(to_json(rows))
        return 0
    table = Table(title="registered models")
    for col in ("name", "versions", "latest", "aliases", "last registered"):
        table.add_column(col)
    for r in rows:
        aliases = ", ".join(f"@{a}={v}" for a, v in r["aliases"].items())
        table.add_row(
            escape(r["name"]),
            str(r["versions"]),
            str(r["latest"]),
            escape(aliases),
            _when(r["updated"]),
        )
    console.print(table)
    if not rows:
        console.print("nothing registered yet: add a `register:` section to a spec and run it")
    return 0


def _objective(metrics: dict[str, Any]) -> str:
    test = metrics.get("test") or {}
    name = "roc_auc" if "roc_auc" in test else next(iter(test), None)
    return f"{name}={test[name]:.4f}" if name and test.get(name) is not None else "-"


def _show(registry: Registry, console: Any, text: str, as_json: bool) -> int:
    ref = parse_ref(text)
    if ref.version is None and ref.alias is None:
        versions = registry.db.versions(registry.resolve(ref).name)
        if as_json:
            payload = {
                "name": ref.name,
                "versions": [asdict(v) for v in versions],
                "aliases": registry.db.aliases(ref.name),
                "alias_history": registry.db.alias_history(ref.name),
            }
            print(to_json(payload))
            return 0
        table = Table(title=f"model {escape(ref.name)}")
        for col in ("version", "aliases", "test metric", "format", "model digest", "run"):
            table.add_column(col)
        table.add_column("registered")
        for v in versions:
            table.add_row(
                str(v.version),
                escape(", ".join(f"@{a}" for a in v.aliases)),
                _objective(v.metrics),
                v.model_format,
                v.model_digest[7:19],
                v.run_id or "-",
                _when(v.created_at),
            )
        console.print(table)
        return 0
    version = registry.resolve(ref)
    manifest, files = registry.read_bundle(version)
    blessing, gates = registry.db.run_gates(version.run_id) if version.run_id else (None, [])
    detail = {
        **asdict(version),
        "manifest": manifest,
        "input_schema": json.loads(files["input_schema.json"]),
        "output_schema": json.loads(files["output_schema.json"]),
        "requirements": files["requirements.txt"].decode().split(),
        "metadata": json.loads(files["metadata.json"]),
        "gates": gates,
        "blessing": blessing,
    }
    if as_json:
        print(to_json(detail))
        return 0
    console.print(
        f"[bold]{escape(version.name)}:{version.version}[/]"
        f"  aliases {escape(', '.join('@' + a for a in version.aliases) or '-')}"
        f"  registered {_when(version.created_at)}  run {version.run_id or '-'}"
    )
    console.print(f"bundle digest {version.bundle_digest}")
    console.print(f"model digest  {version.model_digest}  (covers every file but metadata.json)")
    model = manifest["model"]
    trusted = ", ".join(model.get("trusted_types", [])) or "-"
    console.print(f"format {model['format']}  trusted types: {escape(trusted)}")
    if model.get("fallback_reason"):
        console.print(f"[yellow]joblib fallback[/]: {escape(model['fallback_reason'])}")
    if version.tags:
        console.print("tags: " + escape(", ".join(f"{k}={v}" for k, v in version.tags.items())))
    out = detail["output_schema"]
    console.print(
        f"input: {len(detail['input_schema']['columns'])} columns;"
        f" output: {out['task']}"
        + (f", classes {out['classes']}" if out.get("classes") is not None else "")
    )
    files_table = Table(title="files")
    for col in ("file", "size", "digest"):
        files_table.add_column(col)
    for name, entry in sorted(manifest["files"].items()):
        files_table.add_row(name, str(entry["size"]), entry["digest"])
    console.print(files_table)
    metrics = version.metrics
    table = Table(title="metrics")
    table.add_column("metric")
    splits = [s for s in ("valid", "test") if metrics.get(s)]
    for s in splits:
        table.add_column(s, justify="right")
    for name in sorted({n for s in splits for n in metrics[s]}):
        vals = [metrics[s].get(name) for s in splits]
        table.add_row(name, *("-" if v is None else f"{v:.4f}" for v in vals))
    console.print(table)
    if gates:
        console.print(gates_table(gates, "gates of its run"))
    console.print("requirements: " + " ".join(detail["requirements"]))
    return 0


def _promote(registry: Registry, console: Any, args: list[str], alias: str | None) -> int:
    if len(args) != 2 or not alias:
        raise _usage("promote")
    name, number = args
    if not number.isdigit():
        raise RegistryError(
            Problem(
                "bad_model_ref",
                f"version '{number}' is not a number",
                fix="mlspec models promote NAME VERSION --alias ALIAS",
            )
        )
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", alias):
        raise RegistryError(
            Problem(
                "bad_alias",
                f"alias '{alias}' is not a slug",
                fix="use letters, digits, '-', '_' and '.', e.g. champion",
            )
        )
    version = registry.resolve(ModelRef(name, version=int(number)))
    previous = registry.db.set_alias(name, alias, version.version, reason="promote")
    before = f" (was version {previous})" if previous not in (None, version.version) else ""
    console.print(f"{escape(name)}@{escape(alias)} -> version {version.version}{before}")
    return 0
