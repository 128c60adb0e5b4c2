"""Which questions GRPO can learn from: each one's pass rate under the model it starts from.

GRPO's advantage is a reward minus its group's mean: a question whose rollouts all score the same (all
right, or all wrong) gives its group zero advantage and the step no gradient. After the horizon recipe's
SFT, 91-96% of GRPO's groups on the recipe's own questions were like that (docs/training-log.md, GRPO on the questions
it can learn from). So before training, the starting model answers a seeded sample of the candidate
questions ``samples`` times each at GRPO's temperature, and GRPO keeps those answered right more often than
``min_pass`` and less often than ``max_pass`` (by default: at least once right and at least once wrong).
This is the offline form of DAPO's dynamic sampling (which refills each batch with groups of mixed reward
while training); it costs one pass of short completions over the sample before the first step.

Each prompt is asked as GRPO will ask it (direct or reasoning; about 90 answers/s for the tiny preset on one
CPU thread, whose reasoning is a short motion chain), in process (``evaluate.InProcessAnswerer``, also where
GRPO's rollouts run in vLLM). The rates are written to ``pass_rates.json`` in the run's output directory, so
a resumed run reads them rather than asking again.

``group_stats`` asks the same way and scores every answer with GRPO's reward: the share of groups that would
carry a gradient at a given temperature, before training (``bench/grpo_temperature.py``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sim_envs.config import FromDict

RATES_FILE = "pass_rates.json"


@dataclass
class PassRateFilter(FromDict):
    samples: int = 8  # answers per question; GRPO's num_generations makes the estimate match a group
    min_pass: float = 0.0  # keep questions answered right more often than this share ...
    max_pass: float = 1.0  # ... and less often than this one (exclusive bounds: 0, 1 keep mixed groups)
    max_questions: int | None = 4000  # a seeded sample of the prompts to ask (None: every one)
    temperature: float = 1.0
    batch_size: int = 32
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.samples, int) or self.samples < 2:
            raise ValueError(f"pass-rate filter: samples must be an integer >= 2 (a rate needs several answers), got {self.samples!r}")
        if not 0.0 <= self.min_pass < self.max_pass <= 1.0:
            raise ValueError(f"pass-rate filter: need 0 <= min_pass < max_pass <= 1, got {self.min_pass!r}, {self.max_pass!r}")
        if self.max_questions is not None and (not isinstance(self.max_questions, int) or self.max_questions < 1):
            raise ValueError(f"pass-rate filter: max_questions must be a positive integer or None, got {self.max_questions!r}")

    def keeps(self, rate: float) -> bool:
        return self.min_pass < rate < self.max_pass


def key(dataset_dir: str, row_id: str) -> str:
    return f"{dataset_dir}::{row_id}"


def sample_prompts(prompts: list[tuple[str, str, bool]], filt: PassRateFilter) -> list[tuple[str, str, bool]]:
    """A seeded ``filt.max_questions`` of ``prompts`` ((dataset dir, row id, reasoning) each), in their order."""
    if filt.max_questions is None or len(prompts) <= filt.max_questions:
        return list(prompts)
    pick = np.random.default_rng(filt.seed).choice(len(prompts), size=filt.max_questions, replace=False)
    return [prompts[i] for i in sorted(pick)]


def sample_answers(answerer, prompts: list[tuple[str, str, bool]], filt: PassRateFilter, progress: bool = True,
                   desc: str = "pass rates"):
    """Yield ``(key, row, completion)``: ``filt.samples`` seeded answers to each (dataset dir, row id, reasoning) in
    ``prompts``, asked as GRPO will ask it (reasoning or direct) of ``answerer`` (an ``evaluate.Answerer``) at
    ``filt.temperature``; rows carry ``answer`` and what ``evaluate.row_tolerance`` reads."""
    from tqdm.auto import tqdm

    from .dataset import iter_rows
    from .evaluate import _ROW_COLUMNS

    style = {key(d, i): r for d, i, r in prompts}
    rows = []
    for d in dict.fromkeys(d for d, _, _ in prompts):
        rows += [r | {"_key": key(d, r["id"])} for r in iter_rows(d, columns=_ROW_COLUMNS) if key(d, r["id"]) in style]
    groups = [[r for r in rows if style[r["_key"]] == reasoning] for reasoning in (False, True)]
    chunks = [(reasoning, g[b:b + filt.batch_size]) for reasoning, g in zip((False, True), groups)
              for b in range(0, len(g), filt.batch_size)]
    bar = tqdm(total=len(chunks) * filt.samples, desc=desc, unit="batch", disable=not progress)
    for s in range(filt.samples):
        for c, (reasoning, chunk) in enumerate(chunks):
            texts = answerer.answer(chunk, reasoning, temperature=filt.temperature,
                                    seed=filt.seed * 1_000_003 + s * 10_007 + c)
            for r, t in zip(chunk, texts):
                yield r["_key"], r, t
            bar.update(1)
    bar.close()


def estimate_pass_rates(answerer, prompts: list[tuple[str, str, bool]], filt: PassRateFilter,
                        progress: bool = True) -> dict[str, float]:
    """``{key(dir, id): share of filt.samples answers that were right}`` (``sample_answers``' answers)."""
    from .evaluate import row_tolerance
    from .rewards import is_correct, parse_answer

    hits: dict[str, int] = {}
    for k, r, t in sample_answers(answerer, prompts, filt, progress):
        hits[k] = hits.get(k, 0) + is_correct(parse_answer(t), r["answer"], row_tolerance(r))
    return {k: h / filt.samples for k, h in hits.items()}


def group_stats(answerer, prompts: list[tuple[str, str, bool]], filt: PassRateFilter, format_weight: float = 0.5,
                accuracy_weight: float = 0.5, progress: bool = True) -> dict:
    """What GRPO's groups would look like at ``filt.temperature``: each prompt answered ``filt.samples`` times
    and scored with GRPO's reward; the share of groups whose rewards vary (the only ones with an advantage,
    hence a gradient), accuracy and format rate over every answer, and the mean within-group reward std."""
    from .evaluate import row_tolerance
    from .rewards import format_ok, is_correct, parse_answer

    rewards: dict[str, list[float]] = {}
    right = formed = 0
    for k, r, t in sample_answers(answerer, prompts, filt, progress, desc=f"groups at T={filt.temperature:g}"):
        ok, fmt = is_correct(parse_answer(t), r["answer"], row_tolerance(r)), format_ok(t)
        right, formed = right + ok, formed + fmt
        rewards.setdefault(k, []).append(format_weight * fmt + accuracy_weight * ok)
    stds = np.array([np.std(v) for v in rewards.values()])
    n = max(sum(len(v) for v in rewards.values()), 1)
    return {"temperature": filt.temperature, "questions": len(rewards), "samples": filt.samples,
            "groups_with_variance": float((stds > 0).mean()) if stds.size else 0.0,
            "accuracy": right / n, "format_rate": formed / n, "mean_group_std": float(stds.mean()) if stds.size else 0.0}


def summary(rates: dict[str, float], filt: PassRateFilter) -> dict:
    """Counts for the manifest: questions asked, kept, and how the rest split (always right, always wrong)."""
    p = np.array(list(rates.values()))
    return {"asked": int(p.size), "kept": int(sum(filt.keeps(x) for x in p)), "always_right": int((p == 1).sum()),
            "always_wrong": int((p == 0).sum()), "mean_pass_rate": float(p.mean()) if p.size else None,
            "filter": asdict(filt)}


def load_or_estimate(out: Path, model_path: str, answerer_factory, prompts: list[tuple[str, str, bool]],
                     filt: PassRateFilter) -> dict[str, float]:
    """The rates in ``out/pass_rates.json`` if the same model was asked the same prompts the same way (a
    resumed run), else asked now and written there."""
    path = Path(out) / RATES_FILE
    asked = hashlib.sha256(json.dumps(sorted(prompts)).encode()).hexdigest()
    cache_key = {"model": str(model_path), "prompts": asked,
                 **{k: v for k, v in asdict(filt).items() if k in ("samples", "temperature", "seed")}}
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("key") == cache_key:
            return saved["rates"]
    rates = estimate_pass_rates(answerer_factory(), prompts, filt)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": cache_key, "rates": rates}))
    return rates
