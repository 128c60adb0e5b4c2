"""The ``actial`` command line. ``actial --help`` lists the stages; each has its own ``--help``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from training.presets import TOKENIZER_ROWS

app = typer.Typer(
    help="actial-robot: posed PyBullet views -> viewpoint questions -> a spatially aware VLM -> ROS 2 robots.\n\n"
         "Start with `actial demo` (a scripted pick-and-place episode seen by every camera).",
    no_args_is_help=True, add_completion=False)
sim_app = typer.Typer(help="The simulated world: environments, cameras, episodes.", no_args_is_help=True)
app.add_typer(sim_app, name="sim")
data_app = typer.Typer(help="The viewpoint data engine: generate, inspect, export and import datasets.\n\n"
                            "A dataset is a directory of parquet shards plus manifest.json; "
                            "datasets.load_dataset('parquet', data_files='DIR/shard-*.parquet') reads it.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")
model_app = typer.Typer(help="Model presets: build the tiny Qwen2.5-VL locally; average checkpoints.", no_args_is_help=True)
app.add_typer(model_app, name="model")
train_app = typer.Typer(help="Training: SFT with the hybrid cold start, then GRPO (TRL). Configs: training/configs/*.yaml.",
                        no_args_is_help=True)
app.add_typer(train_app, name="train")
ros_app = typer.Typer(help="ROS 2: start the node graph (model server, sim_bridge, spatial_query, recorder).",
                      no_args_is_help=True)
app.add_typer(ros_app, name="ros")
console = Console(soft_wrap=True)  # paths and URLs stay whole on one line, in a terminal or a log


@app.command()
def demo(out: Path = typer.Option(Path("outputs/demo"), help="Folder for the pictures and the episode record."),
         seed: int = typer.Option(0, help="Scene seed: same seed, same scene, same pictures."),
         size: int = typer.Option(160, help="Camera resolution in pixels (square)."),
         data_pairs: int = typer.Option(300, help="Viewpoint questions to generate after the episode (0 = skip).")):
    """Run a scripted pick-and-place episode (multi-view picture + animation), then generate a small
    viewpoint dataset and its contact sheet."""
    from actial_robot.demo import run_scripted_episode

    with Progress(TextColumn("[bold]scripted episode"), BarColumn(), TextColumn("{task.completed} steps"),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("episode", total=None)
        rec = run_scripted_episode(seed, out, size=size, progress=lambda: bar.advance(task))
    table = Table(title="actial demo")
    table.add_column("what")
    table.add_column("result")
    table.add_row("target", rec.target)
    table.add_row("success", "yes" if rec.success else "NO")
    table.add_row("steps", str(rec.steps))
    table.add_row("multi-view picture", str(rec.picture))
    table.add_row("animation", str(rec.animation))
    table.add_row("camera poses", str(rec.views))
    if data_pairs > 0:
        from training.engine import GeneratorConfig, default_workers, generate
        from training.preview import contact_sheet

        res = generate(GeneratorConfig(n_pairs=data_pairs, image_size=112, seed=seed, rows_per_shard=100),
                       out / "viewpoint_data", workers=default_workers())
        table.add_row("viewpoint dataset", f"{res.rows} questions in {res.out}")
        table.add_row("dataset preview", str(contact_sheet(res.out, out / "viewpoint_data_preview.png", n=9)))
    console.print(table)
    if not rec.success:
        raise typer.Exit(1)


@sim_app.command("check")
def sim_check():
    """Run Gymnasium's env checker on every actial environment."""
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    import sim_envs  # noqa: F401

    for env_id in ("actial/PickPlace-v0", "actial/ViewpointOrbit-v0"):
        env = gym.make(env_id, render_mode="rgb_array")
        try:
            check_env(env.unwrapped, skip_render_check=False)
            console.print(f"[green]ok[/green] {env_id}")
        finally:
            env.close()


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


@data_app.command("generate")
def data_generate(
    out: Path = typer.Option(..., help="Dataset directory to write (or resume)."),
    n_pairs: int = typer.Option(None, "--n-pairs", "-n", help="Rows (questions about image pairs) to write \\[default: 1000]."),
    seed: int = typer.Option(None, help="Job seed: same seed and config, same dataset, whatever the workers \\[default: 0]."),
    size: int = typer.Option(None, help="Image size in pixels (square) \\[default: 224]. The tiny model trains on 112."),
    source: str = typer.Option(None, help="viewpoint_orbit (object-centric orbits) or pick_place (tabletop rig) "
                                          "\\[default: viewpoint_orbit]."),
    config: Path = typer.Option(None, help="YAML with GeneratorConfig fields (families, splits, shares, ...); "
                                           "command-line options override it."),
    workers: int = typer.Option(0, help="Worker processes (0 = one per CPU core)."),
    ray_address: str = typer.Option(None, "--ray-address", help="Shard the job over a Ray cluster: 'auto', "
                                                                "'ray://host:10001', or 'local' to start one here."),
    overwrite: bool = typer.Option(False, help="Replace a different job found in --out."),
):
    """Render posed views, pair them, write questions. Killed jobs resume: run the same command again."""
    import yaml

    from training.dataset import DatasetError
    from training.engine import GeneratorConfig, default_workers, generate

    try:
        if config is not None and not config.is_file():
            _fail(f"config file {config} does not exist")
        base = (yaml.safe_load(config.read_text()) if config else None) or {}
        given = {"n_pairs": n_pairs, "seed": seed, "image_size": size, "source": source}
        cfg = GeneratorConfig.from_dict({**base, **{k: v for k, v in given.items() if v is not None}})
        res = generate(cfg, out, workers=workers or default_workers(), ray_address=ray_address, overwrite=overwrite)
    except (ValueError, DatasetError, FileNotFoundError) as e:
        _fail(str(e))
    console.print(f"[green]done[/green] {res.rows} rows in {res.seconds:.1f} s ({res.rows / max(res.seconds, 1e-9):.0f}/s; "
                  f"{res.shards_written} shards written, {res.shards_skipped} already there) -> {res.out}")
    _print_counts(res.manifest)


@data_app.command("horizon")
def data_horizon(out: Path = typer.Option(Path("data"), help="Folder for the recipe's datasets (one folder each)."),
                 workers: int = typer.Option(0, help="Worker processes (0 = one per CPU core)."),
                 overwrite: bool = typer.Option(False, help="Rewrite a dataset whose folder holds another config's "
                                                            "(e.g. p3_horizon from before session 31); the others "
                                                            "stay.")):
    """The horizon recipe's datasets (~2 min): the paper's three families on `horizon` and `horizon_spots`
    floors (`p3_horizon`'s validation split is what SFT's held-out checks read), the colour-turn and
    told-motion rungs, and evaluation sets: the held-out floor `horizon_tiles`, held-out objects on 69 scenes
    (`p3_objects`), camera turns never trained on (`p3_near`, `p3_far`).
    Then: actial train sft --config training/configs/sft_tiny_horizon.yaml --dataset data/p3_horizon ...
    (docs/training-log.md: the one-run recipe). A killed run resumes."""
    from training.dataset import DatasetError
    from training.engine import default_workers
    from training.recipe import horizon_data

    try:
        data = horizon_data(out, workers=workers or default_workers(), overwrite=overwrite)
    except (ValueError, DatasetError) as e:
        _fail(str(e))
    for name, path in data.items():
        console.print(f"[green]{name}[/green] -> {path}")


def _print_counts(manifest: dict) -> None:
    counts = manifest["counts"]
    t = Table(title=f"{manifest['rows']} rows")
    t.add_column("family")
    t.add_column("rows", justify="right")
    t.add_column("answer letters")
    for fam, n in sorted(counts["family"].items()):
        letters = counts["answer"].get(fam, {})
        t.add_row(fam, str(n), " ".join(f"{k}:{v}" for k, v in letters.items()) or "(numeric)")
    console.print(t)
    console.print("splits: " + ", ".join(f"{k} {v}" for k, v in sorted(counts["split"].items())))
    console.print("sources: " + ", ".join(f"{k} {v}" for k, v in sorted(counts["source"].items())))


@data_app.command("stats")
def data_stats(dataset: Path = typer.Argument(..., help="Dataset directory.")):
    """Counts per question family, answer letter, split and source."""
    from training.dataset import DatasetError, load_manifest

    try:
        _print_counts(load_manifest(dataset))
    except DatasetError as e:
        _fail(str(e))


@data_app.command("preview")
def data_preview(dataset: Path = typer.Argument(..., help="Dataset directory."),
                 out: Path = typer.Option(None, help="PNG to write (default: DATASET/preview.png)."),
                 n: int = typer.Option(12, help="Samples on the sheet (spread over families)."),
                 family: list[str] = typer.Option(None, help="Only these families (repeatable).")):
    """Write a contact sheet: each sample's images, question, options and answer."""
    from training.dataset import DatasetError
    from training.preview import contact_sheet

    try:
        path = contact_sheet(dataset, out or dataset / "preview.png", n=n, families=family or None)
    except (DatasetError, ValueError) as e:
        _fail(str(e))
    console.print(f"wrote {path}")


@data_app.command("export")
def data_export(dataset: Path = typer.Argument(..., help="Dataset directory."),
                to: str = typer.Option(..., "--to", help="sharegpt (LLaMA-Factory JSON + image files) | trl-sft | trl-grpo "
                                                          "(datasets.save_to_disk, conversational format)."),
                out: Path = typer.Option(..., help="Output directory."),
                split: str = typer.Option(None, help="Only this split.")):
    """Export to LLaMA-Factory's ShareGPT format or to the conversational format TRL's trainers take."""
    from training import interchange
    from training.dataset import DatasetError

    try:
        if to == "sharegpt":
            path = interchange.export_sharegpt(dataset, out, split=split)
        elif to in ("trl-sft", "trl-grpo"):
            path = interchange.export_trl(dataset, out, kind=to.removeprefix("trl-"))
        else:
            _fail(f"unknown export format {to!r}; use sharegpt, trl-sft or trl-grpo")
    except DatasetError as e:
        _fail(str(e))
    console.print(f"wrote {path}")


@data_app.command("import")
def data_import(kind: str = typer.Argument(..., help="sat | colmap | sharegpt"),
                src: Path = typer.Argument(..., help="SAT parquet file/dir, COLMAP text model dir, or ShareGPT JSON."),
                out: Path = typer.Option(..., help="Dataset directory to write."),
                images: Path = typer.Option(None, help="COLMAP: the directory holding the images."),
                up: str = typer.Option("auto", help="COLMAP: world up axis: auto (from the cameras), z, or 'x,y,z'.")):
    """Bring SAT-style parquet, COLMAP text models (cameras.txt + images.txt) or ShareGPT JSON into our format."""
    from training import interchange
    from training.dataset import DatasetError

    try:
        if kind == "sat":
            path = interchange.import_sat(src, out)
        elif kind == "colmap":
            if images is None:
                _fail("colmap import needs --images DIR (where images.txt's NAMEs live)")
            path = interchange.import_colmap(src, images, out, up=up)
        elif kind == "sharegpt":
            path = interchange.import_sharegpt(src, out)
        else:
            _fail(f"unknown import kind {kind!r}; use sat, colmap or sharegpt")
    except DatasetError as e:
        _fail(str(e))
    console.print(f"wrote {path}")


@model_app.command("build-tiny")
def model_build_tiny(data: Path = typer.Option(..., help="Dataset directory whose text trains the tokenizer."),
                     out: Path = typer.Option(..., help="Model directory to write."),
                     image_size: int = typer.Option(112, help="Image side in pixels (112 px = 16 tokens per image)."),
                     seed: int = typer.Option(0, help="Weight initialisation seed."),
                     text_rows: int = typer.Option(TOKENIZER_ROWS, help="Rows whose text trains the tokenizer "
                                                   "(0: all). bench/train.py and the loop read as many: the same "
                                                   "data then gives the benchmarked tokenizer.")):
    """Build the tiny preset: Qwen2.5-VL from a config, tokenizer trained on the dataset's text. No download."""
    from training.dataset import DatasetError
    from training.presets import build_tiny, dataset_texts, read_preset_info

    try:
        path = build_tiny(out, dataset_texts(data, limit=text_rows or None), image_size=image_size, seed=seed)
    except DatasetError as e:
        _fail(str(e))
    info = read_preset_info(path) or {}
    console.print(f"wrote {path} ({info.get('parameters', '?')} parameters, vocabulary {info.get('vocab_size', '?')})")


@model_app.command("average")
def model_average(checkpoints: list[Path] = typer.Argument(..., help="Two or more checkpoints trained from one "
                                                           "starting model (e.g. one GRPO config at several seeds)."),
                  out: Path = typer.Option(..., help="Directory for the averaged checkpoint (servable as any)."),
                  weight: list[float] = typer.Option(None, help="One weight per checkpoint, in order (default: "
                                                     "equal). Repeatable.")):
    """Average the parameters of several runs into one model (a "model soup"): what the runs share stays,
    what each seed drew averages out. Example, five GRPO seeds:
    actial model average outputs/grpo-s0 outputs/grpo-s1 outputs/grpo-s2 outputs/grpo-s3 outputs/grpo-s4
    --out outputs/grpo-soup (docs/training-log.md: averaging GRPO's seeds)."""
    from training.average import average_checkpoints

    try:
        path = average_checkpoints(checkpoints, out, weights=weight or None)
    except (ValueError, FileNotFoundError) as e:
        _fail(str(e))
    console.print(f"wrote {path}: the mean of {len(checkpoints)} checkpoints")


def _train_config(cls, config: Path | None, overrides: dict):
    import yaml

    if config is not None and not config.is_file():
        _fail(f"config file {config} does not exist")
    base = (yaml.safe_load(config.read_text()) if config else None) or {}
    try:
        cfg = cls.from_dict({**base, **{k: v for k, v in overrides.items() if v is not None}})
    except (TypeError, ValueError) as e:
        _fail(str(e))
    for key in ("model", "dataset"):
        if not getattr(cfg, key):
            _fail(f"--{key} is required (or set `{key}:` in the config)")
        if not Path(getattr(cfg, key)).exists():
            _fail(f"{key} {getattr(cfg, key)} does not exist")
    return cfg


_TRAIN_OPTS = dict(
    config=typer.Option(None, help="YAML config (training/configs/); options below override it."),
    model=typer.Option(None, help="Model directory: tiny (actial model build-tiny), a checkpoint, or a local Qwen2.5-VL."),
    dataset=typer.Option(None, help="Dataset directory (actial data generate)."),
    out=typer.Option(None, help="Output checkpoint directory; re-running with the same one resumes."),
    max_steps=typer.Option(None, help="Optimisation steps (overrides epochs)."),
    preset=typer.Option(None, help="tiny | qwen2.5-vl-3b | qwen2.5-vl-7b."),
    extra_dataset=typer.Option(None, help="More dataset directories mixed into the training split (repeatable)."),
    seed=typer.Option(None, help="Seed (overrides the config's): another draw of the run, e.g. several to average "
                                 "with `actial model average`."),
    average_from_step=typer.Option(None, help="Save the mean of the weights after every step from this one on, "
                                              "not the last step's (a tail average along the run; e.g. 100 of 300)."),
    bf16=typer.Option(None, "--bf16/--no-bf16", help="bf16 autocast, fp32 weights (overrides the config's): faster "
                      "on a CPU with avx512_bf16 or AMX (bench/precision.py), 16x slower on one without; default: "
                      "the config's (the recipe's `auto` chooses by the hardware), else on a GPU when the weights "
                      "are bf16."),
)


@train_app.command("sft")
def train_sft(config: Path = _TRAIN_OPTS["config"], model: str = _TRAIN_OPTS["model"],
              dataset: str = _TRAIN_OPTS["dataset"], out: str = _TRAIN_OPTS["out"],
              max_steps: int = _TRAIN_OPTS["max_steps"], preset: str = _TRAIN_OPTS["preset"],
              extra_dataset: list[str] = _TRAIN_OPTS["extra_dataset"], seed: int = _TRAIN_OPTS["seed"],
              average_from_step: int = _TRAIN_OPTS["average_from_step"], bf16: bool = _TRAIN_OPTS["bf16"],
              reasoning_ratio: float = typer.Option(None, help="Hybrid cold start: share of chain-of-thought samples.")):
    """Supervised fine-tuning with the hybrid cold start (loss on the assistant turn only)."""
    from training.dataset import DatasetError
    from training.sft import SFTRunConfig, run_sft

    cfg = _train_config(SFTRunConfig, config, {"model": model, "dataset": dataset, "output_dir": out,
                                                "max_steps": max_steps, "preset": preset,
                                                "reasoning_ratio": reasoning_ratio, "seed": seed,
                                                "average_from_step": average_from_step, "bf16": bf16,
                                                "extra_datasets": extra_dataset or None})
    try:
        console.print(f"checkpoint: {run_sft(cfg)}")
    except DatasetError as e:  # a dataset without the split or rows the run reads: say which, no traceback
        _fail(str(e))


@train_app.command("grpo")
def train_grpo(config: Path = _TRAIN_OPTS["config"], model: str = _TRAIN_OPTS["model"],
               dataset: str = _TRAIN_OPTS["dataset"], out: str = _TRAIN_OPTS["out"],
               max_steps: int = _TRAIN_OPTS["max_steps"], preset: str = _TRAIN_OPTS["preset"],
               extra_dataset: list[str] = _TRAIN_OPTS["extra_dataset"], seed: int = _TRAIN_OPTS["seed"],
               average_from_step: int = _TRAIN_OPTS["average_from_step"], bf16: bool = _TRAIN_OPTS["bf16"]):
    """GRPO from an SFT checkpoint: reward = 0.5 format + 0.5 accuracy, KL 0.01, clip 0.2."""
    from training.grpo import GRPORunConfig, run_grpo

    cfg = _train_config(GRPORunConfig, config, {"model": model, "dataset": dataset, "output_dir": out,
                                                 "max_steps": max_steps, "preset": preset, "seed": seed,
                                                 "average_from_step": average_from_step, "bf16": bf16,
                                                 "extra_datasets": extra_dataset or None})
    console.print(f"checkpoint: {run_grpo(cfg)}")


@app.command("eval")
def eval_cmd(data: Path = typer.Option(..., help="Dataset directory; its test splits are evaluated."),
             model_path: Path = typer.Option(None, help="Evaluate this checkpoint in process."),
             base_url: str = typer.Option(None, help="Or evaluate an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1."),
             served_model: str = typer.Option(None, help="Endpoint: the served model's name (default: the first served)."),
             out: Path = typer.Option(None, help="Report directory (default: the checkpoint, or outputs/eval)."),
             stage: str = typer.Option("eval", help="Name of this evaluation (files eval_<stage>.json/.md/.png)."),
             prompt_style: str = typer.Option("direct", help="direct | reasoning | as_in_data."),
             split: list[str] = typer.Option(None, help="Splits (repeatable; default: every test split)."),
             family: list[str] = typer.Option(None, help="Families (repeatable; default: all)."),
             max_samples: int = typer.Option(None, help="At most this many rows per split (seeded)."),
             blind_data: Path = typer.Option(None, help="Dataset whose train split gives the image-blind level "
                                                        "(default: --data; an evaluation-only set has no train split)."),
             batch_size: int = typer.Option(8), preset: str = typer.Option("tiny"),
             threads: int = typer.Option(None, help="torch CPU threads during evaluation."),
             bootstrap_unit: str = typer.Option("scene", help="What an interval's resample draws: whole scenes "
                                                              "(a scene's questions share its views) or questions."),
             against: Path = typer.Option(None, help="Another model's report on the same questions "
                                                     "(eval_<stage>.json, same --data/--split/--max-samples): "
                                                     "also write this one minus it, paired, with 95% intervals.")):
    """Accuracy per split and family, format and answer rates, 95% bootstrap intervals, chance and image-blind levels.

    \b
    actial eval --data data/p3_tiles --model-path outputs/sft --stage sft
    actial eval --data data/p3_tiles --model-path outputs/grpo --stage grpo --against outputs/sft/eval_sft.json
    """
    from training.checkpoint import add_evaluation, read_manifest
    from training.dataset import DatasetError
    from training.evaluate import (EndpointError, EvalConfig, InProcessAnswerer, OpenAIAnswerer, evaluate,
                                   load_report, markdown_table, paired_table, write_report)

    if (model_path is None) == (base_url is None):
        _fail("give exactly one of --model-path (in process) or --base-url (a served model)")
    baseline = None
    if against is not None:  # read before the evaluation: a wrong path fails in a second, not after it
        try:
            baseline = load_report(against)
        except (OSError, ValueError, TypeError, KeyError) as e:
            _fail(f"--against {against}: not a readable evaluation report ({e}); give an eval_<stage>.json "
                  "that `actial eval` wrote")
    try:
        cfg = EvalConfig(str(data), splits=split or None, families=family or None, max_samples=max_samples,
                         batch_size=batch_size, prompt_style=prompt_style, threads=threads,
                         blind_dataset_dir=blind_data, bootstrap_unit=bootstrap_unit)
        answerer = (OpenAIAnswerer(base_url, served_model) if base_url
                    else InProcessAnswerer.from_pretrained(model_path, preset))
        report = evaluate(cfg, answerer, progress=True)
    except (ValueError, DatasetError, EndpointError, FileNotFoundError) as e:
        _fail(str(e))
    target = out or (model_path if model_path else Path("outputs/eval"))
    paths = write_report(report, target, stage)
    console.print(markdown_table(report, stage))
    if baseline is not None:
        try:
            table = paired_table(baseline, report, against.stem.removeprefix("eval_"), stage)
        except ValueError as e:
            _fail(f"--against {against}: {e}")
        paths["paired"] = paths["json"].with_name(paths["json"].stem + "_paired.md")
        paths["paired"].write_text(table)
        console.print(table)
    if model_path is not None and read_manifest(model_path) is not None:
        add_evaluation(model_path, stage, {"dataset": str(data), "metrics": report.metrics,
                                           "report": str(paths["json"])})
    console.print("\n".join(f"wrote {p}" for p in paths.values()))


@app.command()
def episodes(out: Path = typer.Option(Path("outputs/episodes"), help="Folder for episodes.json, report.md/png, GIFs."),
             n: int = typer.Option(50, "--episodes", "-n", help="Seeded episodes per chooser."),
             seed: int = typer.Option(0, help="First seed; every chooser gets the same scenes."),
             model_path: list[Path] = typer.Option(None, help="Checkpoint(s) to run in process (repeatable); "
                                                               "NAME=PATH names one in the report."),
             base_url: str = typer.Option(None, help="Or a served model: http://127.0.0.1:8000/v1."),
             served_model: str = typer.Option(None, help="The served model's name (default: the first listed)."),
             baselines: bool = typer.Option(True, help="Also run the oracle and random choosers."),
             videos: int = typer.Option(3, help="Multi-view GIFs for the first N episodes of each chooser."),
             image_size: int = typer.Option(112, help="Camera resolution (the tiny model sees 112 px)."),
             ask: str = typer.Option("viewpoint", help="What the model is asked: 'viewpoint' (where was the "
                                     "operator's photo taken? the robot resolves the object) or 'object' "
                                     "(which object is meant?).")):
    """Pick-and-place where the instruction names the object from another viewpoint; the model decides which.

    \b
    actial episodes --model-path sft=outputs/demo/sft --model-path untrained=outputs/demo/tiny
    actial episodes --base-url http://127.0.0.1:8000/v1
    actial episodes --base-url http://127.0.0.1:8000/v1 --ask object   # the whole choice from the model
    """
    import os

    # episodes share the cores with the model server and ROS nodes: torch's threads sleep as soon as an operation
    # ends. Training and evaluation leave libgomp's default (a short spin first): PASSIVE made an SFT step of the
    # tiny preset 1.10x slower on 2 cores (bench/step_speed.py --compare omp_wait)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from .episodes import (EpisodeConfig, answerer_chooser, client_chooser, oracle_chooser, random_chooser,
                           random_station_chooser, run_episodes)
    from .tasks import ASK_MODES

    if ask not in ASK_MODES:
        _fail(f"--ask must be one of {', '.join(ASK_MODES)}, got {ask!r}")
    choosers = {}
    if baselines:
        choosers.update(oracle=oracle_chooser, random=random_chooser(seed))
        if ask == "viewpoint":
            choosers["random station"] = random_station_chooser(seed)
    for item in model_path or []:
        name, sep, path = str(item).partition("=")
        name, path = (name, path) if sep else (Path(name).name, name)
        from training.evaluate import InProcessAnswerer

        try:
            choosers[name] = answerer_chooser(InProcessAnswerer.from_pretrained(path), ask)
        except Exception as e:  # a missing or broken checkpoint: say which
            _fail(f"cannot load {path}: {e}")
    if base_url:
        from .client import SpatialClient

        client = SpatialClient(base_url, model=served_model)
        if not client.healthy():
            _fail(f"nothing serves at {base_url}; start it with `actial serve CHECKPOINT`")
        choosers[f"served:{client.resolve_model()}"] = client_chooser(client, ask)
    if not choosers:
        _fail("nothing to run: give --model-path or --base-url, or keep --baselines")
    cfg = EpisodeConfig(episodes=n, seed=seed, videos=videos, image_size=image_size, out=str(out), ask=ask)
    run_episodes(cfg, choosers)
    console.print((out / "report.md").read_text())
    console.print(f"wrote {out / 'report.md'}, {out / 'report.png'}, {out / 'episodes.json'}")


@app.command()
def loop(out: Path = typer.Option(Path("outputs/demo"), help="Everything goes here; a killed run resumes."),
         quick: bool = typer.Option(False, help="The smoke version (3-5 minutes on 2 cores)."),
         engine: str = typer.Option("vllm", help="Model server for the episodes: vllm | transformers."),
         enforce_eager: bool = typer.Option(None, "--enforce-eager/--compile",
                                            help="vLLM with or without torch.compile (default: eager with --quick, "
                                                 "whose few questions do not repay a compile; compiled otherwise)."),
         seed: int = typer.Option(0)):
    """The whole loop: data, SFT, GRPO, evaluation, serving, episodes through ROS 2, recording, retraining.

    Ends with a summary table; the full report is OUT/REPORT.md.
    """
    import time

    from .loop import Loop, LoopConfig

    given = {} if enforce_eager is None else {"enforce_eager": enforce_eager}
    cfg = (LoopConfig.quick if quick else LoopConfig)(out=str(out), engine=engine, seed=seed, **given)
    t0 = time.perf_counter()
    report = Loop(cfg, echo=console.print).run()
    console.print(report.read_text())
    console.print(f"[bold]loop finished in {(time.perf_counter() - t0) / 60:.1f} min; report: {report}")


@ros_app.command("up")
def ros_up(launch_file: Path = typer.Argument(Path("launch/actial.launch.py"), help="A launch file (data + "
                                             "generate_launch_description; see launch/actial.launch.py)."),
           arguments: list[str] = typer.Argument(None, help="NAME:=VALUE launch arguments, e.g. checkpoint:=outputs/demo/grpo"),
           log_dir: Path = typer.Option(Path("outputs/ros_logs"), help="One log file per process."),
           dry_run: bool = typer.Option(False, help="Print the commands and exit.")):
    """Start the graph a launch file describes, as `ros2 launch` would; Ctrl-C stops every process.

    \b
    actial ros up launch/actial.launch.py checkpoint:=outputs/demo/grpo engine:=transformers
    """
    import shlex

    from .ros.graph import load_launch, resolve, up

    overrides = {}
    for a in arguments or []:
        name, sep, value = a.partition(":=")
        if not sep:
            _fail(f"launch arguments are NAME:=VALUE, got {a!r}")
        overrides[name] = value
    try:
        launch = load_launch(launch_file)
        commands, args = resolve(launch, overrides)
    except (FileNotFoundError, ValueError) as e:
        _fail(str(e))
    if dry_run:
        for name, cmd in commands:
            console.print(f"{name}: {shlex.join(cmd)}")
        return
    raise typer.Exit(up(launch_file, overrides, log_dir, echo=console.print))


@app.command()
def retrain(checkpoint: Path = typer.Option(..., help="The checkpoint to continue from."),
            data: Path = typer.Option(..., help="Captured dataset (viewpoint_recorder's save, or any dataset)."),
            out: Path = typer.Option(Path("outputs/retrained"), help="The new checkpoint (resumes if present)."),
            steps: int = typer.Option(200, help="SFT steps on the captured train split (the loop: 300)."),
            eval_split: str = typer.Option("test", help="Held-out captured split for before/after."),
            max_eval_samples: int = typer.Option(400), threads: int = typer.Option(None),
            lr: float = typer.Option(5e-4, help="Learning rate (the loop: 1e-3, cosine, with --replay)."),
            lr_scheduler: str = typer.Option("constant_with_warmup", help="transformers scheduler name; cosine "
                                             "settles a high rate on a few captures (the loop's)."),
            replay: list[Path] = typer.Option(None, help="Dataset(s) the model was trained on: as many of their "
                                              "train rows as captured ones are mixed in, against forgetting.")):
    """Continue SFT from a checkpoint on views the robot's cameras captured; report before / after.

    \b
    actial retrain --checkpoint outputs/demo/grpo --data outputs/demo/captured --replay outputs/demo/data \\
        --steps 300 --lr 1e-3 --lr-scheduler cosine
    """
    from training.dataset import DatasetError
    from training.retrain import RetrainConfig, run_retrain

    try:
        summary = run_retrain(RetrainConfig(checkpoint=str(checkpoint), dataset=str(data), output_dir=str(out),
                                            eval_split=eval_split, max_steps=steps, max_eval_samples=max_eval_samples,
                                            threads=threads, learning_rate=lr, lr_scheduler=lr_scheduler,
                                            replay=[str(r) for r in replay or []]))
    except (ValueError, DatasetError, FileNotFoundError) as e:
        _fail(str(e))
    console.print((Path(summary["checkpoint"]) / "retrain.md").read_text())


@app.command()
def serve(checkpoint: Path = typer.Argument(..., help="A servable checkpoint directory (from `actial train ...`)."),
          engine: str = typer.Option("vllm", help="vllm (the paper's server; `make vllm` installs the CPU build) "
                                                  "or transformers (`transformers serve`, light)."),
          host: str = typer.Option("127.0.0.1", help="Address to bind. 0.0.0.0 exposes it to the network: set --api-key."),
          port: int = typer.Option(8000),
          served_model_name: str = typer.Option(None, help="Name clients ask for (default: the directory's name)."),
          api_key: str = typer.Option(None, help="vLLM: require this bearer token."),
          max_model_len: int = typer.Option(2048, help="vLLM: context length (prompt + answer tokens)."),
          images_per_prompt: int = typer.Option(4, help="vLLM: images allowed in one request."),
          tensor_parallel_size: int = typer.Option(1, help="vLLM: GPUs one model copy is split over."),
          data_parallel_size: int = typer.Option(1, help="vLLM: model copies."),
          lora_module: list[str] = typer.Option(None, help="vLLM: NAME=ADAPTER_DIR (repeatable); ask for NAME."),
          dtype: str = typer.Option("auto", help="Weights' dtype (auto: float32 for the tiny preset)."),
          vllm_python: str = typer.Option(None, help="A Python with vllm installed (default: .venv-vllm's)."),
          enforce_eager: bool = typer.Option(False, "--enforce-eager",
                                             help="vLLM: skip torch.compile. On 2 CPU cores a first start takes about "
                                                  "half as long (47 s, not 90) and answers one client 0.66x as fast "
                                                  "(bench/serve.py --cold)."),
          config: Path = typer.Option(None, help="YAML with ServeConfig fields; options given here override it."),
          startup_timeout: float = typer.Option(600.0, help="Seconds to wait for the server to answer.")):
    """Serve a checkpoint behind an OpenAI-compatible API and wait; Ctrl-C or SIGTERM stops it cleanly.

    \b
    CPU (here):  make vllm && actial serve outputs/demo/grpo
    GPU host:    pip install vllm, then actial serve CKPT --vllm-python $(which python) --tensor-parallel-size 2
    Query it:    actial eval --data DATA --base-url http://127.0.0.1:8000/v1, or SpatialClient in Python.
    """
    import signal
    import time

    import yaml

    from .serve import ModelServer, ServeConfig, ServeError

    values = yaml.safe_load(config.read_text()) if config else {}
    loras = {}
    for item in lora_module or []:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            _fail(f"--lora-module takes NAME=ADAPTER_DIR, got {item!r}")
        loras[name] = path
    given = {"checkpoint": str(checkpoint), "engine": engine, "host": host, "port": port,
             "served_model_name": served_model_name, "api_key": api_key, "max_model_len": max_model_len,
             "images_per_prompt": images_per_prompt, "tensor_parallel_size": tensor_parallel_size,
             "data_parallel_size": data_parallel_size, "lora_modules": loras or None, "dtype": dtype,
             "vllm_python": vllm_python, "startup_timeout_s": startup_timeout, "enforce_eager": enforce_eager or None}
    values.update({k: v for k, v in given.items() if v is not None})
    try:
        server = ModelServer(ServeConfig.from_dict(values))
    except (ServeError, ValueError, TypeError) as e:
        _fail(str(e))
    console.print(f"starting {server.cfg.engine}: {server.describe()}\nlog: {server.log_path}")

    def _stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.start()
        console.print(f"[green]serving[/green] {server.model_name!r} at {server.base_url} "
                      f"(up in {server.startup_s:.0f} s); Ctrl-C stops it")
        while server.alive():
            time.sleep(1.0)
        _fail(f"the server exited with code {server.proc.returncode}; last lines of {server.log_path}:\n"
              f"{server.log_tail()}")
    except ServeError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        console.print("stopping the server ...")
    finally:
        server.stop()
    console.print("stopped")


if __name__ == "__main__":
    app()
