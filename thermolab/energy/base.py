"""The one interface every energy meter has, and the rules that keep a reading safe to use.

A meter reports the cumulative energy of one device since it was opened, in joules. A
training loop reads it before and after each step (after synchronising the device) and keeps
the difference. Two promises make that safe:

- readings never decrease (a counter that goes backwards is a failure, not negative energy);
- a meter never crashes the training it meters: when a read fails (NVML gone, a sysfs file
  vanished) the meter records why in `failure` and `joules()` keeps returning the last good
  value, so the run finishes with an energy that is known to be incomplete up to that point.
"""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType

from thermolab.energy.ledger import EnergyKind
from thermolab.energy.probe import one_line

__all__ = ["Clock", "EnergyMeter", "MeterUnavailable"]

#: A clock in seconds, e.g. time.monotonic (injectable so tests can drive time).
Clock = Callable[[], float]


class MeterUnavailable(RuntimeError):
    """This meter cannot be opened here; the message says why and what would change that."""


class EnergyMeter(ABC):
    """Cumulative energy of one device since the meter was opened.

    name: "NVML", "RAPL" or "estimate".
    kind: "measured" (a sensor) or "estimated" (a model).
    source: one line for people: which device, read how.
    failure: None while readings are good; after a failed read, what happened (readings then
        stay at the last good value).

    Subclasses implement `_read_joules()` (cumulative J since opening; may raise) and, if
    they hold resources, `_release()`.
    """

    name: str
    kind: EnergyKind
    source: str

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self.failure: str | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
        self._joules = 0.0
        # (time s, cumulative J) of the last two good reads, for the average power between them.
        self._reads: list[tuple[float, float]] = [(clock(), 0.0)]

    @abstractmethod
    def _read_joules(self) -> float:
        """Cumulative energy since the meter was opened, in J (raises if the device is gone)."""

    def _release(self) -> None:
        """Free what the meter holds (threads, library handles); called once by close().

        Meters that hold nothing keep this default, which does nothing.
        """
        return None

    def joules(self) -> float:
        """Cumulative energy since the meter was opened, in J: finite, never decreasing.

        Reads the device on every call. After a failure (see `failure`) or close(), returns the
        last good value without reading.
        """
        with self._lock:
            if self.failure is None and not self._closed:
                try:
                    value = float(self._read_joules())
                except Exception as exc:  # whatever the device raised: never crash training
                    self.failure = (
                        f"{self.name} read failed ({one_line(exc)}); energy frozen at "
                        f"{self._joules:.6g} J"
                    )
                else:
                    if math.isfinite(value) and value >= self._joules:
                        self._joules = value
                        self._reads = [*self._reads[-1:], (self._clock(), value)]
                    else:
                        self.failure = (
                            f"{self.name} reported {value!r} J after {self._joules:.6g} J "
                            "(counter reset, e.g. a driver reload?); energy frozen at "
                            f"{self._joules:.6g} J"
                        )
            return self._joules

    def power_watts(self) -> float | None:
        """Latest power in W if known: here, the average between the last two reads of joules().

        None before two reads, or after a failure. Meters with a power sensor override this.
        """
        with self._lock:
            if self.failure is not None or len(self._reads) < 2:
                return None
            (t0, j0), (t1, j1) = self._reads
            return (j1 - j0) / (t1 - t0) if t1 > t0 else None

    def device_stats(self) -> dict[str, float]:
        """What else the device reports (e.g. utilisation in %, memory in MiB); {} if nothing."""
        return {}

    def close(self) -> None:
        """Stop reading and free resources; joules() then returns the last value. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._release()

    def __enter__(self) -> EnergyMeter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind}: {self.source}>"
