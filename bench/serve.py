"""Serving speed: p50/p99 latency and requests/s at 1, 4 and 16 concurrent clients, vLLM vs transformers serve.

    .venv/bin/python bench/serve.py                       # builds a format-trained tiny checkpoint (~1 min)
    .venv/bin/python bench/serve.py --checkpoint outputs/demo/sft --requests 160

The engines (vLLM compiled, vLLM with --enforce-eager, transformers) serve the same checkpoint on 127.0.0.1,
one after the other (never two at once: two cores); ``--cold`` clears the compile caches before each vLLM
start, as on a fresh machine. Each request is one two-image viewpoint question from the checkpoint's dataset, sent through
``SpatialClient`` with a direct prompt, greedy, answers up to 32 tokens. Requests are spread over
N client threads (N = concurrency); latency is per request, requests/s is over the whole wave.
Writes ``bench/results/serve.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from actial_robot.client import SpatialClient, SpatialClientError  # noqa: E402
from actial_robot.serve import ModelServer, ServeConfig, free_port  # noqa: E402
from training.dataset import iter_rows  # noqa: E402
from training.views import decode_image  # noqa: E402


def wave(client: SpatialClient, rows: list[dict], concurrency: int, n: int) -> dict:
    jobs = [rows[i % len(rows)] for i in range(n)]

    def one(row):
        t0 = time.perf_counter()
        try:
            client.ask(row["arrays"], row["question"], row["options"])
            ok = True
        except SpatialClientError:
            ok = False
        return time.perf_counter() - t0, ok

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        res = list(pool.map(one, jobs))
    wall = time.perf_counter() - t0
    lat = np.array([r[0] for r in res]) * 1000
    return {"concurrency": concurrency, "requests": n, "ok": int(sum(r[1] for r in res)),
            "p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99)),
            "requests_per_s": n / wall}


def clear_compile_caches() -> None:
    """Remove torch inductor's and vLLM's compile caches, as a fresh machine has them (the server's torch is the
    same release as ours, so torch's own answer names its inductor cache, TORCHINDUCTOR_CACHE_DIR included)."""
    import shutil

    from torch._inductor.runtime.cache_dir_utils import cache_dir

    vllm_root = os.getenv("VLLM_CACHE_ROOT") or Path(os.getenv("XDG_CACHE_HOME") or Path.home() / ".cache") / "vllm"
    for d in (cache_dir(), Path(vllm_root).expanduser() / "torch_compile_cache"):
        shutil.rmtree(d, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, help="servable checkpoint (default: build a format-trained tiny one)")
    ap.add_argument("--data", type=Path, help="dataset for the questions (default: the checkpoint's smoke data)")
    ap.add_argument("--requests", type=int, default=160, help="requests per concurrency level")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--engines", nargs="+", default=["vllm", "vllm-eager", "transformers"],
                    help="vllm (torch.compile'd), vllm-eager (--enforce-eager: no compile), transformers")
    ap.add_argument("--cold", action="store_true",
                    help="clear the compile caches before each vLLM start (a fresh machine's first start)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "serve.json")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="actial-bench-serve-")
    if args.checkpoint is None:
        from training.sft import smoke_checkpoint

        args.checkpoint, data = smoke_checkpoint(Path(tmp.name))
        args.data = args.data or data
    if args.data is None:
        ap.error("--data is required with --checkpoint")
    rows = []
    for r in iter_rows(args.data, columns=["images", "question", "options"]):
        rows.append({"arrays": [decode_image(b) for b in r["images"]], "question": r["question"],
                     "options": list(r["options"])})
        if len(rows) == 32:
            break

    results = []
    for engine in args.engines:
        if args.cold and engine.startswith("vllm"):
            clear_compile_caches()
        cfg = ServeConfig(checkpoint=str(args.checkpoint), engine=engine.split("-")[0], port=free_port(),
                          device="cpu", log_file=str(Path(tmp.name) / f"{engine}.log"),
                          enforce_eager=engine == "vllm-eager")
        with ModelServer(cfg) as server:
            client = SpatialClient(server.base_url, model=server.model_name, timeout=120, max_concurrency=64)
            wave(client, rows, 4, 16)  # warm-up: first requests compile / allocate
            for c in args.concurrency:
                res = wave(client, rows, c, args.requests)
                results.append({"engine": engine, "startup_s": server.startup_s, **res})
                print(json.dumps(results[-1]), flush=True)
            client.close()

    table = Table(title=f"Serving the tiny model on {os.cpu_count()} CPU cores ({args.requests} requests per level)")
    for col in ("clients", *[f"{e} {m}" for e in args.engines for m in ("p50 ms", "p99 ms", "req/s")],
                "vLLM / tf req/s", "eager / compiled req/s"):
        table.add_column(col, justify="right")
    summary = []
    for c in args.concurrency:
        by = {r["engine"]: r for r in results if r["concurrency"] == c}
        cells = [str(c)]
        for e in args.engines:
            r = by.get(e)
            cells += [f"{r['p50_ms']:.0f}", f"{r['p99_ms']:.0f}", f"{r['requests_per_s']:.1f}"] if r else ["-"] * 3
        ratio = (by["vllm"]["requests_per_s"] / by["transformers"]["requests_per_s"]
                 if "vllm" in by and "transformers" in by else None)
        eager = (by["vllm-eager"]["requests_per_s"] / by["vllm"]["requests_per_s"]
                 if "vllm" in by and "vllm-eager" in by else None)
        cells += [f"x{ratio:.2f}" if ratio else "-", f"x{eager:.2f}" if eager else "-"]
        summary.append({"concurrency": c, "vllm_over_transformers_rps": ratio, "eager_over_compiled_rps": eager})
        table.add_row(*cells)
    Console().print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"results": results, "summary": summary, "cpu_count": os.cpu_count(), "cold": args.cold,
                                    "checkpoint": str(args.checkpoint)}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
