"""Training speed for the tiny preset: SFT samples/s, GRPO prompts/s, and time to 95% in-domain accuracy.

    .venv/bin/python bench/train.py                                   # generates its data (~1 min), ~20 min
    .venv/bin/python bench/train.py --data outputs/demo/data --sft-steps 900

SFT runs the measured config (training/configs/sft_tiny.yaml) and logs
held-out accuracy on 300 in-domain questions every 100 steps; "time to 95%" is the training time
(warm-up included) at the first evaluation at or above 95%, or "not reached". GRPO then runs a few
steps from the SFT checkpoint (grpo_tiny.yaml). Evaluation time is not counted as training time.
Writes ``bench/results/train.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main() -> None:
    import yaml
    from rich.console import Console
    from rich.table import Table

    from training.checkpoint import read_manifest
    from training.engine import GeneratorConfig, default_workers, generate
    from training.grpo import GRPORunConfig, run_grpo
    from training.presets import build_tiny, dataset_texts
    from training.sft import SFTRunConfig, run_sft

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="dataset (default: generate 24,000 rows, paper's 3 families, 112 px)")
    ap.add_argument("--sft-steps", type=int, default=900)
    ap.add_argument("--grpo-steps", type=int, default=10)
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "train.json")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="actial-bench-train-"))
    data = args.data
    if data is None:
        data = work / "data"
        generate(GeneratorConfig(n_pairs=24000, image_size=112, seed=1, shuffle_options=False,
                                 families={"ego_translation": 1.0, "object_translation": 1.0, "ego_rotation": 1.0}),
                 data, workers=default_workers())
    tiny = build_tiny(work / "tiny", dataset_texts(data, limit=5000))

    cfg = yaml.safe_load((ROOT / "training" / "configs" / "sft_tiny.yaml").read_text())
    cfg.update(model=str(tiny), dataset=str(data), output_dir=str(work / "sft"), max_steps=args.sft_steps,
               eval_every=100, eval_samples=300)
    sft_cfg = SFTRunConfig.from_dict(cfg)
    t0 = time.perf_counter()
    sft = run_sft(sft_cfg)
    sft_wall = time.perf_counter() - t0
    meta = read_manifest(sft)
    warm = meta.get("vision_warmup_log") or []
    warm_s = warm[-1]["warmup_seconds"] if warm else 0.0
    evals = [h for h in meta["log_history"] if "eval_accuracy" in h]
    reached = next((h for h in evals if h["eval_accuracy"] >= args.target), None)
    train_s = meta["train_seconds"]
    # the callback's train_seconds count from the start of training and include earlier evaluations
    eval_time = sum(h.get("eval_seconds", 0.0) for h in evals)
    samples = sft_cfg.max_steps * sft_cfg.batch_size

    g = yaml.safe_load((ROOT / "training" / "configs" / "grpo_tiny.yaml").read_text())
    g.update(model=str(sft), dataset=str(data), output_dir=str(work / "grpo"), max_steps=args.grpo_steps)
    gcfg = GRPORunConfig.from_dict(g)
    grpo = run_grpo(gcfg)
    grpo_meta = read_manifest(grpo)
    grpo_s = grpo_meta["train_seconds"]

    def reached_at(h):
        return None if h is None else warm_s + h["train_seconds"] - sum(
            e.get("eval_seconds", 0.0) for e in evals if e["step"] <= h["step"])

    result = {
        "sft": {"steps": sft_cfg.max_steps, "batch_size": sft_cfg.batch_size, "warmup_steps": sft_cfg.vision_warmup_steps,
                "warmup_seconds": warm_s, "train_seconds": train_s - eval_time, "wall_seconds": sft_wall,
                "samples_per_s": samples / max(train_s - eval_time, 1e-9),
                "accuracy_curve": [(h["step"], h["eval_accuracy"]) for h in evals],
                "final_accuracy": evals[-1]["eval_accuracy"] if evals else None,
                "target": args.target, "time_to_target_s": reached_at(reached),
                "step_at_target": reached["step"] if reached else None},
        "grpo": {"steps": gcfg.max_steps, "prompts_per_step": gcfg.prompts_per_step,
                 "generations": gcfg.num_generations, "train_seconds": grpo_s,
                 "prompts_per_s": gcfg.max_steps * gcfg.prompts_per_step / grpo_s},
        "data": str(data), "threads": cfg.get("threads"), "cpu_count": os.cpu_count(),
    }
    t = Table(title="Training the tiny preset on this machine")
    t.add_column("measure")
    t.add_column("value", justify="right")
    s = result["sft"]
    t.add_row("SFT samples/s (batch 32, evaluation excluded)", f"{s['samples_per_s']:.1f}")
    t.add_row("vision warm-up", f"{s['warmup_steps']} steps, {s['warmup_seconds']:.0f} s")
    t.add_row(f"SFT {s['steps']} steps, training time", f"{s['train_seconds'] / 60:.1f} min")
    t.add_row("held-out accuracy by step", " ".join(f"{st}:{100 * a:.0f}%" for st, a in s["accuracy_curve"]))
    t.add_row(f"time to {100 * args.target:.0f}% in-domain",
              "not reached" if s["time_to_target_s"] is None else f"{s['time_to_target_s'] / 60:.1f} min "
                                                                  f"(step {s['step_at_target']})")
    t.add_row("GRPO prompts/s", f"{result['grpo']['prompts_per_s']:.2f} ({gcfg.num_generations} generations each)")
    Console().print(t)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
