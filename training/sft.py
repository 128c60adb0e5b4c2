"""Supervised fine-tuning with the hybrid cold start, on TRL's SFTTrainer.

The paper's stage 1: viewpoint multiple choice answered directly (90%) mixed with chain-of-thought
samples ``<think>…</think><answer>X</answer>`` (10%), so the model learns viewpoints *and* keeps the
reasoning format GRPO rewards. The loss covers the assistant turn only (TRL's
``assistant_only_loss``; the chat template marks the turn, see training/presets.py).

``SFTRunConfig`` sits beside ``run_sft`` the way TRL keeps a config next to each trainer; YAML files
in ``training/configs/`` fill it (``sft_tiny.yaml`` measured here, ``sft_qwen2.5-vl-7b.yaml`` the
paper's hyper-parameters). A run writes a servable checkpoint (see training/checkpoint.py) and
resumes from its last Trainer checkpoint when started again with the same output directory.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim_envs.config import FromDict

from .checkpoint import save_checkpoint


@dataclass
class SFTRunConfig(FromDict):
    model: str = ""  # a model directory (tiny: from `actial model build-tiny`; 3b/7b: a local Qwen2.5-VL)
    dataset: str = ""  # a dataset directory from the data engine
    extra_datasets: list[str] = field(default_factory=list)  # more dataset directories, mixed in (e.g. tabletop renders)
    extra_rows: int | None = None  # at most this many (seeded) train rows from each extra dataset; None: all
    output_dir: str = "outputs/sft"
    preset: str = "tiny"
    reasoning_ratio: float = 0.1  # hybrid cold start: share of chain-of-thought samples in the training mix
    # what a direct answer's <think> holds: "answer" (the answer's text, as the data engine wrote it) or "motion"
    # (questions.motion_think: "moved right, turned left: left" for the paper's three families) or "motion_frame"
    # (the same with the frame of reference named: "moved right, turned left; object: left")
    direct_think: str = "answer"
    # what a reasoning row's <think> holds: "prose" (the data engine's chain of thought) or the short chain,
    # "motion" / "motion_frame" as above, asked for with the reasoning prompt
    reasoning_think: str = "prose"
    families: list[str] | None = None  # None: every family in the train split
    max_train_samples: int | None = None
    epochs: float = 2.0
    max_steps: int = -1  # > 0 overrides epochs
    learning_rate: float = 5e-6
    batch_size: int = 8  # per device
    grad_accum: int = 1
    warmup_steps: int = 50
    lr_scheduler: str = "cosine"
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    logging_steps: int = 10
    save_steps: int = 200
    save_total_limit: int = 2
    seed: int = 0
    # save the mean of the weights after every step from this one on (training/average.py), not the last step's
    average_from_step: int | None = None
    lora: bool | None = None  # None: the preset's default (3b/7b: LoRA on the language model)
    gradient_checkpointing: bool = False
    threads: int | None = None  # torch CPU threads (None: torch's default)
    dtype: str | None = None  # None: the preset's (tiny float32, 3b/7b bfloat16)
    # bf16 autocast (Trainer's bf16): None, on a GPU when the weights are bf16 (3b/7b); True, on a CPU too, where
    # one with avx512_bf16 or AMX multiplies in bf16 and keeps fp32 weights (bench/precision.py measures it);
    # "auto", wherever the hardware multiplies bf16 natively (such a CPU, a GPU that supports it), else fp32
    bf16: bool | str | None = None
    # faster equivalents of the vision tower's patch embedding and window attention and of TRL's loss on the CPU
    # (training/fastpath.py): the same results to float rounding, 1.12-1.21x the steps/s of the tiny preset
    # (bench/step_speed.py); false runs transformers' and TRL's own code
    fast_paths: bool = True
    vision_warmup_steps: int = 0  # > 0: first train the vision tower on relative-motion regression (training/warmup.py)
    vision_warmup_lr: float = 1e-3
    # True: the vision tower (and merger) stay as they are during SFT. After a warm-up, SFT's early
    # gradients into the tower are noise (the language model ignores the images at first), and Adam's
    # normalised steps would walk the warmed features away before the language model learns to read them.
    freeze_vision: bool = False
    # Phases of one run, in order, e.g. [{"steps": 350, "families": [ego_translation, hue_turn], "extra_datasets":
    # [a rung]}, {"steps": 600}]. Each phase trains on its families' rows (default: ``families``) of ``dataset``
    # and its extra datasets (default: ``extra_datasets``), with its reasoning_ratio and direct_think (default:
    # the run's; a list of forms mixes them). One optimiser spans the phases (unless a phase says
    # ``reset_optimizer: true``), and one lr schedule (unless a phase sets ``lr``, ``warmup_steps`` or
    # ``lr_scheduler``: a new cycle). ``until_accuracy: 0.9`` ends a phase early once its families, pooled, reach
    # it on the held-out questions (needs eval_every). training/curriculum.py; docs/training-log.md: one run.
    curriculum: list[dict] = field(default_factory=list)
    eval_every: int = 0  # > 0: every N steps (and at step 0) answer eval_samples held-out questions, log accuracy
    eval_samples: int = 200
    # the held-out checks' split of ``dataset``. A run chooses by them (gates, keep_best): a validation split
    # keeps the test splits for reporting
    eval_split: str = "test"
    # at the end, if the last check answers more than FORGOT_GAP below the best check of the last curriculum phase
    # (of the run, without one), save that check's weights instead of the last step's: a late phase that undoes a
    # family (session 30: phase 5 took `ego_translation` from 99% to 2%) then costs the phase, not the model
    keep_best: bool = False
    eval_prompt_style: str = "direct"  # or "reasoning": the held-out questions ask for a chain of thought
    time_limit_s: float | None = None  # stop (and save) once training has run this long, whatever max_steps says
    extra: dict = field(default_factory=dict)  # passed to trl.SFTConfig as is (e.g. deepspeed, fsdp)

    def __post_init__(self):  # when the YAML is read, not after the model and data have loaded
        from .average import check_from_step

        check_from_step(self.average_from_step)
        check_bf16(self.bf16)
        if self.keep_best and (self.eval_every <= 0 or self.average_from_step is not None):
            raise ValueError("keep_best chooses among the held-out checks (eval_every > 0) and keeps one check's "
                             "weights, which a tail average (average_from_step) would replace: set one of the two")


def hybrid_indices(styles: list[str], families: list[str], reasoning_ratio: float, rng: np.random.Generator,
                   allowed: set[str] | None = None, limit: int | None = None) -> list[int]:
    """Row indices of a training mix with ``reasoning_ratio`` chain-of-thought rows.

    All direct rows are used; reasoning rows are drawn (with replacement only if there are too few)
    so that they make up ``reasoning_ratio`` of the mix.
    """
    if not 0.0 <= reasoning_ratio < 1.0:
        raise ValueError(f"reasoning_ratio must be in [0, 1), got {reasoning_ratio}")
    ok = [i for i, f in enumerate(families) if allowed is None or f in allowed]
    direct = [i for i in ok if styles[i] == "direct"]
    reasoning = [i for i in ok if styles[i] == "reasoning"]
    if not direct:
        raise ValueError("the training split has no direct-answer rows")
    want = int(round(len(direct) * reasoning_ratio / (1.0 - reasoning_ratio)))
    if want and not reasoning:
        raise ValueError("reasoning_ratio > 0 but the dataset has no reasoning rows; generate it with reasoning_share > 0")
    picked = list(rng.choice(reasoning, size=want, replace=want > len(reasoning))) if want else []
    mix = direct + [int(i) for i in picked]
    rng.shuffle(mix)
    return mix[:limit] if limit else mix


def length_keys(styles: list[str]) -> list[int]:
    """The sort key for Trainer's length-grouped sampler: 2 for chain-of-thought rows, 1 for direct ones.

    Batches pad to their longest row and chain-of-thought rows are ~2x longer, so grouping them roughly
    halves the tokens. The key must be this coarse: the sampler sorts each mega-batch by it, and exact
    text lengths sort by answer ("left" is shorter than "right"), which made every batch one answer and
    kept the model at the answer prior (docs/training-log.md). Equal keys keep their random order (stable sort).
    """
    return [2 if s == "reasoning" else 1 for s in styles]


def _sft_trainer_class(trainer_cls, lr_multipliers=None, sampler=None):
    """``trainer_cls`` keeping the "length" column (SFTTrainer prunes columns it does not know) for the
    length-grouped sampler, with ``lr_multipliers`` (``curriculum_lr_multipliers``) as its lr schedule and
    ``sampler`` (``curriculum_sampler``) as its training sampler, where given."""

    class SFTTrainerHere(trainer_cls):
        def _get_train_sampler(self, train_dataset=None):
            from transformers.trainer_pt_utils import LengthGroupedSampler

            if sampler is not None:
                return sampler
            chosen = super()._get_train_sampler(train_dataset)
            # Trainer passes the "length" column as a datasets Column, which reads the table once per row when the
            # sampler indexes it (5 s an epoch at 17k rows, cProfile); a list is read once
            if isinstance(chosen, LengthGroupedSampler) and not isinstance(chosen.lengths, list):
                chosen.lengths = list(chosen.lengths)
            return chosen

        def _set_signature_columns_if_needed(self):
            super()._set_signature_columns_if_needed()
            if "length" not in self._signature_columns:
                self._signature_columns = [*self._signature_columns, "length"]

        def create_scheduler(self, num_training_steps, optimizer=None):
            if lr_multipliers is None or self.lr_scheduler is not None:
                return super().create_scheduler(num_training_steps, optimizer)
            from torch.optim.lr_scheduler import LambdaLR

            self.lr_scheduler = LambdaLR(optimizer if optimizer is not None else self.optimizer, lr_multipliers)
            self._created_lr_scheduler = True
            return self.lr_scheduler

    return SFTTrainerHere


# points the reasoning prompts may trail the direct ones at a cold start's last check before the run warns:
# 300 questions give intervals of about +-2 points near 97%; a cold start that took is within 1-2 (README)
COLD_START_GAP = 0.05
# points the last held-out check may fall below the run's best before the run warns: the same +-2 points of
# noise; a late phase that undoes a family drops 30 (session 30: phase 5 flipped `ego_translation`'s frame word,
# 99% -> 2%, and the run saved the broken model)
FORGOT_GAP = 0.05


class BestCheck:
    """The weights of the best held-out check since a step of the run (the last curriculum phase's start), kept in
    memory to put back at the end (``keep_best``). Only trainable parameters are copied, to the CPU: a LoRA run
    copies its adapters; a full fine-tune copies the model once more. A resumed run has lost the copy, and chooses
    among the checks it makes after resuming."""

    def __init__(self, model):
        self.params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        self.weights: dict = {}
        self.step: int | None = None
        self.score: float | None = None

    def offer(self, step: int, score: float, since: int = 0) -> None:
        """A check after ``step`` steps that answered ``score``; checks before ``since`` no longer count. A tie goes
        to the later check, the one trained longer."""
        if self.step is not None and self.step < since:
            self.weights, self.step, self.score = {}, None, None
        if step < since or (self.score is not None and score < self.score):
            return
        self.weights = {n: p.detach().to("cpu", copy=True) for n, p in self.params.items()}
        self.step, self.score = step, score

    def restore(self) -> None:
        import torch

        with torch.no_grad():
            for n, p in self.params.items():
                p.copy_(self.weights[n])


def accuracy_callback(cfg, processor, families: list[str] | None = None, clock=None, model=None):
    """A TrainerCallback that logs held-out accuracy as training goes (``eval_accuracy`` in the log history).

    A from-scratch model sits at the image-blind level for a long time and then rises sharply;
    the curve shows where, and gives the time to reach a target accuracy (bench/train.py).
    ``clock``: a curriculum's ``CurriculumClock``, whose gates read each measurement by family.

    A curriculum phase that trains reasoning rows (the hybrid cold start) checks the same questions asked with
    the reasoning prompt too (``eval_reasoning_accuracy``; the gates read the direct prompts): the direct
    checks cannot see a cold start that failed (session 16's seed 1: direct 99%, reasoning prompts 59%).
    """
    import dataclasses

    from transformers import TrainerCallback

    from .curriculum import phase_reasoning_ratio
    from .evaluate import AGGREGATES, EvalConfig, InProcessAnswerer, evaluate

    ecfg = EvalConfig(dataset_dir=cfg.dataset, splits=[cfg.eval_split], families=families,
                      max_samples=cfg.eval_samples, batch_size=64, bootstrap=1, prompt_style=cfg.eval_prompt_style)
    reasoning_cfg = dataclasses.replace(ecfg, prompt_style="reasoning")

    def cold_start_at(step: int) -> bool:  # did the phase that trained the last step train reasoning rows?
        if clock is None or step <= 0 or cfg.eval_prompt_style == "reasoning":
            return False
        return phase_reasoning_ratio(cfg.curriculum[clock.phase_at(step - 1)], cfg) > 0

    class HeldOutAccuracy(TrainerCallback):
        t0 = None
        best = BestCheck(model) if cfg.keep_best else None  # keep_best's candidate check

        def _measure(self, state, model):
            t0 = time.perf_counter()
            was_training = model.training
            model.eval()
            report = evaluate(ecfg, InProcessAnswerer(model, processor))
            reasoning = None
            if cold_start_at(state.global_step):
                reasoning = evaluate(reasoning_cfg, InProcessAnswerer(model, processor)).cell(cfg.eval_split, "all")
            model.train(was_training)
            cell = report.cell(cfg.eval_split, "all")
            # by family too: a model that answers one family right and the others by its prior averages out
            # to the prior's level, and only the families tell the two apart
            cells = {fam: c for fam, c in report.metrics.get(cfg.eval_split, {}).items()
                     if fam not in AGGREGATES and c["accuracy"] is not None}
            by_family = {fam: c["accuracy"]["value"] for fam, c in cells.items()}
            state.log_history.append({"step": state.global_step, "eval_accuracy": cell["accuracy"]["value"],
                                      **{f"eval_accuracy/{fam}": v for fam, v in by_family.items()},
                                      "eval_answer_rate": cell["answer_rate"]["value"],
                                      "eval_format_rate": cell["format_rate"]["value"],
                                      **({"eval_reasoning_accuracy": reasoning["accuracy"]["value"],
                                          "eval_reasoning_format_rate": reasoning["format_rate"]["value"]}
                                         if reasoning else {}),
                                      "train_seconds": time.perf_counter() - self.t0,
                                      "eval_seconds": time.perf_counter() - t0})
            families = "".join(f", {fam} {v:.2f}" for fam, v in by_family.items())
            asked = (f"; reasoning prompts {reasoning['accuracy']['value']:.3f}, format "
                     f"{reasoning['format_rate']['value']:.2f}" if reasoning else "")
            print(f"step {state.global_step}: held-out accuracy {cell['accuracy']['value']:.3f} "
                  f"({cfg.eval_split}, {cell['n']} questions{families}{asked})", flush=True)
            passed = clock and clock.check_gate(state.global_step, by_family,
                                                {fam: c["n"] for fam, c in cells.items()})
            if passed:
                print(passed, flush=True)
                state.log_history.append({"step": state.global_step, "curriculum_gate": passed,
                                          "curriculum_starts": clock.starts()})
            if self.best is not None:  # after the gate: a check that ends a phase is not the next phase's
                self.best.offer(state.global_step, cell["accuracy"]["value"], clock.starts()[-1] if clock else 0)

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            self.t0 = time.perf_counter()
            if state.global_step == 0:
                self._measure(state, model)

        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step % cfg.eval_every == 0:
                self._measure(state, model)

        def on_train_end(self, args, state, control, model=None, **kwargs):
            checks = [h for h in state.log_history if "eval_accuracy" in h]  # the log history survives a resume
            if self.best is not None and checks and checks[-1]["step"] != state.global_step:
                self._measure(state, model)  # keep_best compares the saved model's own check, not one before it
                checks = [h for h in state.log_history if "eval_accuracy" in h]
            if not checks:
                return
            last = saved = checks[-1]  # the check of the model the run saves
            best = self.best
            if best is not None and best.score is not None and last["eval_accuracy"] < best.score - FORGOT_GAP:
                best.restore()
                saved = next(h for h in reversed(checks) if h["step"] == best.step)
                print(f"keep_best: the last held-out check (step {last['step']}) answered {last['eval_accuracy']:.1%}, "
                      f"down from {saved['eval_accuracy']:.1%} at step {saved['step']} of the last phase: the run "
                      f"saves step {saved['step']}'s weights", flush=True)
                state.log_history.append({"step": state.global_step, "kept_check_step": saved["step"],
                                          "kept_check_accuracy": saved["eval_accuracy"],
                                          "last_check_accuracy": last["eval_accuracy"]})
            top = max(checks, key=lambda h: h["eval_accuracy"])
            if saved["eval_accuracy"] < top["eval_accuracy"] - FORGOT_GAP:
                fam = max((k for k in saved if k.startswith("eval_accuracy/")),
                          key=lambda k: top.get(k, 0.0) - saved[k], default=None)  # the family that fell most
                which = (f" (most on {fam.split('/', 1)[1]}: {top[fam]:.0%} -> {saved[fam]:.0%})"
                         if fam and top.get(fam, 0.0) > saved[fam] else "")
                print(f"warning: the saved model answered {saved['eval_accuracy']:.1%} at its held-out check (step "
                      f"{saved['step']}), down from {top['eval_accuracy']:.1%} at step {top['step']}{which}: the run's "
                      f"end undid what it had learned; the Trainer checkpoint nearest step {top['step']} under "
                      f"{args.output_dir if args else 'the output folder'} holds the better (docs/training-log.md: "
                      f"a family flipped in the anneal)", flush=True)
            # the saved model's last check that asked both prompts
            both = next((h for h in reversed(checks) if h["step"] <= saved["step"] and "eval_reasoning_accuracy" in h),
                        None)
            if both is None:
                return
            direct, reasoning = both["eval_accuracy"], both["eval_reasoning_accuracy"]
            if reasoning < direct - COLD_START_GAP:
                print(f"warning: at the saved model's last check (step {both['step']}) the reasoning prompts answered "
                      f"{reasoning:.1%} and the direct ones {direct:.1%}: the hybrid cold start did not take "
                      f"(docs/training-log.md: the cold start checks itself); evaluate with --prompt-style reasoning "
                      f"before GRPO", flush=True)

    return HeldOutAccuracy()


def time_limit_callback(seconds: float):
    """A TrainerCallback that ends training after ``seconds`` of it; the run then saves as if it had finished.

    For time-boxed comparisons (bench/sweep.py) and for "train for 10 minutes" on a shared machine.
    """
    from transformers import TrainerCallback

    class TimeLimit(TrainerCallback):
        t0 = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if time.perf_counter() - self.t0 >= seconds:
                control.should_training_stop = True
                control.should_save = True
            return control

    return TimeLimit()


def training_callbacks(cfg, processor, clock=None, model=None) -> list:
    """The held-out accuracy log (with ``keep_best``, over ``model``'s weights), the time limit and a curriculum's
    ``clock`` (optimiser resets, gates, its end), where the config asks for them."""
    # held-out accuracy reads cfg.dataset, whose families are the question families; an extra dataset's own
    # family (a sanity rung such as hue_turn) may be trained on but has no held-out questions there
    from .questions import ALL_FAMILIES

    families = [f for f in cfg.families or [] if f in ALL_FAMILIES] or None
    callbacks = [accuracy_callback(cfg, processor, families, clock, model)] if cfg.eval_every > 0 else []
    if cfg.time_limit_s:
        callbacks.append(time_limit_callback(cfg.time_limit_s))
    if clock is not None:
        from .curriculum import curriculum_callback

        callbacks.append(curriculum_callback(cfg, clock))
    return callbacks


def default_data_workers() -> int:
    """DataLoader workers for SFT: none on a CPU host (they would take cores from the training threads);
    on a GPU host, up to 4. Images go through Qwen's processor in the collator, on the CPU: on an H100,
    runs with 2 workers each were bound by it, not by the GPU (README, SFT sweeps)."""
    import os

    import torch

    return min(4, max(0, (os.cpu_count() or 1) // 2)) if torch.cuda.is_available() else 0


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (oneDNN's check: avx512_bf16 or AMX), where bf16 autocast is
    faster than fp32 (1.23-1.33x the tiny preset's SFT steps/s on this machine's avx512_bf16, bench/precision.py)."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def check_bf16(bf16) -> None:
    if bf16 not in (None, True, False, "auto"):
        raise ValueError(f"bf16 is true, false, auto (bf16 autocast where the hardware multiplies bf16 natively) or "
                         f"unset (on a GPU when the weights are bf16); got {bf16!r}")


def _device_flags(model, config_cls, checkpointing: bool, bf16: bool | str | None = None) -> dict:
    """Trainer arguments for the device, and activation checkpointing as the run config says. ``bf16``: the run
    config's (None: autocast on a GPU when the weights are bf16; "auto": where the hardware multiplies bf16).

    TRL's configs turn checkpointing on by default; ``load_model`` already set it up (non-reentrant) where
    the run asks for it, and elsewhere (the tiny preset) it only recomputes every forward pass. The name is
    ``activation_checkpointing`` from transformers 5.2x on (the old one warns), ``gradient_checkpointing`` before.
    """
    import dataclasses

    import torch

    gpu = torch.cuda.is_available()
    dtype = getattr(model, "dtype", None)
    name = ("activation_checkpointing" if "activation_checkpointing" in {f.name for f in dataclasses.fields(config_cls)}
            else "gradient_checkpointing")
    if bf16 == "auto":
        autocast = bool(torch.cuda.is_bf16_supported()) if gpu else cpu_has_bf16()
        device = "this GPU" if gpu else "this CPU"
        why = "" if gpu else ": no avx512_bf16 or AMX"
        print(f"bf16: auto -> bf16 autocast ({device} multiplies bf16 natively)" if autocast else
              f"bf16: auto -> fp32 ({device} does not multiply bf16 natively{why})", flush=True)
    else:
        autocast = bool(gpu and dtype == torch.bfloat16) if bf16 is None else bf16
    if autocast and not gpu and not cpu_has_bf16():
        print("warning: bf16 autocast on a CPU without bf16 instructions (avx512_bf16, AMX) is emulated, about 16x "
              "slower than fp32 (bench/precision.py on an AVX2 CPU): set bf16: auto or false (actial train: --no-bf16)",
              flush=True)
    return {"use_cpu": not gpu, "bf16": autocast, "fp16": False, name: checkpointing}


def load_for_training(cfg) -> tuple:
    """(model, processor, lora) for an SFT or GRPO run config: threads, preset's LoRA default, checkpointing,
    fast paths."""
    import torch

    from .fastpath import compact_lm_head
    from .presets import get_preset, load_model

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    lora = get_preset(cfg.preset).lora if cfg.lora is None else cfg.lora
    model, processor = load_model(cfg.model, cfg.preset, lora=lora, dtype=getattr(cfg, "dtype", None),
                                  gradient_checkpointing=cfg.gradient_checkpointing, fast_paths=cfg.fast_paths)
    compact_lm_head(cfg.fast_paths)
    return model, processor, lora


def train_split(cfg, kind: str, extra_datasets: list[str] | None = None, tag: bool = False,
                direct_think: str | None = None, grpo_style: str = "reasoning"):
    """The train split of ``cfg.dataset`` and every ``cfg.extra_datasets`` (or ``extra_datasets``), as one TRL
    dataset (SFT and GRPO). ``tag``: add a ``source_dataset`` column naming each row's dataset directory.
    ``direct_think``: the direct answers' form (default ``cfg.direct_think``; GRPO's prompts hold no answer).
    ``grpo_style``: what GRPO's prompts ask for, ``reasoning`` or ``direct``."""
    import datasets

    from .interchange import to_trl

    dirs = [cfg.dataset, *(cfg.extra_datasets if extra_datasets is None else extra_datasets)]
    think = direct_think or getattr(cfg, "direct_think", "answer")
    parts = [to_trl(d, split="train", kind=kind, direct_think=think, grpo_style=grpo_style,
                    reasoning_think=getattr(cfg, "reasoning_think", "prose")) for d in dirs]
    limit = getattr(cfg, "extra_rows", None)
    if limit is not None:  # e.g. replay: as many old rows as new ones, not the whole old dataset
        parts[1:] = [p.shuffle(seed=cfg.seed).select(range(min(limit, len(p)))) for p in parts[1:]]
    if tag:
        parts = [p.add_column("source_dataset", [str(d)] * len(p)) for p, d in zip(parts, dirs)]
    return datasets.concatenate_datasets(parts) if len(parts) > 1 else parts[0]


def _resumable(out: Path) -> bool:
    """Whether a run in ``out`` left a Trainer checkpoint to resume from."""
    return any((out / "trainer").glob("checkpoint-*"))


def restore_checkpoint_weights(model, trainer_dir: Path) -> None:
    """Load the last Trainer checkpoint's weights into ``model`` (a full model, not LoRA adapters).

    Trainer's own resume reads ``model.safetensors`` without transformers' key mapping, and Qwen2.5-VL saves
    its weights under other names than its modules carry (``visual.*`` for ``model.visual.*``): it warns about
    missing keys and restores none, so the run went on from the weights it started with (found in session 14:
    a run resumed at step 1,000 fell from 73% to 51%). ``from_pretrained`` applies the mapping."""
    from transformers import AutoModelForImageTextToText
    from transformers.trainer_utils import get_last_checkpoint

    last = get_last_checkpoint(str(trainer_dir))
    saved = AutoModelForImageTextToText.from_pretrained(last, dtype=model.dtype)
    model.load_state_dict(saved.state_dict(), strict=True)
    # Trainer then tries its own load and warns that every key is missing: true of its loader, not the model
    print(f"resuming: weights restored from {last} (a warning from Trainer about missing keys that follows "
          "is about its own loader; the model holds the checkpoint's weights)", flush=True)


def train_and_save(trainer, processor, cfg, stage: str, lora: bool, extra: dict) -> Path:
    """Train (resuming from the last Trainer checkpoint in the output directory), merge LoRA, save a checkpoint."""
    import torch

    out = Path(cfg.output_dir)
    resume = _resumable(out)
    if resume and not lora:  # LoRA: Trainer restores the adapter weights itself
        restore_checkpoint_weights(trainer.model, out / "trainer")
    tail = None
    if cfg.average_from_step is not None:
        from .average import tail_average_callback

        from transformers.integrations import is_deepspeed_zero3_enabled

        if getattr(trainer, "is_fsdp_enabled", False) or is_deepspeed_zero3_enabled():
            raise ValueError("average_from_step needs every process to hold whole parameters (one process, DDP or "
                             "ZeRO-2); FSDP and ZeRO-3 shard them. Save checkpoints instead (save_steps) and "
                             "average them with `actial model average`")
        tail = tail_average_callback(trainer.model, cfg.average_from_step)
        trainer.add_callback(tail)
    t0 = time.perf_counter()
    trainer.train(resume_from_checkpoint=True if resume else None)
    seconds = time.perf_counter() - t0
    if tail is not None:
        extra = {**extra, "tail_average": tail.apply()}
    final = trainer.model.merge_and_unload() if lora else trainer.model  # vLLM serves merged weights (DESIGN.md)
    return save_checkpoint(final, processor, out, stage=stage, preset=cfg.preset, base_model=cfg.model,
                           dataset=cfg.dataset, train_config=dataclasses.asdict(cfg),
                           log_history=trainer.state.log_history,
                           extra={"train_seconds": seconds, "resumed": resume, "threads": torch.get_num_threads(),
                                  "bf16_autocast": bool(trainer.args.bf16), **extra})


def run_sft(cfg: SFTRunConfig) -> Path:
    """Train, save a servable checkpoint in ``cfg.output_dir``, return its path."""
    from trl import SFTConfig, SFTTrainer

    if cfg.eval_every > 0:  # before minutes of loading, not at the first check
        from .dataset import DatasetError
        from .interchange import _check_split

        try:
            _check_split(Path(cfg.dataset), cfg.eval_split)
        except DatasetError as e:
            raise DatasetError(f"{e}: the held-out checks (eval_every) read eval_split {cfg.eval_split!r}; set "
                               f"it to one of those. (The horizon recipe's data from before session 31 names "
                               f"p3_horizon's validation split 'test': `actial data horizon --overwrite` rewrites "
                               f"it.)") from None

    model, processor, lora = load_for_training(cfg)
    out = Path(cfg.output_dir)
    warmup_log = []
    if cfg.vision_warmup_steps > 0 and not _resumable(out):  # a resumed run's checkpoint already holds the warmed tower
        from .warmup import vision_warmup

        warmup_log = vision_warmup(model, processor, cfg.dataset, steps=cfg.vision_warmup_steps,
                                   batch_size=cfg.batch_size, lr=cfg.vision_warmup_lr, seed=cfg.seed)
    if cfg.freeze_vision:
        for name, p in model.named_parameters():
            if ".visual." in f".{name}":
                p.requires_grad_(False)
    rng = np.random.default_rng(cfg.seed)
    clock = sampler = None
    if cfg.curriculum:
        import datasets

        from .curriculum import (curriculum_datasets, curriculum_indices, curriculum_sampler, curriculum_thinks,
                                 resumed_clock, rows_per_step)

        thinks = curriculum_thinks(cfg)  # phases that think differently read their own copy of the rows
        parts = [train_split(cfg, "sft", curriculum_datasets(cfg), tag=True, direct_think=t) for t in thinks]
        parts = [p.add_column("direct_think", [t] * len(p)) for p, t in zip(parts, thinks)]
        train = datasets.concatenate_datasets(parts) if len(parts) > 1 else parts[0]
        # plain lists: indexing a datasets Column row by row reads the table once per row (minutes at 30k rows)
        cols = train.select_columns(["prompt_style", "family", "source_dataset", "direct_think"]).to_dict()
        idx = curriculum_indices(cols["prompt_style"], cols["family"], cols["source_dataset"], cfg, rng,
                                 cols["direct_think"] if len(thinks) > 1 else None)
        train = train.select(idx).remove_columns(["source_dataset", "direct_think"])
        # the rows are laid out phase by phase; the clock says how far into each the run is (its gates)
        clock = resumed_clock(cfg, out / "trainer")
        sampler = curriculum_sampler(clock, rows_per_step(cfg))
    else:
        train = train_split(cfg, "sft")
        cols = train.select_columns(["prompt_style", "family"]).to_dict()
        idx = hybrid_indices(cols["prompt_style"], cols["family"], cfg.reasoning_ratio, rng,
                             set(cfg.families) if cfg.families else None, cfg.max_train_samples)
        train = train.select(idx)
    train = train.add_column("length", length_keys(train["prompt_style"]))
    args = dict(
        output_dir=str(out / "trainer"), num_train_epochs=cfg.epochs,
        max_steps=sum(clock.steps) if clock else cfg.max_steps,
        learning_rate=cfg.learning_rate, per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum, warmup_steps=cfg.warmup_steps, lr_scheduler_type=cfg.lr_scheduler,
        weight_decay=cfg.weight_decay, max_grad_norm=cfg.max_grad_norm, logging_steps=cfg.logging_steps,
        save_steps=cfg.save_steps, save_total_limit=cfg.save_total_limit, seed=cfg.seed, report_to="none",
        assistant_only_loss=True, max_length=None, dataloader_num_workers=default_data_workers(), disable_tqdm=False,
        # a curriculum's rows are already in their order (its sampler reads them phase by phase)
        train_sampling_strategy="sequential" if cfg.curriculum else "group_by_length",
        **_device_flags(model, SFTConfig, cfg.gradient_checkpointing, cfg.bf16))
    args = SFTConfig(**{**args, **cfg.extra})  # extra wins: e.g. dataloader_num_workers on a many-core GPU host
    callbacks = training_callbacks(cfg, processor, clock, model) or None
    if clock is not None:
        from .curriculum import curriculum_lr_multipliers

        trainer_cls = _sft_trainer_class(SFTTrainer, curriculum_lr_multipliers(cfg, clock), sampler)
    else:
        trainer_cls = _sft_trainer_class(SFTTrainer)
    trainer = trainer_cls(model=model, args=args, train_dataset=train, processing_class=processor, callbacks=callbacks)
    return train_and_save(trainer, processor, cfg, "sft", lora, {"train_samples": len(train),
                                                                 "vision_warmup_log": warmup_log})


def smoke_checkpoint(root: str | Path, steps: int = 40, n_pairs: int = 80) -> tuple[Path, Path]:
    """(checkpoint, dataset): a tiny model after ``steps`` real SFT steps on a small fixed-order dataset.

    It has learned the answer format, not the task: enough to test and benchmark serving, clients and
    robot nodes with real model outputs (an untrained model emits byte soup) in under a minute.
    """
    from .engine import GeneratorConfig, generate
    from .presets import build_tiny, dataset_texts

    root = Path(root)
    data = root / "data"
    generate(GeneratorConfig(n_pairs=n_pairs, rows_per_shard=n_pairs, image_size=112, views_per_scene=6,
                             reasoning_share=0.0, shuffle_options=False,
                             families={"ego_translation": 1.0, "ego_rotation": 1.0}), data, show_progress=False)
    tiny = build_tiny(root / "tiny", dataset_texts(data))
    ckpt = run_sft(SFTRunConfig(model=str(tiny), dataset=str(data), output_dir=str(root / "sft"), reasoning_ratio=0.0,
                                max_steps=steps, batch_size=8, learning_rate=3e-3, warmup_steps=5, logging_steps=10,
                                save_steps=1000, threads=2))
    return ckpt, data
