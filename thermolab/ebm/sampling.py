"""Block Gibbs sampling of an RBM, v → h → v, with every p-bit drawn by a backend.

The conditionals factorise, p(h | v) = Π_j σ(β (b + vᵀW)_j) and p(v | h) = Π_i σ(β (a + W h)_i),
so one sweep is two blocks of independent p-bits, drawn by the backend's counted `bernoulli`
(numpy, jax, torch or a plug-in), so its operation counter, and through it the energy ledger,
sees every p-bit update. The products vᵀW and W h and the sigmoids run where the backend draws
(`Conditionals`): on the torch and jax backends' device, in their own arrays (float64 on a
CPU, float32 on an accelerator; jax's float32 unless x64 is enabled), so a sweep never leaves
it and `gibbs` moves its chains back to numpy once, at the end; with numpy or a plug-in, in
numpy float64, the oracle (`RBM.hidden_probabilities`) itself. Rows are independent chains; β
is a scalar or one value per chain, shape (n_chains, 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from thermolab.backends import Backend
from thermolab.ebm.model import RBM

__all__ = ["Conditionals", "draw", "gibbs", "sample_hidden", "sample_visible", "to_numpy"]


def to_numpy(array: Any) -> np.ndarray:
    """A backend's array (numpy, jax, a torch tensor on any device) as float64 numpy."""
    if hasattr(array, "detach"):  # torch: leave the graph and the device first
        array = array.detach().cpu()
    return np.asarray(array, dtype=np.float64)


def draw(backend: Backend, probabilities: np.ndarray) -> np.ndarray:
    """Independent p-bits, 1 with probability p: (…) float64 of 0/1, counted by the backend."""
    return to_numpy(backend.bernoulli(probabilities))


@dataclass(frozen=True)
class _Arrays:
    """An array library's three operations the conditionals need, on one device."""

    asarray: Callable[[Any], Any]  # numpy (float or bool) → an array there
    sigmoid: Callable[[Any], Any]
    where: Callable[[Any, Any, Any], Any]


def _arrays(backend: Backend) -> _Arrays | None:
    """The backend's own array library on its device (the built-in torch and jax backends);
    None for numpy and plug-ins (numpy arrays, the RBM's own conditionals)."""
    if backend.name == "torch":
        import torch

        device = torch.device(backend.device)
        dtype = torch.float64 if device.type == "cpu" else torch.float32

        def to_torch(array: Any) -> Any:
            array = np.asarray(array)
            kind = torch.bool if array.dtype == np.bool_ else dtype
            return torch.tensor(array, dtype=kind, device=device)  # a copy: RBMs are read-only

        return _Arrays(to_torch, torch.sigmoid, torch.where)
    if backend.name == "jax":
        import jax
        import jax.numpy as jnp

        return _Arrays(jnp.asarray, jax.nn.sigmoid, jnp.where)
    return None


class Conditionals:
    """p(h | v) and p(v | h) of `rbm` computed where `backend` draws its p-bits: its weights
    and biases moved there once, every product and sigmoid there (module docstring). Arrays in
    and out are the backend's (numpy for numpy and plug-ins); `asarray` moves numpy there."""

    def __init__(self, rbm: RBM, backend: Backend) -> None:
        self.rbm, self.backend = rbm, backend
        self._arrays = _arrays(backend)
        self.asarray = np.asarray if self._arrays is None else self._arrays.asarray
        self.where = np.where if self._arrays is None else self._arrays.where
        if self._arrays is not None:
            self._weights = self.asarray(rbm.weights)
            self._visible_bias = self.asarray(rbm.visible_bias)
            self._hidden_bias = self.asarray(rbm.hidden_bias)

    def _beta(self, beta: float | np.ndarray) -> Any:
        return float(beta) if np.ndim(beta) == 0 else self.asarray(beta)

    def hidden(self, visible: Any, beta: float | np.ndarray = 1.0) -> Any:
        """p(h_j = 1 | v) = σ(β (b + vᵀW)_j): (n, n_visible) → (n, n_hidden)."""
        if self._arrays is None:
            return self.rbm.hidden_probabilities(visible, beta)
        return self._arrays.sigmoid(
            self._beta(beta) * (visible @ self._weights + self._hidden_bias)
        )

    def visible(self, hidden: Any, beta: float | np.ndarray = 1.0) -> Any:
        """p(v_i = 1 | h) = σ(β (a + W h)_i): (n, n_hidden) → (n, n_visible)."""
        if self._arrays is None:
            return self.rbm.visible_probabilities(hidden, beta)
        return self._arrays.sigmoid(
            self._beta(beta) * (hidden @ self._weights.T + self._visible_bias)
        )


def sample_hidden(
    rbm: RBM, backend: Backend, visible: np.ndarray, beta: float | np.ndarray = 1.0
) -> np.ndarray:
    """h ~ p(h | v) at β: visible (n, n_visible) → (n, n_hidden) of 0/1."""
    conditionals = Conditionals(rbm, backend)
    return draw(backend, conditionals.hidden(conditionals.asarray(visible), beta))


def sample_visible(
    rbm: RBM, backend: Backend, hidden: np.ndarray, beta: float | np.ndarray = 1.0
) -> np.ndarray:
    """v ~ p(v | h) at β: hidden (n, n_hidden) → (n, n_visible) of 0/1."""
    conditionals = Conditionals(rbm, backend)
    return draw(backend, conditionals.visible(conditionals.asarray(hidden), beta))


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
    The chains stay on the backend's device for all the sweeps (`Conditionals`).
    """
    if n_sweeps < 1:
        raise ValueError(f"n_sweeps must be ≥ 1, got {n_sweeps}")
    start = np.array(visible, dtype=np.float64)
    conditionals = Conditionals(rbm, backend)
    visible = conditionals.asarray(start)
    known = None
    if clamp is not None:
        known = conditionals.asarray(np.broadcast_to(np.asarray(clamp, dtype=bool), start.shape))
        start_there = visible
    hidden = None
    for _ in range(n_sweeps):
        hidden = backend.bernoulli(conditionals.hidden(visible, beta))
        visible = backend.bernoulli(conditionals.visible(hidden, beta))
        if known is not None:
            visible = conditionals.where(known, start_there, visible)
    return to_numpy(visible), to_numpy(hidden)
