"""Contact sheets: look at samples (images, question, options, answer) instead of reading parquet."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .dataset import format_options, iter_rows
from .views import decode_image

TILE = 168  # px per image in the sheet


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def sample_card(row: dict, tile: int = TILE) -> Image.Image:
    """One sample: its images side by side, then family/split, the question, the options and the answer."""
    imgs = [Image.fromarray(decode_image(b)).resize((tile, tile)) for b in row["images"][:2]]
    width = max(2 * tile + 6, tile * len(imgs) + 6)
    font = _font(11)
    lines = [f"[{row['family']} | {row['split']}]"]
    lines += textwrap.wrap(row["question"], width=width // 6)
    if row["options"]:
        lines += format_options(row["options"]).splitlines()
    lines.append(f"answer: {row['answer']} ({row['answer_text']})")
    if row.get("prompt_style") == "reasoning":
        lines.append("(with chain of thought)")
    text_h = 14 * len(lines) + 6
    card = Image.new("RGB", (width, tile + 4 + text_h), "white")
    for i, im in enumerate(imgs):
        card.paste(im, (i * (tile + 6), 0))
    d = ImageDraw.Draw(card)
    for i, line in enumerate(lines):
        d.text((3, tile + 4 + 14 * i), line, fill=(180, 0, 0) if line.startswith("answer") else (0, 0, 0), font=font)
    return card


def contact_sheet(dataset_dir: str | Path, out: str | Path, n: int = 12, columns: int = 3, seed: int = 0,
                  families: list[str] | None = None) -> Path:
    """Write a PNG of ``n`` samples (spread over families) from a dataset directory."""
    rng = np.random.default_rng(seed)
    by_family: dict[str, list[dict]] = {}
    for row in iter_rows(dataset_dir):
        if families and row["family"] not in families:
            continue
        bucket = by_family.setdefault(row["family"], [])
        if len(bucket) < n:
            bucket.append(row)
        elif rng.uniform() < 0.2:  # keep some variety without holding the dataset in memory
            bucket[int(rng.integers(n))] = row
    if not by_family:
        raise ValueError(f"no samples to preview in {dataset_dir}" + (f" for families {families}" if families else ""))
    picked: list[dict] = []
    while len(picked) < n and any(by_family.values()):  # round-robin over families
        for fam in sorted(by_family):
            if by_family[fam] and len(picked) < n:
                picked.append(by_family[fam].pop(0))
    cards = [sample_card(r) for r in picked]
    cw, ch = max(c.width for c in cards), max(c.height for c in cards)
    rows = (len(cards) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * (cw + 8), rows * (ch + 8)), (230, 230, 230))
    for i, c in enumerate(cards):
        sheet.paste(c, ((i % columns) * (cw + 8) + 4, (i // columns) * (ch + 8) + 4))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
