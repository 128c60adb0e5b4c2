"""Chains of thought written by a teacher model behind any OpenAI-compatible endpoint.

The default hybrid cold start derives its reasoning from the ground truth (training/questions.py).
With a teacher, each reasoning sample is rewritten by a stronger model that sees the images, the
question *and the correct answer*, and is asked to explain it in the paper's five steps. Output that
does not end with exactly one ``<answer>`` block holding the correct answer is discarded and the
ground-truth template kept, so a bad teacher can lower quality but never corrupt a label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .questions import prompt_text

TEACHER_INSTRUCTION = (
    "You are writing training data. The correct answer is {answer}. Explain, in five short steps, how to reach it "
    "from the photos: 1) identify what the images show, 2) analyse each view, 3) analyse how the camera moved "
    "between them, 4) put the trajectory together, 5) answer. Write the steps inside <think></think> and then "
    "<answer>{answer}</answer>, and nothing else.")
ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.S)


@dataclass
class Teacher:
    base_url: str
    model: str
    api_key: str = "EMPTY"
    timeout: float = 60.0
    max_tokens: int = 512

    def __post_init__(self):
        from openai import OpenAI

        self.client = OpenAI(base_url=self.base_url, api_key=self.api_key, timeout=self.timeout, max_retries=2)

    def rewrite(self, row: dict) -> dict:
        """``row`` with a teacher-written response, or unchanged if the teacher's answer is unusable."""
        if row["prompt_style"] != "reasoning":
            return row
        text = prompt_text(row["question"], row["options"], len(row["images"]), True)
        from actial_robot.client import image_to_data_url

        content = [{"type": "image_url", "image_url": {"url": image_to_data_url(b)}} for b in row["images"]]
        content.append({"type": "text", "text": text + "\n\n" + TEACHER_INSTRUCTION.format(answer=row["answer"])})
        reply = self.client.chat.completions.create(model=self.model, messages=[{"role": "user", "content": content}],
                                                    max_tokens=self.max_tokens, temperature=0.7)
        out = (reply.choices[0].message.content or "").strip()
        answers = ANSWER_RE.findall(out)
        if len(answers) != 1 or answers[0].strip() != row["answer"] or not out.startswith("<think>") \
                or "</think>" not in out or not out.endswith("</answer>"):
            return row
        return {**row, "response": out}
