"""Figures of the QAOA page: the graph coloured by a cut, the p = 1 landscape with the
optimiser's path, approximation ratio vs p (against the published fixed-angle ratios), and the
histogram of sampled cuts.

Inputs are plain numpy arrays and numbers (no PennyLane objects), outputs plotly figures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

__all__ = [
    "graph_figure",
    "histogram_figure",
    "landscape_figure",
    "ratio_figure",
]

SIDE_COLOURS = ("#1f77b4", "#ff7f0e")  # spin −1, spin +1
CUT_COLOUR, KEPT_COLOUR = "#d62728", "#b0b0b0"


def _layout(n_nodes: int, edges: np.ndarray, seed: int) -> np.ndarray:
    """Node positions (n, 2): a circle for a ring-like graph, else a seeded spring layout."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(n_nodes))
    graph.add_edges_from(map(tuple, np.asarray(edges).tolist()))
    if all(degree == 2 for _, degree in graph.degree()) and nx.is_connected(graph):
        order = list(nx.dfs_preorder_nodes(graph, 0))
        angle = 2 * np.pi * np.arange(n_nodes) / n_nodes
        positions = np.zeros((n_nodes, 2))
        positions[order] = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        return positions
    layout = nx.spring_layout(graph, seed=seed)
    return np.array([layout[i] for i in range(n_nodes)])


def graph_figure(
    n_nodes: int,
    edges: np.ndarray,
    weights: np.ndarray | None = None,
    state: np.ndarray | None = None,
    title: str = "",
    seed: int = 0,
) -> go.Figure:
    """The graph (edges (m, 2)); with `state` (n,) of ±1, nodes coloured by side and cut edges
    drawn red and solid, uncut edges grey and dotted."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    weights = np.ones(len(edges)) if weights is None else np.asarray(weights, dtype=np.float64)
    xy = _layout(n_nodes, edges, seed)
    figure = go.Figure()
    cut = (
        np.zeros(len(edges), dtype=bool)
        if state is None
        else np.asarray(state)[edges[:, 0]] != np.asarray(state)[edges[:, 1]]
    )
    for is_cut, colour, dash, name in (
        (True, CUT_COLOUR, "solid", "cut edge"),
        (False, KEPT_COLOUR, "dot" if state is not None else "solid", "uncut edge"),
    ):
        chosen = edges[cut == is_cut]
        if not len(chosen):
            continue
        xs = np.column_stack([xy[chosen[:, 0], 0], xy[chosen[:, 1], 0], np.full(len(chosen), None)])
        ys = np.column_stack([xy[chosen[:, 0], 1], xy[chosen[:, 1], 1], np.full(len(chosen), None)])
        figure.add_trace(
            go.Scatter(
                x=xs.ravel(),
                y=ys.ravel(),
                mode="lines",
                line={"color": colour, "width": 2.5 if is_cut else 1.5, "dash": dash},
                name=name if state is not None else "edge",
                hoverinfo="skip",
            )
        )
    if not np.all(weights == 1) and len(edges):
        middle = (xy[edges[:, 0]] + xy[edges[:, 1]]) / 2
        figure.add_trace(
            go.Scatter(
                x=middle[:, 0],
                y=middle[:, 1],
                mode="text",
                text=[f"{w:g}" for w in weights],
                name="weight",
                showlegend=False,
            )
        )
    colours = (
        [SIDE_COLOURS[0]] * n_nodes
        if state is None
        else [SIDE_COLOURS[int(s > 0)] for s in np.asarray(state)]
    )
    figure.add_trace(
        go.Scatter(
            x=xy[:, 0],
            y=xy[:, 1],
            mode="markers+text",
            marker={"size": 22, "color": colours, "line": {"color": "white", "width": 1}},
            text=[str(i) for i in range(n_nodes)],
            textfont={"color": "white"},
            name="node (colour = side)",
            hovertemplate="node %{text}<extra></extra>",
        )
    )
    figure.update_layout(
        title=title,
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        height=420,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h"},
    )
    return figure


def landscape_figure(
    gammas: np.ndarray,
    betas: np.ndarray,
    values: np.ndarray,
    path: np.ndarray | None = None,
    label: str = "expected cut",
    method: str = "",
) -> go.Figure:
    """Heatmap of values (len γ, len β) over γ (x) and β (y), with the optimiser's (γ, β) path."""
    figure = go.Figure(
        go.Heatmap(
            x=np.asarray(gammas),
            y=np.asarray(betas),
            z=np.asarray(values).T,
            colorscale="Viridis",
            colorbar={"title": label},
            hovertemplate="γ %{x:.3f}<br>β %{y:.3f}<br>" + label + " %{z:.4f}<extra></extra>",
        )
    )
    if path is not None and len(path):
        path = np.asarray(path)
        figure.add_trace(
            go.Scatter(
                x=path[:, 0],
                y=path[:, 1],
                mode="lines+markers",
                line={"color": "#ff4b4b", "width": 2},
                marker={"size": 5, "color": "#ff4b4b", "line": {"color": "white", "width": 1}},
                name="optimiser path",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=[path[-1, 0]],
                y=[path[-1, 1]],
                mode="markers",
                marker={
                    "size": 14,
                    "color": "white",
                    "symbol": "star",
                    "line": {"color": "black", "width": 1},
                },
                name="end",
            )
        )
    figure.update_layout(
        title=f"p = 1 landscape ({method})" if method else "p = 1 landscape",
        xaxis_title="γ",
        yaxis_title="β",
        height=450,
        margin={"l": 50, "r": 10, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def ratio_figure(
    layers: Sequence[int],
    ratios: Sequence[float],
    baselines: dict[str, float] | None = None,
    fixed_angle_ratios: dict[int, float] | None = None,
    published_ratios: dict[int, float] | None = None,
) -> go.Figure:
    """Approximation ratio of QAOA vs p, with each baseline's ratio as a horizontal line.

    fixed_angle_ratios: {p: ratio on this instance at the published fixed angles};
    published_ratios: {p: the published fixed-angle ratio} (3-regular MaxCut only).
    """
    figure = go.Figure(
        go.Scatter(x=list(layers), y=list(ratios), mode="lines+markers", name="QAOA (expectation)")
    )
    if fixed_angle_ratios:
        figure.add_trace(
            go.Scatter(
                x=list(fixed_angle_ratios),
                y=list(fixed_angle_ratios.values()),
                mode="lines+markers",
                marker={"symbol": "diamond"},
                name="fixed angles, this graph",
            )
        )
    if published_ratios:
        figure.add_trace(
            go.Scatter(
                x=list(published_ratios),
                y=list(published_ratios.values()),
                mode="lines+markers",
                line={"dash": "dot", "color": "black"},
                marker={"symbol": "x"},
                name="fixed angles, published (Wurtz & Lykov)",
            )
        )
    dashes = ("dash", "dot", "dashdot", "longdash")
    grouped: dict[float, list[str]] = {}  # methods with the same ratio share one line
    for name, ratio in (baselines or {}).items():
        grouped.setdefault(round(float(ratio), 6), []).append(name)
    for k, (ratio, names) in enumerate(grouped.items()):
        figure.add_hline(
            y=ratio,
            line={"dash": dashes[k % len(dashes)], "color": "grey"},
            annotation_text=f"{', '.join(names)}: {ratio:.3f}",
            annotation_position="bottom right",
        )
    figure.update_layout(
        title="Approximation ratio vs p",
        xaxis={"title": "p (layers)", "dtick": 1},
        yaxis={"title": "approximation ratio", "range": [0, 1.05]},
        legend={"orientation": "h", "y": -0.2},
        height=420,
        margin={"l": 50, "r": 10, "t": 40, "b": 40},
    )
    return figure


def histogram_figure(
    values: np.ndarray, optimum: float | None = None, label: str = "cut", title: str = ""
) -> go.Figure:
    """Bar chart of how often each value (cut or energy) was measured; the optimum in red."""
    values = np.round(np.asarray(values, dtype=np.float64), 9)
    distinct, counts = np.unique(values, return_counts=True)
    colours = [
        "#d62728" if optimum is not None and abs(v - optimum) < 1e-6 else "#1f77b4"
        for v in distinct
    ]
    figure = go.Figure(
        go.Bar(
            x=distinct,
            y=counts / counts.sum(),
            marker_color=colours,
            hovertemplate=label + " %{x}<br>frequency %{y:.3f}<extra></extra>",
        )
    )
    figure.update_layout(
        title=title or f"Measured {label}s ({int(counts.sum())} shots; red = optimal)",
        xaxis_title=label,
        yaxis_title="frequency",
        height=380,
        margin={"l": 50, "r": 10, "t": 40, "b": 40},
    )
    return figure
