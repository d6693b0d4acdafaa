"""Measured GPU energy through NVML (the nvidia-ml-py package, imported as `pynvml`).

Two modes, chosen when the meter opens and named in its `source`:

- energy counter: `nvmlDeviceGetTotalEnergyConsumption`, the board's energy in mJ since the
  driver loaded (Volta and newer). Each joules() reads it; the difference from the first read
  is the energy. NVML refreshes the counter every few tens of ms, so very short intervals
  are coarse.
- sampled power: on GPUs without the counter, `nvmlDeviceGetPowerUsage` (mW) read at
  `sample_hz` on a background thread and on every joules(), integrated by the trapezoid rule
  (`SampledPowerIntegrator`).

The energy is the whole board's: other processes on the same GPU count too.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from thermolab.energy.base import Clock, EnergyMeter, MeterUnavailable
from thermolab.energy.ledger import EnergyKind
from thermolab.energy.power import SampledPowerIntegrator
from thermolab.energy.probe import gpu_name, one_line

__all__ = ["NvmlMeter"]

MIB = 2**20


class NvmlMeter(EnergyMeter):
    """Measured energy of one NVIDIA GPU, in J since the meter opened.

    gpu_index: NVML's device index (PCI order; may differ from CUDA's unless
        CUDA_DEVICE_ORDER=PCI_BUS_ID).
    sample_hz: power sampling rate in Hz, used only where the energy counter is missing.
    clock: seconds, monotonic (for the sampled mode and the power average).

    Raises MeterUnavailable (with the reason) when pynvml, the driver or the GPU is missing.
    """

    name = "NVML"
    kind: EnergyKind = "measured"

    def __init__(
        self, gpu_index: int = 0, *, sample_hz: float = 20.0, clock: Clock = time.monotonic
    ) -> None:
        super().__init__(clock=clock)
        try:
            import pynvml
        except ImportError as exc:
            raise MeterUnavailable(
                f"NVML: pynvml is not installed ({exc}); install nvidia-ml-py"
            ) from exc
        try:
            pynvml.nvmlInit()
        except Exception as exc:  # NVMLError subclasses, or the shared library is missing
            raise MeterUnavailable(
                f"NVML did not initialise: {one_line(exc)} (no NVIDIA driver here?)"
            ) from exc
        self._nvml: Any = pynvml
        self._integrator: SampledPowerIntegrator | None = None
        try:
            self._handle = self._open(gpu_index, sample_hz, clock)
        except BaseException:
            with contextlib.suppress(Exception):
                pynvml.nvmlShutdown()
            raise

    def _open(self, gpu_index: int, sample_hz: float, clock: Clock) -> Any:
        nvml = self._nvml
        try:
            count = nvml.nvmlDeviceGetCount()
            if not 0 <= gpu_index < count:
                raise MeterUnavailable(
                    f"NVML sees {count} GPU(s); there is no GPU {gpu_index}"
                    + (f" (choose 0 to {count - 1})" if count else "")
                )
            handle = nvml.nvmlDeviceGetHandleByIndex(gpu_index)
            label = f"GPU {gpu_index} {gpu_name(nvml, handle)}"
        except MeterUnavailable:
            raise
        except Exception as exc:
            raise MeterUnavailable(f"NVML query failed: {one_line(exc)}") from exc
        try:
            self._start_mj = int(nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
        except Exception as exc:  # "Not Supported" before Volta
            reason = one_line(exc)
        else:
            self.source = f"NVML total-energy counter, {label}"
            return handle

        def read_watts() -> float:
            return nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0  # mW → W

        integrator = SampledPowerIntegrator(read_watts, sample_hz=sample_hz, clock=clock)
        try:
            integrator.start()
        except Exception as exc:
            raise MeterUnavailable(
                f"NVML has neither an energy counter ({reason}) nor a power reading "
                f"({one_line(exc)}) for {label}"
            ) from exc
        self._integrator = integrator
        self.source = (
            f"NVML power sampled at {integrator.sample_hz:g} Hz and integrated (trapezoid), "
            f"{label}; no energy counter ({reason})"
        )
        return handle

    def _read_joules(self) -> float:
        if self._integrator is not None:
            return self._integrator.sample()
        millijoules = int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))
        return (millijoules - self._start_mj) / 1000.0

    def power_watts(self) -> float | None:
        """The GPU's power in W as NVML reports it (None if unavailable or after a failure).

        On Ampere and newer GPUs NVML's power reading is averaged over about a second.
        """
        if self.failure is not None:
            return None
        if self._integrator is not None:
            return self._integrator.watts
        try:
            return self._nvml.nvmlDeviceGetPowerUsage(self._handle) / 1000.0
        except Exception:  # not every board reports power; energy is unaffected
            return None

    def device_stats(self) -> dict[str, float]:
        """gpu_utilization_percent, memory_utilization_percent, memory_used_mib,
        memory_total_mib: whichever this GPU reports ({} after a failure)."""
        if self.failure is not None:
            return {}
        stats: dict[str, float] = {}
        with contextlib.suppress(Exception):
            rates = self._nvml.nvmlDeviceGetUtilizationRates(self._handle)
            stats["gpu_utilization_percent"] = float(rates.gpu)
            stats["memory_utilization_percent"] = float(rates.memory)
        with contextlib.suppress(Exception):
            memory = self._nvml.nvmlDeviceGetMemoryInfo(self._handle)
            stats["memory_used_mib"] = memory.used / MIB
            stats["memory_total_mib"] = memory.total / MIB
        return stats

    def _release(self) -> None:
        if self._integrator is not None:
            self._integrator.stop()
        with contextlib.suppress(Exception):
            self._nvml.nvmlShutdown()
