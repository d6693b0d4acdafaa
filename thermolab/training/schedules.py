"""Schedules over training steps: the free energy's temperature T(t) and the learning rate.

Each schedule is a pure function of the step t ∈ [0, t_max]; nothing here holds state, so a
resumed run picks up exactly where it left off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["T_SCHEDULES", "LearningRateSchedule", "TemperatureSchedule"]

TScheduleKind = Literal["constant", "exponential", "linear", "cosine"]
T_SCHEDULES: tuple[str, ...] = ("constant", "exponential", "linear", "cosine")


def _check_finite_non_negative(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number ≥ 0, got {value}")
    return value


@dataclass(frozen=True)
class TemperatureSchedule:
    """T(t) from `start` (T₀) at t = 0 to `end` (T_f) at t = t_max; T is dimensionless.

    constant:    T₀
    exponential: T₀ (T_f / T₀)^(t / t_max)   (needs T₀, T_f > 0)
    linear:      T₀ + (T_f − T₀) t / t_max
    cosine:      T_f + (T₀ − T_f)(1 + cos(π t / t_max)) / 2
    """

    kind: TScheduleKind = "constant"
    start: float = 1.0
    end: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in T_SCHEDULES:
            raise ValueError(f"T schedule must be one of {T_SCHEDULES}, got {self.kind!r}")
        _check_finite_non_negative("start temperature", self.start)
        _check_finite_non_negative("end temperature", self.end)
        if self.kind == "exponential" and (self.start <= 0 or self.end <= 0):
            raise ValueError(
                "an exponential T schedule needs start and end temperatures > 0 "
                f"(got {self.start} → {self.end}); use linear or cosine to reach 0"
            )

    def __call__(self, step: int, total_steps: int) -> float:
        """T at `step` of `total_steps` (steps beyond the end keep the end value)."""
        if self.kind == "constant":
            return float(self.start)
        fraction = min(max(step / max(total_steps, 1), 0.0), 1.0)
        if self.kind == "exponential":
            return self.start * (self.end / self.start) ** fraction
        if self.kind == "linear":
            return self.start + (self.end - self.start) * fraction
        return self.end + (self.start - self.end) * 0.5 * (1.0 + math.cos(math.pi * fraction))


@dataclass(frozen=True)
class LearningRateSchedule:
    """nanoGPT's schedule: linear warm-up to `peak`, then cosine decay to `floor` at t_max."""

    peak: float = 1e-3
    floor: float = 1e-4
    warmup_steps: int = 100

    def __post_init__(self) -> None:
        if not (math.isfinite(self.peak) and self.peak > 0):
            raise ValueError(f"learning rate must be positive and finite, got {self.peak}")
        if not (math.isfinite(self.floor) and 0 <= self.floor <= self.peak):
            raise ValueError(
                f"minimum learning rate must lie in [0, {self.peak}], got {self.floor}"
            )
        if self.warmup_steps < 0:
            raise ValueError(f"warm-up steps must be ≥ 0, got {self.warmup_steps}")

    def __call__(self, step: int, total_steps: int) -> float:
        """Learning rate for optimiser step `step` (0-based) of `total_steps`."""
        if step < self.warmup_steps:
            return self.peak * (step + 1) / (self.warmup_steps + 1)
        decay_steps = max(total_steps - self.warmup_steps, 1)
        fraction = min((step - self.warmup_steps) / decay_steps, 1.0)
        return self.floor + 0.5 * (1.0 + math.cos(math.pi * fraction)) * (self.peak - self.floor)
