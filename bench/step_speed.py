"""What makes a training step of the tiny preset faster on this CPU, side by side: training/fastpath.py's
equivalents of transformers' and TRL's code (``fast_paths``), and how torch's OpenMP threads wait between
operations (``OMP_WAIT_POLICY``).

    .venv/bin/python bench/step_speed.py --data data/p3_horizon                    # fast paths: 2 rounds of 40 steps
    .venv/bin/python bench/step_speed.py --data data/p3_horizon --compare omp_wait  # PASSIVE vs libgomp's default
    .venv/bin/python bench/step_speed.py --stage grpo --data data/p3_horizon --model outputs/sft-horizon --steps 20

Each round trains a fresh copy of one tiny model (built once on the dataset's text, or ``--model``) for the same
steps at batch 32 both ways, the order alternating between rounds, since these machines are noisy; each run is
its own process (the wait policy is read when OpenMP starts), in the precision ``bf16: auto`` picks here.
``--compare fast_paths``: ``fast_paths: false`` vs ``true``, both with libgomp's default wait. ``--compare
omp_wait``: ``OMP_WAIT_POLICY=PASSIVE`` (threads sleep as soon as an operation ends) vs unset (they spin a
little first), both with the fast paths. Prints seconds per step, their ratio and each run's last logged loss
(the two ways must train alike). Writes ``bench/results/step_speed_<compare>[_grpo].json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# compare -> (name, fast_paths, OMP_WAIT_POLICY or None for unset) for the usual way first, then the faster one
WAYS = {"fast_paths": (("transformers / TRL", False, None), ("fast paths", True, None)),
        "omp_wait": (("OMP_WAIT_POLICY=PASSIVE", True, "PASSIVE"), ("libgomp's default", True, None))}


def one(args) -> None:
    """One run, in this process: print its result as JSON on the last line."""
    from precision import one_grpo_run, one_run

    run_one = one_grpo_run if args.stage == "grpo" else one_run
    run = run_one(str(args.model), str(args.data), args.one, args.steps, args.threads, "auto",
                  fast_paths=args.fast_paths == "true")
    print(json.dumps(run))


def main() -> None:
    from precision import add_run_arguments, check_run_arguments, report

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", choices=tuple(WAYS), default="fast_paths")
    add_run_arguments(ap, 40, "pairs of runs, the order alternating")
    ap.add_argument("--out", type=Path, help="JSON (default: bench/results/step_speed_<compare>[_grpo].json)")
    ap.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # internal: one run into this directory
    ap.add_argument("--fast-paths", choices=("true", "false"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        return one(args)
    check_run_arguments(ap, args)
    suffix = f"{args.compare}{'_grpo' if args.stage == 'grpo' else ''}"
    args.out = args.out or ROOT / "bench" / "results" / f"step_speed_{suffix}.json"
    from training.presets import TOKENIZER_ROWS, build_tiny, dataset_texts
    from training.sft import cpu_has_bf16

    ways = WAYS[args.compare]
    runs = []
    with tempfile.TemporaryDirectory(prefix="actial-bench-step-speed-") as tmp:
        model = args.model or build_tiny(Path(tmp) / "tiny", dataset_texts(args.data, limit=TOKENIZER_ROWS))
        for r in range(args.rounds):
            for w in ((0, 1) if r % 2 == 0 else (1, 0)):
                name, fast, policy = ways[w]
                env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
                env.update({"OMP_WAIT_POLICY": policy} if policy else {})
                cmd = [sys.executable, __file__, "--one", str(Path(tmp) / f"run{r}-{w}"), "--fast-paths",
                       str(fast).lower(), "--stage", args.stage, "--data", str(args.data), "--model", str(model),
                       "--steps", str(args.steps), "--threads", str(args.threads)]
                done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=True)
                runs.append({"round": r, "way": name, "fast_paths": fast, "omp_wait_policy": policy,
                             **json.loads(done.stdout.strip().splitlines()[-1])})
    mean = [sum(x["seconds_per_step"] for x in runs if x["way"] == ways[w][0]) / args.rounds for w in (0, 1)]
    results = {"compare": args.compare, "stage": args.stage, "cpu_bf16": cpu_has_bf16(), "threads": args.threads,
               "steps": args.steps, "batch_size": runs[0]["batch_size"], "data": str(args.data), "runs": runs,
               "seconds_per_step": {ways[w][0]: mean[w] for w in (0, 1)}, "speedup": mean[0] / mean[1]}
    report(f"{args.stage.upper()} steps, tiny preset, batch {results['batch_size']}, {args.threads} threads, "
           f"{'bf16 autocast' if runs[0]['bf16_autocast'] else 'fp32'}", "way", lambda x: x["way"],
           ("first / second", f"{mean[0]:.3f} / {mean[1]:.3f}", f"second {results['speedup']:.2f}x"), results, args.out)


if __name__ == "__main__":
    main()
