"""Using a trained RBM: samples at any temperature, in-painting, classification by free energy.

A joint RBM for classification has a visible layer [image, one-hot label]: the label's units
are the last `n_classes` visible units (see `thermolab.ebm.data.one_hot`).
"""

from __future__ import annotations

import numpy as np

from thermolab.backends import Backend
from thermolab.ebm.model import RBM, check_binary
from thermolab.ebm.sampling import draw, gibbs

__all__ = ["Classification", "classify", "inpaint", "sample"]

MAX_SAMPLES = 10_000
MAX_SWEEPS = 100_000


def _check_counts(n_samples: int, n_sweeps: int) -> None:
    for name, value, high in (
        ("n_samples", n_samples, MAX_SAMPLES),
        ("n_sweeps", n_sweeps, MAX_SWEEPS),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or not 1 <= value <= high
        ):
            raise ValueError(f"{name} must be an integer from 1 to {high}, got {value!r}")


def _check_temperature(temperature: float) -> float:
    temperature = float(temperature)
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be positive and finite, got {temperature}")
    return temperature


def sample(
    rbm: RBM,
    backend: Backend,
    n_samples: int,
    *,
    n_sweeps: int = 200,
    temperature: float = 1.0,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Free-running chains at temperature T from uniform noise (or `start`).

    Returns (states, means): the visible states after `n_sweeps` sweeps, (n_samples, n_visible)
    of 0/1, and p(v = 1 | h) of the last sweep (the usual picture of a sample, less speckled).
    """
    _check_counts(n_samples, n_sweeps)
    beta = 1.0 / _check_temperature(temperature)
    if start is None:
        start = draw(backend, np.full((n_samples, rbm.n_visible), 0.5))
    else:
        start = check_binary(start, rbm.n_visible, "start")
    visible, hidden = gibbs(rbm, backend, start, n_sweeps, beta=beta)
    return visible, rbm.visible_probabilities(hidden, beta)


def inpaint(
    rbm: RBM,
    backend: Backend,
    image: np.ndarray,
    known: np.ndarray,
    *,
    n_samples: int = 16,
    n_sweeps: int = 200,
    temperature: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Fill in the unknown units of one `image` (n_visible,) given the bool mask `known`.

    Runs `n_samples` chains with the known units clamped, the rest from noise. Returns
    (completions (n_samples, n_visible) of 0/1, mean p(v = 1 | h) over chains (n_visible,)
    with the known units as given).
    """
    _check_counts(n_samples, n_sweeps)
    beta = 1.0 / _check_temperature(temperature)
    image = check_binary(image, rbm.n_visible, "image")[0]
    known = np.asarray(known, dtype=bool)
    if known.shape != (rbm.n_visible,):
        raise ValueError(
            f"known must be a bool mask of shape ({rbm.n_visible},), got {known.shape}"
        )
    noise = draw(backend, np.full((n_samples, rbm.n_visible), 0.5))
    start = np.where(known, image, noise)
    visible, hidden = gibbs(rbm, backend, start, n_sweeps, beta=beta, clamp=known)
    means = rbm.visible_probabilities(hidden, beta).mean(axis=0)
    return visible, np.where(known, image, means)


class Classification:
    """Predicted labels, their accuracy and the confusion matrix (rows true, columns predicted)."""

    def __init__(self, predicted: np.ndarray, labels: np.ndarray, n_classes: int) -> None:
        self.predicted = predicted
        self.accuracy = float(np.mean(predicted == labels))
        self.confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
        np.add.at(self.confusion, (labels, predicted), 1)


def classify(rbm: RBM, images: np.ndarray, labels: np.ndarray, n_classes: int) -> Classification:
    """Label each image (n, n_visible − n_classes) by the lowest free energy F([x, onehot(c)])
    over classes c: argmax_c p(x, c) under the joint RBM. Exact, no sampling."""
    if not isinstance(n_classes, int) or not 2 <= n_classes < rbm.n_visible:
        raise ValueError(f"n_classes must be from 2 to {rbm.n_visible - 1}, got {n_classes!r}")
    images = check_binary(images, rbm.n_visible - n_classes, "images")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (len(images),) or labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must be {len(images)} integers in 0 … {n_classes - 1}")
    free = np.empty((len(images), n_classes))
    for label in range(n_classes):
        code = np.zeros((len(images), n_classes))
        code[:, label] = 1
        free[:, label] = rbm.free_energy(np.hstack([images, code]))
    return Classification(free.argmin(axis=1), labels, n_classes)
