"""GRPO on TRL's GRPOTrainer: stage 2 of the paper's recipe.

Rewards: 0.5 x format (exactly one ``<think>`` then one ``<answer>`` block) + 0.5 x accuracy (exact
letter; numeric answers within the tolerance), the paper's weighting, implemented in
training/rewards.py; ``motion_weight`` adds a reward for the chain's motion words (ours, off by default).
Prompts ask for reasoning; ``direct_ratio`` asks that share of them for a direct answer instead (SFT's
form, which GRPO would otherwise leave untrained and could unlearn). The question mix is broader than SFT's:
every family in the dataset (plus any SAT-style import passed as ``extra_datasets``). On GPUs ``use_vllm``
generates rollouts in a colocated vLLM engine; on a CPU TRL's own generate is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sim_envs.config import FromDict

from .sft import check_bf16, train_and_save


@dataclass
class GRPORunConfig(FromDict):
    model: str = ""  # usually the SFT checkpoint
    dataset: str = ""
    extra_datasets: list[str] = field(default_factory=list)  # e.g. an imported SAT-style dataset
    output_dir: str = "outputs/grpo"
    preset: str = "tiny"
    families: list[str] | None = None
    direct_ratio: float = 0.0  # share of prompts asking for a direct answer (as SFT's rows do); the rest ask to reason
    max_train_samples: int | None = None
    learning_rate: float = 1e-6
    num_generations: int = 16  # rollouts per prompt (paper: 16)
    prompts_per_step: int = 2  # prompts per optimisation step; batch = prompts_per_step * num_generations
    beta: float = 0.01  # KL loss coefficient (paper: 0.01)
    epsilon: float = 0.2  # clip range (paper: 0.2)
    format_weight: float = 0.5
    accuracy_weight: float = 0.5
    # > 0 adds rewards.motion_reward (the chain's motion words against the row's true motion; not the paper's):
    # a group whose letters are all right can still vary in whether each completion read the images right
    motion_weight: float = 0.0
    temperature: float = 1.0
    max_completion_length: int = 128
    epochs: float = 1.0
    max_steps: int = -1
    warmup_steps: int = 0
    logging_steps: int = 5
    save_steps: int = 100
    save_total_limit: int = 2
    seed: int = 0
    # save the mean of the weights after every step from this one on (training/average.py), not the last step's
    average_from_step: int | None = None
    lora: bool | None = None
    gradient_checkpointing: bool = False
    use_vllm: bool = False  # GPUs: colocated vLLM rollouts
    # keep only questions the starting model answers right sometimes and wrong sometimes (training/difficulty.py):
    # {samples, min_pass, max_pass, max_questions, ...} of difficulty.PassRateFilter; None: every question
    pass_rate_filter: dict | None = None
    threads: int | None = None
    bf16: bool | str | None = None  # bf16 autocast, as SFTRunConfig.bf16 (None: on a GPU when the weights are bf16)
    fast_paths: bool = True  # as SFTRunConfig.fast_paths (training/fastpath.py)
    extra: dict = field(default_factory=dict)  # passed to trl.GRPOConfig as is, overriding ours

    def __post_init__(self):  # when the YAML is read, not after the model and data have loaded
        from .average import check_from_step

        check_from_step(self.average_from_step)
        check_bf16(self.bf16)
        if not 0.0 <= self.direct_ratio <= 1.0:
            raise ValueError(f"direct_ratio is a share of the prompts, between 0 and 1; got {self.direct_ratio}")


def prompt_mix(cfg: GRPORunConfig, tag: bool = False):
    """The train split's prompts: a seeded ``direct_ratio`` share of the rows ask for a direct answer, the rest
    for reasoning (each row once, in one style). ``tag``: a ``source_dataset`` column names each row's dataset."""
    import datasets
    import numpy as np

    from .sft import train_split

    reasoning = train_split(cfg, "grpo", tag=tag)
    n_direct = round(cfg.direct_ratio * len(reasoning))
    if n_direct == 0:
        return reasoning
    order = np.random.default_rng(cfg.seed).permutation(len(reasoning))
    direct = train_split(cfg, "grpo", tag=tag, grpo_style="direct").select(np.sort(order[:n_direct]))
    return datasets.concatenate_datasets([direct, reasoning.select(np.sort(order[n_direct:]))])


def run_grpo(cfg: GRPORunConfig) -> Path:
    from trl import GRPOConfig, GRPOTrainer

    from .rewards import accuracy_reward, format_reward, motion_reward
    from .sft import _device_flags, load_for_training

    model, processor, lora = load_for_training(cfg)
    out = Path(cfg.output_dir)
    filt = pass_rate_filter(cfg)
    train = prompt_mix(cfg, tag=filt is not None)
    if cfg.families:
        keep = set(cfg.families)
        train = train.filter(lambda f: f in keep, input_columns="family")
    extra = {}
    if filt is not None:
        train, extra["pass_rate_filter"] = _filter_by_pass_rate(train, cfg, filt, model, processor)
    train = train.shuffle(seed=cfg.seed)
    if cfg.max_train_samples:
        train = train.select(range(min(cfg.max_train_samples, len(train))))
    batch = cfg.prompts_per_step * cfg.num_generations
    rewards = [(format_reward, cfg.format_weight), (accuracy_reward, cfg.accuracy_weight)]
    rewards += [(motion_reward, cfg.motion_weight)] if cfg.motion_weight else []
    args = dict(
        output_dir=str(out / "trainer"), learning_rate=cfg.learning_rate, num_generations=cfg.num_generations,
        per_device_train_batch_size=batch, generation_batch_size=batch, beta=cfg.beta, epsilon=cfg.epsilon,
        reward_weights=[w for _, w in rewards], temperature=cfg.temperature,
        max_completion_length=cfg.max_completion_length, num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        warmup_steps=cfg.warmup_steps, logging_steps=cfg.logging_steps, save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit, seed=cfg.seed, report_to="none", use_vllm=cfg.use_vllm,
        **({"vllm_mode": "colocate"} if cfg.use_vllm else {}),
        **_device_flags(model, GRPOConfig, cfg.gradient_checkpointing, cfg.bf16))
    args = GRPOConfig(**{**args, **cfg.extra})  # extra wins, as in SFT (a key of ours named twice was a TypeError)
    trainer = GRPOTrainer(model=model, reward_funcs=[f for f, _ in rewards], args=args,
                          train_dataset=train, processing_class=processor)
    return train_and_save(trainer, processor, cfg, "grpo", lora, {"train_prompts": len(train), **extra})


def pass_rate_filter(cfg: GRPORunConfig):
    """The run's ``difficulty.PassRateFilter`` (``samples`` defaults to the group size), or None."""
    from .difficulty import PassRateFilter

    if cfg.pass_rate_filter is None:
        return None
    return PassRateFilter.from_dict({"samples": cfg.num_generations, "temperature": cfg.temperature,
                                     "seed": cfg.seed, **cfg.pass_rate_filter})


def _filter_by_pass_rate(train, cfg: GRPORunConfig, filt, model, processor):
    """``train`` without the questions whose groups would carry no gradient, and the counts for the manifest."""
    from . import difficulty
    from .evaluate import InProcessAnswerer

    def answerer():
        model.eval()  # the Trainer puts it back in training mode
        return InProcessAnswerer(model, processor, name=cfg.model)

    prompts = [(d, i, s == "reasoning") for d, i, s in zip(train["source_dataset"], train["id"], train["prompt_style"])]
    rates = difficulty.load_or_estimate(Path(cfg.output_dir), cfg.model, answerer,
                                        difficulty.sample_prompts(prompts, filt), filt)
    kept = train.filter(lambda d, i: filt.keeps(rates.get(difficulty.key(d, i), -1.0)),
                        input_columns=["source_dataset", "id"])
    info = difficulty.summary(rates, filt)
    print(f"pass-rate filter: asked {info['asked']} questions {filt.samples} times each; kept {info['kept']} "
          f"({info['always_right']} always right, {info['always_wrong']} always wrong); {len(kept)} prompts", flush=True)
    if len(kept) == 0:
        raise ValueError(f"pass-rate filter: no question of the {info['asked']} asked had a pass rate in "
                         f"({filt.min_pass}, {filt.max_pass}); widen the bounds or ask more (max_questions)")
    return kept.remove_columns("source_dataset"), info
