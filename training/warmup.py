"""Vision warm-up: teach a from-scratch vision tower to see viewpoint change before SFT.

A pretrained Qwen2.5-VL starts SFT with a vision tower that already sees; the tiny preset's is
random. SFT alone then has to grow the visual features and the language model's use of them at
once, through the answer tokens only, which takes many steps (README, Training).
The warm-up trains the vision tower (and its merger) on the training split's own image pairs to
regress the relative motion between the two views — sin and cos of the yaw change and the
sideways move — with a small head that is thrown away afterwards. It uses the same poses the
labels come from, and only training rows.
"""

from __future__ import annotations

import math
import time

import numpy as np


def _pairs(dataset, limit: int | None, seed: int) -> tuple[list[list[bytes]], np.ndarray]:
    from .dataset import iter_rows

    images, targets = [], []
    for row in iter_rows(dataset, columns=["images", "split", "yaw_deg", "lateral_m"]):
        if row["split"] != "train" or row["yaw_deg"] is None or len(row["images"] or []) != 2:
            continue
        yaw = math.radians(row["yaw_deg"])
        images.append(list(row["images"]))
        targets.append([math.sin(yaw), math.cos(yaw), math.tanh(row["lateral_m"] / 0.3)])
    if not images:
        raise ValueError(f"{dataset} has no training rows with two images and a yaw: nothing to warm up on")
    order = np.random.default_rng(seed).permutation(len(images))[:limit]
    return [images[i] for i in order], np.asarray(targets, dtype=np.float32)[order]


def vision_warmup(model, processor, dataset, steps: int = 300, batch_size: int = 32, lr: float = 1e-3,
                  seed: int = 0, log_every: int = 25, echo=print) -> list[dict]:
    """Train ``model``'s vision tower for ``steps`` steps on relative-motion regression; returns the loss log."""
    import torch
    from PIL import Image

    from .views import decode_image

    torch.manual_seed(seed)
    images, targets = _pairs(dataset, None, seed)
    core = model.get_base_model().model if hasattr(model, "get_base_model") else model.model
    visual = core.visual
    device = next(visual.parameters()).device
    dtype = next(visual.parameters()).dtype
    # one probe batch fixes the token layout (tokens per image x hidden)
    probe = processor.image_processor(images=[Image.fromarray(decode_image(images[0][0]))], return_tensors="pt")
    with torch.no_grad():
        n_tok, hidden = visual(probe["pixel_values"].to(device, dtype),
                               grid_thw=probe["image_grid_thw"].to(device)).pooler_output.shape
    head = torch.nn.Sequential(torch.nn.Linear(2 * n_tok * hidden, 128), torch.nn.GELU(),
                               torch.nn.Linear(128, targets.shape[1])).to(device, dtype)
    params = [p for p in visual.parameters()] + list(head.parameters())
    for p in visual.parameters():
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr)
    was_training = model.training
    model.train()
    rng = np.random.default_rng(seed)
    log, t0, running = [], time.perf_counter(), []
    for step in range(1, steps + 1):
        idx = rng.integers(0, len(images), batch_size)
        pil = [Image.fromarray(decode_image(b)) for i in idx for b in images[i]]
        batch = processor.image_processor(images=pil, return_tensors="pt")
        feats = visual(batch["pixel_values"].to(device, dtype), grid_thw=batch["image_grid_thw"].to(device)).pooler_output
        x = feats.reshape(batch_size, -1)  # [first image's tokens | second image's tokens]
        y = torch.as_tensor(targets[idx], device=device, dtype=dtype)
        loss = torch.nn.functional.mse_loss(head(x), y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        running.append(loss.item())
        if step % log_every == 0 or step == steps:
            entry = {"warmup_step": step, "warmup_loss": float(np.mean(running)),
                     "warmup_seconds": time.perf_counter() - t0}
            log.append(entry)
            echo(f"vision warm-up step {step}/{steps}: loss {entry['warmup_loss']:.4f}")
            running = []
    model.train(was_training)
    return log


__all__ = ["vision_warmup"]
