"""A graph's live view stays small however dense the graph: up to MAX_DRAWN_EDGES couplings it
is a network figure; past it the couplings are one image (the matrix J), drawn once, and the
spins a grid of n cells on the lattice canvas (tests/test_playground_page.py checks the frames)."""

from __future__ import annotations

import io
import math

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from thermolab import problems
from thermolab.viz import ising as viz


def spins_and_positions(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < 0.5, -1, 1), rng.random((n, 2))


def test_the_coupling_matrix_image_shows_each_coupling_sign():
    n = 60
    model = problems.sherrington_kirkpatrick(n, seed=3)
    decoded = Image.open(io.BytesIO(viz.coupling_matrix_png(model)))
    assert decoded.mode == "P" and decoded.size == (n, n)
    indices = np.asarray(decoded)
    signs = np.sign(model.couplings.toarray())
    assert (indices == signs + 1).all()  # J_ij < 0: 0, zero: 1, > 0: 2
    assert (np.diag(indices) == 1).all()  # no self-coupling
    palette = np.array(decoded.getpalette()[:9]).reshape(3, 3)
    np.testing.assert_array_equal(palette, viz.COUPLING_COLOURS)
    scaled = np.asarray(Image.open(io.BytesIO(viz.coupling_matrix_png(model, scale=3))))
    assert scaled.shape == (3 * n, 3 * n)  # each coupling a 3 × 3 square
    for row, column in ((0, 0), (2, 1), (1, 2)):
        assert (scaled[row::3, column::3] == indices).all()


def test_the_largest_coupling_matrix_is_a_few_bits_a_coupling():
    # SK's random signs: 2 bits a pixel before compression, n² / 4 bytes; PNG gets it below that.
    n = 500
    model = problems.sherrington_kirkpatrick(n, seed=0)
    assert viz.coupling_count(model) == n * (n - 1) // 2 and viz.is_dense(model)
    assert len(viz.coupling_matrix_png(model)) < n * n / 4


def test_a_dense_graph_is_not_drawn_as_lines():
    model = problems.sherrington_kirkpatrick(64, seed=0)  # 2,016 couplings: just past the limit
    assert viz.coupling_count(model) == 2016 > viz.MAX_DRAWN_EDGES and viz.is_dense(model)
    with pytest.raises(ValueError, match="too many to draw as lines"):
        viz.graph_figure(model, *spins_and_positions(64))
    assert not viz.is_dense(problems.sherrington_kirkpatrick(63, seed=0))  # 1,953 couplings


@pytest.mark.parametrize("n", [7, 64, 97, 300, 499, 500])
def test_a_spin_grid_holds_every_spin_with_no_empty_row(n):
    rows, columns = viz.spin_grid_shape(n)
    assert (rows - 1) * columns < n <= rows * columns
    assert columns / rows <= 4
    if n in (64, 300, 500):  # n has a factor pair no flatter than 4 : 1: the grid is full
        assert rows * columns == n and columns == min(
            c for c in range(math.isqrt(n), n + 1) if n % c == 0
        )


def test_a_sparse_graph_still_draws_its_edges():
    model = problems.ring(20, coupling=-1.0)
    spins, positions = spins_and_positions(20)
    figure = viz.graph_figure(model, spins, positions)
    lines = [trace for trace in figure.data if trace.mode == "lines"]
    assert sum(np.isfinite(np.asarray(trace.x, dtype=float)).sum() for trace in lines) == 2 * 20
    assert not any(isinstance(trace, go.Image) for trace in figure.data)
