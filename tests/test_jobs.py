"""The job manager: progress, stop, failures as one line, and the cap that queues extra jobs."""

import threading

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
