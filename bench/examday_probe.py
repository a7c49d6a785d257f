"""A second client for the exam day, in its own process: a few plain requests a second, timed alone.

The load generator measures its latencies from inside one asyncio loop that also plays thousands of takers; if
that loop falls behind, every latency it reports grows though the server answered at once. This probe shares
nothing with it (its own process, one blocking connection per request, like a new phone), so where the two
disagree, the difference is the generator's; where they agree, the wait is the server's or the machine's.

``python -m bench.examday_probe URL OUT SECONDS PATH...`` writes one JSON line per request:
``{"t": unix time sent, "path": …, "ms": latency, "status": …}``.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    base, out, seconds, paths = argv[0], argv[1], float(argv[2]), argv[3:]
    every = 0.25
    end = time.time() + seconds
    with open(out, "a") as fh:
        i = 0
        while time.time() < end:
            path = paths[i % len(paths)]
            i += 1
            t = time.time()
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(base + path, timeout=60) as resp:
                    resp.read()
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0
            ms = (time.perf_counter() - t0) * 1000
            fh.write(json.dumps({"t": t, "path": path, "ms": round(ms, 2), "status": status}) + "\n")
            fh.flush()
            time.sleep(max(0.0, every - ms / 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
