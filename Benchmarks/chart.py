#!/usr/bin/env python3
"""Draws the benchmark's ratios beside their references and targets, as an SVG chart.

Reads a results table in the form Benchmarks/bench.py renders it (the one in
Benchmarks/RESULTS.md by default) and plots, for every figure measured against a reference in
the same run (bare Hummingbird, the bare relay, nginx, the Flask anchor, Python jsonschema, ...),
RouteHost's ratio as a bar and the target as a mark. A ratio of 1 is the reference itself.

    python3 Benchmarks/chart.py                                   # RESULTS.md -> Benchmarks/chart.svg
    python3 Benchmarks/chart.py results/latest.md results/chart.svg

Needs matplotlib (PyPI); Benchmarks/run.sh installs it.
"""
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
RATIO = re.compile(r"^([0-9.]+)×")
TARGET = re.compile(r"≥\s*([0-9.]+)×\s*(.*)$")


def rows(table_text):
    """(figure, ratio, target or None, reference) for each table row with a ratio; the target
    when it is a ratio (`≥ 0.75× bare`), None for diagnostic rows (the stack's own floors)."""
    found = []
    for line in table_text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("figure", "---"):
            continue
        figure, _, reference, ratio, target = cells
        ratio_match, target_match = RATIO.match(ratio), TARGET.search(target)
        if not ratio_match:
            continue
        if target_match:
            found.append((figure, float(ratio_match.group(1)), float(target_match.group(1)),
                          target_match.group(2) or reference.split(" ")[0]))
        else:
            found.append((figure, float(ratio_match.group(1)), None, reference.split(" ")[0] or "reference"))
    return found


def short(figure, limit=58):
    figure = re.sub(r"\s*\(.*?\)", "", figure).replace(": req/s", "").replace("validations/s: ", "validate: ")
    return figure if len(figure) <= limit else figure[: limit - 1] + "…"


def draw(found, title, out):
    height = 0.42 * len(found) + 1.6
    figure, axes = plt.subplots(figsize=(11, height))
    labels = [short(name) if reference[:1].isdigit() else f"{short(name)}  (vs {reference})" for name, _, _, reference in found]
    positions = range(len(found))
    ratios = [ratio for _, ratio, _, _ in found]
    targets = [target for _, _, target, _ in found]
    colours = ["#9e9e9e" if target is None else "#2e7d32" if ratio >= target else "#c62828" for ratio, target in zip(ratios, targets)]
    axes.barh(positions, ratios, color=colours, height=0.6, label="RouteHost ÷ reference (same run; grey: diagnostic)")
    marked = [(target, position) for target, position in zip(targets, positions) if target is not None]
    axes.scatter([t for t, _ in marked], [p for _, p in marked], marker="|", s=400, color="black", zorder=3, label="target")
    for position, ratio in zip(positions, ratios):
        axes.text(ratio, position, f" {ratio:g}×", va="center", fontsize=8)
    axes.set_yticks(list(positions), labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.axvline(1, color="grey", linewidth=0.8, linestyle="--")
    axes.set_xlabel("ratio to the reference (log scale; 1 = the reference itself)")
    axes.set_title(title, fontsize=10)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    kind = Path(out).suffix.lstrip(".") or "svg"
    figure.savefig(out, format=kind, metadata={"Date": None} if kind == "svg" else None)
    print(f"chart: {len(found)} figures -> {out}")


def main():
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "RESULTS.md"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "chart.svg"
    text = source.read_text()
    found = rows(text)
    if not found:
        sys.exit(f"chart: no ratio figures with targets in {source}")
    when = re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", text)
    draw(found, f"RouteHost against the references of the same run ({when.group(0) if when else source.name}; green: target met)", out)


if __name__ == "__main__":
    main()
