"""Question families: a pair of posed views -> one multiple-choice (or numeric) sample.

The paper's three families (ego-centric translation, object-centric translation, ego-centric
rotation) use its phrasing and three shuffled options; ``angle_bin`` adds the paper's
direction-plus-angle form (six options), ``numeric_yaw`` asks for degrees. The cross-view object
families are what the pick-and-place agent needs: find the marked object in another view, name the
left-most object seen from another camera, resolve "on my left" for a person standing elsewhere.

Answers are computed by ``training.labels`` from poses (viewpoint families) or from scene
geometry (object families), never from pixels. ``prompt_text`` builds the user turn every
exporter and trainer uses, so the wording lives in one place.
"""

from __future__ import annotations

import json
import uuid

import cv2
import numpy as np

from . import labels as L
from .dataset import LETTERS, empty_row, format_options
from .views import View, encode_image

PAPER_FAMILIES = ("ego_translation", "object_translation", "ego_rotation")
VIEWPOINT_FAMILIES = PAPER_FAMILIES + ("angle_bin", "numeric_yaw")
OBJECT_FAMILIES = ("cross_view_match", "leftmost", "speaker_left")
ALL_FAMILIES = VIEWPOINT_FAMILIES + OBJECT_FAMILIES
NUMERIC_TOLERANCE_DEG = 10.0  # a numeric_yaw answer within this many degrees counts as correct

QUESTIONS = {
    "ego_translation": "From the camera's perspective, did the camera that took the second photo move relative to "
                       "the first one? If so, in which direction?",
    "object_translation": "From the object's perspective (the object faces the first camera), did the camera that "
                          "took the second photo move relative to the first one? If so, in which direction?",
    "ego_rotation": "From the camera's perspective, did the camera's orientation rotate between the first photo and "
                    "the second? If so, which way did it turn?",
    "angle_bin": "From the camera's perspective, how did the camera turn between the first photo and the second?",
    "numeric_yaw": "By how many degrees did the camera turn (yaw) between the first photo and the second? Answer with "
                   "a signed whole number: positive if it turned left, negative if it turned right.",
    "cross_view_match": "One object is circled in red in the first photo. The objects in the second photo are "
                        "numbered. Which numbered object in the second photo is the circled one?",
    "leftmost": "Seen from the camera that took the second photo, which object is the left-most?",
    "speaker_left": "A person stands where the second photo was taken, facing the scene, and says: "
                    "\"hand me the object on my {side}\". Which object do they mean?",
}
OPTIONS = {
    "ego_translation": ["left", "right", "no movement"],
    "object_translation": ["left", "right", "no movement"],
    "ego_rotation": ["left", "right", "no rotation"],
    "angle_bin": L.angle_bin_options(),
}
# Direct answers name the answer before its letter: the letter then follows from text the model has
# just written, and every direct answer carries the <think>/<answer> format GRPO rewards.
# The instructions are worded to one length in the tiny preset's tokens (19; tests/test_presets.py checks
# it). The instruction is the last text before the answer, and the from-scratch model finds the
# question (which family, so which frame) at a fixed distance back from there: with the reasoning
# instruction two tokens longer, a model trained on direct prompts answered reasoning prompts at 45-47%
# (every family in one frame), and a 150-step cold start got one seed of three to 68%; worded to the
# same length, the same models started at 67-75% and reached 99.7-100% by step 100 (docs/training-log.md:
# instructions of one length).
DIRECT_INSTRUCTION = "Name the answer inside <think></think>, then give the option's letter inside <answer></answer>."
REASONING_INSTRUCTION = ("First think step by step inside <think></think>, then give the letter inside "
                         "<answer></answer>.")
NUMERIC_DIRECT = "Name the answer inside <think></think>, then give it as a number inside <answer></answer>."
NUMERIC_REASONING = "First think step by step inside <think></think>, then give the number inside <answer></answer>."
INSTRUCTIONS = (DIRECT_INSTRUCTION, REASONING_INSTRUCTION, NUMERIC_DIRECT, NUMERIC_REASONING)


def prompt_text(question: str, options: list[str], n_images: int, reasoning: bool) -> str:
    """The user turn's text (images come first, one placeholder each, inserted by the caller's chat format)."""
    parts = [question]
    if options:
        parts.append("Options:\n" + format_options(options))
        parts.append(REASONING_INSTRUCTION if reasoning else DIRECT_INSTRUCTION)
    else:
        parts.append(NUMERIC_REASONING if reasoning else NUMERIC_DIRECT)
    return "\n".join(parts)


# keys cached TRL datasets (interchange.to_trl): change it with the order or the instructions' wording
PROMPT_LAYOUT = "question-images-instruction/2"


def split_prompt_text(text: str) -> tuple[str, str]:
    """``prompt_text``'s output cut where the images go: (question and options + "\n", the instruction)."""
    head, sep, instruction = text.rpartition("\n")  # the instruction is prompt_text's last line
    return head + sep, instruction


def user_content(text: str, image_parts: list[dict]) -> list[dict]:
    """The user turn's content parts: the question and its options, the images in order, then the
    answer-format instruction (``text`` is ``prompt_text``'s output; joined, the text parts give it back).

    The images sit between the question and the instruction on purpose. Qwen2.5-VL's M-RoPE is
    relative: with the images first, the question's varying length came between them and the answer, so
    the answer's distance to photo 1 and photo 2 changed from question to question, and the from-scratch
    tiny model did not learn even "which way did the red square move?" in 700 steps; with the images
    after the question it did in 400-500 (docs/training-log.md; bench/sanity.py). The instruction comes last,
    next to the answer, as before: with the images last instead, the tiny model's chain of thought degenerated
    ("the the the ...", format rate 100% -> 0% in the loop's run). Every caller -- training, evaluation,
    the served model's client, the LLaMA-Factory export -- builds its prompt with this order.
    """
    head, instruction = split_prompt_text(text)
    return [{"type": "text", "text": head}, *image_parts, {"type": "text", "text": instruction}]


def response(answer: str, answer_text: str, reasoning_text: str | None = None) -> str:
    """The assistant turn: ``<think>`` holds the chain of thought, or for a direct answer just the answer's text."""
    return f"<think>{reasoning_text or answer_text}</think><answer>{answer}</answer>"


DIRECT_THINKS = ("answer", "motion", "motion_frame")
REASONING_THINKS = ("prose", "motion", "motion_frame")  # a reasoning row's chain: the data engine's, or the short one


def motion_think(family: str, question: str, answer_text: str, yaw_deg: float | None,
                 lateral_m: float | None, frame: bool = False) -> str | None:
    """A direct answer's short chain for the paper's three families: ``moved right, turned left: left``.

    The camera's own motion comes first (the same words for every family, read from the images), then the
    answer, which the question's frame of reference maps from those words: ``ego_translation`` repeats
    "moved", ``ego_rotation`` "turned", ``object_translation`` mirrors "moved". Without it, one image cue
    must give opposite answers under two wordings, and the tiny model learns that product of text and image
    slowly (docs/training-log.md: the motion chain). None where the row has no such motion: other families, or
    a sanity rung not worded as one of the three. A rung worded as a family's question (``question`` is
    that family's) stands for the motion its answer implies. ``frame``: name the frame of reference before
    the answer (``moved right, turned left; object: left``), so the answer word depends on the word just
    before it rather than on the wording of the question ("camera's" / "object's") far back.
    """
    import math

    if family in PAPER_FAMILIES and yaw_deg is not None and lateral_m is not None \
            and math.isfinite(yaw_deg) and math.isfinite(lateral_m):
        m = L.RelativeMotion(yaw_deg=yaw_deg, lateral_m=lateral_m, forward_m=0.0, vertical_m=0.0, distance_m=0.0)
        moved, turned = L.ego_translation(m), L.ego_rotation(m)
        worded = family
    else:
        worded = next((f for f in PAPER_FAMILIES if QUESTIONS[f] == question), None)
        if worded is None or answer_text not in ("left", "right"):
            return None
        # the camera circles the scene: it moves one way and turns the other (object_translation mirrors moved)
        moved = answer_text if worded == "ego_translation" else L.mirrored(answer_text)
        turned = L.mirrored(moved)
    if frame:
        word = {"ego_translation": "camera", "object_translation": "object", "ego_rotation": "turn"}[worded]
        return f"moved {moved}, turned {turned}; {word}: {answer_text}"
    return f"moved {moved}, turned {turned}: {answer_text}"


def arrange(options: list[str], correct: str, slot: int | None, rng: np.random.Generator) -> tuple[list[str], str]:
    """Shuffle ``options`` so that ``correct`` lands on letter ``slot`` (callers cycle slots to balance letters).

    ``slot=None`` keeps the given (canonical) order: the letter then follows from the answer alone.
    """
    if slot is None:
        return list(options), LETTERS[list(options).index(correct)]
    others = [o for o in options if o != correct]
    rng.shuffle(others)
    slot = slot % len(options)
    arranged = others[:slot] + [correct] + others[slot:]
    return arranged, LETTERS[slot]


def _where(u: float, width: int) -> str:
    x = u / max(width, 1)
    return "left part" if x < 0.38 else "right part" if x > 0.62 else "middle"


def _viewpoint_reasoning(family: str, m: L.RelativeMotion, v1: View, v2: View, answer_text: str, letter: str) -> str:
    """A chain of thought that follows the paper's steps, written from the ground truth."""
    subject = ", ".join(v1.scene.objects) or "the same scene"
    floor = f" on a {v1.scene.background.replace('_', ' ')} floor" if v1.scene.background else ""
    steps = [f"Step 1 - the images: both photos show {subject}{floor}, from two viewpoints."]
    seen = [lab for lab in v1.objects if lab in v2.objects]
    if seen:
        lab = seen[0]
        a, b = v1.objects[lab], v2.objects[lab]
        steps.append(f"Step 2 - the views: the {lab} is in the {_where(a.u, v1.width)} of the first photo and the "
                     f"{_where(b.u, v2.width)} of the second; the floor pattern behind it has changed, so the viewpoint moved.")
    else:
        steps.append("Step 2 - the views: the background pattern differs between the photos, so the viewpoint changed.")
    turn = "left" if m.yaw_deg > 0 else "right"
    side = "right" if m.lateral_m > 0 else "left"
    steps.append(f"Step 3 - the movement: the camera moved about {abs(m.lateral_m) * 100:.0f} cm to its {side} and "
                 f"turned {turn} by about {abs(m.yaw_deg):.0f} degrees.")
    if abs(m.lateral_m) >= L.TRANSLATION_THRESHOLD and abs(m.yaw_deg) >= L.ROTATION_THRESHOLD and turn != side:
        steps.append(f"Step 4 - the trajectory: it circled the scene towards its {side}, turning {turn} to keep it in view.")
    elif abs(m.lateral_m) < L.TRANSLATION_THRESHOLD:
        steps.append(f"Step 4 - the trajectory: it stayed in place and only turned {turn}.")
    elif abs(m.yaw_deg) < L.ROTATION_THRESHOLD:
        steps.append(f"Step 4 - the trajectory: it slid sideways to its {side} without turning.")
    else:
        steps.append(f"Step 4 - the trajectory: it moved {side} and turned {turn}.")
    if family == "object_translation":
        steps.append("The object faces the first camera, so the camera's right is the object's left and vice versa.")
    steps.append(f"Step 5 - the answer: {answer_text}" + (f", option {letter}." if letter else "."))
    return " ".join(steps)


def _row(family: str, v1: View, v2: View, images: list[bytes], question: str, options: list[str], answer: str,
         answer_text: str, reasoning_text: str | None, m: L.RelativeMotion | None, meta: dict) -> dict:
    row = empty_row()
    reasoning = reasoning_text is not None
    row.update({
        "id": uuid.uuid5(uuid.NAMESPACE_URL, f"{v1.view_id}|{v2.view_id}|{family}").hex[:16],
        "family": family, "split": v1.scene.split, "source": v1.scene.source, "images": images,
        "question": question, "options": options, "answer": answer, "answer_text": answer_text,
        "prompt_style": "reasoning" if reasoning else "direct",
        "response": response(answer, answer_text, reasoning_text),
        "poses": [v1.pose.reshape(-1).tolist(), v2.pose.reshape(-1).tolist()],
        "intrinsics": [list(map(float, v1.intrinsics)), list(map(float, v2.intrinsics))],
        "scene_id": v1.scene.scene_id, "background": v1.scene.background, "objects": list(v1.scene.objects),
        "meta": json.dumps({"views": [v1.view_id, v2.view_id], "cameras": [v1.camera, v2.camera], **meta}),
    })
    if m is not None:
        row.update(yaw_deg=m.yaw_deg, lateral_m=m.lateral_m, forward_m=m.forward_m, vertical_m=m.vertical_m)
    return row


def viewpoint_sample(family: str, v1: View, v2: View, m: L.RelativeMotion, slot: int | None, reasoning: bool,
                     rng: np.random.Generator) -> dict | None:
    """One viewpoint question about the pair (v1 -> v2), or None if the pair is ambiguous for ``family``."""
    if L.is_ambiguous(m, family):
        return None
    if family == "numeric_yaw":
        answer = str(L.numeric_yaw(m))
        text = _viewpoint_reasoning(family, m, v1, v2, f"it turned {answer} degrees", "") if reasoning else None
        return _row(family, v1, v2, [v1.image, v2.image], QUESTIONS[family], [], answer, answer, text, m,
                    {"tolerance_deg": NUMERIC_TOLERANCE_DEG})
    correct = {"ego_translation": L.ego_translation, "object_translation": L.object_translation,
               "ego_rotation": L.ego_rotation, "angle_bin": L.angle_bin}[family](m)
    if correct is None:
        return None
    options, letter = arrange(OPTIONS[family], correct, slot, rng)
    text = _viewpoint_reasoning(family, m, v1, v2, correct, letter) if reasoning else None
    return _row(family, v1, v2, [v1.image, v2.image], QUESTIONS[family], options, letter, correct, text, m, {})


def _mark_circle(rgb: np.ndarray, u: float, v: float, pixels: int) -> np.ndarray:
    out = rgb.copy()
    r = int(max(6, 1.4 * np.sqrt(pixels / np.pi)))
    cv2.circle(out, (int(round(u)), int(round(v))), r, (255, 0, 0), max(1, rgb.shape[0] // 112))
    return out


def _mark_numbers(rgb: np.ndarray, points: list[tuple[float, float]]) -> np.ndarray:
    out = rgb.copy()
    scale = rgb.shape[0] / 224
    for i, (u, v) in enumerate(points, start=1):
        org = (int(u - 6 * scale), int(v - 12 * scale))
        cv2.putText(out, str(i), org, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, (0, 0, 0), max(2, int(4 * scale)))
        cv2.putText(out, str(i), org, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, (255, 255, 255), max(1, int(2 * scale)))
    return out


def object_sample(family: str, v1: View, v2: View, slot: int | None, reasoning: bool, rng: np.random.Generator,
                  image_format: str = "jpeg") -> dict | None:
    """One cross-view object question, or None when the views don't support it unambiguously."""
    both = [lab for lab in v1.scene.objects if lab in v1.objects and lab in v2.objects]
    if len(both) < 2:
        return None
    margin = 0.08 * v2.width  # objects closer than this in image x make "left-most" a judgement call
    m = L.relative_motion(v1.pose, v2.pose)
    if family == "cross_view_match":
        if v1.rgb is None or v2.rgb is None:
            return None
        target = both[int(rng.integers(len(both)))]
        o1 = v1.objects[target]
        order = list(both)
        rng.shuffle(order)
        pts = [(v2.objects[lab].u, v2.objects[lab].v) for lab in order]
        if min(np.hypot(a[0] - b[0], a[1] - b[1]) for i, a in enumerate(pts) for b in pts[i + 1:]) < margin:
            return None  # numbers would overlap
        images = [encode_image(_mark_circle(v1.rgb, o1.u, o1.v, o1.pixels), image_format),
                  encode_image(_mark_numbers(v2.rgb, pts), image_format)]
        canon = [f"object {i}" for i in range(1, len(order) + 1)]
        correct = f"object {order.index(target) + 1}"
        options, letter = arrange(canon, correct, slot, rng)
        text = (f"Step 1 - the circled object in the first photo is the {target}. Step 2 - in the second photo the "
                f"{target} is in the {_where(v2.objects[target].u, v2.width)} and carries the number "
                f"{order.index(target) + 1}. Step 3 - the answer: {correct}, option {letter}.") if reasoning else None
        return _row(family, v1, v2, images, QUESTIONS[family], options, letter, correct, text, m,
                    {"marked": target, "numbered": order})
    us = {lab: v2.objects[lab].u for lab in both}
    if family == "leftmost":
        correct, question, side = L.leftmost(us, margin), QUESTIONS[family], "left"
    elif family == "speaker_left":
        side = "left" if rng.uniform() < 0.5 else "right"
        correct = (L.leftmost if side == "left" else L.rightmost)(us, margin)
        question = QUESTIONS[family].format(side=side)
    else:
        raise ValueError(f"unknown object family {family!r}")
    if correct is None:
        return None
    options, letter = arrange(list(both), correct, slot, rng)
    text = None
    if reasoning:
        order = ", ".join(lab for lab, _ in sorted(us.items(), key=lambda kv: kv[1]))
        text = (f"Step 1 - the second photo is taken from the viewpoint in question. Step 2 - from left to right "
                f"it shows: {order}. Step 3 - the object on the {side} is the {correct}, option {letter}.")
    return _row(family, v1, v2, [v1.image, v2.image], question, options, letter, correct, text, m,
                {"side": side, "u_in_view2": us})
