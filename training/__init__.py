"""Training side of actial-robot: the viewpoint data engine (now), model presets, SFT, GRPO, evaluation (next)."""

__version__ = "0.1.0"
