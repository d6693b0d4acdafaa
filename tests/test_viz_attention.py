"""The attention explorer's log-scale plots label decades only (labels 2 … 9 of each decade ran
into each other on axes spanning a decade or two)."""

from __future__ import annotations

import numpy as np

from thermolab.viz import attention as viz


def log_axes(figure) -> list:
    layout = figure.layout
    axes = [layout[name] for name in layout if name.startswith(("xaxis", "yaxis"))]
    return [axis for axis in axes if axis.type == "log"]


def test_every_log_axis_is_labelled_at_decades_only():
    temperatures = np.geomspace(0.1, 10.0, 9)
    rows = [
        {
            "estimator": name,
            "temperature": float(t),
            "bias": 1e-3 * (k + 1) * t,
            "bias_standard_error": 1e-4,
            "variance": 1e-5 / t,
        }
        for k, name in enumerate(("score function", "Gumbel-softmax"))
        for t in temperatures
    ]
    samples = np.array([1, 2, 4, 8, 16, 32, 64, 128])
    figures = {
        "estimators": viz.estimator_figure(rows),
        "Monte Carlo error": viz.mc_error_figure(
            {
                "samples": samples,
                "rms_error": 0.3 / np.sqrt(samples),
                "reference": 0.3 / np.sqrt(samples),
            },
            current_samples=16,
        ),
        "entropy": viz.entropy_figure(temperatures, np.ones((9, 3)), 1.0, n_keys=3),
    }
    for name, figure in figures.items():
        axes = log_axes(figure)
        assert axes, name
        for axis in axes:
            assert axis.dtick == 1 and axis.exponentformat == "power", (name, axis)
    assert len(log_axes(figures["estimators"])) == 4  # both panels, both axes
