"""Image grids and figures of the Boltzmann-machine lab."""

from __future__ import annotations

import numpy as np
import pytest

from thermolab.ebm.training import EpochRecord
from thermolab.viz import ebm as viz


def test_image_grid_tiles_and_scales():
    values = np.zeros((3, 4))
    values[1] = 1.0
    image = viz.image_grid(values, (2, 2), columns=2, scale=3)
    # 2 columns × (2 + 1 gap) + 1 = 7 cells wide, 2 rows × 3 + 1 = 7 high, each 3 × 3 pixels.
    assert image.shape == (21, 21) and image.dtype == np.uint8
    assert image[3, 3] == 0  # first image, black
    assert image[3, 12] == 255  # second image, white
    assert image[0, 0] == int(255 * 0.35)  # the gap colour


def test_filter_grid_maps_zero_to_grey_and_sign_to_black_or_white():
    weights = np.zeros((4, 2))
    weights[0, 0], weights[1, 0] = 2.0, -1.0
    image = viz.filter_grid(weights, (2, 2), scale=1)
    assert image[1, 1] == 255 and image[1, 2] == int(255 * 0.25)
    assert image[1, 4] == 127  # the all-zero filter is mid grey


def test_figures_draw_what_was_measured():
    records = [
        EpochRecord(e, -20.0 - e, -21.0, None, 0.1, 1.5, True, None, 0.01, 100 * e, 1.0 * e)
        for e in (1, 2)
    ]
    figure = viz.curves_figure(records)
    names = {trace.name for trace in figure.data}
    assert "exact LL, test" not in names and {"pseudo-LL, train", "τ_int"} <= names
    confusion = viz.confusion_figure(np.array([[3, 1], [0, 4]]))
    assert confusion.data[0].z.tolist() == [[3, 1], [0, 4]]
    rows = viz.metrics_rows(records)
    assert rows[1]["epoch"] == 2 and rows[1]["pbit_updates"] == 200


def test_sample_tiles_lay_chains_out_row_by_row_as_spins():
    rng = np.random.default_rng(0)
    samples = rng.integers(0, 2, (5, 4 + 3))  # 2 × 2 images and 3 label units
    spins = viz.sample_tiles(samples, (2, 2), 2).reshape(4, 4)
    assert set(np.unique(spins)) <= {-1, 1}
    for k in range(4):  # the fifth sample is not shown
        i, j = divmod(k, 2)
        tile = spins[2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
        np.testing.assert_array_equal(tile, 2 * samples[k, :4].reshape(2, 2) - 1)
    with pytest.raises(ValueError, match="square"):
        viz.sample_tiles(samples, (1, 4), 2)
    with pytest.raises(ValueError, match="samples"):
        viz.sample_tiles(samples[:3], (2, 2), 2)
