"""Power integration: the trapezoid rule and the sampler that applies it as readings arrive."""

from __future__ import annotations

import math
import threading
import time

import pytest

from thermolab.energy.power import SampledPowerIntegrator, integrate_power


class FakeClock:
    """A clock the test moves by hand, in s."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def ramp_then_drop(t: float) -> float:
    """Piecewise-linear power in W: 100 + 40 t up to 1 s, down 90 W/s to 1.5 s, then 95 W."""
    if t < 1.0:
        return 100.0 + 40.0 * t
    if t < 1.5:
        return 140.0 - 90.0 * (t - 1.0)
    return 95.0


# ∫₀² of ramp_then_drop, by hand: 100 + 20, then 0.5·140 − 45·0.25, then 0.5·95.
RAMP_THEN_DROP_JOULES = 120.0 + (70.0 - 11.25) + 47.5


def drive(integrator: SampledPowerIntegrator, clock: FakeClock, times: list[float]) -> float:
    for t in times:
        clock.now = t
        integrator.sample()
    return integrator.joules


def test_integrate_power_by_hand():
    assert integrate_power([0.0, 0.5, 1.5, 2.0], [100.0, 200.0, 200.0, 50.0]) == pytest.approx(
        0.5 * 150.0 + 200.0 + 0.5 * 125.0
    )
    assert integrate_power([3.0], [80.0]) == 0.0
    assert integrate_power([], []) == 0.0


@pytest.mark.parametrize(
    ("times", "watts"),
    [
        ([0.0, 1.0], [1.0]),
        ([0.0, 0.0], [1.0, 1.0]),
        ([0.0, 1.0], [1.0, -1.0]),
        ([0, 1], [1, math.nan]),
    ],
)
def test_integrate_power_rejects_bad_series(times, watts):
    with pytest.raises(ValueError):
        integrate_power(times, watts)


def test_integration_is_exact_on_a_piecewise_linear_series():
    clock = FakeClock()
    integrator = SampledPowerIntegrator(lambda: ramp_then_drop(clock.now), clock=clock)
    times = [k / 20 for k in range(41)]  # 20 Hz over 2 s; the kinks (1 s, 1.5 s) are samples

    joules = drive(integrator, clock, times)

    assert joules == pytest.approx(RAMP_THEN_DROP_JOULES, rel=1e-12)
    assert integrator.samples == 41
    assert integrator.watts == 95.0


def test_integration_of_a_step_is_within_one_sample_interval_bound():
    clock = FakeClock()
    jump_at, low, high, interval = 1.02, 100.0, 300.0, 0.05
    integrator = SampledPowerIntegrator(
        lambda: low if clock.now < jump_at else high, sample_hz=1 / interval, clock=clock
    )

    joules = drive(integrator, clock, [k * interval for k in range(41)])

    exact = low * jump_at + high * (2.0 - jump_at)
    assert abs(joules - exact) <= (high - low) * interval / 2
    assert joules != pytest.approx(exact, abs=1e-6)  # the jump falls between samples


def test_a_failed_reading_freezes_energy_and_says_why():
    clock = FakeClock()
    readings = iter([50.0, 50.0])

    def read() -> float:
        try:
            return next(readings)
        except StopIteration:
            raise RuntimeError("GPU is lost") from None

    integrator = SampledPowerIntegrator(read, clock=clock)
    drive(integrator, clock, [0.0, 2.0])
    clock.now = 3.0

    with pytest.raises(RuntimeError, match="GPU is lost"):
        integrator.sample()
    assert integrator.joules == pytest.approx(100.0)
    assert "GPU is lost" in integrator.failure
    with pytest.raises(RuntimeError, match="power sampling stopped"):
        integrator.sample()


@pytest.mark.parametrize("bad", [-5.0, math.nan])
def test_an_impossible_reading_is_a_failure(bad):
    integrator = SampledPowerIntegrator(lambda: bad, clock=FakeClock())

    with pytest.raises(ValueError):
        integrator.sample()
    assert integrator.failure is not None
    assert integrator.joules == 0.0


def test_sampling_below_ten_hertz_is_refused():
    with pytest.raises(ValueError, match="at least 10 Hz"):
        SampledPowerIntegrator(lambda: 1.0, sample_hz=5.0)


def test_background_thread_samples_at_the_requested_rate():
    integrator = SampledPowerIntegrator(lambda: 50.0, sample_hz=20.0)
    started = time.monotonic()
    integrator.start()
    time.sleep(0.4)
    joules = integrator.sample()
    elapsed = time.monotonic() - started
    integrator.stop()

    assert integrator.samples >= 4  # ≈ 9 at 20 Hz; a loaded machine may skip some
    assert joules == pytest.approx(50.0 * elapsed, rel=0.05)


def test_background_thread_stops_when_the_sensor_disappears():
    gone = threading.Event()

    def read() -> float:
        if gone.is_set():
            raise RuntimeError("NVML_ERROR_GPU_IS_LOST")
        return 10.0

    integrator = SampledPowerIntegrator(read, sample_hz=50.0)
    integrator.start()
    gone.set()
    deadline = time.monotonic() + 5.0
    while integrator.failure is None and time.monotonic() < deadline:
        time.sleep(0.01)
    integrator.stop()

    assert "NVML_ERROR_GPU_IS_LOST" in integrator.failure
    frozen = integrator.joules
    time.sleep(0.05)
    assert integrator.joules == frozen
