"""Every label rule on hand-made poses (training/labels.py states the rules)."""

import numpy as np
import pytest

from sim_envs import geometry as geo
from training import labels as L
from training import questions as Q


def orbit(az, el=20.0, dist=1.0, roll=0.0, target=(0.0, 0.0, 0.0)):
    return geo.orbit_pose(target, az, el, dist, roll)


def turned(T, deg):
    """The same camera turned in place about the world vertical (positive = left)."""
    out = T.copy()
    out[:3, :3] = geo.rot_z(np.deg2rad(deg)) @ T[:3, :3]
    return out


def slid(T, metres):
    """The same camera moved along its horizontal right axis without turning."""
    out = T.copy()
    right = np.array([T[0, 0], T[1, 0], 0.0])
    out[:3, 3] += metres * right / np.linalg.norm(right)
    return out


def test_orbiting_counter_clockwise_moves_right_and_turns_left():
    # Seen from above, going counter-clockwise around the object moves the camera to its own right;
    # to keep looking at the object it must turn left. The object, facing camera 1, sees it go to its left.
    m = L.relative_motion(orbit(0), orbit(40))
    assert m.yaw_deg == pytest.approx(40.0)
    assert m.lateral_m > 0
    assert L.ego_translation(m) == "right"
    assert L.object_translation(m) == "left"
    assert L.ego_rotation(m) == "left"
    assert L.angle_bin(m) == "left 30°"
    assert L.numeric_yaw(m) == 40
    back = L.relative_motion(orbit(40), orbit(0))
    assert (L.ego_translation(back), L.object_translation(back), L.ego_rotation(back)) == ("left", "right", "right")
    assert L.angle_bin(back) == "right 30°" and L.numeric_yaw(back) == -40


def test_heading_wraps_across_180_degrees():
    m = L.relative_motion(orbit(170), orbit(-150))  # 40 degrees counter-clockwise, across the seam
    assert m.yaw_deg == pytest.approx(40.0)
    assert L.ego_rotation(m) == "left"


def test_turning_in_place_is_rotation_without_movement():
    T = orbit(25, el=30)
    for deg, side in [(15, "left"), (-15, "right")]:
        m = L.relative_motion(T, turned(T, deg))
        assert m.distance_m == pytest.approx(0.0, abs=1e-12)
        assert L.ego_translation(m) == "no movement" and L.object_translation(m) == "no movement"
        assert L.ego_rotation(m) == side
        assert m.yaw_deg == pytest.approx(deg)


def test_sliding_sideways_is_movement_without_rotation():
    T = orbit(-60, el=35)
    m = L.relative_motion(T, slid(T, 0.1))
    assert m.yaw_deg == pytest.approx(0.0, abs=1e-9) and m.lateral_m == pytest.approx(0.1)
    assert (L.ego_translation(m), L.object_translation(m), L.ego_rotation(m)) == ("right", "left", "no rotation")
    m = L.relative_motion(T, slid(T, -0.1))
    assert (L.ego_translation(m), L.object_translation(m)) == ("left", "right")


def test_thresholds_and_ambiguity_band():
    T = orbit(0)
    just_still, just_moved = L.relative_motion(T, slid(T, 0.019)), L.relative_motion(T, slid(T, 0.021))
    assert L.ego_translation(just_still) == "no movement" and L.ego_translation(just_moved) == "right"
    # within one threshold above the boundary the engine does not ask
    assert L.is_ambiguous(just_moved, "ego_translation") and not L.is_ambiguous(just_still, "ego_translation")
    assert not L.is_ambiguous(L.relative_motion(T, slid(T, 0.05)), "ego_translation")
    assert L.ego_rotation(L.relative_motion(T, turned(T, 4.9))) == "no rotation"
    assert L.ego_rotation(L.relative_motion(T, turned(T, 5.1))) == "left"
    assert L.is_ambiguous(L.relative_motion(T, turned(T, 7)), "ego_rotation")
    assert not L.is_ambiguous(L.relative_motion(T, turned(T, 12)), "ego_rotation")


def test_moving_forward_only_is_no_lateral_movement():
    T = orbit(0, dist=1.0)
    m = L.relative_motion(T, orbit(0, dist=0.6))
    assert m.forward_m == pytest.approx(0.4 * np.cos(np.deg2rad(20)), abs=1e-9)
    assert L.ego_translation(m) == "no movement" and L.ego_rotation(m) == "no rotation"


@pytest.mark.parametrize("yaw,expected,ambiguous", [
    (25, "left 30°", False), (44, "left 30°", True), (46, "left 60°", True), (60, "left 60°", False),
    (-80, "right 90°", False), (-100, "right 90°", False), (15, None, True), (120, None, True)])
def test_angle_bins(yaw, expected, ambiguous):
    T = orbit(0)
    m = L.relative_motion(T, turned(T, yaw))
    assert L.angle_bin(m) == expected
    assert L.is_ambiguous(m, "angle_bin") == ambiguous
    assert len(L.angle_bin_options()) == 6


def test_roll_and_height_do_not_change_the_labels():
    m = L.relative_motion(orbit(0, el=40, roll=15), orbit(50, el=15, roll=-10))
    assert L.ego_rotation(m) == "left" and L.ego_translation(m) == "right"
    assert m.yaw_deg == pytest.approx(50.0)


def test_bad_poses_are_rejected():
    down = geo.look_at((0, 0, 1), (0, 0, 0))
    with pytest.raises(ValueError, match="straight down"):
        L.relative_motion(down, orbit(0))
    with pytest.raises(ValueError, match="finite 4x4"):
        L.relative_motion(np.eye(3), orbit(0))
    bad = orbit(0)
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="finite 4x4"):
        L.relative_motion(bad, orbit(0))


def test_leftmost_and_rightmost_need_a_margin():
    us = {"red cube": 40.0, "blue duck": 120.0, "green box": 180.0}
    assert L.leftmost(us, 10) == "red cube" and L.rightmost(us, 10) == "green box"
    assert L.leftmost({"a": 50.0, "b": 55.0}, 10) is None
    assert L.leftmost({"a": 50.0}, 10) is None


def test_options_are_balanced_over_letters():
    rng = np.random.default_rng(0)
    letters = [Q.arrange(["left", "right", "no movement"], "right", slot, rng)[1] for slot in range(300)]
    assert letters.count("A") == letters.count("B") == letters.count("C") == 100
    opts, letter = Q.arrange(["left", "right", "no movement"], "no movement", 1, rng)
    assert opts[1] == "no movement" and letter == "B" and sorted(opts) == sorted(["left", "right", "no movement"])
