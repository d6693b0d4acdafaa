"""Energy from power readings: the trapezoid rule, and a sampler that applies it as readings come.

Where a device has a power sensor but no energy counter (NVIDIA GPUs before Volta), energy is
the integral of sampled power. The trapezoid rule is exact when power is linear between
samples; for power that jumps between samples its error is at most |jump| × (sample interval)/2
per jump, which is why the sampler runs at ≥ 10 Hz.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence

from thermolab.energy.base import Clock
from thermolab.energy.probe import one_line

__all__ = ["MIN_SAMPLE_HZ", "SampledPowerIntegrator", "integrate_power"]

#: The slowest background sampling rate allowed, in Hz.
MIN_SAMPLE_HZ = 10.0


def integrate_power(times_s: Sequence[float], watts: Sequence[float]) -> float:
    """∫ P dt by the trapezoid rule, in J.

    times_s: sample times in s, strictly increasing. watts: power at those times in W, finite
    and ≥ 0. Fewer than two samples span no time and give 0.
    """
    if len(times_s) != len(watts):
        raise ValueError(f"{len(times_s)} times but {len(watts)} power readings")
    if any(not math.isfinite(w) or w < 0 for w in watts):
        raise ValueError("power readings must be finite and ≥ 0 W")
    total = 0.0
    for i in range(1, len(times_s)):
        t0, t1 = times_s[i - 1], times_s[i]
        if not t1 > t0:
            raise ValueError(f"sample times must increase strictly ({t0!r} then {t1!r})")
        total += 0.5 * (watts[i - 1] + watts[i]) * (t1 - t0)
    return total


class SampledPowerIntegrator:
    """Cumulative energy from a power reading, sampled in the background and on every read.

    read_watts: the device's power now, in W (raises if the sensor is gone).
    sample_hz: background sampling rate in Hz, ≥ MIN_SAMPLE_HZ.
    clock: seconds, monotonic.

    `sample()` takes a reading and adds the trapezoid since the previous one, so the energy it
    returns reaches up to the moment of the call; the background thread (`start()`) samples
    between calls so that power changing during a long step is followed at `sample_hz`.
    A failed reading stops sampling for good: `failure` says why and `joules` stays at the
    integral up to the last good reading.
    """

    def __init__(
        self,
        read_watts: Callable[[], float],
        *,
        sample_hz: float = 20.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if not math.isfinite(sample_hz) or sample_hz < MIN_SAMPLE_HZ:
            raise ValueError(f"sample_hz must be at least {MIN_SAMPLE_HZ:g} Hz, not {sample_hz}")
        self.sample_hz = float(sample_hz)
        self.failure: str | None = None
        self._read_watts = read_watts
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: tuple[float, float] | None = None  # (time s, power W) of the last reading
        self._joules = 0.0
        self._samples = 0

    @property
    def joules(self) -> float:
        """Integral of power up to the last good reading, in J."""
        with self._lock:
            return self._joules

    @property
    def watts(self) -> float | None:
        """The last good power reading in W (None before the first)."""
        with self._lock:
            return None if self._last is None else self._last[1]

    @property
    def samples(self) -> int:
        """How many good readings have been taken."""
        with self._lock:
            return self._samples

    def sample(self) -> float:
        """Read power now, integrate since the last reading, return the cumulative J.

        Raises what the reader raised, or RuntimeError once a reading has failed.
        """
        with self._lock:
            if self.failure is not None:
                raise RuntimeError(self.failure)
            try:
                watts = float(self._read_watts())
                if not math.isfinite(watts) or watts < 0:
                    raise ValueError(f"power reading of {watts!r} W")
            except Exception as exc:
                self.failure = f"power sampling stopped: {one_line(exc)}"
                self._stop.set()
                raise
            now = self._clock()
            if self._last is not None and now > self._last[0]:
                self._joules += integrate_power((self._last[0], now), (self._last[1], watts))
            self._last = (now, watts)
            self._samples += 1
            return self._joules

    def start(self) -> None:
        """Take the first reading now (raises if it fails) and start the sampling thread."""
        self.sample()
        self._thread = threading.Thread(
            target=self._run, name="thermolab-power-sampler", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        interval = 1.0 / self.sample_hz
        while not self._stop.wait(interval):
            try:
                self.sample()
            except Exception:  # recorded in self.failure; the reader of joules sees it
                return

    def stop(self) -> None:
        """Stop the sampling thread (waits for it briefly). Idempotent."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0 / self.sample_hz + 1.0)
