"""Energy meters behind one interface, opened by name.

    with open_meter("nvml") as meter:          # or best_available_meter()
        before = meter.joules()
        ...one training step; synchronise the device...
        step_joules = meter.joules() - before  # kind: meter.kind, source: meter.source

Meters: "nvml" (NVIDIA GPU, measured), "rapl" (CPU packages, measured), "estimate" (a stated
power model, estimated) and "none" (no meter). See `thermolab.energy.base` for the promises
every meter keeps (never decreasing, never crashing the training on a failed read).
"""

from __future__ import annotations

from typing import Any

from thermolab.energy.base import EnergyMeter, MeterUnavailable
from thermolab.energy.estimate import EstimateMeter, PowerModel
from thermolab.energy.ledger import EnergyKind
from thermolab.energy.nvml import NvmlMeter
from thermolab.energy.power import SampledPowerIntegrator, integrate_power
from thermolab.energy.rapl import RaplMeter

__all__ = [
    "METER_NAMES",
    "EnergyKind",
    "EnergyMeter",
    "EstimateMeter",
    "MeterUnavailable",
    "NvmlMeter",
    "PowerModel",
    "RaplMeter",
    "SampledPowerIntegrator",
    "best_available_meter",
    "integrate_power",
    "open_meter",
]

_METERS: dict[str, type[EnergyMeter]] = {
    "nvml": NvmlMeter,
    "rapl": RaplMeter,
    "estimate": EstimateMeter,
}
#: The names open_meter accepts, in order of preference.
METER_NAMES: tuple[str, ...] = (*_METERS, "none")


def open_meter(name: str, **options: Any) -> EnergyMeter | None:
    """Open the meter called `name` (case-insensitive); "none" gives None.

    options: passed to the meter's constructor (e.g. gpu_index=1 for "nvml").
    Raises MeterUnavailable (with the reason) when the meter cannot be read here, and
    ValueError for a name not in METER_NAMES.
    """
    key = name.strip().lower()
    if key == "none":
        return None
    if key not in _METERS:
        raise ValueError(f"unknown energy meter {name!r}; choose one of {', '.join(METER_NAMES)}")
    return _METERS[key](**options)


def best_available_meter() -> EnergyMeter:
    """NVML if it can be read here, else RAPL, else the estimate (which always opens)."""
    for meter in (NvmlMeter, RaplMeter):
        try:
            return meter()
        except MeterUnavailable:
            continue
    return EstimateMeter()
