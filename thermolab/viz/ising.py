"""Figures and images for the Ising / p-bit playground: pure functions, results in, plots out."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from thermolab import exact
from thermolab.measure import ExactCheck, SweepPoint
from thermolab.problems import IsingModel, square_lattice

__all__ = [
    "COUPLING_COLOURS",
    "MAX_DRAWN_EDGES",
    "SPIN_COLOURS",
    "anneal_figure",
    "coupling_count",
    "coupling_matrix_png",
    "distribution_figure",
    "graph_figure",
    "graph_layout",
    "is_dense",
    "kl_figure",
    "lattice_image",
    "lattice_png",
    "pack_spins",
    "spin_grid_shape",
    "sweep_figure",
    "trace_figure",
]

# RGB of spin −1 and spin +1 (a colour-blind-safe blue / orange pair).
SPIN_COLOURS = np.array([[33, 102, 172], [244, 165, 130]], dtype=np.uint8)
_HEX = ("#2166ac", "#f4a582")
TRACE_POINTS = 500  # points per curve in the live trace figure
# A graph with more couplings than this is drawn without its edges, which would be most of its
# figure (SK at n = 500 has 124,750: as lines, a figure of 9.5 MiB of JSON, sent with every live
# frame); its couplings are drawn once as the coupling matrix, an image of n × n pixels, and
# its spins stream as a grid of n cells, as a lattice's do (`spin_grid_shape`).
MAX_DRAWN_EDGES = 2_000
# RGB of a coupling J_ij < 0 (antiferromagnetic), = 0 (none), > 0 (ferromagnetic).
COUPLING_COLOURS = np.array([[200, 60, 60], [255, 255, 255], [120, 120, 120]], dtype=np.uint8)


def lattice_image(spins: np.ndarray, length: int) -> np.ndarray:
    """Spins (n,) or (L·L,) of ±1 → RGB image (L, L, 3) uint8, one pixel per spin."""
    return SPIN_COLOURS[(np.asarray(spins).reshape(length, length) > 0).astype(np.intp)]


def pack_spins(spins: np.ndarray) -> bytes:
    """Spins (n,) of ±1 → ceil(n / 8) bytes, spin k in bit 7 − k mod 8 of byte k // 8 (1 = up).

    The lattice canvas draws from these: L² bits per frame instead of an image.
    """
    return np.packbits(np.asarray(spins).ravel() > 0).tobytes()


def lattice_png(spins: np.ndarray, length: int, scale: int = 1) -> bytes:
    """PNG bytes of the lattice, each spin `scale` × `scale` pixels (for export)."""
    from PIL import Image

    image = lattice_image(spins, length)
    if scale > 1:
        image = image.repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def trace_figure(
    energies: Sequence[float],
    magnetizations: Sequence[float],
    onsager_energy: float | None = None,
    onsager_magnetization: float | None = None,
    finite_energy: float | None = None,
) -> go.Figure:
    """Energy per spin and |m| per spin against sweep, with Onsager's values (L = ∞) as dashed
    lines and the exact energy per spin of this finite lattice (`finite_energy`) dotted.

    At most `TRACE_POINTS` points per curve (every k-th sweep), drawn as SVG: the live view
    redraws this figure while it animates, and a heavier figure costs the browser lattice frames.
    Built from plain dicts in one go (two stacked panels sharing the sweep axis): plotly's
    `make_subplots` and `add_hline` take about 20 ms per figure, this about 3 ms, which every
    session drawing at once pays on the server.
    """
    stride = max(1, -(-len(energies) // TRACE_POINTS))
    sweeps = np.arange(len(energies))[::stride]
    magnitudes = np.abs(np.asarray(magnetizations))[::stride]
    panels = (("x", "y", np.asarray(energies)[::stride], "E / n"), ("x2", "y2", magnitudes, "|m|"))
    # (panel, value, dash, where the label sits, label)
    references = (
        ("x", onsager_energy, "dash", "left", "Onsager E/n (L = ∞, exact)"),
        ("x", finite_energy, "dot", "right", "E/n of this L (exact)"),
        ("x2", onsager_magnetization, "dash", "left", "Onsager |m| (L = ∞, exact)"),
    )
    traces, shapes, annotations = [], [], []
    for x_axis, y_axis, values, name in panels:
        traces.append(go.Scatter(x=sweeps, y=values, name=name, xaxis=x_axis, yaxis=y_axis))
    for x_axis, reference, dash, side, text in references:
        if reference is not None and np.isfinite(reference):
            where = {"xref": f"{x_axis} domain", "yref": x_axis.replace("x", "y")}
            shapes.append(
                {"type": "line", "x0": 0, "x1": 1, "y0": reference, "y1": reference, **where,
                 "line": {"dash": dash, "color": "black"}}
            )  # fmt: skip
            annotations.append(
                {"text": text, "x": 0 if side == "left" else 1, "y": reference, **where,
                 "xanchor": side, "yanchor": "bottom", "showarrow": False}
            )  # fmt: skip
    layout = {
        "xaxis": {"anchor": "y", "domain": [0, 1], "matches": "x2", "showticklabels": False},
        "yaxis": {"anchor": "x", "domain": [0.54, 1], "title": {"text": "energy per spin"}},
        "xaxis2": {"anchor": "y2", "domain": [0, 1], "title": {"text": "sweep (recent history)"}},
        "yaxis2": {
            "anchor": "x2",
            "domain": [0, 0.46],
            "range": [0, 1.02],
            "title": {"text": "|m| per spin"},
        },
        "shapes": shapes,
        "annotations": annotations,
        "height": 380,
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "showlegend": False,
    }
    return go.Figure(data=traces, layout=layout)


def anneal_figure(
    energies: Sequence[float], temperatures: Sequence[float], ground_energy: float | None
) -> go.Figure:
    """Energy per spin and temperature along an annealing schedule, and the exact ground."""
    sweeps = np.arange(len(energies))
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Scattergl(x=sweeps, y=np.asarray(energies), name="E / n"))
    figure.add_trace(
        go.Scattergl(x=sweeps, y=np.asarray(temperatures), name="T", line_dash="dot"),
        secondary_y=True,
    )
    if ground_energy is not None:
        figure.add_hline(
            y=ground_energy, line_dash="dash", line_color="black",
            annotation_text="exact ground energy / n",
        )  # fmt: skip
    figure.update_yaxes(title_text="energy per spin", secondary_y=False)
    figure.update_yaxes(title_text="temperature T", secondary_y=True)
    figure.update_xaxes(title_text="sweep")
    figure.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10))
    return figure


def graph_layout(model: IsingModel, seed: int = 0) -> np.ndarray:
    """2-D positions of the spins for drawing a graph: (n, 2), networkx spring layout."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(model.n_spins))
    pairs, _ = model.edges()
    graph.add_edges_from(map(tuple, pairs))
    layout = nx.spring_layout(graph, seed=seed)
    return np.array([layout[i] for i in range(model.n_spins)])


def graph_figure(model: IsingModel, spins: np.ndarray, positions: np.ndarray) -> go.Figure:
    """The graph with nodes coloured by spin; ferromagnetic bonds grey, antiferro red.

    spins: (n,) of ±1. positions: (n, 2), e.g. from `graph_layout`. ValueError for a graph of
    more than MAX_DRAWN_EDGES couplings (`is_dense`): draw its `coupling_matrix_png` once and
    its spins on a `spin_grid_shape` grid instead.
    """
    if is_dense(model):
        raise ValueError(
            f"{coupling_count(model):,} couplings are too many to draw as lines (at most "
            f"{MAX_DRAWN_EDGES:,}): draw the coupling matrix and a grid of spins"
        )
    pairs, couplings = model.edges()
    figure = go.Figure()
    for sign, colour in ((1, "rgba(120,120,120,0.5)"), (-1, "rgba(200,60,60,0.45)")):
        chosen = pairs[np.sign(couplings) == sign]
        xs = np.column_stack([positions[chosen[:, 0], 0], positions[chosen[:, 1], 0]])
        ys = np.column_stack([positions[chosen[:, 0], 1], positions[chosen[:, 1], 1]])
        nan = np.full((len(chosen), 1), np.nan)
        figure.add_trace(
            go.Scattergl(
                x=np.hstack([xs, nan]).ravel(), y=np.hstack([ys, nan]).ravel(), mode="lines",
                line=dict(color=colour, width=1), hoverinfo="skip", showlegend=False,
            )
        )  # fmt: skip
    up = np.asarray(spins) > 0
    figure.add_trace(
        go.Scattergl(
            x=positions[:, 0], y=positions[:, 1], mode="markers",
            marker=dict(size=9, color=np.where(up, _HEX[1], _HEX[0]), line=dict(width=0.5)),
            text=[f"spin {i}: {'+1' if u else '−1'}" for i, u in enumerate(up)],
            hoverinfo="text", showlegend=False,
        )
    )  # fmt: skip
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, scaleanchor="x")
    figure.update_layout(height=420, margin=dict(l=0, r=0, t=0, b=0))
    return figure


def coupling_count(model: IsingModel) -> int:
    """The number of coupled pairs i < j (nonzero J_ij off the diagonal)."""
    couplings = model.couplings
    return (couplings.nnz - int(np.count_nonzero(couplings.diagonal()))) // 2


def is_dense(model: IsingModel) -> bool:
    """Whether the graph has more than MAX_DRAWN_EDGES couplings: too many to draw as lines."""
    return coupling_count(model) > MAX_DRAWN_EDGES


def spin_grid_shape(n_spins: int) -> tuple[int, int]:
    """(rows, columns) of a grid that shows n spins read like text, spin k at row
    k // columns, column k % columns: the factor pair of n nearest a square (20 × 25 for 500)
    where it is no flatter than 4 columns a row, else ceil(√n) columns with the last row part
    filled (22 × 23 for 499, its last 7 cells empty)."""
    rows = next(d for d in range(math.isqrt(n_spins), 0, -1) if n_spins % d == 0)
    if 4 * rows * rows >= n_spins:  # columns / rows = n / rows² ≤ 4
        return rows, n_spins // rows
    columns = math.ceil(math.sqrt(n_spins))
    return -(-n_spins // columns), columns


def coupling_matrix_png(model: IsingModel, scale: int = 1) -> bytes:
    """The coupling matrix as a PNG of n·scale × n·scale pixels, each J_ij a square of scale ×
    scale at row i, column j, coloured by its sign: red J < 0 (antiferromagnetic), white 0 (no
    coupling), grey J > 0 (ferromagnetic). Two bits a pixel before compression: about 44 kB
    for SK's random signs at n = 500."""
    from PIL import Image

    signs = np.sign(model.couplings.toarray()).astype(np.int8) + 1  # 0: J < 0, 1: 0, 2: J > 0
    if scale > 1:
        signs = signs.repeat(scale, axis=0).repeat(scale, axis=1)
    image = Image.fromarray(signs.astype(np.uint8), mode="P")
    image.putpalette(COUPLING_COLOURS.ravel().tolist())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


#: One colour per lattice size in `sweep_figure` (plotly's default sequence).
SWEEP_COLOURS = plotly.colors.qualitative.Plotly
_SWEEP_METRICS = {
    "energy": ("energy per spin", exact.onsager_energy_per_spin),
    "abs_magnetization": ("|m| per spin", exact.onsager_magnetization),
    "heat_capacity": ("heat capacity per spin", exact.onsager_specific_heat),
    "susceptibility": ("susceptibility per spin", None),
    "binder": ("Binder cumulant U4", None),
}


#: Sweep observables with an exact finite-L curve: the `exact.LatticeReference` field.
_FINITE_LATTICE_CURVES = {"energy": "exact_energy_per_spin", "heat_capacity": "exact_heat_capacity"}


def sweep_figure(points: Sequence[SweepPoint], metric: str, coupling: float = 1.0) -> go.Figure:
    """One observable against T for each lattice size, with error bars (±1 standard error),
    Onsager's curve where it exists, and T_c marked.

    points: from `thermolab.measure.temperature_sweep` (periodic L × L lattices, coupling J,
    h = 0). For the energy and the heat capacity each L also gets its exact finite-lattice
    curve (Kaufman), dotted in the colour of its points, wherever `exact.lattice_reference`
    applies.
    """
    label, onsager = _SWEEP_METRICS[metric]
    figure = go.Figure()
    temperatures = [p.temperature for p in points]
    grid = np.linspace(min(temperatures), max(temperatures), 400) if points else np.array([])
    for index, length in enumerate(sorted({point.length for point in points})):
        colour = SWEEP_COLOURS[index % len(SWEEP_COLOURS)]
        chosen = sorted((p for p in points if p.length == length), key=lambda p: p.temperature)
        figure.add_trace(
            go.Scatter(
                x=[p.temperature for p in chosen], y=[getattr(p, metric) for p in chosen],
                error_y=dict(type="data", array=[getattr(p, f"{metric}_error") for p in chosen]),
                mode="lines+markers", name=f"L = {length}", line=dict(color=colour),
            )
        )  # fmt: skip
        field = _FINITE_LATTICE_CURVES.get(metric)
        if field is None:
            continue
        reference = exact.lattice_reference(square_lattice(length, coupling), grid)
        if reference is not None:
            figure.add_trace(
                go.Scatter(
                    x=grid, y=getattr(reference, field), mode="lines",
                    name=f"exact, L = {length}", line=dict(color=colour, dash="dot"),
                )
            )  # fmt: skip
    if points and onsager is not None and coupling > 0:
        figure.add_trace(
            go.Scatter(
                x=grid, y=onsager(grid, coupling), name="Onsager, L = ∞ (exact)",
                line=dict(color="black", dash="dash"),
            )
        )  # fmt: skip
    if coupling > 0:
        figure.add_vline(x=exact.critical_temperature(coupling), line_dash="dot",
                         annotation_text="T_c")  # fmt: skip
    figure.update_layout(
        xaxis_title="temperature T", yaxis_title=label, height=360,
        margin=dict(l=10, r=10, t=30, b=10),
    )  # fmt: skip
    return figure


def distribution_figure(check: ExactCheck, top: int = 24) -> go.Figure:
    """Exact vs sampled probabilities of the `top` most probable states."""
    order = np.argsort(check.probabilities)[::-1][:top]
    labels = [str(int(k)) for k in order]
    empirical = check.counts[order] / max(check.counts.sum(), 1)
    figure = go.Figure(
        [
            go.Bar(x=labels, y=check.probabilities[order], name="exact (enumeration)"),
            go.Bar(x=labels, y=empirical, name="sampled"),
        ]
    )
    figure.update_layout(
        barmode="group", xaxis_title="state number (bit i = spin i up)",
        yaxis_title="probability", height=340, margin=dict(l=10, r=10, t=30, b=10),
    )  # fmt: skip
    return figure


def kl_figure(check: ExactCheck) -> go.Figure:
    """KL(sampled ‖ exact) against sweeps, log-log, with the finite-sample floor."""
    figure = go.Figure(
        go.Scatter(x=check.sweep_counts, y=check.kl, mode="lines+markers", name="KL")
    )
    if check.kl_floor > 0:
        figure.add_hline(
            y=check.kl_floor, line_dash="dash",
            annotation_text="expected KL of a perfect sampler with this many samples",
        )  # fmt: skip
    figure.update_xaxes(type="log", title_text="sweeps per chain")
    figure.update_yaxes(type="log", title_text="KL(sampled ‖ exact) / nats")
    figure.update_layout(height=340, margin=dict(l=10, r=10, t=30, b=10))
    return figure
