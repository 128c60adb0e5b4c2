"""Faster equivalents of three pieces of the Qwen2.5-VL training step, for the CPU and small models.

Each computes what the code it replaces computes (the same weights, the same state dict, outputs equal to float
rounding), so checkpoints and serving are unchanged. On the tiny preset they gave an SFT step 1.12-1.21x the speed
on a 2-core AVX2 CPU (``bench/step_speed.py``, session 33: 0.95 -> 0.85 and 1.10 -> 0.91 s a step, batch 32):

* ``patch_embed``: the vision tower's patch embedding is a ``Conv3d`` whose kernel equals its stride, i.e. one
  matrix multiply per patch; PyTorch's CPU convolution took ~95 ms of a ~1 s step (forward 19, the weight's
  gradient 75; torch.profiler), the matmul a few.
* ``vision_attention``: the vision blocks attend within each window (or image), and transformers' SDPA path calls
  attention once per window: 192 calls a step for 32 pairs of 112 px images. When every window has the same
  length (always, for images of one size that fit one window) they are one batched call. Flash attention
  (GPUs) already takes the windows in one call and keeps its own path.
* ``compact_lm_head``: TRL's SFT loss on the CPU scores the LM head at every position (its reason, recompiling
  tile shapes, is Neuron's); only the assistant turn's positions carry a loss, about a tenth of them here.
  This scores only those, as TRL does on GPUs.
"""

from __future__ import annotations

import types

import torch.nn.functional as F


def _patch_embed_forward(self, hidden_states):
    weight = self.proj.weight
    # The processor gives each patch flattened in (channel, time, row, column) order, the conv kernel's order
    x = hidden_states.reshape(-1, weight[0].numel()).to(weight.dtype)
    return F.linear(x, weight.reshape(weight.shape[0], -1), self.proj.bias)


def _vision_attention_forward(self, hidden_states, cu_seqlens, position_embeddings=None, max_seqlen=None, **kwargs):
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import apply_rotary_pos_emb_vision

    lengths = cu_seqlens[1:] - cu_seqlens[:-1]
    windows = lengths.numel()
    if windows == 0 or bool((lengths != lengths[0]).any()):  # windows of different lengths: transformers' own path
        return self._original_forward(hidden_states, cu_seqlens, position_embeddings, max_seqlen, **kwargs)
    n = hidden_states.shape[0]
    q, k, v = self.qkv(hidden_states).reshape(n, 3, self.num_heads, -1).permute(1, 0, 2, 3).unbind(0)
    cos, sin = position_embeddings
    q, k = apply_rotary_pos_emb_vision(q, k, cos, sin)
    # (tokens, heads, dim) -> (windows, heads, window length, dim): the tokens arrive grouped by window
    q, k, v = (t.reshape(windows, n // windows, self.num_heads, -1).transpose(1, 2) for t in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v, scale=self.scaling)
    return self.proj(out.transpose(1, 2).reshape(n, -1))


def vision(model) -> None:
    """Install the vision fast paths on ``model`` (a Qwen2.5-VL model, PEFT-wrapped or not; others are left as
    they are). Each module keeps transformers' forward as ``_original_forward``."""
    from transformers.utils.generic import is_flash_attention_requested

    for module in model.modules():
        name = type(module).__name__
        if hasattr(module, "_original_forward"):
            continue
        if name == "Qwen2_5_VisionPatchEmbed":
            fast = _patch_embed_forward
        elif name == "Qwen2_5_VLVisionAttention" and not is_flash_attention_requested(module.config):
            fast = _vision_attention_forward
        else:
            continue
        module._original_forward = module.forward
        module.forward = types.MethodType(fast, module)


def compact_lm_head(on: bool = True) -> None:
    """Make TRL's fused SFT loss score only the positions that carry a label on the CPU too (see the module's
    docstring), or (``on=False``) as TRL does. A TRL without the switch is left as it is."""
    try:
        from trl.trainer import utils as trl_utils
    except ImportError:
        return
    current = getattr(trl_utils, "_use_triton", None)
    if current is None:
        return
    original = getattr(current, "original", current)
    if not on:
        trl_utils._use_triton = original
        return

    def use_compact(device) -> bool:
        return device.type == "cpu" or original(device)

    use_compact.original = original
    trl_utils._use_triton = use_compact
