"""Model presets (DESIGN.md, "Model presets"): one code path for a tiny model and the real Qwen2.5-VL.

``tiny`` is the Qwen2.5-VL architecture built from a config, with a byte-level BPE tokenizer trained
locally on the data engine's own text: nothing is downloaded and nothing comes from a hub, and it
trains from scratch on a CPU in minutes (the sizes of the first from-scratch run that learned on a CPU: text hidden
192 x 3 layers, vision hidden 128 x 3 blocks, 112 px images = 16 tokens each after the 2x2 merge).
``qwen2.5-vl-3b`` / ``qwen2.5-vl-7b`` load a checkpoint the user downloaded to a local directory
(``--model-path``) and train with LoRA on the language model only (vLLM ignores LoRA on the vision
tower; adapters are merged for serving).

Every directory written by ``build_tiny`` is a plain Hugging Face checkpoint: config.json,
model.safetensors, generation_config.json, tokenizer, image/video processor, chat template, so
``AutoModelForImageTextToText`` / ``AutoProcessor`` (and ``vllm serve`` / ``transformers serve``)
load it as they load Qwen2.5-VL. ``actial_preset.json`` beside them records the preset and sizes.

Choices written down here because they are easy to undo by accident:

* The tokenizer uses Qwen2.5-VL's special tokens and ChatML template; the template is TRL's
  training variant of Qwen2.5-VL's (``{% generation %}`` markers around the assistant turn, its
  ``<|im_end|>`` included, so ``SFTConfig(assistant_only_loss=True)`` masks everything else). It
  renders byte-for-byte what Qwen's own template renders.
* ``<think>``, ``</think>``, ``<answer>``, ``</answer>`` are added tokens but not special ones, so they
  are single tokens and still appear in decoded text with ``skip_special_tokens=True`` (the answer
  parser needs them).
* Head dims are 64 (text: 192 / 3 heads; vision: 128 / 2 heads): vLLM's CPU attention supports only a
  few head sizes, 64 among them.
* The tokenizer pads on the left (batched ``generate`` needs it); TRL's SFT collator asks for right
  padding explicitly, so training is unaffected.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

PRESET_FILE = "actial_preset.json"

# Qwen2.5-VL's special tokens (same strings as the real tokenizer; ids differ, our vocabulary is small).
ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD = "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"
SPECIAL_TOKENS = (ENDOFTEXT, IM_START, IM_END, VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD)
# The answer format's tags: single tokens, decoded in the output text (added, not special).
FORMAT_TOKENS = ("<think>", "</think>", "<answer>", "</answer>")

# LoRA on the language model only: the text decoder's projections, never the vision tower (whose MLP
# also has gate/up/down_proj; module names there contain "visual").
LORA_TARGET_MODULES = r"^(?!.*visual).*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)$"

# Qwen2.5-VL's chat template with {% generation %} markers around the assistant's content and its
# <|im_end|>: TRL ships it (trl/chat_templates/qwen2_5_vl_training.jinja) for assistant-only loss.
def _trl_template(name: str) -> str:
    from importlib.resources import files

    return (files("trl") / "chat_templates" / name).read_text()


CHAT_TEMPLATE = _trl_template("qwen2_5_vl_training.jinja")

# Text every tokenizer sees besides the data: the template's fixed words and every printable character
# (byte-level BPE encodes anything, but characters seen in training get their own tokens).
_TEMPLATE_TEXT = ("system\nYou are a helpful assistant.\nuser\nassistant\nPicture 1: Picture 2: "
                  "Video 1: " + string.printable + "°±×−–—’“”…")


class PresetError(ValueError):
    """An unknown preset, or a model directory that is missing or not a checkpoint."""


@dataclass(frozen=True)
class Preset:
    name: str
    built_locally: bool  # True: build_tiny makes it from a config; False: loaded from --model-path
    image_size: int  # the side the data engine should render at for this preset
    min_pixels: int  # the image processor's pixel budget (Qwen2VLImageProcessor size shortest/longest_edge)
    max_pixels: int
    lora: bool  # trained with LoRA on the language model (else: all weights)
    dtype: str  # "float32" | "bfloat16"
    hf_id: str | None = None  # where to download the checkpoint from (built_locally=False)

    def tokens_per_image(self, side: int | None = None) -> int:
        """Vision tokens for a square image of ``side`` px (default ``image_size``) after the 2x2 merge."""
        from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

        s = side or self.image_size
        h, w = smart_resize(s, s, factor=28, min_pixels=self.min_pixels, max_pixels=self.max_pixels)
        return (h // 28) * (w // 28)


PRESETS: dict[str, Preset] = {
    "tiny": Preset("tiny", True, 112, 112 * 112, 112 * 112, False, "float32"),
    "qwen2.5-vl-3b": Preset("qwen2.5-vl-3b", False, 224, 224 * 224, 448 * 448, True, "bfloat16",
                            "Qwen/Qwen2.5-VL-3B-Instruct"),
    "qwen2.5-vl-7b": Preset("qwen2.5-vl-7b", False, 224, 224 * 224, 448 * 448, True, "bfloat16",
                            "Qwen/Qwen2.5-VL-7B-Instruct"),
}

# The tiny model's sizes: ~2.0M parameters with a 2048-token vocabulary.
TINY_SIZES = dict(
    hidden_size=192, num_hidden_layers=3, num_attention_heads=3, num_key_value_heads=1, intermediate_size=384,
    vision_hidden_size=128, vision_depth=3, vision_num_heads=2, vision_intermediate_size=192,
    max_position_embeddings=4096, tie_word_embeddings=True, rope_theta=1000000.0,
    mrope_section=None,  # None: Qwen's [16, 24, 24] scaled to head_dim (see _tiny_config)
)


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise PresetError(f"unknown model preset {name!r}; choose from {', '.join(PRESETS)}") from None


# -- tokenizer ------------------------------------------------------------------------------------
# rows of a dataset whose text trains the tiny tokenizer, wherever one is built (CLI, bench/train.py, the loop):
# the merges depend on how much text they see, so the same data must give the same tokenizer everywhere
TOKENIZER_ROWS = 5000


def dataset_texts(dataset_dir: str | Path, limit: int | None = None) -> Iterator[str]:
    """The text a model sees for a dataset: each row's user prompt (``prompt_text``), options and
    response, and every answer-format instruction (``questions.INSTRUCTIONS``) as often as the rows, so a
    dataset without reasoning or numeric rows still gets those instructions as whole-word tokens (their
    lengths are matched in those tokens). Feed it to ``train_tokenizer`` / ``build_tiny``."""
    from .dataset import iter_rows
    from .questions import INSTRUCTIONS, prompt_text

    cols = ["question", "options", "images", "prompt_style", "response"]
    for i, row in enumerate(iter_rows(dataset_dir, columns=cols)):
        if limit is not None and i >= limit:
            break
        yield prompt_text(row["question"], row["options"], len(row["images"]), row["prompt_style"] == "reasoning")
        yield row["response"]
        yield "\n".join(INSTRUCTIONS)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 2048):
    """A byte-level BPE (``PreTrainedTokenizerFast``) trained on ``texts`` with Qwen2.5-VL's special tokens.

    Ids 0..6 are ``<|endoftext|>``, ``<|im_start|>``, ``<|im_end|>``, ``<|vision_start|>``,
    ``<|vision_end|>``, ``<|image_pad|>``, ``<|video_pad|>`` (special); 7..10 are ``<think>``,
    ``</think>``, ``<answer>``, ``</answer>`` (added, not special: they survive
    ``skip_special_tokens``). The vocabulary holds all 256 bytes, so any text round-trips exactly;
    ``vocab_size`` is an upper bound (a small corpus may give fewer merges). eos = ``<|im_end|>``,
    pad = ``<|endoftext|>``, no bos (as Qwen2.5-VL-Instruct), left padding, ``CHAT_TEMPLATE``.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    reserved = list(SPECIAL_TOKENS + FORMAT_TOKENS)
    if vocab_size < 256 + len(reserved) + 1:
        raise PresetError(f"vocab_size must exceed {256 + len(reserved)} (256 bytes + {len(reserved)} reserved "
                          f"tokens), got {vocab_size}")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=reserved,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)

    def corpus():
        yield _TEMPLATE_TEXT
        n = 0
        for t in texts:
            if t:
                n += 1
                yield t
        if n == 0:
            raise PresetError("train_tokenizer got no text; pass the dataset's questions and responses "
                              "(e.g. presets.dataset_texts(dataset_dir))")

    tok.train_from_iterator(corpus(), trainer=trainer)
    # The trainer registers every reserved token as special; the format tags must be plain added tokens
    # (decoded in the output text), and none of them may be normalised or stripped.
    spec = json.loads(tok.to_str())
    for entry in spec["added_tokens"]:
        entry.update(special=entry["content"] in SPECIAL_TOKENS, normalized=False, lstrip=False, rstrip=False,
                     single_word=False)
    tok = Tokenizer.from_str(json.dumps(spec))
    for i, t in enumerate(reserved):
        assert tok.token_to_id(t) == i, (t, tok.token_to_id(t))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=IM_END, pad_token=ENDOFTEXT, bos_token=None, unk_token=None,
        padding_side="left", clean_up_tokenization_spaces=False, model_max_length=32768,
        chat_template=CHAT_TEMPLATE, model_input_names=["input_ids", "attention_mask"],
        extra_special_tokens={"image_token": IMAGE_PAD, "video_token": VIDEO_PAD,
                              "vision_bos_token": VISION_START, "vision_eos_token": VISION_END},
    )


# -- tiny model -------------------------------------------------------------------------------------
def _tiny_config(tokenizer, sizes: dict):
    from transformers import Qwen2_5_VLConfig

    head_dim = sizes["hidden_size"] // sizes["num_attention_heads"]
    if head_dim * sizes["num_attention_heads"] != sizes["hidden_size"] or head_dim % 2:
        raise PresetError(f"hidden_size {sizes['hidden_size']} must be an even multiple of num_attention_heads "
                          f"{sizes['num_attention_heads']}")
    # M-RoPE splits head_dim / 2 rotary frequencies into (temporal, height, width) sections; Qwen's own
    # [16, 24, 24] for head_dim 128, scaled.
    half = head_dim // 2
    t = half // 4
    h = (half - t) // 2
    mrope = list(sizes.get("mrope_section") or [t, h, half - t - h])
    if len(mrope) != 3 or sum(mrope) != half or min(mrope) < 1:
        raise PresetError(f"mrope_section must be 3 positive ints summing to head_dim / 2 = {half}, got {mrope}")
    ids = {name: tokenizer.convert_tokens_to_ids(tok) for name, tok in
           [("pad", ENDOFTEXT), ("eos", IM_END), ("bos", ENDOFTEXT), ("image", IMAGE_PAD), ("video", VIDEO_PAD),
            ("vstart", VISION_START), ("vend", VISION_END)]}
    vocab = len(tokenizer)
    text = dict(
        vocab_size=vocab, hidden_size=sizes["hidden_size"], intermediate_size=sizes["intermediate_size"],
        num_hidden_layers=sizes["num_hidden_layers"], num_attention_heads=sizes["num_attention_heads"],
        num_key_value_heads=sizes["num_key_value_heads"], max_position_embeddings=sizes["max_position_embeddings"],
        max_window_layers=sizes["num_hidden_layers"], use_sliding_window=False, rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "rope_theta": float(sizes["rope_theta"]), "mrope_section": mrope},
        bos_token_id=ids["bos"], eos_token_id=ids["eos"], pad_token_id=ids["pad"],
        tie_word_embeddings=sizes["tie_word_embeddings"],
    )
    depth = sizes["vision_depth"]
    vision = dict(
        depth=depth, hidden_size=sizes["vision_hidden_size"], intermediate_size=sizes["vision_intermediate_size"],
        num_heads=sizes["vision_num_heads"], out_hidden_size=sizes["hidden_size"], patch_size=14,
        spatial_merge_size=2, temporal_patch_size=2, window_size=112, fullatt_block_indexes=[depth - 1],
        tokens_per_second=2,
    )
    return Qwen2_5_VLConfig(
        text_config=text, vision_config=vision, image_token_id=ids["image"], video_token_id=ids["video"],
        vision_start_token_id=ids["vstart"], vision_end_token_id=ids["vend"],
        tie_word_embeddings=sizes["tie_word_embeddings"],
        bos_token_id=ids["bos"], eos_token_id=ids["eos"], pad_token_id=ids["pad"], dtype="float32",
    )


def make_processor(tokenizer, image_size: int = 112, min_pixels: int | None = None, max_pixels: int | None = None):
    """A ``Qwen2_5_VLProcessor`` around ``tokenizer`` whose images become ``image_size`` squared pixels
    (112 px -> 8 x 8 patches of 14 -> 16 tokens after the 2 x 2 merge)."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    lo = min_pixels if min_pixels is not None else image_size * image_size
    hi = max_pixels if max_pixels is not None else image_size * image_size
    image_processor = Qwen2VLImageProcessor(min_pixels=lo, max_pixels=hi, patch_size=14, temporal_patch_size=2,
                                            merge_size=2)
    # Videos are not used; a small budget keeps servers' memory profiling (vLLM's dummy videos) small.
    video_processor = Qwen2VLVideoProcessor(size={"shortest_edge": lo, "longest_edge": max(hi, lo) * 4})
    return Qwen2_5_VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                               video_processor=video_processor, chat_template=CHAT_TEMPLATE)


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def build_tiny(out_dir: str | Path, texts: Iterable[str], image_size: int = 112, seed: int = 0,
               vocab_size: int = 2048, **size_overrides) -> Path:
    """Build the ``tiny`` preset into ``out_dir`` and return it.

    Trains the tokenizer on ``texts`` (see ``train_tokenizer``; ``dataset_texts(dir)`` gives a dataset's),
    builds a randomly initialised ``Qwen2_5_VLForConditionalGeneration`` (seeded) of ``TINY_SIZES``
    (any key overridable as a keyword) and saves model (safetensors), generation config, tokenizer,
    processor and chat template, plus ``actial_preset.json`` (preset, sizes, parameter count,
    vocabulary size, image size).
    """
    import torch
    from transformers import GenerationConfig, Qwen2_5_VLForConditionalGeneration

    unknown = set(size_overrides) - set(TINY_SIZES)
    if unknown:
        raise PresetError(f"unknown tiny model sizes {sorted(unknown)}; known: {', '.join(TINY_SIZES)}")
    if image_size % 28:
        raise PresetError(f"image_size must be a multiple of 28 (14 px patches, 2 x 2 merge), got {image_size}")
    sizes = {**TINY_SIZES, **size_overrides}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    tokenizer = train_tokenizer(texts, vocab_size)
    config = _tiny_config(tokenizer, sizes)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = Qwen2_5_VLForConditionalGeneration(config).to(torch.float32)
    finally:
        torch.random.set_rng_state(state)
    model.eval()
    model.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id, pad_token_id=config.text_config.pad_token_id,
        eos_token_id=[config.text_config.eos_token_id, config.text_config.pad_token_id], do_sample=False)
    processor = make_processor(tokenizer, image_size)

    model.save_pretrained(out)
    processor.save_pretrained(out)
    n_params = count_parameters(model)
    info = {
        "preset": "tiny", "parameters": n_params, "vocab_size": len(tokenizer), "requested_vocab_size": vocab_size,
        "image_size": image_size, "tokens_per_image": (image_size // 28) ** 2, "seed": seed, "sizes": sizes,
        "special_token_ids": {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS + FORMAT_TOKENS},
    }
    (out / PRESET_FILE).write_text(json.dumps(info, indent=2) + "\n")
    return out


def read_preset_info(model_dir: str | Path) -> dict | None:
    """``actial_preset.json`` of a directory made by ``build_tiny``, or None."""
    p = Path(model_dir) / PRESET_FILE
    return json.loads(p.read_text()) if p.is_file() else None


# -- loading ----------------------------------------------------------------------------------------
def lora_config(r: int = 16, alpha: int = 32, dropout: float = 0.05):
    """A ``peft.LoraConfig`` on the language model's projections only (``LORA_TARGET_MODULES``); pass it
    to ``get_peft_model`` or as TRL's ``peft_config``."""
    from peft import LoraConfig

    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=LORA_TARGET_MODULES,
                      bias="none", task_type="CAUSAL_LM")


def _torch_dtype(dtype):
    import torch

    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    names = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float16": torch.float16, "fp16": torch.float16}
    if dtype not in names:
        raise PresetError(f"dtype must be one of {', '.join(names)}, got {dtype!r}")
    return names[dtype]


def _check_model_dir(path, preset: Preset) -> Path:
    if preset.built_locally:
        how = ("build it first with training.presets.build_tiny(out_dir, texts) (the CLI's model-building "
               "command) and pass that directory")
    else:
        how = (f"download the checkpoint to a local directory (e.g. `hf download {preset.hf_id} --local-dir DIR`) "
               f"and pass --model-path DIR")
    if path is None or str(path) == "":
        raise PresetError(f"preset {preset.name!r} needs a model directory (--model-path); {how}")
    p = Path(path)
    if not p.is_dir():
        raise PresetError(f"model directory {p} does not exist; {how}")
    if not (p / "config.json").is_file():
        raise PresetError(f"{p} has no config.json, so it is not a Hugging Face model directory; {how}")
    model_type = json.loads((p / "config.json").read_text()).get("model_type")
    if model_type != "qwen2_5_vl":
        raise PresetError(f"{p} holds a {model_type!r} model, but preset {preset.name!r} is Qwen2.5-VL "
                          f"(model_type 'qwen2_5_vl')")
    return p


def load_model(path, preset: str = "tiny", lora: bool = False, dtype=None, *, gradient_checkpointing: bool = False,
               lora_r: int = 16, lora_alpha: int = 32, lora_dropout: float = 0.05, device=None, fast_paths: bool = True):
    """(model, processor) for ``preset`` from the local directory ``path``.

    ``tiny``: a directory from ``build_tiny`` (or a checkpoint trained from one). ``qwen2.5-vl-3b`` /
    ``-7b``: a downloaded Qwen2.5-VL checkpoint; its image processor gets the preset's pixel budget.
    ``dtype`` defaults to the preset's. ``lora=True`` wraps the model with PEFT LoRA on the language
    model only (``lora_config``); merge with ``merge_and_unload()`` before saving for serving.
    ``gradient_checkpointing`` turns on non-reentrant checkpointing (and input grads, which LoRA needs).
    The processor's tokenizer pads on the left (for batched generation). ``fast_paths``: the vision tower's
    patch embedding and window attention run as ``training/fastpath.py``'s equivalents (False: transformers' code).
    """
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from . import fastpath

    spec = get_preset(preset)
    p = _check_model_dir(path, spec)
    torch_dtype = _torch_dtype(dtype or spec.dtype)
    model = AutoModelForImageTextToText.from_pretrained(p, dtype=torch_dtype)
    processor = AutoProcessor.from_pretrained(p)
    if not spec.built_locally:
        processor.image_processor.size = {"shortest_edge": spec.min_pixels, "longest_edge": spec.max_pixels}
    processor.tokenizer.padding_side = "left"
    if fast_paths:
        fastpath.vision(model)
    if device is not None:
        model.to(device)
    if gradient_checkpointing:
        kwargs = {"use_reentrant": False}
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.2x's name for it
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
        model.config.use_cache = False
    if lora:
        from peft import get_peft_model

        if gradient_checkpointing:
            model.enable_input_require_grads()
        model = get_peft_model(model, lora_config(lora_r, lora_alpha, lora_dropout))
    return model, processor


def trainable_parameter_names(model) -> list[str]:
    return [n for n, p in model.named_parameters() if p.requires_grad]

