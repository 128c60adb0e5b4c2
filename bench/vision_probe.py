"""Can the tiny vision tower see what the object questions need? A probe without the language model.

    .venv/bin/python bench/vision_probe.py DATA MODEL_DIR            # ~2.5 min on one core for 600 steps
    .venv/bin/python bench/vision_probe.py DATA MODEL_DIR --steps 800 --out bench/results/vision_probe.json

Trains the model's vision tower (from whatever MODEL_DIR holds: a fresh ``build_tiny`` or a checkpoint)
together with one linear layer on its merged tokens to regress where each object is in the *second* photo
(image x / width, one output per palette colour; the rows' ``meta.u_in_view2``), with plain PyTorch.
Every ``leftmost`` / ``speaker_left`` row has those positions. Reported on held-out rows: the mean
absolute error of x, and how often the object with the smallest predicted x is the true left-most one
(what the ``leftmost`` question asks; chance ~1/3).

Why: SFT supervises the vision tower only through one answer token, via the language model. When SFT
stays at the answer prior, this says on which side of the language model the problem lies: if the tower
learns the positions here, it can see them, and what fails is the language model's reading of them.
``--readout mean`` averages the tokens before the linear layer, so the head cannot tell them apart by
place: Qwen2.5-VL's vision tower has no absolute position embedding (2D rotary only), so objects are
placed this way only if the tower writes where they are into the tokens themselves. The language model
is in the same situation: it sees token contents, and positions only through rotary phases in attention.
Writes JSON (the curve and the settings).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def load_rows(data: str | Path) -> dict[str, list[tuple[bytes, list[float], list[float]]]]:
    """split group ("train" | "test") -> (photo 2 bytes, x per palette colour, mask of the colours present)."""
    from sim_envs.objects import PALETTE
    from training.dataset import iter_rows

    colours = list(PALETTE)
    out: dict[str, list] = {"train": [], "test": []}
    for r in iter_rows(data, columns=["images", "split", "meta", "intrinsics"]):
        us = json.loads(r["meta"] or "{}").get("u_in_view2")
        if not us:
            continue
        width = float(r["intrinsics"][1][4]) if r["intrinsics"] else 112.0
        x, mask = [0.0] * len(colours), [0.0] * len(colours)
        for label, u in us.items():
            c = colours.index(label.split()[0])  # labels are "<colour> <name>", colours unique in a scene
            x[c], mask[c] = u / width, 1.0
        out["train" if r["split"] == "train" else "test"].append((r["images"][1], x, mask))
    if not out["train"] or not out["test"]:
        raise SystemExit(f"{data}: no leftmost / speaker_left rows in both train and test splits "
                         "(generate them with families leftmost and speaker_left)")
    return out


def main() -> None:
    import numpy as np
    import torch

    from training.presets import load_model
    from training.views import decode_image

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", help="a dataset directory with leftmost / speaker_left rows")
    ap.add_argument("model", help="a tiny model directory (build_tiny's output or a checkpoint)")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-rows", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--readout", choices=["flat", "mean"], default="flat",
                    help="flat: a linear layer on all tokens side by side; mean: on their average (position-blind)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "vision_probe.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    rows = load_rows(args.data)
    model, processor = load_model(args.model, "tiny")
    tower = model.model.visual
    rng = np.random.default_rng(args.seed)

    def tokens(sample):
        """(images, merged tokens per image, width): what the language model would receive."""
        enc = processor.image_processor(images=[decode_image(b) for b, _, _ in sample], return_tensors="pt")
        merged = tower(enc["pixel_values"], grid_thw=enc["image_grid_thw"]).pooler_output
        return merged.reshape(len(sample), -1, merged.shape[-1])

    with torch.no_grad():  # one image sizes the head
        _, n_tokens, width = tokens(rows["train"][:1]).shape
    # flat: one image's tokens side by side, so the head knows each token's place; mean: it does not, and
    # can place objects only if the tokens' content says where they are (the language model's situation)
    head = torch.nn.Linear(n_tokens * width if args.readout == "flat" else width, len(rows["train"][0][1]))
    opt = torch.optim.AdamW([*tower.parameters(), *head.parameters()], lr=args.lr)

    def predict(sample):
        tok = tokens(sample)
        x = torch.tensor(np.array([s[1] for s in sample], dtype=np.float32))
        mask = torch.tensor(np.array([s[2] for s in sample], dtype=np.float32))
        return head(tok.flatten(1) if args.readout == "flat" else tok.mean(1)), x, mask

    test = rows["test"][: args.eval_rows]
    curve = []
    t0 = time.perf_counter()
    for step in range(1, args.steps + 1):
        batch = [rows["train"][i] for i in rng.choice(len(rows["train"]), args.batch, replace=False)]
        pred, x, mask = predict(batch)
        loss = (((pred - x) ** 2) * mask).sum() / mask.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % args.eval_every == 0 or step == args.steps:
            with torch.no_grad():
                pred, x, mask = predict(test)
                err = float(((pred - x).abs() * mask).sum() / mask.sum())
                absent = 1e9 * (1 - mask)  # colours not in the scene never count as left-most
                hit = float(((pred + absent).argmin(1) == (x + absent).argmin(1)).float().mean())
            curve.append({"step": step, "train_mse": loss.item(), "test_x_error": err, "leftmost_accuracy": hit,
                          "seconds": time.perf_counter() - t0})
            print(f"step {step}: x error {err:.3f} of the width, left-most right {100 * hit:.1f}% "
                  f"({len(test)} held-out rows, {time.perf_counter() - t0:.0f} s)", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"data": str(args.data), "model": str(args.model), "steps": args.steps,
                                    "batch": args.batch, "lr": args.lr, "readout": args.readout, "threads": args.threads,
                                    "train_rows": len(rows["train"]), "test_rows": len(test),
                                    "tokens_per_image": n_tokens, "curve": curve}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
