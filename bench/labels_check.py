"""An independent check of the rotation labels, from pixels only.

    .venv/bin/python bench/labels_check.py [--pairs 300] [--size 224] [--seed 0] [--out bench/results/labels_check.json]

The data engine labels every pair from the two camera poses (``training/labels.py``); it never looks
at the images. This script checks those labels against classic two-view geometry run on the
*rendered JPEGs*: generate a sample of ``ego_rotation`` pairs, then for each pair

1. detect and match features: SIFT inside ``cv2.AffineFeature`` (ASIFT: SIFT run on affinely warped
   copies of the image, see ``DETECTORS``), Lowe's ratio test, a mutual-best check; ORB when the
   OpenCV build has no SIFT;
2. ``cv2.findEssentialMat`` (robust: MAGSAC++, OpenCV's USAC flavour of RANSAC) with the stored
   intrinsics, then ``cv2.recoverPose`` -> R, t;
3. read the yaw direction off R (derivation at ``yaw_from_rotation``) and compare its sign with the
   sign of the label's ``yaw_deg`` (pairs the label calls "no rotation", |yaw| < 5°, are skipped).

Only the images and the intrinsics enter the estimate; the poses are used afterwards, to score it.
A pose counts as *found* when recoverPose keeps at least ``MIN_INLIERS`` correspondences and the
answer is reproducible: a few more runs on the same matches in shuffled order give nearly the same
rotation (see ``check_pair`` for why; the JSON also reports the numbers without that check). Reported: pairs sampled, poses found, sign agreement on the found pairs (the issue
asks for >= 95%), the median |yaw error| against the label's yaw and against the same yaw formula on
the true relative rotation, and the median rotation error against the true relative rotation (these
show whether the geometry is consistent beyond the sign). Prints a table and writes ``--out``.

``tests/test_labels_from_pixels.py`` runs the same code on a smaller sample.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from training import labels as L  # noqa: E402
from training.views import decode_image  # noqa: E402

# -- settings ---------------------------------------------------------------------------------------
# First chosen on a seed-0 sample, then confirmed on fresh seeds 1 and 2 (numbers in the PR/report).
RATIO = 0.7  # Lowe's ratio test. 0.8 doubles the matches, but many are false ones along repeated
#              stripe/ring edges and sign agreement drops to ~90%; 0.7 keeps mostly true matches.
RANSAC_PX = 1.0  # max distance to the epipolar line: renders are sharp, JPEG q90 blurs a little
RANSAC_PROB = 0.999
# The robust estimator inside findEssentialMat. MAGSAC++ (USAC) scored about as well as classic
# RANSAC on the same matches (a few points better) and is ~10x faster, which pays for the restarts.
ESSENTIAL_METHOD = getattr(cv2, "USAC_MAGSAC", cv2.RANSAC)
MIN_INLIERS = 30  # see `check_pair`
RESTARTS = 8  # extra findEssentialMat runs on reshuffled matches, for the reproducibility check
STABLE_DEG = 30.0  # ... every restart that reaches MIN_INLIERS must land within this of the answer
NO_ROTATION_DEG = L.ROTATION_THRESHOLD  # |yaw| below this is labelled "no rotation": no sign to check
AGREEMENT_TARGET = 0.95  # the bar
ASIFT_MAX_TILT = 5  # AffineFeature's default: simulates views up to ~78° off-axis (1/cos = 5)
# Detectors, tried in order per pair until one yields a pose. "asift" is the default: the orbit
# pairs are 20-100° apart and the floor is seen obliquely, so a floor patch is strongly and
# differently foreshortened in the two views; plain SIFT (similarity-invariant only) then finds a
# pose on almost no orbit pair at 224 px (measured: 0-2 of 252 with >= 30 inliers, whatever the
# contrast threshold and ratio), ASIFT on ~30% (~25% after the reproducibility check).
DETECTORS = ("asift", "sift", "orb")
DEFAULT_DETECTORS = ("asift",)


@dataclass
class PairCheck:
    """The outcome for one pair; ``found`` False means no trustworthy pose (not a disagreement)."""

    row_id: str
    kind: str  # "orbit" (both views on the orbit sphere) or "pan" (turned in place, zero baseline)
    background: str
    yaw_label_deg: float
    answer_text: str
    found: bool = False  # enough inliers and reproducible (check_pair)
    enough_inliers: bool = False  # the plain criterion alone (>= min_inliers in one run)
    detector: str = ""  # which detector gave the pose ("" when none did)
    matches: int = 0  # correspondences after the ratio and mutual checks
    inliers: int = 0  # recoverPose inliers (RANSAC inliers that pass the chirality check)
    spread_deg: float = float("nan")  # reproducibility: max angle to a restart's rotation
    yaw_est_deg: float = float("nan")  # from pixels, + = turned left (see yaw_from_rotation)
    yaw_true_cam_deg: float = float("nan")  # the same formula on the true relative rotation
    rot_err_deg: float = float("nan")  # angle between estimated and true relative rotation
    sign_matches: bool | None = None  # sign(yaw_est) == sign(yaw_label), whenever there is an estimate
    agrees: bool | None = None  # the same, only for found poses (None otherwise)

    @property
    def yaw_err_deg(self) -> float:
        return abs(self.yaw_est_deg - self.yaw_label_deg)


# -- geometry -----------------------------------------------------------------------------------
def camera_matrix(intrinsics) -> np.ndarray:
    fx, fy, cx, cy = (float(v) for v in intrinsics[:4])
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def yaw_from_rotation(R: np.ndarray) -> float:
    """Signed yaw (degrees, + = turned left) of camera 2 relative to camera 1, from recoverPose's R.

    Derivation. recoverPose's R maps camera-1 coordinates to camera-2 coordinates: x2 = R x1 + t.
    Camera 2's axes expressed in camera 1's frame are therefore the columns of R_12 = R.T, and its
    optical axis (camera-2 +z) is d = R.T @ [0, 0, 1] (= the third *row* of R).

    Camera axes are OpenCV's: x right, y down, z forward, so camera 1's "up" is -y. A turn to the
    LEFT is counter-clockwise seen from above, i.e. a rotation by +a about the up axis -y
    (right-hand rule, thumb up). Rotating the forward axis z = (0, 0, 1) by +a about +y gives
    (sin a, 0, cos a) (R_y(a) = [[c, 0, s], [0, 1, 0], [-s, 0, c]]); about -y it is the inverse,
    (-sin a, 0, cos a): the optical axis swings towards -x, camera 1's left. Hence

        yaw = atan2(-d_x, d_z)      (> 0: turned left, < 0: turned right)

    This uses pixels + intrinsics only: "up" is taken as camera 1's -y. The generator's cameras
    have no roll (their x axis is horizontal), so -y is the world's up tilted back by the camera's
    elevation; yaw about it has the label's sign, and its size differs from the label's (yaw about
    world z) by a few degrees, more when the views look down steeply or from different elevations.
    ``convention_check`` applies this formula to the *true* relative rotation of every sampled pair:
    it must reproduce every label's sign (it does: 100%), which pins the sign down on known answers.
    """
    d = np.asarray(R, dtype=float).T @ np.array([0.0, 0.0, 1.0])
    return float(np.degrees(np.arctan2(-d[0], d[2])))


def true_rotation(T1, T2) -> np.ndarray:
    """The R recoverPose should return, from world<-camera poses: x2 = R_w2^T R_w1 x1 + ..."""
    T1, T2 = np.asarray(T1, dtype=float).reshape(4, 4), np.asarray(T2, dtype=float).reshape(4, 4)
    return T2[:3, :3].T @ T1[:3, :3]


def rotation_angle_deg(Ra: np.ndarray, Rb: np.ndarray) -> float:
    c = (np.trace(np.asarray(Ra).T @ np.asarray(Rb)) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


# -- features -----------------------------------------------------------------------------------
def has_sift() -> bool:
    return hasattr(cv2, "SIFT_create")


def _sift():
    # contrastThreshold 0.01 (default 0.04): the floors are smooth procedural textures and the
    # objects plain colours; at 224 px the default keeps only a few dozen keypoints per image.
    return cv2.SIFT_create(nfeatures=4000, contrastThreshold=0.01, edgeThreshold=20)


def make_detector(name: str):
    """(detector, descriptor norm) for ``name`` in DETECTORS."""
    if name == "asift":
        return cv2.AffineFeature_create(_sift(), maxTilt=ASIFT_MAX_TILT), cv2.NORM_L2
    if name == "sift":
        return _sift(), cv2.NORM_L2
    if name == "orb":
        return cv2.ORB_create(nfeatures=3000, edgeThreshold=15, patchSize=15, fastThreshold=10), cv2.NORM_HAMMING
    raise ValueError(f"unknown detector {name!r}; choose from {DETECTORS}")


class Features:
    """Keypoints + descriptors per (detector, image), computed once: the engine reuses each view in
    several pairs, so caching by image bytes saves most of the (ASIFT-dominated) run time."""

    def __init__(self):
        self._det: dict = {}
        self._cache: dict = {}

    def norm(self, name: str) -> int:
        return self._get(name)[1]

    def _get(self, name):
        if name not in self._det:
            self._det[name] = make_detector(name)
        return self._det[name]

    def __call__(self, name: str, rgb: np.ndarray, key: bytes | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        k = (name, key if key is not None else hashlib.sha1(np.ascontiguousarray(rgb).tobytes()).digest())
        if k not in self._cache:
            gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            kps, desc = self._get(name)[0].detectAndCompute(gray, None)
            self._cache[k] = (np.array([kp.pt for kp in kps], np.float64).reshape(-1, 2), desc)
        return self._cache[k]


def match(f1, f2, norm: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (N, 2) of matched features in image 1 and image 2.

    Lowe's ratio test on the two nearest neighbours, then a mutual check (the match must also be
    image 2 -> image 1's best): both throw out matches on repeated texture (stripes, rings). ASIFT
    detects the same point in several simulated views; duplicate pairs (same pixels to 0.5 px) are
    merged so they cannot inflate the inlier count.
    """
    (k1, d1), (k2, d2) = f1, f2
    empty = np.zeros((0, 2), np.float64)
    if d1 is None or d2 is None or len(k1) < 2 or len(k2) < 2:
        return empty, empty
    bf = cv2.BFMatcher(norm)
    back = {m.queryIdx: m.trainIdx for m in bf.match(d2, d1)}  # image 2 -> image 1 best match
    good = [p[0] for p in bf.knnMatch(d1, d2, k=2)
            if len(p) == 2 and p[0].distance < RATIO * p[1].distance and back.get(p[0].trainIdx) == p[0].queryIdx]
    if not good:
        return empty, empty
    P = np.array([np.r_[k1[m.queryIdx], k2[m.trainIdx]] for m in good])
    _, first = np.unique(np.round(P * 2.0), axis=0, return_index=True)
    P = P[np.sort(first)]
    return P[:, :2].copy(), P[:, 2:].copy()


def estimate_rotation(p1: np.ndarray, p2: np.ndarray, K1: np.ndarray, K2: np.ndarray) -> tuple[np.ndarray | None, int]:
    """(R, recoverPose inlier count) from matched pixels; (None, 0) when the estimate fails.

    With one K for both images (the engine's case) the points go in as pixels; with two different
    K they are first normalised (K^-1) and passed with an identity K, the RANSAC threshold scaled
    by the mean focal length.
    """
    if len(p1) < 5:
        return None, 0
    if np.allclose(K1, K2):
        K, a, b, thr = K1, p1, p2, RANSAC_PX
    else:
        a = cv2.undistortPoints(p1.reshape(-1, 1, 2), K1, None).reshape(-1, 2)
        b = cv2.undistortPoints(p2.reshape(-1, 1, 2), K2, None).reshape(-1, 2)
        K, thr = np.eye(3), RANSAC_PX / float(np.mean([K1[0, 0], K1[1, 1], K2[0, 0], K2[1, 1]]))
    E, mask = cv2.findEssentialMat(a, b, K, method=ESSENTIAL_METHOD, prob=RANSAC_PROB, threshold=thr)
    if E is None or mask is None or E.shape != (3, 3):  # several 3x3 candidates stacked: ambiguous
        return None, 0
    n, R, _t, _mask = cv2.recoverPose(E, a, b, K, mask=mask)
    return R, int(n)


@dataclass
class PoseResult:
    detector: str  # the detector whose matches gave ``R`` ("" when none gave a pose)
    matches: int
    inliers: int  # recoverPose inliers of ``R``
    R: np.ndarray | None  # recoverPose's R (camera 1 -> camera 2) of the plain first run, or None
    spread_deg: float = float("nan")  # largest angle between R and a restart's R (restarts with enough inliers)
    min_inliers: int = MIN_INLIERS
    stable_deg: float = STABLE_DEG

    @property
    def enough_inliers(self) -> bool:
        """The plain criterion: one findEssentialMat + recoverPose run with >= min_inliers."""
        return self.R is not None and self.inliers >= self.min_inliers

    @property
    def found(self) -> bool:
        """Enough inliers *and* reproducible (see ``check_pair``)."""
        return self.enough_inliers and not self.spread_deg > self.stable_deg

    @property
    def yaw_deg(self) -> float:
        return yaw_from_rotation(self.R) if self.R is not None else float("nan")


def stable_rotation(p1: np.ndarray, p2: np.ndarray, K1: np.ndarray, K2: np.ndarray, *,
                    min_inliers: int = MIN_INLIERS, restarts: int = RESTARTS, seed: int = 0
                    ) -> tuple[np.ndarray | None, int, float]:
    """(R, inliers, spread_deg): the plain estimate on the matches as given, plus how far the
    estimates of ``restarts`` runs on reshuffled copies of the same matches (those that also reach
    ``min_inliers``) stray from it, in degrees of rotation (0 when none does)."""
    R, n = estimate_rotation(p1, p2, K1, K2)
    if R is None or n < min_inliers:
        return R, n, float("nan")
    rng = np.random.default_rng(seed)
    spread = 0.0
    for _ in range(restarts):
        order = rng.permutation(len(p1))
        Rk, nk = estimate_rotation(p1[order], p2[order], K1, K2)
        if Rk is not None and nk >= min_inliers:
            spread = max(spread, rotation_angle_deg(R, Rk))
    return R, n, spread


def check_pair(img1: np.ndarray, img2: np.ndarray, intr1, intr2, *, min_inliers: int = MIN_INLIERS,
               restarts: int = RESTARTS, stable_deg: float = STABLE_DEG, detectors=DEFAULT_DETECTORS,
               features: Features | None = None, keys: tuple[bytes, bytes] | None = None) -> PoseResult:
    """Relative rotation of two RGB images from pixels + intrinsics, and whether it counts as found.

    The rotation is exactly what one ``findEssentialMat`` + ``recoverPose`` run returns on the
    matches. It counts as *found* when

    * recoverPose keeps >= ``min_inliers`` (30) correspondences that are both RANSAC inliers and in
      front of both cameras. Measured on 535 pairs (seeds 1, 2): pairs have 26-200 matches (10th-90th
      percentile), and the same estimator run on randomly *shuffled* correspondences keeps a median
      of 11 and a 90th percentile of 18 inliers (up to 34 on pairs with > 200 matches): below ~30
      a pose cannot be told from a fit to noise. 30 is also the usual rule-of-thumb floor for a
      5-point pose; and
    * it is reproducible: ``restarts`` more runs on the same matches in shuffled order (which changes
      the robust estimator's samples) that also reach ``min_inliers`` all land within ``stable_deg``
      (30°) of it. Why: most matches lie on the flat floor, seen through a narrow field of view, and
      there a sideways slide explains the image motion almost as well as a turn (the classic
      rotation/translation ambiguity, worsened by the two-fold ambiguity of planar scenes). When
      the data cannot tell the two apart, RANSAC returns one or the other by the luck of its
      samples, typically a near-zero-rotation solution that is 30-80° off, and then either answer
      is a guess. The check never looks at the label; the JSON also reports the numbers without it.

    The detectors are tried in order and the first that gives a found pose wins (with SIFT missing
    from the OpenCV build, ORB stands in).
    """
    features = features or Features()
    K1, K2 = camera_matrix(intr1), camera_matrix(intr2)
    dets = [d for d in detectors if has_sift() or d == "orb"] or ["orb"]
    first = None
    for det in dets:
        f1 = features(det, img1, keys[0] if keys else None)
        f2 = features(det, img2, keys[1] if keys else None)
        p1, p2 = match(f1, f2, features.norm(det))
        R, n, spread = stable_rotation(p1, p2, K1, K2, min_inliers=min_inliers, restarts=restarts)
        res = PoseResult(det if R is not None else "", len(p1), n, R, spread, min_inliers, stable_deg)
        if res.found:
            return res
        first = first or res
    return first


# -- the dataset ----------------------------------------------------------------------------------
def generate_pairs(n_pairs: int, size: int, seed: int, out_dir: str | Path) -> Path:
    """Render ``n_pairs`` ego_rotation pairs (orbit pairs 20-100° apart plus in-place pans)."""
    from training.engine import GeneratorConfig, generate

    cfg = GeneratorConfig(n_pairs=n_pairs, rows_per_shard=max(1, n_pairs), image_size=size, seed=seed,
                          families={"ego_rotation": 1.0}, reasoning_share=0.0)
    generate(cfg, out_dir, workers=1, show_progress=False)
    return Path(out_dir)


def check_dataset(directory: str | Path, *, min_inliers: int = MIN_INLIERS, restarts: int = RESTARTS,
                  stable_deg: float = STABLE_DEG, detectors=DEFAULT_DETECTORS, progress=None) -> list[PairCheck]:
    """One ``PairCheck`` per row of the dataset at ``directory`` (any viewpoint family works)."""
    from training.dataset import iter_rows

    features = Features()
    out = []
    for row in iter_rows(directory, columns=["id", "images", "poses", "intrinsics", "yaw_deg", "answer_text",
                                              "meta", "background"]):
        yaw = float(row["yaw_deg"])
        views = json.loads(row["meta"] or "{}").get("views", [])
        kind = "pan" if any("/pan" in v for v in views) else "orbit"
        pc = PairCheck(row["id"], kind, row["background"], yaw, row["answer_text"])
        out.append(pc)
        if progress:
            progress()
        if not np.isfinite(yaw) or abs(yaw) < NO_ROTATION_DEG or len(row["images"]) < 2:
            continue  # "no rotation" (or not a pair): no direction to compare
        imgs = [decode_image(b) for b in row["images"][:2]]
        keys = tuple(hashlib.sha1(b).digest() for b in row["images"][:2])
        res = check_pair(imgs[0], imgs[1], row["intrinsics"][0], row["intrinsics"][1], min_inliers=min_inliers,
                         restarts=restarts, stable_deg=stable_deg, detectors=detectors, features=features, keys=keys)
        pc.detector, pc.matches, pc.inliers, pc.spread_deg = res.detector, res.matches, res.inliers, res.spread_deg
        R_true = true_rotation(row["poses"][0], row["poses"][1])
        pc.yaw_true_cam_deg = yaw_from_rotation(R_true)
        if res.R is not None:  # scored whether found or not, so the report can show both criteria
            pc.yaw_est_deg = res.yaw_deg
            pc.rot_err_deg = rotation_angle_deg(res.R, R_true)
            pc.sign_matches = bool(np.sign(res.yaw_deg) == np.sign(yaw))
        pc.enough_inliers = res.enough_inliers
        pc.found = res.found
        pc.agrees = pc.sign_matches if pc.found else None
    return out


def convention_check(directory: str | Path) -> dict:
    """The yaw formula applied to the *true* relative rotations: must reproduce every label's sign."""
    from training.dataset import iter_rows

    diffs, agree = [], 0
    for row in iter_rows(directory, columns=["poses", "yaw_deg"]):
        yaw = float(row["yaw_deg"])
        if abs(yaw) < NO_ROTATION_DEG:
            continue
        est = yaw_from_rotation(true_rotation(row["poses"][0], row["poses"][1]))
        agree += int(np.sign(est) == np.sign(yaw))
        diffs.append(abs(est - yaw))
    n = len(diffs)
    return {"pairs": n, "sign_agreement": agree / n if n else None,
            "median_abs_yaw_diff_deg": float(np.median(diffs)) if n else None,
            "max_abs_yaw_diff_deg": float(np.max(diffs)) if n else None}


def _med(xs) -> float | None:
    return float(np.median(xs)) if len(xs) else None


def _group(cs: list[PairCheck]) -> dict:
    f = [c for c in cs if c.found]
    return {"pairs": len(cs), "found": len(f), "found_rate": len(f) / len(cs) if cs else None,
            "agreements": sum(bool(c.agrees) for c in f),
            "agreement_rate": sum(bool(c.agrees) for c in f) / len(f) if f else None,
            "median_abs_yaw_err_deg": _med([c.yaw_err_deg for c in f]),
            "median_abs_yaw_err_vs_true_cam_deg": _med([abs(c.yaw_est_deg - c.yaw_true_cam_deg) for c in f]),
            "median_rot_err_deg": _med([c.rot_err_deg for c in f])}


def _group_raw(cs: list[PairCheck]) -> dict:
    f = [c for c in cs if c.enough_inliers]
    ok = sum(bool(c.sign_matches) for c in f)
    return {"pairs": len(cs), "found": len(f), "found_rate": len(f) / len(cs) if cs else None, "agreements": ok,
            "agreement_rate": ok / len(f) if f else None, "median_rot_err_deg": _med([c.rot_err_deg for c in f])}


def summarize(checks: list[PairCheck]) -> dict:
    rotated = [c for c in checks if np.isfinite(c.yaw_label_deg) and abs(c.yaw_label_deg) >= NO_ROTATION_DEG]
    found = [c for c in rotated if c.found]
    g = _group(rotated)
    return {
        "pairs_sampled": len(checks),
        "pairs_no_rotation_skipped": len(checks) - len(rotated),
        "pairs_checked": len(rotated),
        "poses_found": g["found"],
        "found_rate": g["found_rate"],
        "agreements": g["agreements"],
        "agreement_rate": g["agreement_rate"],
        "median_abs_yaw_err_deg": g["median_abs_yaw_err_deg"],
        "median_abs_yaw_err_vs_true_cam_deg": g["median_abs_yaw_err_vs_true_cam_deg"],
        "median_rot_err_deg": g["median_rot_err_deg"],
        "found_by_detector": {d: sum(c.detector == d for c in found) for d in DETECTORS},
        # the same without the reproducibility check: one findEssentialMat + recoverPose run, >= min_inliers
        "without_reproducibility_check": _group_raw(rotated),
        "by_kind": {k: _group([c for c in rotated if c.kind == k]) for k in sorted({c.kind for c in rotated})},
        "by_background": {b: _group([c for c in rotated if c.background == b])
                          for b in sorted({c.background for c in rotated})},
        "by_abs_yaw": {f"[{lo}, {hi})": _group([c for c in rotated if lo <= abs(c.yaw_label_deg) < hi])
                       for lo, hi in ((5, 30), (30, 60), (60, 90), (90, 181))},
        "disagreements": [{"id": c.row_id, "kind": c.kind, "background": c.background,
                           "yaw_label_deg": round(c.yaw_label_deg, 2), "yaw_est_deg": round(c.yaw_est_deg, 2),
                           "rot_err_deg": round(c.rot_err_deg, 2), "inliers": c.inliers, "matches": c.matches,
                           "detector": c.detector} for c in found if not c.agrees],
    }


# -- the script -----------------------------------------------------------------------------------
def _finite(d: dict) -> dict:
    """NaN -> None, so the JSON stays strict."""
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}


def _table(summary: dict, size: int):
    from rich.table import Table

    def pct(x):
        return "-" if x is None else f"{100 * x:.1f}%"

    def deg(x):
        return "-" if x is None else f"{x:.1f}°"

    t = Table(title=f"rotation labels vs two-view geometry from pixels ({size} px)")
    t.add_column("pairs", no_wrap=True)
    for col in ("checked", "poses found", "found rate", "sign agreement", "median |yaw err|", "median rot err"):
        t.add_column(col, justify="right")
    t.add_row(f"all ({summary['pairs_sampled']} sampled)", str(summary["pairs_checked"]), str(summary["poses_found"]),
              pct(summary["found_rate"]), pct(summary["agreement_rate"]), deg(summary["median_abs_yaw_err_deg"]),
              deg(summary["median_rot_err_deg"]), end_section=True)
    for section in ("by_kind", "by_background", "by_abs_yaw"):
        items = list(summary[section].items())
        for i, (name, k) in enumerate(items):
            label = f"|yaw| {name}" if section == "by_abs_yaw" else name
            t.add_row(label, str(k["pairs"]), str(k["found"]), pct(k["found_rate"]), pct(k["agreement_rate"]),
                      deg(k["median_abs_yaw_err_deg"]), deg(k["median_rot_err_deg"]), end_section=i == len(items) - 1)
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Check the engine's rotation labels (computed from camera poses) against the images. "
                    "Generates a fresh sample of ego_rotation pairs, then for each pair matches features "
                    "(ASIFT = SIFT on affine-warped views, Lowe's ratio test, mutual check), estimates the "
                    "essential matrix with cv2.findEssentialMat (MAGSAC++, known intrinsics), recovers R with "
                    "cv2.recoverPose and compares the yaw direction it implies with the label's. A pose is "
                    "'found' with >= --min-inliers recoverPose inliers and when --restarts reruns on reshuffled "
                    "matches agree with it within --stable-deg. Reports how often a pose is found and how often "
                    "its direction agrees with the label (target >= 95%), with and without the reruns, plus yaw "
                    "and rotation errors; prints a table and writes JSON. Poses are used only to score.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--pairs", type=int, default=300, help="pairs to generate and check")
    ap.add_argument("--size", type=int, default=224, help="image size in pixels (square renders)")
    ap.add_argument("--seed", type=int, default=0, help="generator seed (which scenes and pairs are sampled)")
    ap.add_argument("--min-inliers", type=int, default=MIN_INLIERS,
                    help="recoverPose inliers needed to count a pose as found")
    ap.add_argument("--restarts", type=int, default=RESTARTS,
                    help="extra RANSAC runs on reshuffled matches for the reproducibility check (0: no check)")
    ap.add_argument("--stable-deg", type=float, default=STABLE_DEG,
                    help="a restart with enough inliers must give a rotation within this many degrees")
    ap.add_argument("--detectors", default=",".join(DEFAULT_DETECTORS),
                    help=f"comma-separated, tried in order per pair until one gives a pose; from {','.join(DETECTORS)}")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "labels_check.json",
                    help="JSON file for the results")
    ap.add_argument("--data", type=Path, default=None,
                    help="generate the dataset here and keep it (reused if it already holds this job); "
                         "default: a temporary directory")
    args = ap.parse_args(argv)
    if args.pairs < 1:
        ap.error("--pairs must be >= 1")
    if args.restarts < 0 or args.min_inliers < 5:
        ap.error("--restarts must be >= 0 and --min-inliers >= 5")
    detectors = tuple(d.strip() for d in args.detectors.split(",") if d.strip())
    bad = [d for d in detectors if d not in DETECTORS]
    if bad or not detectors:
        ap.error(f"--detectors: unknown {bad}; choose from {', '.join(DETECTORS)}")

    from rich.console import Console
    from rich.progress import Progress

    console = Console(width=max(100, Console().width))
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="labels_check_") as tmp:
        data = args.data or Path(tmp) / "data"
        with console.status(f"generating {args.pairs} pairs at {args.size} px ..."):
            generate_pairs(args.pairs, args.size, args.seed, data)
        t_gen = time.perf_counter() - t0
        with Progress(console=console, transient=True) as prog:
            task = prog.add_task("matching", total=args.pairs)
            checks = check_dataset(data, min_inliers=args.min_inliers, restarts=args.restarts,
                                   stable_deg=args.stable_deg, detectors=detectors,
                                   progress=lambda: prog.advance(task))
        conv = convention_check(data)
    t_all = time.perf_counter() - t0
    summary = summarize(checks)
    settings = {"pairs": args.pairs, "size": args.size, "seed": args.seed, "families": {"ego_rotation": 1.0},
                "detectors": list(detectors) if has_sift() else ["orb"], "asift_max_tilt": ASIFT_MAX_TILT,
                "ratio": RATIO, "ransac_px": RANSAC_PX, "ransac_prob": RANSAC_PROB,
                "essential_method": "USAC_MAGSAC" if ESSENTIAL_METHOD != cv2.RANSAC else "RANSAC",
                "min_inliers": args.min_inliers, "restarts": args.restarts, "stable_deg": args.stable_deg,
                "no_rotation_deg": NO_ROTATION_DEG, "opencv": cv2.__version__, "python": platform.python_version(),
                "machine": platform.machine(), "command": "bench/labels_check.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    result = {"summary": summary, "convention_check_on_true_poses": conv, "settings": settings,
              "seconds": {"total": round(t_all, 2), "generate": round(t_gen, 2), "check": round(t_all - t_gen, 2)},
              "agreement_target": AGREEMENT_TARGET,
              "meets_target": summary["agreement_rate"] is not None and summary["agreement_rate"] >= AGREEMENT_TARGET,
              "pairs": [_finite(asdict(c)) for c in checks]}
    console.print(_table(summary, args.size))
    console.print(f"yaw formula on the true poses: sign agreement {conv['sign_agreement']:.3f} on {conv['pairs']} pairs "
                  f"(median |diff| to the label's yaw {conv['median_abs_yaw_diff_deg']:.1f}°)")
    raw = summary["without_reproducibility_check"]
    console.print(f"without the reproducibility check: {raw['found']} found, agreement "
                  f"{raw['agreements']}/{raw['found']} = {100 * (raw['agreement_rate'] or 0):.1f}%")
    console.print(f"agreement {summary['agreements']}/{summary['poses_found']} found "
                  f"(target {AGREEMENT_TARGET:.0%}: {'met' if result['meets_target'] else 'NOT met'}); "
                  f"{t_all:.1f} s ({t_gen:.1f} s generating)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n")
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
