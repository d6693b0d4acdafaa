"""The backend registry: built-ins, entry-point plugins, and one-line reasons for failures."""

from pathlib import Path

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


def test_unknown_backend_says_so_in_one_line():
    with pytest.raises(BackendUnavailable, match="no backend named 'quantum-toaster'") as error:
        get_backend("quantum-toaster")
    assert "\n" not in str(error.value)


def test_entry_point_plugin_is_found_and_samples(demo_plugin_installed):
    assert "demo" in backend_names()
    backend = get_backend("demo")
    result = backend.sample_ising(problems.ring(6), 0.5, n_sweeps=3)
    assert result.states.shape == (1, 6)


def test_plugins_that_cannot_run_report_why(demo_plugin_installed):
    rows = {row.name: row for row in available_backends()}
    assert rows["demo"].available and rows["demo"].source == "plugin"
    assert not rows["offline"].available
    assert "not connected" in rows["offline"].reason
    assert not rows["missing"].available
    assert "does not exist" in rows["missing"].reason
    with pytest.raises(BackendUnavailable, match="cannot run here"):
        get_backend("offline")
