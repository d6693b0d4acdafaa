"""Estimated energy where no sensor can be read: a stated power model × CPU use.

    P(t) = idle_watts + (max_watts − idle_watts) × u(t),
    u = CPU time / (wall time × cores), clamped to [0, 1],
    E = ∫ P dt, accumulated between successive reads of joules().

Every number it produces is labelled "estimated" and carries its assumptions (`describe()`):
the power figures are assumptions a person should replace with their machine's, not
measurements. The CPU time is the whole process's (scope "process": other work in the same
process, such as other Streamlit sessions, raises the estimate too) or the reading thread's
alone (scope "thread": right for work that runs in one thread).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Literal

from thermolab.energy.base import Clock, EnergyMeter
from thermolab.energy.ledger import EnergyKind

__all__ = ["CpuScope", "EstimateMeter", "PowerModel"]

#: Whose CPU time sets the utilisation: the whole process's, or the reading thread's.
CpuScope = Literal["process", "thread"]


@dataclass(frozen=True)
class PowerModel:
    """Assumed power of the device the training runs on.

    device: what is modelled, for people (e.g. "cpu").
    idle_watts: assumed power with nothing running, in W.
    max_watts: assumed power with every core busy, in W. The default, 65 W, is a common
        TDP rating of desktop CPUs; it is an assumption, not this machine's figure.
    cores: logical cores the utilisation is shared over (default: os.cpu_count()).
    """

    device: str = "cpu"
    idle_watts: float = 10.0
    max_watts: float = 65.0
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.idle_watts) and self.idle_watts >= 0):
            raise ValueError(f"idle_watts must be a finite number ≥ 0, not {self.idle_watts}")
        if not (math.isfinite(self.max_watts) and self.max_watts >= self.idle_watts):
            raise ValueError(
                f"max_watts must be finite and ≥ idle_watts ({self.idle_watts} W), "
                f"not {self.max_watts}"
            )
        if int(self.cores) != self.cores or self.cores < 1:
            raise ValueError(f"cores must be a whole number ≥ 1, not {self.cores}")

    def watts(self, utilisation: float) -> float:
        """Modelled power in W at `utilisation` in [0, 1]."""
        return self.idle_watts + (self.max_watts - self.idle_watts) * utilisation

    def describe(self, scope: CpuScope = "process") -> str:
        """The assumptions, in words; scope: whose CPU time sets the utilisation."""
        whose = {
            "process": "this process's CPU utilisation",
            "thread": "the CPU utilisation of the thread that runs the work (other threads "
            "of the server, e.g. other sessions, excluded)",
        }[scope]
        return (
            f"estimate, not a measurement: {self.device} assumed to draw {self.idle_watts:g} W "
            f"idle and {self.max_watts:g} W with all {self.cores} core(s) busy, scaled "
            f"linearly by {whose}"
        )


class EstimateMeter(EnergyMeter):
    """Estimated energy in J since opening, from a `PowerModel` and CPU time.

    assumptions: the power model (default PowerModel()).
    scope: "process" (CPU time of every thread of this process, time.process_time) or
        "thread" (CPU time of the thread that reads the meter, time.thread_time: right for a
        job whose work runs in its own thread, e.g. training with one torch thread, and blind
        to work in other threads). Read a "thread" meter from one thread only.
    clock: wall time in s, monotonic. cpu_clock: overrides the scope's CPU clock (tests).
    """

    name = "estimate"
    kind: EnergyKind = "estimated"

    def __init__(
        self,
        assumptions: PowerModel | None = None,
        *,
        scope: CpuScope = "process",
        clock: Clock = time.monotonic,
        cpu_clock: Clock | None = None,
    ) -> None:
        super().__init__(clock=clock)
        if scope not in ("process", "thread"):
            raise ValueError(f"scope must be 'process' or 'thread', not {scope!r}")
        self.assumptions = PowerModel() if assumptions is None else assumptions
        self.source = self.assumptions.describe(scope)
        if cpu_clock is None:
            cpu_clock = time.process_time if scope == "process" else time.thread_time
        self._cpu_clock = cpu_clock
        self._last = (clock(), cpu_clock())
        self._estimate = 0.0
        self._utilisation: float | None = None

    def _read_joules(self) -> float:
        now, cpu = self._clock(), self._cpu_clock()
        wall = now - self._last[0]
        if wall > 0:
            utilisation = (cpu - self._last[1]) / (wall * self.assumptions.cores)
            self._utilisation = min(max(utilisation, 0.0), 1.0)
            self._estimate += self.assumptions.watts(self._utilisation) * wall
            self._last = (now, cpu)
        return self._estimate

    def device_stats(self) -> dict[str, float]:
        """process_cpu_percent: this process's share of all cores between the last two reads."""
        if self._utilisation is None:
            return {}
        return {"process_cpu_percent": 100.0 * self._utilisation}
