"""Time-boxed SFT runs side by side: does the model learn the viewpoint task with more steps, a bigger
model, another learning rate? Each run builds its own tiny model, trains for the same wall-clock budget
and logs held-out accuracy as it goes; the runs start together (one process each) so that they share
the machine alike.

    .venv/bin/python bench/sweep.py bench/sweeps/gpu_viewpoint.yaml --data outputs/demo/data
    .venv/bin/python bench/sweep.py bench/sweeps/smoke.yaml --data outputs/demo/data   # CPU, ~1 min

A spec is YAML: ``common`` holds SFTRunConfig fields for every run; ``runs`` is a list of
``{name, tiny: {TINY_SIZES overrides}, sft: {SFTRunConfig overrides}}``. Set ``time_limit_s`` (and a
large ``max_steps``) to box the runs. Writes ``bench/results/sweep-<spec name>.json`` with each run's
accuracy curve, steps/s and samples/s (evaluation excluded), and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def run_one(run: dict, common: dict, data: Path, work: Path) -> dict:
    """Build the run's tiny model, train it, return its curve (runs in a child process)."""
    import torch

    from training.checkpoint import read_manifest
    from training.presets import TOKENIZER_ROWS, build_tiny, dataset_texts, read_preset_info
    from training.sft import SFTRunConfig, run_sft

    out = work / run["name"]
    tiny = build_tiny(out / "tiny", dataset_texts(data, limit=TOKENIZER_ROWS), **run.get("tiny", {}))
    cfg = SFTRunConfig.from_dict({**common, **run.get("sft", {}), "model": str(tiny), "dataset": str(data),
                                  "output_dir": str(out / "sft")})
    t0 = time.perf_counter()
    ckpt = run_sft(cfg)
    wall = time.perf_counter() - t0
    meta = read_manifest(ckpt)
    hist = meta["log_history"]
    evals = [h for h in hist if "eval_accuracy" in h]
    steps = max((h.get("step", 0) for h in hist), default=0)
    train_s = meta["train_seconds"] - sum(h.get("eval_seconds", 0.0) for h in evals)
    # the parameter count comes from what build_tiny wrote (actial_preset.json), not from loading the model again
    return {"name": run["name"], "tiny": run.get("tiny", {}), "sft": run.get("sft", {}),
            "parameters": read_preset_info(tiny)["parameters"], "steps": steps, "wall_seconds": wall,
            "train_seconds": train_s, "steps_per_s": steps / max(train_s, 1e-9),
            "samples_per_s": steps * cfg.batch_size * cfg.grad_accum / max(train_s, 1e-9),
            "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
            "accuracy_curve": [(h["step"], h["eval_accuracy"]) for h in evals],
            "best_accuracy": max((h["eval_accuracy"] for h in evals), default=None),
            "loss_curve": [(h["step"], h["loss"]) for h in hist if "loss" in h],
            "checkpoint": str(ckpt)}


def main() -> None:
    import yaml

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", type=Path, help="sweep YAML (bench/sweeps/)")
    ap.add_argument("--data", type=Path, required=True, help="a data engine dataset directory")
    ap.add_argument("--work", type=Path, default=ROOT / "outputs" / "sweep", help="where runs write models and logs")
    ap.add_argument("--out", type=Path, help="results JSON (default bench/results/sweep-<spec>.json)")
    ap.add_argument("--only", help=argparse.SUPPRESS)  # child process: run this one run, print its result as JSON
    args = ap.parse_args()
    spec = yaml.safe_load(args.spec.read_text())
    runs, common = spec["runs"], spec.get("common", {})
    names = [r["name"] for r in runs]
    if len(set(names)) != len(names):
        sys.exit(f"{args.spec}: run names must be unique, got {names}")
    work = args.work / args.spec.stem

    if args.only:
        run = next(r for r in runs if r["name"] == args.only)
        print("RESULT " + json.dumps(run_one(run, common, args.data, work)), flush=True)
        return

    work.mkdir(parents=True, exist_ok=True)
    from training.interchange import to_trl

    to_trl(args.data, split="train", kind="sft")  # fill datasets' cache once, before the runs race for it
    procs = {}
    for run in runs:  # one process per run, all at once: they share the machine alike
        log = open(work / f"{run['name']}.log", "w")
        procs[run["name"]] = (subprocess.Popen([sys.executable, __file__, str(args.spec), "--data", str(args.data),
                                                "--work", str(args.work), "--only", run["name"]],
                                               stdout=log, stderr=subprocess.STDOUT, text=True), log)
        print(f"started {run['name']} (log {work / (run['name'] + '.log')})", flush=True)
    results = []
    for name, (proc, log) in procs.items():
        rc = proc.wait()
        log.close()
        text = (work / f"{name}.log").read_text()
        line = next((ln for ln in text.splitlines() if ln.startswith("RESULT ")), None)
        if rc or line is None:
            print(f"{name} failed (exit {rc}); the end of its log:\n{text[-3000:]}", flush=True)
            results.append({"name": name, "failed": True, "exit_code": rc})
        else:
            results.append(json.loads(line[len("RESULT "):]))

    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"SFT sweep {args.spec.stem}: {len(runs)} runs side by side on {args.data}")
    for col in ("run", "params", "steps", "steps/s", "samples/s", "best", "held-out accuracy by step"):
        t.add_column(col)
    for r in results:
        if r.get("failed"):
            t.add_row(r["name"], "failed", "", "", "", "", "")
            continue
        curve = " ".join(f"{s}:{100 * a:.0f}" for s, a in r["accuracy_curve"])
        t.add_row(r["name"], f"{r['parameters'] / 1e6:.1f}M", str(r["steps"]), f"{r['steps_per_s']:.2f}",
                  f"{r['samples_per_s']:.0f}", f"{100 * (r['best_accuracy'] or 0):.1f}%", curve)
    Console(width=200).print(t)
    out = args.out or ROOT / "bench" / "results" / f"sweep-{args.spec.stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"spec": spec, "data": str(args.data), "cpu_count": os.cpu_count(),
                               "results": results}, indent=2) + "\n")
    print(f"wrote {out}")
    if any(r.get("failed") for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
