"""Samples at a temperature, in-painting and classification by free energy."""

from __future__ import annotations

import numpy as np
import pytest

from thermolab.backends import get_backend
from thermolab.ebm.inference import classify, inpaint, sample
from thermolab.ebm.model import RBM


def two_pattern_rbm() -> RBM:
    """One hidden unit picks one of two complementary patterns, pixels 0–3 on (h = 1) or
    pixels 4–7 on (h = 0), equally likely; cold samples are one pattern, hot ones noise."""
    sign = np.repeat([1.0, -1.0], 4)
    return RBM(6.0 * sign[:, None], -3.0 * sign, [0.0])


def test_samples_freeze_at_low_and_melt_at_high_temperature():
    rbm = two_pattern_rbm()
    backend = get_backend("numpy", seed=1)
    cold, cold_means = sample(rbm, backend, 200, n_sweeps=50, temperature=0.5)
    hot, _ = sample(rbm, backend, 200, n_sweeps=50, temperature=50.0)
    # Cold: each half is all on or all off; hot: units are near-independent coin flips.
    halves = np.stack([cold[:, :4].mean(1), cold[:, 4:].mean(1)])
    assert np.mean((halves == 0) | (halves == 1)) > 0.95
    assert abs(hot.mean() - 0.5) < 0.1
    assert cold_means.shape == (200, 8) and np.all((cold_means >= 0) & (cold_means <= 1))
    with pytest.raises(ValueError, match="temperature"):
        sample(rbm, backend, 4, temperature=0.0)


def test_inpainting_completes_the_pattern_it_was_given_part_of():
    rbm = two_pattern_rbm()
    image = np.array([1, 1, 0, 0, 0, 0, 0, 0], dtype=float)
    known = np.array([True, True, False, False, False, False, False, False])
    completions, means = inpaint(rbm, get_backend("numpy", seed=2), image, known, n_samples=64)
    assert np.all(completions[:, :2] == 1)
    assert means[2:4].min() > 0.9 and means[4:].max() < 0.3
    with pytest.raises(ValueError, match="mask"):
        inpaint(rbm, get_backend("numpy"), image, known[:3])


def test_classification_by_lowest_free_energy():
    # Visible = [2 pixels, 2 label units]; hidden unit c ties pixel c to label c.
    weights = np.array([[5.0, 0.0], [0.0, 5.0], [5.0, 0.0], [0.0, 5.0]])
    rbm = RBM(weights, np.zeros(4), -6.0 * np.ones(2))
    images = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    result = classify(rbm, images, np.array([0, 1, 1]), 2)
    assert list(result.predicted) == [0, 1, 0]
    assert result.accuracy == pytest.approx(2 / 3)
    np.testing.assert_array_equal(result.confusion, [[1, 0], [1, 1]])
