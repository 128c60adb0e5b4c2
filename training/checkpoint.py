"""Checkpoints (DESIGN.md, "A checkpoint"): a Hugging Face model directory both ``vllm serve`` and
``transformers serve`` load, plus ``actial_checkpoint.json``: the stage, the training config, the
data manifest hash and, once evaluated, the evaluation results."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

MANIFEST = "actial_checkpoint.json"


def save_checkpoint(model, processor, out: str | Path, *, stage: str, preset: str, base_model: str, dataset: str,
                    train_config: dict, log_history: list[dict], extra: dict | None = None) -> Path:
    """Write weights (safetensors), processor, chat template and the manifest into ``out``."""
    from . import __version__
    from .dataset import manifest_hash

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    processor.save_pretrained(out)
    preset_file = Path(base_model) / "actial_preset.json"
    if preset_file.is_file() and preset_file.resolve() != (out / preset_file.name).resolve():
        shutil.copy(preset_file, out / preset_file.name)
    previous = read_manifest(base_model) or {}
    manifest = {
        "stage": stage, "preset": preset, "base_model": str(base_model), "dataset": str(dataset),
        "data_manifest_hash": manifest_hash(dataset), "train_config": train_config, "log_history": log_history,
        "history": previous.get("history", []) + [{"stage": previous.get("stage"), "path": str(base_model)}]
        if previous else [], "evaluation": {}, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "package_version": __version__, **(extra or {}),
    }
    write_json(out / MANIFEST, manifest)
    try:
        from .evaluate import plot_training_curves

        plot_training_curves(log_history, out / f"training_curves_{stage}.png")
    except (ImportError, ValueError):
        pass  # no curves to draw (e.g. a one-step run without logs)
    return out


def read_manifest(path: str | Path) -> dict | None:
    p = Path(path) / MANIFEST
    return json.loads(p.read_text()) if p.is_file() else None


def add_evaluation(checkpoint: str | Path, name: str, results: dict) -> None:
    """Record evaluation results in the checkpoint's manifest under ``name``."""
    p = Path(checkpoint) / MANIFEST
    manifest = read_manifest(checkpoint)
    if manifest is None:
        raise FileNotFoundError(f"{checkpoint} has no {MANIFEST}: not a checkpoint written by actial")
    manifest.setdefault("evaluation", {})[name] = results
    write_json(p, manifest)


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)
