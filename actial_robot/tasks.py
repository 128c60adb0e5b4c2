"""Viewpoint-dependent pick-and-place instructions, with their ground truth from the scene.

The instruction names the object to move relative to a viewpoint that is not the robot's:
  speaker_left  the operator says "hand me the object on my left/right"
  leftmost      "move the object that the operator's camera sees left-most"
The operator stands at one of two stations (C: the poses of the rig's ``left`` and ``right`` orbit
cameras) and their own camera (``operator``) sees the scene from there. The answer comes from
projecting the objects' centres into C; instructions that a margin cannot settle (two objects nearly
aligned in C's image) are not posed.

A model can be asked in two ways (``ASK_MODES``), both with the robot's view and the operator's photo:
  object     which object is meant (the instruction's family, data engine wording, the scene's
             objects as options): the whole task in one answer
  viewpoint  where the operator's photo was taken relative to the robot's view (the paper's
             ego_translation question: did the camera move left or right?). The robot knows the two
             stations but not which one the operator is at; from the answer it takes the station and
             resolves the instruction with its own geometry (``object_for``). The model does the
             cross-view part, the robot the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim_envs import geometry as geo
from sim_envs.pick_place import OPERATOR_CAMERA, ROBOT_CAMERA, STATION_CAMERAS
from training import labels as L
from training import questions as Q

TASK_FAMILIES = ("speaker_left", "leftmost")
OPERATOR_CAMERAS = STATION_CAMERAS  # the stations: the rig's orbit cameras, never the robot's own viewpoint
ASK_MODES = ("viewpoint", "object")
VIEWPOINT_FAMILY = "ego_translation"  # what the viewpoint mode asks
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
    # the viewpoint mode: the answer to the ego_translation question (robot's view -> each station) and
    # the object the instruction would mean if the operator stood there (None: not settled by the margin)
    station_directions: dict[str, str]
    station_answers: dict[str, int | None]

    @property
    def answer(self) -> str:
        return self.options[self.answer_index]

    @property
    def viewpoint_question(self) -> str:
        return Q.QUESTIONS[VIEWPOINT_FAMILY]

    @property
    def viewpoint_options(self) -> list[str]:
        return list(Q.OPTIONS[VIEWPOINT_FAMILY])

    @property
    def viewpoint_answer(self) -> str:
        return self.station_directions[self.camera]

    def answers_by_direction(self) -> dict[str, int | None]:
        """Viewpoint answer ("left", "right", ...) -> the object meant if the operator is where it says."""
        return {d: self.station_answers[c] for c, d in self.station_directions.items()}

    def object_for(self, direction: str) -> int | None:
        """The object the robot picks when the model says the operator's photo was taken ``direction``."""
        return self.answers_by_direction().get(direction)


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


def _meant(env, family: str, camera: str, side: str, labels: list[str]) -> int | None:
    """The object the instruction means, seen from ``camera``; None if the margin cannot settle it."""
    base = env.unwrapped
    us = object_pixels_u(env, camera)
    if len(us) != len(labels):
        return None
    pick = L.leftmost if side == "left" or family == "leftmost" else L.rightmost
    answer = pick(us, MARGIN * base.rig.config(camera).width)
    return None if answer is None else labels.index(answer)


def station_direction(env, camera: str) -> str:
    """The ego_translation answer for the robot's view followed by a photo taken at ``camera``."""
    rig = env.unwrapped.rig
    return L.ego_translation(L.relative_motion(rig.pose(ROBOT_CAMERA), rig.pose(camera)))


def make_task(env, rng: np.random.Generator, families=TASK_FAMILIES, cameras=OPERATOR_CAMERAS) -> ViewpointTask | None:
    """A random unambiguous instruction for the current scene, or None if none can be posed."""
    base = env.unwrapped
    labels = [o.label for o in base.objects]
    if len(set(labels)) != len(labels) or len(labels) < 2:
        return None  # "the red cube" must name one object
    directions = {c: station_direction(env, c) for c in cameras}
    if len(set(directions.values())) != len(directions):
        raise ValueError(f"the stations {cameras} are not told apart by the viewpoint question: {directions}")
    tries = [(f, c, s) for f in families for c in cameras for s in ("left", "right")]
    for i in rng.permutation(len(tries)):
        family, camera, side = tries[i]
        if family == "leftmost" and side == "right":
            continue
        answer = _meant(env, family, camera, side, labels)
        if answer is None:
            continue
        if family == "speaker_left":
            question = Q.QUESTIONS["speaker_left"].format(side=side)
            instruction = f"The operator says: hand me the object on my {side}."  # not where they stand
        else:
            question = Q.QUESTIONS["leftmost"]
            instruction = "Move the object that the operator's camera sees left-most."
        operator = camera
        if OPERATOR_CAMERA in base.rig.names:  # the operator's own camera goes where they stand
            c = base.rig.config(camera)
            base.rig.set_orbit(OPERATOR_CAMERA, azimuth=c.azimuth, elevation=c.elevation, distance=c.distance,
                               target=c.target, roll=c.roll)
            operator = OPERATOR_CAMERA
        images = [base.rig.render(ROBOT_CAMERA).rgb, base.rig.render(operator).rgb]
        return ViewpointTask(family, camera, side, instruction, question, labels, answer, images, directions,
                             {c: _meant(env, family, c, side, labels) for c in cameras})
    return None


__all__ = ["ASK_MODES", "MARGIN", "OPERATOR_CAMERA", "OPERATOR_CAMERAS", "ROBOT_CAMERA", "TASK_FAMILIES",
           "VIEWPOINT_FAMILY", "ViewpointTask", "make_task", "object_pixels_u", "station_direction"]
