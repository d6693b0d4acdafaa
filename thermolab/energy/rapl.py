"""Measured CPU energy through RAPL, as Linux's powercap framework exposes it.

Each CPU package has a zone `intel-rapl:N` (name "package-N") whose `energy_uj` counts µJ and
wraps to 0 after `max_energy_range_uj`. Sub-zones (`intel-rapl:N:M`: core, uncore, dram) and
the platform zone ("psys") are not added: core and uncore are already inside the package, and
psys contains it. DRAM is outside the package and is therefore not counted.

Wrap-around: a reading lower than the previous one is taken as one wrap. Two wraps between
reads cannot be told from one, so reads must come more often than the wrap period,
max_energy_range_uj / package power (typically 2^32 counter units ≈ 262 kJ, i.e. about 40
minutes at 100 W). joules() reads the counters on every call; a training loop that reads it
every step is far inside that.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from thermolab.energy import probe
from thermolab.energy.base import Clock, EnergyMeter, MeterUnavailable
from thermolab.energy.ledger import EnergyKind
from thermolab.energy.probe import RAPL_PERMISSION_HINT, zone_label

__all__ = ["RaplMeter", "package_zones"]

_PACKAGE_DIRECTORY = re.compile(r"intel-rapl:\d+")


def package_zones(root: Path) -> list[Path]:
    """The package zones under a powercap root: top-level `intel-rapl:N` named "package-…"."""
    zones = []
    for zone in sorted(root.glob("intel-rapl:*")):
        if not _PACKAGE_DIRECTORY.fullmatch(zone.name) or not (zone / "energy_uj").exists():
            continue
        try:
            name = (zone / "name").read_text().strip()
        except OSError:
            continue
        if name.startswith("package"):
            zones.append(zone)
    return zones


class _Counter:
    """One zone's wrapping µJ counter, unwrapped into a running total since opening."""

    def __init__(self, zone: Path) -> None:
        self.zone = zone
        self.max_range_uj = _read_uj(zone / "max_energy_range_uj")
        if self.max_range_uj <= 0:
            raise ValueError(f"{zone}/max_energy_range_uj is {self.max_range_uj}")
        self.last_uj = _read_uj(zone / "energy_uj")
        self.total_uj = 0

    def read(self) -> int:
        """Advance to the counter's current value; return µJ since opening."""
        now = _read_uj(self.zone / "energy_uj")
        step = now - self.last_uj
        if step < 0:  # wrapped past max_energy_range_uj (to within one counter unit)
            step += self.max_range_uj
        self.total_uj += step
        self.last_uj = now
        return self.total_uj


def _read_uj(path: Path) -> int:
    return int(path.read_text().strip())


class RaplMeter(EnergyMeter):
    """Measured energy of all CPU packages, in J since the meter opened.

    root: the powercap directory (default RAPL_ROOT, read when the meter opens).
    clock: seconds, monotonic (for the average power between reads).

    Raises MeterUnavailable when no package zone exists or its counters cannot be read
    (e.g. permission denied: energy_uj is root-only on current kernels).
    """

    name = "RAPL"
    kind: EnergyKind = "measured"

    def __init__(self, root: Path | str | None = None, *, clock: Clock = time.monotonic) -> None:
        super().__init__(clock=clock)
        root = probe.RAPL_ROOT if root is None else Path(root)
        zones = package_zones(root)
        if not zones:
            raise MeterUnavailable(
                f"RAPL: no package zone (intel-rapl:N named package-N with energy_uj) under "
                f"{root}: not exposed here (VM, container, or a CPU without RAPL)"
            )
        try:
            self._counters = [_Counter(zone) for zone in zones]
        except PermissionError as exc:
            raise MeterUnavailable(
                f"RAPL: permission denied reading {exc.filename or root} ({RAPL_PERMISSION_HINT})"
            ) from exc
        except (OSError, ValueError) as exc:
            raise MeterUnavailable(f"RAPL: unreadable counter: {probe.one_line(exc)}") from exc
        labels = ", ".join(zone_label(zone) for zone in zones)
        self.source = f"RAPL package energy counters: {labels} (DRAM not included)"

    def _read_joules(self) -> float:
        return sum(counter.read() for counter in self._counters) / 1e6
