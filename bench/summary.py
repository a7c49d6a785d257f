"""Print bench/results/latest.json as the Markdown table of bench/README.md: ``python -m bench.summary``."""

from __future__ import annotations

import json
import sys

from bench.common import RESULTS
from bench.run import fmt_value


def main() -> None:
    path = RESULTS / (sys.argv[1] if len(sys.argv) > 1 else "latest.json")
    data = json.loads(path.read_text())
    m = data["machine"]
    print(
        f"Run of {data['when']} on {m['cpu']}, {m['cores']} cores, {m['ram_mb']:,} MB RAM, {m['os']}, "
        f"Python {m['python']}{' (quick)' if data.get('quick') else ''}."
    )
    when = data.get("section_when") or {}
    if when:
        print(
            "Sections measured at: " + "; ".join(f"{k} {v.replace('T', ' ')}" for k, v in when.items()) + "."
        )
    print()
    print("| bench | workload | ours | limit (same run) | ratio | target | met? |")
    print("|---|---|---|---|---|---|---|")
    for r in data["rows"]:
        met = "—" if r["met"] is None else ("yes" if r["met"] else "**no**")
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}×"
        work = r["workload"] + (f" ({r['note']})" if r["note"] else "")
        print(
            f"| {r['bench']} | {work} | {fmt_value(r['ours'], r['unit'])} | {fmt_value(r['limit'], r['unit'])} | "
            f"{ratio} | {r['target'] or '—'} | {met} |"
        )


if __name__ == "__main__":
    main()
