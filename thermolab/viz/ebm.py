"""Figures and images for the Boltzmann-machine lab: image grids, curves, confusion matrix.

Images are uint8 (rows, cols) arrays, already scaled up by whole pixels so the browser shows
sharp squares; figures are plotly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = [
    "confusion_figure",
    "curves_figure",
    "filter_grid",
    "image_grid",
    "metrics_rows",
    "sample_tiles",
]

MARGIN = {"l": 50, "r": 20, "t": 40, "b": 40}


def image_grid(
    values: np.ndarray,
    image_shape: tuple[int, int],
    *,
    columns: int = 10,
    scale: int | None = None,
) -> np.ndarray:
    """Tile rows of `values` (n, rows·cols) in [0, 1] as grey images, 1-pixel gaps, each
    pixel `scale` × `scale` (default: about 48 screen pixels per image side): → uint8 (H, W),
    white = 1."""
    values = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    rows, cols = image_shape
    n = values.shape[0]
    columns = max(1, min(columns, n))
    grid_rows = math.ceil(n / columns)
    canvas = np.full((grid_rows * (rows + 1) + 1, columns * (cols + 1) + 1), 0.35)
    for index in range(n):
        r, c = divmod(index, columns)
        top, left = 1 + r * (rows + 1), 1 + c * (cols + 1)
        canvas[top : top + rows, left : left + cols] = values[index, : rows * cols].reshape(
            rows, cols
        )
    image = (255 * canvas).astype(np.uint8)
    scale = scale if scale is not None else max(1, 48 // max(rows, cols))
    return np.kron(image, np.ones((scale, scale), dtype=np.uint8))


def sample_tiles(samples: np.ndarray, image_shape: tuple[int, int], per_side: int) -> np.ndarray:
    """Binary samples as one square lattice of spins for the lattice canvas
    (`ui.lattice_canvas`): rows of `samples` (≥ per_side², ≥ rows·cols) of 0/1, each an image
    of `image_shape` (rows, cols) in its first rows·cols units (label units are left out),
    tiled per_side × per_side, sample k at tile row k // per_side, column k % per_side, no
    gaps → spins (L·L,) of ±1 (1 → +1), row-major, L = per_side · rows.

    ValueError unless the images are square (rows = cols), where a tiling is not square, or
    too few samples are given."""
    rows, cols = image_shape
    if rows != cols:
        raise ValueError(f"{rows} × {cols} images do not tile a square lattice")
    samples = np.asarray(samples)
    if samples.shape[0] < per_side**2 or samples.shape[1] < rows * cols:
        raise ValueError(
            f"{per_side}² tiles of {rows} × {cols} need that many samples of that many units, "
            f"got {samples.shape}"
        )
    images = samples[: per_side**2, : rows * cols].reshape(per_side, per_side, rows, cols)
    lattice = images.transpose(0, 2, 1, 3).reshape(per_side * rows, per_side * cols)
    return np.where(lattice > 0.5, 1, -1).astype(np.int8).ravel()


def filter_grid(
    weights: np.ndarray,
    image_shape: tuple[int, int],
    *,
    count: int = 64,
    scale: int | None = None,
) -> np.ndarray:
    """The first `count` hidden units' weights W[:, j] (image pixels only), each rescaled to
    [0, 1] by its own largest |w| (grey = 0, white = positive, black = negative)."""
    pixels = image_shape[0] * image_shape[1]
    filters = np.asarray(weights)[:pixels, :count].T  # (count, pixels)
    spread = np.abs(filters).max(axis=1, keepdims=True)
    spread[spread == 0] = 1.0
    return image_grid(0.5 + 0.5 * filters / spread, image_shape, columns=16, scale=scale)


def curves_figure(history: Sequence[Any]) -> go.Figure:
    """Per-epoch curves from EpochRecords: log-likelihoods (nats per example), reconstruction
    error and τ_int of the negative chains."""
    figure = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=(
            "log-likelihood (nats / example)",
            "reconstruction error (MSE / unit)",
            "τ_int of the negative chains (sweeps)",
        ),
    )
    epochs = [record.epoch for record in history]
    series = (
        ("pseudo-LL, train", [r.pseudo_ll_train for r in history], 1),
        ("pseudo-LL, test", [r.pseudo_ll_test for r in history], 1),
        ("exact LL, test", [r.exact_ll_test for r in history], 1),
        ("reconstruction", [r.reconstruction_error for r in history], 2),
        ("τ_int", [r.tau_int for r in history], 3),
    )
    for name, values, column in series:
        if any(value is not None for value in values):
            figure.add_trace(
                go.Scatter(x=epochs, y=values, name=name, mode="lines+markers"), 1, column
            )
    figure.update_xaxes(title_text="epoch")
    figure.update_layout(height=320, margin=MARGIN, legend={"orientation": "h", "y": -0.25})
    return figure


def confusion_figure(confusion: np.ndarray) -> go.Figure:
    """Rows: true label, columns: predicted label; counts."""
    confusion = np.asarray(confusion)
    labels = [str(i) for i in range(confusion.shape[0])]
    figure = go.Figure(
        go.Heatmap(
            z=confusion,
            x=labels,
            y=labels,
            colorscale="Blues",
            text=confusion,
            texttemplate="%{text}",
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    figure.update_layout(
        title="Confusion matrix (test set)",
        xaxis_title="predicted",
        yaxis_title="true",
        yaxis_autorange="reversed",
        height=380,
        margin=MARGIN,
    )
    return figure


def metrics_rows(history: Sequence[Any]) -> list[dict[str, Any]]:
    """One dict per epoch (for a table, a CSV or JSON)."""
    return [
        {
            "epoch": r.epoch,
            "pseudo_ll_train": r.pseudo_ll_train,
            "pseudo_ll_test": r.pseudo_ll_test,
            "exact_ll_test": r.exact_ll_test,
            "reconstruction_error": r.reconstruction_error,
            "tau_int": r.tau_int,
            "tau_int_reliable": r.tau_int_reliable,
            "swap_acceptance": r.swap_acceptance,
            "learning_rate": r.learning_rate,
            "pbit_updates": r.pbit_updates,
            "seconds": r.seconds,
        }
        for r in history
    ]
