"""Weight averaging: one model from several fine-tuned runs that share a starting checkpoint.

Runs of one GRPO config from one SFT model differ by seed more than any of them gains on the held-out
splits (docs/training-log.md: GRPO's sampling temperature). The mean of their parameters (a "model soup",
Wortsman et al. 2022; WARP, Ramé et al. 2024, averages RL policies the same way) keeps the update the
runs share and averages out what each seed drew; it is still one model to serve, at one model's cost.
Averaging a fine-tuned model with its own start (WiSE-FT) is the same operation with two sources.

Works on full checkpoints, a single ``model.safetensors`` or sharded with an index: the tiny preset, and
the 3B/7B presets, whose LoRA adapters are merged before saving.

``tail_average_callback`` does the same along one run: the model a run saves is the mean of its weights
after every step from ``average_from_step`` on (stochastic weight averaging, Izmailov et al. 2018; LAWA),
at the cost of one float32 copy of the trainable parameters.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from .checkpoint import MANIFEST, read_manifest, write_json

SINGLE = "model.safetensors"
INDEX = "model.safetensors.index.json"
# config keys that differ between saves of one architecture (a built model and the same after training)
_CONFIG_NOISE = {"_name_or_path", "transformers_version", "torch_dtype", "dtype", "use_cache"}


def _architecture(config: dict) -> dict:
    return {k: _architecture(v) if isinstance(v, dict) else v for k, v in config.items() if k not in _CONFIG_NOISE}


def weight_map(path: str | Path) -> dict[str, str]:
    """Tensor name -> the safetensors file (in ``path``) that holds it."""
    from safetensors import safe_open

    path = Path(path)
    if (path / INDEX).is_file():
        return dict(json.loads((path / INDEX).read_text())["weight_map"])
    if (path / SINGLE).is_file():
        with safe_open(path / SINGLE, framework="pt") as f:
            return {name: SINGLE for name in f.keys()}
    raise ValueError(f"{path} has no {SINGLE} or {INDEX}: not a full Hugging Face checkpoint (a LoRA adapter "
                     "directory has to be merged first; actial's trainers save merged models)")


def _check_compatible(paths: list[Path]) -> None:
    configs = []
    for p in paths:
        if not (p / "config.json").is_file():
            raise ValueError(f"{p} has no config.json: not a model directory")
        configs.append(_architecture(json.loads((p / "config.json").read_text())))
    for p, c in zip(paths[1:], configs[1:]):
        diff = sorted(k for k in set(c) | set(configs[0]) if c.get(k) != configs[0].get(k))
        if diff:
            raise ValueError(f"{p} and {paths[0]} are different architectures (config.json differs in "
                             f"{', '.join(diff[:5])}): only models of one architecture can be averaged")
    # a soup needs a shared start: models trained from different initialisations average to noise
    manifests = [read_manifest(p) for p in paths]
    if all(manifests):
        starts = {str(Path(m["base_model"]).resolve()) for m in manifests if m.get("base_model")}
        own = {str(p.resolve()) for p in paths}
        if len(starts - own) > 1:
            raise ValueError("these checkpoints were trained from different models (" + ", ".join(sorted(starts))
                             + "): averaging needs runs from one starting checkpoint (or a run and its start)")


def average_checkpoints(paths: list[str | Path], out: str | Path, weights: list[float] | None = None) -> Path:
    """Write the weighted mean of ``paths``' parameters to ``out`` (uniform unless ``weights``), with the
    first source's tokenizer, processor and chat template, and a manifest naming every source."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    paths, out = [Path(p) for p in paths], Path(out)
    if len(paths) < 2:
        raise ValueError(f"averaging needs at least two checkpoints, got {len(paths)}")
    if weights is None:
        weights = [1.0] * len(paths)
    if len(weights) != len(paths) or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be one non-negative number per checkpoint ({len(paths)}), not all 0: {weights}")
    weights = [w / sum(weights) for w in weights]
    if out.resolve() in {p.resolve() for p in paths}:
        raise ValueError(f"{out} is one of the sources: write the average to a new directory")
    _check_compatible(paths)
    maps = [weight_map(p) for p in paths]
    for p, m in zip(paths[1:], maps[1:]):
        if set(m) != set(maps[0]):
            odd = sorted(set(m) ^ set(maps[0]))
            raise ValueError(f"{p} and {paths[0]} hold different tensors ({', '.join(odd[:3])}, ...)")

    out.mkdir(parents=True, exist_ok=True)
    for f in paths[0].iterdir():  # tokenizer, processor, chat template, preset: the first source's
        if f.is_file() and not f.name.startswith("model") and f.suffix != ".png" and f.name != MANIFEST:
            shutil.copy(f, out / f.name)
    if (paths[0] / INDEX).is_file():
        shutil.copy(paths[0] / INDEX, out / INDEX)
    by_file: dict[str, list[str]] = {}
    for name, file in maps[0].items():
        by_file.setdefault(file, []).append(name)
    for file, names in by_file.items():  # one shard at a time: memory stays at about one shard per source
        total: dict[str, torch.Tensor] = {}
        dtypes = {}
        for p, m, w in zip(paths, maps, weights):
            files: dict[str, list[str]] = {}
            for name in names:  # this source may shard them differently: open each of its files once
                files.setdefault(m[name], []).append(name)
            for src, src_names in files.items():
                with safe_open(p / src, framework="pt") as f:
                    for name in src_names:
                        t = f.get_tensor(name)
                        dtypes.setdefault(name, t.dtype)
                        if name in total and t.shape != total[name].shape:
                            raise ValueError(f"{name} has shape {tuple(t.shape)} in {p} and "
                                             f"{tuple(total[name].shape)} in {paths[0]}: not one architecture")
                        # float32 sums: exact enough for weights of 1/n, half the memory of float64 on 7B shards
                        total[name] = total[name] + w * t.float() if name in total else w * t.float()
        save_file({n: t.to(dtypes[n]).contiguous() for n, t in total.items()}, out / file, metadata={"format": "pt"})

    first = read_manifest(paths[0]) or {}
    manifest = {**first, "log_history": [], "evaluation": {}, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "averaged_from": [{"path": str(p), "weight": w, "seed": (read_manifest(p) or {}).get(
                    "train_config", {}).get("seed")} for p, w in zip(paths, weights)]}
    write_json(out / MANIFEST, manifest)
    return out


TAIL_STATE = "tail_average.safetensors"  # in each Trainer checkpoint: the running mean so far, for a resume


def check_from_step(from_step: int | None) -> None:
    """A run config's ``average_from_step``: None (off) or an optimiser step, counted from 1."""
    if from_step is not None and from_step < 1:
        raise ValueError(f"average_from_step counts optimiser steps from 1; got {from_step}")


def tail_average_callback(model, from_step: int):
    """A ``transformers.TrainerCallback`` that keeps the running mean of ``model``'s trainable parameters after
    every optimiser step from ``from_step`` on; ``apply()`` then puts the mean into the model (before it is
    merged and saved). Frozen parameters do not change and are not copied. With LoRA the adapters' two factors
    are averaged each (the mean of products is not the product of means; close for the small steps of a
    tail). The mean is saved beside each Trainer checkpoint and read back when the run resumes."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file
    from transformers import TrainerCallback

    check_from_step(from_step)

    class TailAverage(TrainerCallback):
        def __init__(self):
            self.params = {n: p for n, p in model.named_parameters() if p.requires_grad}
            self.mean: dict[str, torch.Tensor] = {}
            self.count = 0

        def on_train_begin(self, args, state, control, **kwargs):
            saved = Path(args.output_dir) / f"checkpoint-{state.global_step}" / TAIL_STATE
            if state.global_step > 0 and saved.is_file():  # a resumed run: go on from the checkpoint's mean
                with safe_open(saved, framework="pt") as f:  # one read: the tensors and their count
                    self.count = int(f.metadata()["count"])
                    self.mean = {name: f.get_tensor(name) for name in f.keys()}

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step < from_step:
                return
            self.count += 1
            with torch.no_grad():
                for name, p in self.params.items():
                    x = p.detach().float().cpu()
                    if name in self.mean:
                        self.mean[name] += (x - self.mean[name]) / self.count
                    else:
                        self.mean[name] = x.clone()

        def on_save(self, args, state, control, **kwargs):
            if self.count and state.is_world_process_zero:  # every DDP process holds the same mean
                ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                if ckpt.is_dir():
                    save_file(self.mean, ckpt / TAIL_STATE, metadata={"count": str(self.count)})

        def apply(self) -> dict:
            """Load the mean into the model; what was averaged, for the manifest."""
            if not self.count:
                print(f"tail average: the run ended before step {from_step}; its last weights are saved as they are",
                      flush=True)
            else:
                with torch.no_grad():
                    for name, p in self.params.items():
                        p.copy_(self.mean[name].to(p.dtype))
            return {"from_step": from_step, "steps_averaged": self.count}

    return TailAverage()
