"""Live chains keep running across temperature changes; measurements agree with exact results."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from thermolab import exact, problems
from thermolab.backends import get_backend
from thermolab.backends.jax_backend import _run_chains
from thermolab.live import LiveChain, LiveTempering
from thermolab.measure import MAX_SWEEP_UPDATES, exact_check, temperature_sweep


def test_a_temperature_change_continues_the_chain_without_recompiling():
    chain = LiveChain(problems.square_lattice(32), get_backend("jax"))
    chain.set_all(+1)
    chain.advance(1.0, 5)
    compiled = _run_chains._cache_size()
    for temperature in (1.1, 1.3, 1.7, 1.9):
        chain.advance(temperature, 5)
    assert _run_chains._cache_size() == compiled
    assert chain.sweeps == 25 and len(chain.energies) == 25
    # Continued from the all-up state: at T < T_c it stays magnetised (a restart would not).
    assert chain.abs_magnetization > 0.7
    assert list(chain.temperatures)[-5:] == [1.9] * 5


def test_recent_window_only_covers_the_current_temperature():
    chain = LiveChain(problems.ring(20), get_backend("numpy"))
    chain.advance(2.0, 30)
    chain.advance(1.0, 60)
    energies, magnet = chain.recent(1000)
    assert energies.size == 60 and magnet.size == 60
    assert chain.autocorrelation() is not None
    with pytest.raises(ValueError):
        chain.advance(0.0, 5)


def test_live_tempering_accumulates_swap_statistics():
    tempering = LiveTempering(
        problems.square_lattice(8), get_backend("numpy"), np.geomspace(1.5, 4.0, 4)
    )
    tempering.advance(10)
    tempering.advance(11)
    assert tempering.rounds == 21
    # Pair k is proposed on rounds of its parity: 5 + 6 for even k, 5 + 5 for odd k.
    assert tempering.proposed.tolist() == [11, 10, 11]
    assert np.all((tempering.swap_rates >= 0) & (tempering.swap_rates <= 1))
    assert tempering.states.shape == (4, 64)


def test_temperature_sweep_matches_onsager_far_from_tc():
    points = temperature_sweep(
        get_backend("jax"), [32], [1.5, 3.5], sweeps=2000, burn_in=1500, chains=4, seed=1
    )
    for point in points:
        expected = float(exact.onsager_energy_per_spin(point.temperature))
        # 4 standard errors; finite-size corrections at L = 32 far from T_c are < 1e-4.
        assert abs(point.energy - expected) < 4 * point.energy_error + 1e-4
    cold = next(p for p in points if p.temperature == 1.5)
    # Ordered phase: U4 → 2/3; at L = 32, T = 1.5 the finite-size deviation is ~1e-4.
    assert abs(cold.binder - 2 / 3) < 4 * cold.binder_error + 1e-3


def test_temperature_sweep_refuses_oversized_jobs():
    with pytest.raises(ValueError, match="spin updates"):
        temperature_sweep(
            get_backend("numpy"), [1024], [2.0] * 10, sweeps=100_000, burn_in=0, chains=1
        )
    assert MAX_SWEEP_UPDATES > 0
    with pytest.raises(ValueError, match="at least"):
        temperature_sweep(get_backend("numpy"), [8], [2.0], sweeps=10, burn_in=0, chains=1)


def test_exact_check_converges_to_the_sampling_floor():
    model = problems.ring(10, field=0.3)
    check = exact_check(get_backend("numpy"), model, 1.5, sweep_counts=[1, 100], samples=8000)
    # After 1 sweep from random starts the distribution is visibly off; after 100 the KL is
    # that of a perfect sampler with as many samples (mean ± spread of exact multinomial draws).
    assert check.kl[0] > check.kl_floor + 10 * check.kl_floor_spread
    assert check.kl[1] < check.kl_floor + 4 * check.kl_floor_spread
    assert check.chi_square_p_value > 1e-3
    with pytest.raises(ValueError, match="16 spins"):
        exact_check(get_backend("numpy"), problems.ring(20), 1.0, sweep_counts=[1])


def test_live_trace_figure_stays_small():
    """The live view redraws it every second: at most TRACE_POINTS points per curve."""
    from thermolab.viz.ising import TRACE_POINTS, trace_figure

    figure = trace_figure(np.linspace(-2, 0, 4000), np.linspace(0, 1, 4000), -1.7, 0.9)
    assert all(len(trace.x) <= TRACE_POINTS for trace in figure.data)
    assert figure.data[0].x[-1] >= 4000 - 8  # the newest sweeps are still drawn
    # Two panels on one sweep axis, each with its Onsager line at the exact value.
    assert [trace.yaxis for trace in figure.data] == ["y", "y2"]
    assert figure.layout.xaxis.matches == "x2"
    assert [(shape.yref, shape.y0) for shape in figure.layout.shapes] == [("y", -1.7), ("y2", 0.9)]
    bare = trace_figure(np.linspace(-2, 0, 10), np.linspace(0, 1, 10), None, float("nan"))
    assert not bare.layout.shapes and not bare.layout.annotations


def test_two_threads_can_share_a_live_chain():
    # Streamlit starts a new script run before the one it replaces has stopped: for a moment two
    # threads advance and read the same chain. Under its lock the state and the traces agree.
    model = problems.square_lattice(8)
    chain = LiveChain(model, get_backend("numpy"))
    chain.advance(2.0, 1)
    mismatches, errors = [], []

    def work(reader: bool) -> None:
        try:
            for k in range(300):
                if not reader:
                    chain.advance(2.0 + 0.1 * (k % 3), 3)
                    continue
                with chain.lock:
                    drawn = exact.energy(model, chain.spins[None, :])[0] / model.n_spins
                    if drawn != pytest.approx(chain.energies[-1]):
                        mismatches.append(k)
                chain.autocorrelation()
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(reader,)) for reader in (False, False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and not mismatches, (errors, mismatches[:10])
    assert chain.sweeps == 1 + 2 * 300 * 3 == len(chain.energies)


def test_a_state_set_by_hand_has_its_own_energy_and_magnetisation():
    """Randomise or All up clears the traces: the numbers then come from the spins on screen."""
    length = 16
    chain = LiveChain(problems.square_lattice(length), get_backend("numpy"))
    chain.set_all(+1)
    assert (chain.energy_per_spin, chain.abs_magnetization) == (-2.0, 1.0)  # 2 bonds per spin
    chain.randomise()
    grid = chain.spins.reshape(length, length).astype(np.int64)
    bonds = grid * np.roll(grid, 1, axis=0) + grid * np.roll(grid, 1, axis=1)  # periodic, J = 1
    assert chain.energy_per_spin == pytest.approx(-bonds.sum() / length**2, abs=1e-12)
    assert chain.abs_magnetization == pytest.approx(abs(grid.sum()) / length**2, abs=1e-12)
    chain.advance(2.0, 3)  # after a sweep: the sweep's own record
    assert chain.energy_per_spin == chain.energies[-1]
