"""Datasets in and out: LLaMA-Factory ShareGPT, SAT parquet, COLMAP models, TRL.

* ``export_sharegpt`` / ``import_sharegpt``: LLaMA-Factory's multimodal ShareGPT JSON (what the
  Actial paper trained with): one JSON list, images as files beside it, a ``dataset_info.json``.
* ``import_sat``: SAT-style parquet (``image_bytes``, ``question``, ``answers``, ``correct_answer``).
* ``import_colmap``: a COLMAP text model of real photos -> posed views -> the paper's viewpoint
  questions, labelled from the poses exactly as the simulator's are (``viewpoint_rows_from_views``
  is the shared pairing step; the ROS 2 recorder reuses it).
* ``to_trl`` / ``export_trl``: a ``datasets.Dataset`` in TRL's conversational vision format, for
  ``SFTTrainer`` (``messages`` + ``images``) or ``GRPOTrainer`` (``prompt`` + ``images``).

Every writer builds its output in a hidden staging directory next to ``out_dir`` and renames it into
place at the end, so an interrupted or failed run never leaves a half-written output behind.
Every reader checks what it reads and raises ``DatasetError`` saying what was wrong and what to do.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator, Sequence

import numpy as np
import pyarrow.parquet as pq

from . import labels as L
from . import questions as Q
from .dataset import LETTERS, DatasetError, ShardWriter, empty_row, iter_rows, load_manifest, manifest_hash
from .questions import PAPER_FAMILIES, prompt_text, user_content
from .views import SceneInfo, View, decode_image, encode_image

IMAGE_TOKEN = "<image>"  # LLaMA-Factory's placeholder: one per entry of "images", in order
DEFAULT_ROWS_PER_SHARD = 500
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_ANSWER_RE = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.DOTALL)
_OPTION_RE = re.compile(r"^\s*([A-J])[.)]\s?(.*)$")
_INSTRUCTIONS = {Q.DIRECT_INSTRUCTION: False, Q.REASONING_INSTRUCTION: True,
                 Q.NUMERIC_DIRECT: False, Q.NUMERIC_REASONING: True}  # instruction -> reasoning?


# -- shared helpers ---------------------------------------------------------------------------
def _image_ext(data: bytes) -> str | None:
    """File extension from magic bytes: "jpg", "png", or None for anything else."""
    if data[:3] == _JPEG_MAGIC:
        return "jpg"
    if data[:8] == _PNG_MAGIC:
        return "png"
    return None


def _checked_image(data, what: str) -> bytes:
    """Validate encoded image bytes by decoding them; JPEG/PNG are kept byte for byte, other formats
    (WebP, BMP, ...) are re-encoded as lossless PNG because the dataset only holds JPEG/PNG."""
    if isinstance(data, dict):  # a datasets Image struct {"bytes": ..., "path": ...}
        data = data.get("bytes")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DatasetError(f"{what}: expected encoded image bytes, got {type(data).__name__}")
    data = bytes(data)
    try:
        rgb = decode_image(data)
    except ValueError as e:
        raise DatasetError(f"{what}: {e}; the image is truncated or not an image, re-export or replace it") from e
    return data if _image_ext(data) else encode_image(rgb, "png")


def _safe_name(text: str, fallback: str = "dataset") -> str:
    """A file-name-safe version of ``text`` (ids and dataset names may hold '/', spaces, ...)."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return s or fallback


def _relative_inside(name: str, base: Path, what: str) -> Path:
    """``base / name`` after checking that ``name`` is relative and stays inside ``base``.

    Checked lexically, so a hostile file cannot point at ``/etc/passwd`` or ``../../secret``;
    a symlink the user placed inside ``base`` is the user's choice and is followed.
    """
    if not isinstance(name, str) or not name.strip():
        raise DatasetError(f"{what}: image path {name!r} is empty or not a string")
    if "\\" in name:  # Windows separators would bypass the '..' check below
        name = name.replace("\\", "/")
    p = PurePosixPath(name)
    if p.is_absolute() or re.match(r"^[A-Za-z]:", name):
        raise DatasetError(f"{what}: image path {name!r} is absolute; paths must be relative to {base} "
                           f"and stay inside it")
    parts: list[str] = []
    for part in p.parts:
        if part == "..":
            if not parts:
                raise DatasetError(f"{what}: image path {name!r} escapes {base} with '..'; move the image "
                                   f"inside that directory and use a path relative to it")
            parts.pop()
        elif part != ".":
            parts.append(part)
    if not parts:
        raise DatasetError(f"{what}: image path {name!r} names no file")
    return base.joinpath(*parts)


def _check_out_dir(out_dir: str | Path, overwrite: bool) -> Path:
    """Refuse to clobber a non-empty ``out_dir`` (called early too, before any slow work)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DatasetError(f"{out_dir} exists and is not a directory; choose another output path")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise DatasetError(f"{out_dir} already exists and is not empty; choose another output directory, delete "
                           f"it, or pass overwrite=True")
    return out_dir


@contextlib.contextmanager
def _staged_dir(out_dir: str | Path, overwrite: bool) -> Iterator[Path]:
    """Yield an empty staging directory beside ``out_dir``; on success rename it to ``out_dir``.

    On any error the staging directory is removed and ``out_dir`` is left as it was: a reader never
    sees a half-written output (a rename within one directory is atomic).
    """
    out_dir = _check_out_dir(out_dir, overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Same parent -> same filesystem -> os.replace is a rename, not a copy.
    tmp = out_dir.with_name(f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        yield tmp
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _generator(name: str, **extra) -> dict:
    from . import __version__

    return {"name": name, "package_version": __version__, **extra}


def _dataset_rows(dataset_dir: Path, split: str | None, columns: list[str] | None = None) -> Iterator[dict]:
    """Stream the rows of a finished dataset (optionally one split), checking shards exist first."""
    manifest = load_manifest(dataset_dir)
    for entry in manifest["shards"]:
        if not (dataset_dir / entry["file"]).is_file():
            raise DatasetError(f"{dataset_dir / entry['file']} is listed in the manifest but missing; "
                               f"re-run the job that wrote {dataset_dir}")
    for row in iter_rows(dataset_dir, columns=columns):
        if split is None or row["split"] == split:
            yield row


def _check_split(dataset_dir: Path, split: str | None) -> None:
    if split is None:
        return
    splits = load_manifest(dataset_dir).get("counts", {}).get("split", {})
    if not splits.get(split):
        raise DatasetError(f"{dataset_dir} has no rows in split {split!r}; its splits: {splits or 'none'}")


# -- LLaMA-Factory ShareGPT -------------------------------------------------------------------
def export_sharegpt(dataset_dir: str | Path, out_dir: str | Path, split: str | None = None, *,
                    name: str | None = None, overwrite: bool = False) -> Path:
    """Write a dataset as LLaMA-Factory multimodal ShareGPT; returns the path of the JSON file.

    ``out_dir`` receives ``<name>.json`` (a JSON list, one record per row), ``images/`` (each row's
    images as files, ``<row id>_<k>.jpg`` or ``.png`` by the bytes' format, stored unchanged) and a
    ``dataset_info.json`` entry, so LLaMA-Factory trains on it with ``dataset_dir: <out_dir>`` and
    ``dataset: <name>`` (image paths are relative to ``dataset_dir``, LLaMA-Factory's default
    ``media_dir``). A record::

        {"messages": [{"role": "user", "content": "<question>\nOptions:\n...\n<image><image><instruction>"},
                      {"role": "assistant", "content": row["response"]}],
         "images": ["images/<id>_0.jpg", "images/<id>_1.jpg"],
         "id": ..., "family": ..., "split": ..., "answer": ...}

    ``name`` defaults to the dataset directory's name (plus ``_<split>``). Rows are streamed, so
    memory stays flat however big the dataset is.
    """
    dataset_dir = Path(dataset_dir)
    load_manifest(dataset_dir)
    _check_split(dataset_dir, split)
    name = _safe_name(name or (dataset_dir.resolve().name + (f"_{split}" if split else "")))
    columns = ["id", "family", "split", "images", "question", "options", "answer", "prompt_style", "response"]
    with _staged_dir(out_dir, overwrite) as tmp:
        (tmp / "images").mkdir()
        used: set[str] = set()
        n = 0
        with open(tmp / f"{name}.json", "w", encoding="utf-8") as f:
            f.write("[")
            for row in _dataset_rows(dataset_dir, split, columns):
                stem = _safe_name(row["id"], "row")
                if stem in used:  # ids are unique in generated data; imported data may repeat them
                    stem = f"{stem}-{n}"
                used.add(stem)
                paths = []
                for k, data in enumerate(row["images"]):
                    ext = _image_ext(data)
                    if ext is None:  # not JPEG/PNG: store losslessly as PNG (LLaMA-Factory reads either)
                        data, ext = _checked_image(data, f"{dataset_dir} row {row['id']!r} image {k}"), "png"
                    rel = f"images/{stem}_{k}.{ext}"
                    (tmp / rel).write_bytes(data)
                    paths.append(rel)
                text = prompt_text(row["question"], row["options"], len(paths), row["prompt_style"] == "reasoning")
                head, instruction = Q.split_prompt_text(text)  # the images go between (questions.user_content)
                record = {
                    "messages": [{"role": "user", "content": head + IMAGE_TOKEN * len(paths) + instruction},
                                 {"role": "assistant", "content": row["response"]}],
                    "images": paths,
                    "id": row["id"], "family": row["family"], "split": row["split"], "answer": row["answer"],
                }
                f.write(("\n" if n == 0 else ",\n") + json.dumps(record, ensure_ascii=False))
                n += 1
            f.write("\n]\n")
        if n == 0:
            raise DatasetError(f"{dataset_dir} holds no rows to export")
        info = {name: {
            "file_name": f"{name}.json",
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images"},
            "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
        }}
        (tmp / "dataset_info.json").write_text(json.dumps(info, indent=2) + "\n")
    return Path(out_dir) / f"{name}.json"


def _load_records(json_path: Path) -> Iterable[dict]:
    """A JSON list, or JSON Lines (LLaMA-Factory reads both)."""
    if not json_path.is_file():
        raise DatasetError(f"{json_path} does not exist")
    with open(json_path, encoding="utf-8") as f:
        head = f.read(4096).lstrip()
    if head.startswith("["):
        try:
            data = json.loads(json_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise DatasetError(f"{json_path} is not valid JSON ({e}); fix or re-export it") from e
        return data

    def lines() -> Iterator[dict]:
        with open(json_path, encoding="utf-8") as f:
            for no, line in enumerate(f, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as e:
                        raise DatasetError(f"{json_path} line {no} is not valid JSON ({e}); the file should be a "
                                           f"JSON list or JSON Lines") from e
    return lines()


def _split_prompt(text: str) -> tuple[str, list[str], bool | None, str]:
    """User text (image tokens removed) -> (question, options, reasoning?, leftover instruction).

    Inverts ``questions.prompt_text``: question, then an ``Options:`` block of ``A. ...`` lines,
    then the answer instruction. ``reasoning`` is None when the instruction is not one of ours.
    """
    lines = text.split("\n")
    starts = [k for k, line in enumerate(lines) if line.strip() == "Options:"]
    options: list[str] = []
    if starts:
        k = starts[-1] + 1  # the last block: a question may quote the word itself
        while k < len(lines):
            m = _OPTION_RE.match(lines[k])
            if not m or len(options) >= len(LETTERS) or m.group(1) != LETTERS[len(options)]:
                break
            options.append(m.group(2).strip())
            k += 1
    if options:
        question = "\n".join(lines[:starts[-1]]).strip()
        rest = "\n".join(lines[k:]).strip()
    else:
        question, rest = text.strip(), ""
        for instruction in _INSTRUCTIONS:
            if question.endswith("\n" + instruction):
                question, rest = question[: -len(instruction)].rstrip(), instruction
                break
    return question, options, _INSTRUCTIONS.get(rest), rest


def _sharegpt_turns(rec: dict, what: str) -> tuple[str, str, str | None]:
    """(user text, assistant text, system text) of a single-turn record in either ShareGPT spelling."""
    if "messages" in rec:
        msgs, role_key, content_key = rec["messages"], "role", "content"
    elif "conversations" in rec:  # classic ShareGPT: {"from": "human"|"gpt", "value": ...}
        msgs, role_key, content_key = rec["conversations"], "from", "value"
    else:
        raise DatasetError(f"{what}: no 'messages' (or 'conversations') list; keys: {sorted(rec)}")
    roles = {"human": "user", "gpt": "assistant", "user": "user", "assistant": "assistant", "system": "system"}
    if not isinstance(msgs, list) or not all(isinstance(m, dict) for m in msgs):
        raise DatasetError(f"{what}: the messages must be a list of objects")
    turns = [(roles.get(m.get(role_key)), m.get(content_key)) for m in msgs]
    system = [c for r, c in turns if r == "system"]
    turns = [(r, c) for r, c in turns if r != "system"]
    if [r for r, _ in turns] != ["user", "assistant"]:
        raise DatasetError(f"{what}: expected one user turn then one assistant turn, got roles "
                           f"{[m.get(role_key) for m in msgs]}; only single-turn records can be imported")
    if not all(isinstance(c, str) for _, c in turns):
        raise DatasetError(f"{what}: message contents must be strings (LLaMA-Factory ShareGPT), not structured parts")
    return turns[0][1], turns[1][1], (system[0] if system else None)


def _sharegpt_row(rec, index: int, base: Path, json_path: Path) -> dict:
    what = f"{json_path} record {index}"
    if not isinstance(rec, dict):
        raise DatasetError(f"{what}: expected a JSON object, got {type(rec).__name__}")
    user, response, system = _sharegpt_turns(rec, what)
    image_paths = rec.get("images") or []
    if isinstance(image_paths, str):
        image_paths = [image_paths]
    if user.count(IMAGE_TOKEN) != len(image_paths):
        raise DatasetError(f"{what}: {user.count(IMAGE_TOKEN)} {IMAGE_TOKEN} tokens but {len(image_paths)} images; "
                           f"LLaMA-Factory needs one token per image")
    images = []
    for name in image_paths:
        path = _relative_inside(name, base, what)
        if not path.is_file():
            raise DatasetError(f"{what}: image {name!r} not found at {path}")
        images.append(_checked_image(path.read_bytes(), f"{what}: image {name!r}"))

    question, options, reasoning, rest = _split_prompt(user.replace(IMAGE_TOKEN, ""))
    if rec.get("answer") not in (None, ""):
        answer = str(rec["answer"]).strip()
    else:
        found = _ANSWER_RE.findall(response)
        if not found:
            raise DatasetError(f"{what}: no 'answer' key and the assistant turn has no <answer>...</answer>; add "
                               f"one of them")
        answer = found[-1].strip()
    if options:
        if answer not in LETTERS[: len(options)]:
            if answer in options:  # an answer given as the option's text
                answer = LETTERS[options.index(answer)]
            else:
                raise DatasetError(f"{what}: answer {answer!r} is not one of the option letters "
                                   f"{list(LETTERS[:len(options)])}")
        answer_text = options[LETTERS.index(answer)]
    else:
        answer_text = answer
    if reasoning is None:
        reasoning = response.lstrip().startswith("<think>")
    meta = {"sharegpt_index": index}
    if rest and rest not in _INSTRUCTIONS:
        meta["instruction"] = rest  # a foreign instruction: kept, since prompt_text writes ours on export
    if system:
        meta["system"] = system
    row = empty_row()
    row.update({
        "id": str(rec.get("id") or hashlib.sha256(f"{index}|{json.dumps(rec, sort_keys=True)}".encode()).hexdigest()[:16]),
        "family": str(rec.get("family") or "sharegpt"), "split": str(rec.get("split") or "train"),
        "source": "sharegpt", "images": images, "question": question, "options": options, "answer": answer,
        "answer_text": answer_text, "prompt_style": "reasoning" if reasoning else "direct", "response": response,
        "meta": json.dumps(meta),
    })
    return row


def import_sharegpt(json_path: str | Path, out_dir: str | Path, *, rows_per_shard: int = DEFAULT_ROWS_PER_SHARD,
                    overwrite: bool = False) -> Path:
    """Read a LLaMA-Factory ShareGPT file (as ``export_sharegpt`` writes it) into a dataset; returns ``out_dir``.

    Per record: family/split/answer from the record's keys if present (else ``"sharegpt"``,
    ``"train"`` and the letter inside the assistant's ``<answer>X</answer>``); the question is the
    user text without ``<image>`` tokens, the options block and the answer instruction; options come
    from the ``Options:`` block's ``A. ...`` lines. Image paths are resolved inside the JSON file's
    directory (absolute paths and ``..`` escapes are refused) and image bytes are stored unchanged.
    """
    json_path = Path(json_path)
    base = json_path.parent
    with _staged_dir(out_dir, overwrite) as tmp:
        writer = ShardWriter(tmp, rows_per_shard, {"source": "import-sharegpt"})
        for i, rec in enumerate(_load_records(json_path)):
            writer.add(_sharegpt_row(rec, i, base, json_path))
        writer.finish(_generator("import-sharegpt", **{"from": str(json_path)}), f"{json_path} holds no records")
    return Path(out_dir)


# -- SAT --------------------------------------------------------------------------------------
SAT_COLUMNS = ("image_bytes", "question", "answers", "correct_answer")


def _parquet_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file())
        if not files:
            raise DatasetError(f"{path} holds no .parquet files")
        return files
    if not path.is_file():
        raise DatasetError(f"{path} does not exist")
    return [path]


def import_sat(parquet_path_or_dir: str | Path, out_dir: str | Path, split: str = "train", *,
               rows_per_shard: int = DEFAULT_ROWS_PER_SHARD, overwrite: bool = False) -> Path:
    """Import SAT-style parquet (one file, or a directory of them) as a dataset; returns ``out_dir``.

    Columns: ``image_bytes`` (a list of encoded images, or one), ``question``, ``answers`` (the
    options, order kept) and ``correct_answer`` (one of ``answers``). Rows become family/source
    ``"sat"`` multiple-choice rows with a direct ``<answer>X</answer>`` response; poses and angles
    stay empty (SAT has none). Other columns (e.g. ``question_type``) go into ``meta``.
    """
    files = _parquet_files(Path(parquet_path_or_dir))
    for file in files:  # check every file's columns before writing anything
        try:
            names = pq.read_schema(file).names
        except Exception as e:
            raise DatasetError(f"{file} is not a readable parquet file ({e})") from e
        missing = [c for c in SAT_COLUMNS if c not in names]
        if missing:
            raise DatasetError(f"{file} lacks SAT columns {missing}; columns found: {names}; SAT parquet needs "
                               f"{list(SAT_COLUMNS)}")
    with _staged_dir(out_dir, overwrite) as tmp:
        writer = ShardWriter(tmp, rows_per_shard, {"source": "import-sat"})
        for file in files:
            index = 0
            for batch in pq.ParquetFile(file).iter_batches(batch_size=64):
                for rec in batch.to_pylist():
                    writer.add(_sat_row(rec, file, index, split))
                    index += 1
        writer.finish(_generator("import-sat", **{"from": str(parquet_path_or_dir)}, files=[str(f) for f in files]),
                      f"{parquet_path_or_dir} holds no rows")
    return Path(out_dir)


def _sat_row(rec: dict, file: Path, index: int, split: str) -> dict:
    what = f"{file} row {index}"
    raw = rec["image_bytes"]
    raw = raw if isinstance(raw, list) else [raw]
    if not raw:
        raise DatasetError(f"{what}: image_bytes is empty")
    images = [_checked_image(b, f"{what}: image {k}") for k, b in enumerate(raw)]
    question, answers, correct = rec["question"], rec["answers"], rec["correct_answer"]
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f"{what}: question is empty or not a string")
    if not isinstance(answers, list) or not answers or not all(isinstance(a, str) for a in answers):
        raise DatasetError(f"{what}: answers must be a non-empty list of strings, got {answers!r}")
    if len(answers) > len(LETTERS):
        raise DatasetError(f"{what}: {len(answers)} answers; at most {len(LETTERS)} options are supported")
    if correct not in answers:
        raise DatasetError(f"{what}: correct_answer {correct!r} is not one of answers {answers}")
    letter = LETTERS[answers.index(correct)]
    extra = {k: v for k, v in rec.items() if k not in SAT_COLUMNS and isinstance(v, (str, int, float, bool))}
    row = empty_row()
    row.update({
        "id": "sat-" + hashlib.sha256(f"{file.name}|{index}".encode()).hexdigest()[:12],
        "family": "sat", "split": split, "source": "sat", "images": images, "question": question.strip(),
        "options": list(answers), "answer": letter, "answer_text": correct, "response": Q.response(letter, correct),
        "meta": json.dumps({"file": file.name, "row": index, **extra}),
    })
    return row


# -- COLMAP -----------------------------------------------------------------------------------
# model -> (number of params, indices of fx, fy, cx, cy); distortion terms are dropped (labels use poses only).
CAMERA_MODELS = {
    "SIMPLE_PINHOLE": (3, (0, 0, 1, 2)),
    "PINHOLE": (4, (0, 1, 2, 3)),
    "SIMPLE_RADIAL": (4, (0, 0, 1, 2)),
    "RADIAL": (5, (0, 0, 1, 2)),
    "OPENCV": (8, (0, 1, 2, 3)),
    "FULL_OPENCV": (12, (0, 1, 2, 3)),
}
UP_MIN_AGREEMENT = 0.3  # |mean of the cameras' up vectors| below this: they disagree, "auto" refuses


@dataclass(frozen=True)
class ColmapCamera:
    camera_id: int
    model: str
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float


@dataclass(frozen=True)
class ColmapImage:
    image_id: int
    T_wc: np.ndarray  # 4x4 world <- camera, in the model's (not gravity-aligned) world
    camera_id: int
    name: str
    line: int  # where it was defined in images.txt, for error messages


def _model_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every non-comment line; blank lines are kept (an image's empty points line)."""
    if not path.is_file():
        binary = path.with_suffix(".bin")
        hint = (f"; {binary.name} is there: convert the binary model with `colmap model_converter --input_path "
                f"{path.parent} --output_path {path.parent} --output_type TXT`") if binary.is_file() else ""
        raise DatasetError(f"{path} does not exist{hint}")
    return [(no, line.rstrip("\r\n")) for no, line in enumerate(path.read_text().splitlines(), start=1)
            if not line.lstrip().startswith("#")]


def _numbers(fields: list[str], kinds: str, where: str) -> list:
    out = []
    for f, k in zip(fields, kinds):
        try:
            v = int(f) if k == "i" else float(f)
        except ValueError:
            raise DatasetError(f"{where}: {f!r} is not {'an integer' if k == 'i' else 'a number'}") from None
        if k == "f" and not math.isfinite(v):
            raise DatasetError(f"{where}: {f!r} is not a finite number")
        out.append(v)
    return out


def read_colmap_cameras(path: str | Path) -> dict[int, ColmapCamera]:
    """Parse ``cameras.txt``: ``CAMERA_ID MODEL WIDTH HEIGHT PARAMS...``."""
    path = Path(path)
    cameras: dict[int, ColmapCamera] = {}
    for no, line in _model_lines(path):
        fields = line.split()
        if not fields:
            continue
        where = f"{path.name} line {no}"
        if len(fields) < 4:
            raise DatasetError(f"{where}: expected 'CAMERA_ID MODEL WIDTH HEIGHT PARAMS...', got {len(fields)} fields")
        model = fields[1]
        if model not in CAMERA_MODELS:
            raise DatasetError(f"{where}: unknown camera model {model!r}; supported: {', '.join(CAMERA_MODELS)} "
                               f"(undistort the images with `colmap image_undistorter` for others)")
        n_params, (ifx, ify, icx, icy) = CAMERA_MODELS[model]
        if len(fields) != 4 + n_params:
            raise DatasetError(f"{where}: camera model {model} takes {n_params} parameters, got {len(fields) - 4}")
        cam_id, width, height = _numbers([fields[0], fields[2], fields[3]], "iii", where)
        params = _numbers(fields[4:], "f" * n_params, where)
        if width <= 0 or height <= 0:
            raise DatasetError(f"{where}: image size {width}x{height} must be positive")
        if cam_id in cameras:
            raise DatasetError(f"{where}: camera {cam_id} is defined twice")
        cameras[cam_id] = ColmapCamera(cam_id, model, width, height, params[ifx], params[ify], params[icx], params[icy])
    return cameras


def quaternion_to_rotation(qw: float, qx: float, qy: float, qz: float) -> np.ndarray:
    """Unit quaternion (Hamilton, scalar first, COLMAP's convention) -> 3x3 rotation matrix."""
    q = np.array([qw, qx, qy, qz], dtype=float)
    n = np.linalg.norm(q)
    if n < 1e-12:
        raise ValueError("the zero quaternion is not a rotation")
    w, x, y, z = q / n
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def read_colmap_images(path: str | Path, cameras: dict[int, ColmapCamera]) -> list[ColmapImage]:
    """Parse ``images.txt``: per image a line ``IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME`` (the
    world->camera rotation and translation) and a line of 2D points (ignored, may be empty)."""
    path = Path(path)
    lines = _model_lines(path)
    images: list[ColmapImage] = []
    seen: set[int] = set()
    i = 0
    while i < len(lines):
        no, line = lines[i]
        if not line.strip():  # a blank where an image line is expected (e.g. trailing newlines)
            i += 1
            continue
        where = f"{path.name} line {no}"
        fields = line.split(None, 9)  # NAME is the rest of the line (it may hold spaces)
        if len(fields) < 10:
            raise DatasetError(f"{where}: expected 'IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME', got "
                               f"{len(fields)} fields")
        image_id, = _numbers(fields[:1], "i", where)
        qw, qx, qy, qz, tx, ty, tz = _numbers(fields[1:8], "fffffff", where)
        camera_id, = _numbers(fields[8:9], "i", where)
        name = fields[9].strip()
        if camera_id not in cameras:
            raise DatasetError(f"{where}: image {name!r} refers to camera {camera_id}, which cameras.txt does not "
                               f"define (known: {sorted(cameras)})")
        if image_id in seen:
            raise DatasetError(f"{where}: image id {image_id} is defined twice")
        seen.add(image_id)
        try:
            R = quaternion_to_rotation(qw, qx, qy, qz)
        except ValueError as e:
            raise DatasetError(f"{where}: {e}") from None
        if i + 1 < len(lines):  # the points line: X Y POINT3D_ID triples; a header here means it is missing
            pno, points = lines[i + 1]
            if len(points.split()) % 3:
                raise DatasetError(f"{path.name} line {pno}: expected the 2D points line of image {name!r} "
                                   f"(X Y POINT3D_ID triples, may be empty); every image takes two lines")
        T_wc = np.eye(4)
        T_wc[:3, :3] = R.T  # [R|t] maps world -> camera; its inverse is the camera's pose in the world
        T_wc[:3, 3] = -R.T @ np.array([tx, ty, tz])
        images.append(ColmapImage(image_id, T_wc, camera_id, name, no))
        i += 2
    return images


def _parse_up(up) -> np.ndarray | None:
    """``up`` -> a unit 3-vector, or None for "auto"."""
    axes = {"x": [1.0, 0, 0], "y": [0, 1.0, 0], "z": [0, 0, 1.0]}
    if isinstance(up, str):
        s = up.strip().lower()
        if s == "auto":
            return None
        if s.lstrip("+-") in axes:
            v = np.array(axes[s.lstrip("+-")]) * (-1.0 if s.startswith("-") else 1.0)
        else:
            try:
                v = np.array([float(p) for p in s.split(",")])
            except ValueError:
                v = np.zeros(0)
    else:
        try:
            v = np.asarray(up, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            v = np.zeros(0)
    if v.shape != (3,) or not np.all(np.isfinite(v)) or np.linalg.norm(v) < 1e-9:
        raise DatasetError(f"up must be 'auto', an axis like 'z' or '-y', or a non-zero 3-vector like '0,-1,0'; "
                           f"got {up!r}")
    return v / np.linalg.norm(v)


def estimate_up(poses: Sequence[np.ndarray]) -> np.ndarray:
    """The world's up direction from upright cameras: the normalised negative mean of their y axes
    (camera y points down in the image, so -y of a level camera is world up)."""
    ys = np.array([np.asarray(T)[:3, 1] for T in poses])
    mean = -ys.mean(axis=0)
    n = float(np.linalg.norm(mean))
    if n < UP_MIN_AGREEMENT:
        raise DatasetError(f"cannot estimate the world's up direction: the cameras' up vectors disagree (their mean "
                           f"has length {n:.2f}; the cameras were not held upright); pass up= explicitly, e.g. "
                           f"up='0,-1,0'")
    return mean / n


def rotation_to_z(u: np.ndarray) -> np.ndarray:
    """The smallest rotation taking unit vector ``u`` to +z."""
    u = np.asarray(u, dtype=float) / np.linalg.norm(u)
    z = np.array([0.0, 0.0, 1.0])
    c = float(u @ z)
    if c < -1 + 1e-12:  # u = -z: any half turn about a horizontal axis
        return np.diag([1.0, -1.0, -1.0])
    v = np.cross(u, z)
    K = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + K + K @ K / (1 + c)


def viewpoint_rows_from_views(views: Sequence[View], rng: np.random.Generator,
                              angle_range: tuple[float, float] = (20.0, 100.0),
                              families: Sequence[str] = PAPER_FAMILIES, *, max_pairs: int | None = None,
                              reasoning: bool = False, shuffle_options: bool = True) -> list[dict]:
    """Viewpoint questions about every pair of posed views whose horizontal angle lies in ``angle_range``.

    Pairs are visited in an order drawn from ``rng`` (and each pair's direction, 1 -> 2, too); each
    pair gives one row per family in ``families`` unless that family finds it ambiguous. Each
    family cycles the answer's letter slot, so letters stay balanced. Views looking (nearly)
    straight up or down have no heading and are skipped. Shared by the COLMAP importer and the
    ROS 2 recorder, so real captures are labelled exactly as simulated ones.
    """
    unknown = [f for f in families if f not in Q.VIEWPOINT_FAMILIES]
    if unknown:
        raise ValueError(f"not viewpoint families: {unknown}; choose from {Q.VIEWPOINT_FAMILIES}")
    lo, hi = angle_range
    if not 0 <= lo <= hi <= 180:
        raise ValueError(f"angle_range must satisfy 0 <= low <= high <= 180, got {angle_range}")
    usable = []
    for v in views:
        try:
            L.heading_deg(v.pose)
        except ValueError:
            continue
        usable.append(v)
    cand = [(i, j) for i in range(len(usable)) for j in range(i + 1, len(usable))
            if lo <= abs(L.relative_motion(usable[i].pose, usable[j].pose).yaw_deg) <= hi]
    order = rng.permutation(len(cand))
    if max_pairs is not None:
        order = order[:max_pairs]
    slots = {f: 0 for f in families}
    rows = []
    for k in order:
        i, j = cand[int(k)]
        v1, v2 = (usable[i], usable[j]) if rng.uniform() < 0.5 else (usable[j], usable[i])
        m = L.relative_motion(v1.pose, v2.pose)
        for fam in families:
            row = Q.viewpoint_sample(fam, v1, v2, m, slots[fam] if shuffle_options else None, reasoning, rng)
            if row is not None:
                slots[fam] += 1
                rows.append(row)
    return rows


def write_views_dataset(scenes: dict[str, list[View]], out_dir: str | Path, *,
                        families: Sequence[str] = PAPER_FAMILIES, angle_range: tuple[float, float] = (20.0, 100.0),
                        seed: int = 0, max_pairs_per_scene: int | None = None, rows_per_shard: int = 500,
                        shuffle_options: bool = True, overwrite: bool = False, **generator) -> Path:
    """Viewpoint questions from posed views grouped by scene (pairs never cross scenes), as a dataset.

    Each row's split is its first view's ``scene.split``: put whole scenes in a test split to hold
    captures out. Used by the ROS 2 recorder; labels are the data engine's (``viewpoint_rows_from_views``).
    """
    rng = np.random.default_rng(seed)
    with _staged_dir(out_dir, overwrite) as tmp:
        writer = ShardWriter(tmp, rows_per_shard, {"source": generator.get("name", "views")})
        for scene_id in sorted(scenes):
            for row in viewpoint_rows_from_views(scenes[scene_id], rng, tuple(angle_range), families,
                                                 max_pairs=max_pairs_per_scene, shuffle_options=shuffle_options):
                writer.add(row)
        n_views = sum(len(v) for v in scenes.values())
        writer.finish(_generator(generator.pop("name", "views"), scenes=len(scenes), views=n_views,
                                 families=list(families), angle_range=list(angle_range), seed=seed,
                                 shuffle_options=shuffle_options, **generator),
                      f"no pair among {n_views} views in {len(scenes)} scenes is {angle_range[0]:g}-{angle_range[1]:g} "
                      f"degrees apart (record longer, or while the cameras move)")
    return Path(out_dir)


def import_colmap(model_dir: str | Path, images_dir: str | Path, out_dir: str | Path, up="auto",
                  translation_threshold: float | None = None, config=None, *,
                  families: Sequence[str] = PAPER_FAMILIES, max_pairs: int | None = None,
                  max_side: int | None = None, overwrite: bool = False) -> Path:
    """Turn a COLMAP text model (``cameras.txt`` + ``images.txt``) of real photos into viewpoint questions.

    The model's world is rotated so that its up direction becomes +z (``up="auto"``: estimated from
    the cameras, which are usually held upright; ``"z"``: already z-up; or a vector such as
    ``"0,-1,0"``) and scaled so that ``translation_threshold`` model units become
    ``labels.TRANSLATION_THRESHOLD`` (2 cm): COLMAP models have no metric scale, and the threshold
    decides "no movement". ``None`` takes 3% of the median distance of the cameras from their
    centroid (for an orbit capture this matches 2 cm at the simulator's ~0.7 m); pass the value
    for a metric model (0.02 if in metres). Images (``NAME`` relative to ``images_dir``) are
    re-encoded as JPEG, optionally downscaled to ``max_side`` pixels (intrinsics scaled alike; full
    resolution photos make big datasets). Pairs and rows come from ``viewpoint_rows_from_views``
    with ``config.angle_range`` and ``config.seed`` (a ``GeneratorConfig``; default one if None).
    Returns ``out_dir``.
    """
    from .engine import GeneratorConfig

    cfg = config or GeneratorConfig()
    model_dir, images_dir = Path(model_dir), Path(images_dir)
    _check_out_dir(out_dir, overwrite)
    if not model_dir.is_dir():
        raise DatasetError(f"COLMAP model directory {model_dir} does not exist")
    if not images_dir.is_dir():
        raise DatasetError(f"images directory {images_dir} does not exist")
    cameras = read_colmap_cameras(model_dir / "cameras.txt")
    images = read_colmap_images(model_dir / "images.txt", cameras)
    if not images:
        raise DatasetError(f"{model_dir / 'images.txt'} holds no images; was the reconstruction empty?")
    files = {im.image_id: _relative_inside(im.name, images_dir, f"images.txt line {im.line}") for im in images}
    for im in images:
        if not files[im.image_id].is_file():
            raise DatasetError(f"images.txt line {im.line}: image {im.name!r} not found at {files[im.image_id]}; "
                               f"pass the directory the model's image names are relative to as images_dir")

    # Gravity-align and scale the world (labels need world z up and metres-like units).
    user_up = _parse_up(up)
    up_vec = user_up if user_up is not None else estimate_up([im.T_wc for im in images])
    R_align = rotation_to_z(up_vec)
    centres = np.array([im.T_wc[:3, 3] for im in images])
    if translation_threshold is None:
        spread = float(np.median(np.linalg.norm(centres - centres.mean(axis=0), axis=1)))
        translation_threshold = 0.03 * spread if spread > 1e-9 else L.TRANSLATION_THRESHOLD
    if not translation_threshold > 0:
        raise DatasetError(f"translation_threshold must be positive, got {translation_threshold}")
    scale = L.TRANSLATION_THRESHOLD / float(translation_threshold)

    scene = SceneInfo(scene_id=model_dir.resolve().name, split="train", source="colmap", background="", objects=())
    views = []
    for im in images:
        cam = cameras[im.camera_id]
        path = files[im.image_id]
        try:
            rgb = decode_image(path.read_bytes())
        except ValueError as e:
            raise DatasetError(f"images.txt line {im.line}: {path}: {e}") from e
        h, w = rgb.shape[:2]
        if (w, h) != (cam.width, cam.height):  # a downscaled copy (images_2/, images_4/) is fine if uniform
            if abs(w / cam.width - h / cam.height) > 0.01 * max(w / cam.width, h / cam.height):
                raise DatasetError(f"images.txt line {im.line}: {path} is {w}x{h} but camera {cam.camera_id} is "
                                   f"{cam.width}x{cam.height} (a different aspect ratio); use the images the model "
                                   f"was built from")
        sx, sy = w / cam.width, h / cam.height
        if max_side is not None and max(w, h) > max_side:
            import cv2

            f = max_side / max(w, h)
            nw, nh = max(1, round(w * f)), max(1, round(h * f))
            rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
            sx, sy = sx * nw / w, sy * nh / h
            w, h = nw, nh
        T = np.eye(4)
        T[:3, :3] = R_align @ im.T_wc[:3, :3]
        T[:3, 3] = scale * (R_align @ im.T_wc[:3, 3])
        views.append(View(view_id=f"{scene.scene_id}/{im.name}", image=encode_image(rgb, "jpeg", cfg.jpeg_quality),
                          pose=T, intrinsics=(cam.fx * sx, cam.fy * sy, cam.cx * sx, cam.cy * sy, w, h),
                          scene=scene, camera=f"colmap camera {cam.camera_id}"))

    rng = np.random.default_rng(cfg.seed)
    rows = viewpoint_rows_from_views(views, rng, tuple(cfg.angle_range), families, max_pairs=max_pairs)
    with _staged_dir(out_dir, overwrite) as tmp:
        writer = ShardWriter(tmp, cfg.rows_per_shard, {"source": "import-colmap"})
        for row in rows:
            writer.add(row)
        writer.finish(_generator("import-colmap", **{"from": str(model_dir)}, images_dir=str(images_dir),
                                 up=[float(x) for x in up_vec], scale=scale,
                                 translation_threshold=float(translation_threshold),
                                 angle_range=list(cfg.angle_range), seed=cfg.seed, families=list(families),
                                 views=len(views)),
                      f"no pair of the {len(views)} views of {model_dir} is {cfg.angle_range[0]:g}-"
                      f"{cfg.angle_range[1]:g} degrees apart horizontally (or every pair is ambiguous); nothing to "
                      f"write. Check up= (is the estimated up right?) or widen config.angle_range")
    return Path(out_dir)


# -- TRL --------------------------------------------------------------------------------------
TRL_KINDS = ("sft", "grpo")


def _trl_features(kind: str):
    import datasets

    part = {"type": datasets.Value("string"), "text": datasets.Value("string")}
    message = [{"role": datasets.Value("string"), "content": [part]}]
    return datasets.Features({
        ("messages" if kind == "sft" else "prompt"): message,
        # Encoded bytes, decoded to PIL only when a row is read: building the dataset stays cheap.
        "images": datasets.Sequence(datasets.Image()),
        "id": datasets.Value("string"), "family": datasets.Value("string"), "split": datasets.Value("string"),
        "answer": datasets.Value("string"), "answer_text": datasets.Value("string"),
        "options": datasets.Sequence(datasets.Value("string")), "prompt_style": datasets.Value("string"),
        "motion": datasets.Value("string"),
    })


def _trl_records(dataset_dir: str, split: str | None, kind: str, content: str, layout: str,
                 direct_think: str = "answer", grpo_style: str = "reasoning",
                 reasoning_think: str = "prose") -> Iterator[dict]:
    """``datasets.Dataset.from_generator`` body (module level so datasets can hash it; ``content`` is
    the dataset's content hash and ``layout`` the prompt layout's version: both key datasets' cache, so
    a changed dataset or prompt order is never served stale)."""
    columns = ["id", "family", "split", "images", "question", "options", "answer", "answer_text", "prompt_style",
               "response", "yaw_deg", "lateral_m"]
    for row in _dataset_rows(Path(dataset_dir), split, columns):
        # the camera's true motion ("moved right, turned left"; "" for rows without one): rewards.motion_reward
        truth = Q.motion_think(row["family"], row["question"], row["answer_text"], row["yaw_deg"], row["lateral_m"])
        motion = truth.split(":")[0] if truth else ""
        think = direct_think if row["prompt_style"] == "direct" else reasoning_think
        if think in ("motion", "motion_frame"):
            chain = truth if think == "motion" else Q.motion_think(
                row["family"], row["question"], row["answer_text"], row["yaw_deg"], row["lateral_m"], frame=True)
            if chain is not None:
                row["response"] = Q.response(row["answer"], row["answer_text"], chain)
        # GRPO's prompts take the style asked for (by default reasoning: the format its reward checks)
        style = grpo_style if kind == "grpo" else row["prompt_style"]
        text = prompt_text(row["question"], row["options"], len(row["images"]), style == "reasoning")
        user = {"role": "user", "content": user_content(text, [{"type": "image", "text": None}] * len(row["images"]))}
        out = {"images": [{"bytes": b, "path": None} for b in row["images"]],
               "id": row["id"], "family": row["family"], "split": row["split"], "answer": row["answer"],
               "answer_text": row["answer_text"], "options": row["options"], "prompt_style": style,
               "motion": motion}
        if kind == "sft":
            out["messages"] = [user, {"role": "assistant", "content": [{"type": "text", "text": row["response"]}]}]
        else:
            out["prompt"] = [user]
        yield out


def to_trl(dataset_dir: str | Path, split: str | None = None, kind: str = "sft", *, cache_dir: str | None = None,
           direct_think: str = "answer", grpo_style: str = "reasoning", reasoning_think: str = "prose"):
    """A ``datasets.Dataset`` in TRL's conversational vision format.

    ``kind="sft"`` (``SFTTrainer``): ``messages`` = [user, assistant], the user content being
    ``questions.user_content``'s parts (the question and options, one ``{"type": "image"}`` part per
    image, the answer-format instruction: together ``prompt_text(...)``), the
    assistant's ``{"type": "text", "text": response}``. ``kind="grpo"`` (``GRPOTrainer``): ``prompt``
    = [user] instead. Both carry ``images`` (a list of images, decoded lazily to PIL) and ``id``,
    ``family``, ``split``, ``answer``, ``answer_text``, ``options`` for reward functions and
    evaluation, and ``motion``, the camera's true motion in the chain's words (``moved right, turned left``;
    empty where the row has none) for ``rewards.motion_reward``. Rows are streamed into datasets' Arrow
    cache (``cache_dir``, default HF's), so memory stays flat. ``direct_think="motion"`` (or
    ``"motion_frame"``): direct answers of the paper's three families think ``questions.motion_think``'s
    short chain instead of the answer's text alone.
    ``grpo_style``: GRPO's prompts ask for reasoning (default) or for a direct answer (``"direct"``).
    ``reasoning_think``: the reasoning rows' chain, the data engine's ``"prose"`` (default) or the same short
    chain as ``direct_think`` (``"motion"``, ``"motion_frame"``).
    """
    import datasets

    if kind not in TRL_KINDS:
        raise ValueError(f"kind must be one of {TRL_KINDS}, got {kind!r}")
    if direct_think not in Q.DIRECT_THINKS:
        raise ValueError(f"direct_think must be one of {Q.DIRECT_THINKS}, got {direct_think!r}")
    if reasoning_think not in Q.REASONING_THINKS:
        raise ValueError(f"reasoning_think must be one of {Q.REASONING_THINKS}, got {reasoning_think!r}")
    if grpo_style not in ("reasoning", "direct"):
        raise ValueError(f"grpo_style must be 'reasoning' or 'direct', got {grpo_style!r}")
    dataset_dir = Path(dataset_dir)
    load_manifest(dataset_dir)
    _check_split(dataset_dir, split)
    return datasets.Dataset.from_generator(
        _trl_records, features=_trl_features(kind), cache_dir=cache_dir,
        gen_kwargs={"dataset_dir": str(dataset_dir.resolve()), "split": split, "kind": kind,
                    "content": manifest_hash(dataset_dir), "layout": Q.PROMPT_LAYOUT, "direct_think": direct_think,
                    "grpo_style": grpo_style, "reasoning_think": reasoning_think})


def export_trl(dataset_dir: str | Path, out_dir: str | Path, kind: str = "sft", split: str | None = None, *,
               overwrite: bool = False) -> Path:
    """``to_trl(...)`` saved with ``save_to_disk`` (load it with ``datasets.load_from_disk``); returns ``out_dir``."""
    out_dir = Path(out_dir)
    with _staged_dir(out_dir, overwrite) as tmp:
        cache = tmp.with_name(tmp.name + "-cache")  # a private cache: nothing is left in ~/.cache
        try:
            ds = to_trl(dataset_dir, split, kind, cache_dir=str(cache))
            ds.save_to_disk(str(tmp))
            del ds
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    return out_dir
