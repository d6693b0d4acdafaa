"""The live view's frame budget: a server's frame rate shared among the views drawing at once
(moved from tests/test_live.py with `FrameBudget`)."""

from __future__ import annotations

import pytest

from ui.live_view import FrameBudget, LiveSettings, state_numbers


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_frame_budget_shares_the_server_rate_among_drawing_views():
    clock = FakeClock()
    budget = FrameBudget(total_fps=60, max_fps=30, stale_seconds=2.0, clock=clock)
    assert budget.interval("alice") == pytest.approx(1 / 30)  # alone: the per-view cap
    assert budget.interval("bob") == pytest.approx(1 / 30)  # 2 views × 30 fps = the budget
    for name in "cdefghij":
        budget.interval(name)
    assert budget.drawing == 10
    assert budget.interval("alice") == pytest.approx(10 / 60)  # 10 views share 60 fps
    budget.release("bob")
    assert budget.interval("alice") == pytest.approx(9 / 60)


def test_frame_budget_shares_sampling_cores_by_what_frames_cost():
    """n views keep at most `sampling_cores` cores sweeping: a view whose last frame's sweeps
    took s seconds waits at least n × s / cores; cheap frames keep the frame-rate rule."""
    clock = FakeClock()
    budget = FrameBudget(total_fps=60, max_fps=30, sampling_cores=1.0, clock=clock)
    assert budget.interval("dense", sampling_seconds=0.02) == pytest.approx(1 / 30)  # alone
    for name in "abcdefghij":  # ten lattices, 0.1 ms of sweeps a frame
        assert budget.interval(name, sampling_seconds=1e-4) == pytest.approx(
            (2 + "abcdefghij".index(name)) / 60
        )
    assert budget.interval("dense", sampling_seconds=0.05) == pytest.approx(11 * 0.05)
    assert budget.interval("a", sampling_seconds=1e-4) == pytest.approx(11 / 60)
    two_cores = FrameBudget(total_fps=60, max_fps=30, sampling_cores=2.0, clock=clock)
    for name in "abcdefghij":
        two_cores.interval(name)
    assert two_cores.interval("dense", sampling_seconds=0.05) == pytest.approx(11 * 0.05 / 2)


def test_frame_budget_forgets_views_that_stopped_asking():
    clock = FakeClock()
    budget = FrameBudget(total_fps=20, max_fps=10, stale_seconds=2.0, clock=clock)
    for name in ("alice", "bob", "carol", "dave"):
        budget.interval(name)
    assert budget.interval("alice") == pytest.approx(4 / 20)
    clock.now = 1.5
    budget.interval("alice")
    clock.now = 3.0  # bob, carol and dave last asked 3 s ago: their loops died
    assert budget.drawing == 1
    assert budget.interval("alice") == pytest.approx(1 / 10)


@pytest.mark.parametrize(("total", "cap"), [(0, 0), (10, 20), (30, -1), (float("inf"), 30)])
def test_frame_budget_refuses_nonsense_rates(total, cap):
    with pytest.raises(ValueError, match="frames per second"):
        FrameBudget(total_fps=total, max_fps=cap)


@pytest.mark.parametrize("cores", [0, -1, float("inf")])
def test_frame_budget_refuses_nonsense_sampling_cores(cores):
    with pytest.raises(ValueError, match="sampling_cores"):
        FrameBudget(sampling_cores=cores)


def test_live_settings_read_the_environment(monkeypatch):
    monkeypatch.setenv("THERMOLAB_LIVE_SECONDS", "0")
    monkeypatch.setenv("THERMOLAB_SERVER_FPS", "120")
    settings = LiveSettings.from_environment()
    assert settings.run_seconds == 0 and settings.server_fps == 120
    monkeypatch.delenv("THERMOLAB_LIVE_SECONDS")
    monkeypatch.delenv("THERMOLAB_SERVER_FPS")
    assert LiveSettings.from_environment() == LiveSettings()


@pytest.mark.parametrize(
    ("energy", "magnet", "shown"),
    [
        (-0.0, 0.0, "E/n = 0.0000 · |m| = 0.000"),  # an edgeless graph's energy is −0.0
        (-4e-9, -1e-7, "E/n = 0.0000 · |m| = 0.000"),  # rounds to zero: no minus sign
        (-1.23456, 0.98765, "E/n = -1.2346 · |m| = 0.988"),
        (float("nan"), 0.5, "E/n = nan · |m| = 0.500"),
    ],
)
def test_state_numbers_never_show_a_negative_zero(energy, magnet, shown):
    assert state_numbers(energy, magnet) == shown
