"""Real SFT and GRPO steps with the tiny model, checkpoints that reload, training that resumes."""

import json
import math
import os
import shutil

import numpy as np
import pytest
import torch

from training import questions as Q
from training.checkpoint import MANIFEST, add_evaluation, read_manifest
from training.dataset import manifest_hash, read_table
from training.engine import GeneratorConfig, generate
from training.grpo import GRPORunConfig, prompt_mix, run_grpo
from training.presets import build_tiny, dataset_texts, load_model
from training.sft import SFTRunConfig, hybrid_indices, run_sft

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # shared 2-core machines: don't spin


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    data = root / "data"
    generate(GeneratorConfig(n_pairs=60, rows_per_shard=60, image_size=112, views_per_scene=6, reasoning_share=0.2),
             data, show_progress=False)
    tiny = build_tiny(root / "tiny", dataset_texts(data))
    return root, data, tiny


def _weights(path):
    model, _ = load_model(path)
    return {k: v.clone() for k, v in model.state_dict().items()}


def _distance(a, b):
    return sum((a[k] - b[k]).abs().sum().item() for k in a)


def test_sft_step_trains_saves_and_resumes(setup):
    root, data, tiny = setup
    out = root / "sft"
    cfg = SFTRunConfig(model=str(tiny), dataset=str(data), output_dir=str(out), max_steps=2, batch_size=4,
                       learning_rate=1e-3, warmup_steps=0, logging_steps=1, save_steps=1, threads=1)
    ckpt = run_sft(cfg)
    before, after = _weights(tiny), _weights(ckpt)
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert any("visual" in k for k in changed) and any("language_model" in k for k in changed)
    m = read_manifest(ckpt)
    assert m["stage"] == "sft" and m["data_manifest_hash"] == manifest_hash(data)
    assert m["train_config"]["learning_rate"] == 1e-3 and any("loss" in h for h in m["log_history"])
    assert not m["resumed"]
    # started again with more steps, it continues from its last Trainer checkpoint
    longer = SFTRunConfig(**{**cfg.__dict__, "max_steps": 3})
    again = run_sft(longer)
    assert read_manifest(again)["resumed"] is True
    assert read_manifest(again)["log_history"][-1]["step"] == 3
    # ... from its checkpoint's weights, not from the ones it started with (Trainer's own resume restored none
    # of this model's weights until session 14: the resumed run equalled the untrained model)
    resumed = _weights(again)
    assert _distance(resumed, after) < _distance(resumed, before)


def test_sft_time_limit_stops_and_saves(setup):
    root, data, tiny = setup
    ckpt = run_sft(SFTRunConfig(model=str(tiny), dataset=str(data), output_dir=str(root / "sft-timed"), max_steps=500,
                                batch_size=4, learning_rate=1e-3, warmup_steps=0, logging_steps=1, save_steps=1000,
                                threads=1, time_limit_s=0.001, extra={"logging_steps": 2},
                                extra_datasets=[str(data)]))
    m = read_manifest(ckpt)
    assert max(h["step"] for h in m["log_history"]) == 1  # the limit ends training after its first step ...
    assert (ckpt / "model.safetensors").exists() and m["train_config"]["extra"] == {"logging_steps": 2}  # ... saved
    # the extra dataset (here: the same one again) is mixed in: twice the direct rows, 10% reasoning on top
    styles = read_table(data, columns=["split", "prompt_style"], split="train")["prompt_style"].to_pylist()
    direct = 2 * styles.count("direct")
    assert m["train_samples"] == direct + round(direct * 0.1 / 0.9)


def test_sft_in_bf16_autocast_on_the_cpu_trains_fp32_weights(setup):
    """bf16: true multiplies in bf16 (1.23-1.33x the steps/s on an avx512_bf16 CPU, bench/precision.py) and keeps the
    weights fp32: the saved model is fp32, and it moved. bf16: auto is one of the two, as this CPU decides, and the
    manifest says which."""
    from training.sft import cpu_has_bf16

    root, data, tiny = setup
    runs = {}
    for bf16 in (False, True, "auto"):
        runs[bf16] = run_sft(SFTRunConfig(model=str(tiny), dataset=str(data), output_dir=str(root / f"sft-bf16-{bf16}"),
                                          max_steps=2, batch_size=4, learning_rate=1e-3, warmup_steps=0,
                                          logging_steps=1, save_steps=1000, threads=1, bf16=bf16))
    before, fp32, bf16 = _weights(tiny), _weights(runs[False]), _weights(runs[True])
    assert all(v.dtype == torch.float32 for v in bf16.values() if v.is_floating_point())
    # the same rows and seed: bf16's rounding moves the weights a little differently, not somewhere else (measured:
    # the two runs 0.6% of the update apart)
    assert 0 < _distance(fp32, bf16) < 0.1 * _distance(before, fp32)
    assert read_manifest(runs[True])["train_config"]["bf16"] is True
    native = cpu_has_bf16()
    assert read_manifest(runs["auto"])["bf16_autocast"] is native and read_manifest(runs[False])["bf16_autocast"] is False
    assert _distance(_weights(runs["auto"]), bf16 if native else fp32) == 0  # the same run, to the bit
    with pytest.raises(ValueError, match="bf16 is true, false, auto"):
        SFTRunConfig(model=str(tiny), dataset=str(data), bf16="fp16")


def test_fast_paths_compute_what_transformers_and_trl_compute(setup):
    """training/fastpath.py replaces the vision tower's patch embedding and window attention, and TRL's loss on the
    CPU, with faster code (bench/step_speed.py) that must compute the same thing: the same logits and gradients to
    float rounding, windows of unequal length still right, and SFT steps that train the same weights."""
    from PIL import Image

    from training.views import decode_image

    root, data, tiny = setup
    rows = read_table(data).slice(0, 4).to_pylist()
    models = {}
    for fast in (False, True):
        model, proc = load_model(tiny, fast_paths=fast)
        msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "image"}, {"type": "text", "text": r["question"]}]}
                for r in rows]
        batch = proc(text=[proc.apply_chat_template([m], add_generation_prompt=True) for m in msgs],
                     images=[Image.fromarray(decode_image(b)) for r in rows for b in r["images"]], return_tensors="pt",
                     padding=True)
        logits = model(**batch).logits
        logits.logsumexp(-1).mean().backward()
        models[fast] = (model, logits.detach(), {n: p.grad for n, p in model.named_parameters() if p.grad is not None})
    (slow, slow_logits, slow_grads), (fast, fast_logits, fast_grads) = models[False], models[True]
    assert sum(hasattr(m, "_original_forward") for m in fast.modules()) == 1 + fast.config.vision_config.depth
    assert not any(hasattr(m, "_original_forward") for m in slow.modules())
    # measured: 1e-6 of logits ~1.6 apart, the conv and the matmul summing in another order
    assert torch.allclose(slow_logits, fast_logits, atol=1e-4)
    assert slow_grads.keys() == fast_grads.keys()
    for n in slow_grads:
        assert torch.allclose(slow_grads[n], fast_grads[n], rtol=1e-3, atol=1e-6), n
    # windows of unequal length (images of other sizes) take transformers' own path, and agree with it
    attn = fast.model.visual.blocks[0].attn
    dim = fast.config.vision_config.hidden_size
    x = torch.randn(10, dim)
    cos, sin = torch.randn(10, dim // attn.num_heads), torch.randn(10, dim // attn.num_heads)
    for cu in ([0, 4, 10], [0, 5, 10]):
        cu = torch.tensor(cu, dtype=torch.int32)
        with torch.no_grad():
            assert torch.allclose(attn(x, cu_seqlens=cu, position_embeddings=(cos, sin)),
                                  attn._original_forward(x, cu, (cos, sin)), atol=1e-5)
    # SFT: two steps each way from the same model, rows and seed, TRL's loss scoring every position or the labelled
    # ones only, train alike (measured: the logged losses equal, the weights 7e-7 of the update apart)
    runs = {}
    for fast in (False, True):
        runs[fast] = run_sft(SFTRunConfig(model=str(tiny), dataset=str(data), output_dir=str(root / f"sft-fast-{fast}"),
                                          max_steps=2, batch_size=4, learning_rate=1e-3, warmup_steps=0,
                                          logging_steps=1, save_steps=1000, threads=1, fast_paths=fast))
    losses = {f: [h["loss"] for h in read_manifest(r)["log_history"] if "loss" in h] for f, r in runs.items()}
    assert len(losses[True]) == 2 and np.allclose(losses[False], losses[True], rtol=1e-4)
    before = _weights(tiny)
    assert _distance(_weights(runs[False]), _weights(runs[True])) < 1e-3 * _distance(before, _weights(runs[False]))
    assert read_manifest(runs[False])["train_config"]["fast_paths"] is False


def test_vision_warmup_frozen_vision_and_accuracy_logging(setup):
    root, data, tiny = setup
    from training.warmup import vision_warmup

    model, processor = load_model(tiny)
    vis = {k: v.clone() for k, v in model.state_dict().items() if "visual" in k}
    log = vision_warmup(model, processor, data, steps=4, batch_size=4, log_every=2, echo=lambda *_: None)
    assert [e["warmup_step"] for e in log] == [2, 4] and all(np.isfinite(e["warmup_loss"]) for e in log)
    sign = log[-1]["warmup_heldout_sign_accuracy"]  # read out on test pairs (None: the data has none)
    assert sign is None or 0.0 <= sign <= 1.0
    after = model.state_dict()
    assert any(not torch.equal(vis[k], after[k]) for k in vis)  # the warm-up trains the vision tower ...
    lm = [k for k in after if "language_model" in k]
    base = load_model(tiny)[0].state_dict()
    assert all(torch.equal(base[k], after[k]) for k in lm)  # ... and nothing else
    # SFT after a warm-up with the tower frozen: vision weights equal the warmed ones, held-out accuracy logged
    out = root / "sft-frozen"
    ckpt = run_sft(SFTRunConfig(model=str(tiny), dataset=str(data), output_dir=str(out), max_steps=2, batch_size=4,
                                learning_rate=1e-3, warmup_steps=0, logging_steps=1, save_steps=10, threads=1,
                                vision_warmup_steps=2, freeze_vision=True, eval_every=2, eval_samples=8,
                                eval_split="train"))
    m = read_manifest(ckpt)
    assert len(m["vision_warmup_log"]) == 1
    evals = [h for h in m["log_history"] if "eval_accuracy" in h]
    assert [h["step"] for h in evals] == [0, 2] and all(0.0 <= h["eval_accuracy"] <= 1.0 for h in evals)
    trained = _weights(ckpt)
    assert any(not torch.equal(base[k], trained[k]) for k in vis)  # warmed ...
    assert any(not torch.equal(base[k], trained[k]) for k in lm)  # ... and SFT moved the language model


def test_sft_curriculum_run_and_reasoning_evaluation(setup):
    root, data, tiny = setup
    fams = read_table(data, columns=["split", "family"], split="train")["family"].to_pylist()
    first = sorted(set(fams))[0]
    cfg = SFTRunConfig(model=str(tiny), dataset=str(data), output_dir=str(root / "sft-curriculum"), batch_size=4,
                       learning_rate=1e-3, warmup_steps=0, logging_steps=1, save_steps=10, threads=1,
                       max_steps=50, eval_every=3, eval_samples=4, eval_split="train", eval_prompt_style="reasoning",
                       curriculum=[{"steps": 1, "families": [first], "lr_scheduler": "constant"}, {"steps": 2},
                                   # a restarted schedule and a fresh optimiser, on the motion chain's copy of the rows
                                   {"steps": 3, "lr": 5e-4, "direct_think": "motion", "reset_optimizer": True}])
    cfg.save_steps = 6
    m = read_manifest(run_sft(cfg))
    assert max(h["step"] for h in m["log_history"] if "step" in h) == 6  # the phases' steps, not max_steps
    assert m["train_samples"] == 6 * 4
    evals = [h for h in m["log_history"] if "eval_accuracy" in h]
    assert [h["step"] for h in evals] == [0, 3, 6] and all(0.0 <= h["eval_format_rate"] <= 1.0 for h in evals)
    # each family asked is logged beside the pooled accuracy
    asked = {r["family"] for r in read_table(data, columns=["split", "family"], split="train").to_pylist()}
    assert all(k.split("/")[1] in asked for h in evals for k in h if k.startswith("eval_accuracy/"))
    assert any(k.startswith("eval_accuracy/") for k in evals[-1])
    lrs = {h["step"]: h["learning_rate"] for h in m["log_history"] if "learning_rate" in h}
    # (step k is logged with the lr it used) a constant 1e-3 over phases 1-2, then the restart's own cosine from 5e-4
    cos = 0.5 * (1 + math.cos(math.pi / 3))
    assert (lrs[1], lrs[2], lrs[3]) == (pytest.approx(1e-3), pytest.approx(1e-3), pytest.approx(1e-3))
    assert (lrs[4], lrs[5]) == (pytest.approx(5e-4), pytest.approx(5e-4 * cos))
    # Adam's step count in the last Trainer checkpoint counts from the reset: phase 3's 3 steps, not the run's 6
    opt = torch.load(root / "sft-curriculum" / "trainer" / "checkpoint-6" / "optimizer.pt", weights_only=True)
    assert {int(v["step"]) for v in opt["state"].values()} == {3}
    # a phase added to a finished run: it resumes from checkpoint-6 and trains the new phase's 2 steps
    cfg.curriculum = [*cfg.curriculum, {"steps": 2, "families": [first]}]
    m = read_manifest(run_sft(cfg))
    assert m["resumed"] and max(h["step"] for h in m["log_history"] if "step" in h) == 8


def test_a_cold_start_phase_checks_the_reasoning_prompts_too(setup, capsys):
    root, data, tiny = setup
    from training.sft import accuracy_callback

    # direct checks; phase 2 trains reasoning rows (the hybrid cold start), phase 1 none
    cfg = SFTRunConfig(model=str(tiny), dataset=str(data), output_dir=str(root / "sft-cold-start"), batch_size=4,
                       learning_rate=1e-3, warmup_steps=0, logging_steps=1, save_steps=10, threads=1,
                       eval_every=2, eval_samples=4, eval_split="train", reasoning_ratio=0.0,
                       curriculum=[{"steps": 2}, {"steps": 2, "reasoning_ratio": 0.5}])
    evals = [h for h in read_manifest(run_sft(cfg))["log_history"] if "eval_accuracy" in h]
    assert [h["step"] for h in evals] == [0, 2, 4]
    assert ["eval_reasoning_accuracy" in h for h in evals] == [False, False, True]
    assert 0.0 <= evals[-1]["eval_reasoning_accuracy"] <= 1.0 and 0.0 <= evals[-1]["eval_reasoning_format_rate"] <= 1.0
    # the run says so when the reasoning prompts trail the direct ones at the last such check (seed 1's 99% / 59%)
    from transformers import TrainerState

    callback = accuracy_callback(cfg, processor=None)
    capsys.readouterr()
    for pair, warned in (((0.99, 0.59), True), ((0.99, 0.97), False), (None, False)):
        checks = [{"step": 100, "eval_accuracy": 0.5, "eval_reasoning_accuracy": 0.99}]  # an earlier check
        if pair:
            checks.append({"step": 150, "eval_accuracy": pair[0], "eval_reasoning_accuracy": pair[1]})
        checks.append({"step": 150, "loss": 0.1})
        callback.on_train_end(None, TrainerState(log_history=checks), None)
        assert ("cold start did not take" in capsys.readouterr().out) is warned
    # and when the last check falls well below the run's best (session 30: phase 5 flipped one family, 99% -> 2%)
    for last, warned in ((0.69, True), (0.97, False)):
        checks = [{"step": 100, "eval_accuracy": 0.99, "eval_accuracy/ego_translation": 0.99,
                   "eval_accuracy/ego_rotation": 0.98},
                  {"step": 150, "eval_accuracy": last, "eval_accuracy/ego_translation": 0.02 if warned else 0.97,
                   "eval_accuracy/ego_rotation": 0.99}]
        callback.on_train_end(None, TrainerState(log_history=checks), None)
        out = capsys.readouterr().out
        assert ("down from 99.0% at step 100 (most on ego_translation: 99% -> 2%)" in out) is warned


def test_keep_best_saves_the_last_phase_best_check_when_the_end_undid_it(setup, capsys):
    """keep_best: a run whose last check fell more than FORGOT_GAP below the best check of its last phase puts that
    check's weights back before it saves; within the gap it keeps the last step's (the checks' noise is +-2 points,
    and the last step is the one trained longest)."""
    from transformers import TrainerState

    from training.sft import accuracy_callback

    root, data, tiny = setup
    model, processor = load_model(tiny)
    cfg = SFTRunConfig(model=str(tiny), dataset=str(data), eval_every=50, eval_split="train", keep_best=True)
    at_best = {k: v.clone() for k, v in model.state_dict().items()}
    for last, kept in ((0.69, True), (0.97, False)):
        callback = accuracy_callback(cfg, processor, model=model)
        callback.best.offer(50, 0.80, since=100)  # before the last phase began: not a candidate
        callback.best.offer(100, 0.99, since=100)  # the last phase's best check: its weights are copied
        with torch.no_grad():  # the phase's end then moves every weight
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        moved = {k: v.clone() for k, v in model.state_dict().items()}
        callback.best.offer(150, 0.69 if kept else 0.97, since=100)  # a worse check: nothing copied
        # (session 31's run: the reasoning prompts had flipped the family by step 1,800 already)
        state = TrainerState(log_history=[{"step": 100, "eval_accuracy": 0.99, "eval_reasoning_accuracy": 0.68},
                                          {"step": 150, "eval_accuracy": last, "eval_reasoning_accuracy": 0.69}],
                             global_step=150)
        capsys.readouterr()
        callback.on_train_end(None, state, None, model=model)
        out = capsys.readouterr().out
        now = model.state_dict()
        assert all(torch.equal(now[k], (at_best if kept else moved)[k]) for k in now)
        assert ("the run saves step 100's weights" in out) is kept and "undid" not in out
        assert any(h.get("kept_check_step") == 100 for h in state.log_history) is kept
        # the cold start's warning reads the saved model's check, not the last one
        assert f"at the saved model's last check (step {100 if kept else 150}) the reasoning prompts" in out
    with pytest.raises(ValueError, match="keep_best"):  # it keeps one check's weights; a tail average replaces them
        SFTRunConfig(eval_every=50, keep_best=True, average_from_step=10)
    # checks on a split the dataset lacks (the recipe's old data: `test`, not `validation`) fail before any loading
    from training.dataset import DatasetError

    with pytest.raises(DatasetError, match="no rows in split 'validation'.*eval_split"):
        run_sft(SFTRunConfig(model=str(tiny), dataset=str(data), output_dir=str(root / "never"), eval_every=50,
                             eval_split="validation"))
    assert not (root / "never").exists()


def test_checkpoint_reloads_with_identical_logits(setup):
    root, data, tiny = setup
    ckpt = root / "sft"
    if not (ckpt / MANIFEST).exists():
        pytest.skip("needs the SFT test's checkpoint")
    from training.views import decode_image
    from training.dataset import read_table
    from PIL import Image

    row = read_table(data).slice(0, 1).to_pylist()[0]
    images = [Image.fromarray(decode_image(b)) for b in row["images"]]
    outs = []
    for _ in range(2):
        model, proc = load_model(ckpt)
        msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "image"}, {"type": "text", "text": row["question"]}]}]
        text = proc.apply_chat_template(msgs, add_generation_prompt=True)
        batch = proc(text=[text], images=images, return_tensors="pt")
        with torch.no_grad():
            outs.append(model(**batch).logits)
    assert torch.equal(outs[0], outs[1])
    add_evaluation(ckpt, "smoke", {"accuracy": 0.5})
    assert json.loads((ckpt / MANIFEST).read_text())["evaluation"]["smoke"]["accuracy"] == 0.5


def test_averaged_checkpoint_is_the_mean_and_loads(setup, tmp_path):
    from safetensors.torch import load_file

    from training.average import average_checkpoints

    root, data, tiny = setup
    ckpt = root / "sft"
    if not (ckpt / MANIFEST).exists():
        pytest.skip("needs the SFT test's checkpoint")
    # a run and its start (WiSE-FT's interpolation), weighted 3:1
    soup = average_checkpoints([ckpt, tiny], tmp_path / "soup", weights=[3, 1])
    a, b, s = (load_file(p / "model.safetensors") for p in (ckpt, tiny, soup))
    assert any(not torch.equal(a[k], b[k]) for k in a)  # the SFT steps moved something to average
    for k in a:
        assert torch.allclose(s[k], 0.75 * a[k] + 0.25 * b[k], atol=1e-6), k
    model, _ = load_model(soup)  # a servable checkpoint, not only tensors
    assert sum(p.numel() for p in model.parameters()) > 0
    m = read_manifest(soup)
    assert [x["weight"] for x in m["averaged_from"]] == [0.75, 0.25] and m["stage"] == "sft"
    # the mean of a model with itself is that model, bit for bit
    same = average_checkpoints([ckpt, ckpt], tmp_path / "same")
    assert all(torch.equal(t, a[k]) for k, t in load_file(same / "model.safetensors").items())
    # what cannot be averaged says why
    other = tmp_path / "other"
    shutil.copytree(ckpt, other, ignore=shutil.ignore_patterns("trainer"))
    cfg = json.loads((other / "config.json").read_text())
    cfg["text_config"]["num_hidden_layers"] = cfg["text_config"].get("num_hidden_layers", 3) + 1
    (other / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="different architectures"):
        average_checkpoints([ckpt, other], tmp_path / "bad")
    with pytest.raises(ValueError, match="at least two"):
        average_checkpoints([ckpt], tmp_path / "bad")
    with pytest.raises(ValueError, match="one non-negative number per checkpoint"):
        average_checkpoints([ckpt, tiny], tmp_path / "bad", weights=[1])
    with pytest.raises(ValueError, match="is one of the sources"):
        average_checkpoints([ckpt, tiny], ckpt)
    shutil.copy(ckpt / "config.json", other / "config.json")
    manifest = read_manifest(other)  # the same weights, said to come from another starting model
    (other / MANIFEST).write_text(json.dumps({**manifest, "base_model": str(tmp_path / "another-start")}))
    with pytest.raises(ValueError, match="trained from different models"):
        average_checkpoints([ckpt, other], tmp_path / "bad")
    (other / MANIFEST).write_text(json.dumps(manifest))
    (other / "model.safetensors").unlink()
    with pytest.raises(ValueError, match="no model.safetensors"):
        average_checkpoints([ckpt, other], tmp_path / "bad")


def test_tail_average_saves_the_mean_of_the_last_steps_and_resumes(setup, tmp_path):
    from safetensors.torch import load_file

    from training.average import TAIL_STATE

    root, data, tiny = setup
    out = tmp_path / "tail"
    cfg = SFTRunConfig(model=str(tiny), dataset=str(data), output_dir=str(out), max_steps=4, batch_size=4,
                       learning_rate=1e-3, warmup_steps=0, logging_steps=1, save_steps=1, save_total_limit=10,
                       threads=1, average_from_step=2)
    ckpt = run_sft(cfg)
    assert read_manifest(ckpt)["tail_average"] == {"from_step": 2, "steps_averaged": 3}
    # the Trainer's checkpoints hold the weights after each step: the saved model is the mean of steps 2-4
    steps = [load_file(out / "trainer" / f"checkpoint-{i}" / "model.safetensors") for i in (2, 3, 4)]
    saved = load_file(ckpt / "model.safetensors")
    assert any(not torch.equal(steps[0][k], steps[2][k]) for k in saved)  # the steps moved something to average
    for k in saved:
        assert torch.allclose(saved[k], sum(s[k] for s in steps) / 3, atol=1e-6), k
    # killed after step 3: the rerun resumes from checkpoint-3 with the mean so far, and saves the same model
    assert (out / "trainer" / "checkpoint-3" / TAIL_STATE).is_file()
    again = tmp_path / "again"
    shutil.copytree(out / "trainer", again / "trainer", ignore=shutil.ignore_patterns("checkpoint-4"))
    resumed = run_sft(SFTRunConfig(**{**cfg.__dict__, "output_dir": str(again)}))
    m = read_manifest(resumed)
    assert m["resumed"] and m["tail_average"] == {"from_step": 2, "steps_averaged": 3}
    for k, t in load_file(resumed / "model.safetensors").items():
        assert torch.allclose(t, saved[k], atol=1e-5), k
    with pytest.raises(ValueError, match="counts optimiser steps from 1"):  # refused when the config is read
        SFTRunConfig.from_dict({**cfg.__dict__, "average_from_step": 0})


def test_grpo_step(setup):
    root, data, tiny = setup
    ckpt = run_grpo(GRPORunConfig(model=str(tiny), dataset=str(data), output_dir=str(root / "grpo"), max_steps=1,
                                  num_generations=4, prompts_per_step=2, max_completion_length=16,
                                  learning_rate=1e-5, logging_steps=5, threads=1, direct_ratio=0.5,
                                  average_from_step=1, motion_weight=0.5,
                                  extra={"logging_steps": 1}))  # extra overrides a key of ours (was a TypeError)
    m = read_manifest(ckpt)
    log = m["log_history"][0]  # step 1 logged: extra's logging_steps won over the config's 5
    assert m["tail_average"] == {"from_step": 1, "steps_averaged": 1}  # GRPO saves through the same path
    assert m["stage"] == "grpo" and "reward" in log and "kl" in log
    assert "rewards/format_reward/mean" in log and "rewards/accuracy_reward/mean" in log
    assert "rewards/motion_reward/mean" in log  # motion_weight > 0 adds the third reward


def test_grpo_prompt_mix(setup):
    """direct_ratio asks that share of GRPO's prompts for a direct answer: every train row once, in one style."""
    _, data, _ = setup

    def instruction(row):  # which of the two instructions the prompt's text ends with
        text = " ".join(part["text"] for part in row["prompt"][0]["content"] if part["type"] == "text")
        direct = Q.DIRECT_INSTRUCTION in text or Q.NUMERIC_DIRECT in text
        assert direct != (Q.REASONING_INSTRUCTION in text or Q.NUMERIC_REASONING in text)
        return "direct" if direct else "reasoning"

    reasoning = prompt_mix(GRPORunConfig(dataset=str(data)))
    assert {instruction(r) for r in reasoning} == {"reasoning"}
    mix = prompt_mix(GRPORunConfig(dataset=str(data), direct_ratio=0.25))
    assert sorted(mix["id"]) == sorted(reasoning["id"])
    styles = [instruction(r) for r in mix]
    assert styles == mix["prompt_style"] and styles.count("direct") == round(0.25 * len(mix))
    with pytest.raises(ValueError, match="between 0 and 1"):  # refused when the config is read
        GRPORunConfig.from_dict({"dataset": str(data), "direct_ratio": 1.5})
    with pytest.raises(ValueError, match="counts optimiser steps from 1"):
        GRPORunConfig.from_dict({"dataset": str(data), "average_from_step": 0})


def test_hybrid_mix():
    rng = np.random.default_rng(0)
    styles = ["direct"] * 90 + ["reasoning"] * 30
    fams = ["ego_rotation"] * 120
    mix = hybrid_indices(styles, fams, 0.1, rng)
    assert sum(styles[i] == "reasoning" for i in mix) == 10 and len(mix) == 100
    assert sum(styles[i] == "reasoning" for i in hybrid_indices(styles, fams, 0.0, rng)) == 0
    with pytest.raises(ValueError, match="no reasoning rows"):
        hybrid_indices(["direct"] * 5, ["f"] * 5, 0.1, rng)
    with pytest.raises(ValueError, match="reasoning_ratio"):
        hybrid_indices(styles, fams, 1.0, rng)


def test_curriculum_phases_read_their_own_rows_in_order():
    from training.curriculum import curriculum_indices

    rng = np.random.default_rng(0)
    # 40 direct rows of two families in the main dataset, 20 rung rows in an extra dataset
    fams = ["ego_translation", "ego_rotation"] * 20 + ["hue_turn"] * 20
    styles = ["direct"] * 60
    sources = ["main"] * 40 + ["rung"] * 20
    cfg = SFTRunConfig(dataset="main", batch_size=4, reasoning_ratio=0.0, curriculum=[
        {"steps": 5, "families": ["ego_translation", "hue_turn"], "extra_datasets": ["rung"]},
        {"steps": 30}])  # more rows than the phase has: its mix repeats
    idx = curriculum_indices(styles, fams, sources, cfg, rng)
    assert len(idx) == (5 + 30) * 4
    first, second = idx[:20], idx[20:]
    assert {fams[i] for i in first} == {"ego_translation", "hue_turn"}  # the phase's families, its rung
    assert {sources[i] for i in second} == {"main"} and {fams[i] for i in second} == {"ego_translation", "ego_rotation"}
    assert sorted(second[:40]) == list(range(40))  # each pass over the phase's rows covers every row once
    # the same rows in two direct_think forms: each phase reads its own form's copy
    cfg = SFTRunConfig(dataset="main", batch_size=4, reasoning_ratio=0.0, curriculum=[
        {"steps": 5}, {"steps": 5, "direct_think": "motion"}])
    idx = curriculum_indices(styles * 2, fams * 2, sources * 2, cfg, rng, ["answer"] * 60 + ["motion"] * 60)
    assert all(i < 60 for i in idx[:20]) and all(i >= 60 for i in idx[20:])
    # a phase that lists both forms reads both copies: each row once plain, once as a chain
    cfg.curriculum[1]["direct_think"] = ["answer", "motion"]
    idx = curriculum_indices(styles * 2, fams * 2, sources * 2, cfg, rng, ["answer"] * 60 + ["motion"] * 60)
    mixed = idx[20:]
    assert any(i < 60 for i in mixed) and any(i >= 60 for i in mixed)
    assert all((sources * 2)[i] == "main" for i in mixed)
    with pytest.raises(ValueError, match="takes"):
        curriculum_indices(styles, fams, sources, SFTRunConfig(dataset="main", curriculum=[{"step": 1}]), rng)
    with pytest.raises(ValueError, match="phase 1"):
        curriculum_indices(styles, fams, sources, SFTRunConfig(dataset="main", reasoning_ratio=0.0,
                                                               curriculum=[{"steps": 1, "families": ["leftmost"]}]), rng)


def test_curriculum_lr_restarts_follow_transformers_schedules():
    import torch
    from transformers import get_cosine_schedule_with_warmup

    from training.curriculum import curriculum_lr_multipliers

    phases = [{"steps": 30}, {"steps": 70}]
    assert curriculum_lr_multipliers(SFTRunConfig(curriculum=phases)) is None  # no restart: Trainer's own schedule
    # one cycle over both phases is transformers' cosine
    one = curriculum_lr_multipliers(SFTRunConfig(learning_rate=1e-3, warmup_steps=10, curriculum=[
        {"steps": 30, "lr": 1e-3}, {"steps": 70}]))
    sched = get_cosine_schedule_with_warmup(torch.optim.SGD([torch.zeros(1)], lr=1e-3), 10, 100)
    assert [round(one(k), 6) for k in range(100)] == [round(f(k), 6) for k in range(100) for f in sched.lr_lambdas]
    # a restart at phase 3: 5 warm-up steps to half the peak, then its own cosine to 0
    cfg = SFTRunConfig(learning_rate=1e-3, warmup_steps=10, curriculum=[
        {"steps": 30}, {"steps": 70}, {"steps": 40, "lr": 5e-4, "warmup_steps": 5}])
    m = curriculum_lr_multipliers(cfg)
    assert m(99) < 0.01 and m(100) == 0 and m(105) == pytest.approx(0.5) and m(139) < 0.01
    assert m(50) == pytest.approx(get_cosine_schedule_with_warmup(
        torch.optim.SGD([torch.zeros(1)], lr=1e-3), 10, 100).lr_lambdas[0](50))
    with pytest.raises(ValueError, match="lr_scheduler"):
        curriculum_lr_multipliers(SFTRunConfig(lr_scheduler="polynomial", curriculum=[{"steps": 1, "lr": 1e-3}]))
    # each cycle has its own shape: a constant phase 1 (the run's warm-up), then a cosine restart
    m = curriculum_lr_multipliers(SFTRunConfig(learning_rate=1e-3, warmup_steps=10, lr_scheduler="cosine", curriculum=[
        {"steps": 30, "lr_scheduler": "constant_with_warmup"}, {"steps": 40, "warmup_steps": 0}]))
    assert m(5) == pytest.approx(0.5) and m(10) == m(29) == 1.0 and m(30) == 1.0 and m(50) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="phase 2"):
        curriculum_lr_multipliers(SFTRunConfig(curriculum=[{"steps": 1}, {"steps": 1, "lr_scheduler": "step"}]))


def test_optimizer_reset_clears_adam_at_a_phase_start():
    import torch

    from training.curriculum import CurriculumClock, curriculum_callback, optimizer_resets

    cfg = SFTRunConfig(curriculum=[{"steps": 30, "reset_optimizer": True}, {"steps": 20},
                                   {"steps": 10, "reset_optimizer": True}])
    assert optimizer_resets(cfg) == [50]  # the first phase starts fresh anyway
    w = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.AdamW([w], lr=0.1)
    cb = curriculum_callback(cfg, CurriculumClock(cfg))

    def step(global_step):
        cb.on_step_begin(None, type("S", (), {"global_step": global_step})(), None, optimizer=opt)
        w.grad = torch.ones(3)
        opt.step()

    for k in range(49, 51):
        step(k)
    assert int(opt.state[w]["step"]) == 1  # 49's state was dropped at 50: a fresh start, as in a new run
    assert torch.equal(opt.state[w]["exp_avg"], 0.1 * torch.ones(3))  # (1 - beta1) * grad: the first moment afresh


def test_a_passed_gate_moves_the_later_phases_forward(tmp_path):
    import torch
    from torch.utils.data import DataLoader

    from training.curriculum import (GATE_LAG, CurriculumClock, curriculum_callback, curriculum_lr_multipliers,
                                     curriculum_sampler, optimizer_resets, resumed_clock)

    phases = [{"steps": 40, "families": ["ego_translation", "hue_turn"], "until_accuracy": 0.8,
               "lr_scheduler": "constant"},
              {"steps": 20, "lr": 5e-4, "warmup_steps": 0, "lr_scheduler": "linear", "reset_optimizer": True}]
    cfg = SFTRunConfig(batch_size=2, learning_rate=1e-3, warmup_steps=0, eval_every=5, curriculum=phases)
    clock = CurriculumClock(cfg)
    per_step = 2
    rows = list(DataLoader(range(120), batch_size=per_step, sampler=curriculum_sampler(clock, per_step)))
    assert len(rows) == 60 and rows[40].tolist() == [80, 81]  # no gate passed: as planned
    # the gate reads the phase's question family (hue_turn is a rung without held-out questions), every one of them
    assert clock.check_gate(10, {"ego_translation": 0.79, "object_translation": 1.0}) is None
    assert clock.check_gate(0, {"ego_translation": 1.0}) is None  # nothing trained yet
    batches = iter(DataLoader(range(120), batch_size=per_step, sampler=curriculum_sampler(clock, per_step)))
    seen = [next(batches).tolist() for _ in range(16)]  # the data loader is ahead of the optimiser
    said = clock.check_gate(15, {"ego_translation": 0.85})
    assert "phase 1 passed its gate at step 15" in said and clock.ends == {0: 15 + GATE_LAG}
    assert clock.check_gate(20, {"ego_translation": 0.9}) is None  # once
    # a phase of three families reads them pooled (weighted by their questions): one family at its prior
    # fails it, one a question short of the others passes
    three = CurriculumClock(SFTRunConfig(eval_every=5, curriculum=[{"steps": 40, "until_accuracy": 0.98}]))
    assert three.check_gate(10, {"ego_translation": 1.0, "object_translation": 1.0, "ego_rotation": 0.5}) is None
    n = {"ego_translation": 94, "object_translation": 94, "ego_rotation": 112}
    assert three.check_gate(10, {"ego_translation": 0.9, "object_translation": 1.0, "ego_rotation": 1.0}, n) is None
    assert "0.987 >= 0.98" in three.check_gate(10, {"ego_translation": 0.968, "object_translation": 1.0,
                                                     "ego_rotation": 0.991}, n)
    seen += [b.tolist() for b in batches]
    # phase 1's first 25 steps, then phase 2's rows from its block's start, all 20 of its steps: 45 in all
    assert len(seen) == clock.total() == 45
    assert seen[24] == [48, 49] and seen[25] == [80, 81] and seen[-1] == [118, 119]
    # the lr cycle and the optimiser reset follow phase 2 to its new start
    m = curriculum_lr_multipliers(cfg, clock)
    assert m(24) == 1.0 and m(25) == pytest.approx(0.5) and m(35) == pytest.approx(0.25)
    assert optimizer_resets(cfg, clock) == [25]
    # the run ends where the clock ends it, and a checkpoint keeps the clock for a resumed run
    cb = curriculum_callback(cfg, clock)
    control = type("C", (), {"should_training_stop": False})()
    cb.on_step_end(None, type("S", (), {"global_step": 45})(), control)
    assert control.should_training_stop
    (tmp_path / "checkpoint-20").mkdir()
    cb.on_save(type("A", (), {"output_dir": str(tmp_path)})(), type("S", (), {"global_step": 20})(), None)
    assert resumed_clock(cfg, tmp_path).starts() == [0, 25]
    assert resumed_clock(cfg, tmp_path / "elsewhere").starts() == [0, 40]
    # a gate is checked on the held-out questions: without them, or with a share out of range, a clear error
    from training.curriculum import validate_curriculum

    with pytest.raises(ValueError, match="eval_every"):
        validate_curriculum(SFTRunConfig(curriculum=phases))
    with pytest.raises(ValueError, match="held-out"):
        validate_curriculum(SFTRunConfig(eval_every=5, curriculum=[{"steps": 5, "families": ["hue_turn"],
                                                                    "until_accuracy": 0.9}]))
    with pytest.raises(ValueError, match="until_accuracy"):
        validate_curriculum(SFTRunConfig(eval_every=5, curriculum=[{"steps": 5, "until_accuracy": 90}]))


def test_shipped_training_configs_parse():
    from pathlib import Path

    import yaml

    import training

    folder = Path(training.__file__).parent / "configs"
    for f in folder.glob("sft_*.yaml"):
        SFTRunConfig.from_dict(yaml.safe_load(f.read_text()))
    for f in folder.glob("grpo_*.yaml"):
        GRPORunConfig.from_dict(yaml.safe_load(f.read_text()))
    paper = SFTRunConfig.from_dict(yaml.safe_load((folder / "sft_qwen2.5-vl-7b.yaml").read_text()))
    assert (paper.epochs, paper.learning_rate, paper.warmup_steps) == (2, 5e-6, 50)
    assert paper.batch_size * paper.grad_accum * 8 == 128  # 8 GPUs
    grpo = GRPORunConfig.from_dict(yaml.safe_load((folder / "grpo_qwen2.5-vl-7b.yaml").read_text()))
    assert (grpo.learning_rate, grpo.num_generations, grpo.beta, grpo.epsilon) == (1e-6, 16, 0.01, 0.2)
    assert grpo.prompts_per_step * grpo.num_generations * 8 == 1024
    for f in folder.glob("accelerate_*.yaml"):
        cfg = yaml.safe_load(f.read_text())
        assert cfg["distributed_type"] in ("MULTI_GPU", "DEEPSPEED", "FSDP", "NO"), f


def test_accelerate_one_process_launch_runs(setup):
    import subprocess
    import sys
    from pathlib import Path

    import training

    root, data, tiny = setup
    launch = Path(sys.executable).parent / "accelerate"
    cfg = Path(training.__file__).parent / "configs" / "accelerate_cpu_1proc.yaml"
    res = subprocess.run([str(launch), "launch", "--config_file", str(cfg), "-m", "actial_robot.cli", "train", "sft",
                          "--config", str(Path(training.__file__).parent / "configs" / "sft_tiny.yaml"),
                          "--model", str(tiny), "--dataset", str(data), "--out", str(root / "accel"), "--max-steps", "1",
                          "--extra-dataset", str(data)],  # the CLI's mix option reaches the run's config
                         capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    manifest = read_manifest(root / "accel")
    assert manifest["stage"] == "sft" and manifest["train_config"]["extra_datasets"] == [str(data)]


def test_brightness_sanity_dataset(setup, tmp_path):
    from training.dataset import load_manifest, read_table
    from training.sanity import brightness_dataset
    from training.views import decode_image

    root, data, tiny = setup
    out = brightness_dataset(data, tmp_path / "bright", n=20, rows_per_shard=8)
    m = load_manifest(out)
    assert m["rows"] == 20 and m["counts"]["answer"]["brightness"] == {"A": 10, "B": 10}
    for row in read_table(out).to_pylist():
        a, b = (decode_image(x).mean() for x in row["images"])
        brighter = "the first photo" if a > b else "the second photo"
        assert row["answer_text"] == brighter and row["options"][ord(row["answer"]) - 65] == brighter


def test_shift_sanity_dataset(tmp_path):
    from training.dataset import read_table
    from training.sanity import shift_dataset
    from training.views import decode_image

    out = shift_dataset(tmp_path / "shift", n=40, rows_per_shard=20)
    rows = read_table(out, columns=["images", "options", "answer", "answer_text"]).to_pylist()
    assert len(rows) == 40 and {r["answer_text"] for r in rows} == {"left", "right"}
    for r in rows:
        xs = []
        for b in r["images"]:
            img = decode_image(b)
            red = (img[:, :, 0] > 180) & (img[:, :, 1] < 80) & (img[:, :, 2] < 80)
            xs.append(np.nonzero(red)[1].mean())
        assert abs(xs[1] - xs[0]) >= img.shape[1] / 6 - 2  # a plain move (JPEG blurs the edges by a pixel)
        assert ("right" if xs[1] > xs[0] else "left") == r["answer_text"] == r["options"][["A", "B"].index(r["answer"])]
    # random colours: each row's square has its own colour, the same in both photos
    out = shift_dataset(tmp_path / "shift-colour", n=20, rows_per_shard=20, color=None)
    rows = read_table(out, columns=["images", "question", "answer_text"]).to_pylist()
    colours = []
    for r in rows:
        xs, cs = [], []
        for b in r["images"]:
            img = decode_image(b).astype(int)
            square = img.max(axis=2) - img.min(axis=2) > 150  # saturated: the noise spans at most 160 and rarely
            core = np.nonzero(square)
            xs.append(np.median(core[1]))
            cs.append(np.median(img[core], axis=0))
        assert np.abs(cs[0] - cs[1]).max() < 30 and "red" not in r["question"]
        assert ("right" if xs[1] > xs[0] else "left") == r["answer_text"]
        colours.append(cs[0])
    assert np.ptp(np.array(colours), axis=0).max() > 150  # the colour varies from row to row
    big = shift_dataset(tmp_path / "shift-big", n=4, rows_per_shard=4, color=None, square=40)
    for r in read_table(big, columns=["images"]).to_pylist():
        img = decode_image(r["images"][0]).astype(int)
        assert abs(int((img.max(axis=2) - img.min(axis=2) > 150).sum()) - 40 * 40) < 200  # a 40 px square
    # distractors: other colours in each photo; only the followed square is in both
    out = shift_dataset(tmp_path / "shift-distract", n=20, rows_per_shard=20, color=None, distractors=2)
    for r in read_table(out, columns=["images", "question", "meta"]).to_pylist():
        imgs = [decode_image(b).astype(int) for b in r["images"]]
        sat = []
        for im in imgs:  # colours (in 64-level bins) covering most of a square, not a stray noise pixel
            bins, counts = np.unique(im[im.max(axis=2) - im.min(axis=2) > 150] // 64, axis=0, return_counts=True)
            sat.append(bins[counts >= 100])
        assert "in both photos" in r["question"] and all(len(c) >= 3 for c in sat)  # 3 squares' colours each
        shared = {tuple(c) for c in sat[0]} & {tuple(c) for c in sat[1]}
        assert 1 <= len(shared) < min(len(sat[0]), len(sat[1]))  # the followed square's colour, not all


def test_position_sanity_dataset(tmp_path):
    from training.dataset import read_table
    from training.sanity import position_dataset
    from training.views import decode_image

    out = position_dataset(tmp_path / "pos", n=40, rows_per_shard=20)
    rows = read_table(out, columns=["images", "options", "answer", "answer_text", "response", "meta"]).to_pylist()
    assert len(rows) == 40 and {r["answer_text"] for r in rows} == {"left", "right"}
    for r in rows:
        img = decode_image(r["images"][0])
        red = (img[:, :, 0] > 180) & (img[:, :, 1] < 80) & (img[:, :, 2] < 80)
        xs = np.nonzero(red)[1]
        side = "left" if xs.mean() < img.shape[1] / 2 else "right"  # the pixels agree with the label
        assert side == r["answer_text"] and r["options"][["A", "B"].index(r["answer"])] == side
        assert r["response"] == f"<think>{side}</think><answer>{r['answer']}</answer>"
    out = position_dataset(tmp_path / "pos-colour", n=20, rows_per_shard=20, color=None)  # any colour per row
    for r in read_table(out, columns=["images", "question", "answer_text"]).to_pylist():
        img = decode_image(r["images"][0]).astype(int)
        xs = np.nonzero(img.max(axis=2) - img.min(axis=2) > 150)[1]
        assert ("left" if np.median(xs) < img.shape[1] / 2 else "right") == r["answer_text"]
        assert "red" not in r["question"]
    # a named colour among three palette squares: the named square's pixels are on the labelled side
    from sim_envs.objects import PALETTE
    from training.sanity import named_position_dataset

    out = named_position_dataset(tmp_path / "pos-named", n=30, rows_per_shard=30)
    for r in read_table(out, columns=["images", "question", "answer_text", "meta"]).to_pylist():
        meta = json.loads(r["meta"])
        assert len(set(meta["colours"])) == 3 and f"the {meta['asked']} square" in r["question"]
        img = decode_image(r["images"][0]).astype(int)
        want = np.array([round(255 * c) for c in PALETTE[meta["asked"]]])
        xs = np.nonzero(np.abs(img - want).max(axis=2) <= 8)[1]  # JPEG keeps a flat square's colour within a few levels
        assert len(xs) and ("left" if np.median(xs) < img.shape[1] / 2 else "right") == r["answer_text"]
    two = named_position_dataset(tmp_path / "pos-two", n=20, rows_per_shard=20, squares=1, palette=["red", "green"])
    assert {json.loads(r["meta"])["asked"] for r in read_table(two, columns=["meta"]).to_pylist()} <= {"red", "green"}
    with pytest.raises(ValueError, match="palette"):
        named_position_dataset(tmp_path / "pos-bad", n=2, palette=["red", "mauve"])


def test_hue_turn_sanity_dataset(tmp_path):
    """Which way the one colour turned around the hue wheel: the decoded pixels' hues agree with the label."""
    import cv2

    from training.dataset import read_table
    from training.sanity import hue_turn_dataset
    from training.views import decode_image

    out = hue_turn_dataset(tmp_path / "hue", n=40, rows_per_shard=20)
    rows = read_table(out, columns=["images", "options", "answer", "answer_text"]).to_pylist()
    assert {r["answer_text"] for r in rows} == {"left", "right"}
    for r in rows:
        hues = []
        for b in r["images"]:
            hsv = cv2.cvtColor(decode_image(b), cv2.COLOR_RGB2HSV).reshape(-1, 3)
            angle = hsv[:, 0].astype(float) * 2 * np.pi / 180  # OpenCV hue 0-179 -> radians
            hues.append(np.degrees(np.arctan2(np.sin(angle).mean(), np.cos(angle).mean())))  # circular mean
        turn = (hues[1] - hues[0] + 180) % 360 - 180
        assert 15 <= abs(turn) <= 105  # 20-100 degrees, within JPEG's and the hue grid's rounding
        assert ("right" if turn < 0 else "left") == r["answer_text"] == r["options"]["AB".index(r["answer"])]
    # worded as the paper's families: object_translation and ego_rotation say "right" for the other turn
    from training.questions import OPTIONS, QUESTIONS

    out = hue_turn_dataset(tmp_path / "hue-worded", n=30, rows_per_shard=30,
                           families=["ego_translation", "object_translation", "ego_rotation"])
    for r in read_table(out, columns=["question", "options", "answer_text", "meta"]).to_pylist():
        meta = json.loads(r["meta"])
        family, (h1, h2) = meta["worded_as"], meta["hue"]
        decreasing = (h2 - h1 + 180) % 360 - 180 < 0
        assert r["question"] == QUESTIONS[family] and r["options"] == OPTIONS[family]
        assert (r["answer_text"] == "right") == (decreasing == (family == "ego_translation"))
    with pytest.raises(ValueError, match="families"):
        hue_turn_dataset(tmp_path / "hue-bad", n=2, families=["leftmost"])


def test_told_motion_sanity_dataset(tmp_path):
    """The told-motion rung: the question states the camera's motion, the answer thinks the framed chain from
    it (the frame word the family's wording picks, then the direction) and its letter copies that direction;
    the recipe's chain forms (interchange, ``direct_think``) keep the row's own chain."""
    import re

    from training.interchange import to_trl
    from training.questions import OPTIONS, QUESTIONS
    from training.sanity import TOLD_PREFIX, told_motion_dataset

    out = told_motion_dataset(tmp_path / "told", n=30, size=28, rows_per_shard=30)
    rows = read_table(out, columns=["family", "question", "options", "answer", "answer_text", "response",
                                    "meta"]).to_pylist()
    frame = {"ego_translation": "camera", "object_translation": "object", "ego_rotation": "turn"}
    worded = {json.loads(r["meta"])["worded_as"] for r in rows}
    assert worded == set(frame) and {r["family"] for r in rows} == {"told_motion"}
    for r in rows:
        family = json.loads(r["meta"])["worded_as"]
        moved, turned = re.match(TOLD_PREFIX.format(motion="moved (\\w+), turned (\\w+)"), r["question"]).groups()
        assert r["question"].endswith(QUESTIONS[family]) and r["options"] == OPTIONS[family]
        assert turned == {"left": "right", "right": "left"}[moved]  # an orbit: it moves one way, turns the other
        said = {"camera": moved, "object": turned, "turn": turned}[frame[family]]  # object_translation mirrors moved
        assert r["answer_text"] == said and r["options"]["AB".index(r["answer"])] == said
        assert r["response"] == (f"<think>moved {moved}, turned {turned}; {frame[family]}: {said}</think>"
                                 f"<answer>{r['answer']}</answer>")
    trl = to_trl(out, kind="sft", cache_dir=str(tmp_path / "cache"), direct_think="motion_frame")
    assert sorted(m["messages"][1]["content"][0]["text"] for m in trl) == sorted(r["response"] for r in rows)


def test_brightness_with_fixed_option_order(setup, tmp_path):
    from training.dataset import read_table
    from training.sanity import brightness_dataset

    root, data, tiny = setup
    out = brightness_dataset(data, tmp_path / "fixed", n=12, shuffle_options=False)
    for row in read_table(out).to_pylist():
        assert row["options"] == ["the first photo", "the second photo"]
        assert row["answer"] == ("A" if row["answer_text"] == "the first photo" else "B")


def test_length_grouped_batches_are_not_sorted_by_answer():
    """Trainer's length-grouped sampler sorts each mega-batch by our key: the key must not follow the answer."""
    from transformers.trainer_pt_utils import get_length_grouped_indices

    from training.sft import length_keys

    rng = np.random.default_rng(0)
    styles = ["reasoning" if rng.uniform() < 0.1 else "direct" for _ in range(2000)]
    answers = rng.choice(["left", "right", "no movement"], size=len(styles))
    order = get_length_grouped_indices(length_keys(styles), batch_size=32, generator=torch.Generator().manual_seed(0))
    batches = [order[i:i + 32] for i in range(0, len(order) - 31, 32)]
    # chain-of-thought rows share batches (the point of grouping) ...
    assert sum(len({styles[i] for i in b}) == 1 for b in batches) >= len(batches) - 8  # <= 1 mixed batch per mega-batch
    # ... and every full batch holds more than one answer (sorting by text length made them all one answer)
    assert all(len({answers[i] for i in b}) > 1 for b in batches)


def test_sft_learns_an_answer_stated_in_the_question(tmp_path):
    """The plumbing check (training/sanity.py): copying a word from the prompt, no vision needed.

    Measured: 100% held-out accuracy after 100 steps (batch 32, lr 1e-3); with batches sorted by answer it
    stayed at 47-53% for 300 steps. 80 steps of batch 16 here; >= 90% leaves room for seeds (chance: 50%).
    """
    from training.evaluate import EvalConfig, InProcessAnswerer, evaluate
    from training.sanity import text_answer_dataset

    data = text_answer_dataset(tmp_path / "text", n=800, size=56)
    tiny = build_tiny(tmp_path / "tiny", dataset_texts(data), image_size=56)
    ckpt = run_sft(SFTRunConfig(model=str(tiny), dataset=str(data), output_dir=str(tmp_path / "sft"), reasoning_ratio=0.0,
                                max_steps=80, batch_size=16, learning_rate=1e-3, warmup_steps=10,
                                lr_scheduler="constant_with_warmup", logging_steps=20, save_steps=1000, threads=2))
    model, processor = load_model(ckpt)
    report = evaluate(EvalConfig(dataset_dir=str(data), splits=["test"], bootstrap=1), InProcessAnswerer(model, processor))
    assert report.cell("test", "all")["accuracy"]["value"] >= 0.9


def test_grpo_keeps_the_questions_it_can_learn_from(tmp_path):
    """pass_rate_filter (training/difficulty.py): the starting model answers each sampled prompt ``samples``
    times; GRPO trains on those it got right sometimes and wrong sometimes (the groups that carry a gradient).

    The model: 30 SFT steps on the plumbing check, part-way to learning it (measured: 19 of 24 questions mixed
    at 4 answers each, 1 always right, 4 always wrong; mean pass rate 43%), so both kinds are there to tell apart.
    """
    from training import difficulty
    from training.evaluate import InProcessAnswerer
    from training.sanity import text_answer_dataset

    data = text_answer_dataset(tmp_path / "text", n=400, size=56)
    tiny = build_tiny(tmp_path / "tiny", dataset_texts(data), image_size=56)
    sft = run_sft(SFTRunConfig(model=str(tiny), dataset=str(data), output_dir=str(tmp_path / "sft"), reasoning_ratio=0.0,
                               max_steps=30, batch_size=16, learning_rate=1e-3, warmup_steps=10,
                               lr_scheduler="constant_with_warmup", logging_steps=30, save_steps=1000, threads=1))
    cfg = GRPORunConfig(model=str(sft), dataset=str(data), output_dir=str(tmp_path / "grpo"), max_steps=1,
                        num_generations=4, prompts_per_step=2, max_completion_length=16, learning_rate=1e-5,
                        logging_steps=1, threads=1, direct_ratio=0.5, pass_rate_filter={"max_questions": 24})
    m = read_manifest(run_grpo(cfg))
    info = m["pass_rate_filter"]
    assert info["asked"] == 24 and info["filter"]["samples"] == 4  # the group size unless set
    assert info["kept"] + info["always_right"] + info["always_wrong"] == 24
    assert info["kept"] >= 1 and info["always_right"] + info["always_wrong"] >= 1
    assert m["train_prompts"] == info["kept"]  # one prompt per question, and only the mixed ones
    saved = json.loads((tmp_path / "grpo" / difficulty.RATES_FILE).read_text())
    rates = list(saved["rates"].values())
    assert len(rates) == 24 and all(r * 4 == int(r * 4) for r in rates)
    assert sum(0 < r < 1 for r in rates) == info["kept"]

    def must_not_ask():
        raise AssertionError("the saved rates were asked again")

    # a resumed run reads the rates it saved: same model, same prompts, same sampling
    from training.grpo import pass_rate_filter

    filt = pass_rate_filter(cfg)
    asked = [tuple(k.split("::")) for k in saved["rates"]]
    style = {r["id"]: r["prompt_style"] == "reasoning" for r in prompt_mix(cfg)}
    again = difficulty.load_or_estimate(tmp_path / "grpo", cfg.model, must_not_ask,
                                        [(d, i, style[i]) for d, i in asked], filt)
    assert again == saved["rates"]

    # group_stats (bench/grpo_temperature.py): the filter's seeded answers again, scored with GRPO's reward;
    # every group the filter kept has mixed accuracy, so its rewards vary; greedy groups never vary
    answerer = InProcessAnswerer.from_pretrained(sft)
    prompts = [(d, i, style[i]) for d, i in asked]
    hot = difficulty.group_stats(answerer, prompts, filt, progress=False)
    assert hot["questions"] == 24 and hot["accuracy"] == pytest.approx(info["mean_pass_rate"])
    assert hot["groups_with_variance"] * 24 >= info["kept"] and hot["mean_group_std"] > 0
    cold = difficulty.group_stats(answerer, prompts, difficulty.PassRateFilter(samples=2, temperature=0.0), progress=False)
    assert cold["groups_with_variance"] == 0 and cold["mean_group_std"] == 0

    with pytest.raises(ValueError, match="no question of the 24 asked"):
        run_grpo(GRPORunConfig(**{**cfg.__dict__, "output_dir": str(tmp_path / "none"),
                                  "pass_rate_filter": {"max_questions": 24, "min_pass": 0.99}}))
    with pytest.raises(ValueError, match="unknown keys"):
        pass_rate_filter(GRPORunConfig(pass_rate_filter={"sample": 4}))
    with pytest.raises(ValueError, match="samples must be"):
        difficulty.PassRateFilter(samples=1)
    with pytest.raises(ValueError, match="min_pass < max_pass"):
        difficulty.PassRateFilter(min_pass=0.5, max_pass=0.5)
