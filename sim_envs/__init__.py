"""Gymnasium environments on PyBullet: tabletop pick-and-place and object-centric orbits.

Importing this package registers ``actial/PickPlace-v0`` and ``actial/ViewpointOrbit-v0``.
"""

import importlib

from gymnasium.envs.registration import register, registry

# Classes load on first use (PEP 562), so that training code importing sim_envs.config on a
# training-only host does not need PyBullet.
_LAZY = {
    "CameraConfig": "camera", "CameraRig": "camera", "CameraView": "camera", "Intrinsics": "geometry",
    "PickPlaceConfig": "pick_place", "PickPlaceEnv": "pick_place", "SceneConfig": "scene",
    "ViewpointOrbitConfig": "viewpoint_orbit", "ViewpointOrbitEnv": "viewpoint_orbit",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if "actial/PickPlace-v0" not in registry:
    register(id="actial/PickPlace-v0", entry_point="sim_envs.pick_place:PickPlaceEnv", max_episode_steps=200)
if "actial/ViewpointOrbit-v0" not in registry:
    register(id="actial/ViewpointOrbit-v0", entry_point="sim_envs.viewpoint_orbit:ViewpointOrbitEnv", max_episode_steps=64)

__all__ = [
    "CameraConfig", "CameraRig", "CameraView", "Intrinsics", "PickPlaceConfig", "PickPlaceEnv",
    "SceneConfig", "ViewpointOrbitConfig", "ViewpointOrbitEnv",
]
