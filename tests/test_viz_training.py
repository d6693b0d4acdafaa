"""The training page's figures, from synthetic store data: names, kinds kept apart, light traces."""

from __future__ import annotations

import math

import numpy as np
import pytest

from thermolab.viz import training as viz


def metrics(n_steps: int, *, tsu: bool, layers: int = 2, eval_every: int = 10) -> dict:
    """Store-shaped metric series {name: (steps, values)} of one run."""
    steps = list(range(n_steps))
    evals = list(range(eval_every, n_steps + 1, eval_every))
    out = {
        "train_loss": (steps, [4.0 - 2.0 * s / n_steps for s in steps]),
        "val_loss": (evals, [3.9 - 2.0 * s / n_steps for s in evals]),
    }
    for layer in range(layers):
        out[f"attention_entropy_l{layer}"] = (evals, [1.5 + 0.1 * layer] * len(evals))
    if tsu:
        out["val_loss_mean_weights"] = (evals, [4.0 - 2.0 * s / n_steps for s in evals])
        out["weight_entropy"] = (steps, [-100.0 - s for s in steps])
        out["kl_per_token"] = (steps, [1e-3] * n_steps)
        out["temperature"] = (steps, [1.0] * n_steps)
    return out


def energy_rows(n_steps: int, kinds: dict[str, float], seconds: float = 0.5) -> list[dict]:
    """One row per step and kind, `joules` per step for each kind (as the trainer logs)."""
    return [
        {"step": s, "seconds": seconds, "joules": j, "kind": kind, "source": f"{kind} source"}
        for s in range(n_steps)
        for kind, j in kinds.items()
    ]


def names(figure) -> list[str]:
    return [trace.name for trace in figure.data]


def test_downsample_bounds_points_and_keeps_both_ends():
    x = np.arange(10_001)
    xs, ys = viz.downsample(x, x * 2.0, max_points=300)
    assert len(xs) <= 300 and len(xs) >= 290
    assert xs[0] == 0 and xs[-1] == 10_000
    np.testing.assert_array_equal(ys, xs * 2.0)
    short_x, _ = viz.downsample([1, 2, 3], [4, 5, 6], max_points=300)
    assert list(short_x) == [1, 2, 3]
    with pytest.raises(ValueError):
        viz.downsample(x, x, max_points=1)


def test_smooth_starts_at_the_first_value_and_follows_a_step():
    smoothed = viz.smooth([2.0] * 5 + [0.0] * 50, weight=0.9)
    assert smoothed[0] == pytest.approx(2.0)
    assert smoothed[5] == pytest.approx(1.8)
    assert smoothed[-1] < 0.02
    assert viz.smooth([], 0.5).shape == (0,)
    with pytest.raises(ValueError):
        viz.smooth([1.0], weight=1.0)


def test_loss_figure_has_train_and_val_of_both_runs():
    figure = viz.loss_figure({"baseline": metrics(50, tsu=False), "tsu": metrics(50, tsu=True)})
    assert names(figure) == [
        "baseline train (raw)",
        "baseline train (smoothed)",
        "baseline val",
        "tsu train (raw)",
        "tsu train (smoothed)",
        "tsu val",
        "tsu val (mean weights)",
    ]
    smoothed = figure.data[1]
    assert smoothed.y[0] == pytest.approx(4.0) and smoothed.y[-1] > figure.data[0].y[-1]


def test_every_trace_is_capped_in_a_long_run():
    long = {"baseline": metrics(20_000, tsu=False, eval_every=10), "tsu": metrics(20_000, tsu=True)}
    energy = {
        "baseline": energy_rows(20_000, {"estimated": 2.0}),
        "tsu": energy_rows(20_000, {"estimated": 3.0, "projected": 1e-9}),
    }
    figures = [
        viz.loss_figure(long, max_points=250),
        viz.attention_entropy_figure(long, max_points=250),
        viz.weight_entropy_figure(long["tsu"], max_points=250),
        viz.power_figure(energy, max_points=250),
        viz.energy_figure(energy, max_points=250),
    ]
    for figure in figures:
        assert figure.data
        for trace in figure.data:
            assert len(trace.x) <= 250, (figure.layout.title.text, trace.name, len(trace.x))


def test_attention_entropy_has_one_trace_per_run_and_layer_in_layer_order():
    runs = {"baseline": metrics(40, tsu=False, layers=11), "tsu": metrics(40, tsu=True, layers=1)}
    got = names(viz.attention_entropy_figure(runs))
    assert got == [f"baseline layer {layer}" for layer in range(11)] + ["tsu layer 0"]


def test_weight_entropy_figure_draws_entropy_kl_and_temperature():
    figure = viz.weight_entropy_figure(metrics(30, tsu=True))
    assert names(figure) == ["tsu H[q] (nats)", "tsu KL per token (nats)", "tsu T"]
    assert list(figure.data[0].y[:2]) == [-100.0, -101.0]
    empty = viz.weight_entropy_figure({})
    assert not empty.data and empty.layout.annotations


def test_cumulative_energy_sums_within_a_kind_only_and_times_count_each_step_once():
    rows = energy_rows(4, {"measured": 10.0, "projected": 1e-9}, seconds=0.5)
    series = viz.cumulative_energy(rows)
    assert set(series) == {"measured", "projected"}
    times, joules, sources = series["measured"]
    np.testing.assert_allclose(times, [0.5, 1.0, 1.5, 2.0])  # not 1.0, 2.0, … (two rows/step)
    np.testing.assert_allclose(joules, [10, 20, 30, 40])
    assert sources == ["measured source"]
    np.testing.assert_allclose(series["projected"][1], [1e-9, 2e-9, 3e-9, 4e-9])


def test_energy_figure_keeps_kinds_in_separate_panels_and_labels():
    energy = {
        "baseline": energy_rows(10, {"measured": 5.0}),
        "tsu": energy_rows(10, {"measured": 6.0, "projected": 1e-9}),
    }
    figure = viz.energy_figure(energy)
    assert names(figure) == ["baseline · measured", "tsu · measured", "tsu · projected"]
    by_name = {trace.name: trace for trace in figure.data}
    # measured and projected sit on different axes; no trace adds the two kinds.
    assert by_name["tsu · measured"].yaxis != by_name["tsu · projected"].yaxis
    assert by_name["tsu · measured"].y[-1] == pytest.approx(60.0)
    assert by_name["tsu · projected"].y[-1] == pytest.approx(1e-8)
    for trace in figure.data:
        kind = trace.name.split(" · ")[1]
        assert kind in trace.hovertemplate and f"{kind} source" in trace.hovertemplate
        other = {"measured", "projected"} - {kind}
        assert not any(f"{o} source" in trace.hovertemplate for o in other)
    titles = [annotation.text for annotation in figure.layout.annotations]
    assert titles == ["measured energy", "projected energy"]


def test_power_is_energy_over_time_per_bin_and_never_projected():
    rows = [
        {"step": 0, "seconds": 1.0, "joules": 10.0, "kind": "estimated", "source": "model"},
        {"step": 1, "seconds": 3.0, "joules": 10.0, "kind": "estimated", "source": "model"},
        {"step": 1, "seconds": 3.0, "joules": 1e-9, "kind": "projected", "source": "smtj"},
    ]
    figure = viz.power_figure({"tsu": rows})
    assert names(figure) == ["tsu · estimated"]
    np.testing.assert_allclose(figure.data[0].x, [1.0, 4.0])
    np.testing.assert_allclose(figure.data[0].y, [10.0, 10.0 / 3.0])
    # Binned into one group, power is total joules over total seconds (20 J / 4 s).
    x, watts = viz.bin_power(np.array([1.0, 4.0]), np.array([10.0, 10.0]), np.array([1.0, 3.0]), 1)
    assert list(x) == [4.0] and watts[0] == pytest.approx(5.0)


def test_energy_and_power_figures_say_so_when_nothing_was_metered():
    for figure in (viz.power_figure({"baseline": []}), viz.energy_figure({})):
        assert not figure.data
        assert "meter" in figure.layout.annotations[-1].text


def test_reliability_figure_skips_empty_bins_and_names_the_ece():
    bins = {
        "bin_edges": [0.0, 0.25, 0.5, 0.75, 1.0],
        "confidence": [math.nan, 0.4, 0.6, None],
        "accuracy": [math.nan, 0.3, 0.7, None],
        "counts": [0, 10, 30, 0],
    }
    figure = viz.reliability_figure({"baseline": bins, "tsu": bins}, {"baseline": 0.05})
    assert names(figure) == ["perfect calibration", "baseline (ECE 0.050)", "tsu"]
    assert list(figure.data[0].x) == [0, 1] and list(figure.data[0].y) == [0, 1]
    assert list(figure.data[1].x) == [0.4, 0.6] and list(figure.data[1].y) == [0.3, 0.7]
    assert figure.data[1].marker.size[1] > figure.data[1].marker.size[0]
