"""What a person reads: recommendation tables and JSON lines."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from rich.console import Console
from rich.table import Table

from aurora_stream.wire.records import Recommendation, RejectedRow


def column_label(rec: Recommendation, names: Sequence[str] | None) -> str:
    if names and rec.column < len(names):
        return names[rec.column]
    return f"#{rec.column}"


def as_json(rec: Recommendation, names: Sequence[str] | None) -> dict:
    """The machine-readable form of one recommendation (one line per column)."""
    return {
        "dataset": rec.dataset_id, "column": column_label(rec, names),
        "column_index": rec.column, "feature_type": rec.feature_type,
        "transformation": rec.transformation, "imputation": rec.imputation,
        "confidence": round(rec.confidence, 4), "layer": rec.layer, "reason": rec.reason,
        "recommendation_id": rec.recommendation_id, "needs_review": rec.needs_review,
        "provenance": rec.provenance, "model_version": rec.model_version,
        "alternatives": rec.alternatives, "rows": rec.rows, "rows_rejected": rec.rows_rejected,
    }


def print_json_lines(recs: Sequence[Recommendation], names: Sequence[str] | None) -> None:
    for r in recs:
        print(orjson.dumps(as_json(r, names)).decode())


def print_table(console: Console, recs: Sequence[Recommendation],
                names: Sequence[str] | None, title: str) -> None:
    table = Table(title=title, show_lines=False, expand=False)
    for col, kw in (("column", {"style": "bold"}), ("feature type", {}),
                    ("transformation", {}), ("imputation", {}),
                    ("confidence", {"justify": "right"}), ("layer", {}),
                    ("reason", {"overflow": "fold", "max_width": 60})):
        table.add_column(col, **kw)
    for r in recs:
        conf = f"{r.confidence:.2f}" + (" [yellow]review[/]" if r.needs_review else "")
        table.add_row(column_label(r, names), r.feature_type, r.transformation, r.imputation,
                      conf, r.layer, r.reason)
    console.print(table)


def print_summary(console: Console, recs: Sequence[Recommendation],
                  rejected: Sequence[RejectedRow], limit: int = 10) -> None:
    """Row accounting (rows in = parsed + rejected) and the first rejected rows."""
    if not recs:
        return
    parsed = max(r.rows for r in recs)
    n_rej = max(r.rows_rejected for r in recs)
    console.print(f"rows in: {parsed + n_rej}  parsed: {parsed}  rejected: {n_rej}"
                  + (f"  ({sum(r.needs_review for r in recs)} column(s) need review)"
                     if any(r.needs_review for r in recs) else ""))
    for row in list(rejected)[:limit]:
        console.print(f"  [red]line {row.line}[/]: {row.reason}")
    if len(rejected) > limit:
        console.print(f"  ... and {len(rejected) - limit} more on aurora.rejected-rows")
