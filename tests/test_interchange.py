"""training/interchange.py on real files: a generated dataset, ShareGPT round trips, SAT parquet,
a synthetic COLMAP model with known poses, and TRL datasets. No mocks."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from training import labels as L
from training.dataset import DatasetError, load_manifest, read_table
from training.engine import GeneratorConfig, generate
from training.interchange import (export_sharegpt, export_trl, import_colmap, import_sat, import_sharegpt, to_trl,
                                  viewpoint_rows_from_views)
from training.questions import PAPER_FAMILIES, prompt_text
from training.views import SceneInfo, View, decode_image


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "viewpoint"
    generate(GeneratorConfig(n_pairs=40, rows_per_shard=20, image_size=64, views_per_scene=6), out,
             show_progress=False)
    return out


def _no_staging_left(parent: Path) -> bool:
    return not [p for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name]


def _png(seed: int, h: int = 24, w: int = 32) -> bytes:
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


# -- the parquet shards are plain HF datasets -------------------------------------------------
def test_generated_dataset_loads_with_hf_datasets(generated, tmp_path):
    import datasets

    ds = datasets.load_dataset("parquet", data_files=str(generated / "shard-*.parquet"), split="train",
                               cache_dir=str(tmp_path / "hf"))
    assert len(ds) == load_manifest(generated)["rows"] == 40
    row = ds[0]
    assert isinstance(row["images"][0], bytes) and decode_image(row["images"][0]).shape == (64, 64, 3)


# -- ShareGPT ---------------------------------------------------------------------------------
def test_sharegpt_round_trip_is_exact(generated, tmp_path):
    json_path = export_sharegpt(generated, tmp_path / "lf")
    out = tmp_path / "lf"
    records = json.loads(json_path.read_text())
    assert len(records) == 40
    info = json.loads((out / "dataset_info.json").read_text())
    (name, entry), = info.items()
    assert entry == {"file_name": json_path.name, "formatting": "sharegpt",
                     "columns": {"messages": "messages", "images": "images"},
                     "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                              "assistant_tag": "assistant"}}
    original = {r["id"]: r for r in read_table(generated).to_pylist()}
    for rec in records:
        row = original[rec["id"]]
        user, assistant = rec["messages"]
        assert user["role"] == "user" and assistant["role"] == "assistant"
        assert user["content"].count("<image>") == len(rec["images"]) == len(row["images"]) == 2
        text = prompt_text(row["question"], row["options"], 2, row["prompt_style"] == "reasoning")
        assert user["content"].replace("<image>", "") == text  # the images between question and instruction
        assert user["content"].index("<image>") == text.rindex("\n") + 1
        assert assistant["content"] == row["response"]
        assert (rec["family"], rec["split"], rec["answer"]) == (row["family"], row["split"], row["answer"])
        assert all((out / p).is_file() and p.startswith("images/") and p.endswith(".jpg") for p in rec["images"])

    back = import_sharegpt(json_path, tmp_path / "back")
    manifest = load_manifest(back)
    assert manifest["rows"] == 40 and manifest["generator"]["name"] == "import-sharegpt"
    assert manifest["generator"]["from"] == str(json_path)
    imported = read_table(back).to_pylist()
    assert {r["prompt_style"] for r in imported} == {"direct", "reasoning"}  # both kinds exercised
    assert any(not r["options"] for r in imported)  # numeric_yaw rows (no options block)
    for r in imported:
        o = original[r["id"]]
        for key in ("family", "split", "question", "options", "answer", "answer_text", "prompt_style", "response"):
            assert r[key] == o[key], key
        assert r["images"] == o["images"]  # bytes unchanged
        for a, b in zip(r["images"], o["images"]):
            np.testing.assert_array_equal(decode_image(a), decode_image(b))


def _sharegpt_file(tmp_path: Path, images: list[str], user: str | None = None, **extra) -> Path:
    rec = {"messages": [{"role": "user", "content": user if user is not None else
                         "<image>" * len(images) + "Which way?\nOptions:\nA. left\nB. right\n"
                         "Answer with the option's letter inside <answer></answer>."},
                        {"role": "assistant", "content": "<answer>B</answer>"}],
           "images": images, **extra}
    p = tmp_path / "data" / "d.json"
    p.parent.mkdir(exist_ok=True)
    p.write_text(json.dumps([rec]))
    return p


def test_import_sharegpt_foreign_record_defaults(tmp_path):
    (tmp_path / "data" / "img").mkdir(parents=True)
    (tmp_path / "data" / "img" / "a.png").write_bytes(_png(1))
    p = _sharegpt_file(tmp_path, ["img/a.png"])
    row, = read_table(import_sharegpt(p, tmp_path / "out")).to_pylist()
    assert (row["family"], row["split"], row["source"]) == ("sharegpt", "train", "sharegpt")
    assert row["question"] == "Which way?" and row["options"] == ["left", "right"]
    assert (row["answer"], row["answer_text"], row["prompt_style"]) == ("B", "right", "direct")
    assert row["images"] == [_png(1)]


def test_import_sharegpt_jsonl_conversations_and_numeric(tmp_path):
    """Classic ShareGPT spelling (conversations/from/value) in JSON Lines, a numeric answer, a system turn."""
    (tmp_path / "img.png").write_bytes(_png(4))
    rec = {"conversations": [{"from": "system", "value": "You are a robot."},
                             {"from": "human", "value": "<image>How many degrees did it turn?"},
                             {"from": "gpt", "value": "<think>about a third of a right angle</think><answer>-30</answer>"}],
           "images": ["img.png"], "family": "numeric_yaw", "split": "test"}
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps(rec) + "\n\n")
    row, = read_table(import_sharegpt(p, tmp_path / "out")).to_pylist()
    assert (row["family"], row["split"], row["options"], row["answer"]) == ("numeric_yaw", "test", [], "-30")
    assert row["question"] == "How many degrees did it turn?" and row["prompt_style"] == "reasoning"
    assert json.loads(row["meta"])["system"] == "You are a robot."


def test_export_sharegpt_split_and_refuses_non_empty_out_dir(generated, tmp_path):
    n = load_manifest(generated)["counts"]["split"]["test_objects"]
    p = export_sharegpt(generated, tmp_path / "lf", split="test_objects")
    assert p.name == "viewpoint_test_objects.json" and len(json.loads(p.read_text())) == n
    with pytest.raises(DatasetError, match="not empty"):
        export_sharegpt(generated, tmp_path / "lf")
    with pytest.raises(DatasetError, match="no rows in split 'nope'"):
        export_sharegpt(generated, tmp_path / "lf2", split="nope")
    assert not (tmp_path / "lf2").exists() and _no_staging_left(tmp_path)


@pytest.mark.parametrize("bad", ["../outside.png", "/etc/hostname", "img/../../outside.png"])
def test_import_sharegpt_refuses_paths_outside_its_directory(tmp_path, bad):
    (tmp_path / "outside.png").write_bytes(_png(2))  # exists, so only the path check can stop it
    p = _sharegpt_file(tmp_path, [bad])
    with pytest.raises(DatasetError, match=bad.replace(".", r"\.")):
        import_sharegpt(p, tmp_path / "out")
    assert not (tmp_path / "out").exists() and _no_staging_left(tmp_path)


def test_import_sharegpt_missing_and_malformed_images(tmp_path):
    p = _sharegpt_file(tmp_path, ["nope.png"])
    with pytest.raises(DatasetError, match="nope.png.*not found"):
        import_sharegpt(p, tmp_path / "out")
    good = _png(3)
    (tmp_path / "data" / "half.png").write_bytes(good[: len(good) // 2])
    p = _sharegpt_file(tmp_path, ["half.png"])
    with pytest.raises(DatasetError, match="half.png.*not a decodable image"):
        import_sharegpt(p, tmp_path / "out")
    (tmp_path / "data" / "ok.png").write_bytes(good)
    p = _sharegpt_file(tmp_path, ["ok.png"], user="<image><image>Two tokens, one image")
    with pytest.raises(DatasetError, match="2 <image> tokens but 1 images"):
        import_sharegpt(p, tmp_path / "out")
    assert not (tmp_path / "out").exists() and _no_staging_left(tmp_path)


# -- SAT --------------------------------------------------------------------------------------
def _sat_table(rows: list[dict], single_image: bool = False) -> pa.Table:
    image_type = pa.binary() if single_image else pa.list_(pa.binary())
    schema = pa.schema([("image_bytes", image_type), ("question", pa.string()), ("answers", pa.list_(pa.string())),
                        ("correct_answer", pa.string()), ("question_type", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


def test_import_sat_directory(tmp_path):
    src = tmp_path / "sat"
    src.mkdir()
    pq.write_table(_sat_table([
        {"image_bytes": [_png(10), _png(11)], "question": "Did the camera turn left?", "answers": ["yes", "no"],
         "correct_answer": "no", "question_type": "ego_movement"},
        {"image_bytes": [_png(12)], "question": "Which is closer?", "answers": ["the mug", "the box", "the ball"],
         "correct_answer": "the ball", "question_type": "obj_movement"},
    ]), src / "a.parquet")
    pq.write_table(_sat_table([{"image_bytes": _png(13), "question": "Is the door open?", "answers": ["no", "yes"],
                                "correct_answer": "no", "question_type": "action"}], single_image=True),
                   src / "b.parquet")
    out = import_sat(src, tmp_path / "out", split="test")
    rows = read_table(out).to_pylist()
    assert len(rows) == 3 and load_manifest(out)["counts"]["family"] == {"sat": 3}
    r0, r1, r2 = rows
    assert r0["images"] == [_png(10), _png(11)] and r1["images"] == [_png(12)] and r2["images"] == [_png(13)]
    assert (r0["options"], r0["answer"], r0["answer_text"], r0["response"]) == (["yes", "no"], "B", "no",
                                                                                 "<think>no</think><answer>B</answer>")
    assert (r1["answer"], r1["answer_text"]) == ("C", "the ball") and r1["options"] == ["the mug", "the box", "the ball"]
    assert r2["answer"] == "A"
    for r in rows:
        assert (r["family"], r["source"], r["split"], r["prompt_style"]) == ("sat", "sat", "test", "direct")
        assert r["poses"] == [] and r["intrinsics"] == [] and np.isnan(r["yaw_deg"])
    assert json.loads(r0["meta"])["question_type"] == "ego_movement"


def test_import_sat_errors(tmp_path):
    ok = {"image_bytes": [_png(20)], "question": "q?", "answers": ["a", "b"], "correct_answer": "a",
          "question_type": "x"}

    no_col = tmp_path / "nocol.parquet"
    pq.write_table(_sat_table([ok]).drop_columns(["correct_answer"]), no_col)
    with pytest.raises(DatasetError, match=r"correct_answer.*columns found: \['image_bytes', 'question', 'answers'"):
        import_sat(no_col, tmp_path / "out")

    bad_answer = tmp_path / "answer.parquet"
    pq.write_table(_sat_table([ok, {**ok, "correct_answer": "c"}]), bad_answer)
    with pytest.raises(DatasetError, match=r"row 1: correct_answer 'c' is not one of answers"):
        import_sat(bad_answer, tmp_path / "out")

    truncated = tmp_path / "trunc.parquet"
    png = _png(21)
    pq.write_table(_sat_table([ok, {**ok, "image_bytes": [png[: len(png) // 2]]}]), truncated)
    with pytest.raises(DatasetError, match=r"row 1: image 0: not a decodable image"):
        import_sat(truncated, tmp_path / "out")
    assert not (tmp_path / "out").exists() and _no_staging_left(tmp_path)


# -- COLMAP -----------------------------------------------------------------------------------
def _look_at(eye, target) -> np.ndarray:
    """World<-camera pose (OpenCV axes, world z up) of a level camera at ``eye`` looking at ``target``."""
    z = np.asarray(target, float) - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    T = np.eye(4)
    T[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
    T[:3, 3] = eye
    return T


def _rot(axis: str, deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return {"x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]), "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def _quaternion(R: np.ndarray) -> np.ndarray:
    """Rotation matrix -> unit quaternion (w, x, y, z) (Shepperd), independent of the importer's code."""
    t = np.trace(R)
    if t > 0:
        s = 2 * np.sqrt(t + 1)
        q = [s / 4, (R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s]
    else:
        i = int(np.argmax(np.diag(R)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2 * np.sqrt(1 + R[i, i] - R[j, j] - R[k, k])
        q = [0.0, 0.0, 0.0, 0.0]
        q[0] = (R[k, j] - R[j, k]) / s
        q[1 + i] = s / 4
        q[1 + j] = (R[j, i] + R[i, j]) / s
        q[1 + k] = (R[k, i] + R[i, k]) / s
    return np.array(q)


# The COLMAP world is the true z-up world rotated so that up is -y, scaled and shifted.
WORLD_R = _rot("x", 90) @ _rot("z", 40)
WORLD_SCALE = 2.5
WORLD_T = np.array([0.3, -1.2, 4.0])


def _true_poses() -> dict[str, np.ndarray]:
    """Two evenly spaced rings around the origin plus two turned-in-place cameras (placed opposite each
    other so the cameras' mean up stays exactly vertical)."""
    poses = {}
    for k in range(6):
        for ring, (az0, el, dist) in enumerate([(0, 20, 0.7), (30, 35, 0.55)]):
            az, el_r = np.radians(az0 + 60 * k), np.radians(el)
            eye = dist * np.array([np.cos(el_r) * np.cos(az), np.cos(el_r) * np.sin(az), np.sin(el_r)])
            poses[f"frames/r{ring}_{k}.png"] = _look_at(eye, [0.0, 0.0, 0.0])
    for k in (0, 3):
        T = poses[f"frames/r0_{k}.png"].copy()
        T[:3, :3] = _rot("z", 25) @ T[:3, :3]
        poses[f"frames/pan_{k}.jpg"] = T
    return poses


def _write_model(root: Path, poses: dict[str, np.ndarray], cameras_txt: str | None = None,
                 images_txt: str | None = None) -> tuple[Path, Path]:
    model, images = root / "sparse" / "0", root / "images"
    model.mkdir(parents=True)
    cams = ["# Camera list with one line of data per camera:", "#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]",
            "1 PINHOLE 32 24 30.0 31.0 16.0 12.0", "2 SIMPLE_RADIAL 32 24 29.5 16.0 12.0 0.01",
            "3 OPENCV 32 24 30.0 30.0 15.5 11.5 0.01 -0.01 0.0 0.0"]
    lines = ["# Image list with two lines of data per image:", "#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME",
             "#   POINTS2D[] as (X, Y, POINT3D_ID)"]
    for i, (name, T) in enumerate(poses.items()):
        R_wc = WORLD_R @ T[:3, :3]
        c = WORLD_SCALE * WORLD_R @ T[:3, 3] + WORLD_T
        R = R_wc.T  # world -> camera
        q, t = _quaternion(R), -R @ c
        lines.append(" ".join([str(i + 1), *(f"{v:.17g}" for v in (*q, *t)), str(1 + i % 3), name]))
        lines.append("" if i % 2 else "10.5 3.25 -1 7.0 8.0 12")
        path = images / name
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.random.default_rng(i).integers(0, 256, (24, 32, 3), dtype=np.uint8))
    (model / "cameras.txt").write_text(cameras_txt if cameras_txt is not None else "\n".join(cams) + "\n")
    (model / "images.txt").write_text(images_txt if images_txt is not None else "\n".join(lines) + "\n")
    return model, images


def test_import_colmap_labels_match_known_poses(tmp_path):
    poses = _true_poses()
    model, images = _write_model(tmp_path, poses)
    out = import_colmap(model, images, tmp_path / "out", up="auto", translation_threshold=0.02 * WORLD_SCALE)
    manifest = load_manifest(out)
    np.testing.assert_allclose(manifest["generator"]["up"], [0, -1, 0], atol=1e-9)
    rows = read_table(out).to_pylist()
    names = {f"0/{n}": n for n in poses}  # the scene id is the model directory's name ("0")
    rule = {"ego_translation": L.ego_translation, "object_translation": L.object_translation,
            "ego_rotation": L.ego_rotation}
    pairs = set()
    for r in rows:
        v1, v2 = json.loads(r["meta"])["views"]
        m = L.relative_motion(poses[names[v1]], poses[names[v2]])  # from the true z-up poses
        assert r["answer_text"] == rule[r["family"]](m), (r["family"], v1, v2, m)
        assert r["options"][ord(r["answer"]) - ord("A")] == r["answer_text"]
        for key in ("yaw_deg", "lateral_m", "forward_m", "vertical_m"):
            assert r[key] == pytest.approx(getattr(m, key), abs=1e-6), key
        assert (r["split"], r["source"], r["background"], r["objects"]) == ("train", "colmap", "", [])
        assert decode_image(r["images"][0]).shape == (24, 32, 3) and r["images"][0][:3] == b"\xff\xd8\xff"
        pairs.add(frozenset((v1, v2)))
    expected = {frozenset((f"0/{a}", f"0/{b}")) for i, a in enumerate(poses) for b in list(poses)[i + 1:]
                if 20 <= abs(L.relative_motion(poses[a], poses[b]).yaw_deg) <= 100}
    assert pairs == expected
    answers = {(r["family"], r["answer_text"]) for r in rows}
    assert {("ego_translation", "no movement"), ("ego_translation", "left"), ("ego_translation", "right"),
            ("ego_rotation", "left"), ("ego_rotation", "right"), ("object_translation", "no movement")} <= answers
    by_id = {r["id"]: r for r in rows}
    # the same up given explicitly gives the same dataset
    again = read_table(import_colmap(model, images, tmp_path / "out2", up="0,-1,0",
                                     translation_threshold=0.02 * WORLD_SCALE)).to_pylist()
    assert {r["id"]: (r["answer"], r["options"]) for r in again} == {i: (r["answer"], r["options"])
                                                                     for i, r in by_id.items()}


def _valid_model_text(tmp_path: Path) -> tuple[str, str]:
    model, _ = _write_model(tmp_path / "ref", _true_poses())
    return (model / "cameras.txt").read_text(), (model / "images.txt").read_text()


@pytest.mark.parametrize("case", ["non_numeric", "unknown_model", "escaping_name", "no_images", "unknown_camera"])
def test_import_colmap_errors(tmp_path, case):
    cams, imgs = _valid_model_text(tmp_path)
    cam_lines, img_lines = cams.splitlines(), imgs.splitlines()
    if case == "non_numeric":  # line 4 is camera 2
        cam_lines[3] = "2 SIMPLE_RADIAL 32 24 twenty 16.0 12.0 0.01"
        match = r"cameras\.txt line 4: 'twenty' is not a number"
    elif case == "unknown_model":
        cam_lines[2] = "1 KANNALA_FOO 32 24 30 31 16 12"
        match = r"cameras\.txt line 3: unknown camera model 'KANNALA_FOO'"
    elif case == "escaping_name":
        (tmp_path / "case" / "outside.png").parent.mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "case" / "outside.png"), np.zeros((24, 32, 3), np.uint8))
        img_lines[5] = img_lines[5].rsplit(" ", 1)[0] + " ../outside.png"
        match = r"images\.txt line 6: image path '\.\./outside\.png' escapes"
    elif case == "no_images":
        img_lines = img_lines[:3]
        match = "no images"
    else:
        f = img_lines[3].split(" ")
        f[8] = "9"
        img_lines[3] = " ".join(f)
        match = r"images\.txt line 4: .*camera 9"
    model, images = _write_model(tmp_path / "case", _true_poses(), "\n".join(cam_lines) + "\n",
                                 "\n".join(img_lines) + "\n")
    with pytest.raises(DatasetError, match=match):
        import_colmap(model, images, tmp_path / "out")
    assert not (tmp_path / "out").exists() and _no_staging_left(tmp_path)


def test_viewpoint_rows_from_views_balances_letters():
    scene = SceneInfo("s", "train", "recorder", "", ())
    poses = _true_poses()
    views = [View(n, b"", T, (30.0, 30.0, 16.0, 12.0, 32, 24), scene) for n, T in poses.items()]
    rows = viewpoint_rows_from_views(views, np.random.default_rng(0), (20, 100), ("ego_rotation",))
    letters = [r["answer"] for r in rows]
    assert rows and max(letters.count(c) for c in "ABC") - min(letters.count(c) for c in "ABC") <= 1
    again = viewpoint_rows_from_views(views, np.random.default_rng(0), (20, 100), ("ego_rotation",))
    assert [r["id"] for r in again] == [r["id"] for r in rows]  # seeded: reproducible


# -- TRL --------------------------------------------------------------------------------------
def test_to_trl_sft_and_grpo(generated, tmp_path):
    import datasets
    from PIL import Image

    sft = to_trl(generated, kind="sft", cache_dir=str(tmp_path / "cache"))
    assert isinstance(sft, datasets.Dataset) and len(sft) == 40
    assert {"messages", "images", "family", "split", "answer", "options"} <= set(sft.column_names)
    row = sft[0]
    assert len(row["images"]) == 2 and all(isinstance(im, Image.Image) and im.size == (64, 64) for im in row["images"])
    user, assistant = row["messages"]
    assert [p["type"] for p in user["content"]] == ["text", "image", "image", "text"]  # questions.user_content
    original = read_table(generated).to_pylist()[0]
    assert user["content"][0]["text"] + user["content"][-1]["text"] == prompt_text(
        original["question"], original["options"], 2, original["prompt_style"] == "reasoning")
    assert assistant == {"role": "assistant", "content": [{"type": "text", "text": original["response"]}]}
    assert (row["answer"], row["options"]) == (original["answer"], original["options"])

    split = "test_objects"
    grpo = to_trl(generated, split=split, kind="grpo", cache_dir=str(tmp_path / "cache"))
    assert "messages" not in grpo.column_names and len(grpo) == load_manifest(generated)["counts"]["split"][split]
    prompt = grpo[0]["prompt"]
    assert len(prompt) == 1 and prompt[0]["role"] == "user" and set(grpo["split"]) == {split}

    saved = export_trl(generated, tmp_path / "trl", kind="grpo", split=split)
    assert len(datasets.load_from_disk(str(saved))) == len(grpo) and _no_staging_left(tmp_path)
    with pytest.raises(DatasetError, match="no rows in split 'nope'"):
        to_trl(generated, split="nope", cache_dir=str(tmp_path / "cache"))


def test_to_trl_motion_think_names_the_motion_the_answer_follows_from(generated, tmp_path):
    import re

    from training.questions import QUESTIONS, motion_think

    plain = to_trl(generated, kind="sft", cache_dir=str(tmp_path / "cache"))
    chain = to_trl(generated, kind="sft", cache_dir=str(tmp_path / "cache"), direct_think="motion")
    mirror = {"left": "right", "right": "left"}
    rewritten = 0
    for p, c, original in zip(plain, chain, read_table(generated).to_pylist()):
        said = c["messages"][1]["content"][0]["text"]
        if original["prompt_style"] != "direct" or original["family"] not in PAPER_FAMILIES:
            assert said == p["messages"][1]["content"][0]["text"]  # reasoning rows and other families as written
            continue
        m = re.fullmatch(r"<think>moved (.+), turned (.+): (.+)</think><answer>([A-C])</answer>", said)
        assert m, said
        moved, turned, answer_text, letter = m.groups()
        assert (answer_text, letter) == (original["answer_text"], original["answer"])
        # the frame of reference maps the motion's words to the answer, the same way in every row
        expect = {"ego_translation": moved, "ego_rotation": turned,
                  "object_translation": mirror.get(moved, moved)}[original["family"]]
        assert answer_text == expect
        assert c["motion"] == p["motion"] == f"moved {moved}, turned {turned}"  # what rewards.motion_reward reads
        rewritten += 1
    assert rewritten > 0
    assert {r["motion"] for r, o in zip(plain, read_table(generated).to_pylist())
            if o["family"] not in PAPER_FAMILIES} <= {""}  # no motion to read: the reward pays nothing
    # a colour-turn rung worded as ego_translation stands for circling the scene: moved with it, turned against it
    assert motion_think("hue_turn", QUESTIONS["ego_translation"], "left", float("nan"), float("nan")) == \
        "moved left, turned right: left"
    assert motion_think("hue_turn", "Did the colour turn left or right?", "left", None, None) is None
    assert motion_think("object_translation", "", "left", 30.0, 0.5, frame=True) == \
        "moved right, turned left; object: left"
    framed = to_trl(generated, kind="sft", cache_dir=str(tmp_path / "cache"), direct_think="motion_frame")
    assert [r["messages"][1]["content"][0]["text"].replace("; camera:", ":").replace("; object:", ":")
            .replace("; turn:", ":") for r in framed] == [r["messages"][1]["content"][0]["text"] for r in chain]
    with pytest.raises(ValueError, match="direct_think"):
        to_trl(generated, direct_think="long")
    # reasoning_think: the reasoning rows (asked to reason) think the same short chain; direct rows stay as written
    short = to_trl(generated, kind="sft", cache_dir=str(tmp_path / "cache"), reasoning_think="motion")
    swapped = 0
    for p, s, original in zip(plain, short, read_table(generated).to_pylist()):
        said = s["messages"][1]["content"][0]["text"]
        if original["prompt_style"] == "reasoning" and original["family"] in PAPER_FAMILIES:
            think = motion_think(original["family"], original["question"], original["answer_text"],
                                 original["yaw_deg"], original["lateral_m"])
            assert said == f"<think>{think}</think><answer>{original['answer']}</answer>"
            assert s["messages"][0] == p["messages"][0]  # still asked to reason
            swapped += 1
        else:
            assert said == p["messages"][1]["content"][0]["text"]
    assert swapped > 0
    with pytest.raises(ValueError, match="reasoning_think"):
        to_trl(generated, reasoning_think="answer")


def test_to_trl_rows_pass_trls_own_preprocessing(generated, tmp_path):
    """TRL's SFT/GRPO collators call prepare_multimodal_messages: our rows must go through it unchanged."""
    data_utils = pytest.importorskip("trl.data_utils")
    sft = to_trl(generated, kind="sft", cache_dir=str(tmp_path / "cache"))[0]
    assert data_utils.is_conversational(sft)
    msgs = data_utils.prepare_multimodal_messages(sft["messages"], sft["images"])
    assert [p["type"] for p in msgs[0]["content"]] == ["text", "image", "image", "text"]
    assert msgs[0]["content"][1]["image"] is sft["images"][0]
    grpo = to_trl(generated, kind="grpo", cache_dir=str(tmp_path / "cache"))[0]
    assert data_utils.is_conversational(grpo)
    assert len(data_utils.prepare_multimodal_messages(grpo["prompt"], grpo["images"])[0]["content"]) == 4
