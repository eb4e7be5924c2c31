"""Print the Markdown table of docs/performance.md from the JSON document of bench/run.py.

make bench > bench.json && python bench/table.py bench.json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def cell(stats: dict[str, Any] | None, unit: str) -> str:
    if not stats:
        return "-"
    median = stats.get("median")
    text = f"{median:g}" if isinstance(median, int | float) else str(median)
    if "peak" in stats:
        return f"{text} (peak {stats['peak']:g})"
    if "min" in stats and stats.get("runs", 1) > 1:
        text += f" ({stats['min']:g}-{stats['max']:g})"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", help="the JSON document (default: stdin)")
    args = parser.parse_args()
    with open(args.file, encoding="utf-8") if args.file else sys.stdin as handle:
        document = json.load(handle)
    print("| figure | target | measured (median, min-max) | at a tenth | growth | met |")
    print("|---|---|---|---|---|---|")
    for row in document["figures"]:
        met = {True: "yes", False: "**no**", None: "-"}[row["met"]]
        unit = f" {row['unit']}" if row["unit"] else ""
        print(
            f"| {row['what']} | {row['target']} | {cell(row['full'], unit)}{unit} "
            f"| {cell(row['tenth'], unit)} | {row.get('growth', '-')} | {met} |"
        )


if __name__ == "__main__":
    main()
