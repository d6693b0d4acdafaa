"""RBM weights as an `.npz`: `weights` (n_visible × n_hidden), `visible_bias`, `hidden_bias`,
and `metadata`, a JSON object (settings, data, metrics) stored as a 0-d string array."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from thermolab.ebm.data import read_capped
from thermolab.ebm.model import RBM

__all__ = ["MAX_MODEL_BYTES", "load_model", "model_bytes", "save_model"]

#: Largest model file read back (a 4096 × 4096 RBM in float64 is 128 MiB).
MAX_MODEL_BYTES = 160 * 2**20


def model_bytes(rbm: RBM, metadata: dict[str, Any] | None = None) -> bytes:
    """The `.npz` file's bytes (for a download button or a file)."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        weights=rbm.weights,
        visible_bias=rbm.visible_bias,
        hidden_bias=rbm.hidden_bias,
        metadata=np.array(json.dumps(metadata or {}, default=str)),
    )
    return buffer.getvalue()


def save_model(
    path: str | os.PathLike[str], rbm: RBM, metadata: dict[str, Any] | None = None
) -> Path:
    """Write the model to `path` (its suffix should be .npz) and return the path."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise ValueError(f"save the model to an .npz path, got {str(path)!r}")
    try:
        path.write_bytes(model_bytes(rbm, metadata))
    except OSError as error:
        raise ValueError(f"cannot write {path} ({error.strerror or error})") from error
    return path


def load_model(source: str | os.PathLike[str] | bytes) -> tuple[RBM, dict[str, Any]]:
    """(RBM, metadata) from an `.npz` path or its bytes, validated; ValueError (one line) if
    it is not such a file."""
    if isinstance(source, bytes):
        data, where = source, "the uploaded file"
    else:
        data, where = read_capped(Path(source), MAX_MODEL_BYTES), str(source)
    if len(data) > MAX_MODEL_BYTES:
        raise ValueError(f"{where} is larger than the {MAX_MODEL_BYTES:,} bytes allowed")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        metadata = json.loads(str(arrays["metadata"])) if "metadata" in arrays else {}
    except Exception as error:  # np.load's and json's many ways to say "not this format"
        raise ValueError(f"{where} is not a readable RBM .npz ({type(error).__name__})") from error
    missing = {"weights", "visible_bias", "hidden_bias"} - set(arrays)
    if missing:
        raise ValueError(f"{where} lacks {', '.join(sorted(missing))}: not an RBM file")
    rbm = RBM(arrays["weights"], arrays["visible_bias"], arrays["hidden_bias"])
    if not isinstance(metadata, dict):
        raise ValueError(f"{where}: metadata must be a JSON object")
    return rbm, metadata
