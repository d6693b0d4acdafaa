"""The backend registry: every stochastic primitive in ThermoLab goes through a backend found here.

Built-in backends are `numpy` (the reference oracle), `jax` (the default, jit-compiled) and
`torch` (in-graph sampling for trainers). Third parties add one through the Python entry-point
group `thermolab.backends`, whose entries name a `Backend` subclass:

    [project.entry-points."thermolab.backends"]
    mychip = "mychip_thermolab:MyChipBackend"

Modules are imported only when a backend is asked for, so listing backends stays cheap.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points

from thermolab.backends.base import (
    ALGORITHMS,
    Backend,
    BackendUnavailable,
    Capabilities,
    OperationCounter,
    SampleResult,
    TemperingResult,
    beta_schedule,
    temperature_schedule,
)

__all__ = [
    "ALGORITHMS",
    "DEFAULT_BACKEND",
    "Backend",
    "BackendStatus",
    "BackendUnavailable",
    "Capabilities",
    "OperationCounter",
    "SampleResult",
    "TemperingResult",
    "available_backends",
    "backend_names",
    "beta_schedule",
    "get_backend",
    "local_device_count",
    "temperature_schedule",
]

DEFAULT_BACKEND = "jax"
ENTRY_POINT_GROUP = "thermolab.backends"

_BUILTIN: dict[str, str] = {
    "jax": "thermolab.backends.jax_backend:JaxBackend",
    "numpy": "thermolab.backends.numpy_backend:NumpyBackend",
    "torch": "thermolab.backends.torch_backend:TorchBackend",
}


@dataclass(frozen=True)
class BackendStatus:
    """One row of the backend table: whether it runs here, and if not, why (one line);
    what it can do where it runs (None where it does not run)."""

    name: str
    available: bool
    reason: str | None
    device: str
    version: str
    source: str
    capabilities: Capabilities | None = None


def _registered() -> dict[str, str]:
    """Name → 'module:Class' for built-ins and for every installed plugin."""
    targets = dict(_BUILTIN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        targets.setdefault(entry.name, entry.value)
    return targets


def backend_names() -> list[str]:
    """Names of every registered backend, installed or not, default first."""
    names = sorted(_registered())
    return sorted(names, key=lambda name: name != DEFAULT_BACKEND)


def _load_class(name: str) -> type[Backend]:
    targets = _registered()
    if name not in targets:
        known = ", ".join(backend_names())
        raise BackendUnavailable(f"no backend named {name!r} is registered (known: {known})")
    module_name, _, class_name = targets[name].partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except ImportError as error:
        raise BackendUnavailable(f"backend {name!r} cannot be imported: {error}") from error
    except AttributeError as error:
        raise BackendUnavailable(f"backend {name!r}: {targets[name]} does not exist") from error
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise BackendUnavailable(f"backend {name!r}: {targets[name]} is not a Backend subclass")
    reason = cls.probe()
    if reason is not None:
        raise BackendUnavailable(f"backend {name!r} cannot run here: {reason}")
    return cls


def get_backend(name: str = DEFAULT_BACKEND, **options: object) -> Backend:
    """A new instance of the backend called `name` (options go to its constructor, e.g. seed).

    Raises BackendUnavailable, with a one-line reason, when it is unknown or cannot run here.
    """
    return _load_class(name)(**options)


def local_device_count(name: str = DEFAULT_BACKEND) -> int:
    """How many devices the backend called `name` could spread chains over here: its
    `devices` option takes 1 … this (1 for a backend that takes no device count).

    Raises BackendUnavailable as `get_backend` does.
    """
    return _load_class(name).local_device_count()


def available_backends() -> list[BackendStatus]:
    """Status of every registered backend; never raises."""
    rows = []
    targets = _registered()
    for name in backend_names():
        source = "built-in" if name in _BUILTIN else "plugin"
        try:
            backend = get_backend(name)
        except BackendUnavailable as error:
            rows.append(BackendStatus(name, False, str(error), "-", "-", source))
            continue
        except Exception as error:  # a broken plugin must not break the table
            reason = f"{targets[name]} failed to start: {type(error).__name__}: {error}"
            rows.append(BackendStatus(name, False, reason, "-", "-", source))
            continue
        rows.append(
            BackendStatus(
                name, True, None, backend.device, backend.version, source, backend.capabilities
            )
        )
    return rows
