"""The job manager: progress, stop, failures as one line, and the cap that queues extra jobs."""

import threading
import time

import pytest

from thermolab.jobs import JobManager

TIMEOUT = 10.0


def blocking_work(release: threading.Event, started: threading.Event | None = None):
    def work(context):
        if started is not None:
            started.set()
        release.wait(TIMEOUT)
        return "finished"

    return work


def test_progress_partial_and_result():
    manager = JobManager(max_running=1)

    def work(context):
        for step in range(4):
            context.report((step + 1) / 4, f"step {step}", partial=list(range(step + 1)))
        return 42

    job = manager.submit("count", work)
    assert job.wait(TIMEOUT)
    assert (job.status, job.result, job.progress) == ("done", 42, 1.0)
    assert job.partial == [0, 1, 2, 3] and job.message == "step 3"


def test_cap_queues_the_extra_job_in_order():
    manager = JobManager(max_running=2)
    release = threading.Event()
    started = [threading.Event() for _ in range(3)]
    jobs = [manager.submit(f"j{i}", blocking_work(release, started[i])) for i in range(3)]
    assert started[0].wait(TIMEOUT) and started[1].wait(TIMEOUT)
    assert [job.status for job in jobs] == ["running", "running", "queued"]
    assert jobs[2].queue_position == 1 and manager.running_count == 2
    release.set()
    assert all(job.wait(TIMEOUT) for job in jobs)
    assert [job.status for job in jobs] == ["done"] * 3
    assert jobs[2].queue_position is None


def test_stop_running_and_cancel_queued():
    manager = JobManager(max_running=1)
    started = threading.Event()

    def loop(context):
        started.set()
        steps = 0
        while not context.stop_requested:
            steps += 1
        return steps

    running = manager.submit("loop", loop)
    queued = manager.submit("never", lambda context: pytest.fail("a cancelled job ran"))
    assert started.wait(TIMEOUT)
    queued.stop()
    assert queued.status == "stopped" and queued.wait(0)
    running.stop()
    assert running.wait(TIMEOUT)
    assert running.status == "stopped" and running.result > 0


def test_failure_is_reported_in_one_line_and_frees_the_slot():
    manager = JobManager(max_running=1)

    def broken(context):
        raise ValueError("bad temperature\nsecond line")

    failed = manager.submit("broken", broken)
    after = manager.submit("after", lambda context: "ok")
    assert failed.wait(TIMEOUT) and after.wait(TIMEOUT)
    assert failed.status == "failed" and failed.error == "ValueError: bad temperature"
    assert "Traceback" in failed.error_traceback
    assert after.result == "ok"


def test_jobs_are_listed_by_owner():
    manager = JobManager()
    mine = manager.submit("a", lambda context: 1, owner="alice")
    manager.submit("b", lambda context: 2, owner="bob")
    mine.wait(TIMEOUT)
    assert manager.jobs(owner="alice") == [mine]
    with pytest.raises(ValueError):
        JobManager(max_running=0)


def stoppable_work(release: threading.Event):
    def work(context):
        while not (release.is_set() or context.stop_requested):
            time.sleep(0.01)
        return "finished"

    return work


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_jobs_of_a_session_that_is_gone_past_the_grace_period_are_stopped():
    clock = FakeClock()
    manager = JobManager(max_running=1, grace_s=30.0, clock=clock)
    release = threading.Event()
    mine = manager.submit("mine", stoppable_work(release), owner="alice")
    queued = manager.submit("queued", stoppable_work(release), owner="alice")
    theirs = manager.submit("theirs", stoppable_work(release), owner="bob")
    anonymous = manager.submit("nobody's", stoppable_work(release))
    connected = {"alice": False, "bob": True}
    manager.set_liveness(lambda owner: connected[owner])
    assert manager.reap() == []  # gone, but within the grace period (a reconnect)
    clock.now = 29.0
    assert manager.reap() == []
    clock.now = 31.0
    assert set(manager.reap()) == {mine, queued}
    assert queued.status == "stopped" and "browser session ended" in queued.stop_reason
    assert mine.wait(TIMEOUT) and mine.status == "stopped"
    assert theirs.status in {"running", "queued"} and theirs.stop_reason is None
    release.set()
    assert theirs.wait(TIMEOUT) and anonymous.wait(TIMEOUT)
    assert theirs.status == anonymous.status == "done"


def test_a_reconnecting_session_keeps_its_jobs():
    clock = FakeClock()
    manager = JobManager(max_running=1, grace_s=30.0, clock=clock)
    release = threading.Event()
    job = manager.submit("mine", stoppable_work(release), owner="alice")
    connected = {"alice": False}
    manager.set_liveness(lambda owner: connected[owner])
    manager.reap()
    clock.now = 20.0
    connected["alice"] = True
    manager.reap()
    connected["alice"] = False
    clock.now = 45.0  # gone again for 25 s only: the clock restarted at the reconnect
    assert manager.reap() == []
    release.set()
    assert job.wait(TIMEOUT) and job.status == "done"


def test_idle_owners_are_stopped_and_touching_keeps_them():
    clock = FakeClock()
    manager = JobManager(max_running=2, idle_timeout_s=600.0, clock=clock)
    release = threading.Event()
    busy = manager.submit("busy", stoppable_work(release), owner="alice")
    idle = manager.submit("idle", stoppable_work(release), owner="bob")
    clock.now = 500.0
    manager.touch("alice")
    clock.now = 700.0
    assert manager.reap() == [idle]
    assert "idle for 700 s" in idle.stop_reason
    release.set()
    assert busy.wait(TIMEOUT) and busy.status == "done"


def test_a_failing_liveness_probe_stops_nothing():
    clock = FakeClock()
    manager = JobManager(max_running=1, grace_s=0.0, clock=clock)
    release = threading.Event()
    job = manager.submit("mine", stoppable_work(release), owner="alice")

    def broken(owner):
        raise RuntimeError("runtime not started")

    manager.set_liveness(broken)
    clock.now = 100.0
    assert manager.reap() == []
    release.set()
    assert job.wait(TIMEOUT) and job.status == "done"


def test_finished_jobs_are_forgotten_beyond_a_bound():
    from thermolab.jobs import KEEP_FINISHED

    manager = JobManager(max_running=4)
    for index in range(KEEP_FINISHED + 20):
        assert manager.submit(f"j{index}", lambda context: None).wait(TIMEOUT)
    manager.submit("last", lambda context: None).wait(TIMEOUT)
    assert len(manager.jobs()) <= KEEP_FINISHED + 1
