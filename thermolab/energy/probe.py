"""Which energy meters this machine offers, probed once and reported in one line each.

`probe_meters()` never raises: a meter that cannot be read says why (library missing, no device,
permission denied) so the app and the command line can show it instead of a traceback.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = ["RAPL_ROOT", "MeterStatus", "probe_estimate", "probe_meters", "probe_nvml", "probe_rapl"]

#: Where the Linux powercap framework exposes RAPL zones (intel-rapl:0, intel-rapl:0:0, …).
RAPL_ROOT = Path("/sys/class/powercap")

#: Why RAPL counters are often unreadable, and what to do about it.
RAPL_PERMISSION_HINT = (
    "root-only since Linux 5.10; run as root or grant read access to energy_uj, "
    "or use the estimate meter"
)

MeterKind = Literal["measured", "estimated"]


@dataclass(frozen=True)
class MeterStatus:
    """One energy meter and whether it can be read here.

    name: "NVML", "RAPL" or "estimate".
    available: True when readings can be taken now.
    detail: one line, for people: what was found, or why the meter is unavailable.
    kind: "measured" for a sensor, "estimated" for a model (never shown as a measurement).
    """

    name: str
    available: bool
    detail: str
    kind: MeterKind = "measured"


def probe_nvml() -> MeterStatus:
    """NVIDIA GPUs through NVML: GPU names and whether the total-energy counter is supported."""
    try:
        import pynvml
    except ImportError as exc:
        return MeterStatus("NVML", False, f"pynvml is not installed ({exc})")

    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError subclasses; the library may be absent entirely.
        return MeterStatus("NVML", False, f"NVML did not initialise: {one_line(exc)}")

    try:
        count = pynvml.nvmlDeviceGetCount()
        gpus = []
        for index in range(count):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = gpu_name(pynvml, handle)
            try:
                pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
                counter = "energy counter supported"
            except Exception as exc:
                counter = f"no energy counter ({one_line(exc)})"
            gpus.append(f"GPU {index}: {name}, {counter}")
    except Exception as exc:
        return MeterStatus("NVML", False, f"NVML initialised but a query failed: {one_line(exc)}")
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()

    if not gpus:
        return MeterStatus("NVML", False, "NVML initialised but sees no GPU")
    return MeterStatus("NVML", True, "; ".join(gpus))


def probe_rapl(root: Path | None = None) -> MeterStatus:
    """CPU package/DRAM energy through RAPL: readable `intel-rapl:*/energy_uj` counters.

    root: the powercap directory (default `RAPL_ROOT`, read at call time so tests can move it).
    """
    root = RAPL_ROOT if root is None else Path(root)
    zones = sorted(p for p in root.glob("intel-rapl:*") if (p / "energy_uj").exists())
    if not zones:
        return MeterStatus(
            "RAPL",
            False,
            f"absent: no intel-rapl:*/energy_uj under {root} "
            "(not exposed here: VM, container, or a CPU without RAPL)",
        )

    readable, denied, failed = [], [], []
    for zone in zones:
        try:
            int((zone / "energy_uj").read_text().strip())
        except PermissionError:
            denied.append(zone.name)
            continue
        except (OSError, ValueError) as exc:
            failed.append(f"{zone.name} ({one_line(exc)})")
            continue
        readable.append(zone_label(zone))

    if readable:
        return MeterStatus("RAPL", True, f"{len(readable)} zone(s) readable: {', '.join(readable)}")
    if denied:
        return MeterStatus(
            "RAPL",
            False,
            f"permission denied reading energy_uj in {len(denied)} zone(s) "
            f"({RAPL_PERMISSION_HINT})",
        )
    return MeterStatus("RAPL", False, f"unreadable: {'; '.join(failed)}")


def probe_estimate() -> MeterStatus:
    """The fallback that always exists: a labelled power model, not a measurement."""
    return MeterStatus(
        "estimate",
        True,
        "a model (device power × utilisation × time), labelled as an estimate; not a measurement",
        kind="estimated",
    )


def probe_meters() -> list[MeterStatus]:
    """All meters, in display order: NVML, RAPL, estimate. Never raises."""
    return [probe_nvml(), probe_rapl(), probe_estimate()]


def gpu_name(pynvml: Any, handle: Any) -> str:
    """The GPU's marketing name (older pynvml versions return bytes)."""
    name = pynvml.nvmlDeviceGetName(handle)
    return name.decode(errors="replace") if isinstance(name, bytes) else str(name)


def zone_label(zone: Path) -> str:
    """A RAPL zone for people: "package-0 (intel-rapl:0)", or the directory name alone."""
    try:
        name = (zone / "name").read_text().strip()
    except OSError:
        return zone.name
    return f"{name} ({zone.name})" if name else zone.name


def one_line(exc: BaseException) -> str:
    """An exception as one line of at most 160 characters, for a status or failure message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "…"
