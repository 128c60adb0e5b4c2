"""Evaluation: accuracy per question family and split, with 95% bootstrap intervals.

``evaluate(cfg, answerer)`` asks a model every question of a dataset's test splits (in-domain ``test``,
held-out objects ``test_objects``, held-out backgrounds / camera rigs ``test_backgrounds``: every split
whose name starts with "test", unless ``EvalConfig.splits`` says otherwise) and reports, per (split,
family):

* ``accuracy`` — ``rewards.is_correct(rewards.parse_answer(completion), answer, tolerance)``; numeric
  families are judged within the row's ``tolerance_deg`` (default ``questions.NUMERIC_TOLERANCE_DEG``);
* ``format_rate`` — ``rewards.format_ok``: ``<think>…</think><answer>…</answer>`` and nothing else.
  Only meaningful for reasoning prompts (a direct prompt asks for no ``<think>``);
* ``answer_rate`` — a parseable answer at all (``parse_answer != "none"``);

each with a 95% percentile bootstrap interval (``bootstrap_interval``; seeded, so a report is
reproducible). Besides the families there are aggregates per split: ``all``, ``paper3`` (the paper's
three families, ``questions.PAPER_FAMILIES``) and ``objects`` (``questions.OBJECT_FAMILIES``), and a
pseudo-split ``all`` pooling every evaluated split when there are several.

Two reference levels come with every cell:

* ``chance`` — the mean of 1 / len(options) (a uniform guess); None for numeric questions (the
  fraction of the answer range within tolerance depends on the answer distribution, so it is not
  reported);
* ``image_blind`` — the accuracy of the better of two image-blind guesses learned from the training
  split, per family: always its most common ``answer_text``, or always its most common letter
  (numeric families: the training median, within tolerance). It is what a model that ignores the
  images can reach by learning the answer prior. The text prior is what matters when options are
  shuffled; the letter prior when they are not, and for the object families, whose answer is an
  object name (the scene's objects in scene order: a fixed letter beats any fixed name). None when
  the dataset (or ``EvalConfig.blind_dataset_dir``) has no train rows of that family.

Answerers share one interface, ``answer(rows, reasoning, *, max_new_tokens=None, temperature=0.0,
seed=None) -> list[str]`` (raw completion texts, one per row): ``InProcessAnswerer`` runs a
transformers model (``model.generate``, greedy by default), ``OpenAIAnswerer`` asks any
OpenAI-compatible chat endpoint (``vllm serve``, ``transformers serve``) so a served model is evaluated
by the same code; ``compare_reports`` checks that both give the same accuracy.

Writers: ``write_report`` (``eval_<stage>.json``, ``eval_<stage>.md``, ``accuracy_<stage>.png``),
``plot_stages`` (accuracy by family and stage), ``plot_training_curves`` (loss / reward / KL from a
Trainer's ``state.log_history``). ``python -m training.evaluate --help`` runs it from a shell.
"""

from __future__ import annotations

import json
import math
import re
import time
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Protocol, Sequence

import numpy as np

from . import questions as Q
from .dataset import DatasetError, iter_rows, load_manifest, manifest_hash, read_table
from .rewards import NONE, format_ok, is_correct, parse_answer

PROMPT_STYLES = ("direct", "reasoning", "as_in_data")
DIRECT_MAX_NEW_TOKENS = 32  # "<think>no movement</think><answer>C</answer>" and longer object names
REASONING_MAX_NEW_TOKENS = 256
AGGREGATES = {"all": None, "paper3": Q.PAPER_FAMILIES, "objects": Q.OBJECT_FAMILIES}  # pseudo-families
ALL_SPLITS = "all"  # pseudo-split pooling every evaluated split
COMPLETION_CHARS = 500  # completions are kept in the report up to this length
_ROW_COLUMNS = ["id", "family", "split", "images", "question", "options", "answer", "answer_text", "prompt_style",
                "meta", "scene_id"]


class EndpointError(RuntimeError):
    """An OpenAI-compatible endpoint is unreachable, timed out, or refused a request."""


# -- configuration ------------------------------------------------------------------------------
BOOTSTRAP_UNITS = ("scene", "question")


@dataclass
class EvalConfig:
    dataset_dir: str | Path
    splits: list[str] | None = None  # None: every split whose name starts with "test"
    families: list[str] | None = None  # None: every family in the dataset
    max_samples: int | None = None  # per split, a seeded random subset (None: all rows)
    batch_size: int = 8  # rows per answerer call (for an endpoint: at least its concurrency)
    max_new_tokens: int | None = None  # None: DIRECT_MAX_NEW_TOKENS / REASONING_MAX_NEW_TOKENS
    prompt_style: str = "direct"  # direct | reasoning | as_in_data (each row's own prompt_style)
    temperature: float = 0.0  # 0: greedy
    seed: int = 0  # sample selection, bootstrap, sampling when temperature > 0
    bootstrap: int = 1000  # bootstrap resamples per interval
    # what a resample draws: whole scenes (their questions share views: a cluster bootstrap) or questions
    bootstrap_unit: str = "scene"
    threads: int | None = None  # torch.set_num_threads for the run (None: leave torch alone)
    blind_dataset_dir: str | Path | None = None  # whose train split gives the image-blind level (None: dataset_dir)

    def __post_init__(self):
        if self.prompt_style not in PROMPT_STYLES:
            raise ValueError(f"prompt_style must be one of {PROMPT_STYLES}, got {self.prompt_style!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if self.max_samples is not None and (not isinstance(self.max_samples, int) or self.max_samples < 1):
            raise ValueError(f"max_samples must be a positive integer or None, got {self.max_samples!r}")
        if self.max_new_tokens is not None and (not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1):
            raise ValueError(f"max_new_tokens must be a positive integer or None, got {self.max_new_tokens!r}")
        if not self.temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature!r}")
        if not isinstance(self.bootstrap, int) or self.bootstrap < 1:
            raise ValueError(f"bootstrap must be a positive integer, got {self.bootstrap!r}")
        if self.bootstrap_unit not in BOOTSTRAP_UNITS:
            raise ValueError(f"bootstrap_unit must be one of {BOOTSTRAP_UNITS}, got {self.bootstrap_unit!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {self.threads!r}")
        if isinstance(self.splits, str):
            self.splits = [self.splits]
        if isinstance(self.families, str):
            self.families = [self.families]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["dataset_dir"] = str(self.dataset_dir)
        d["blind_dataset_dir"] = None if self.blind_dataset_dir is None else str(self.blind_dataset_dir)
        return d


def default_max_new_tokens(reasoning: bool) -> int:
    return REASONING_MAX_NEW_TOKENS if reasoning else DIRECT_MAX_NEW_TOKENS


def row_prompt(row: dict, reasoning: bool) -> str:
    """The user turn's text for ``row`` (``questions.prompt_text``; the images come before it)."""
    return Q.prompt_text(row["question"], list(row["options"] or []), len(row["images"] or []), reasoning)


def row_tolerance(row: dict) -> float | None:
    """Numeric questions (no options) are judged within the row's ``tolerance_deg``; letters exactly."""
    if row.get("options"):
        return None
    try:
        meta = json.loads(row.get("meta") or "{}")
    except json.JSONDecodeError:
        meta = {}
    return float(meta.get("tolerance_deg", Q.NUMERIC_TOLERANCE_DEG))


# -- answerers ----------------------------------------------------------------------------------
class Answerer(Protocol):
    def answer(self, rows: Sequence[dict], reasoning: bool, *, max_new_tokens: int | None = None,
               temperature: float = 0.0, seed: int | None = None) -> list[str]:
        """Raw completion texts, one per row (rows carry ``images`` as encoded bytes, ``question``, ``options``)."""

    def describe(self) -> dict:
        """What answered (kind, model, endpoint), for the report."""


def _pil_images(row: dict) -> list:
    from PIL import Image

    from .views import decode_image

    return [Image.fromarray(decode_image(b)) for b in (row["images"] or [])]


class InProcessAnswerer:
    """A transformers model and its processor, in this process (``model.generate``).

    Prompts are the processor's chat template (user content: question and options, one image part per
    image, instruction; ``questions.user_content``) with the generation prompt, padded on the left;
    only the new tokens are decoded, without skipping special tokens, and then the special ones (pad,
    eos, end of turn, vision markers) are removed — the format tags ``<think>`` / ``<answer>`` stay
    whatever their tokenizer status.
    """

    def __init__(self, model, processor, name: str | None = None):
        self.model = model
        self.processor = processor
        self.name = name or getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__
        tok = processor.tokenizer if hasattr(processor, "tokenizer") else processor
        self.tokenizer = tok
        from .presets import FORMAT_TOKENS

        special = set(getattr(tok, "all_special_tokens", []) or [])
        for added in (getattr(tok, "added_tokens_decoder", {}) or {}).values():
            if getattr(added, "special", False):
                special.add(str(added))
        special -= set(FORMAT_TOKENS)
        # longest first, so no token is cut by a shorter one it contains
        self._strip = re.compile("|".join(re.escape(s) for s in sorted(special, key=len, reverse=True))) \
            if special else None

    @classmethod
    def from_pretrained(cls, path: str | Path, preset: str = "tiny", dtype=None, device=None) -> "InProcessAnswerer":
        from .presets import load_model

        model, processor = load_model(path, preset, dtype=dtype, device=device)
        model.eval()
        return cls(model, processor, name=str(path))

    def describe(self) -> dict:
        return {"kind": "in_process", "model": str(self.name), "device": str(getattr(self.model, "device", "cpu"))}

    def clean(self, text: str) -> str:
        return self._strip.sub("", text) if self._strip is not None else text

    def answer(self, rows: Sequence[dict], reasoning: bool, *, max_new_tokens: int | None = None,
               temperature: float = 0.0, seed: int | None = None) -> list[str]:
        import torch

        if not rows:
            return []
        texts, images = [], []
        for row in rows:
            imgs = _pil_images(row)
            images.extend(imgs)  # flat, in prompt order: the processor fills image placeholders in order
            user = {"role": "user", "content": Q.user_content(row_prompt(row, reasoning), [{"type": "image"} for _ in imgs])}
            texts.append(self.processor.apply_chat_template([user], add_generation_prompt=True, tokenize=False))
        self.tokenizer.padding_side = "left"
        inputs = self.processor(text=texts, images=images or None, padding=True, return_tensors="pt")
        inputs = inputs.to(self.model.device)
        gen: dict[str, Any] = {"max_new_tokens": max_new_tokens or default_max_new_tokens(reasoning)}
        if temperature > 0:
            gen.update(do_sample=True, temperature=float(temperature))
            if seed is not None:
                torch.manual_seed(seed)
        else:
            gen.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if self.tokenizer.pad_token_id is not None:
            gen["pad_token_id"] = self.tokenizer.pad_token_id
        with torch.inference_mode():
            out = self.model.generate(**inputs, **gen)
        new = out[:, inputs["input_ids"].shape[1]:]
        decoded = self.tokenizer.batch_decode(new, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        return [self.clean(t) for t in decoded]


class OpenAIAnswerer:
    """Any OpenAI-compatible chat endpoint (``vllm serve``, ``transformers serve``): one request per row.

    Requests go through ``actial_robot.client.SpatialClient``, the client robots use: images as base64
    ``data:`` URLs, then the same prompt text ``InProcessAnswerer`` builds. ``concurrency`` requests run
    at once (give ``EvalConfig.batch_size`` at least that). ``model=None`` asks the server which model it
    serves. A server that is down, a timeout, or a refused request raises ``EndpointError``; a
    malformed answer is scored, not raised.
    """

    def __init__(self, base_url: str, model: str | None = None, api_key: str = "EMPTY", timeout: float = 120.0,
                 concurrency: int = 8, max_retries: int = 2):
        from actial_robot.client import SpatialClient

        if concurrency < 1:
            raise ValueError(f"concurrency must be a positive integer, got {concurrency!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.concurrency = concurrency
        self.client = SpatialClient(self.base_url, model=model, api_key=api_key, timeout=timeout,
                                    max_retries=max_retries, max_concurrency=concurrency)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="eval-endpoint")
        self._checked = False

    def describe(self) -> dict:
        return {"kind": "openai", "model": self.model, "base_url": self.base_url}

    def check(self) -> list[str]:
        """Ask the endpoint which models it serves (a server that is down fails here, once)."""
        from actial_robot.client import SpatialClientError

        try:
            served = self.client.models()
        except SpatialClientError as e:
            raise EndpointError(f"OpenAI-compatible endpoint {self.base_url} is not usable: {e}") from e
        if self.model is None:
            if not served:
                raise EndpointError(f"OpenAI-compatible endpoint {self.base_url} lists no models; pass model=NAME")
            self.model = served[0]
        elif served and self.model not in served:
            raise EndpointError(f"OpenAI-compatible endpoint {self.base_url} serves {served}, not {self.model!r}; "
                                f"pass one of those as the model name")
        self.client.model = self.model
        self._checked = True
        return served

    def _one(self, row: dict, reasoning: bool, max_tokens: int, temperature: float, seed: int | None) -> str:
        from actial_robot.client import SpatialClientError

        try:
            messages = self.client.messages(list(row["images"] or []), row["question"], list(row["options"] or []),
                                            reasoning)
            text, _ = self.client.complete(messages, max_tokens=max_tokens, temperature=temperature, seed=seed)
        except SpatialClientError as e:
            raise EndpointError(f"OpenAI-compatible endpoint {self.base_url} failed on row {row.get('id', '?')}: "
                                f"{e}") from e
        return text

    def answer(self, rows: Sequence[dict], reasoning: bool, *, max_new_tokens: int | None = None,
               temperature: float = 0.0, seed: int | None = None) -> list[str]:
        if not self._checked:
            self.check()
        n = max_new_tokens or default_max_new_tokens(reasoning)
        return list(self._pool.map(lambda r: self._one(r, reasoning, n, temperature, seed), rows))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()


# -- statistics ---------------------------------------------------------------------------------
def bootstrap_interval(values: Sequence[float], resamples: int = 1000, seed: int = 0,
                       level: float = 0.95, groups: Sequence | None = None) -> dict | None:
    """``{"value": mean, "lo": ..., "hi": ...}``: the mean and its percentile bootstrap interval; None if empty.

    ``groups``: a cluster label per value (the scene a question was rendered in). Questions of one scene share
    its views, objects and floor, so they are not independent draws: with ``groups`` each resample draws whole
    clusters with replacement (a cluster bootstrap) and takes the mean over the values they hold. Where a few
    scenes hold many questions (``p3_tiles``' held-out objects: 226 questions from 8 scenes) this interval
    is the honest one, and wider. One cluster alone cannot be resampled: then the values are.

    0/1 values (every metric here) are resampled exactly and cheaply: the mean of n draws with
    replacement from them is Binomial(n, mean) / n. The interval always contains the mean.
    """
    x = np.asarray(list(values), dtype=float)
    n = x.size
    if n == 0:
        return None
    mean = float(x.mean())
    rng = np.random.default_rng(seed)
    labels = None
    if groups is not None:
        labels = np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)[1]
        if labels.size != n:
            raise ValueError(f"groups has {labels.size} labels for {n} values")
    if labels is not None and labels.max() > 0:
        k = int(labels.max()) + 1
        sums, counts = np.bincount(labels, weights=x, minlength=k), np.bincount(labels, minlength=k)
        draws = rng.multinomial(k, np.full(k, 1.0 / k), size=resamples)  # how often each cluster is drawn
        means = (draws @ sums) / (draws @ counts)
    elif np.all((x == 0) | (x == 1)):
        means = rng.binomial(n, mean, size=resamples) / n
    else:
        means = np.empty(resamples)
        chunk = max(1, 4_000_000 // n)
        for i in range(0, resamples, chunk):
            k = min(chunk, resamples - i)
            means[i:i + k] = x[rng.integers(0, n, size=(k, n))].mean(axis=1)
    a = (1 - level) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return {"value": mean, "lo": float(min(lo, mean)), "hi": float(max(hi, mean))}


def _mean_or_none(values: list) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return float(np.mean(values))


# -- the report ---------------------------------------------------------------------------------
@dataclass
class EvalReport:
    config: dict
    dataset: dict  # dir, manifest_hash, rows
    answerer: dict  # kind, model, base_url / device
    metrics: dict  # split -> family (or aggregate) -> cell (see evaluate)
    predictions: list[dict] = field(default_factory=list)
    timing: dict = field(default_factory=dict)  # seconds, samples, samples_per_s
    created: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def cell(self, split: str, family: str) -> dict | None:
        return self.metrics.get(split, {}).get(family)

    def accuracy(self, split: str, family: str = "all") -> float | None:
        c = self.cell(split, family)
        return None if c is None or c["accuracy"] is None else c["accuracy"]["value"]


def load_report(path: str | Path) -> EvalReport:
    d = json.loads(Path(path).read_text())
    return EvalReport(config=d["config"], dataset=d["dataset"], answerer=d["answerer"], metrics=d["metrics"],
                      predictions=d.get("predictions", []), timing=d.get("timing", {}), created=d.get("created", ""))


def _as_report(r) -> EvalReport:
    if isinstance(r, EvalReport):
        return r
    if isinstance(r, dict):
        return EvalReport(config=r.get("config", {}), dataset=r.get("dataset", {}), answerer=r.get("answerer", {}),
                          metrics=r["metrics"], predictions=r.get("predictions", []), timing=r.get("timing", {}),
                          created=r.get("created", ""))
    return load_report(r)


def _family_order(names: Iterable[str]) -> list[str]:
    known = {f: i for i, f in enumerate(Q.ALL_FAMILIES)}
    fams = sorted((n for n in names if n not in AGGREGATES), key=lambda f: (known.get(f, len(known)), f))
    return fams + [a for a in AGGREGATES if a in names]


# -- selecting rows -----------------------------------------------------------------------------
def _select(cfg: EvalConfig) -> tuple[list[str], list[int]]:
    """(splits, positions of the rows to evaluate, in dataset order)."""
    table = read_table(cfg.dataset_dir, columns=["split", "family"])
    split_col, fam_col = table["split"].to_pylist(), table["family"].to_pylist()
    present = list(dict.fromkeys(split_col))
    if cfg.splits is None:
        splits = [s for s in present if s.startswith("test")]
        if not splits:
            raise DatasetError(f"{cfg.dataset_dir} has no test split (its splits: {', '.join(present) or 'none'}); "
                               f"choose one of those (splits=[...], or --split on the command line), or generate data with test splits")
    else:
        missing = [s for s in cfg.splits if s not in present]
        if missing:
            raise DatasetError(f"{cfg.dataset_dir} has no split {', '.join(missing)}; its splits: {', '.join(present)}")
        splits = list(dict.fromkeys(cfg.splits))
    if cfg.families is not None:
        unknown = [f for f in cfg.families if f not in Q.ALL_FAMILIES and f not in set(fam_col)]
        if unknown:
            raise ValueError(f"unknown question families {unknown}; known: {', '.join(Q.ALL_FAMILIES)}")
    fams = None if cfg.families is None else set(cfg.families)
    rng = np.random.default_rng(cfg.seed)
    chosen: list[int] = []
    for s in splits:
        idx = [i for i, (sp, f) in enumerate(zip(split_col, fam_col)) if sp == s and (fams is None or f in fams)]
        if cfg.max_samples is not None and len(idx) > cfg.max_samples:
            idx = sorted(rng.choice(idx, size=cfg.max_samples, replace=False).tolist())
        chosen.extend(idx)
    if not chosen:
        raise DatasetError(f"{cfg.dataset_dir} has no rows of families {sorted(fams or [])} in splits {splits}")
    return splits, sorted(chosen)


def _load_rows(directory, positions: list[int]) -> list[dict]:
    want = set(positions)
    rows = []
    for i, row in enumerate(iter_rows(directory, columns=_ROW_COLUMNS)):
        if i in want:
            rows.append(row)
            if len(rows) == len(want):
                break
    return rows


def _blind_answers(directory) -> dict[str, tuple[str, str] | float]:
    """family -> its image-blind guess: ("text", most common answer_text) or ("letter", most common
    letter), whichever is right more often on the training split; numeric families: the median answer."""
    try:
        t = read_table(directory, columns=["split", "family", "options", "answer", "answer_text"], split="train")
    except DatasetError:
        return {}
    by_family: dict[str, list] = {}
    for r in t.to_pylist():
        by_family.setdefault(r["family"], []).append(r)
    out: dict[str, tuple[str, str] | float] = {}
    for fam, rs in by_family.items():
        if all(not r["options"] for r in rs):
            nums = []
            for r in rs:
                try:
                    nums.append(float(r["answer"]))
                except ValueError:
                    pass
            if nums:
                out[fam] = float(np.median(nums))
            continue
        choices = [r for r in rs if r["options"]]
        guesses = [(kind, Counter(r[key] for r in choices if r[key]).most_common(1))
                   for kind, key in (("text", "answer_text"), ("letter", "answer"))]
        # most_common counts are the training hits of each guess; ties keep the text prior
        kind, best = max(((k, c[0]) for k, c in guesses if c), key=lambda kc: kc[1][1], default=(None, None))
        if kind:
            out[fam] = (kind, best[0])
    return out


def _blind_correct(row: dict, blind: dict, tol: float | None) -> bool | None:
    if row["family"] not in blind:
        return None
    guess = blind[row["family"]]
    if isinstance(guess, float):
        return is_correct(f"{guess:g}", row["answer"], tol if tol is not None else Q.NUMERIC_TOLERANCE_DEG)
    kind, value = guess
    return (row["answer_text"] if kind == "text" else row["answer"]) == value


# -- evaluation ---------------------------------------------------------------------------------
def scene_groups(scenes: list[str | None], unit: str = "scene") -> list[str] | None:
    """Each question's scene, as ``bootstrap_interval``'s ``groups``; None (resample questions) when ``unit``
    is "question" or some question names no scene (sanity rungs, reports written before 2026-12-07)."""
    return None if unit == "question" or not all(scenes) else scenes


def _cell(preds: list[dict], cfg: EvalConfig, key: str) -> dict:
    seed = cfg.seed * 1_000_003 + zlib.crc32(key.encode())  # a different but fixed stream per cell
    scenes = scene_groups([p.get("scene") for p in preds], cfg.bootstrap_unit)
    return {
        "n": len(preds),
        "scenes": len(set(scenes)) if scenes else None,  # the intervals' resampling unit when not None
        "accuracy": bootstrap_interval([p["correct"] for p in preds], cfg.bootstrap, seed, groups=scenes),
        "format_rate": bootstrap_interval([p["format_ok"] for p in preds], cfg.bootstrap, seed + 1, groups=scenes),
        "answer_rate": bootstrap_interval([p["answered"] for p in preds], cfg.bootstrap, seed + 2, groups=scenes),
        "chance": _mean_or_none([p["chance"] for p in preds]),
        "image_blind": _mean_or_none([p["image_blind"] for p in preds]),
        "reasoning_share": float(np.mean([p["reasoning"] for p in preds])) if preds else None,
    }


def summarize(predictions: list[dict], cfg: EvalConfig, splits: Sequence[str]) -> dict:
    """split -> family/aggregate -> cell, from per-row predictions (see ``evaluate``)."""
    metrics: dict = {}
    groups = [(s, [p for p in predictions if p["split"] == s]) for s in splits]
    if len(splits) > 1:
        groups.append((ALL_SPLITS, list(predictions)))
    for s, preds in groups:
        if not preds:
            continue
        by_fam: dict[str, list] = {}
        for p in preds:
            by_fam.setdefault(p["family"], []).append(p)
        cells = {}
        for fam in _family_order(by_fam):
            cells[fam] = _cell(by_fam[fam], cfg, f"{s}/{fam}")
        for agg, members in AGGREGATES.items():
            sub = preds if members is None else [p for p in preds if p["family"] in members]
            if sub:
                cells[agg] = _cell(sub, cfg, f"{s}/{agg}")
        metrics[s] = cells
    return metrics


def evaluate(cfg: EvalConfig, answerer: Answerer, progress: bool = False) -> EvalReport:
    """Ask ``answerer`` every selected question and score it (see the module docstring)."""
    old_threads = None
    if cfg.threads is not None:
        import torch

        old_threads = torch.get_num_threads()
        torch.set_num_threads(cfg.threads)
    try:
        return _evaluate(cfg, answerer, progress)
    finally:
        if old_threads is not None:
            import torch

            torch.set_num_threads(old_threads)


def _evaluate(cfg: EvalConfig, answerer: Answerer, progress: bool) -> EvalReport:
    manifest = load_manifest(cfg.dataset_dir)
    splits, positions = _select(cfg)
    rows = _load_rows(cfg.dataset_dir, positions)
    blind = _blind_answers(cfg.blind_dataset_dir or cfg.dataset_dir)

    def is_reasoning(row):
        return cfg.prompt_style == "reasoning" or (cfg.prompt_style == "as_in_data"
                                                   and row["prompt_style"] == "reasoning")

    groups = {False: [r for r in rows if not is_reasoning(r)], True: [r for r in rows if is_reasoning(r)]}
    completions: dict[int, str] = {}
    t0 = time.perf_counter()
    done = 0
    for reasoning, group in groups.items():
        for b in range(0, len(group), cfg.batch_size):
            batch = group[b:b + cfg.batch_size]
            texts = answerer.answer(batch, reasoning, max_new_tokens=cfg.max_new_tokens,
                                    temperature=cfg.temperature, seed=cfg.seed if cfg.temperature > 0 else None)
            if len(texts) != len(batch):
                raise RuntimeError(f"the answerer returned {len(texts)} completions for {len(batch)} rows")
            for r, t in zip(batch, texts):
                completions[id(r)] = t
            done += len(batch)
            if progress:
                print(f"evaluated {done}/{len(rows)} rows ({time.perf_counter() - t0:.1f} s)", flush=True)
    seconds = time.perf_counter() - t0

    predictions = []
    for r in rows:
        text = completions[id(r)]
        tol = row_tolerance(r)
        predicted = parse_answer(text)
        predictions.append({
            "id": r["id"], "scene": r.get("scene_id") or None, "family": r["family"], "split": r["split"],
            "answer": r["answer"],
            "answer_text": r["answer_text"], "predicted": predicted,
            "correct": bool(is_correct(predicted, r["answer"], tol)),
            "format_ok": bool(format_ok(text)), "answered": predicted != NONE, "reasoning": is_reasoning(r),
            "chance": (1.0 / len(r["options"])) if r["options"] else None,
            "image_blind": _blind_correct(r, blind, tol),
            "completion": text[:COMPLETION_CHARS],
        })
    metrics = summarize(predictions, cfg, splits)
    return EvalReport(
        config=cfg.to_dict(),
        dataset={"dir": str(cfg.dataset_dir), "manifest_hash": manifest_hash(cfg.dataset_dir),
                 "rows": manifest.get("rows"), "splits": splits, "image_blind_answers": blind},
        answerer=answerer.describe() if hasattr(answerer, "describe") else {"kind": type(answerer).__name__},
        metrics=metrics, predictions=predictions,
        timing={"seconds": seconds, "samples": len(rows),
                "samples_per_s": len(rows) / seconds if seconds > 0 else None},
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


# -- comparing ----------------------------------------------------------------------------------
def compare_reports(a, b, tolerance: float = 0.0) -> dict:
    """How far two reports' accuracies are apart, per (split, family) both hold.

    ``a`` / ``b``: ``EvalReport``, its dict, or a path to its JSON. Returns ``{"diff": {split: {family:
    |acc_a - acc_b|}}, "max_diff", "within_tolerance" (max_diff <= tolerance), "tolerance",
    "only_in_a"/"only_in_b" ("split/family" cells one report lacks), "prediction_agreement" (share of
    rows, matched by id and split, with the same parsed answer; None when they share no rows),
    "n_mismatch" (cells whose n differ)}``.
    """
    a, b = _as_report(a), _as_report(b)
    diff: dict = {}
    only_a, only_b, n_mismatch = [], [], []
    for s in a.metrics:
        for fam, ca in a.metrics[s].items():
            cb = b.metrics.get(s, {}).get(fam)
            if cb is None:
                only_a.append(f"{s}/{fam}")
                continue
            if ca["n"] != cb["n"]:
                n_mismatch.append(f"{s}/{fam}")
            va, vb = ca["accuracy"], cb["accuracy"]
            if va is None or vb is None:
                continue
            diff.setdefault(s, {})[fam] = abs(va["value"] - vb["value"])
    for s in b.metrics:
        for fam in b.metrics[s]:
            if fam not in a.metrics.get(s, {}):
                only_b.append(f"{s}/{fam}")
    pa = {(p["split"], p["id"]): p["predicted"] for p in a.predictions}
    shared = [(k, p["predicted"]) for p in b.predictions if (k := (p["split"], p["id"])) in pa]
    agreement = float(np.mean([pa[k] == v for k, v in shared])) if shared else None
    max_diff = max((d for fams in diff.values() for d in fams.values()), default=0.0)
    return {"diff": diff, "max_diff": max_diff, "within_tolerance": max_diff <= tolerance + 1e-12,
            "tolerance": tolerance, "only_in_a": only_a, "only_in_b": only_b, "n_mismatch": n_mismatch,
            "prediction_agreement": agreement}


def paired_difference(before, after, split: str, family: str = "all", resamples: int = 1000,
                      seed: int = 0, unit: str = "scene") -> dict | None:
    """``after``'s accuracy minus ``before``'s on the rows both answered (matched by id) in ``split`` (and
    ``family``; ``all``: every family), with a 95% paired bootstrap interval: each resample draws whole scenes
    (``unit`` "scene", where the predictions name them; else questions), and both models' answers to a
    drawn question go together. Two models asked the same questions agree on most of them, so this interval is
    far narrower than the two reports' own intervals would suggest (an interval that excludes 0 is a
    difference these questions show). Drawing questions instead treats a scene's questions as independent:
    where a few scenes hold the differences, that interval excludes 0 when these scenes, not the model, decide
    (``scenes``: how many there are). None when they share no rows."""
    before, after = _as_report(before), _as_report(after)

    def picked(r):
        return {p["id"]: p for p in r.predictions if p["split"] == split and (family == "all" or p["family"] == family)}

    b, a = picked(before), picked(after)
    ids = sorted(set(b) & set(a))
    if not ids:
        return None
    d = np.array([float(a[i]["correct"]) - float(b[i]["correct"]) for i in ids])  # +1 gained, -1 lost, 0 the same
    scenes = scene_groups([b[i].get("scene") or a[i].get("scene") for i in ids], unit)
    e = bootstrap_interval(d, resamples, seed, groups=scenes)
    return {"split": split, "family": family, "n": len(ids), "scenes": len(set(scenes)) if scenes else None,
            "before": float(np.mean([b[i]["correct"] for i in ids])),
            "after": float(np.mean([a[i]["correct"] for i in ids])), "diff": e["value"], "interval": [e["lo"], e["hi"]],
            "gained": int((d > 0).sum()), "lost": int((d < 0).sum())}


def paired_table(before, after, before_name: str = "before", after_name: str = "after", unit: str | None = None) -> str:
    """``after`` minus ``before`` on the questions both answered (``paired_difference``), per split and family, as
    markdown: n, scenes, each accuracy, the difference with its 95% paired interval (resampling ``unit``s; None: as
    ``after`` was evaluated), questions gained and lost.
    ValueError when the reports are of different datasets or share no questions."""
    before, after = _as_report(before), _as_report(after)
    hb, ha = before.dataset.get("manifest_hash"), after.dataset.get("manifest_hash")
    if hb and ha and hb != ha:
        raise ValueError(f"the reports are of different datasets ({before.dataset.get('dir')} hash {hb}, "
                         f"{after.dataset.get('dir')} hash {ha}): evaluate both on the same --data")
    lines = [f"## {after_name} minus {before_name}, paired", "",
             "The same questions asked of both; points, with a 95% paired bootstrap interval that resamples whole "
             "scenes where the rows name them (a scene's questions share its views; an interval that excludes 0 "
             "is a difference these scenes show).", "",
             f"| split | family | n | scenes | {before_name} | {after_name} | difference [95%] | gained | lost |",
             "|---|---|---:|---:|---:|---:|---|---:|---:|"]
    rows = []
    for s in after.metrics:
        for f in _family_order(after.metrics[s]):
            if f != "all" and f in AGGREGATES:
                continue  # pseudo-families (paper3, objects) name no row: "all" pools the rows instead
            d = paired_difference(before, after, s, f, unit=unit or after.config.get("bootstrap_unit", "scene"))
            if d is None:
                continue
            lo, hi = d["interval"]
            rows.append(f"| {s} | {'**all**' if f == 'all' else f} | {d['n']} | {d['scenes'] or '–'} | "
                        f"{100 * d['before']:.1f} | "
                         f"{100 * d['after']:.1f} | {100 * d['diff']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] | "
                         f"{d['gained']} | {d['lost']} |")
    if not rows:
        raise ValueError("the reports share no questions: evaluate both with the same --data, --split and "
                         "--max-samples (the seeded subset), with predictions kept in the JSON")
    return "\n".join(lines + rows) + "\n"


# -- writers ------------------------------------------------------------------------------------
def _stage_file(stage: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(stage)).strip("._") or "stage"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def _est(e: dict | None) -> str:
    return "–" if e is None else f"{100 * e['value']:.1f} [{100 * e['lo']:.1f}, {100 * e['hi']:.1f}]"


def markdown_table(report: EvalReport, stage: str = "") -> str:
    """Accuracy per split x family (with 95% intervals), format and answer rates, n, chance, image-blind."""
    report = _as_report(report)
    title = f"## Evaluation{': ' + stage if stage else ''}"
    a = report.answerer
    who = a.get("model") or a.get("kind", "")
    cfg = report.config
    lines = [title, "",
             f"Model: `{who}` ({a.get('kind', '?')}{', ' + a['base_url'] if a.get('base_url') else ''}); dataset "
             f"`{report.dataset.get('dir', '')}` (hash {report.dataset.get('manifest_hash', '?')}); prompts "
             f"{cfg.get('prompt_style', '?')}, temperature {cfg.get('temperature', 0)}. Percentages; 95% bootstrap "
             f"intervals ({cfg.get('bootstrap', '?')} resamples of {cfg.get('bootstrap_unit', 'question')}s: a "
             f"scene's questions are drawn together, as they share its views) in brackets. Format rate counts "
             f"`<think>…</think><answer>…</answer>` (meaningful for reasoning prompts); answer rate counts any "
             f"parseable `<answer>`. Chance: a uniform guess over the options; image-blind: always the training "
             f"split's most common answer.", ""]
    splits = list(report.metrics)
    fams = _family_order({f for s in splits for f in report.metrics[s]})
    # compact matrix
    lines.append("| split | " + " | ".join(fams) + " |")
    lines.append("|---|" + "---|" * len(fams))
    for s in splits:
        cells = [_pct(report.accuracy(s, f)) if report.cell(s, f) else "" for f in fams]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines += ["", "| split | family | n | accuracy [95% CI] | format rate | answer rate | chance | image-blind | scenes |",
              "|---|---|---:|---|---|---|---:|---:|---:|"]
    for s in splits:
        for f in fams:
            c = report.cell(s, f)
            if c is None:
                continue
            name = f"**{f}**" if f in AGGREGATES else f
            lines.append(f"| {s} | {name} | {c['n']} | {_est(c['accuracy'])} | {_est(c['format_rate'])} | "
                         f"{_est(c['answer_rate'])} | {_pct(c['chance'])} | {_pct(c['image_blind'])} | "
                         f"{c.get('scenes') or '–'} |")
    t = report.timing
    if t.get("samples_per_s"):
        lines += ["", f"{t['samples']} questions in {t['seconds']:.1f} s ({t['samples_per_s']:.2f} per second)."]
    return "\n".join(lines) + "\n"


def _figure(width: float, height: float, ncols: int = 1):
    """A matplotlib figure on the Agg canvas (no pyplot, no global backend change, safe in threads)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def _save(fig, out: str | Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return out


def _bars(ax, groups: list[str], series: list[tuple[str, list[dict | None]]], chance: list[float | None] | None = None):
    """Grouped bars: one group per entry of ``groups``, one bar per series, 95% intervals as error bars."""
    n = max(1, len(series))
    width = 0.8 / n
    x = np.arange(len(groups))
    for i, (label, ests) in enumerate(series):
        vals = np.array([np.nan if e is None else e["value"] for e in ests])
        lo = np.array([0 if e is None else e["value"] - e["lo"] for e in ests])
        hi = np.array([0 if e is None else e["hi"] - e["value"] for e in ests])
        ax.bar(x - 0.4 + width * (i + 0.5), vals, width, yerr=[lo, hi], capsize=2, label=label)
    if chance is not None:
        for j, c in enumerate(chance):
            if c is not None:
                ax.hlines(c, j - 0.42, j + 0.42, colors="k", linestyles="dashed", linewidth=1,
                          label="chance" if j == next(k for k, v in enumerate(chance) if v is not None) else None)
    ax.set_xticks(x)
    ax.set_xticklabels(groups, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy")
    ax.grid(axis="y", alpha=0.3)
    if series:
        ax.legend(fontsize=8)


def plot_accuracy(report, out: str | Path, title: str = "") -> Path:
    """Accuracy by family (bars per split, 95% intervals, chance dashed) for one report."""
    report = _as_report(report)
    splits = [s for s in report.metrics]
    fams = _family_order({f for s in splits for f in report.metrics[s]})
    series = [(s, [(report.cell(s, f) or {}).get("accuracy") for f in fams]) for s in splits]
    ref = report.metrics.get(ALL_SPLITS) or report.metrics[splits[0]]
    chance = [(ref.get(f) or {}).get("chance") for f in fams]
    fig, (ax,) = _figure(max(6, 1.1 * len(fams) + 2), 4.2)
    _bars(ax, fams, series, chance)
    ax.set_title(title or "accuracy by family")
    return _save(fig, out)


def write_report(report: EvalReport, out_dir: str | Path, stage_name: str,
                 predictions: bool = True) -> dict[str, Path]:
    """``eval_<stage>.json``, ``eval_<stage>.md`` and ``accuracy_<stage>.png`` in ``out_dir``; returns their paths.
    ``predictions=False`` leaves the per-question answers out of the JSON (metrics only: small enough to commit)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = _stage_file(stage_name)
    paths = {"json": out / f"eval_{stem}.json", "markdown": out / f"eval_{stem}.md",
             "plot": out / f"accuracy_{stem}.png"}
    data = report.to_dict()
    data["stage"] = stage_name
    if not predictions:
        data.pop("predictions")
    tmp = paths["json"].with_name(paths["json"].name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    tmp.replace(paths["json"])
    paths["markdown"].write_text(markdown_table(report, stage_name))
    plot_accuracy(report, paths["plot"], f"accuracy by family — {stage_name}")
    return paths


def plot_stages(reports: dict, out: str | Path, split: str | None = None,
                families: Sequence[str] | None = None) -> Path:
    """Accuracy by family and stage (grouped bars, 95% intervals): ``reports`` maps stage name -> report
    (``EvalReport``, dict or JSON path). ``split`` defaults to the pooled ``all`` split where a report
    has it, else its first split."""
    reps = {k: _as_report(v) for k, v in reports.items()}
    if not reps:
        raise ValueError("plot_stages needs at least one report")

    def pick(r: EvalReport) -> str:
        if split is not None:
            return split
        return ALL_SPLITS if ALL_SPLITS in r.metrics else next(iter(r.metrics))

    fams = list(families) if families is not None else _family_order(
        {f for r in reps.values() for f in r.metrics.get(pick(r), {})})
    series = [(stage, [(r.cell(pick(r), f) or {}).get("accuracy") for f in fams]) for stage, r in reps.items()]
    first = next(iter(reps.values()))
    chance = [(first.cell(pick(first), f) or {}).get("chance") for f in fams]
    fig, (ax,) = _figure(max(6, 1.1 * len(fams) + 2), 4.2)
    _bars(ax, fams, series, chance)
    ax.set_title(f"accuracy by family and stage ({split or 'all test splits'})")
    return _save(fig, out)


_CURVES = {  # panel -> keys, as HF Trainer / TRL log them
    "loss": ("loss", "eval_loss"),
    "reward": ("reward",),
    "kl": ("kl",),
    "held-out accuracy": ("eval_accuracy",),  # SFT's eval_every; each family's (eval_accuracy/FAMILY) joins it
}


def plot_training_curves(log_history: list[dict], out: str | Path) -> list[str]:
    """Loss, reward, KL and held-out accuracy against step from a Trainer's ``state.log_history`` — whichever
    are logged.

    Besides ``loss`` / ``eval_loss``, ``reward`` and ``kl`` (TRL GRPO's keys), per-function rewards
    (``rewards/<name>/mean``) join the reward panel, and each family's held-out accuracy
    (``eval_accuracy/<family>``, SFT's ``eval_every``) joins ``eval_accuracy``'s. Returns the keys plotted; a
    history with none of them still gets a figure saying so (so a pipeline always finds its file).
    """
    panels: dict[str, dict[str, tuple[list, list]]] = {}
    for i, entry in enumerate(log_history or []):
        step = entry.get("step", i)
        for key, value in entry.items():
            panel = next((p for p, keys in _CURVES.items() if key in keys), None)
            if panel is None and key.startswith("rewards/") and key.endswith("/mean"):
                panel = "reward"
            if panel is None and key.startswith("eval_accuracy/"):
                panel = "held-out accuracy"
            if panel is None or isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                continue
            xs, ys = panels.setdefault(panel, {}).setdefault(key, ([], []))
            xs.append(step)
            ys.append(float(value))
    names = [p for p in _CURVES if p in panels]
    fig, axes = _figure(4.2 * max(1, len(names)), 3.4, max(1, len(names)))
    if not names:
        axes[0].text(0.5, 0.5, "no loss, reward, KL or accuracy in the log history", ha="center", va="center")
        axes[0].set_axis_off()
    for ax, name in zip(axes, names):
        for key, (xs, ys) in panels[name].items():
            ax.plot(xs, ys, marker="." if len(xs) < 30 else None, label=key)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if len(panels[name]) > 1:
            ax.legend(fontsize=7)
    _save(fig, out)
    return [k for n in names for k in panels[n]]


# -- command line -------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="dataset directory")
    who = ap.add_mutually_exclusive_group(required=True)
    who.add_argument("--model-path", help="evaluate this checkpoint in process")
    who.add_argument("--base-url", help="evaluate an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--model", default=None, help="the served model's name (endpoint; default: the first served)")
    ap.add_argument("--api-key", default="EMPTY")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--stage", default="eval")
    ap.add_argument("--splits", nargs="*", default=None)
    ap.add_argument("--families", nargs="*", default=None)
    ap.add_argument("--max-samples", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=None)
    ap.add_argument("--prompt-style", choices=PROMPT_STYLES, default="direct")
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--bootstrap-unit", choices=BOOTSTRAP_UNITS, default="scene",
                    help="what an interval's resample draws: whole scenes (default) or single questions")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    cfg = EvalConfig(args.data, splits=args.splits, families=args.families, max_samples=args.max_samples,
                     batch_size=args.batch_size, max_new_tokens=args.max_new_tokens, prompt_style=args.prompt_style,
                     temperature=args.temperature, seed=args.seed, bootstrap=args.bootstrap,
                     bootstrap_unit=args.bootstrap_unit, threads=args.threads)
    if args.base_url:
        answerer = OpenAIAnswerer(args.base_url, args.model, args.api_key, concurrency=args.concurrency)
    else:
        answerer = InProcessAnswerer.from_pretrained(args.model_path, args.preset)
    report = evaluate(cfg, answerer, progress=True)
    paths = write_report(report, args.out, args.stage)
    print(Path(paths["markdown"]).read_text())
    print("\n".join(f"wrote {p}" for p in paths.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
