"""Sanity datasets: questions any working vision pipeline learns fast.

When a from-scratch model stays at the image-blind level, check the pipeline before the model (issue #4),
from the easiest question up: an answer stated in the question (``text_answer_dataset``: text only),
"which photo is brighter?" (``brightness_dataset``: pixels, globally), "is the red square in the left
or right half?" (``position_dataset``: where things are in an image). Any of them staying near 50% points
at the plumbing (batches, masks, tokens, images), not at the viewpoint task.

Two of them are also rungs of the horizon recipe (``training/recipe.py``): the colour turn
(``hue_turn_dataset``), which teaches comparing two headings, and the told motion (``told_motion_dataset``),
which teaches the motion chain's last steps with nothing to see.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .dataset import ShardWriter, empty_row, iter_rows, write_manifest
from .questions import arrange, response
from .views import decode_image, encode_image

QUESTION = "Which of the two photos is brighter?"


def brightness_dataset(source: str | Path, out: str | Path, n: int = 4000, factor: float = 0.55, seed: int = 0,
                       test_share: float = 0.1, rows_per_shard: int = 1000, shuffle_options: bool = True) -> Path:
    """``n`` rows from ``source``'s image pairs, one image of each darkened by ``factor``.

    ``shuffle_options=False`` keeps "the first photo" as A: the letter then *is* the answer, which
    separates "can it see?" from "can it find its answer's letter in a shuffled list?".
    """
    rng = np.random.default_rng(seed)
    writer = _writer(out, rows_per_shard, "sanity-brightness")
    slot = 0
    for src in iter_rows(source, columns=["id", "images", "poses", "intrinsics", "scene_id"]):
        if len(writer) >= n:
            break
        imgs = [decode_image(b) for b in src["images"][:2]]
        dark = int(rng.integers(2))
        imgs[dark] = (imgs[dark].astype(np.float32) * factor).astype(np.uint8)
        correct = "the first photo" if dark == 1 else "the second photo"
        if shuffle_options:
            options, letter = arrange(["the first photo", "the second photo"], correct, slot, rng)
        else:
            options = ["the first photo", "the second photo"]
            letter = "AB"[options.index(correct)]
        slot += 1
        row = empty_row()
        row.update(id=f"bright-{src['id']}", family="brightness", split="test" if rng.uniform() < test_share else "train",
                   source="sanity", images=[encode_image(im) for im in imgs], question=QUESTION, options=options,
                   answer=letter, answer_text=correct, response=response(letter, correct), poses=src["poses"],
                   intrinsics=src["intrinsics"], scene_id=src["scene_id"], meta=json.dumps({"darkened": dark, "factor": factor}))
        writer.add(row)
    return _finish(writer, {"name": "sanity-brightness", "source": str(source), "n": n, "factor": factor, "seed": seed})


POSITION_QUESTION = "Is the {what} in the left half or the right half of the first photo?"
RED = (230, 20, 20)


def _saturated(rng: np.random.Generator) -> tuple[int, int, int]:
    """A random saturated colour (one channel high, one low, one anywhere): plain against the grey noise."""
    return tuple(int(c) for c in rng.permutation([rng.integers(200, 256), rng.integers(0, 40), rng.integers(0, 256)]))


def _clear(x: int, y: int, s: int, taken: list[tuple[int, int]]) -> bool:
    """Whether an ``s``-px square at (x, y) keeps clear of (does not touch) the squares already placed."""
    return all(abs(x - tx) > s or abs(y - ty) > s for tx, ty in taken)


def position_dataset(out: str | Path, n: int = 4000, size: int = 112, seed: int = 0, test_share: float = 0.1,
                     rows_per_shard: int = 1000, color: tuple[int, int, int] | None = RED) -> Path:
    """``n`` rows asking on which side of the first photo a red square is (fixed options: left, right).

    Viewpoint questions need *where* things are in an image; brightness does not. A model that learns
    brightness but not this cannot see positions (e.g. its position encoding cannot tell columns apart).
    ``color=None``: a random colour per row, so the square must be found as "the thing that is not noise".
    """
    rng = np.random.default_rng(seed)
    writer = _writer(out, rows_per_shard, "sanity-position")
    question = POSITION_QUESTION.format(what="red square" if color == RED else "square")
    for i in range(n):
        imgs = [rng.integers(40, 200, (size, size, 3), dtype=np.uint8) for _ in range(2)]
        side = int(rng.integers(2))
        s = size // 6
        x = int(rng.integers(0, size // 2 - s)) + side * (size // 2)
        y = int(rng.integers(0, size - s))
        imgs[0][y:y + s, x:x + s] = color if color is not None else _saturated(rng)
        correct = ["left", "right"][side]
        row = empty_row()
        row.update(id=f"position-{seed}-{i}", family="position", split="test" if rng.uniform() < test_share else "train",
                   source="sanity", images=[encode_image(im) for im in imgs], question=question,
                   options=["left", "right"], answer="AB"[side], answer_text=correct,
                   response=response("AB"[side], correct), meta=json.dumps({"x": x, "y": y}))
        writer.add(row)
    return _finish(writer, {"name": "sanity-position", "n": n, "size": size, "seed": seed,
                            "color": "random" if color is None else list(color)})


def named_position_dataset(out: str | Path, n: int = 4000, size: int = 112, seed: int = 0, test_share: float = 0.1,
                           rows_per_shard: int = 1000, squares: int = 3, palette: list[str] | None = None) -> Path:
    """``n`` rows asking on which side of the first photo the square of a *named* colour is (options: left, right).

    Each photo holds ``squares`` squares of different palette colours (sim_envs.objects.PALETTE, the colours
    the object questions name); the question names one of them. Unlike the red square, no fixed detector
    answers it: the model must tie the colour word in the question to the colour in the photo, which every
    object question needs ("which object is the left-most?" with options "green cube", "purple box", ...).
    ``squares=1``: the named square alone (the word is then not needed, only a detector for every colour).
    ``palette``: the colour names to draw from (default: all ten), e.g. ``["red", "green"]`` for a curriculum
    over the number of colours.
    """
    from sim_envs.objects import PALETTE

    names = list(palette or PALETTE)
    if len(names) < squares or any(c not in PALETTE for c in names):
        raise ValueError(f"palette must name at least {squares} of {', '.join(PALETTE)}; got {names}")
    rgb = {k: tuple(int(round(255 * c)) for c in v) for k, v in PALETTE.items()}
    rng = np.random.default_rng(seed)
    writer = _writer(out, rows_per_shard, "sanity-named-position")
    s = size // 6
    for i in range(n):
        imgs = [rng.integers(40, 200, (size, size, 3), dtype=np.uint8) for _ in range(2)]
        colours = [names[int(k)] for k in rng.choice(len(names), squares, replace=False)]
        side = int(rng.integers(2))  # the asked square (the first) lies wholly in this half; the others anywhere
        taken: list[tuple[int, int]] = []
        for j, c in enumerate(colours):
            while True:  # not touching the squares already there
                if j == 0:
                    x = int(rng.integers(0, size // 2 - s)) + side * (size // 2)
                else:
                    x = int(rng.integers(0, size - s))
                y = int(rng.integers(0, size - s))
                if _clear(x, y, s, taken):
                    break
            taken.append((x, y))
            imgs[0][y:y + s, x:x + s] = rgb[c]
        correct = ["left", "right"][side]
        row = empty_row()
        row.update(id=f"named-{seed}-{i}", family="named_position",
                   split="test" if rng.uniform() < test_share else "train", source="sanity",
                   images=[encode_image(im) for im in imgs],
                   question=POSITION_QUESTION.format(what=f"{colours[0]} square"), options=["left", "right"],
                   answer="AB"[side], answer_text=correct, response=response("AB"[side], correct),
                   meta=json.dumps({"colours": colours, "asked": colours[0], "xy": taken}))
        writer.add(row)
    return _finish(writer, {"name": "sanity-named-position", "n": n, "size": size, "seed": seed, "squares": squares,
                            "palette": names})


SHIFT_QUESTION = "Did the {what} move to the left or to the right from the first photo to the second?"


def shift_dataset(out: str | Path, n: int = 4000, size: int = 112, seed: int = 0, test_share: float = 0.1,
                  rows_per_shard: int = 1000, color: tuple[int, int, int] | None = RED, distractors: int = 0,
                  square: int | None = None) -> Path:
    """``n`` rows asking which way a red square moved between the two photos (fixed options: left, right).

    The simplest two-view question: what a sideways camera move does to an object in the image, with
    nothing else to see. Position (one photo) needs where; this needs where in photo 1 *compared with*
    where in photo 2, across the two images' tokens -- what every viewpoint question needs.
    ``color=None`` paints each row's square a random colour (the same in both photos), so that no fixed
    colour detector answers it: the model must find the same thing in both photos, as with real objects.
    ``distractors=k`` adds k squares of other random colours to each photo, drawn afresh per photo: the
    square to follow is the one in both photos, found only by matching the two photos (pans and orbits of
    scenes with several objects need the same).
    """
    rng = np.random.default_rng(seed)
    writer = _writer(out, rows_per_shard, "sanity-shift")
    s = square or size // 6  # side in px (default 18 at 112 px: smaller than one 28-px token)
    what = "square that is in both photos" if distractors else "red square" if color == RED else "square"
    question = SHIFT_QUESTION.format(what=what)

    for i in range(n):
        imgs = [rng.integers(40, 200, (size, size, 3), dtype=np.uint8) for _ in range(2)]
        paint = color if color is not None else _saturated(rng)
        while True:  # at least one square's width apart, so the move is plain to see
            xs = rng.integers(0, size - s, 2)
            if abs(int(xs[1]) - int(xs[0])) >= s:
                break
        used = [paint]  # every distractor, in either photo, plainly differs from the square and from each other
        for _ in range(2 * distractors):
            other = _saturated(rng)
            while min(max(abs(a - b) for a, b in zip(other, u)) for u in used) < 120:
                other = _saturated(rng)
            used.append(other)
        for k, (im, x) in enumerate(zip(imgs, xs)):
            y = int(rng.integers(0, size - s))
            taken = [(int(x), y)]
            for other in used[1 + k * distractors: 1 + (k + 1) * distractors]:
                while True:  # not touching the squares already there
                    dx, dy = (int(v) for v in rng.integers(0, size - s, 2))
                    if _clear(dx, dy, s, taken):
                        break
                im[dy:dy + s, dx:dx + s] = other
                taken.append((dx, dy))
            im[y:y + s, int(x):int(x) + s] = paint
        side = int(xs[1] > xs[0])
        correct = ["left", "right"][side]
        row = empty_row()
        row.update(id=f"shift-{seed}-{i}", family="shift", split="test" if rng.uniform() < test_share else "train",
                   source="sanity", images=[encode_image(im) for im in imgs], question=question,
                   options=["left", "right"], answer="AB"[side], answer_text=correct,
                   response=response("AB"[side], correct), meta=json.dumps({"x": [int(x) for x in xs]}))
        writer.add(row)
    return _finish(writer, {"name": "sanity-shift", "n": n, "size": size, "seed": seed,
                            "color": "random" if color is None else list(color), "distractors": distractors,
                            "square": s})


HUE_QUESTION = ("Going around the colour wheel (left: red, yellow, green, blue; right: red, purple, blue), did the "
                "colour turn to the left or to the right from the first photo to the second?")


def hue_turn_dataset(out: str | Path, n: int = 4000, size: int = 112, seed: int = 0, test_share: float = 0.1,
                     rows_per_shard: int = 1000, turn: tuple[float, float] = (20.0, 100.0),
                     saturation: tuple[int, int] = (150, 230), families: list[str] | None = None) -> Path:
    """``n`` rows asking which way the photos' one colour turned around the hue wheel (fixed options: left, right).

    Each photo is one hue (with pixel noise); photo 2's hue is photo 1's turned by 20-100 degrees either
    way. "right" is the way a camera going right around the objects on a ``horizon`` floor sees the
    view's average colour turn (towards decreasing hue: red -> purple -> blue), so the rung can be mixed
    into orbit data as a warm-up for the same comparison. This is the orbit pairs' cue on the hue-wheel
    floors with the search taken out: the colour is everywhere, so nothing has to be found, only two
    headings on a circle compared -- the sign of a circular difference, which (unlike brightness) no
    single linear read-out of the two photos gives. ``saturation`` (OpenCV's 0-255 range) sets how strong
    the colour is: the default gives an average chroma of ~0.5, a ``horizon`` floor's views ~0.1, so
    ``(25, 50)`` asks the same question at the floor's strength.

    ``families`` (some of the paper's three) words each row as that family's question with its options, and
    "right" follows that family's direction on a ``horizon`` floor: ``object_translation`` and
    ``ego_rotation`` answer "right" where ``ego_translation`` answers "left" (the object moves against the
    camera; an orbiting camera turns against its path). Mixed into the orbit data, these twins teach each
    family's direction; the single worded rung teaches ``ego_translation``'s only (docs/training-log.md).
    """
    from .questions import OPTIONS, PAPER_FAMILIES, QUESTIONS

    unknown = set(families or []) - set(PAPER_FAMILIES)
    if unknown:
        raise ValueError(f"families must be among {', '.join(PAPER_FAMILIES)}; got {sorted(unknown)}")
    import cv2

    rng = np.random.default_rng(seed)
    writer = _writer(out, rows_per_shard, "sanity-hue-turn")
    for i in range(n):
        h1 = float(rng.uniform(0, 360))
        side = int(rng.integers(2))
        h2 = (h1 + (-1 if side else 1) * float(rng.uniform(*turn))) % 360
        imgs = []
        for h in (h1, h2):
            hsv = np.empty((size, size, 3), np.uint8)
            hsv[..., 0] = int(h / 2) % 180  # OpenCV hue: 0-179
            hsv[..., 1] = rng.integers(*saturation, (size, size))
            hsv[..., 2] = rng.integers(150, 230, (size, size))
            imgs.append(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB))
        family = families[i % len(families)] if families else None
        if family in ("object_translation", "ego_rotation"):  # the same colour turn, the other word
            side = 1 - side
        correct = ["left", "right"][side]
        question, options = (QUESTIONS[family], OPTIONS[family]) if family else (HUE_QUESTION, ["left", "right"])
        row = empty_row()
        row.update(id=f"hue-{seed}-{i}", family="hue_turn", split="test" if rng.uniform() < test_share else "train",
                   source="sanity", images=[encode_image(im) for im in imgs], question=question,
                   options=list(options), answer="AB"[side], answer_text=correct,
                   response=response("AB"[side], correct), meta=json.dumps({"hue": [h1, h2], "worded_as": family}))
        writer.add(row)
    return _finish(writer, {"name": "sanity-hue-turn", "n": n, "size": size, "seed": seed, "turn": list(turn),
                            "saturation": list(saturation), "families": families})


TOLD_PREFIX = "The camera {motion}. "


def told_motion_dataset(out: str | Path, n: int = 3000, size: int = 112, seed: int = 0, test_share: float = 0.1,
                        rows_per_shard: int = 1000) -> Path:
    """``n`` rows of the paper's three families whose question states the camera's motion; the photos are noise.

    "The camera moved left, turned right. " before a family's own question and options (the three in turn),
    answered with the framed motion chain (``questions.motion_think``: ``moved left, turned right; object:
    right``) and its letter. With nothing to see, only the chain's last two steps are left to learn: the
    frame word that the question's wording picks, and the letter that copies the word after it. Those are
    the steps that fail where the recipe's phase 3 adds the two new families at some seeds (one writes
    ``ego_translation``'s direction under every wording, one writes a letter that no longer reads the word
    before it: docs/training-log.md, phase 3's switch per family), while the motion read from the images
    stays right. The rung's family is ``told_motion``, so a curriculum phase names it to train on it.
    """
    from .questions import OPTIONS, PAPER_FAMILIES, QUESTIONS, motion_think

    rng = np.random.default_rng(seed)
    writer = _writer(out, rows_per_shard, "sanity-told-motion")
    for i in range(n):
        family = PAPER_FAMILIES[i % len(PAPER_FAMILIES)]
        options = list(OPTIONS[family])
        correct = options[int(rng.integers(2))]  # left or right: an orbit always moves and turns
        chain = motion_think(family, QUESTIONS[family], correct, None, None, frame=True)
        motion = chain.split(";")[0]  # "moved left, turned right"
        letter = "AB"[options.index(correct)]
        row = empty_row()
        row.update(id=f"told-{seed}-{i}", family="told_motion",
                   split="test" if rng.uniform() < test_share else "train", source="sanity",
                   images=[encode_image(rng.integers(40, 200, (size, size, 3), dtype=np.uint8)) for _ in range(2)],
                   question=TOLD_PREFIX.format(motion=motion) + QUESTIONS[family], options=options, answer=letter,
                   answer_text=correct, response=response(letter, correct, chain),
                   meta=json.dumps({"worded_as": family}))
        writer.add(row)
    return _finish(writer, {"name": "sanity-told-motion", "n": n, "size": size, "seed": seed})


TEXT_QUESTION = "The red square is in the {side} half. Is the red square in the left half or the right half?"


def text_answer_dataset(out: str | Path, n: int = 2000, size: int = 112, seed: int = 0, test_share: float = 0.1,
                        rows_per_shard: int = 1000) -> Path:
    """``n`` rows whose question states its own answer (fixed options: left, right); the photos are noise.

    The first check when a model stays at the answer prior: copying a word from the prompt needs no
    vision at all, and the tiny model learns it in ~100 steps. If it does not, the training plumbing is
    broken (masks, labels, batching) before anything about images is. It caught batches sorted by
    answer (sft.length_keys).
    """
    rng = np.random.default_rng(seed)
    writer = _writer(out, rows_per_shard, "sanity-text-answer")
    for i in range(n):
        side = int(rng.integers(2))
        correct = ["left", "right"][side]
        row = empty_row()
        row.update(id=f"text-{seed}-{i}", family="text_answer", split="test" if rng.uniform() < test_share else "train",
                   source="sanity", images=[encode_image(rng.integers(40, 200, (size, size, 3), dtype=np.uint8))
                                            for _ in range(2)],
                   question=TEXT_QUESTION.format(side=correct), options=["left", "right"], answer="AB"[side],
                   answer_text=correct, response=response("AB"[side], correct), meta="{}")
        writer.add(row)
    return _finish(writer, {"name": "sanity-text-answer", "n": n, "seed": seed})


def _writer(out: str | Path, rows_per_shard: int, name: str) -> ShardWriter:
    Path(out).mkdir(parents=True, exist_ok=True)
    return ShardWriter(out, rows_per_shard, {"source": name})


def _finish(writer: ShardWriter, generator: dict) -> Path:
    writer.flush()
    write_manifest(writer.directory, generator, writer.shards)  # an empty request gives an empty dataset
    return writer.directory


__all__ = ["brightness_dataset", "hue_turn_dataset", "named_position_dataset", "position_dataset", "shift_dataset",
           "text_answer_dataset", "told_motion_dataset"]
