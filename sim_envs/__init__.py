"""Gymnasium environments on PyBullet: tabletop pick-and-place and object-centric orbits.

Importing this package registers ``actial/PickPlace-v0`` and ``actial/ViewpointOrbit-v0``.
"""

from gymnasium.envs.registration import register, registry

from .camera import CameraConfig, CameraRig, CameraView
from .geometry import Intrinsics
from .pick_place import PickPlaceConfig, PickPlaceEnv
from .scene import SceneConfig
from .viewpoint_orbit import ViewpointOrbitConfig, ViewpointOrbitEnv

if "actial/PickPlace-v0" not in registry:
    register(id="actial/PickPlace-v0", entry_point="sim_envs.pick_place:PickPlaceEnv", max_episode_steps=200)
if "actial/ViewpointOrbit-v0" not in registry:
    register(id="actial/ViewpointOrbit-v0", entry_point="sim_envs.viewpoint_orbit:ViewpointOrbitEnv", max_episode_steps=64)

__all__ = [
    "CameraConfig", "CameraRig", "CameraView", "Intrinsics", "PickPlaceConfig", "PickPlaceEnv",
    "SceneConfig", "ViewpointOrbitConfig", "ViewpointOrbitEnv",
]
