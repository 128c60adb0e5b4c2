"""Data engine speed and memory: pairs/s with view reuse vs the naive way, at 112 and 224 px.

    .venv/bin/python bench/data.py                 # ~2 minutes on 2 cores
    .venv/bin/python bench/data.py --full          # also the issue's 100,000-pair job at 224 px (~10 min)

Each configuration runs as its own `actial data generate`-equivalent process tree (the driver and
its worker processes); peak memory is the largest sum of RSS over that tree, sampled every 0.1 s.
"Naive" renders two fresh views for every pair (``reuse_views=False``); "reuse" renders each
scene's views once and pairs them several times. Memory is measured at two dataset sizes to show
it does not grow with the dataset. Writes ``bench/results/data.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
RUN = """
import json, sys
from training.engine import GeneratorConfig, generate
cfg = GeneratorConfig(**json.loads(sys.argv[1]))
res = generate(cfg, sys.argv[2], workers=int(sys.argv[3]), show_progress=False)
print(json.dumps({"rows": res.rows, "seconds": res.seconds}))
"""


def run(cfg: dict, workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="actial-bench-") as tmp:
        out = Path(tmp) / "ds"
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", RUN, json.dumps(cfg), str(out), str(workers)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ps, peak = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            try:
                tree = [ps, *ps.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.1)
        wall = time.perf_counter() - t0
        stdout = proc.stdout.read()
        if proc.returncode != 0:
            raise RuntimeError(f"generation failed ({proc.returncode}): {stdout}")
        res = json.loads(stdout.strip().splitlines()[-1])
        size = sum(f.stat().st_size for f in out.glob("*.parquet"))
    return {"rows": res["rows"], "generate_s": res["seconds"], "wall_s": wall, "pairs_per_s": res["rows"] / res["seconds"],
            "peak_rss_mb": peak / 2**20, "dataset_mb": size / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=2000, help="pairs per 'reuse' run")
    ap.add_argument("--naive-pairs", type=int, default=500, help="pairs per naive run (it is slower)")
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--full", action="store_true", help="also run a 100,000-pair job at 224 px")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "data.json")
    args = ap.parse_args()

    results: dict = {"workers": args.workers, "cpus": os.cpu_count(), "runs": {}}
    console = Console(width=110)
    for size in (112, 224):
        for mode, n in (("reuse", args.pairs), ("naive", args.naive_pairs)):
            cfg = {"n_pairs": n, "image_size": size, "reuse_views": mode == "reuse"}
            console.print(f"{mode} @ {size}px, {n} pairs ...")
            results["runs"][f"{mode}@{size}"] = run(cfg, args.workers)
    # memory vs dataset size (reuse, 224 px)
    console.print(f"memory check: {4 * args.pairs} pairs @ 224px ...")
    results["runs"]["reuse@224 x4"] = run({"n_pairs": 4 * args.pairs, "image_size": 224}, args.workers)
    if args.full:
        console.print("full: 100,000 pairs @ 224px ...")
        results["runs"]["full 100k@224"] = run({"n_pairs": 100_000, "image_size": 224}, args.workers)

    t = Table(title=f"Data engine, {args.workers} worker processes")
    for col in ("run", "pairs", "pairs/s", "speed-up vs naive", "peak RSS MB", "dataset MB"):
        t.add_column(col, justify="left" if col == "run" else "right")
    for name, r in results["runs"].items():
        size = name.split("@")[1].split()[0]
        naive = results["runs"].get(f"naive@{size}")
        speed = f"{r['pairs_per_s'] / naive['pairs_per_s']:.2f}" if naive and name.startswith(("reuse", "full")) else ""
        t.add_row(name, str(r["rows"]), f"{r['pairs_per_s']:.1f}", speed, f"{r['peak_rss_mb']:.0f}", f"{r['dataset_mb']:.1f}")
    console.print(t)
    r224 = results["runs"]["reuse@224"]
    minutes = 100_000 / r224["pairs_per_s"] / 60
    results["projected_100k_224_minutes"] = minutes
    results["ratios"] = {f"reuse/naive@{s}": results["runs"][f"reuse@{s}"]["pairs_per_s"] /
                         results["runs"][f"naive@{s}"]["pairs_per_s"] for s in (112, 224)}
    results["memory_growth"] = results["runs"]["reuse@224 x4"]["peak_rss_mb"] / r224["peak_rss_mb"]
    console.print(f"100,000 pairs at 224 px: {minutes:.1f} min at the measured rate (target < 12 min, >= 140 pairs/s); "
                  f"peak memory x{results['memory_growth']:.2f} for a 4x larger dataset")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
