"""Loading environment configs from YAML files or dicts, with errors that name the bad key."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"config file {path} must hold a mapping at the top level, got {type(data).__name__}")
    return data


def check_keys(cls: type, d: dict, where: str) -> None:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - known
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(known)}")


class FromDict:
    """Mixin for config dataclasses: ``from_dict`` that names unknown keys (typos in YAML files)."""

    @classmethod
    def from_dict(cls, d: dict):
        check_keys(cls, d, f"{cls.__name__}")
        return cls(**_floats(cls, d))


def _floats(cls: type, d: dict) -> dict:
    """YAML 1.1 (PyYAML) reads ``3e-5`` as a string (it wants ``3.0e-5``): parse such values of float fields,
    so ``learning_rate: 3e-5`` is the number it looks like rather than an error deep inside the optimiser."""
    out = dict(d)
    for f in dataclasses.fields(cls):
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        if f.name in out and isinstance(out[f.name], str) and kind.split("|")[0].strip() == "float":
            try:
                out[f.name] = float(out[f.name])
            except ValueError:
                raise ValueError(f"{cls.__name__}: {f.name} must be a number, got {out[f.name]!r}") from None
    return out


def coerce(cls: type[T], value: Any, overrides: dict | None = None) -> T:
    """A config of type ``cls`` from None (defaults), an instance, a dict or a YAML path, plus overrides."""
    if value is None:
        value = {}
    if isinstance(value, (str, Path)):
        value = load_yaml(value)
    if isinstance(value, cls):
        return dataclasses.replace(value, **(overrides or {})) if overrides else value
    if not isinstance(value, dict):
        raise TypeError(f"expected a {cls.__name__}, a dict or a YAML path, got {type(value).__name__}")
    merged = {**value, **(overrides or {})}
    return cls.from_dict(merged)  # type: ignore[attr-defined]
