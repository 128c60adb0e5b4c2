"""Parsing model output and the GRPO rewards (paper: 0.5 x format + 0.5 x exact-match accuracy).

Answer format (DESIGN.md): ``<think>…</think><answer>X</answer>``. The answer is read from exactly
one ``<answer>`` block; anything else — no block, two blocks, nested tags, an empty block — is the
answer "none", never an exception. All patterns here are linear-time, so hostile completions (100 KB
of text, thousands of tags) cost microseconds per kilobyte.
"""

from __future__ import annotations

import math
import re
from typing import Any

NONE = "none"
MAX_CHARS = 65536  # longer completions are judged on their first and last 32 KB (no answer hides in the middle)
_TAG = re.compile(r"</?(?:think|answer)>")
_ANSWER = re.compile(r"<answer>([^<]*)</answer>")
# exactly: optional whitespace, <think> text without tags </think>, whitespace, <answer> text without tags </answer>
_FORMAT = re.compile(r"\s*<think>[^<]*(?:<(?!/?(?:think|answer)>)[^<]*)*</think>\s*<answer>[^<]*</answer>\s*")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
# the motion chain's first clause (questions.motion_think): "<think>moved right, turned left; camera: right</think>"
_MOTION = re.compile(r"<think>\s*(moved [a-z ]{1,20}, turned [a-z ]{1,20})[;:]")


def _text(completion: Any) -> str:
    """TRL passes strings, or conversational completions: a list of {"role", "content"} messages."""
    if isinstance(completion, str):
        text = completion
    elif isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        content = completion[-1].get("content", "")
        if isinstance(content, list):  # content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        text = str(content)
    else:
        text = "" if completion is None else str(completion)
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS // 2] + text[-MAX_CHARS // 2:]
    return text


def parse_answer(completion: Any) -> str:
    """The content of the single ``<answer>`` block, stripped; "none" if there is not exactly one well-formed block."""
    text = _text(completion)
    if text.count("<answer>") != 1 or text.count("</answer>") != 1:
        return NONE
    m = _ANSWER.search(text)
    if m is None:  # nested or misordered tags
        return NONE
    value = m.group(1).strip()
    return value if value else NONE


def format_ok(completion: Any) -> bool:
    """Exactly one ``<think>`` block followed by exactly one ``<answer>`` block, and nothing else."""
    text = _text(completion)
    if len(_TAG.findall(text)) != 4:
        return False
    return _FORMAT.fullmatch(text) is not None and parse_answer(text) != NONE


def is_correct(predicted: str, answer: str, tolerance: float | None = None) -> bool:
    """Letters match exactly (case-insensitive, "B." counts as "B"); numbers within ``tolerance``."""
    if predicted == NONE:
        return False
    if tolerance is not None and _NUMBER.match(answer.strip()):
        p = predicted.strip().rstrip("°").strip()
        if not _NUMBER.match(p):
            return False
        return abs(float(p) - float(answer)) <= tolerance
    return predicted.strip().rstrip(".").upper() == answer.strip().upper()


def motion_read(completion: Any) -> str | None:
    """The motion the completion's chain says the camera made (``moved right, turned left``), or None."""
    m = _MOTION.match(_text(completion).lstrip())
    return m.group(1) if m else None


def reward(completion: Any, answer: str, tolerance: float | None = None, format_weight: float = 0.5,
           accuracy_weight: float = 0.5) -> float:
    r = format_weight * float(format_ok(completion)) + accuracy_weight * float(
        is_correct(parse_answer(completion), answer, tolerance))
    return r if math.isfinite(r) else 0.0


# -- TRL GRPOTrainer reward functions: (completions, **dataset columns) -> list[float] ----------
def format_reward(completions: list, **kwargs) -> list[float]:
    return [float(format_ok(c)) for c in completions]


def accuracy_reward(completions: list, answer: list[str], family: list[str] | None = None, **kwargs) -> list[float]:
    from .questions import NUMERIC_TOLERANCE_DEG

    fams = family if family is not None else [""] * len(completions)
    return [float(is_correct(parse_answer(c), a, NUMERIC_TOLERANCE_DEG if f == "numeric_yaw" else None))
            for c, a, f in zip(completions, answer, fams)]


def motion_reward(completions: list, motion: list[str], **kwargs) -> list[float]:
    """1 where the chain's motion words are the camera's true motion (the dataset's ``motion`` column, which
    ``interchange.to_trl`` always writes), else 0; 0 for every completion of a row without one. Not the paper's:
    it pays for reading the images right even where the answer letter is right either way, so a group can vary
    where the accuracy reward does not."""
    return [float(bool(t) and motion_read(c) == t) for c, t in zip(completions, motion)]

