"""Vision warm-up: teach a from-scratch vision tower to see viewpoint change before SFT.

A pretrained Qwen2.5-VL starts SFT with a vision tower that already sees; the tiny preset's is
random. SFT alone then has to grow the visual features and the language model's use of them at
once, through the answer tokens only, which takes many steps (docs/training-log.md).
The warm-up trains the vision tower (and its merger) on the training split's own image pairs to
regress the relative motion between the two views — sin and cos of the yaw change and the
sideways move — with a small head that is thrown away afterwards. It uses the same poses the
labels come from, and only training rows.

The head reads each image's tokens *averaged* ([mean of photo 1's tokens, mean of photo 2's]), not
the tokens one by one: a head over the flattened tokens can key on single token positions, which the
language model's attention does not reproduce, and SFT after such a warm-up stayed at the answer prior
(docs/training-log.md). An average per image is what one attention head gets by attending evenly to one
photo's tokens (e.g. from the ``<|vision_end|>`` token that closes it), so what the head learns to read,
the language model could read too. (Measured: the averages tell the yaw change's sign for 85-87% of
held-out pairs, and the tiny language model trained on top of them still stayed at the prior; docs/training-log.md.)
"""

from __future__ import annotations

import math
import time

import numpy as np


def _pairs(dataset, limit: int | None, seed: int, split: str = "train") -> tuple[list[list[bytes]], np.ndarray]:
    from .dataset import iter_rows

    images, targets = [], []
    for row in iter_rows(dataset, columns=["images", "split", "yaw_deg", "lateral_m"]):
        if row["split"] != split or row["yaw_deg"] is None or len(row["images"] or []) != 2:
            continue
        yaw = math.radians(row["yaw_deg"])
        images.append(list(row["images"]))
        targets.append([math.sin(yaw), math.cos(yaw), math.tanh(row["lateral_m"] / 0.3)])
    if not images:
        raise ValueError(f"{dataset} has no {split} rows with two images and a yaw: nothing to warm up on")
    order = np.random.default_rng(seed).permutation(len(images))[:limit]
    return [images[i] for i in order], np.asarray(targets, dtype=np.float32)[order]


def vision_warmup(model, processor, dataset, steps: int = 300, batch_size: int = 32, lr: float = 1e-3,
                  seed: int = 0, log_every: int = 25, echo=print) -> list[dict]:
    """Train ``model``'s vision tower for ``steps`` steps on relative-motion regression; returns the loss log.

    The last entry also holds ``warmup_heldout_sign_accuracy``: on up to 512 test-split pairs, how often
    the sign of the predicted yaw change is right (0.5 = blind) -- whether the features tell left from right
    (None without test pairs).
    """
    import torch
    from PIL import Image

    from .views import decode_image

    torch.manual_seed(seed)
    images, targets = _pairs(dataset, None, seed)
    core = model.get_base_model().model if hasattr(model, "get_base_model") else model.model
    visual = core.visual
    device = next(visual.parameters()).device
    dtype = next(visual.parameters()).dtype
    probe = processor.image_processor(images=[Image.fromarray(decode_image(images[0][0]))], return_tensors="pt")
    with torch.no_grad():  # the merger's output width (the language model's hidden size)
        hidden = visual(probe["pixel_values"].to(device, dtype), grid_thw=probe["image_grid_thw"].to(device)).pooler_output.shape[-1]

    def predict(pairs):
        pil = [Image.fromarray(decode_image(b)) for pair in pairs for b in pair]
        batch = processor.image_processor(images=pil, return_tensors="pt")
        feats = visual(batch["pixel_values"].to(device, dtype), grid_thw=batch["image_grid_thw"].to(device)).pooler_output
        sizes = (batch["image_grid_thw"].prod(-1) // visual.spatial_merge_unit).tolist()  # tokens per image
        pooled = torch.stack([t.mean(0) for t in feats.split(sizes)])  # one average per image
        return head(pooled.reshape(len(pairs), 2 * hidden))  # [photo 1's average | photo 2's]

    head = torch.nn.Sequential(torch.nn.Linear(2 * hidden, 128), torch.nn.GELU(),
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
        y = torch.as_tensor(targets[idx], device=device, dtype=dtype)
        loss = torch.nn.functional.mse_loss(predict([images[i] for i in idx]), y)
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
    try:
        test_images, test_targets = _pairs(dataset, 512, seed, split="test")
    except ValueError:  # no held-out pairs: nothing to check against
        test_images = []
    log[-1]["warmup_heldout_sign_accuracy"] = None
    if test_images:
        model.eval()
        with torch.no_grad():
            pred = torch.cat([predict(test_images[i:i + 64]) for i in range(0, len(test_images), 64)]).float().cpu().numpy()
        keep = np.abs(test_targets[:, 0]) > 0.05  # pairs with a yaw change to tell apart
        log[-1]["warmup_heldout_sign_accuracy"] = float(np.mean(np.sign(pred[keep, 0]) == np.sign(test_targets[keep, 0])))
        echo(f"vision warm-up: held-out yaw sign accuracy {log[-1]['warmup_heldout_sign_accuracy']:.3f}")
    model.train(was_training)
    return log


__all__ = ["vision_warmup"]
