"""GRPO on TRL's GRPOTrainer: stage 2 of the paper's recipe.

Rewards: 0.5 x format (exactly one ``<think>`` then one ``<answer>`` block) + 0.5 x accuracy (exact
letter; numeric answers within the tolerance), the paper's weighting, implemented in
training/rewards.py. Prompts ask for reasoning; ``direct_ratio`` asks that share of them for a direct
answer instead (SFT's form, which GRPO would otherwise leave untrained and could unlearn). The question
mix is broader than SFT's: every family in the dataset (plus any SAT-style import passed as
``extra_datasets``). On GPUs ``use_vllm`` generates rollouts in a colocated vLLM engine; on a CPU TRL's own
generate is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sim_envs.config import FromDict

from .sft import train_and_save


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
    temperature: float = 1.0
    max_completion_length: int = 128
    epochs: float = 1.0
    max_steps: int = -1
    warmup_steps: int = 0
    logging_steps: int = 5
    save_steps: int = 100
    save_total_limit: int = 2
    seed: int = 0
    lora: bool | None = None
    gradient_checkpointing: bool = False
    use_vllm: bool = False  # GPUs: colocated vLLM rollouts
    threads: int | None = None
    extra: dict = field(default_factory=dict)  # passed to trl.GRPOConfig as is


def prompt_mix(cfg: GRPORunConfig):
    """The train split's prompts: a seeded ``direct_ratio`` share of the rows ask for a direct answer, the rest
    for reasoning (each row once, in one style)."""
    import datasets
    import numpy as np

    from .sft import train_split

    if not 0.0 <= cfg.direct_ratio <= 1.0:
        raise ValueError(f"direct_ratio is a share of the prompts, between 0 and 1; got {cfg.direct_ratio}")
    reasoning = train_split(cfg, "grpo")
    n_direct = round(cfg.direct_ratio * len(reasoning))
    if n_direct == 0:
        return reasoning
    order = np.random.default_rng(cfg.seed).permutation(len(reasoning))
    direct = train_split(cfg, "grpo", grpo_style="direct").select(np.sort(order[:n_direct]))
    return datasets.concatenate_datasets([direct, reasoning.select(np.sort(order[n_direct:]))])


def run_grpo(cfg: GRPORunConfig) -> Path:
    from trl import GRPOConfig, GRPOTrainer

    from .rewards import accuracy_reward, format_reward
    from .sft import _device_flags, load_for_training

    model, processor, lora = load_for_training(cfg)
    out = Path(cfg.output_dir)
    train = prompt_mix(cfg)
    if cfg.families:
        keep = set(cfg.families)
        train = train.filter(lambda f: f in keep, input_columns="family")
    train = train.shuffle(seed=cfg.seed)
    if cfg.max_train_samples:
        train = train.select(range(min(cfg.max_train_samples, len(train))))
    batch = cfg.prompts_per_step * cfg.num_generations
    args = GRPOConfig(
        output_dir=str(out / "trainer"), learning_rate=cfg.learning_rate, num_generations=cfg.num_generations,
        per_device_train_batch_size=batch, generation_batch_size=batch, beta=cfg.beta, epsilon=cfg.epsilon,
        reward_weights=[cfg.format_weight, cfg.accuracy_weight], temperature=cfg.temperature,
        max_completion_length=cfg.max_completion_length, num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        warmup_steps=cfg.warmup_steps, logging_steps=cfg.logging_steps, save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit, seed=cfg.seed, report_to="none", use_vllm=cfg.use_vllm,
        **({"vllm_mode": "colocate"} if cfg.use_vllm else {}),
        **_device_flags(model, GRPOConfig, cfg.gradient_checkpointing), **cfg.extra)
    trainer = GRPOTrainer(model=model, reward_funcs=[format_reward, accuracy_reward], args=args,
                          train_dataset=train, processing_class=processor)
    return train_and_save(trainer, processor, cfg, "grpo", lora, {"train_prompts": len(train)})
