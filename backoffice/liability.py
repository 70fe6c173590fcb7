"""The liability report (backoffice.selectors.liability_report) as text: CSV (the admin page's
download and `liability_report --format csv`), JSON and a plain-text table (the command).

The CSV holds the detail rows only, one per reward and brand, so that a spreadsheet's sums count
each amount once; the subtotals per reward, the money totals per brand and overall are in the JSON
and the table. Amounts and values are exact decimal text (4 places); a value is empty (null in
JSON) for a reward without a conversion factor.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal

from backoffice.selectors import LIABILITY_AMOUNTS
from core.json import ExactJSONEncoder

HEAD = ["reward_id", "reward", "brand_id", "brand", "factor"]
COLUMNS = [*HEAD, *(name for key in LIABILITY_AMOUNTS for name in (key, f"{key}_value"))]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _named(obj, attr: str = "name") -> str:
    return getattr(obj, attr, "") if obj is not None else ""


def flat(row: dict) -> dict:
    """One report row as COLUMNS -> text."""
    out = {
        "reward_id": row["reward_id"],
        "reward": _named(row["reward"]),
        "brand_id": row["brand_id"] or "",
        "brand": _named(row["brand"]),
        "factor": _text(row["factor"]),
    }
    for key in LIABILITY_AMOUNTS:
        out[key], out[f"{key}_value"] = _text(row[key]), _text(row[f"{key}_value"])
    return out


def write_csv(report: dict, out) -> None:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in report["rows"]:
        writer.writerow(flat(row))


def _money(sums: dict) -> dict:
    return {
        **{f"{k}_value": _text(sums[f"{k}_value"]) for k in LIABILITY_AMOUNTS},
        "unvalued_rewards": sorted(sums["unvalued"]),
    }


def as_json(report: dict) -> str:
    """Everything: detail rows, subtotals per reward, money totals per brand and overall."""
    body = {
        "as_of": report["as_of"].isoformat(),
        "brand_id": report["brand_id"],
        "rows": [flat(r) for r in report["rows"]],
        "rewards": [{**flat(r), "brands": r["brands"]} for r in report["rewards"]],
        "brands": [{"brand_id": b["brand_id"], "brand": _named(b["brand"]), **_money(b)} for b in report["brands"]],
        "total": _money(report["total"]),
    }
    return json.dumps(body, cls=ExactJSONEncoder, indent=2, ensure_ascii=False)


def _cell(line: dict, key: str, width: int, *, left: bool) -> str:
    value = str(line.get(key, ""))
    return value.ljust(width) if left else value.rjust(width)


def as_table(report: dict) -> str:
    """A fixed-width table: the rows, each reward's subtotal when it spans brands, the money
    totals per brand and overall."""
    keys = ["reward", "brand_id", *(name for k in LIABILITY_AMOUNTS for name in (k, f"{k}_value"))]
    lines = [dict(zip(keys, keys, strict=True))]
    for row in report["rows"]:
        lines.append(flat(row) | {"brand_id": row["brand_id"] or "-"})
    for sub in report["rewards"]:
        if sub["brands"] > 1:
            lines.append(flat(sub) | {"brand_id": "(all)"})
    for sums in report["brands"]:
        lines.append({"reward": "value total", "brand_id": sums["brand_id"] or "-", **_money(sums)})
    lines.append({"reward": "value total", "brand_id": "(all)", **_money(report["total"])})
    widths = {k: max(len(str(line.get(k, ""))) for line in lines) for k in keys}
    text = ["  ".join(_cell(line, k, widths[k], left=i < 2) for i, k in enumerate(keys)).rstrip() for line in lines]
    unvalued = sorted(report["total"]["unvalued"])
    head = f"Outstanding liability as of {report['as_of'].isoformat()}" + (
        f", brand {report['brand_id']}" if report["brand_id"] else ""
    )
    foot = [f"rewards without a conversion factor (not in the value totals): {', '.join(unvalued)}"] if unvalued else []
    if not report["rows"]:
        return f"{head}\nNo reward is held."
    return "\n".join([head, *text, *foot])
