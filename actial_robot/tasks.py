"""Viewpoint-dependent pick-and-place instructions, with their ground truth from the scene.

The instruction names the object to move relative to a viewpoint that is not the robot's:
  speaker_left  an operator stands at camera C and says "hand me the object on my left/right"
  leftmost      "the object that camera C sees left-most"
The robot's own view (``front``) and the operator's camera (C, one of the orbit cameras) are the
two photos of the question, worded exactly as the data engine words these families
(``training.questions``), so a model trained on them is asked what it learned. The answer comes
from projecting the objects' centres into C; instructions that a margin cannot settle (two objects
nearly aligned in C's image) are not posed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim_envs import geometry as geo
from training import labels as L
from training import questions as Q

TASK_FAMILIES = ("speaker_left", "leftmost")
OPERATOR_CAMERAS = ("left", "right")  # the rig's orbit cameras: never the robot's own viewpoint
ROBOT_CAMERA = "front"
MARGIN = 0.08  # of the image width, as in the data engine


@dataclass
class ViewpointTask:
    family: str
    camera: str  # the operator's camera
    side: str  # "left" | "right"
    instruction: str  # what the operator says, in words
    question: str  # the model's question (data engine wording)
    options: list[str]  # the scene's object labels, in scene order
    answer_index: int  # ground truth: which object is meant
    images: list[np.ndarray]  # [robot's view, operator's view], RGB

    @property
    def answer(self) -> str:
        return self.options[self.answer_index]


def object_pixels_u(env, camera: str) -> dict[str, float]:
    """Image x of every object's centre in ``camera`` (objects behind the camera are left out)."""
    base = env.unwrapped
    view_pose = base.rig.pose(camera)
    k = base.rig.config(camera).intrinsics
    out = {}
    for o in base.objects:
        (uv, depth) = geo.project(np.asarray([base.sim.body_pose(o.body)[0]]), k, view_pose)
        if depth[0] > 0:
            out[o.label] = float(uv[0, 0])
    return out


def make_task(env, rng: np.random.Generator, families=TASK_FAMILIES, cameras=OPERATOR_CAMERAS) -> ViewpointTask | None:
    """A random unambiguous instruction for the current scene, or None if none can be posed."""
    base = env.unwrapped
    labels = [o.label for o in base.objects]
    if len(set(labels)) != len(labels) or len(labels) < 2:
        return None  # "the red cube" must name one object
    tries = [(f, c, s) for f in families for c in cameras for s in ("left", "right")]
    for i in rng.permutation(len(tries)):
        family, camera, side = tries[i]
        if family == "leftmost" and side == "right":
            continue
        us = object_pixels_u(env, camera)
        if len(us) != len(labels):
            continue
        width = base.rig.config(camera).width
        pick = L.leftmost if side == "left" else L.rightmost
        answer = pick(us, MARGIN * width)
        if answer is None:
            continue
        if family == "speaker_left":
            question = Q.QUESTIONS["speaker_left"].format(side=side)
            instruction = f"The operator at the {camera} camera says: hand me the object on my {side}."
        else:
            question = Q.QUESTIONS["leftmost"]
            instruction = f"Move the object that the {camera} camera sees left-most."
        images = [base.rig.render(ROBOT_CAMERA).rgb, base.rig.render(camera).rgb]
        return ViewpointTask(family, camera, side, instruction, question, labels, labels.index(answer), images)
    return None


__all__ = ["MARGIN", "OPERATOR_CAMERAS", "ROBOT_CAMERA", "TASK_FAMILIES", "ViewpointTask", "make_task",
           "object_pixels_u"]
