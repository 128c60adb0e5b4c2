"""Camera correctness: a known 3-D point, projected with the reported intrinsics and pose, lands on
the pixel where PyBullet drew it — for fixed, orbit and wrist cameras."""

import numpy as np
import pybullet as p
import pytest

from sim_envs import CameraConfig, PickPlaceEnv
from sim_envs import geometry as geo

MARKER_RADIUS = 0.006


def _add_marker(env, point) -> int:
    c = env.sim.client
    vis = c.createVisualShape(p.GEOM_SPHERE, radius=MARKER_RADIUS, rgbaColor=[1, 0, 1, 1])
    return c.createMultiBody(0.0, -1, vis, list(point))


def _check_marker(view, body, point):
    """The projected centre is inside the marker's mask, within a pixel of the mask's centroid,
    and the depth image there matches the point's camera depth to within the marker's radius."""
    uv, z = geo.project(np.array([point]), view.intrinsics, view.pose)
    (u, v), z = uv[0], float(z[0])
    mask = view.segmentation == body
    assert mask.any(), f"{view.camera}: marker not visible"
    ys, xs = np.nonzero(mask)
    assert mask[int(round(v)), int(round(u))], f"{view.camera}: projected pixel ({u:.1f}, {v:.1f}) is not on the marker"
    # TinyRenderer samples pixel centres exactly (see geometry.gl_projection_matrix); one pixel is
    # the discretisation of a mask a few pixels wide.
    assert abs(xs.mean() - u) < 1.0 and abs(ys.mean() - v) < 1.0, (xs.mean(), ys.mean(), u, v)
    assert abs(view.depth[int(round(v)), int(round(u))] - (z - MARKER_RADIUS)) < 0.004


CAMERAS = [
    CameraConfig("fixed", "fixed", 200, 150, fov=55, position=(0.5, 0.35, 0.45), target=(-0.05, 0.0, 0.05), roll=12),
    CameraConfig("orbit", "orbit", 224, 224, fov=60, target=(-0.05, 0.0, 0.0), azimuth=140, elevation=35,
                 distance=0.8, roll=-20),
    CameraConfig("wrist", "wrist", 160, 120, fov=70),
    CameraConfig("small", "orbit", 112, 112, target=(0.0, 0.0, 0.0), azimuth=-60, elevation=55, distance=0.7),
]


@pytest.mark.parametrize("cam", CAMERAS, ids=[c.name for c in CAMERAS])
def test_projection_matches_rendering(cam):
    env = PickPlaceEnv(cameras=[cam], render_camera=cam.name)
    try:
        env.reset(seed=0)
        rng = np.random.default_rng(1)
        T_wc = env.rig.pose(cam.name)
        for _ in range(3):
            # a random point in front of the camera, well inside the image
            x = rng.uniform(-0.25, 0.25)
            # the wrist camera sees the fingers in the lower part of its image: stay above them
            y = rng.uniform(-0.25, 0.0 if cam.kind == "wrist" else 0.25)
            # the wrist camera looks down at the table from 0.3 m: keep its points above the table
            zc = rng.uniform(0.12, 0.22) if cam.kind == "wrist" else rng.uniform(0.25, 0.45)
            point = (T_wc @ np.array([x * zc, y * zc, zc, 1.0]))[:3]
            body = _add_marker(env, point)
            _check_marker(env.rig.render(cam.name), body, point)
            env.sim.client.removeBody(body)
    finally:
        env.close()


def test_wrist_camera_follows_the_hand():
    env = PickPlaceEnv()
    try:
        env.reset(seed=0)
        before = env.rig.pose("wrist")
        for _ in range(10):
            env.step(np.array([0.0, 1.0, 0.0, 0.0], np.float32))
        after = env.rig.pose("wrist")
        moved = after[:3, 3] - before[:3, 3]
        assert moved[1] > 0.1  # the hand went +y and took the camera with it
        # the camera stays rigidly mounted: its pose relative to the hand link does not change
        rel_before = np.linalg.inv(env.scene.robot.link_pose("panda_hand")) @ after
        env.step(np.array([1.0, 0.0, -0.5, 0.0], np.float32))
        rel_after = np.linalg.inv(env.scene.robot.link_pose("panda_hand")) @ env.rig.pose("wrist")
        np.testing.assert_allclose(rel_before, rel_after, atol=1e-6)
    finally:
        env.close()


def test_pose_convention_on_hand_made_cameras():
    # Camera at the origin looking along +x with z up: image right is world -y, image down is world -z.
    T = geo.look_at((0, 0, 0), (1, 0, 0))
    np.testing.assert_allclose(T[:3, 0], [0, -1, 0], atol=1e-12)
    np.testing.assert_allclose(T[:3, 1], [0, 0, -1], atol=1e-12)
    np.testing.assert_allclose(T[:3, 2], [1, 0, 0], atol=1e-12)
    # A point ahead and to the world's -y side appears right of centre.
    intr = geo.Intrinsics.from_fov(60, 101, 101)
    u, v = geo.project(np.array([[2.0, -0.5, 0.0]]), intr, T)[0][0]
    assert u > intr.cx and v == pytest.approx(intr.cy)
    # Poses are rigid transforms.
    for T in [geo.orbit_pose((0.1, 0.2, 0.0), az, el, 0.7, roll) for az, el, roll in [(0, 10, 0), (123, 60, 15), (-90, 5, -30)]]:
        R = T[:3, :3]
        np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-12)
        assert np.linalg.det(R) == pytest.approx(1.0)


def test_resolution_is_per_camera():
    env = PickPlaceEnv(cameras=[CameraConfig("a", width=112, height=112),
                                CameraConfig("b", "orbit", width=448, height=224)], render_camera="a")
    try:
        env.reset(seed=0)
        views = env.capture()
        assert views["a"].rgb.shape == (112, 112, 3)
        assert views["b"].rgb.shape == (224, 448, 3) and views["b"].depth.shape == (224, 448)
        assert views["b"].intrinsics.width == 448
    finally:
        env.close()
