"""Training the tiny preset: SFT wall time and samples/s, time to 95% / 97% in-domain, the training issue's
targets after SFT and after GRPO, GRPO prompts/s.

    .venv/bin/python bench/train.py                       # the horizon recipe from scratch (~30 min on 2 cores)
    .venv/bin/python bench/train.py --data-root data      # reuse `actial data horizon --out data`
    .venv/bin/python bench/train.py --data outputs/demo/data --sft-steps 900   # sft_tiny.yaml on your dataset

The horizon recipe (docs/training-log.md: one run): `actial data horizon`'s datasets, a fresh tiny model, one
SFT run of training/configs/sft_tiny_horizon.yaml (held-out accuracy on 300 of `p3_horizon`'s validation
questions every 50 steps, where its phases end and which check's weights it saves; the time is given without
and with these checks), then 1,000 questions per
split on scenes it never saw (`p3_tiles`: in-domain floor, held-out objects, held-out floor
`horizon_tiles`; `p3_objects`: held-out objects on 69 scenes; `p3_horizon`'s held-out floor without a heading
cue), each asked for a direct answer and
for reasoning (with the format rate), and camera motions the training data never shows (`p3_near`: turns of
5-20 degrees, `p3_far`: 100-150; on `horizon` and on `horizon_tiles`) asked for a direct answer, then GRPO
(grpo_tiny_horizon.yaml: reasoning prompts and, as SFT's rows ask, direct ones; three 100-step runs at
consecutive seeds, their weights averaged) on the recipe's training data and the same evaluations again. Writes
``bench/results/train_horizon.json`` and markdown tables in ``bench/results/horizon/`` (``--data``:
``bench/results/train.json``). Intervals resample whole scenes (``training.evaluate.bootstrap_interval``).
``--rescore RESULTS`` evaluates an earlier run's SFT and GRPO models again (its ``work`` folder) with
today's evaluations, keeping its training numbers.
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

EVAL_SAMPLES = 1000  # per split: intervals of about +-1 point at 97%


def _sft_summary(ckpt: Path, cfg, wall: float, targets: list[float]) -> dict:
    from training.checkpoint import read_manifest

    meta = read_manifest(ckpt)
    warm = meta.get("vision_warmup_log") or []
    warm_s = warm[-1]["warmup_seconds"] if warm else 0.0  # a vision warm-up runs before the Trainer's clock
    evals = [h for h in meta["log_history"] if "eval_accuracy" in h]
    eval_time = sum(h.get("eval_seconds", 0.0) for h in evals)
    train_s = meta["train_seconds"] - eval_time
    steps = max(h["step"] for h in meta["log_history"] if "step" in h)

    def reached(target):  # training time (evaluations before it excluded) at the first evaluation >= target
        h = next((h for h in evals if h["eval_accuracy"] >= target), None)
        if h is None:
            return None
        return {"step": h["step"], "seconds": warm_s + h["train_seconds"] - sum(
            e.get("eval_seconds", 0.0) for e in evals if e["step"] <= h["step"])}

    return {"steps": steps, "resumed": bool(meta.get("resumed")), "batch_size": cfg.batch_size, "threads": meta.get("threads"),
            # what the run used (a config's "auto" resolves by the hardware); older manifests: the config's value
            "bf16": meta.get("bf16_autocast", cfg.bf16), "bf16_config": cfg.bf16, "eval_every": cfg.eval_every,
            "warmup_seconds": warm_s, "train_seconds": train_s, "eval_seconds": eval_time, "wall_seconds": wall, "samples_per_s": steps * cfg.batch_size / max(train_s, 1e-9),
            "accuracy_curve": [(h["step"], h["eval_accuracy"]) for h in evals],
            "final_accuracy": evals[-1]["eval_accuracy"] if evals else None,
            "curriculum_gates": [h["curriculum_gate"] for h in meta["log_history"] if "curriculum_gate" in h],
            # keep_best: the check whose weights the run saved instead of its last step's (None: the last step's)
            "kept_check": next(({"step": h["kept_check_step"], "accuracy": h["kept_check_accuracy"],
                                 "last_check_accuracy": h["last_check_accuracy"]}
                                for h in meta["log_history"] if "kept_check_step" in h), None),
            "time_to": {f"{t:.2f}": reached(t) for t in targets}}


def _evaluate(ckpt: Path, data: dict, out: Path, stage: str) -> tuple[dict, dict]:
    """Every split the recipe holds out, asked for a direct answer (SFT's form) and for reasoning (GRPO's); the
    held-out camera motions (``p3_near``, ``p3_far``) for a direct answer. (metrics, reports) by key."""
    from training.evaluate import EvalConfig, InProcessAnswerer, evaluate, write_report
    from training.presets import load_model

    model, processor = load_model(ckpt)
    model.eval()
    ans = InProcessAnswerer(model, processor)
    held_out = ["test", "test_backgrounds"]
    runs = []  # (key, what to evaluate): every split in both prompt styles, then the held-out camera rigs
    for style, suffix in (("direct", ""), ("reasoning", "_reasoning")):
        runs += [(f"tiles{suffix}", EvalConfig(dataset_dir=data["p3_tiles"], max_samples=EVAL_SAMPLES,
                                                batch_size=64, prompt_style=style)),
                 (f"objects{suffix}", EvalConfig(dataset_dir=data["p3_objects"], max_samples=EVAL_SAMPLES,
                                                  batch_size=64, prompt_style=style)),
                 (f"horizon{suffix}", EvalConfig(dataset_dir=data["p3_horizon"], splits=["test_backgrounds"],
                                                  max_samples=EVAL_SAMPLES, batch_size=64, prompt_style=style))]
    runs += [(name, EvalConfig(dataset_dir=data[name], splits=held_out, max_samples=EVAL_SAMPLES, batch_size=64))
             for name in ("p3_near", "p3_far")]  # direct prompts (SFT's form) only
    res, reports = {}, {}
    for key, ecfg in runs:
        report = evaluate(ecfg, ans)
        write_report(report, out, f"recipe_{stage}_{key}", predictions=False)  # committed: metrics only
        res[key], reports[key] = report.metrics, report
    return res, reports


def _gains(before: dict, after: dict) -> dict:
    """GRPO minus SFT on the same questions, per evaluation and split, with a 95% paired bootstrap interval."""
    from training.evaluate import paired_difference

    return {key: {split: paired_difference(before[key], after[key], split)
                  for split in report.dataset["splits"]} for key, report in before.items()}


def _config(config: str | Path) -> dict:
    """A training config by name (training/configs/NAME.yaml) or path."""
    import yaml

    path = Path(config) if str(config).endswith((".yaml", ".yml")) else ROOT / "training" / "configs" / f"{config}.yaml"
    return yaml.safe_load(path.read_text())


def _grpo(config: str | Path, sft: Path, dataset: str, extra_datasets: list[str], out: Path,
          steps: int | None, seed: int | None = None) -> tuple[Path, dict]:
    """The GRPO config ``config`` (a name in training/configs or a path; for ``steps``, if given) from the SFT
    checkpoint: (checkpoint, speed summary)."""
    from training.checkpoint import read_manifest
    from training.grpo import GRPORunConfig, run_grpo

    g = _config(config)
    g.update(model=str(sft), dataset=dataset, extra_datasets=extra_datasets, output_dir=str(out))
    if steps is not None:
        g["max_steps"] = steps
    if seed is not None:
        g["seed"] = seed
    gcfg = GRPORunConfig.from_dict(g)
    grpo = run_grpo(gcfg)
    seconds = read_manifest(grpo)["train_seconds"]
    return grpo, {"config": str(config), "temperature": gcfg.temperature,
                  "steps": gcfg.max_steps, "train_seconds": seconds, "generations": gcfg.num_generations,
                  "direct_ratio": gcfg.direct_ratio, "prompts_per_s": gcfg.max_steps * gcfg.prompts_per_step / seconds}


def _grpo_averaged(config: str | Path, sft: Path, dataset: str, extra_datasets: list[str], out: Path,
                   steps: int | None, seed: int | None, runs: int) -> tuple[Path, dict]:
    """``runs`` runs of the GRPO config (each for ``steps``, if given) at seeds ``seed``, ``seed`` + 1, ...,
    their weights averaged (training/average.py): (checkpoint, speed summary over all runs)."""
    from training.average import average_checkpoints

    if runs < 1:
        raise SystemExit(f"--grpo-runs {runs}: give 1 (one GRPO run) or more (runs averaged)")
    if runs == 1:
        return _grpo(config, sft, dataset, extra_datasets, out, steps, seed)
    first = 0 if seed is None else seed
    members, speeds = [], []
    for i in range(runs):
        ckpt, speed = _grpo(config, sft, dataset, extra_datasets, out / f"run{i}", steps, first + i)
        members.append(ckpt)
        speeds.append(speed)
    seconds = sum(s["train_seconds"] for s in speeds)
    prompts = sum(s["prompts_per_s"] * s["train_seconds"] for s in speeds)
    return average_checkpoints(members, out / "average"), {
        **speeds[0], "steps": sum(s["steps"] for s in speeds), "runs": runs, "seeds": list(range(first, first + runs)),
        "train_seconds": seconds, "prompts_per_s": prompts / seconds}


def _cell(metrics: dict, split: str, key: str = "accuracy") -> dict | None:
    c = metrics.get(split, {}).get("all")
    return None if c is None else c[key]


def _recipe_sft(args, data: dict, work: Path):
    """A fresh tiny model and one SFT run of sft_tiny_horizon.yaml on ``data``: (checkpoint, config, wall seconds)."""
    from training.presets import TOKENIZER_ROWS, build_tiny, dataset_texts
    from training.recipe import sft_config
    from training.sft import SFTRunConfig, run_sft

    tiny = build_tiny(work / "tiny", dataset_texts(data["p3_horizon"], limit=TOKENIZER_ROWS))
    cfg = sft_config(data)
    cfg.update(model=str(tiny), output_dir=str(work / "sft"))
    cfg.setdefault("eval_every", 100)  # a config whose phases end at an accuracy checks it as often as it says
    cfg.setdefault("eval_samples", 300)
    if args.seed is not None:
        cfg["seed"] = args.seed
    sft_cfg = SFTRunConfig.from_dict(cfg)
    t0 = time.perf_counter()
    sft = run_sft(sft_cfg)
    return sft, sft_cfg, time.perf_counter() - t0


def _rescore(args) -> None:
    """An earlier run's SFT and averaged GRPO models (its results' ``work`` folder) evaluated again as
    ``_evaluate`` now does; its training numbers kept, its evaluations and GRPO's gains replaced."""
    from training.recipe import horizon_data

    results = json.loads(args.rescore.read_text())
    work = Path(results["work"])
    sft, grpo = work / "sft", work / "grpo" / ("average" if results["grpo"].get("runs", 1) > 1 else "")
    for ckpt in (sft, grpo):
        if not (ckpt / "config.json").is_file():
            sys.exit(f"--rescore {args.rescore}: no model at {ckpt} (the run's work folder {work} is gone?); "
                     "run the benchmark again instead")
    data = {k: str(v) for k, v in horizon_data(args.data_root or work / "data").items()}
    results["sft_eval"], sft_reports = _evaluate(sft, data, args.tables, "sft")
    results["grpo_eval"], grpo_reports = _evaluate(grpo, data, args.tables, "grpo")
    results.update(grpo_gain=_gains(sft_reports, grpo_reports), data=data,
                   rescored=time.strftime("%Y-%m-%d %H:%M", time.gmtime()))
    _write_recipe(args, results)


def _write_recipe(args, results: dict) -> None:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print_recipe(results)
    print(f"wrote {args.out} and tables in {args.tables}")


def _recipe(args) -> None:
    from training.engine import default_workers
    from training.recipe import horizon_data

    work = Path(tempfile.mkdtemp(prefix="actial-bench-train-"))
    t0 = time.perf_counter()
    data = {k: str(v) for k, v in horizon_data(args.data_root or work / "data", workers=default_workers()).items()}
    data_s = time.perf_counter() - t0
    if args.sft is None:
        sft, sft_cfg, wall = _recipe_sft(args, data, work)
    else:  # the GRPO half only, from an SFT checkpoint; its SFT numbers are read from its manifest
        from training.checkpoint import read_manifest
        from training.sft import SFTRunConfig

        meta = read_manifest(args.sft)
        sft, wall, sft_cfg = args.sft, meta["train_seconds"], SFTRunConfig.from_dict(meta["train_config"])
    sft_sum = _sft_summary(sft, sft_cfg, wall, [0.95, 0.97])
    results = {"sft": sft_sum, **({"sft_checkpoint": str(args.sft)} if args.sft else {})}
    results["sft_eval"], sft_reports = _evaluate(sft, data, args.tables, "sft")

    grpo, results["grpo"] = _grpo_averaged(args.grpo_config, sft, data["p3_horizon"], [data["p3_spots"]],
                                           work / "grpo", args.grpo_steps, args.seed, args.grpo_runs)
    results["grpo_eval"], grpo_reports = _evaluate(grpo, data, args.tables, "grpo")
    results.update(grpo_gain=_gains(sft_reports, grpo_reports), seed=sft_cfg.seed, data_seconds=data_s,
                   data=data, work=str(work), cpu_count=os.cpu_count())
    _write_recipe(args, results)


def print_recipe(results: dict) -> None:
    """The recipe's table: SFT time and curve, then each evaluation after SFT and after GRPO."""
    from rich.console import Console
    from rich.table import Table

    def pct(c):
        return "—" if c is None else f"{100 * c['value']:.1f}% [{100 * c['lo']:.1f}, {100 * c['hi']:.1f}]"

    def gain(run, split):  # GRPO - SFT on the same questions (older results files have none)
        g = results.get("grpo_gain", {}).get(run, {}).get(split)
        return "" if g is None else f"{100 * g['diff']:+.1f} [{100 * g['interval'][0]:+.1f}, {100 * g['interval'][1]:+.1f}]"

    s = results["sft"]
    origin = f"SFT checkpoint {results['sft_checkpoint']}" if results.get("sft_checkpoint") else "one SFT run from scratch"
    t = Table(title=f"The horizon recipe on this machine (tiny preset, {origin}, seed {results.get('seed', 0)})")
    t.add_column("measure")
    t.add_column("SFT", justify="right")
    g = results["grpo"]
    runs = f", {g['runs']} runs averaged" if g.get("runs", 1) > 1 else ""
    runs += f", temperature {g['temperature']}" if "temperature" in g else ""
    t.add_column(f"GRPO ({g['steps']} steps{runs})", justify="right")
    t.add_column("GRPO - SFT, same questions [95% paired]", justify="right")
    t.add_row("SFT wall time (data and evaluation not counted: training only)",
              f"{s['train_seconds'] / 60:.1f} min ({s['steps']} steps, {s['samples_per_s']:.0f} samples/s"
              f"{', bf16 autocast' if s.get('bf16') else ''})", "")
    if s.get("eval_seconds"):  # a phase that ends at an accuracy needs the held-out checks: part of the recipe
        t.add_row(f"  with the held-out checks every {s.get('eval_every', '?')} steps",
                  f"{(s['train_seconds'] + s['eval_seconds']) / 60:.1f} min", "")
    if s.get("resumed"):
        t.add_row("(a resumed SFT run: its times cover the part after the resume)", "", "")
    for k, v in s["time_to"].items():
        t.add_row(f"time to {100 * float(k):.0f}% in-domain (300 validation questions)",
                  "not reached" if v is None else f"{v['seconds'] / 60:.1f} min (step {v['step']})", "")
    t.add_row("held-out accuracy by step", " ".join(f"{st}:{100 * a:.0f}" for st, a in s["accuracy_curve"]), "")
    for gate in s.get("curriculum_gates", []):
        t.add_row("curriculum", gate, "")
    if s.get("kept_check"):
        k = s["kept_check"]
        t.add_row("keep_best: saved the weights of", f"step {k['step']} ({100 * k['accuracy']:.1f}%; the last "
                  f"check {100 * k['last_check_accuracy']:.1f}%)", "")
    rows = [("in-domain, new scenes (p3_tiles test)", "tiles", "test"),
            ("held-out objects (p3_tiles: 8 scenes)", "tiles", "test_objects"),
            ("held-out objects (p3_objects: 69 scenes)", "objects", "test_objects"),
            ("held-out floor horizon_tiles (cue kept)", "tiles", "test_backgrounds"),
            ("held-out floor blobs (no cue)", "horizon", "test_backgrounds")]
    for suffix, style in (("", "direct prompts"), ("_reasoning", "reasoning prompts")):
        for label, run, split in rows:
            if run + suffix not in results["sft_eval"]:  # results written before p3_objects
                continue
            t.add_row(f"{label}, {style}", pct(_cell(results["sft_eval"][run + suffix], split)),
                      pct(_cell(results["grpo_eval"][run + suffix], split)), gain(run + suffix, split))
    for name, what in (("p3_near", "turns of 5-20 degrees"), ("p3_far", "turns of 100-150 degrees")):
        for split, floor in (("test", "horizon"), ("test_backgrounds", "held-out floor horizon_tiles")):
            t.add_row(f"held-out camera rig {name}: {what}, {floor}, direct prompts",
                      pct(_cell(results["sft_eval"][name], split)), pct(_cell(results["grpo_eval"][name], split)),
                      gain(name, split))
    t.add_row("format rate, reasoning prompts (p3_tiles test)",
              pct(_cell(results["sft_eval"]["tiles_reasoning"], "test", "format_rate")),
              pct(_cell(results["grpo_eval"]["tiles_reasoning"], "test", "format_rate")))
    t.add_row("GRPO prompts/s", "", f"{results['grpo']['prompts_per_s']:.2f} ({results['grpo']['generations']} generations each, "
              f"{100 * results['grpo'].get('direct_ratio', 0):.0f}% of prompts direct)")
    Console().print(t)


def _plain(args) -> None:
    """sft_tiny.yaml from scratch on a dataset of yours, then a few GRPO steps (the pre-recipe benchmark)."""
    import yaml

    from training.presets import TOKENIZER_ROWS, build_tiny, dataset_texts
    from training.sft import SFTRunConfig, run_sft

    work = Path(tempfile.mkdtemp(prefix="actial-bench-train-"))
    tiny = build_tiny(work / "tiny", dataset_texts(args.data, limit=TOKENIZER_ROWS))
    cfg = yaml.safe_load((ROOT / "training" / "configs" / "sft_tiny.yaml").read_text())
    cfg.update(model=str(tiny), dataset=str(args.data), output_dir=str(work / "sft"), max_steps=args.sft_steps,
               eval_every=100, eval_samples=300)
    sft_cfg = SFTRunConfig.from_dict(cfg)
    t0 = time.perf_counter()
    sft = run_sft(sft_cfg)
    result = {"sft": _sft_summary(sft, sft_cfg, time.perf_counter() - t0, [0.95])}
    _, result["grpo"] = _grpo("grpo_tiny", sft, str(args.data), [], work / "grpo", args.grpo_steps)
    s = result["sft"]
    print(f"SFT {s['steps']} steps: {s['samples_per_s']:.1f} samples/s, held-out accuracy by step "
          + " ".join(f"{st}:{100 * a:.0f}%" for st, a in s["accuracy_curve"])
          + f"; time to 95%: {'not reached' if s['time_to']['0.95'] is None else s['time_to']['0.95']}; "
          f"GRPO {result['grpo']['prompts_per_s']:.2f} prompts/s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, help="where `actial data horizon` wrote (default: generate, ~2 min)")
    ap.add_argument("--data", type=Path, help="instead of the recipe: sft_tiny.yaml on this dataset")
    ap.add_argument("--sft-steps", type=int, default=900, help="with --data")
    ap.add_argument("--grpo-steps", type=int, help="GRPO steps of each run (default: the GRPO config's max_steps)")
    ap.add_argument("--grpo-config", type=Path, default=ROOT / "training" / "configs" / "grpo_tiny_horizon.yaml",
                    help="the GRPO stage's config (default: %(default)s)")
    ap.add_argument("--grpo-runs", type=int, default=3,
                    help="run the GRPO config this many times, at consecutive seeds from --seed, and benchmark the "
                         "mean of their weights (default: %(default)s, the recipe's GRPO stage; 1: one run)")
    ap.add_argument("--sft", type=Path, help="an SFT checkpoint of the recipe (e.g. an earlier run's): skip SFT, "
                                             "evaluate it, run GRPO from it (its SFT time is read from its manifest: "
                                             "for a resumed run, the part after the resume)")
    ap.add_argument("--rescore", type=Path, help="an earlier run's results JSON: evaluate its SFT and GRPO models "
                                                 "(in its `work` folder) again, keep its training numbers")
    ap.add_argument("--seed", type=int, help="SFT and GRPO seed (default: the configs', 0): another draw of the run "
                                             "(data order, and with it where the gates end the phases)")
    ap.add_argument("--out", type=Path, help="JSON (default: bench/results/train_horizon.json, "
                                             "train_horizon_seedN.json with --seed N, or train.json with --data)")
    ap.add_argument("--tables", type=Path, help="markdown tables (default: bench/results/horizon, or horizon/seedN)")
    args = ap.parse_args()
    tag = "" if args.seed is None else f"_seed{args.seed}"
    args.out = args.out or ROOT / "bench" / "results" / ("train.json" if args.data else f"train_horizon{tag}.json")
    args.tables = args.tables or ROOT / "bench" / "results" / "horizon" / tag.lstrip("_")
    (_plain if args.data else _rescore if args.rescore else _recipe)(args)


if __name__ == "__main__":
    main()
