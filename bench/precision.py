"""SFT (or GRPO) steps in fp32 and with bf16 autocast (``SFTRunConfig.bf16``, ``GRPORunConfig.bf16``), side by
side on this CPU.

    .venv/bin/python bench/precision.py --data data/p3_horizon            # 2 rounds of 80 steps each, ~6 min
    .venv/bin/python bench/precision.py --data data/p3_horizon --steps 40 --rounds 1 --threads 1
    .venv/bin/python bench/precision.py --stage grpo --data data/p3_horizon --model outputs/sft-horizon --steps 30

Each round trains a fresh copy of one tiny model (built once on the dataset's text, or ``--model``) for the same
steps at batch 32 in fp32 and then with bf16 autocast (fp32 weights, bf16 matrix multiplies: fast on CPUs with
avx512_bf16 or AMX, slow on others), the order alternating between rounds, since these machines are noisy; then
prints seconds per step, their ratio and each run's last logged loss (the two should train alike). Writes
``bench/results/precision.json``. ``--stage grpo`` runs grpo_tiny_horizon.yaml's stage instead (its group size,
prompts a step, temperature; no checkpoints) from ``--model``, an SFT checkpoint, and reports the last logged
reward beside the loss (``bench/results/precision_grpo.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def one_run(model: str, data: str, out: Path, steps: int, threads: int, bf16: bool, **overrides) -> dict:
    """``steps`` SFT steps at batch 32 from ``model``; ``overrides``: more SFTRunConfig fields (bench/step_speed.py)."""
    from training.checkpoint import read_manifest
    from training.sft import SFTRunConfig, run_sft

    cfg = SFTRunConfig(model=model, dataset=data, output_dir=str(out), max_steps=steps, batch_size=32,
                       learning_rate=1e-3, warmup_steps=10, logging_steps=10, save_steps=100_000, threads=threads,
                       reasoning_ratio=0.0, bf16=bf16, **overrides)
    meta = read_manifest(run_sft(cfg))
    losses = [h["loss"] for h in meta["log_history"] if "loss" in h]
    return {"bf16": bf16, "bf16_autocast": meta.get("bf16_autocast"), "steps": steps, "batch_size": cfg.batch_size,
            "seconds": meta["train_seconds"],
            "seconds_per_step": meta["train_seconds"] / steps, "last_loss": losses[-1] if losses else None}


def one_grpo_run(model: str, data: str, out: Path, steps: int, threads: int, bf16: bool, **overrides) -> dict:
    from sim_envs.config import load_yaml
    from training.checkpoint import read_manifest
    from training.grpo import GRPORunConfig, run_grpo

    cfg = load_yaml(ROOT / "training" / "configs" / "grpo_tiny_horizon.yaml")
    cfg.update(model=model, dataset=data, output_dir=str(out), max_steps=steps, save_steps=100_000, threads=threads,
               bf16=bf16, **overrides)
    run_cfg = GRPORunConfig.from_dict(cfg)
    meta = read_manifest(run_grpo(run_cfg))
    last = [h for h in meta["log_history"] if "reward" in h][-1:] or [{}]
    return {"bf16": bf16, "bf16_autocast": meta.get("bf16_autocast"), "steps": steps,
            "batch_size": run_cfg.prompts_per_step * run_cfg.num_generations,
            "seconds": meta["train_seconds"],
            "seconds_per_step": meta["train_seconds"] / steps, "last_loss": last[0].get("loss"),
            "last_reward": last[0].get("reward")}


def report(title: str, way_column: str, way_of, mean_cells: tuple, results: dict, out: Path) -> None:
    """Print one row per run of ``results["runs"]`` (``way_of(run)`` names how it ran) and a mean row, and write
    ``results`` as JSON to ``out`` (bench/step_speed.py too)."""
    from rich.console import Console
    from rich.table import Table

    grpo = results["stage"] == "grpo"
    t = Table(title=title)
    for col in ("round", way_column, "s/step", "last loss") + (("last reward",) if grpo else ()):
        t.add_column(col)
    fmt = lambda v: "" if v is None else f"{v:.4f}"
    for x in results["runs"]:
        t.add_row(str(x["round"]), way_of(x), f"{x['seconds_per_step']:.3f}", fmt(x["last_loss"]),
                  *((fmt(x["last_reward"]),) if grpo else ()))
    t.add_row("mean", *mean_cells)
    Console().print(t)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


def add_run_arguments(ap: argparse.ArgumentParser, steps: int, rounds_help: str) -> None:
    """The options of a side-by-side run (--stage, --data, --model, --steps, --rounds, --threads; bench/step_speed.py
    too)."""
    ap.add_argument("--stage", choices=("sft", "grpo"), default="sft")
    ap.add_argument("--data", type=Path, required=True, help="a dataset directory with a train split")
    ap.add_argument("--model", type=Path, help="a tiny model directory (default: build one on --data's text); "
                    "--stage grpo: an SFT checkpoint of the recipe (required)")
    ap.add_argument("--steps", type=int, default=steps)
    ap.add_argument("--rounds", type=int, default=2, help=rounds_help)
    ap.add_argument("--threads", type=int, default=2)


def check_run_arguments(ap: argparse.ArgumentParser, args) -> None:
    if args.stage == "grpo" and args.model is None:
        ap.error("--stage grpo trains from an SFT checkpoint: pass --model DIR (e.g. outputs/sft-horizon)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(ap, 80, "fp32 / bf16 pairs, the order alternating")
    ap.add_argument("--out", type=Path, help="JSON (default: bench/results/precision.json, precision_grpo.json)")
    args = ap.parse_args()
    check_run_arguments(ap, args)
    args.out = args.out or ROOT / "bench" / "results" / f"precision{'_grpo' if args.stage == 'grpo' else ''}.json"
    run_one = one_grpo_run if args.stage == "grpo" else one_run
    from training.presets import TOKENIZER_ROWS, build_tiny, dataset_texts
    from training.sft import cpu_has_bf16

    runs = []
    with tempfile.TemporaryDirectory(prefix="actial-bench-precision-") as tmp:
        model = args.model or build_tiny(Path(tmp) / "tiny", dataset_texts(args.data, limit=TOKENIZER_ROWS))
        for r in range(args.rounds):
            for bf16 in ((False, True) if r % 2 == 0 else (True, False)):
                run = run_one(str(model), str(args.data), Path(tmp) / f"run{r}-{int(bf16)}", args.steps,
                              args.threads, bf16)
                runs.append({"round": r, **run})
    mean = {b: sum(x["seconds_per_step"] for x in runs if x["bf16"] == b) / args.rounds for b in (False, True)}
    results = {"stage": args.stage, "cpu_bf16": cpu_has_bf16(), "threads": args.threads, "steps": args.steps,
               "batch_size": runs[0]["batch_size"], "data": str(args.data), "runs": runs,
               "fp32_seconds_per_step": mean[False], "bf16_seconds_per_step": mean[True],
               "speedup": mean[False] / mean[True]}
    report(f"{args.stage.upper()} steps, tiny preset, batch {results['batch_size']}, {args.threads} threads (this CPU "
           f"multiplies bf16 {'natively' if results['cpu_bf16'] else 'by emulation'})",
           "precision", lambda x: "bf16 autocast" if x["bf16"] else "fp32",
           ("fp32 / bf16", f"{mean[False]:.3f} / {mean[True]:.3f}", f"bf16 {results['speedup']:.2f}x"), results, args.out)


if __name__ == "__main__":
    main()
