"""Figures of the TinyGPT training page: loss, attention entropy, weight entropy and KL,
power and cumulative energy by kind, and the reliability diagram.

Inputs are what `thermolab.runs.RunStore` returns, keyed by run label ("baseline", "tsu"):
metric series `{name: (steps, values)}`, energy rows `{step, seconds, joules, kind, source}`
and a summary's `reliability` dict. Outputs are plotly figures. Every trace holds at most
`MAX_POINTS` points, so a long run's figure stays light enough to redraw every second.

Energy is never added across kinds (measured, estimated, projected): each kind gets its own
panel and axis, and every trace's name says its kind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = [
    "ENERGY_KINDS",
    "MAX_POINTS",
    "attention_entropy_figure",
    "bin_power",
    "cumulative_energy",
    "downsample",
    "energy_figure",
    "loss_figure",
    "power_figure",
    "reliability_figure",
    "smooth",
    "weight_entropy_figure",
]

Series = tuple[Sequence[float], Sequence[float]]
Metrics = Mapping[str, Series]

MAX_POINTS = 400  # per trace: the live view redraws every figure about once a second
ENERGY_KINDS = ("measured", "estimated", "projected")
RUN_COLOURS = {"baseline": "#1f77b4", "tsu": "#d62728"}
FALLBACK_COLOURS = ("#2ca02c", "#9467bd", "#8c564b", "#17becf")
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


def _colour(run: str, index: int) -> str:
    return RUN_COLOURS.get(run, FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)])


def downsample(
    x: Sequence[float], y: Sequence[float], max_points: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` evenly spaced points of (x, y), the first and last always kept."""
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) <= max_points:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(np.int64))
    return x[keep], y[keep]


def smooth(values: Sequence[float], weight: float = 0.9) -> np.ndarray:
    """Exponential moving average y_t = w·y_{t−1} + (1 − w)·x_t, started at the first value."""
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must lie in [0, 1), got {weight}")
    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    level = values[0] if len(values) else 0.0
    for index, value in enumerate(values):
        level = weight * level + (1 - weight) * value
        out[index] = level
    return out


def _line(
    x: Sequence[float],
    y: Sequence[float],
    name: str,
    max_points: int,
    mode: str = "lines",
    **style: Any,
) -> go.Scatter:
    """A named line of (x, y), downsampled to at most `max_points` points."""
    xs, ys = downsample(x, y, max_points)
    return go.Scatter(x=xs, y=ys, name=name, mode=mode, **style)


def _empty(figure: go.Figure, text: str) -> go.Figure:
    figure.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return figure


def loss_figure(
    runs: Mapping[str, Metrics], *, smoothing: float = 0.9, max_points: int = MAX_POINTS
) -> go.Figure:
    """Training loss (smoothed, raw faint behind it) and validation loss of every run, vs step.

    A TSU run's "val_loss" is its K-sample predictive mean; its "val_loss_mean_weights"
    (the loss of the mean weights) is drawn dotted when present.
    """
    figure = go.Figure()
    for index, (run, metrics) in enumerate(runs.items()):
        colour = _colour(run, index)
        if "train_loss" in metrics and len(metrics["train_loss"][0]):
            steps, losses = metrics["train_loss"]
            figure.add_trace(
                _line(
                    steps,
                    losses,
                    f"{run} train (raw)",
                    max_points,
                    opacity=0.25,
                    line={"color": colour, "width": 1},
                    showlegend=False,
                )
            )
            figure.add_trace(
                _line(
                    steps,
                    smooth(losses, smoothing),
                    f"{run} train (smoothed)",
                    max_points,
                    line={"color": colour, "width": 2},
                )
            )
        for name, label, dash in (
            ("val_loss", "val", "solid"),
            ("val_loss_mean_weights", "val (mean weights)", "dot"),
        ):
            if name in metrics and len(metrics[name][0]):
                figure.add_trace(
                    _line(
                        *metrics[name],
                        f"{run} {label}",
                        max_points,
                        "lines+markers",
                        line={"color": colour, "dash": dash, "width": 3},
                    )
                )
    figure.update_layout(
        title="Loss",
        xaxis_title="step",
        yaxis_title="cross-entropy (nats/token)",
        height=360,
        margin=MARGIN,
        legend={"orientation": "h", "y": -0.2},
    )
    return figure if figure.data else _empty(figure, "no steps recorded yet")


def _layer_names(metrics: Metrics) -> list[str]:
    names = [name for name in metrics if name.startswith("attention_entropy_l")]
    return sorted(names, key=lambda name: int(name.removeprefix("attention_entropy_l")))


def attention_entropy_figure(
    runs: Mapping[str, Metrics], *, max_points: int = MAX_POINTS
) -> go.Figure:
    """Mean attention entropy (over heads and query positions) of each layer, vs step."""
    figure = go.Figure()
    dashes = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
    for index, (run, metrics) in enumerate(runs.items()):
        for layer_index, name in enumerate(_layer_names(metrics)):
            layer = name.removeprefix("attention_entropy_l")
            figure.add_trace(
                _line(
                    *metrics[name],
                    f"{run} layer {layer}",
                    max_points,
                    "lines+markers",
                    line={"color": _colour(run, index), "dash": dashes[layer_index % len(dashes)]},
                )
            )
    figure.update_layout(
        title="Attention entropy per layer",
        xaxis_title="step",
        yaxis_title="entropy (nats)",
        height=320,
        margin=MARGIN,
        legend={"orientation": "h", "y": -0.25},
    )
    return figure if figure.data else _empty(figure, "no evaluation yet")


def weight_entropy_figure(tsu: Metrics, *, max_points: int = MAX_POINTS) -> go.Figure:
    """The TSU run's free-energy terms vs step: H[q] of its Gaussian weights (nats), the
    KL(q ‖ prior) per training token (nats/token) and the temperature T."""
    panels = (
        ("weight_entropy", "H[q] (nats)"),
        ("kl_per_token", "KL per token (nats)"),
        ("temperature", "T"),
    )
    figure = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    for row, (name, label) in enumerate(panels, start=1):
        if name in tsu and len(tsu[name][0]):
            figure.add_trace(
                _line(*tsu[name], f"tsu {label}", max_points, line={"color": _colour("tsu", 0)}),
                row,
                1,
            )
        figure.update_yaxes(title_text=label, row=row, col=1)
    figure.update_xaxes(title_text="step", row=3, col=1)
    figure.update_layout(
        title="TSU weights: entropy, KL and temperature",
        height=420,
        margin=MARGIN,
        showlegend=False,
    )
    return figure if figure.data else _empty(figure, "no TSU steps recorded yet")


def _step_end_times(rows: Sequence[Mapping[str, Any]]) -> dict[int, float]:
    """Each step's end on the run's own training clock (the sum of its steps' seconds).

    A step has one energy row per kind, all with the same seconds, so seconds are taken
    once per step, never once per row.
    """
    seconds = {int(row["step"]): float(row["seconds"]) for row in rows}
    steps = sorted(seconds)
    ends = np.cumsum([seconds[step] for step in steps])
    return dict(zip(steps, ends.tolist(), strict=True))


def cumulative_energy(
    rows: Sequence[Mapping[str, Any]],
) -> dict[str, tuple[np.ndarray, np.ndarray, list[str]]]:
    """{kind: (training time s, cumulative joules, sources)} for one run's energy rows.

    Joules are summed within a kind only; the sources are listed, never merged away.
    """
    ends = _step_end_times(rows)
    out = {}
    for kind in ENERGY_KINDS:
        chosen = sorted((row for row in rows if row["kind"] == kind), key=lambda r: r["step"])
        if chosen:
            times = np.array([ends[int(row["step"])] for row in chosen])
            joules = np.cumsum([float(row["joules"]) for row in chosen])
            sources = sorted({str(row["source"]) for row in chosen})
            out[kind] = (times, joules, sources)
    return out


def bin_power(
    times: np.ndarray, joules: np.ndarray, seconds: np.ndarray, max_points: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """Mean power (W) over at most `max_points` consecutive groups of steps.

    Each group's power is its joules ÷ its seconds (energy-weighted, not a mean of ratios),
    placed at the group's last step's end time.
    """
    n = len(times)
    if n == 0:
        return np.array([]), np.array([])
    groups = np.array_split(np.arange(n), min(n, max_points))
    x = np.array([times[group[-1]] for group in groups])
    watts = np.array(
        [
            joules[group].sum() / seconds[group].sum() if seconds[group].sum() > 0 else np.nan
            for group in groups
        ]
    )
    return x, watts


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _source_note(sources: list[str]) -> str:
    text = "; ".join(sources)
    return text if len(text) <= 120 else text[:117] + "…"


def _by_kind_rows(
    energy: Mapping[str, Sequence[Mapping[str, Any]]], kinds: Sequence[str]
) -> list[str]:
    present = {row["kind"] for rows in energy.values() for row in rows}
    return [kind for kind in kinds if kind in present]


def power_figure(
    energy: Mapping[str, Sequence[Mapping[str, Any]]], *, max_points: int = MAX_POINTS
) -> go.Figure:
    """Power (W) vs each run's own training time, one panel per kind (measured, estimated).

    Projected energy has no power on this machine's clock (the hardware it projects would
    run at its own speed), so it appears only in the energy figure.
    """
    kinds = _by_kind_rows(energy, ("measured", "estimated"))
    figure = make_subplots(
        rows=max(1, len(kinds)),
        cols=1,
        shared_xaxes=True,
        subplot_titles=[f"{kind} power" for kind in kinds],
    )
    for row, kind in enumerate(kinds, start=1):
        for index, (run, rows) in enumerate(energy.items()):
            ends = _step_end_times(rows)
            chosen = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["step"])
            if not chosen:
                continue
            times = np.array([ends[int(r["step"])] for r in chosen])
            x, watts = bin_power(
                times,
                np.array([float(r["joules"]) for r in chosen]),
                np.array([float(r["seconds"]) for r in chosen]),
                max_points,
            )
            sources = sorted({str(r["source"]) for r in chosen})
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=watts,
                    mode="lines",
                    name=f"{run} · {kind}",
                    line={"color": _colour(run, index)},
                    hovertemplate=f"%{{y:.3g}} W ({kind}: {_source_note(sources)})<extra></extra>",
                ),
                row,
                1,
            )
        figure.update_yaxes(title_text="W", row=row, col=1)
    figure.update_xaxes(
        title_text="training time of each run (s, its own steps)", row=max(1, len(kinds)), col=1
    )
    figure.update_layout(title="Power", height=200 + 140 * max(1, len(kinds)), margin=MARGIN)
    return figure if figure.data else _empty(figure, "no power readings (meter off?)")


def energy_figure(
    energy: Mapping[str, Sequence[Mapping[str, Any]]], *, max_points: int = MAX_POINTS
) -> go.Figure:
    """Cumulative energy (J) vs each run's own training time: one panel and axis per kind,
    one trace per (run, kind); kinds are never added together."""
    kinds = _by_kind_rows(energy, ENERGY_KINDS)
    figure = make_subplots(
        rows=max(1, len(kinds)),
        cols=1,
        shared_xaxes=True,
        subplot_titles=[f"{kind} energy" for kind in kinds],
    )
    for index, (run, rows) in enumerate(energy.items()):
        for kind, (times, joules, sources) in cumulative_energy(rows).items():
            xs, ys = downsample(times, joules, max_points)
            figure.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=f"{run} · {kind}",
                    line={
                        "color": _colour(run, index),
                        "dash": "dot" if kind == "projected" else "solid",
                    },
                    hovertemplate=f"%{{y:.4g}} J ({kind}: {_source_note(sources)})<extra></extra>",
                ),
                kinds.index(kind) + 1,
                1,
            )
    for row, kind in enumerate(kinds, start=1):
        figure.update_yaxes(title_text=f"J ({kind})", row=row, col=1)
    figure.update_xaxes(
        title_text="training time of each run (s, its own steps)", row=max(1, len(kinds)), col=1
    )
    figure.update_layout(
        title="Cumulative energy, by kind", height=200 + 140 * max(1, len(kinds)), margin=MARGIN
    )
    return figure if figure.data else _empty(figure, "no energy recorded (meter off?)")


def reliability_figure(
    reliability: Mapping[str, Mapping[str, Sequence[float | None]]],
    ece: Mapping[str, float | None] | None = None,
) -> go.Figure:
    """Accuracy vs confidence per bin for each run, with the diagonal of perfect calibration.

    reliability[run]: {"bin_edges", "confidence", "accuracy", "counts"}; empty bins (count 0,
    or a confidence that is None or NaN) are left out. Marker area grows with the bin's count.
    """
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="perfect calibration",
            line={"color": "grey", "dash": "dash"},
        )
    )
    for index, (run, bins) in enumerate(reliability.items()):
        points = [
            (c, a, n)
            for c, a, n in zip(bins["confidence"], bins["accuracy"], bins["counts"], strict=True)
            if n and _finite(c) and _finite(a)
        ]
        if not points:
            continue
        confidence, accuracy, counts = np.array(points, dtype=np.float64).T
        size = 6 + 14 * np.sqrt(counts / counts.max())
        label = run if not ece or ece.get(run) is None else f"{run} (ECE {ece[run]:.3f})"
        figure.add_trace(
            go.Scatter(
                x=confidence,
                y=accuracy,
                mode="lines+markers",
                name=label,
                marker={"size": size, "color": _colour(run, index)},
                customdata=counts,
                hovertemplate="confidence %{x:.3f}, accuracy %{y:.3f}, "
                "%{customdata:.0f} tokens<extra></extra>",
            )
        )
    figure.update_layout(
        title="Calibration (reliability diagram)",
        height=380,
        margin=MARGIN,
        xaxis={"title": "confidence (top-1 probability)", "range": [0, 1]},
        yaxis={"title": "accuracy", "range": [0, 1]},
    )
    return figure
