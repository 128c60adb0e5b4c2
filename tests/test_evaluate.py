"""Evaluation: a real dataset with test splits, an untrained tiny model, real plots (no mocks)."""

from __future__ import annotations

import json
import socket
import time
from collections import Counter

import numpy as np
import pytest

from training import evaluate as E
from training.dataset import DatasetError, read_table
from training.engine import GeneratorConfig, generate
from training.presets import build_tiny, dataset_texts
from training.questions import PAPER_FAMILIES

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluate") / "data"
    # A generous test share, so 60 rows hold train and several test splits (splits are drawn per scene).
    generate(GeneratorConfig(n_pairs=60, rows_per_shard=60, image_size=112, views_per_scene=6, reasoning_share=0.3,
                             splits={"train": 0.4, "test": 0.2, "test_objects": 0.2, "test_backgrounds": 0.2}),
             out, show_progress=False)
    return out


@pytest.fixture(scope="module")
def answerer(tmp_path_factory, dataset_dir):
    model_dir = build_tiny(tmp_path_factory.mktemp("evaluate") / "tiny", dataset_texts(dataset_dir), seed=0)
    return E.InProcessAnswerer.from_pretrained(model_dir, "tiny")


@pytest.fixture(scope="module")
def table(dataset_dir):
    cols = ["id", "split", "family", "answer", "answer_text", "options", "prompt_style"]
    return read_table(dataset_dir, columns=cols).to_pylist()


@pytest.fixture(scope="module")
def direct_report(dataset_dir, answerer):
    return E.evaluate(E.EvalConfig(dataset_dir, threads=1), answerer)


@pytest.fixture(scope="module")
def reasoning_report(dataset_dir, answerer):
    # 32 new tokens instead of 256: an untrained model never closes its tags either way, and the test stays fast.
    return E.evaluate(E.EvalConfig(dataset_dir, prompt_style="reasoning", max_new_tokens=32, threads=1), answerer)


def _check_estimate(e):
    assert e is not None
    assert 0.0 <= e["lo"] <= e["value"] <= e["hi"] <= 1.0


def test_in_process_report_counts_every_split_and_family(direct_report, table):
    test_rows = [r for r in table if r["split"].startswith("test")]
    splits = sorted({r["split"] for r in test_rows})
    assert len(splits) >= 2, "the fixture should give at least two test splits"
    assert sorted(direct_report.dataset["splits"]) == splits
    assert "train" not in direct_report.metrics
    assert len(direct_report.predictions) == len(test_rows)
    for split in splits:
        expected = Counter(r["family"] for r in test_rows if r["split"] == split)
        cells = direct_report.metrics[split]
        assert {f: cells[f]["n"] for f in expected} == dict(expected)
        assert cells["all"]["n"] == sum(expected.values())
        paper = sum(n for f, n in expected.items() if f in PAPER_FAMILIES)
        assert cells.get("paper3", {"n": 0})["n"] == paper
        for name, c in cells.items():
            for metric in ("accuracy", "format_rate", "answer_rate"):
                _check_estimate(c[metric])
            if c["chance"] is not None:
                assert 0 < c["chance"] <= 0.5
    assert direct_report.metrics[E.ALL_SPLITS]["all"]["n"] == len(test_rows)
    p = direct_report.predictions[0]
    assert set(p) >= {"id", "family", "split", "answer", "predicted", "correct", "format_ok", "completion"}
    assert direct_report.timing["samples_per_s"] > 0
    assert not any("<|" in p["completion"] for p in direct_report.predictions)  # special tokens stripped


def test_chance_and_image_blind_levels(direct_report, table):
    train = [r for r in table if r["split"] == "train" and r["options"]]
    for split, cells in direct_report.metrics.items():
        rows = [r for r in table if r["split"] == split] if split != E.ALL_SPLITS else \
            [r for r in table if r["split"].startswith("test")]
        for fam, c in cells.items():
            if fam in E.AGGREGATES or fam == "numeric_yaw":
                continue
            fam_rows = [r for r in rows if r["family"] == fam]
            assert c["chance"] == pytest.approx(np.mean([1 / len(r["options"]) for r in fam_rows]))
            fam_train = [r for r in train if r["family"] == fam]
            if not fam_train:
                assert c["image_blind"] is None
                continue
            # the better of "always the commonest answer text" and "always the commonest letter", on train
            (text, n_text), = Counter(r["answer_text"] for r in fam_train).most_common(1)
            (letter, n_letter), = Counter(r["answer"] for r in fam_train).most_common(1)
            key, mode = ("answer_text", text) if n_text >= n_letter else ("answer", letter)
            assert c["image_blind"] == pytest.approx(np.mean([r[key] == mode for r in fam_rows]))
        if "numeric_yaw" in cells:
            assert cells["numeric_yaw"]["chance"] is None


def test_bootstrap_interval_of_a_known_vector():
    e = E.bootstrap_interval([1] * 50 + [0] * 50, resamples=2000, seed=0)
    assert e["value"] == 0.5
    assert 0.37 <= e["lo"] <= 0.43 and 0.57 <= e["hi"] <= 0.63
    assert E.bootstrap_interval([1] * 50 + [0] * 50, resamples=2000, seed=0) == e  # seeded
    g = E.bootstrap_interval(np.linspace(0, 1, 101), resamples=500, seed=1)  # not 0/1: resampled directly
    assert g["lo"] < 0.5 < g["hi"] and g["hi"] - g["lo"] < 0.2
    assert E.bootstrap_interval([], 100) is None
    assert E.bootstrap_interval([1, 1, 1]) == {"value": 1.0, "lo": 1.0, "hi": 1.0}


def test_a_cluster_bootstrap_resamples_whole_scenes():
    """Questions of one scene share its views: when whole scenes go right or wrong together, 200 questions from
    10 scenes say about as little as 10 questions do, and the interval over scenes must show it."""
    values = [1] * 100 + [0] * 100  # five scenes all right, five all wrong, 20 questions each
    scenes = [f"s{i // 20}" for i in range(200)]
    by_question = E.bootstrap_interval(values, resamples=2000, seed=0)
    by_scene = E.bootstrap_interval(values, resamples=2000, seed=0, groups=scenes)
    assert by_scene["value"] == by_question["value"] == 0.5
    # questions: about +-0.07 (sd 0.035); scenes: ten draws of 0 or 1, about +-0.3 (sd 0.16)
    assert by_question["hi"] - by_question["lo"] < 0.2 and by_scene["hi"] - by_scene["lo"] > 0.45
    assert E.bootstrap_interval(values, resamples=2000, seed=0, groups=scenes) == by_scene  # seeded
    # one question per scene is the question bootstrap again (within resampling noise)
    single = E.bootstrap_interval(values, resamples=2000, seed=0, groups=range(200))
    assert abs(single["lo"] - by_question["lo"]) < 0.03 and abs(single["hi"] - by_question["hi"]) < 0.03
    # one scene alone cannot be resampled: its questions are
    assert E.bootstrap_interval(values, resamples=2000, seed=0, groups=["s"] * 200) == by_question
    with pytest.raises(ValueError, match="labels for"):
        E.bootstrap_interval(values, groups=scenes[:10])


def test_reports_resample_the_scenes_their_questions_came_from(direct_report, dataset_dir):
    """Every prediction names its scene, every cell how many scenes its interval resampled; a paired difference
    too. `bootstrap_unit: question` gives the old, per-question intervals."""
    rows = read_table(dataset_dir, columns=["id", "scene_id"]).to_pylist()
    scene = {r["id"]: r["scene_id"] for r in rows}
    assert all(p["scene"] == scene[p["id"]] for p in direct_report.predictions)
    for split, cells in direct_report.metrics.items():
        preds = [p for p in direct_report.predictions if split == E.ALL_SPLITS or p["split"] == split]
        assert cells["all"]["scenes"] == len({p["scene"] for p in preds}) >= 1
    split = direct_report.predictions[0]["split"]
    d = E.paired_difference(direct_report, direct_report, split)
    assert d["scenes"] == direct_report.metrics[split]["all"]["scenes"]
    assert E.paired_difference(direct_report, direct_report, split, unit="question")["scenes"] is None
    with pytest.raises(ValueError, match="bootstrap_unit"):
        E.EvalConfig(dataset_dir, bootstrap_unit="pixel")
    per_question = E.summarize(direct_report.predictions, E.EvalConfig(dataset_dir, bootstrap_unit="question"),
                               direct_report.dataset["splits"])
    assert all(c["scenes"] is None for cells in per_question.values() for c in cells.values())


def test_untrained_model_neither_reasons_nor_beats_chance_by_much(reasoning_report):
    overall = reasoning_report.metrics[E.ALL_SPLITS]["all"]
    assert all(p["reasoning"] for p in reasoning_report.predictions)
    assert overall["format_rate"]["value"] < 0.5
    assert overall["accuracy"]["value"] < 0.75


def test_writers_produce_json_markdown_and_plots(direct_report, reasoning_report, tmp_path):
    paths = E.write_report(direct_report, tmp_path, "untrained base")
    assert paths["json"].name == "eval_untrained_base.json"
    md = paths["markdown"].read_text()
    assert "| split | family | n | accuracy [95% CI]" in md and "paper3" in md and "image-blind" in md
    for split in direct_report.dataset["splits"]:
        assert f"| {split} |" in md
    assert paths["plot"].read_bytes()[:8] == PNG and paths["plot"].stat().st_size > 5000
    loaded = E.load_report(paths["json"])
    assert loaded.metrics == json.loads(json.dumps(direct_report.metrics))
    assert json.loads(paths["json"].read_text())["stage"] == "untrained base"
    assert len(loaded.predictions) == len(direct_report.predictions) > 0
    # metrics only (what bench/train.py commits): the same metrics, no per-question answers
    slim = E.load_report(E.write_report(direct_report, tmp_path, "slim", predictions=False)["json"])
    assert slim.metrics == loaded.metrics and slim.predictions == []

    stages = E.plot_stages({"base": direct_report, "reasoning": paths["json"]}, tmp_path / "stages.png")
    assert stages.read_bytes()[:8] == PNG


def test_plot_training_curves_from_a_log_history(tmp_path):
    history = [{"loss": 2.0 - 0.1 * s, "reward": 0.1 * s, "kl": 0.01 * s, "rewards/format_reward/mean": 0.05 * s,
                "learning_rate": 1e-6, "epoch": s / 10, "step": s} for s in range(1, 11)]
    history.append({"eval_loss": 1.5, "step": 10})
    history.append({"train_runtime": 12.0, "train_loss": 1.6, "step": 10})
    history.append({"eval_accuracy": 0.5, "eval_accuracy/ego_rotation": 1.0, "eval_answer_rate": 1.0, "step": 10})
    keys = E.plot_training_curves(history, tmp_path / "curves.png")
    assert {"loss", "eval_loss", "reward", "kl", "rewards/format_reward/mean"} <= set(keys)
    assert {"eval_accuracy", "eval_accuracy/ego_rotation"} <= set(keys)  # SFT's held-out accuracy, by family
    assert "learning_rate" not in keys and "eval_answer_rate" not in keys
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG
    assert E.plot_training_curves([{"epoch": 1.0, "step": 1}], tmp_path / "none.png") == []
    assert (tmp_path / "none.png").stat().st_size > 0


def test_compare_reports(direct_report, reasoning_report):
    same = E.compare_reports(direct_report, direct_report)
    assert same["max_diff"] == 0.0 and same["within_tolerance"] and same["prediction_agreement"] == 1.0
    d = E.compare_reports(direct_report, reasoning_report, tolerance=1.0)
    assert set(d["diff"]) == set(direct_report.metrics)
    assert all(0 <= v <= 1 for fams in d["diff"].values() for v in fams.values())
    assert d["within_tolerance"] and not d["n_mismatch"]


def test_paired_difference_reads_the_same_questions_together(direct_report, reasoning_report):
    """GRPO's gain is the same questions asked before and after: a paired interval, narrower than the two
    reports' own intervals when the models agree on most questions."""
    split = direct_report.predictions[0]["split"]
    same = E.paired_difference(direct_report, direct_report, split)
    assert same["diff"] == 0.0 and same["interval"] == [0.0, 0.0] and same["gained"] == same["lost"] == 0
    # one model against itself with some answers flipped to right: a known gain, its interval around it
    flipped = json.loads(json.dumps(direct_report.to_dict()))
    rows = [p for p in flipped["predictions"] if p["split"] == split]
    wrong = [p for p in rows if not p["correct"]][:6]
    for p in wrong:
        p["correct"] = True
    d = E.paired_difference(direct_report, flipped, split)
    assert d["n"] == len(rows) and d["gained"] == len(wrong) > 0 and d["lost"] == 0
    assert d["diff"] == pytest.approx(len(wrong) / len(rows)) and d["after"] - d["before"] == pytest.approx(d["diff"])
    assert 0 < d["interval"][0] <= d["diff"] <= d["interval"][1]  # only gains: the whole interval is above 0
    fam = rows[0]["family"]
    assert E.paired_difference(direct_report, flipped, split, fam)["n"] == sum(p["family"] == fam for p in rows)
    assert E.paired_difference(direct_report, reasoning_report, "no such split") is None


def test_paired_table_lists_each_split_and_family(direct_report, reasoning_report):
    """`actial eval --against`'s table: a row per split and family with the paired difference; reports of
    another dataset, or with no question in common, are refused with what to do."""
    split = direct_report.predictions[0]["split"]
    flipped = json.loads(json.dumps(direct_report.to_dict()))
    wrong = [p for p in flipped["predictions"] if p["split"] == split and not p["correct"]][:3]
    for p in wrong:
        p["correct"] = True
    table = E.paired_table(direct_report, flipped, "sft", "grpo")
    row = next(line for line in table.splitlines() if line.startswith(f"| {split} | **all** |"))
    d = E.paired_difference(direct_report, flipped, split)
    assert f"{100 * d['diff']:+.1f}" in row and row.endswith(f"| {len(wrong)} | 0 |")
    families = {p["family"] for p in direct_report.predictions if p["split"] == split}
    assert all(f"| {split} | {f} |" in table for f in families) and "paper3" not in table
    other = json.loads(json.dumps(direct_report.to_dict()))
    other["dataset"]["manifest_hash"] = "another"
    with pytest.raises(ValueError, match="different datasets"):
        E.paired_table(direct_report, other)
    for p in other["predictions"]:
        p["id"] = "x" + p["id"]
    other["dataset"]["manifest_hash"] = direct_report.dataset["manifest_hash"]
    with pytest.raises(ValueError, match="share no questions"):
        E.paired_table(direct_report, other)


def test_sample_limit_prompt_styles_and_errors(dataset_dir, answerer, table):
    cfg = E.EvalConfig(dataset_dir, splits=["train"], max_samples=10, prompt_style="as_in_data", max_new_tokens=8,
                       seed=3, bootstrap=50, threads=1)
    a, b = E.evaluate(cfg, answerer), E.evaluate(cfg, answerer)
    assert a.metrics["train"]["all"]["n"] == 10
    assert [p["id"] for p in a.predictions] == [p["id"] for p in b.predictions]  # seeded subset
    style = {r["id"]: r["prompt_style"] for r in table}
    assert all(p["reasoning"] == (style[p["id"]] == "reasoning") for p in a.predictions)

    with pytest.raises(DatasetError, match="no split"):
        E.evaluate(E.EvalConfig(dataset_dir, splits=["validation"]), answerer)
    with pytest.raises(ValueError, match="unknown question families"):
        E.evaluate(E.EvalConfig(dataset_dir, families=["nope"]), answerer)
    with pytest.raises(ValueError, match="prompt_style"):
        E.EvalConfig(dataset_dir, prompt_style="chatty")


def test_completions_lose_special_tokens_but_keep_format_tags(answerer):
    raw = "<think>it moved</think><answer>B</answer><|im_end|><|endoftext|><|endoftext|>"
    assert answerer.clean(raw) == "<think>it moved</think><answer>B</answer>"


def test_image_data_urls_follow_magic_bytes():
    from training.views import encode_image

    rgb = np.zeros((8, 8, 3), np.uint8)
    from actial_robot.client import image_to_data_url

    assert image_to_data_url(encode_image(rgb, "jpeg")).startswith("data:image/jpeg;base64,")
    assert image_to_data_url(encode_image(rgb, "png")).startswith("data:image/png;base64,")


def test_endpoint_that_is_down_raises_endpoint_error_quickly(dataset_dir, table):
    with socket.socket() as s:  # a port that nothing listens on (bound, then released)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    ans = E.OpenAIAnswerer(url, "tiny", timeout=5, concurrency=2)
    t0 = time.perf_counter()
    with pytest.raises(E.EndpointError, match=f"127.0.0.1:{port}") as err:
        E.evaluate(E.EvalConfig(dataset_dir, max_samples=2, bootstrap=10), ans)
    assert time.perf_counter() - t0 < 3.0
    assert "start one with `actial serve" in str(err.value)  # says what to do
    ans.close()


def test_image_blind_uses_the_letter_prior_where_answers_are_object_names(tmp_path):
    # Options in scene order, answers are object names that change from scene to scene: no fixed name is
    # right often, but a fixed letter is (what a model that ignores the images learns).
    data = tmp_path / "data"
    generate(GeneratorConfig(n_pairs=60, rows_per_shard=60, image_size=112, views_per_scene=6,
                             pairs_per_scene=4, reasoning_share=0.0, shuffle_options=False,
                             multi_object_share=1.0, families={"leftmost": 1.0},
                             splits={"train": 1.0}), data, show_progress=False)
    kind, letter = E._blind_answers(data)["leftmost"]
    assert kind == "letter"
    rows = read_table(data, columns=["answer"]).to_pylist()
    assert letter == Counter(r["answer"] for r in rows).most_common(1)[0][0]
