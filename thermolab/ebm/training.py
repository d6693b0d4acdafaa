"""Training an RBM by sampling: CD-k, persistent CD and parallel-tempering negatives.

The log-likelihood gradient is a difference of two expectations,

    ∂ log p(v) / ∂W = ⟨v p(h | v)ᵀ⟩_data − ⟨v p(h | v)ᵀ⟩_model,

(likewise a with v, b with p(h | v)). The positive phase is exact given the minibatch; the
negative phase is a Boltzmann sample from the model, drawn by block Gibbs p-bits:

- "cd":  k sweeps started at the minibatch (Hinton 2002), fresh each update;
- "pcd": k sweeps continuing persistent chains (Tieleman 2008);
- "pt":  persistent chains at a ladder of inverse temperatures 1 = β_0 > … > β_min, k sweeps
  each, then neighbouring temperatures propose to swap their joint states (v, h), even pairs on
  even updates and odd pairs on odd ones, accepted with probability
  min(1, exp((β_k − β_{k+1})(E_k − E_{k+1}))) as in `Backend.parallel_tempering`
  (Desjardins et al. 2010); the β = 1 chains are the negatives.

Updates are minibatch SGD with momentum or Adam, L2 weight decay on W, and a constant or
linearly decaying learning rate. The same config and data give the same model (seeded).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np

from thermolab.backends import Backend, get_backend
from thermolab.ebm.evaluation import (
    chain_mixing,
    exact_log_partition,
    log_likelihood,
    pseudo_log_likelihood,
    reconstruction_error,
)
from thermolab.ebm.model import MAX_UNITS, RBM, compact_binary, live_view, random_rbm
from thermolab.ebm.sampling import Conditionals, draw, gibbs, to_numpy
from thermolab.problems import check_memory

__all__ = [
    "METHODS",
    "EpochRecord",
    "Negatives",
    "RBMConfig",
    "RBMTraining",
    "TrainingProgress",
    "gradient",
    "train_rbm",
]

METHODS: tuple[str, ...] = ("cd", "pcd", "pt")
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
LR_SCHEDULES: tuple[str, ...] = ("constant", "linear")
MAX_EPOCHS = 10_000
MAX_K = 1_000
MAX_TEMPERATURES = 64
MAX_CHAINS = 100_000
#: Examples each per-epoch pseudo-LL and reconstruction curve is measured on (a fixed subset).
CURVE_EXAMPLES = 500
#: Exact test LL every epoch when the smaller layer has at most this many units (≤ 65 k states).
EXACT_EVERY_EPOCH_UNITS = 16


@dataclass(frozen=True)
class RBMConfig:
    """One training run's settings (validated by `check`).

    n_hidden: hidden units. method: "cd", "pcd" or "pt". k: Gibbs sweeps per update.
    learning_rate: peak step size (> 0). batch_size: examples per update. epochs: passes
    (0: no training, e.g. to evaluate a loaded model).
    optimizer: "sgd" (with `momentum`) or "adam" (β₁ = 0.9, β₂ = 0.999).
    weight_decay: L2 coefficient on W (≥ 0). lr_schedule: "constant" or "linear" (to 0).
    n_chains: persistent chains (PCD, PT at each temperature); None: batch_size.
    n_temperatures, beta_min: the PT ladder, β linearly spaced from 1 to beta_min.
    mixing_sweeps: sweeps of frozen-parameter chains that measure τ_int after each epoch.
    backend: the sampling backend's registry name. seed: everything random follows from it.
    The defaults are the command line's (`python -m thermolab rbm` reads them from here) and
    the page's: Adam at 0.01 decaying linearly, batches of 20.
    """

    n_hidden: int = 64
    method: str = "pcd"
    k: int = 1
    learning_rate: float = 0.01
    batch_size: int = 20
    epochs: int = 20
    optimizer: str = "adam"
    momentum: float = 0.5
    weight_decay: float = 1e-4
    lr_schedule: str = "linear"
    n_chains: int | None = None
    n_temperatures: int = 5
    beta_min: float = 0.5
    mixing_sweeps: int = 100
    backend: str = "numpy"
    seed: int = 0

    def check(self, n_visible: int) -> RBMConfig:
        """Self if every value is usable for `n_visible` visible units, else ValueError."""
        for name, value, low, high in (
            ("n_hidden", self.n_hidden, 1, MAX_UNITS),
            ("k", self.k, 1, MAX_K),
            ("batch_size", self.batch_size, 1, MAX_CHAINS),
            ("epochs", self.epochs, 0, MAX_EPOCHS),
            ("n_temperatures", self.n_temperatures, 2, MAX_TEMPERATURES),
            ("mixing_sweeps", self.mixing_sweeps, 2, 100_000),
            ("seed", self.seed, 0, 2**32 - 1),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            if not low <= value <= high:
                raise ValueError(f"{name} must be between {low} and {high}, got {value}")
        if self.n_chains is not None and (
            isinstance(self.n_chains, bool) or not 1 <= int(self.n_chains) <= MAX_CHAINS
        ):
            raise ValueError(f"n_chains must be between 1 and {MAX_CHAINS}, got {self.n_chains}")
        for name, value in (("learning_rate", self.learning_rate), ("beta_min", self.beta_min)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if self.beta_min >= 1:
            raise ValueError(f"beta_min must be below 1 (β = 1 is the model), got {self.beta_min}")
        for name, value in (("momentum", self.momentum), ("weight_decay", self.weight_decay)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number ≥ 0, got {value!r}")
        if self.momentum >= 1:
            raise ValueError(f"momentum must be below 1, got {self.momentum}")
        for name, value, allowed in (
            ("method", self.method, METHODS),
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("lr_schedule", self.lr_schedule, LR_SCHEDULES),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        rows = self.chains * (self.n_temperatures if self.method == "pt" else 1) + self.batch_size
        check_memory(
            8 * (6 * n_visible * self.n_hidden + 4 * rows * (n_visible + self.n_hidden)),
            f"an RBM of {n_visible} × {self.n_hidden} units with {rows:,} chains and examples",
            "use fewer hidden units, chains or a smaller batch",
        )
        return self

    @property
    def chains(self) -> int:
        """Negative chains per temperature: n_chains, or batch_size when not set (CD: batch)."""
        return (
            self.batch_size if self.n_chains is None or self.method == "cd" else int(self.n_chains)
        )

    def ladder(self) -> np.ndarray:
        """Inverse temperatures of the negative chains: [1] (CD, PCD) or the PT ladder."""
        if self.method != "pt":
            return np.ones(1)
        return np.linspace(1.0, self.beta_min, self.n_temperatures)


@dataclass
class Negatives:
    """The negative chains: visible (n_temperatures, n_chains, n_visible), hidden likewise,
    betas (n_temperatures,), and PT swap counts per neighbouring pair.

    A sweep draws v ~ p(v | h), then h ~ p(h | v) (as scikit-learn's BernoulliRBM does), so
    p(h | v) of the last half-sweep, under the parameters of this update, serves both the next
    hidden state and the gradient (`hidden_probabilities`).
    """

    visible: np.ndarray
    hidden: np.ndarray
    betas: np.ndarray
    swaps_accepted: np.ndarray
    swaps_proposed: np.ndarray
    last_hidden_probabilities: np.ndarray | None = None

    @classmethod
    def start(cls, rbm: RBM, backend: Backend, betas: np.ndarray, n_chains: int) -> Negatives:
        """Chains from uniform noise (each visible unit 1 with probability ½), h ~ p(h | v)."""
        beta_rows = np.repeat(betas, n_chains)[:, None]
        visible = draw(backend, np.full((betas.size * n_chains, rbm.n_visible), 0.5))
        hidden = draw(backend, rbm.hidden_probabilities(visible, beta_rows))
        return cls(
            visible.reshape(betas.size, n_chains, -1),
            hidden.reshape(betas.size, n_chains, -1),
            betas,
            np.zeros(betas.size - 1),
            np.zeros(betas.size - 1),
        )

    def advance(
        self, rbm: RBM, backend: Backend, k: int, update: int, rng: np.random.Generator
    ) -> None:
        """k sweeps of every chain at its β, then (PT) one round of neighbour swaps."""
        n_temps, n_chains, n_visible = self.visible.shape
        beta_rows = self.betas[0] if n_temps == 1 else np.repeat(self.betas, n_chains)[:, None]
        # the sweeps stay where the backend draws, as in `gibbs`
        conditionals = Conditionals(rbm, backend)
        hidden = conditionals.asarray(self.hidden.reshape(n_temps * n_chains, -1))
        for _ in range(k):
            visible = backend.bernoulli(conditionals.visible(hidden, beta_rows))
            probabilities = conditionals.hidden(visible, beta_rows)
            hidden = backend.bernoulli(probabilities)
        self.visible = to_numpy(visible).reshape(n_temps, n_chains, n_visible)
        self.hidden = to_numpy(hidden).reshape(n_temps, n_chains, -1)
        self.last_hidden_probabilities = to_numpy(probabilities[:n_chains])  # slot 0: β = 1
        if n_temps < 2:
            return
        energies = rbm.energy(self.visible, self.hidden)  # (n_temps, n_chains)
        for slot in range(update % 2, n_temps - 1, 2):
            log_ratio = (self.betas[slot] - self.betas[slot + 1]) * (
                energies[slot] - energies[slot + 1]
            )
            accept = np.log(rng.random(n_chains)) < log_ratio
            for layer in (self.visible, self.hidden):
                upper, lower = layer[slot, accept].copy(), layer[slot + 1, accept].copy()
                layer[slot, accept], layer[slot + 1, accept] = lower, upper
            self.swaps_accepted[slot] += accept.sum()
            self.swaps_proposed[slot] += n_chains
        self.last_hidden_probabilities = None  # slot 0 may hold swapped-in states

    def hidden_probabilities(self, rbm: RBM) -> np.ndarray:
        """p(h | v) at β = 1 of the β = 1 chains' current visible states (n_chains, n_hidden)."""
        if self.last_hidden_probabilities is not None:
            return self.last_hidden_probabilities
        return rbm.hidden_probabilities(self.visible[0])

    @property
    def swap_acceptance(self) -> np.ndarray:
        """Accepted / proposed swaps between slots k and k+1, (n_temperatures − 1,)."""
        return np.divide(
            self.swaps_accepted,
            self.swaps_proposed,
            out=np.zeros_like(self.swaps_accepted),
            where=self.swaps_proposed > 0,
        )


def gradient(
    rbm: RBM,
    positive: np.ndarray,
    negative: np.ndarray,
    negative_hidden: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-likelihood gradient estimate (dW, da, db) from data rows `positive` and model
    samples `negative` (both (·, n_visible)), hidden units summed out by p(h | v);
    `negative_hidden` is p(h | negative) when already computed."""
    positive_hidden = rbm.hidden_probabilities(positive)
    if negative_hidden is None:
        negative_hidden = rbm.hidden_probabilities(negative)
    d_weights = _difference(
        positive.T @ positive_hidden, len(positive), negative.T @ negative_hidden, len(negative)
    )
    d_visible = _difference(
        np.add.reduce(positive), len(positive), np.add.reduce(negative), len(negative)
    )
    d_hidden = _difference(
        np.add.reduce(positive_hidden), len(positive), np.add.reduce(negative_hidden), len(negative)
    )
    return d_weights, d_visible, d_hidden


def _difference(
    first_sum: np.ndarray, first_n: int, second_sum: np.ndarray, second_n: int
) -> np.ndarray:
    """first_sum / first_n − second_sum / second_n, in place in the two fresh sums (a mean over
    rows: np.add.reduce sums axis 0 as ndarray.sum does, without its Python wrapper)."""
    first_sum /= first_n
    second_sum /= second_n
    first_sum -= second_sum
    return first_sum


class _Optimizer:
    """Gradient ascent with momentum or Adam over the three parameter arrays."""

    def __init__(self, config: RBMConfig, shapes: list[tuple[int, ...]]) -> None:
        self.config = config
        self.first = [np.zeros(shape) for shape in shapes]
        self.second = [np.zeros(shape) for shape in shapes]
        self.steps = 0

    def apply(
        self, parameters: list[np.ndarray], grads: list[np.ndarray], learning_rate: float
    ) -> None:
        """One ascent step on `parameters`, in place."""
        self.steps += 1
        if self.config.optimizer == "sgd":
            for parameter, velocity, grad in zip(parameters, self.first, grads, strict=True):
                grad *= learning_rate
                if self.config.momentum:
                    velocity *= self.config.momentum
                    velocity += grad
                    grad = velocity
                parameter += grad  # without momentum the velocity is the step itself
            return
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        for parameter, m, v, grad in zip(parameters, self.first, self.second, grads, strict=True):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad**2
            m_hat = m / (1 - beta1**self.steps)
            v_hat = v / (1 - beta2**self.steps)
            parameter += learning_rate * m_hat / (np.sqrt(v_hat) + eps)


@dataclass(frozen=True)
class EpochRecord:
    """Curves after one epoch (nats per example; None where not measured).

    pseudo_ll_train / pseudo_ll_test: pseudo-log-likelihood on ≤ CURVE_EXAMPLES examples.
    exact_ll_test: exact test LL when the smaller layer has ≤ EXACT_EVERY_EPOCH_UNITS units.
    reconstruction_error: mean squared error per visible unit (train subset).
    tau_int: τ_int (sweeps) of the negative chains' energy with the epoch's parameters frozen.
    swap_acceptance: PT's mean swap acceptance (None for CD and PCD).
    pbit_updates: p-bits drawn so far in training (cumulative). seconds: wall time so far.
    """

    epoch: int
    pseudo_ll_train: float
    pseudo_ll_test: float | None
    exact_ll_test: float | None
    reconstruction_error: float
    tau_int: float
    tau_int_reliable: bool
    swap_acceptance: float | None
    learning_rate: float
    pbit_updates: int
    seconds: float


class TrainingProgress(Protocol):
    """What `train_rbm` tells its caller (a job, the CLI): keeps training free of jobs."""

    @property
    def stop_requested(self) -> bool: ...

    def update(
        self, fraction: float, history: list[EpochRecord], rbm: RBM, fantasy: np.ndarray
    ) -> None: ...


@dataclass
class RBMTraining:
    """What `train_rbm` returns.

    rbm: the final model. history: one EpochRecord per finished epoch. fantasy: the β = 1
    negative chains' visible states (n_chains, n_visible). pbit_updates: p-bits drawn by the
    training (positive-phase sampling excluded: it has none; mixing checks included).
    seconds: wall time. update_seconds: the part spent on parameter updates (negative
    sampling and gradient steps), without the per-epoch curves and mixing checks.
    stopped: True when the caller asked to stop early.
    """

    rbm: RBM
    config: RBMConfig
    history: list[EpochRecord] = field(default_factory=list)
    fantasy: np.ndarray | None = None
    pbit_updates: int = 0
    seconds: float = 0.0
    update_seconds: float = 0.0
    stopped: bool = False

    def config_dict(self) -> dict[str, object]:
        return asdict(self.config)


def initial_rbm(data: np.ndarray, n_hidden: int, seed: int) -> RBM:
    """W ~ N(0, 0.01²), visible bias = log-odds of the data's unit means (smoothed by one
    pseudo-count each way), hidden bias 0 (Hinton, 'A practical guide to training RBMs')."""
    rbm = random_rbm(data.shape[1], n_hidden, weight_scale=0.01, seed=seed)
    means = (data.sum(axis=0) + 1.0) / (data.shape[0] + 2.0)
    return RBM(rbm.weights, np.log(means) - np.log1p(-means), rbm.hidden_bias)


def _learning_rate(config: RBMConfig, update: int, total_updates: int) -> float:
    if config.lr_schedule == "linear":
        return config.learning_rate * (1 - update / total_updates)
    return config.learning_rate


def train_rbm(
    train_data: np.ndarray,
    config: RBMConfig,
    *,
    test_data: np.ndarray | None = None,
    progress: TrainingProgress | None = None,
    initial: RBM | None = None,
    backend: Backend | None = None,
) -> RBMTraining:
    """Train an RBM on binary rows `train_data` (n_examples, n_visible) as `config` says.

    test_data: optional held-out rows for the test curves. initial: a model to continue
    from (same shape), else `initial_rbm`. backend: a backend to draw the p-bits with (its
    counter is read), else `get_backend(config.backend, seed=config.seed)`.
    Everything is validated before anything large is allocated.
    """
    data = compact_binary(train_data, name="train_data")  # uint8; float64 batch by batch
    config = config.check(data.shape[1])
    test = None if test_data is None else compact_binary(test_data, data.shape[1], "test_data")
    if initial is not None and initial.weights.shape != (data.shape[1], config.n_hidden):
        raise ValueError(
            f"the initial model is {initial.n_visible} × {initial.n_hidden}, the run "
            f"{data.shape[1]} × {config.n_hidden}"
        )
    backend = backend if backend is not None else get_backend(config.backend, seed=config.seed)
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 0xEB]))
    rbm = initial if initial is not None else initial_rbm(data, config.n_hidden, config.seed)
    optimizer = _Optimizer(config, [rbm.weights.shape, (rbm.n_visible,), (rbm.n_hidden,)])
    # The parameters live in these arrays, updated in place; `live` reads them for sampling and
    # gradients, and a frozen, checked RBM is built only for whoever reads the model.
    parameters = [np.array(rbm.weights), np.array(rbm.visible_bias), np.array(rbm.hidden_bias)]
    live = live_view(*parameters)
    counted_before = backend.counter.snapshot()["samples"]
    negatives = (
        None
        if config.method == "cd" or config.epochs == 0
        else Negatives.start(rbm, backend, config.ladder(), config.chains)
    )
    curve_train = data[rng.permutation(len(data))[:CURVE_EXAMPLES]]
    curve_test = None if test is None else test[:CURVE_EXAMPLES]
    batch_size = min(config.batch_size, len(data))
    batches_per_epoch = math.ceil(len(data) / batch_size)
    total_updates = batches_per_epoch * config.epochs
    result = RBMTraining(rbm, config)
    started = time.perf_counter()
    update = 0
    fantasy = data[:1].astype(np.float64)
    for epoch in range(config.epochs):
        epoch_started = time.perf_counter()
        shuffled = data[rng.permutation(len(data))]  # uint8: 1/8 of a float64 copy
        for start in range(0, len(data), batch_size):
            batch = shuffled[start : start + batch_size].astype(np.float64)
            if negatives is None:
                negative, _ = gibbs(live, backend, batch, config.k)
                fantasy, negative_hidden = negative, None
            else:
                negatives.advance(live, backend, config.k, update, rng)
                negative = fantasy = negatives.visible[0]
                negative_hidden = negatives.hidden_probabilities(live)
            grads = list(gradient(live, batch, negative, negative_hidden))
            if config.weight_decay:
                grads[0] -= config.weight_decay * parameters[0]
            learning_rate = _learning_rate(config, update, total_updates)
            optimizer.apply(parameters, grads, learning_rate)
            update += 1
            if progress is not None and update % 20 == 0:
                if progress.stop_requested:
                    break
                progress.update(update / total_updates, result.history, RBM(*parameters), fantasy)
        result.update_seconds += time.perf_counter() - epoch_started
        stopped = progress is not None and progress.stop_requested
        rbm = RBM(*parameters)  # a checked, frozen copy
        result.rbm, result.fantasy = rbm, fantasy
        if stopped:
            result.stopped = True
            break
        mixing = chain_mixing(rbm, backend, fantasy, config.mixing_sweeps)
        exact_test = None
        if test is not None and min(rbm.n_visible, rbm.n_hidden) <= EXACT_EVERY_EPOCH_UNITS:
            exact_test = log_likelihood(rbm, test, exact_log_partition(rbm))
        result.history.append(
            EpochRecord(
                epoch=epoch + 1,
                pseudo_ll_train=pseudo_log_likelihood(rbm, curve_train, seed=epoch),
                pseudo_ll_test=None
                if curve_test is None
                else pseudo_log_likelihood(rbm, curve_test, seed=epoch),
                exact_ll_test=exact_test,
                reconstruction_error=reconstruction_error(rbm, curve_train),
                tau_int=mixing.tau_int,
                tau_int_reliable=mixing.reliable,
                swap_acceptance=None
                if negatives is None or negatives.betas.size < 2
                else float(negatives.swap_acceptance.mean()),
                learning_rate=learning_rate,
                pbit_updates=backend.counter.snapshot()["samples"] - counted_before,
                seconds=time.perf_counter() - started,
            )
        )
        if progress is not None:
            progress.update((epoch + 1) / config.epochs, result.history, rbm, fantasy)
    result.pbit_updates = backend.counter.snapshot()["samples"] - counted_before
    result.seconds = time.perf_counter() - started
    return result
