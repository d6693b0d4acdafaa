"""The backend registry: built-ins, entry-point plugins, and one-line reasons for failures."""

import re
from pathlib import Path

import numpy as np
import pytest

from thermolab import problems
from thermolab.backends import (
    BackendUnavailable,
    available_backends,
    backend_names,
    get_backend,
)

PLUGINS = Path(__file__).parent / "plugins"


@pytest.fixture
def demo_plugin_installed(monkeypatch):
    """Put the shipped example plugin (a module plus its dist-info) on the import path."""
    monkeypatch.syspath_prepend(str(PLUGINS))


def test_builtins_are_listed_with_the_default_first():
    names = backend_names()
    assert names[0] == "jax"
    assert {"jax", "numpy", "torch"} <= set(names)
    rows = {row.name: row for row in available_backends()}
    assert rows["numpy"].available and rows["numpy"].device == "cpu"
    assert rows["numpy"].capabilities.device == "cpu"
    assert rows["jax"].capabilities.lattice_fast_path
    assert not rows["numpy"].capabilities.lattice_fast_path
    assert rows["torch"].capabilities.array_type == "torch.Tensor"


def test_unknown_backend_says_so_in_one_line():
    with pytest.raises(BackendUnavailable, match="no backend named 'quantum-toaster'") as error:
        get_backend("quantum-toaster")
    assert "\n" not in str(error.value)


def test_entry_point_plugin_is_found_and_samples(demo_plugin_installed):
    assert "demo" in backend_names()
    backend = get_backend("demo")
    result = backend.sample_ising(problems.ring(6), 0.5, n_sweeps=3)
    assert result.states.shape == (1, 6)
    assert backend.capabilities.algorithms == ("gibbs",)
    with pytest.raises(ValueError, match=re.escape("runs ('gibbs',) only")):
        backend.sample_ising(problems.ring(6), 0.5, n_sweeps=3, algorithm="metropolis")


def test_plugins_that_cannot_run_report_why(demo_plugin_installed):
    rows = {row.name: row for row in available_backends()}
    assert rows["demo"].available and rows["demo"].source == "plugin"
    assert not rows["offline"].available
    assert "not connected" in rows["offline"].reason
    assert not rows["missing"].available
    assert "does not exist" in rows["missing"].reason
    with pytest.raises(BackendUnavailable, match="cannot run here"):
        get_backend("offline")


def test_the_example_plugin_samples_the_boltzmann_distribution(demo_plugin_installed):
    """The plug-in's own kernel, through the inherited sample_ising, against enumeration
    (chi-square p-value floor 1e-3, as in test_backends; 4000 independent 30-sweep chains)."""
    from thermolab import diagnostics, exact

    model = problems.ring(8, coupling=1.0, field=0.3)
    states = (
        get_backend("demo")
        .sample_ising(model, 1 / 1.5, n_sweeps=30, n_chains=4000, seed=5, record_every=30)
        .states
    )
    counts = np.bincount(exact.state_indices(states), minlength=2**8)
    for temperature, accepted in ((1.5, True), (3.0, False)):
        probabilities = exact.enumerate_model(model, temperature).probabilities
        _, _, p_value = diagnostics.chi_square_test(counts, probabilities)
        assert (p_value > 1e-3) == accepted, (temperature, p_value)
