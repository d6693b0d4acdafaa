"""Energy meters: NVML (counter and sampled power), RAPL (with wrap-around), the estimate, and
opening them by name. No GPU or readable RAPL is needed: NVML is a fake module, RAPL a fake
powercap tree, and clocks are driven by hand."""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path

import pytest

from thermolab.energy import probe
from thermolab.energy.meters import (
    METER_NAMES,
    EstimateMeter,
    MeterUnavailable,
    NvmlMeter,
    PowerModel,
    RaplMeter,
    best_available_meter,
    open_meter,
)


class FakeClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# ---- NVML ----------------------------------------------------------------------------------


class FakeNvml(types.ModuleType):
    """pynvml with one or more GPUs whose readings the test sets; `lost` makes every read fail."""

    class NVMLError(Exception):
        pass

    def __init__(self, *, count: int = 1, counter: bool = True) -> None:
        super().__init__("pynvml")
        self.count = count
        self.counter = counter
        self.energy_mj = 1_000_000
        self.power_mw = 100_000
        self.lost = False
        self.calls: list[str] = []

    def _read(self, value):
        if self.lost:
            raise self.NVMLError("GPU is lost")
        return value

    def nvmlInit(self):
        self.calls.append("init")

    def nvmlShutdown(self):
        self.calls.append("shutdown")

    def nvmlDeviceGetCount(self):
        return self.count

    def nvmlDeviceGetHandleByIndex(self, index):
        return ("handle", index)

    def nvmlDeviceGetName(self, handle):
        return b"NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        if not self.counter:
            raise self.NVMLError("Not Supported")
        return self._read(self.energy_mj)

    def nvmlDeviceGetPowerUsage(self, handle):
        return self._read(self.power_mw)

    def nvmlDeviceGetUtilizationRates(self, handle):
        return types.SimpleNamespace(gpu=87, memory=40)

    def nvmlDeviceGetMemoryInfo(self, handle):
        return types.SimpleNamespace(used=3 * 2**30, total=80 * 2**30)


@pytest.fixture
def nvml(monkeypatch) -> FakeNvml:
    module = FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", module)
    return module


def test_nvml_counter_mode_reads_the_energy_counter(nvml):
    with NvmlMeter(0) as meter:
        nvml.energy_mj += 2_500
        first = meter.joules()
        nvml.energy_mj += 1_000
        second = meter.joules()

        assert (first, second) == (2.5, 3.5)
        assert meter.kind == "measured" and meter.name == "NVML"
        assert meter.source == "NVML total-energy counter, GPU 0 NVIDIA H100 80GB HBM3"
        assert meter.power_watts() == 100.0
        assert meter.device_stats() == {
            "gpu_utilization_percent": 87.0,
            "memory_utilization_percent": 40.0,
            "memory_used_mib": 3072.0,
            "memory_total_mib": 81920.0,
        }
        assert meter.failure is None
    assert nvml.calls == ["init", "shutdown"]


def test_nvml_disappearing_mid_run_freezes_energy_instead_of_crashing(nvml):
    meter = NvmlMeter()
    nvml.energy_mj += 4_000
    assert meter.joules() == 4.0

    nvml.lost = True
    nvml.energy_mj += 9_000

    assert meter.joules() == 4.0
    assert "GPU is lost" in meter.failure
    assert meter.power_watts() is None
    assert meter.device_stats() == {}
    nvml.lost = False
    assert meter.joules() == 4.0  # stays frozen: a gap in a measurement is not made up
    meter.close()


def test_nvml_counter_going_backwards_is_a_failure(nvml):
    meter = NvmlMeter()
    nvml.energy_mj += 3_000
    meter.joules()
    nvml.energy_mj = 10  # driver reloaded: the counter restarted

    assert meter.joules() == 3.0
    assert "counter reset" in meter.failure
    meter.close()


def test_nvml_without_energy_counter_integrates_sampled_power(nvml):
    nvml.counter = False
    clock = FakeClock()
    # Power follows the clock, so a background sample at any moment reads the same curve:
    # 100 W until 1 s, then a ramp up by 200 W/s.
    nvml.nvmlDeviceGetPowerUsage = lambda handle: nvml._read(
        1000 * (100 + 200 * max(0.0, clock.now - 1.0))
    )
    meter = NvmlMeter(0, sample_hz=20.0, clock=clock)
    try:
        clock.now = 1.0
        at_one = meter.joules()
        clock.now = 2.0
        at_two = meter.joules()

        assert at_one == pytest.approx(100.0)
        assert at_two == pytest.approx(100.0 + 200.0)  # trapezoid is exact on the ramp
        assert "sampled at 20 Hz" in meter.source and "Not Supported" in meter.source
        assert meter.power_watts() == pytest.approx(300.0)

        nvml.lost = True
        clock.now = 3.0
        assert meter.joules() == pytest.approx(300.0)
        assert "GPU is lost" in meter.failure
    finally:
        meter.close()


def test_nvml_unavailable_reasons(monkeypatch, nvml):
    with pytest.raises(MeterUnavailable, match="there is no GPU 3"):
        NvmlMeter(3)
    assert nvml.calls == ["init", "shutdown"]

    def fail():
        raise nvml.NVMLError("Driver Not Loaded")

    nvml.nvmlInit = fail
    with pytest.raises(MeterUnavailable, match="Driver Not Loaded"):
        NvmlMeter()

    monkeypatch.setitem(sys.modules, "pynvml", None)
    with pytest.raises(MeterUnavailable, match="not installed"):
        NvmlMeter()


# ---- RAPL ----------------------------------------------------------------------------------


def zone(root: Path, directory: str, name: str, energy_uj: int, max_uj: int = 10_000_000) -> Path:
    path = root / directory
    path.mkdir()
    (path / "name").write_text(name + "\n")
    (path / "energy_uj").write_text(f"{energy_uj}\n")
    (path / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return path


def set_uj(path: Path, value: int) -> None:
    (path / "energy_uj").write_text(f"{value}\n")


@pytest.fixture
def powercap(tmp_path) -> dict[str, Path]:
    """Two packages, a core sub-zone and a psys zone (neither may be added to the packages)."""
    return {
        "package-0": zone(tmp_path, "intel-rapl:0", "package-0", 9_000_000),
        "core": zone(tmp_path, "intel-rapl:0:0", "core", 5),
        "package-1": zone(tmp_path, "intel-rapl:1", "package-1", 500),
        "psys": zone(tmp_path, "intel-rapl:2", "psys", 7),
    }


def test_rapl_sums_packages_only_and_unwraps_the_counter(tmp_path, powercap):
    clock = FakeClock()
    meter = RaplMeter(tmp_path, clock=clock)

    set_uj(powercap["package-0"], 9_500_000)  # +500 000 µJ
    set_uj(powercap["package-1"], 1_500)  # +1 000
    set_uj(powercap["core"], 9_999_999)
    set_uj(powercap["psys"], 9_999_999)
    clock.now = 1.0
    first = meter.joules()
    set_uj(powercap["package-0"], 200_000)  # wrapped at 10 000 000: +700 000
    set_uj(powercap["package-1"], 2_500)  # +1 000
    clock.now = 3.0
    second = meter.joules()

    assert first == pytest.approx(0.501)
    assert second == pytest.approx(0.501 + 0.701)
    assert meter.power_watts() == pytest.approx(0.701 / 2.0)
    assert "package-0 (intel-rapl:0)" in meter.source and "package-1" in meter.source
    assert "psys" not in meter.source and "core" not in meter.source
    assert meter.kind == "measured"


def test_rapl_permission_denied_is_unavailable(tmp_path, powercap, monkeypatch):
    real_read_text = Path.read_text

    def read_text(self, *args, **kwargs):
        if self.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)  # root could read past a chmod

    with pytest.raises(MeterUnavailable, match=r"permission denied .*energy_uj"):
        RaplMeter(tmp_path)


def test_rapl_without_package_zones_is_unavailable(tmp_path, monkeypatch):
    zone(tmp_path, "intel-rapl:0", "psys", 1)
    monkeypatch.setattr(probe, "RAPL_ROOT", tmp_path)

    with pytest.raises(MeterUnavailable, match="no package zone"):
        RaplMeter()


def test_rapl_counter_vanishing_mid_run_freezes_energy(tmp_path, powercap):
    meter = RaplMeter(tmp_path)
    set_uj(powercap["package-1"], 2_500)
    assert meter.joules() == pytest.approx(0.002)

    (powercap["package-1"] / "energy_uj").unlink()

    assert meter.joules() == pytest.approx(0.002)
    assert "energy_uj" in meter.failure


# ---- estimate ------------------------------------------------------------------------------


def test_estimate_integrates_the_power_model_over_cpu_utilisation():
    wall, cpu = FakeClock(10.0), FakeClock(3.0)
    model = PowerModel(idle_watts=10.0, max_watts=50.0, cores=2)
    meter = EstimateMeter(model, clock=wall, cpu_clock=cpu)
    assert meter.power_watts() is None and meter.device_stats() == {}  # nothing read yet

    wall.now, cpu.now = 12.0, 4.0  # 1 CPU-second over 2 s on 2 cores: u = 0.25 → 20 W
    assert meter.joules() == pytest.approx(40.0)
    assert meter.device_stats() == {"process_cpu_percent": pytest.approx(25.0)}
    wall.now, cpu.now = 13.0, 9.0  # more CPU than the cores allow: clamped to u = 1 → 50 W
    assert meter.joules() == pytest.approx(90.0)
    wall.now = 14.0  # idle → 10 W
    assert meter.joules() == pytest.approx(100.0)
    assert meter.power_watts() == pytest.approx(10.0)
    assert meter.kind == "estimated" and meter.name == "estimate"


def test_estimate_states_its_assumptions():
    text = PowerModel(device="cpu", idle_watts=12.0, max_watts=95.0, cores=8).describe()

    assert "not a measurement" in text and "assumed" in text
    assert "12 W" in text and "95 W" in text and "8 core" in text
    assert EstimateMeter(PowerModel(idle_watts=12.0, max_watts=95.0, cores=8)).source == text


@pytest.mark.parametrize(
    "bad",
    [
        {"idle_watts": -1.0},
        {"idle_watts": float("nan")},
        {"max_watts": 5.0, "idle_watts": 10.0},
        {"cores": 0},
        {"cores": 1.5},
    ],
)
def test_power_model_rejects_impossible_assumptions(bad):
    with pytest.raises(ValueError):
        PowerModel(**bad)


def test_estimate_with_real_clocks_grows_with_work():
    meter = EstimateMeter(PowerModel(idle_watts=0.0, max_watts=100.0, cores=1))
    sum(i * i for i in range(300_000))

    assert meter.joules() > 0.0


def test_a_thread_scoped_estimate_ignores_work_in_other_threads():
    model = PowerModel(idle_watts=0.0, max_watts=100.0, cores=1)
    thread_meter = EstimateMeter(model, scope="thread")
    process_meter = EstimateMeter(model, scope="process")
    assert "other threads" in thread_meter.source and "process" in process_meter.source
    busy = threading.Thread(target=lambda: sum(i * i for i in range(2_000_000)))
    busy.start()
    busy.join()
    # This thread only waited: its own CPU time, hence its estimate, stays near zero, while
    # the process's CPU time includes the other thread's work.
    assert process_meter.joules() > 5 * thread_meter.joules()
    with pytest.raises(ValueError, match="scope"):
        EstimateMeter(model, scope="machine")  # type: ignore[arg-type]


# ---- opening by name -----------------------------------------------------------------------


def test_open_meter_by_name(tmp_path, powercap, nvml):
    assert METER_NAMES == ("nvml", "rapl", "estimate", "none")
    assert open_meter("None") is None
    with open_meter("ESTIMATE") as meter:
        assert isinstance(meter, EstimateMeter)
    with open_meter("rapl", root=tmp_path) as meter:
        assert isinstance(meter, RaplMeter)
    with open_meter("nvml", gpu_index=0) as meter:
        assert isinstance(meter, NvmlMeter)
    with pytest.raises(ValueError, match="nvml, rapl, estimate, none"):
        open_meter("wattmeter")
    with pytest.raises(MeterUnavailable, match="no package zone"):
        open_meter("rapl", root=tmp_path / "absent")


def test_best_available_meter_falls_back_in_order(tmp_path, powercap, nvml, monkeypatch):
    monkeypatch.setattr(probe, "RAPL_ROOT", tmp_path)
    with best_available_meter() as meter:
        assert isinstance(meter, NvmlMeter)

    nvml.count = 0
    with best_available_meter() as meter:
        assert isinstance(meter, RaplMeter)

    monkeypatch.setattr(probe, "RAPL_ROOT", tmp_path / "absent")
    with best_available_meter() as meter:
        assert isinstance(meter, EstimateMeter)


def test_a_closed_meter_keeps_its_last_value(nvml):
    meter = NvmlMeter()
    nvml.energy_mj += 1_500
    meter.joules()
    meter.close()
    meter.close()
    nvml.energy_mj += 1_000_000

    assert meter.joules() == 1.5
    assert nvml.calls.count("shutdown") == 1
