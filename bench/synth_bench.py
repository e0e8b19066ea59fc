"""Time and memory of ``ftigate.synth.generate`` at the sizes the project cares about.

Each size runs in its own child process, so its peak resident memory (``ru_maxrss``) is its own
and not the largest of all runs. The child times every stage through the progress callback.
Figures print as a table and go to ``bench/out/synth-<taxpayers>-<requests>.json``.

Run:
    .venv/bin/python bench/synth_bench.py                     # 200k/20k and 2M/200k
    .venv/bin/python bench/synth_bench.py --sizes 20000:2000  # any taxpayers:requests pairs

The target is 2,000,000 taxpayers and 200,000 requests in under five minutes on two cores.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"
DEFAULT_SIZES = ("200000:20000", "2000000:200000")


def child(taxpayers: int, requests: int, seed: int) -> dict[str, object]:
    """Generate once in this process; return wall time per stage and the peak memory."""
    from ftigate.synth import generate

    marks: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="synth-bench-") as tmp:
        start = time.perf_counter()
        summary = generate(
            taxpayers,
            requests,
            seed,
            Path(tmp),
            progress=lambda stage, _f: marks.append((stage, time.perf_counter() - start)),
        )
        total = time.perf_counter() - start
        sizes = {p.name: p.stat().st_size for p in summary.files if p.suffix == ".csv"}
    stages: dict[str, float] = {}
    for (stage, at), (_, nxt) in itertools.pairwise(marks):
        stages[stage] = round(stages.get(stage, 0.0) + nxt - at, 3)
    return {
        "taxpayers": taxpayers,
        "requests": requests,
        "seed": seed,
        "addresses": summary.addresses,
        "seconds": round(total, 2),
        "stages": stages,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "file_bytes": sizes,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", nargs="*", default=list(DEFAULT_SIZES), help="taxpayers:requests pairs"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        t, r = (int(x) for x in args.child.split(":"))
        print(json.dumps(child(t, r, args.seed)))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    print(
        f"{'taxpayers':>10} {'requests':>9} {'addresses':>10} {'seconds':>8} {'peak MB':>8}  stages"
    )
    for size in args.sizes:
        run = subprocess.run(
            [sys.executable, __file__, "--child", size, "--seed", str(args.seed)],
            check=True,
            capture_output=True,
            text=True,
        )
        fig = json.loads(run.stdout.strip().splitlines()[-1])
        t, r = size.split(":")
        (OUT / f"synth-{t}-{r}.json").write_text(json.dumps(fig, indent=2) + "\n")
        stages = " ".join(f"{k}={v}s" for k, v in fig["stages"].items())
        print(
            f"{fig['taxpayers']:>10} {fig['requests']:>9} {fig['addresses']:>10} "
            f"{fig['seconds']:>8} {fig['peak_rss_mb']:>8}  {stages}"
        )


if __name__ == "__main__":
    main()
