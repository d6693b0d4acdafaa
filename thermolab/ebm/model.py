"""The restricted Boltzmann machine: immutable parameters, its energies, and its Ising form.

Binary units v ∈ {0, 1}^n_visible and h ∈ {0, 1}^n_hidden with energy

    E(v, h) = −vᵀ W h − aᵀ v − bᵀ h,     p(v, h) ∝ exp(−β E(v, h)),  β = 1/T (T = 1 in training),

W the weights (n_visible, n_hidden), a the visible bias, b the hidden bias. Summing out h gives
the free energy F_β(v) = −aᵀv − (1/β) Σ_j softplus(β (b_j + vᵀW_j)), so p(v) ∝ exp(−β F_β(v)).

The map to the lab's ±1 Ising convention (E(s) = −½ sᵀJs − hᵀs, see `thermolab.problems`):
with v = (1 + s_v)/2 and h = (1 + s_h)/2,

    J_{i, n_v + j} = W_ij / 4,
    field_i        = a_i / 2 + Σ_j W_ij / 4         (visible spin i),
    field_{n_v+j}  = b_j / 2 + Σ_i W_ij / 4         (hidden spin j),
    E_rbm(v, h)    = E_ising(s) + offset,  offset = −(Σ W / 4 + Σ a / 2 + Σ b / 2),

so an RBM is an `IsingModel` on the complete bipartite graph, coloured {visible}, {hidden}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from thermolab.problems import IsingModel, check_memory

__all__ = [
    "MAX_UNITS",
    "RBM",
    "check_binary",
    "compact_binary",
    "live_view",
    "random_rbm",
    "softplus",
]

#: Largest layer accepted (units); 28 × 28 MNIST with a label is 794, a 4096-unit layer is ample.
MAX_UNITS = 4096


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + eˣ), elementwise, without overflow: max(x, 0) + log1p(e^−|x|)."""
    x = np.asarray(x, dtype=np.float64)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _units(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not 1 <= value <= MAX_UNITS:
        raise ValueError(f"{name} must be between 1 and {MAX_UNITS}, got {value}")
    return int(value)


def compact_binary(data: object, n_visible: int | None = None, name: str = "data") -> np.ndarray:
    """`data` as uint8 (n_examples, n_visible) if every entry is 0 or 1, else ValueError.

    One byte per unit, an eighth of float64 (60,000 MNIST images: 47 MB instead of 376 MB);
    validated without a float64 copy. Convert rows to float64 where they are multiplied."""
    array = np.asarray(data)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty 2-D array (examples × units), got {array.shape}"
        )
    if n_visible is not None and array.shape[1] != n_visible:
        raise ValueError(f"{name} has {array.shape[1]} units per example, the model {n_visible}")
    if not np.issubdtype(array.dtype, np.number) and array.dtype != np.bool_:
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.dtype not in (np.bool_, np.uint8) and not np.all((array == 0) | (array == 1)):
        raise ValueError(f"{name} must hold only 0 and 1 (binarize it first)")
    if array.dtype == np.uint8 and array.max(initial=0) > 1:
        raise ValueError(f"{name} must hold only 0 and 1 (binarize it first)")
    return array.astype(np.uint8, copy=False)


def check_binary(data: object, n_visible: int | None = None, name: str = "data") -> np.ndarray:
    """`data` as float64 (n_examples, n_visible) if every entry is 0 or 1, else ValueError."""
    return compact_binary(data, n_visible, name).astype(np.float64)


@dataclass(frozen=True)
class RBM:
    """A restricted Boltzmann machine; arrays are float64 and read-only.

    weights: W, (n_visible, n_hidden). visible_bias: a, (n_visible,). hidden_bias: b, (n_hidden,).
    """

    weights: np.ndarray
    visible_bias: np.ndarray
    hidden_bias: np.ndarray

    def __post_init__(self) -> None:
        weights = np.array(self.weights, dtype=np.float64)
        visible = np.array(self.visible_bias, dtype=np.float64).reshape(-1)
        hidden = np.array(self.hidden_bias, dtype=np.float64).reshape(-1)
        if weights.ndim != 2:
            raise ValueError(f"weights must be (n_visible, n_hidden), got shape {weights.shape}")
        _units("n_visible", weights.shape[0])
        _units("n_hidden", weights.shape[1])
        if visible.shape != (weights.shape[0],) or hidden.shape != (weights.shape[1],):
            raise ValueError(
                f"biases must have shapes ({weights.shape[0]},) and ({weights.shape[1]},), got "
                f"{visible.shape} and {hidden.shape}"
            )
        for name, array in (
            ("weights", weights),
            ("visible_bias", visible),
            ("hidden_bias", hidden),
        ):
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{name} contain NaN or infinite values")
            array.flags.writeable = False
            object.__setattr__(self, name, array)

    @property
    def n_visible(self) -> int:
        return self.weights.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.weights.shape[1]

    def energy(self, visible: np.ndarray, hidden: np.ndarray) -> np.ndarray:
        """E(v, h): visible (..., n_visible), hidden (..., n_hidden) → (...,)."""
        interaction = ((visible @ self.weights) * hidden).sum(axis=-1)
        return -interaction - visible @ self.visible_bias - hidden @ self.hidden_bias

    def free_energy(self, visible: np.ndarray, beta: float = 1.0) -> np.ndarray:
        """F_β(v) = −aᵀv − (1/β) Σ_j softplus(β (b + vᵀW)_j): (..., n_visible) → (...,)."""
        visible = np.asarray(visible, dtype=np.float64)
        inputs = visible @ self.weights + self.hidden_bias
        return -visible @ self.visible_bias - softplus(beta * inputs).sum(axis=-1) / beta

    def hidden_probabilities(
        self, visible: np.ndarray, beta: float | np.ndarray = 1.0
    ) -> np.ndarray:
        """p(h_j = 1 | v) = σ(β (b + vᵀW)_j): (n, n_visible) → (n, n_hidden).

        beta: a scalar, or (n, 1) for one β per row (tempering)."""
        return _sigmoid_of(visible @ self.weights, self.hidden_bias, beta)

    def visible_probabilities(
        self, hidden: np.ndarray, beta: float | np.ndarray = 1.0
    ) -> np.ndarray:
        """p(v_i = 1 | h) = σ(β (a + W h)_i): (n, n_hidden) → (n, n_visible)."""
        return _sigmoid_of(hidden @ self.weights.T, self.visible_bias, beta)

    def to_ising(self) -> tuple[IsingModel, float]:
        """(the Ising model on the bipartite graph, offset) with E_rbm = E_ising + offset.

        Spins 0 … n_visible − 1 are the visible units, the rest the hidden units (module
        docstring). The colouring is the two layers, so block Gibbs on it is the RBM's v ↔ h.
        """
        n_v, n_h = self.weights.shape
        check_memory(
            16 * 2 * n_v * n_h, f"the Ising form of a {n_v} × {n_h} RBM", "use fewer units"
        )
        rows = np.repeat(np.arange(n_v), n_h)  # visible i of each weight W_ij, row-major
        cols = n_v + np.tile(np.arange(n_h), n_v)  # hidden j, as spin n_v + j
        values = np.concatenate([self.weights.ravel() / 4] * 2)
        couplings = sp.csr_array(
            (values, (np.concatenate([rows, cols]), np.concatenate([cols, rows]))),
            shape=(n_v + n_h, n_v + n_h),
        )
        fields = np.concatenate(
            [
                self.visible_bias / 2 + self.weights.sum(axis=1) / 4,
                self.hidden_bias / 2 + self.weights.sum(axis=0) / 4,
            ]
        )
        offset = -(
            self.weights.sum() / 4 + self.visible_bias.sum() / 2 + self.hidden_bias.sum() / 2
        )
        colouring = (np.arange(n_v), np.arange(n_v, n_v + n_h))
        model = IsingModel(couplings, fields, colouring, name=f"RBM {n_v} × {n_h}")
        return model, float(offset)

    def log_hidden_marginal_unnormalised(self, hidden: np.ndarray) -> np.ndarray:
        """log p*(h) = bᵀh + Σ_i softplus((a + W h)_i) at T = 1: (..., n_hidden) → (...,)."""
        hidden = np.asarray(hidden, dtype=np.float64)
        inputs = hidden @ self.weights.T + self.visible_bias
        return hidden @ self.hidden_bias + softplus(inputs).sum(axis=-1)


def _sigmoid_of(products: np.ndarray, bias: np.ndarray, beta: float | np.ndarray) -> np.ndarray:
    """σ(β (products + bias)) computed in place in `products` (a fresh float64 matmul result):
    one array per call instead of four.

    σ(x) = 1 / (1 + e^−x) with numpy's vectorised exp (scipy's expit, elementwise scalar code,
    took 1.5× as long on these blocks), within 3e-16 relative of expit. e^−x is capped at e^700
    so it cannot overflow: there σ(x) < 1e-304, and 1 / (1 + e^700) is as good a zero; a NaN
    stays NaN (and the backend's bernoulli refuses it)."""
    products += bias
    if np.isscalar(beta) and beta == 1:
        np.negative(products, out=products)
    else:
        products *= -beta
    np.minimum(products, 700.0, out=products)
    np.exp(products, out=products)
    products += 1.0
    return np.reciprocal(products, out=products)


def live_view(weights: np.ndarray, visible_bias: np.ndarray, hidden_bias: np.ndarray) -> RBM:
    """An RBM reading the caller's float64 arrays through read-only views, neither copied nor
    checked: a trainer's parameters, which it changes in place between updates. Only for the
    trainer's own use; hand others `RBM(...)` of a copy (validated and frozen)."""
    view = object.__new__(RBM)
    for name, array in (
        ("weights", weights),
        ("visible_bias", visible_bias),
        ("hidden_bias", hidden_bias),
    ):
        shown = array.view()
        shown.flags.writeable = False
        object.__setattr__(view, name, shown)
    return view


def random_rbm(n_visible: int, n_hidden: int, *, weight_scale: float = 0.01, seed: int = 0) -> RBM:
    """W ~ N(0, weight_scale²) (Hinton's practical guide uses 0.01), biases zero."""
    n_visible, n_hidden = _units("n_visible", n_visible), _units("n_hidden", n_hidden)
    if not np.isfinite(weight_scale) or weight_scale < 0:
        raise ValueError(f"weight_scale must be finite and ≥ 0, got {weight_scale}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xB0]))
    return RBM(
        weight_scale * rng.standard_normal((n_visible, n_hidden)),
        np.zeros(n_visible),
        np.zeros(n_hidden),
    )
