"""Models trained in the lab: TinyGPT, a nanoGPT-style character transformer (`tinygpt`)."""

from thermolab.models.tinygpt import (
    CHECKPOINT_FORMAT,
    PRESETS,
    STOCHASTIC_CHOICES,
    Checkpoint,
    CheckpointError,
    GPTConfig,
    GPTOutput,
    Preset,
    TinyGPT,
    attention_head,
    load_checkpoint,
    make_stochastic,
    newest_checkpoint,
    preset_config,
    save_checkpoint,
    stochastic_layer_names,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "PRESETS",
    "STOCHASTIC_CHOICES",
    "Checkpoint",
    "CheckpointError",
    "GPTConfig",
    "GPTOutput",
    "Preset",
    "TinyGPT",
    "attention_head",
    "load_checkpoint",
    "make_stochastic",
    "newest_checkpoint",
    "preset_config",
    "save_checkpoint",
    "stochastic_layer_names",
]
