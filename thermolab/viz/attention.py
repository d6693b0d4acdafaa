"""Figures of the attention-temperature explorer (plotly), from plain numpy results."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# A log axis labelled at decades only (10⁻¹, 10⁰, 10¹), with unlabelled minor ticks between:
# Plotly's own choice on an axis spanning a decade or two labels 2 … 9 of each decade too, and
# those labels run into each other.
LOG_DECADES: dict[str, Any] = {
    "type": "log",
    "dtick": 1,
    "exponentformat": "power",
    "minor": {"ticks": "outside", "ticklen": 3, "showgrid": False},
}
ESTIMATOR_COLOURS = {
    "straight-through": "#d62728",
    "gumbel-softmax": "#1f77b4",
    "reinforce": "#2ca02c",
}

__all__ = ["entropy_figure", "estimator_figure", "heatmaps_figure", "mc_error_figure"]


def _log_axis_marker(figure: go.Figure, x: float, label: str) -> None:
    """A red vertical line at x on a log x axis, labelled at the top.

    Shapes on a log axis take data values but annotations take log10 values, so the label is
    placed separately (plotly's add_vline annotation would land at 10^x).
    """
    figure.add_vline(x=x, line_color="red")
    figure.add_annotation(
        x=math.log10(x),
        xref="x",
        y=1.0,
        yref="paper",
        text=label,
        showarrow=False,
        font={"color": "red"},
        xanchor="left",
        yanchor="bottom",
    )


def heatmaps_figure(
    weights: Mapping[str, np.ndarray],
    titles: Mapping[str, str],
    tokens: Sequence[str],
    temperature: float,
) -> go.Figure:
    """Side-by-side heatmaps (query rows × key columns), one per mode, one colour scale 0–1."""
    modes = list(weights)
    figure = make_subplots(
        rows=1,
        cols=len(modes),
        subplot_titles=[titles.get(mode, mode) for mode in modes],
        horizontal_spacing=0.03,
        shared_yaxes=True,
    )
    labels = [f"{i}:{t}" for i, t in enumerate(tokens)]
    for column, mode in enumerate(modes, start=1):
        figure.add_trace(
            go.Heatmap(
                z=np.asarray(weights[mode]),
                x=labels,
                y=labels,
                zmin=0.0,
                zmax=1.0,
                colorscale="Viridis",
                showscale=column == len(modes),
                colorbar={"title": "weight"},
                hovertemplate="query %{y}<br>key %{x}<br>weight %{z:.3f}<extra>"
                + mode
                + "</extra>",
            ),
            row=1,
            col=column,
        )
        figure.update_xaxes(title_text="key", tickangle=-60, row=1, col=column)
    figure.update_yaxes(autorange="reversed", title_text="query", row=1, col=1)
    figure.update_yaxes(autorange="reversed")
    figure.update_layout(
        height=360,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        title={"text": f"Attention weights at T = {temperature:.3g}", "x": 0.0},
    )
    return figure


def entropy_figure(
    temperatures: np.ndarray,
    entropies: np.ndarray,
    current_temperature: float,
    n_keys: int,
    tokens: Sequence[str] | None = None,
) -> go.Figure:
    """Entropy of each row (thin) and their mean (thick) vs T on a log axis, the current T
    marked, and the two limits: 0 (argmax, T → 0) and log n (uniform, T → ∞)."""
    temperatures = np.asarray(temperatures)
    entropies = np.asarray(entropies)
    figure = go.Figure()
    for row in range(entropies.shape[1]):
        label = f"row {row}" if tokens is None else f"row {row}: {tokens[row]}"
        figure.add_trace(
            go.Scatter(
                x=temperatures,
                y=entropies[:, row],
                mode="lines",
                line={"width": 1},
                opacity=0.35,
                name=label,
                showlegend=False,
            )
        )
    figure.add_trace(
        go.Scatter(
            x=temperatures,
            y=entropies.mean(axis=1),
            mode="lines",
            line={"width": 3, "color": "black"},
            name="mean over rows",
        )
    )
    figure.add_hline(
        y=math.log(n_keys),
        line_dash="dash",
        annotation_text=f"T → ∞: uniform, log n = {math.log(n_keys):.2f}",
        annotation_position="top left",
    )
    figure.add_hline(
        y=0.0,
        line_dash="dash",
        annotation_text="T → 0: argmax, 0",
        annotation_position="bottom right",
    )
    _log_axis_marker(figure, current_temperature, f"T = {current_temperature:.3g}")
    figure.update_xaxes(title_text="temperature T", **LOG_DECADES)
    figure.update_yaxes(title_text="entropy (nats)")
    figure.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure


def mc_error_figure(
    curve: Mapping[str, np.ndarray], current_samples: int | None = None
) -> go.Figure:
    """RMS error of the K-sample weights vs K, log-log, with the exact 1/√K reference line."""
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=curve["samples"],
            y=curve["rms_error"],
            mode="lines+markers",
            name="measured RMS error",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=curve["samples"],
            y=curve["reference"],
            mode="lines",
            line={"dash": "dash"},
            name="√(mean w(1−w) / K) ∝ 1/√K",
        )
    )
    if current_samples is not None:
        _log_axis_marker(figure, current_samples, f"K = {current_samples}")
    figure.update_xaxes(title_text="samples per row K", **LOG_DECADES)
    figure.update_yaxes(title_text="RMS error of weights", **LOG_DECADES)
    figure.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure


def estimator_figure(rows: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Bias (with ±2 SE bars) and variance of each gradient estimator vs T, log-log."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("bias ‖E[ĝ] − ∇‖", "variance tr Cov[ĝ]"))
    names = list(dict.fromkeys(row["estimator"] for row in rows))
    for name in names:
        mine = [row for row in rows if row["estimator"] == name]
        temperatures = [row["temperature"] for row in mine]
        colour = ESTIMATOR_COLOURS.get(name)
        figure.add_trace(
            go.Scatter(
                x=temperatures,
                y=[row["bias"] for row in mine],
                error_y={"type": "data", "array": [2 * row["bias_standard_error"] for row in mine]},
                mode="lines+markers",
                name=name,
                line={"color": colour},
                legendgroup=name,
            ),
            row=1,
            col=1,
        )
        figure.add_trace(
            go.Scatter(
                x=temperatures,
                y=[row["variance"] for row in mine],
                mode="lines+markers",
                name=name,
                line={"color": colour},
                legendgroup=name,
                showlegend=False,
            ),
            row=1,
            col=2,
        )
    figure.update_xaxes(title_text="temperature T", **LOG_DECADES)
    figure.update_yaxes(**LOG_DECADES)
    figure.update_layout(height=380, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure
