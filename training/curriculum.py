"""A curriculum: one SFT run in phases (``SFTRunConfig.curriculum``; docs/training-log.md: one run).

Each phase trains on its own rows (its families, extra datasets, hybrid mix and ``direct_think`` forms) for
at most its ``steps``. A phase may start a new lr cycle (``lr``, ``warmup_steps``, ``lr_scheduler``), drop
Adam's state (``reset_optimizer``), and end early once its families together answer at least
``until_accuracy`` of their held-out questions (its gate; checked every ``eval_every`` steps).

The rows are laid out once, phase after phase, each phase's block long enough for all its steps.
``CurriculumClock`` knows where each phase starts as the run goes; the sampler, the lr schedule and the
optimiser resets all read it, so a phase that passes its gate moves every later phase forward together.
A Trainer checkpoint holds the clock, so a resumed run replays the same phases.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from pathlib import Path

import numpy as np

# a phase that sets any of these starts a new cycle of the lr schedule (curriculum_lr_multipliers)
CYCLE_KEYS = ("lr", "warmup_steps", "lr_scheduler")
PHASE_KEYS = ("steps", "families", "extra_datasets", "reasoning_ratio", "direct_think", *CYCLE_KEYS,
              "reset_optimizer", "until_accuracy")
_SHAPES = {"cosine": lambda t: 0.5 * (1 + math.cos(math.pi * t)), "linear": lambda t: 1 - t,
           "constant": lambda t: 1.0, "constant_with_warmup": lambda t: 1.0}
# steps from a passed gate to the next phase's first step: more than the data loader fetches ahead
# (workers x prefetch factor, at most 4 x 2 batches, and accelerate's one-batch look-ahead), so every row
# of the next phase is drawn after the clock has moved
GATE_LAG = 10
CLOCK_FILE = "curriculum_clock.json"


def rows_per_step(cfg) -> int:
    """Rows one optimiser step reads, across all processes."""
    return cfg.batch_size * cfg.grad_accum * int(os.environ.get("WORLD_SIZE", "1"))


def validate_curriculum(cfg) -> None:
    """Clear errors for a phase's unknown keys and for gates the run cannot check."""
    from .questions import ALL_FAMILIES

    unknown = sorted({k for phase in cfg.curriculum for k in phase} - set(PHASE_KEYS))
    if unknown:
        raise ValueError(f"a curriculum phase takes {', '.join(sorted(PHASE_KEYS))}; got {', '.join(unknown)}")
    for k, phase in enumerate(cfg.curriculum):
        if "until_accuracy" not in phase:
            continue
        if cfg.eval_every <= 0:
            raise ValueError(f"curriculum phase {k + 1} has until_accuracy, which the held-out accuracy checks: "
                             f"set eval_every > 0")
        if not 0.0 < float(phase["until_accuracy"]) <= 1.0:
            raise ValueError(f"curriculum phase {k + 1}: until_accuracy is a share of questions in (0, 1], "
                             f"got {phase['until_accuracy']}")
        if phase.get("families") and not gate_families(phase, cfg):
            raise ValueError(f"curriculum phase {k + 1}: until_accuracy needs one of its families to have held-out "
                             f"questions ({', '.join(ALL_FAMILIES)}); it has {', '.join(phase['families'])}")


def gate_families(phase: dict, cfg) -> list[str]:
    """The families a phase's gate reads: its question families (a sanity rung has no held-out questions
    in ``cfg.dataset``); empty for a phase of every family."""
    from .questions import ALL_FAMILIES

    return [f for f in phase.get("families") or cfg.families or [] if f in ALL_FAMILIES]


def curriculum_datasets(cfg) -> list[str]:
    """Every extra dataset directory some phase of ``cfg.curriculum`` reads (the run's, then the phases' own)."""
    dirs = list(cfg.extra_datasets)
    for phase in cfg.curriculum:
        dirs += [str(d) for d in phase.get("extra_datasets", []) if str(d) not in dirs]
    return dirs


def _phase_thinks(phase: dict, cfg) -> list[str]:
    """A curriculum phase's ``direct_think`` forms: its own (one form, or a list of forms it mixes, each row
    once in each), default the run's."""
    think = phase.get("direct_think", cfg.direct_think)
    return [str(t) for t in think] if isinstance(think, (list, tuple)) else [str(think)]


def phase_reasoning_ratio(phase: dict, cfg) -> float:
    """A curriculum phase's share of reasoning rows: its own, default the run's."""
    return float(phase.get("reasoning_ratio", cfg.reasoning_ratio))


def curriculum_thinks(cfg) -> list[str]:
    """The ``direct_think`` forms a curriculum's phases train on."""
    return sorted({t for phase in cfg.curriculum for t in _phase_thinks(phase, cfg)})


def curriculum_indices(styles: list[str], families: list[str], sources: list[str], cfg,
                       rng: np.random.Generator, thinks: list[str] | None = None) -> list[int]:
    """Row indices for ``cfg.curriculum``, the phases in order, each phase's block ``steps`` long.

    Each phase: the hybrid mix (its ``reasoning_ratio``, default the run's) of its families' rows from
    ``cfg.dataset`` and its extra datasets (default: the run's), shuffled, repeated or cut to exactly its
    steps' worth of rows. ``sources``: each row's dataset directory. ``thinks``: each row's ``direct_think``
    form, where the rows hold more than one (a phase then reads its own forms' rows only).
    """
    from .sft import hybrid_indices

    validate_curriculum(cfg)
    per_step = rows_per_step(cfg)
    out: list[int] = []
    for k, phase in enumerate(cfg.curriculum):
        allowed = set(phase.get("families") or cfg.families or []) or None
        reads = {str(cfg.dataset), *map(str, phase.get("extra_datasets", cfg.extra_datasets))}
        forms = set(_phase_thinks(phase, cfg))
        rows = [i for i, src in enumerate(sources) if src in reads and (thinks is None or thinks[i] in forms)]
        try:
            mix = hybrid_indices([styles[i] for i in rows], [families[i] for i in rows],
                                 phase_reasoning_ratio(phase, cfg), rng, allowed)
        except ValueError as e:
            raise ValueError(f"curriculum phase {k + 1} (families {sorted(allowed or [])}): {e}") from None
        want = int(phase["steps"]) * per_step
        reps = -(-want // len(mix))
        out += [rows[i] for _ in range(reps) for i in rng.permutation(mix).tolist()][:want]
    return out


class CurriculumClock:
    """Where each phase starts and ends as the run goes: as planned (``steps`` each), except that a phase
    whose gate passed ends where ``check_gate`` put it, and the later phases follow it."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.steps = [int(phase["steps"]) for phase in cfg.curriculum]
        self.ends: dict[int, int] = {}  # phase index -> the step it ends at, for phases that passed their gate

    def bounds(self) -> list[tuple[int, int]]:
        """(first step, end step) of each phase."""
        out, at = [], 0
        for k, n in enumerate(self.steps):
            out.append((at, self.ends.get(k, at + n)))
            at = out[-1][1]
        return out

    def starts(self) -> list[int]:
        return [a for a, _ in self.bounds()]

    def total(self) -> int:
        """The step the run ends at."""
        return self.bounds()[-1][1]

    def phase_at(self, step: int) -> int:
        """The phase the optimiser step numbered ``step`` (0-based) belongs to; the last one past the end."""
        return next((k for k, (a, b) in enumerate(self.bounds()) if a <= step < b), len(self.steps) - 1)

    def check_gate(self, step: int, accuracy: dict[str, float], counts: dict[str, int] | None = None) -> str | None:
        """After ``step`` steps, with held-out ``accuracy`` (and question ``counts``, default equal) by family:
        end the current phase ``GATE_LAG`` steps on if its gate passes; returns what happened, for the log
        (None when nothing did).

        The gate reads the phase's families pooled. A model that answers one family by its prior (~50%)
        cannot pass a gate of 0.98 over three, and pooling keeps the check's noise down: with 300 questions,
        about 95 per family, a minimum over families at 0.98 allowed one error per family, so a model at
        98.5% everywhere passed about one check in five (session 16's first benchmark run sat at 99% for 400
        steps with one family at 97.9%); pooled, about three in four."""
        if step <= 0:
            return None
        k = self.phase_at(step - 1)  # the phase the last step trained
        phase = self.cfg.curriculum[k]
        first, end = self.bounds()[k]
        if "until_accuracy" not in phase or k in self.ends or step + GATE_LAG >= end:
            return None
        fams = gate_families(phase, self.cfg) or sorted(accuracy)
        seen = {f: accuracy[f] for f in fams if f in accuracy}
        need = float(phase["until_accuracy"])
        weight = {f: (counts or {}).get(f, 1) for f in seen}
        pooled = sum(seen[f] * weight[f] for f in seen) / max(1, sum(weight.values()))
        if not seen or pooled < need:
            return None
        self.ends[k] = step + GATE_LAG
        got = ", ".join(f"{f} {v:.3f}" for f, v in seen.items())
        return (f"curriculum phase {k + 1} passed its gate at step {step} ({pooled:.3f} >= {need}: {got}) after "
                f"{step - first} of its {self.steps[k]} steps; it ends at step {self.ends[k]}")

    def save(self, directory: str | Path) -> None:
        Path(directory, CLOCK_FILE).write_text(json.dumps({"ends": self.ends, "bounds": self.bounds()}))

    def load(self, directory: str | Path) -> bool:
        """The ends a Trainer checkpoint recorded; False when it holds none (a run without gates passed)."""
        path = Path(directory, CLOCK_FILE)
        if not path.exists():
            return False
        self.ends = {int(k): int(v) for k, v in json.loads(path.read_text())["ends"].items()}
        return True


def curriculum_sampler(clock: CurriculumClock, per_step: int):
    """A torch Sampler over the curriculum's rows (laid out by ``curriculum_indices``): phase k's block from
    its first row, for as long as ``clock`` says phase k runs. It reads the clock row by row, so a gate
    passed mid-run redirects the rows the data loader has not fetched yet."""
    from torch.utils.data import Sampler

    offsets = list(itertools.accumulate((n * per_step for n in clock.steps), initial=0))

    class CurriculumSampler(Sampler):
        def __len__(self):
            return offsets[-1]

        def __iter__(self):
            for row in range(offsets[-1]):
                step = row // per_step
                if step >= clock.total():
                    return
                k = clock.phase_at(step)
                yield offsets[k] + row - clock.starts()[k] * per_step

    return CurriculumSampler()


def curriculum_lr_multipliers(cfg, clock: CurriculumClock | None = None):
    """The lr schedule of a curriculum whose phases restart it, as ``step -> multiplier of cfg.learning_rate``;
    None when no phase sets ``lr``, ``warmup_steps`` or ``lr_scheduler`` (then Trainer's own schedule spans the run).

    A phase that sets one of them starts a new cycle: ``warmup_steps`` of linear warm-up to the peak ``lr``,
    then the ``lr_scheduler`` shape (cosine, linear, constant) over the cycle's planned steps, each key
    defaulting to the run's. A cycle starts where ``clock`` says its first phase starts; one cut short by a
    gate stops where it is. The motion-chain path that reached 99% ran a constant-lr phase 1, then two
    cosine cycles (docs/training-log.md: the motion chain).
    """
    if not any(k in phase for phase in cfg.curriculum for k in CYCLE_KEYS):
        return None
    clock = clock or CurriculumClock(cfg)
    cycles = []  # (first phase, planned steps, warm-up steps, peak lr, shape)
    for k, phase in enumerate(cfg.curriculum):
        if k == 0 or any(key in phase for key in CYCLE_KEYS):
            name = phase.get("lr_scheduler", cfg.lr_scheduler)
            if name not in _SHAPES:
                raise ValueError(f"curriculum phase {k + 1}: a curriculum that restarts its lr takes lr_scheduler "
                                 f"{', '.join(_SHAPES)}; got {name!r}")
            cycles.append([k, 0, int(phase.get("warmup_steps", cfg.warmup_steps)),
                           float(phase.get("lr", cfg.learning_rate)), _SHAPES[name]])
        cycles[-1][1] += int(phase["steps"])

    def multiplier(step: int) -> float:
        starts = clock.starts()
        first, n, warm, peak, shape = next(c for c in reversed(cycles) if step >= starts[c[0]])
        t, scale = step - starts[first], peak / cfg.learning_rate
        if t < warm:  # as transformers' schedules: 0 at a cycle's first step
            return scale * t / warm
        return scale * shape(min(1.0, (t - warm) / max(1, n - warm)))

    return multiplier


def optimizer_resets(cfg, clock: CurriculumClock | None = None) -> list[int]:
    """The steps (optimiser steps done) at which a phase with ``reset_optimizer: true`` starts.

    There Adam's moments and step counts are dropped, as when a new run starts from the last checkpoint:
    the 99% motion-chain path was three runs, each with a fresh optimiser (docs/training-log.md: the motion chain).
    """
    starts = (clock or CurriculumClock(cfg)).starts()
    return [start for phase, start in zip(cfg.curriculum, starts) if phase.get("reset_optimizer") and start]


def curriculum_callback(cfg, clock: CurriculumClock):
    """A TrainerCallback that runs the clock: clears the optimiser's state before the first step of each
    phase with ``reset_optimizer`` (a resumed run loads its checkpoint's state, then clears it here too if
    it resumes on a boundary), ends the run where the clock ends it, and saves the clock with each checkpoint."""
    from transformers import TrainerCallback

    class RunCurriculum(TrainerCallback):
        def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
            if state.global_step in optimizer_resets(cfg, clock) and optimizer is not None:
                optimizer.state.clear()  # torch's Adam(W) starts a parameter afresh when it finds no state

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= clock.total():
                control.should_training_stop = True
            return control

        def on_save(self, args, state, control, **kwargs):
            ckpt = Path(args.output_dir, f"checkpoint-{state.global_step}")
            if ckpt.is_dir():
                clock.save(ckpt)

    return RunCurriculum()


def resumed_clock(cfg, trainer_dir: str | Path) -> CurriculumClock:
    """A clock for a run in ``trainer_dir``: as its last Trainer checkpoint left it, or as planned."""
    from transformers.trainer_utils import get_last_checkpoint

    clock = CurriculumClock(cfg)
    last = get_last_checkpoint(str(trainer_dir)) if Path(trainer_dir).is_dir() else None
    if last:
        clock.load(last)
    return clock
