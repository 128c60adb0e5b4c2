"""Greedy against sampled (GRPO's temperature, 1.5) accuracy on the turn-focused GRPO set's test splits: does a
GRPO run raise the share of right answers it samples while its greedy answers stay where SFT left them?

    python sampled.py DATA_ROOT MODEL [MODEL ...]
"""
import sys
from pathlib import Path

from training.evaluate import EvalConfig, InProcessAnswerer, evaluate

root = Path(sys.argv[1])
print("| model | " + " | ".join(f"{n} {t}" for n in ("spots_near", "spots_far") for t in ("greedy", "T=1.5")) + " |")
print("|---|" + "---|" * 4)
for m in sys.argv[2:]:
    answerer, cells = InProcessAnswerer.from_pretrained(m), []
    for name in ("spots_near", "spots_far"):
        for temperature in (0.0, 1.5):
            rep = evaluate(EvalConfig(dataset_dir=root / name, splits=["test"], batch_size=16, threads=1,
                                      temperature=temperature), answerer)
            cells.append(f"{100 * rep.metrics['test']['all']['accuracy']['value']:.1f}")
    print(f"| {Path(m).name} | " + " | ".join(cells) + " |", flush=True)
