"""Model presets: the locally trained tokenizer, the tiny Qwen2.5-VL, loading, LoRA (real objects, no mocks)."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from training import fastpath
from training import presets as P
from training.dataset import iter_rows
from training.engine import GeneratorConfig, generate
from training.questions import prompt_text, user_content
from training.views import decode_image


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("presets") / "data"
    generate(GeneratorConfig(n_pairs=40, rows_per_shard=40, image_size=112, views_per_scene=6, reasoning_share=0.3),
             out, show_progress=False)
    return out


@pytest.fixture(scope="module")
def rows(dataset_dir):
    return list(iter_rows(dataset_dir))


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, dataset_dir):
    return P.build_tiny(tmp_path_factory.mktemp("presets") / "tiny", P.dataset_texts(dataset_dir), seed=0)


@pytest.fixture(scope="module")
def loaded(tiny_dir):
    model, processor = P.load_model(tiny_dir, "tiny")
    model.eval()
    return model, processor


def _prompt(row):
    return prompt_text(row["question"], row["options"], len(row["images"]), row["prompt_style"] == "reasoning")


def _messages(row, with_answer=False):
    user = {"role": "user", "content": user_content(_prompt(row), [{"type": "image"} for _ in row["images"]])}
    msgs = [user]
    if with_answer:
        msgs.append({"role": "assistant", "content": [{"type": "text", "text": row["response"]}]})
    return msgs


def _images(row):
    return [Image.fromarray(decode_image(b)) for b in row["images"]]


def _two_image_rows(rows, n):
    two = [r for r in rows if len(r["images"]) == 2]
    assert len(two) >= n
    return two[:n]


def _inputs(processor, batch_rows, with_answer=False):
    texts = [processor.apply_chat_template(_messages(r, with_answer), add_generation_prompt=not with_answer,
                                           tokenize=False) for r in batch_rows]
    return processor(text=texts, images=[_images(r) for r in batch_rows], padding=True, return_tensors="pt")


# -- tokenizer ---------------------------------------------------------------------------------------
def test_tokenizer_round_trips_real_text_and_keeps_format_tags_whole(loaded, rows):
    tok = loaded[1].tokenizer
    reasoning = [r for r in rows if r["prompt_style"] == "reasoning"]
    assert reasoning, "the dataset should hold chain-of-thought rows"
    samples = [_prompt(rows[0]), rows[0]["response"], _prompt(reasoning[0]), reasoning[0]["response"],
               "turned 45° left, then −30°  \n\t(odd spacing)  ", "Ünïcödé 日本 🤖"]
    for text in samples:
        ids = tok.encode(text, add_special_tokens=False)
        assert tok.decode(ids) == text
        assert tok.decode(ids, skip_special_tokens=True) == text  # the format tags are not special
    for tag in P.FORMAT_TOKENS:
        assert len(tok.encode(tag, add_special_tokens=False)) == 1, tag
    ids = tok.encode(reasoning[0]["response"], add_special_tokens=False)
    for tag in ("<think>", "</think>", "<answer>", "</answer>"):
        assert ids.count(tok.convert_tokens_to_ids(tag)) == 1
    assert tok.padding_side == "left"
    assert tok.eos_token == P.IM_END and tok.pad_token == P.ENDOFTEXT
    assert [tok.convert_tokens_to_ids(t) for t in P.SPECIAL_TOKENS + P.FORMAT_TOKENS] == list(range(11))


def test_train_tokenizer_needs_text():
    with pytest.raises(P.PresetError, match="no text"):
        P.train_tokenizer([])


def test_answer_format_instructions_are_one_length_in_tiny_tokens(loaded, tmp_path):
    """The from-scratch model finds the question at a fixed distance back from the answer, past the
    instruction: a reasoning instruction two tokens longer than the direct one left a cold start at 68%
    where one of the same length reached 100% (training/questions.py). Holds for the fixture's dataset
    (30% reasoning rows) and for one with no reasoning or numeric rows, whose tokenizer sees those
    instructions only through dataset_texts' list of them."""
    from training.questions import INSTRUCTIONS

    direct_only = tmp_path / "direct"
    generate(GeneratorConfig(n_pairs=20, rows_per_shard=20, image_size=64, views_per_scene=4, reasoning_share=0.0,
                             families={"ego_translation": 1.0}), direct_only, show_progress=False)
    for tok in (loaded[1].tokenizer, P.train_tokenizer(P.dataset_texts(direct_only))):
        lengths = {text: len(tok(text).input_ids) for text in INSTRUCTIONS}
        assert len(set(lengths.values())) == 1, lengths


# -- chat template and processor ------------------------------------------------------------------------
def test_chat_template_expands_two_images_to_16_tokens_each(loaded, rows):
    processor = loaded[1]
    row = _two_image_rows(rows, 1)[0]
    text = processor.apply_chat_template(_messages(row), add_generation_prompt=True, tokenize=False)
    assert text.count("<|vision_start|><|image_pad|><|vision_end|>") == 2
    assert text.startswith("<|im_start|>system\n") and text.endswith("<|im_end|>\n<|im_start|>assistant\n")
    out = processor.apply_chat_template(_messages(row), add_generation_prompt=True, tokenize=True, return_dict=True,
                                        images=_images(row), return_tensors="pt")
    image_id = processor.tokenizer.convert_tokens_to_ids(P.IMAGE_PAD)
    assert int((out["input_ids"] == image_id).sum()) == 2 * 16
    assert out["image_grid_thw"].tolist() == [[1, 8, 8], [1, 8, 8]]
    assert P.PRESETS["tiny"].tokens_per_image() == 16


def test_assistant_mask_covers_exactly_the_response(loaded, rows):
    """What TRL's assistant_only_loss uses: {% generation %} markers, masks re-aligned after image expansion."""
    from trl.chat_template_utils import has_generation_markers, is_chat_template_stop_token_trained

    processor = loaded[1]
    assert has_generation_markers(processor.chat_template)
    assert is_chat_template_stop_token_trained(processor)
    row = _two_image_rows(rows, 1)[0]
    out = processor.apply_chat_template(_messages(row, with_answer=True), tokenize=True, return_dict=True,
                                        images=_images(row), return_assistant_tokens_mask=True, return_tensors="pt")
    ids, mask = out["input_ids"][0], out["assistant_masks"][0].bool()
    assert processor.tokenizer.decode(ids[mask]) == row["response"] + "<|im_end|>\n"


# -- the tiny model ----------------------------------------------------------------------------------
def test_parameter_count_and_preset_file(loaded, tiny_dir):
    model, processor = loaded
    n = P.count_parameters(model)
    assert 0.5 * 2.2e6 <= n <= 1.5 * 2.2e6
    info = json.loads((tiny_dir / P.PRESET_FILE).read_text())
    assert info["preset"] == "tiny" and info["parameters"] == n and info["vocab_size"] == len(processor.tokenizer)
    cfg = model.config
    assert cfg.text_config.vocab_size == len(processor.tokenizer)
    for c in (cfg, cfg.text_config):
        assert (c.bos_token_id, c.eos_token_id, c.pad_token_id) == (0, 2, 0)
    assert model.generation_config.pad_token_id == 0 and 2 in model.generation_config.eos_token_id
    head_dim = cfg.text_config.hidden_size // cfg.text_config.num_attention_heads
    assert sum(cfg.text_config.rope_parameters["mrope_section"]) == head_dim // 2
    assert cfg.image_token_id == processor.tokenizer.convert_tokens_to_ids(P.IMAGE_PAD)
    assert cfg.vision_start_token_id == processor.tokenizer.convert_tokens_to_ids(P.VISION_START)


def test_forward_on_a_two_image_sample(loaded, rows):
    model, processor = loaded
    inputs = _inputs(processor, _two_image_rows(rows, 1), with_answer=True)
    with torch.no_grad():
        out = model(**inputs)
    assert out.logits.shape == (1, inputs["input_ids"].shape[1], len(processor.tokenizer))
    assert torch.isfinite(out.logits).all()


def test_batched_generate_with_left_padding(loaded, rows):
    model, processor = loaded
    two = _two_image_rows(rows, 8)
    lens = {len(_prompt(r)): r for r in two}
    batch = [lens[min(lens)], lens[max(lens)]]  # different prompt lengths, so one row is padded
    inputs = _inputs(processor, batch)
    assert inputs["attention_mask"][0, 0] == 0 and inputs["attention_mask"][:, -1].all()  # left padding
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
        single = model.generate(**_inputs(processor, batch[:1]), max_new_tokens=4, do_sample=False)
    assert out.shape[0] == 2 and inputs["input_ids"].shape[1] < out.shape[1] <= inputs["input_ids"].shape[1] + 4
    # The padded row generates what it generates alone: padding is masked and positions are right.
    alone = _inputs(processor, batch[:1])
    n_alone = alone["input_ids"].shape[1]
    n_batch = inputs["input_ids"].shape[1]
    assert single.shape[1] > n_alone
    assert out[0, n_batch:].tolist()[: single.shape[1] - n_alone] == single[0, n_alone:].tolist()
    texts = processor.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)


def test_save_and_reload_gives_identical_logits(loaded, rows, tmp_path):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model, processor = loaded
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    model2 = AutoModelForImageTextToText.from_pretrained(tmp_path).eval()
    fastpath.vision(model2)  # as load_model does: equal to float rounding only, so both take the same path
    processor2 = AutoProcessor.from_pretrained(tmp_path)
    batch = _two_image_rows(rows, 2)
    a, b = _inputs(processor, batch, with_answer=True), _inputs(processor2, batch, with_answer=True)
    assert torch.equal(a["input_ids"], b["input_ids"]) and torch.equal(a["pixel_values"], b["pixel_values"])
    with torch.no_grad():
        assert torch.equal(model(**a).logits, model2(**b).logits)
    assert processor2.chat_template == processor.chat_template
    assert processor2.tokenizer.padding_side == "left"


def test_build_is_seeded(tmp_path, dataset_dir, tiny_dir):
    from safetensors.torch import load_file

    again = P.build_tiny(tmp_path / "again", P.dataset_texts(dataset_dir), seed=0)
    a, b = load_file(tiny_dir / "model.safetensors"), load_file(again / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (tiny_dir / "tokenizer.json").read_text() == (again / "tokenizer.json").read_text()


def test_size_overrides_reach_the_config(tmp_path, dataset_dir):
    out = P.build_tiny(tmp_path / "theta", P.dataset_texts(dataset_dir), rope_theta=20.0)
    text = json.loads((out / "config.json").read_text())["text_config"]
    assert text["rope_parameters"]["rope_theta"] == 20.0
    with pytest.raises(P.PresetError, match="unknown tiny model sizes"):
        P.build_tiny(tmp_path / "bad", P.dataset_texts(dataset_dir), rope_thetaa=20.0)
    # M-RoPE sections: Qwen's [16, 24, 24] scaled to head_dim 64 by default; any split of the 32 frequencies
    assert text["rope_parameters"]["mrope_section"] == [8, 12, 12]
    out = P.build_tiny(tmp_path / "sections", P.dataset_texts(dataset_dir), mrope_section=[2, 6, 24])
    assert json.loads((out / "config.json").read_text())["text_config"]["rope_parameters"]["mrope_section"] == [2, 6, 24]
    with pytest.raises(P.PresetError, match="summing to head_dim / 2 = 32"):
        P.build_tiny(tmp_path / "bad2", P.dataset_texts(dataset_dir), mrope_section=[8, 12, 8])


# -- LoRA --------------------------------------------------------------------------------------------
def test_lora_on_the_language_model_only_and_merge(tiny_dir, rows):
    model, processor = P.load_model(tiny_dir, "tiny", lora=True, lora_r=4, lora_alpha=8, lora_dropout=0.0)
    names = P.trainable_parameter_names(model)
    assert names and all("lora_" in n for n in names)
    assert not any("visual" in n for n in names)
    layers = model.base_model.model.config.text_config.num_hidden_layers
    assert len(names) == layers * 7 * 2  # q k v o gate up down, A and B each
    # LoRA B starts at zero (a no-op); give the adapters weights so merging has something to merge.
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    model.eval()
    inputs = _inputs(processor, _two_image_rows(rows, 1), with_answer=True)
    with torch.no_grad():
        peft_logits = model(**inputs).logits
        merged = model.merge_and_unload()
        merged_logits = merged(**inputs).logits
    assert type(merged).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert not any("lora" in n for n, _ in merged.named_parameters())
    assert torch.allclose(peft_logits, merged_logits, atol=1e-4, rtol=1e-4)


def test_lora_with_gradient_checkpointing_trains(tiny_dir, rows):
    model, processor = P.load_model(tiny_dir, "tiny", lora=True, gradient_checkpointing=True)
    model.train()
    inputs = _inputs(processor, _two_image_rows(rows, 2), with_answer=True)
    loss = model(**inputs, labels=inputs["input_ids"]).loss
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
    assert all(g is not None for g in grads.values())


# -- errors -------------------------------------------------------------------------------------------
def test_real_presets_need_a_downloaded_checkpoint(tmp_path):
    with pytest.raises(P.PresetError, match=r"download .*--model-path"):
        P.load_model(None, "qwen2.5-vl-3b")
    with pytest.raises(P.PresetError, match=r"does not exist.*--model-path"):
        P.load_model(tmp_path / "missing", "qwen2.5-vl-3b")
    with pytest.raises(P.PresetError, match=r"no config.json.*Qwen2.5-VL-7B-Instruct.*--model-path"):
        P.load_model(tmp_path, "qwen2.5-vl-7b")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(P.PresetError, match="llama"):
        P.load_model(tmp_path, "qwen2.5-vl-3b")
    with pytest.raises(P.PresetError, match="unknown model preset"):
        P.load_model(tmp_path, "qwen9")


def test_presets_table():
    assert set(P.PRESETS) == {"tiny", "qwen2.5-vl-3b", "qwen2.5-vl-7b"}
    assert P.PRESETS["tiny"].built_locally and not P.PRESETS["tiny"].lora
    for name in ("qwen2.5-vl-3b", "qwen2.5-vl-7b"):
        p = P.PRESETS[name]
        assert not p.built_locally and p.lora and p.dtype == "bfloat16" and p.min_pixels <= p.max_pixels
    with pytest.raises(P.PresetError, match="unknown tiny model sizes"):
        P.build_tiny("/nonexistent", ["x"], hidden_sizee=3)


def test_real_preset_code_path_on_a_local_qwen2_5_vl_dir(tiny_dir, rows):
    """The 3b/7b path (a Qwen2.5-VL directory + the preset's pixel budget), run on the tiny checkpoint."""
    model, processor = P.load_model(tiny_dir, "qwen2.5-vl-3b", dtype="float32")
    assert next(model.parameters()).dtype == torch.float32 and processor.tokenizer.padding_side == "left"
    row = _two_image_rows(rows, 1)[0]
    big = [img.resize((224, 224)) for img in _images(row)]
    out = processor(text=["<|vision_start|><|image_pad|><|vision_end|>"], images=[big[:1]], return_tensors="pt")
    assert out["image_grid_thw"].tolist() == [[1, 16, 16]]  # 224 px -> 64 tokens, within 224^2..448^2
    assert P.PRESETS["qwen2.5-vl-3b"].tokens_per_image() == 64
