"""Row accounting: where every source row went (DESIGN §4, "nothing is lost").

Built from the clean stage's per-step accounting and the validate stage's report, so the table
is the same whether those stages ran or were served from cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.table import Table


@dataclass(frozen=True)
class AccountingRow:
    step: str
    rows_in: int
    rows_out: int
    removed: int
    changed: int


@dataclass(frozen=True)
class Accounting:
    rows: list[AccountingRow]
    source_rows: int
    valid_rows: int
    quarantined_rows: int
    removed_rows: int

    @property
    def closes(self) -> bool:
        return self.source_rows == self.valid_rows + self.quarantined_rows + self.removed_rows


def build_accounting(
    clean: dict[str, Any] | None, report: dict[str, Any] | None
) -> Accounting | None:
    if clean is None and report is None:
        return None
    rows: list[AccountingRow] = []
    source = None
    removed = 0
    if clean is not None:
        source = int(clean["rows_in"])
        for step in clean.get("steps", []):
            rows.append(
                AccountingRow(
                    f"clean: {step['step']}",
                    int(step["rows_in"]),
                    int(step["rows_out"]),
                    int(step["removed"]),
                    int(step.get("changed", 0)),
                )
            )
            removed += int(step["removed"])
    valid = quarantined = 0
    if report is not None:
        rows_in = int(report.get("rows_in", report.get("rows", 0)))
        quarantined = int(report.get("rows_quarantined", 0))
        valid = int(report.get("rows_valid", rows_in - quarantined))
        source = rows_in if source is None else source
        rows.append(AccountingRow("validate", rows_in, valid, quarantined, 0))
    assert source is not None
    if report is None:
        valid = source - removed
    return Accounting(rows, source, valid, quarantined, removed)


def accounting_table(acc: Accounting, label: str = "") -> Table:
    table = Table(title=f"{label}rows")
    for col in ("step", "rows in", "rows out", "removed / quarantined", "changed"):
        table.add_column(col, justify="left" if col == "step" else "right")
    for row in acc.rows:
        table.add_row(
            row.step, str(row.rows_in), str(row.rows_out), str(row.removed), str(row.changed)
        )
    verdict = "closes" if acc.closes else "DOES NOT CLOSE"
    table.caption = (
        f"{acc.source_rows} in = {acc.valid_rows} valid + {acc.quarantined_rows} quarantined"
        f" + {acc.removed_rows} removed by cleaning: {verdict}"
    )
    return table
