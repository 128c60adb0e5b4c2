"""The on-disk dataset: parquet shards + ``manifest.json`` (DESIGN.md, "A dataset").

One row is one question about one set of images (usually a pair). Images are stored inside the
row as encoded bytes (JPEG by default), so ``datasets.load_dataset("parquet", data_files=...)``
reads a dataset directory with nothing else. Each row keeps both camera poses and the exact
angles, so new question families can be derived later without re-rendering.

Shards are written to ``<name>.tmp`` and renamed into place: a shard either exists whole or not
at all, which is what makes killed jobs resumable.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
SHARD_GLOB = "shard-*.parquet"
LETTERS = "ABCDEFGHIJ"

SCHEMA = pa.schema([
    pa.field("id", pa.string()),
    pa.field("family", pa.string()),  # question family, see training/questions.py
    pa.field("split", pa.string()),  # train | test | test_objects | test_backgrounds | ...
    pa.field("source", pa.string()),  # viewpoint_orbit | pick_place | colmap | sat | recorder
    pa.field("images", pa.list_(pa.binary())),  # encoded image bytes (JPEG/PNG), in prompt order
    pa.field("question", pa.string()),
    pa.field("options", pa.list_(pa.string())),  # empty for free-form (numeric) questions
    pa.field("answer", pa.string()),  # a letter for multiple choice, a number for numeric
    pa.field("answer_text", pa.string()),
    pa.field("prompt_style", pa.string()),  # direct | reasoning (hybrid cold start)
    pa.field("response", pa.string()),  # the assistant turn to train on: [<think>..</think>]<answer>X</answer>
    pa.field("poses", pa.list_(pa.list_(pa.float64()))),  # per image: 16 floats, world<-camera, row-major
    pa.field("intrinsics", pa.list_(pa.list_(pa.float64()))),  # per image: fx, fy, cx, cy, width, height
    pa.field("yaw_deg", pa.float64()),  # camera 1 -> 2, + = turned left (training/labels.py)
    pa.field("lateral_m", pa.float64()),  # + = moved right
    pa.field("forward_m", pa.float64()),
    pa.field("vertical_m", pa.float64()),
    pa.field("scene_id", pa.string()),
    pa.field("background", pa.string()),
    pa.field("objects", pa.list_(pa.string())),  # object labels in the scene
    pa.field("meta", pa.string()),  # JSON: anything family-specific (marked object, pixel positions, ...)
])
COLUMNS = SCHEMA.names
TEXT_COLUMNS = [c for c in COLUMNS if c != "images"]  # cheap to read


class DatasetError(ValueError):
    """A dataset directory or file is missing, malformed or inconsistent."""


def empty_row() -> dict:
    nan = math.nan
    return {"id": "", "family": "", "split": "train", "source": "", "images": [], "question": "", "options": [],
            "answer": "", "answer_text": "", "prompt_style": "direct", "response": "", "poses": [],
            "intrinsics": [], "yaw_deg": nan, "lateral_m": nan, "forward_m": nan, "vertical_m": nan,
            "scene_id": "", "background": "", "objects": [], "meta": "{}"}


def rows_to_table(rows: list[dict]) -> pa.Table:
    for i, row in enumerate(rows):
        missing = [c for c in COLUMNS if c not in row]
        if missing:
            raise DatasetError(f"row {i} lacks columns {missing}")
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.parquet"


def write_shard_atomic(table: pa.Table, path: Path, metadata: dict | None = None) -> str:
    """Write ``table`` to ``path`` via a temporary file and a rename; returns the file's sha256."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               b"actial": json.dumps(metadata).encode()})
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
        digest = hashlib.sha256(f.read()).hexdigest()
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)  # make the rename itself durable
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return digest


def shard_metadata(path: Path) -> dict:
    """The ``actial`` metadata of a shard; raises DatasetError when the file is not a whole parquet file."""
    try:
        md = pq.read_metadata(path)
    except Exception as e:  # truncated, empty, not parquet
        raise DatasetError(f"{path} is not a readable parquet shard ({e}); delete it and re-run the job "
                           f"(it will be regenerated) or restore it from a copy") from e
    raw = (md.metadata or {}).get(b"actial")
    return json.loads(raw) if raw else {}


def check_shard(path: Path) -> int:
    """Validate one shard fully (footer, schema, every page decodes); returns its row count."""
    shard_metadata(path)
    try:
        table = pq.read_table(path, columns=TEXT_COLUMNS)
    except Exception as e:
        raise DatasetError(f"{path} is corrupt ({e}); delete it and re-run the job") from e
    missing = [c for c in COLUMNS if c not in pq.read_schema(path).names]
    if missing:
        raise DatasetError(f"{path} lacks columns {missing}; it was not written by this schema (version {SCHEMA_VERSION})")
    return table.num_rows


def shard_paths(directory: str | Path) -> list[Path]:
    d = Path(directory)
    if not d.is_dir():
        raise DatasetError(f"dataset directory {d} does not exist")
    return sorted(d.glob(SHARD_GLOB))


def load_manifest(directory: str | Path) -> dict:
    p = Path(directory) / MANIFEST
    if not p.is_file():
        raise DatasetError(f"{directory} has no {MANIFEST}: not a finished dataset (an interrupted job? re-run it)")
    try:
        m = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise DatasetError(f"{p} is not valid JSON: {e}") from e
    if m.get("schema_version") != SCHEMA_VERSION:
        raise DatasetError(f"{p}: schema version {m.get('schema_version')} is not {SCHEMA_VERSION}")
    return m


def read_table(directory: str | Path, columns: list[str] | None = None, split: str | None = None) -> pa.Table:
    """All shards of a finished dataset as one Arrow table (optionally some columns / one split)."""
    manifest = load_manifest(directory)
    tables = []
    for entry in manifest["shards"]:
        path = Path(directory) / entry["file"]
        if not path.is_file():
            raise DatasetError(f"{path} is listed in the manifest but missing")
        shard_metadata(path)
        t = pq.read_table(path, columns=columns)
        if split is not None:
            import pyarrow.compute as pc

            t = t.filter(pc.equal(t["split"], split))
        tables.append(t)
    if not tables:
        raise DatasetError(f"{directory} holds no shards")
    return pa.concat_tables(tables)


def iter_rows(directory: str | Path, columns: list[str] | None = None, batch_size: int = 256) -> Iterable[dict]:
    """Stream rows shard by shard, batch by batch: memory stays flat however big the dataset."""
    manifest = load_manifest(directory)
    for entry in manifest["shards"]:
        path = Path(directory) / entry["file"]
        if not path.is_file():
            raise DatasetError(f"{path} is listed in the manifest but missing")
        shard_metadata(path)
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=batch_size, columns=columns):
            yield from batch.to_pylist()


@dataclass
class Counts:
    rows: int
    by_family: dict
    by_split: dict
    by_answer: dict  # family -> letter -> count
    by_source: dict


def count(table: pa.Table) -> Counts:
    fam = table["family"].to_pylist()
    ans = table["answer"].to_pylist()
    opts = table["options"].to_pylist()
    by_answer: dict = {}
    for f, a, o in zip(fam, ans, opts):
        if o:  # multiple choice only
            by_answer.setdefault(f, Counter())[a] += 1
    return Counts(rows=table.num_rows, by_family=dict(Counter(fam)), by_split=dict(Counter(table["split"].to_pylist())),
                  by_answer={f: dict(sorted(c.items())) for f, c in by_answer.items()},
                  by_source=dict(Counter(table["source"].to_pylist())))


def write_manifest(directory: str | Path, generator: dict, shards: list[dict]) -> dict:
    """Count what the shards hold and write ``manifest.json`` (atomically)."""
    directory = Path(directory)
    tables = [pq.read_table(directory / s["file"], columns=["family", "split", "answer", "options", "source"])
              for s in shards]
    c = count(pa.concat_tables(tables)) if tables else Counts(0, {}, {}, {}, {})
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "generator": generator,
        "rows": c.rows,
        "counts": {"family": c.by_family, "split": c.by_split, "answer": c.by_answer, "source": c.by_source},
        "shards": shards,
    }
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    os.replace(tmp, directory / MANIFEST)
    return manifest


def manifest_hash(directory: str | Path) -> str:
    """A short content hash of a dataset (its shards' hashes), for checkpoint manifests."""
    m = load_manifest(directory)
    h = hashlib.sha256("".join(s["sha256"] for s in m["shards"]).encode()).hexdigest()
    return h[:16]


def format_options(options: list[str]) -> str:
    return "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))


class ShardWriter:
    """Collects rows and writes full shards as they fill, so memory holds one shard at most."""

    def __init__(self, directory: str | Path, rows_per_shard: int, metadata: dict):
        if rows_per_shard < 1:
            raise ValueError(f"rows_per_shard must be >= 1, got {rows_per_shard}")
        self.directory, self.rows_per_shard, self.metadata = Path(directory), rows_per_shard, metadata
        self.rows: list[dict] = []
        self.shards: list[dict] = []
        self.written = 0  # rows in finished shards

    def add(self, row: dict) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.rows_per_shard:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        index = len(self.shards)
        path = self.directory / shard_name(index)
        digest = write_shard_atomic(rows_to_table(self.rows), path, {**self.metadata, "shard": index})
        self.shards.append({"file": path.name, "rows": len(self.rows), "sha256": digest})
        self.written += len(self.rows)
        self.rows = []

    def __len__(self) -> int:
        return self.written + len(self.rows)

    def finish(self, generator: dict, empty_message: str) -> dict:
        self.flush()
        if not self.shards:
            raise DatasetError(empty_message)
        return write_manifest(self.directory, generator, self.shards)
