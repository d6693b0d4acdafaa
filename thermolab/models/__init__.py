"""Models trained in the lab: TinyGPT, a nanoGPT-style character transformer (`tinygpt`)."""

from thermolab.models.tinygpt import (
    CHECKPOINT_FORMAT,
    PRESETS,
    Checkpoint,
    CheckpointError,
    GPTConfig,
    GPTOutput,
    Preset,
    TinyGPT,
    attention_head,
    load_checkpoint,
    newest_checkpoint,
    preset_config,
    save_checkpoint,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "PRESETS",
    "Checkpoint",
    "CheckpointError",
    "GPTConfig",
    "GPTOutput",
    "Preset",
    "TinyGPT",
    "attention_head",
    "load_checkpoint",
    "newest_checkpoint",
    "preset_config",
    "save_checkpoint",
]
