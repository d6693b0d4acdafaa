"""Block Gibbs sampling of an RBM, v → h → v, with every p-bit drawn by a backend.

The conditionals factorise, p(h | v) = Π_j σ(β (b + vᵀW)_j) and p(v | h) = Π_i σ(β (a + W h)_i),
so one sweep is two blocks of independent p-bits. The probabilities are computed in numpy
(float64) and drawn by the backend's counted `bernoulli` (numpy, jax, torch or a plug-in), so
its operation counter, and through it the energy ledger, sees every p-bit update. Rows are
independent chains; β is a scalar or one value per chain, shape (n_chains, 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from thermolab.backends import Backend
from thermolab.ebm.model import RBM

__all__ = ["draw", "gibbs", "sample_hidden", "sample_visible", "to_numpy"]


def to_numpy(array: Any) -> np.ndarray:
    """A backend's array (numpy, jax, a torch tensor on any device) as float64 numpy."""
    if hasattr(array, "detach"):  # torch: leave the graph and the device first
        array = array.detach().cpu()
    return np.asarray(array, dtype=np.float64)


def draw(backend: Backend, probabilities: np.ndarray) -> np.ndarray:
    """Independent p-bits, 1 with probability p: (…) float64 of 0/1, counted by the backend."""
    return to_numpy(backend.bernoulli(probabilities))


def sample_hidden(
    rbm: RBM, backend: Backend, visible: np.ndarray, beta: float | np.ndarray = 1.0
) -> np.ndarray:
    """h ~ p(h | v) at β: visible (n, n_visible) → (n, n_hidden) of 0/1."""
    return draw(backend, rbm.hidden_probabilities(visible, beta))


def sample_visible(
    rbm: RBM, backend: Backend, hidden: np.ndarray, beta: float | np.ndarray = 1.0
) -> np.ndarray:
    """v ~ p(v | h) at β: hidden (n, n_hidden) → (n, n_visible) of 0/1."""
    return draw(backend, rbm.visible_probabilities(hidden, beta))


def gibbs(
    rbm: RBM,
    backend: Backend,
    visible: np.ndarray,
    n_sweeps: int,
    *,
    beta: float | np.ndarray = 1.0,
    clamp: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`n_sweeps` sweeps h ~ p(h | v), v ~ p(v | h) from `visible` (n_chains, n_visible).

    clamp: optional bool mask (n_visible,) or (n_chains, n_visible); clamped units keep their
    starting values (in-painting). Returns (visible, hidden), the joint state after the last
    sweep: hidden was drawn from the previous visible, so (v, h) is one joint Gibbs state.
    """
    if n_sweeps < 1:
        raise ValueError(f"n_sweeps must be ≥ 1, got {n_sweeps}")
    visible = np.array(visible, dtype=np.float64)
    known = None if clamp is None else np.broadcast_to(np.asarray(clamp, dtype=bool), visible.shape)
    start = visible.copy() if known is not None else None
    hidden = np.empty((visible.shape[0], rbm.n_hidden))
    for _ in range(n_sweeps):
        hidden = sample_hidden(rbm, backend, visible, beta)
        visible = sample_visible(rbm, backend, hidden, beta)
        if known is not None:
            visible[known] = start[known]
    return visible, hidden
