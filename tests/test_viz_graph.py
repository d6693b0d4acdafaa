"""A graph's live-view figure stays small however dense the graph: past MAX_DRAWN_EDGES its
couplings are one image (the matrix J, with the spins above it), not one line per edge."""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from thermolab import problems
from thermolab.viz import ising as viz

# SK at the playground's largest n: drawn as lines, its figure was 9.5 MiB of JSON per frame.
MAX_DENSE_FRAME_BYTES = 200_000


def spins_and_positions(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < 0.5, -1, 1), rng.random((n, 2))


def image_indices(figure: go.Figure) -> np.ndarray:
    """The palette indices of the figure's one image."""
    (image,) = [trace for trace in figure.data if isinstance(trace, go.Image)]
    png = base64.b64decode(image.source.split(",", 1)[1])
    decoded = Image.open(io.BytesIO(png))
    assert decoded.mode == "P"
    return np.asarray(decoded)


def test_a_dense_graph_frame_is_bounded_in_size():
    for n in (100, 300, 500):
        model = problems.sherrington_kirkpatrick(n, seed=0)
        spins, positions = spins_and_positions(n)
        figure = viz.graph_figure(model, spins, positions)
        size = len(figure.to_json())
        assert size < MAX_DENSE_FRAME_BYTES, (n, size)
        assert not any(getattr(trace, "mode", None) == "lines" for trace in figure.data)


def test_the_dense_figure_shows_each_coupling_sign_and_each_spin():
    n = 60  # 1,770 couplings: below the edge limit, so drawn dense on purpose here
    model = problems.sherrington_kirkpatrick(n, seed=3)
    spins, positions = spins_and_positions(n, seed=4)
    indices = image_indices(viz.dense_graph_figure(model, spins, positions))
    strip_rows = indices.shape[0] - n - 1
    assert indices.shape == (strip_rows + 1 + n, n) and strip_rows >= 2
    assert (indices[:strip_rows] == np.where(spins > 0, 4, 3)).all()  # column j is spin j
    assert (indices[strip_rows] == 1).all()  # a blank row between them
    signs = np.sign(model.couplings.toarray())
    assert (indices[strip_rows + 1 :] == signs + 1).all()  # J_ij < 0: 0, zero: 1, > 0: 2
    assert (np.diag(indices[strip_rows + 1 :]) == 1).all()  # no self-coupling


def test_a_sparse_graph_still_draws_its_edges():
    model = problems.ring(20, coupling=-1.0)
    spins, positions = spins_and_positions(20)
    figure = viz.graph_figure(model, spins, positions)
    lines = [trace for trace in figure.data if trace.mode == "lines"]
    assert sum(np.isfinite(np.asarray(trace.x, dtype=float)).sum() for trace in lines) == 2 * 20
    assert not any(isinstance(trace, go.Image) for trace in figure.data)
