"""The energy-meter probe: one honest line per meter, never an exception."""

from __future__ import annotations

import dataclasses
import sys
import types
from pathlib import Path

import pytest

from thermolab.energy import probe
from thermolab.energy.probe import MeterStatus, probe_meters, probe_nvml, probe_rapl


def _fake_zone(root: Path, zone: str, name: str, energy_uj: str = "123456789") -> Path:
    directory = root / zone
    directory.mkdir(parents=True)
    (directory / "energy_uj").write_text(energy_uj + "\n")
    (directory / "name").write_text(name + "\n")
    return directory


def _install_fake_pynvml(monkeypatch, **functions) -> types.ModuleType:
    module = types.ModuleType("pynvml")

    def not_called(*args, **kwargs):
        raise AssertionError("unexpected NVML call")

    for attribute in (
        "nvmlInit",
        "nvmlShutdown",
        "nvmlDeviceGetCount",
        "nvmlDeviceGetHandleByIndex",
        "nvmlDeviceGetName",
        "nvmlDeviceGetTotalEnergyConsumption",
    ):
        setattr(module, attribute, functions.get(attribute, not_called))
    monkeypatch.setitem(sys.modules, "pynvml", module)
    return module


def test_meter_status_is_frozen():
    status = MeterStatus("RAPL", False, "absent")
    with pytest.raises(dataclasses.FrozenInstanceError):
        status.available = True  # type: ignore[misc]


def test_rapl_readable_zones_are_available(tmp_path, monkeypatch):
    _fake_zone(tmp_path, "intel-rapl:0", "package-0")
    _fake_zone(tmp_path, "intel-rapl:0:0", "dram")
    monkeypatch.setattr(probe, "RAPL_ROOT", tmp_path)

    status = probe_rapl()

    assert status.name == "RAPL"
    assert status.available
    assert status.kind == "measured"
    assert "package-0" in status.detail and "dram" in status.detail


def test_rapl_absent_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(probe, "RAPL_ROOT", tmp_path / "no-powercap-here")

    status = probe_rapl()

    assert not status.available
    assert status.detail.startswith("absent")


def test_rapl_permission_denied_says_so(tmp_path, monkeypatch):
    _fake_zone(tmp_path, "intel-rapl:0", "package-0")
    monkeypatch.setattr(probe, "RAPL_ROOT", tmp_path)
    real_read_text = Path.read_text

    def read_text(self, *args, **kwargs):
        if self.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)

    # Tests may run as root, where chmod cannot take read access away; fake the kernel instead.
    monkeypatch.setattr(Path, "read_text", read_text)

    status = probe_rapl()

    assert not status.available
    assert "permission denied" in status.detail


def test_rapl_garbage_counter_is_unavailable(tmp_path, monkeypatch):
    _fake_zone(tmp_path, "intel-rapl:0", "package-0", energy_uj="not a number")

    status = probe_rapl(tmp_path)

    assert not status.available
    assert "intel-rapl:0" in status.detail


def test_nvml_init_failure_is_one_line(monkeypatch):
    def fail():
        raise RuntimeError("NVML Shared Library Not Found\n(driver missing)")

    _install_fake_pynvml(monkeypatch, nvmlInit=fail)

    status = probe_nvml()

    assert status.name == "NVML"
    assert not status.available
    assert "NVML Shared Library Not Found" in status.detail
    assert "\n" not in status.detail


def test_nvml_missing_library_is_reported(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError

    status = probe_nvml()

    assert not status.available
    assert "not installed" in status.detail


def test_nvml_lists_gpus_and_energy_counter_support(monkeypatch):
    shutdowns = []

    def energy(handle):
        if handle == 1:
            raise RuntimeError("Not Supported")
        return 42_000

    _install_fake_pynvml(
        monkeypatch,
        nvmlInit=lambda: None,
        nvmlShutdown=lambda: shutdowns.append(True),
        nvmlDeviceGetCount=lambda: 2,
        nvmlDeviceGetHandleByIndex=lambda index: index,
        nvmlDeviceGetName=lambda handle: ["NVIDIA H100", b"Tesla P100"][handle],
        nvmlDeviceGetTotalEnergyConsumption=energy,
    )

    status = probe_nvml()

    assert status.available
    assert "GPU 0: NVIDIA H100, energy counter supported" in status.detail
    assert "GPU 1: Tesla P100, no energy counter (Not Supported)" in status.detail
    assert shutdowns == [True]


def test_nvml_without_gpus_is_unavailable(monkeypatch):
    _install_fake_pynvml(
        monkeypatch, nvmlInit=lambda: None, nvmlShutdown=lambda: None, nvmlDeviceGetCount=lambda: 0
    )

    status = probe_nvml()

    assert not status.available
    assert "no GPU" in status.detail


def test_probe_meters_order_and_estimate_always_available(tmp_path, monkeypatch):
    def fail():
        raise RuntimeError("no driver")

    _install_fake_pynvml(monkeypatch, nvmlInit=fail)
    monkeypatch.setattr(probe, "RAPL_ROOT", tmp_path)

    meters = probe_meters()

    assert [m.name for m in meters] == ["NVML", "RAPL", "estimate"]
    assert [m.available for m in meters] == [False, False, True]
    estimate = meters[-1]
    assert estimate.kind == "estimated"
    assert "not a measurement" in estimate.detail
    assert all(isinstance(m.detail, str) and m.detail for m in meters)
