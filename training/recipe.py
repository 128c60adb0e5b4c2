"""The horizon recipe's datasets: what one SFT run of the tiny preset (``configs/sft_tiny_horizon.yaml``)
trains on and what it is judged on.

The paper's three families on floors whose colour gives the heading (``horizon``, ``horizon_spots``), the
colour-turn rungs that teach a from-scratch model the comparison and the told-motion rung that teaches the
motion chain's frame word and letter (``training/sanity.py``), a validation split the run chooses by
(``p3_horizon``'s: its gates and the check whose weights it keeps), and an evaluation set on scenes it never saw
with a held-out floor that keeps the cue (``horizon_tiles``), one of held-out objects on many scenes
(``p3_objects``), and two with camera motions it never saw (``p3_near``, ``p3_far``: the held-out camera rigs).
docs/training-log.md.

    actial data horizon --out data      # ~2 min on 2 cores; a killed run resumes
"""

from __future__ import annotations

from pathlib import Path

from .questions import PAPER_FAMILIES

# name -> GeneratorConfig fields (the first is the run's `dataset`); the sft config names the others
RENDERED = {
    # its validation split (new scenes) is what the run chooses by: the held-out checks, its gates, the check whose
    # weights keep_best saves; the test splits here and below are only reported. Until session 31 the validation
    # split was named `test` (the same scenes: the split is drawn by position, so only its name changed)
    "p3_horizon": dict(n_pairs=24000, train_backgrounds=["horizon"], seed=9,
                       splits={"train": 0.8, "validation": 0.1, "test_objects": 0.05, "test_backgrounds": 0.05}),
    "p3_spots": dict(n_pairs=6000, train_backgrounds=["horizon_spots"], heldout_backgrounds=["horizon_tiles"],
                     splits={"train": 0.9, "test": 0.1}, seed=23),
    # evaluation only: new scenes on `horizon` (test), held-out objects, and the held-out floor
    "p3_tiles": dict(n_pairs=3000, train_backgrounds=["horizon"], heldout_backgrounds=["horizon_tiles"],
                     splits={"test": 0.35, "test_objects": 0.15, "test_backgrounds": 0.5}, seed=19),
    # evaluation only: held-out objects on 69 scenes (p3_tiles holds 226 such questions from 8 scenes, too few to
    # judge by: a scene's questions share its views, and one scene decided a GRPO loss there; docs/training-log.md)
    "p3_objects": dict(n_pairs=2000, train_backgrounds=["horizon"], splits={"test_objects": 1.0}, seed=53),
    # evaluation only: camera motions the training data never shows (it pairs views 20-100 degrees apart),
    # on `horizon` (test) and on the held-out floor (test_backgrounds): smaller turns, and larger ones (up to
    # 150: past that an orbit left looks nearly like one right, 360 minus as far)
    "p3_near": dict(n_pairs=2000, angle_range=(5.0, 20.0), train_backgrounds=["horizon"],
                    heldout_backgrounds=["horizon_tiles"], splits={"test": 0.5, "test_backgrounds": 0.5}, seed=41),
    "p3_far": dict(n_pairs=2000, angle_range=(100.0, 150.0), train_backgrounds=["horizon"],
                   heldout_backgrounds=["horizon_tiles"], splits={"test": 0.5, "test_backgrounds": 0.5}, seed=43),
}
# name -> (training.sanity's function, its arguments): the colour-turn rung worded as ego_translation (phase 1)
# and as its own question (phases 3-4); the told-motion rung (phase 2: the chain's frame word and letter)
RUNGS = {
    "hue_turn_ego": ("hue_turn_dataset", dict(n=4000, families=["ego_translation"])),
    "hue_turn": ("hue_turn_dataset", dict(n=4000)),
    "told_motion": ("told_motion_dataset", dict(n=3000)),
}


SFT_CONFIG = Path(__file__).parent / "configs" / "sft_tiny_horizon.yaml"


def sft_config(data: str | Path | dict) -> dict:
    """The recipe's SFT config (``SFT_CONFIG``) as a dict, its datasets (named ``data/NAME`` there) found in
    ``data``: the folder ``actial data horizon`` wrote, or ``horizon_data``'s name -> directory."""
    import yaml

    def where(name: str) -> str:
        return str(data[name]) if isinstance(data, dict) else str(Path(data) / name)

    cfg = yaml.safe_load(SFT_CONFIG.read_text())
    for phase in cfg.get("curriculum", []):
        if "extra_datasets" in phase:
            phase["extra_datasets"] = [where(Path(d).name) for d in phase["extra_datasets"]]
    cfg["extra_datasets"] = [where(Path(d).name) for d in cfg.get("extra_datasets", [])]
    cfg["dataset"] = where("p3_horizon")
    return cfg


def rendered_config(name: str):
    """The ``GeneratorConfig`` of one of the recipe's rendered datasets (112 px, fixed option order, orbits only)."""
    from .engine import GeneratorConfig

    return GeneratorConfig(image_size=112, shuffle_options=False, families={f: 1.0 for f in PAPER_FAMILIES},
                           pan_share=0, slide_share=0, multi_object_share=0.6, **RENDERED[name])


def horizon_data(root: str | Path, workers: int = 1, show_progress: bool = True,
                 overwrite: bool = False) -> dict[str, Path]:
    """Write (or finish) every dataset of the recipe under ``root``; returns name -> directory. ``overwrite``:
    rewrite a dataset whose folder holds another config's (without it, that is an error)."""
    from . import sanity
    from .dataset import MANIFEST
    from .engine import generate

    root = Path(root)
    out = {}
    for name in RENDERED:
        out[name] = generate(rendered_config(name), root / name, workers=workers, show_progress=show_progress,
                             overwrite=overwrite).out
    for name, (make, kwargs) in RUNGS.items():
        out[name] = root / name
        if not (out[name] / MANIFEST).is_file():  # seconds to write: a killed one is written again whole
            getattr(sanity, make)(out[name], **kwargs)
    return out
