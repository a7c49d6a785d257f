"""Run the benchmarks, print the table, write bench/results/latest.json.

Usage: python -m bench.run [--quick] [--only roster,video,...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import sys
import time
import traceback
from typing import Any

from bench.common import RESULTS, Row, machine, skipped

SECTIONS = ["roster", "video", "certs", "pages", "heartbeat", "exam", "coverage", "attendance", "examday"]


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"
    if unit == "req/s":
        return f"{value:,.0f}/s"
    if unit == "ms":
        return f"{value:.0f} ms"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "queries":
        return f"{value:.0f}"
    return f"{value:g} {unit}"


def table(rows: list[Row]) -> str:
    head = ["bench", "workload", "ours", "limit", "ratio", "target", "met?"]
    body = []
    for r in rows:
        met = "—" if r.met is None else ("yes" if r.met else "NO")
        body.append(
            [
                r.bench,
                r.workload + (f"  ({r.note})" if r.note else ""),
                fmt_value(r.ours, r.unit),
                fmt_value(r.limit, r.unit),
                "—" if r.ratio is None else f"{r.ratio:.2f}x",
                r.target or "—",
                met,
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]
    lines = [
        " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=False)),
        "-+-".join("-" * w for w in widths),
    ]
    lines += [" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)) for row in body]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (a CI smoke run)")
    parser.add_argument("--only", default="", help="comma-separated sections: " + ",".join(SECTIONS))
    from bench.examday import add_arguments

    add_arguments(parser)  # the exam day's options, handed to it as BENCH_EXAMDAY_* variables
    args = parser.parse_args(argv)
    _examday_env(args)
    chosen = [s for s in SECTIONS if not args.only or s in args.only.split(",")]
    started = time.time()
    info = machine()
    print(
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram_mb']} MB RAM; Python {info['python']}"
        f"{' (quick run)' if args.quick else ''}",
        flush=True,
    )
    rows: list[Row] = []
    timings: dict[str, float] = {}
    for name in chosen:
        log(f"== {name}")
        t = time.time()
        try:
            module = importlib.import_module(f"bench.{name}")
            got = module.run(args.quick, log)
        except Exception as exc:  # one broken section must not hide the others
            traceback.print_exc()
            got = [
                skipped(
                    name,
                    name,
                    f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}",
                )
            ]
        for r in got:
            r.extra["section"] = name
        rows.extend(got)
        timings[name] = round(time.time() - t, 1)
        print(table(got), flush=True)
    print("\n" + table(rows))
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": info,
        "sections": chosen,
        "section_seconds": timings,
        "seconds": round(time.time() - started, 1),
        "rows": [r.as_dict() for r in rows],
    }
    data["section_when"] = {s: data["when"] for s in chosen}
    # A full run (or part of one, --only) updates latest.json section by section; a quick run has its own file.
    out = RESULTS / ("latest-quick.json" if args.quick else "latest.json")
    elapsed = data["seconds"]
    if args.only and not args.quick and out.exists():
        data = _merged(json.loads(out.read_text()), data)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    print(f"\nWrote {out} ({elapsed:.0f} s)")
    return 0  # a missed target is a finding (the table says so), not a failure of the run


def _examday_env(args: argparse.Namespace) -> None:
    import os

    for name in (
        "takers",
        "window",
        "size",
        "databases",
        "questions",
        "time_scale",
        "think_min",
        "think_max",
    ):
        _set_env(os, name, getattr(args, name))
    for name in ("sign_in", "logins", "workers", "threads", "worker_class", "hash_slots", "pg_database"):
        _set_env(os, name, getattr(args, name))
    for name in ("reuse", "seed"):
        _set_env(os, name, getattr(args, name))


def _set_env(os: Any, name: str, value: Any) -> None:
    if value is not None:
        os.environ[f"BENCH_EXAMDAY_{name.upper()}"] = str(int(value) if isinstance(value, bool) else value)


def _merged(whole: dict[str, Any], partial: dict[str, Any]) -> dict[str, Any]:
    """Replace, inside an earlier full run's results, the sections just run again."""
    replaced = set(partial["sections"])
    whole["rows"] = [r for r in whole["rows"] if r["extra"].get("section") not in replaced] + partial["rows"]
    # keep the table in section order (a stable sort: rows of one section stay as they were measured)
    whole["rows"].sort(
        key=lambda r: SECTIONS.index(r["extra"]["section"]) if r["extra"].get("section") in SECTIONS else 99
    )
    whole["sections"] = sorted(set(whole.get("sections", [])) | set(partial["sections"]), key=SECTIONS.index)
    whole.setdefault("section_seconds", {}).update(partial["section_seconds"])
    whole.setdefault("section_when", {}).update({s: partial["when"] for s in partial["sections"]})
    whole["when"], whole["machine"] = partial["when"], partial["machine"]
    return whole


if __name__ == "__main__":
    sys.exit(main())
