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

SECTIONS = ["roster", "video", "certs", "pages", "heartbeat", "exam", "coverage", "attendance"]


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
        body.append([r.bench, r.workload + (f"  ({r.note})" if r.note else ""), fmt_value(r.ours, r.unit),
                     fmt_value(r.limit, r.unit), "—" if r.ratio is None else f"{r.ratio:.2f}x", r.target or "—", met])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=False)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)) for row in body]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (a CI smoke run)")
    parser.add_argument("--only", default="", help="comma-separated sections: " + ",".join(SECTIONS))
    args = parser.parse_args(argv)
    chosen = [s for s in SECTIONS if not args.only or s in args.only.split(",")]
    started = time.time()
    info = machine()
    print(f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram_mb']} MB RAM; Python {info['python']}"
          f"{' (quick run)' if args.quick else ''}", flush=True)
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
            got = [skipped(name, name, f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")]
        rows.extend(got)
        timings[name] = round(time.time() - t, 1)
        print(table(got), flush=True)
    print("\n" + table(rows))
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"when": dt.datetime.now().isoformat(timespec="seconds"), "quick": args.quick, "machine": info,
            "sections": chosen, "section_seconds": timings, "seconds": round(time.time() - started, 1),
            "rows": [r.as_dict() for r in rows]}
    out = RESULTS / ("latest.json" if not args.only else f"latest-{'-'.join(chosen)}.json")
    if args.only and not args.quick:
        _merge_into_latest(data)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    print(f"\nWrote {out} ({data['seconds']:.0f} s)")
    missed = [r for r in rows if r.met is False]
    return 0 if not missed else 0  # a missed target is a finding, not a failure of the run


def _merge_into_latest(partial: dict[str, Any]) -> None:
    """Replace the sections just run inside latest.json (so one section can be re-run alone)."""
    path = RESULTS / "latest.json"
    if not path.exists():
        return
    whole = json.loads(path.read_text())
    if whole.get("quick"):
        return
    keep = [r for r in whole["rows"] if r["bench"] not in _benches(partial["sections"])]
    whole["rows"] = keep + partial["rows"]
    whole["section_seconds"].update(partial["section_seconds"])
    whole["when"] = partial["when"]
    path.write_text(json.dumps(whole, ensure_ascii=False, indent=2, default=str))


def _benches(sections: list[str]) -> set[str]:
    names = {"certs": {"certificates"}, "roster": {"roster", "memory"}, "attendance": {"attendance", "memory"}}
    out: set[str] = set()
    for s in sections:
        out |= names.get(s, {s})
    return out


if __name__ == "__main__":
    sys.exit(main())
