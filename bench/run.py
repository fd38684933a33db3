"""Benchmark runner behind ``make bench``.

Runs every ``bench/bench_*.py`` module's ``run()`` and prints one Markdown table. The same
text goes to ``bench/results.md``. Each ``run()`` returns rows, and a row is a dict with
``figure`` (str), ``value`` (float), ``unit`` (str), ``target`` (str, e.g. "< 1.0 s") and
``ok`` (bool, or None when the figure has no target).

Usage, from the repository root::

    python -m bench.run [NAME ...]
    python bench/run.py [NAME ...]

Each NAME selects the modules whose name contains it: ``planner`` runs ``bench_planner``.
The exit status is 0 even when a target is missed; misses are listed below the table. A
module whose ``run()`` raises becomes one row with ok=False and the error, and the other
modules still run.
"""

from __future__ import annotations

import datetime
import importlib
import math
import os
import platform
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(ROOT) not in sys.path:
    # ``python bench/run.py`` puts bench/ on the path, not the repository root.
    sys.path.insert(0, str(ROOT))

RESULTS = BENCH_DIR / "results.md"
COLUMNS = ("figure", "value", "unit", "target", "ok")


def discover(names: Sequence[str] = ()) -> list[str]:
    """Module names of bench/bench_*.py, sorted, keeping those that contain any of ``names``."""
    modules = sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))
    if names:
        modules = [m for m in modules if any(name in m for name in names)]
    return modules


def run_module(module_name: str) -> list[dict]:
    """The rows of one module. If importing or running it raises, one error row instead."""
    try:
        module = importlib.import_module(f"bench.{module_name}")
        rows = list(module.run())
        for row in rows:
            missing = [c for c in COLUMNS if c not in row]
            if missing:
                raise ValueError(f"row {row!r} lacks {', '.join(missing)}")
        return rows
    except Exception as error:  # noqa: BLE001 - one broken benchmark must not stop the rest
        traceback.print_exc(file=sys.stderr)
        return [
            {
                "figure": f"{module_name}: run() raised {type(error).__name__}: {error}",
                "value": math.nan,
                "unit": "",
                "target": "runs without error",
                "ok": False,
            }
        ]


def machine_line(now: datetime.datetime | None = None) -> str:
    now = now or datetime.datetime.now().astimezone()
    return (
        f"Benchmarks on {platform.node() or 'unknown host'}: {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {now:%Y-%m-%d %H:%M %Z}"
    )


def format_value(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "—"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.4g}"


def format_ok(ok: bool | None) -> str:
    if ok is None:
        return "—"
    return "yes" if ok else "**MISSED**"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(rows: Sequence[dict], header: str) -> str:
    lines = [
        header,
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(["---", "---:", "---", "---", "---"]) + "|",
    ]
    for row in rows:
        cells = (
            row["figure"],
            format_value(row["value"]),
            row["unit"],
            row["target"],
            format_ok(row["ok"]),
        )
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    misses = [row for row in rows if row["ok"] is False]
    lines.append("")
    if misses:
        lines.append(f"{len(misses)} target(s) MISSED:")
        for row in misses:
            measured = " ".join(p for p in (format_value(row["value"]), row["unit"]) if p)
            lines.append(f"- {row['figure']}: {measured}, target {row['target']}")
    else:
        lines.append("All targets met.")
    return "\n".join(lines) + "\n"


def write_results(text: str, path: Path = RESULTS) -> None:
    """Write through a temporary file, so an interrupted run leaves the old results whole."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def main(argv: Sequence[str] | None = None) -> int:
    names = list(sys.argv[1:] if argv is None else argv)
    modules = discover(names)
    if not modules:
        print(f"no bench/bench_*.py module matches {names}", file=sys.stderr)
        return 0
    rows: list[dict] = []
    for module_name in modules:
        print(f"running {module_name} ...", file=sys.stderr, flush=True)
        rows.extend(run_module(module_name))
    text = render(rows, machine_line())
    print(text, end="")
    if not names:  # a partial run must not replace the full table
        write_results(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
