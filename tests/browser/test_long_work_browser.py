"""Long work ends on the page, every time: run it to the end, then run it again, in one session.

Each test repeats a whole flow FLOWS times, each flow in a fresh browser session: start the
work, wait for the job to end, check that the page reaches its ended state (the start button
enabled again, no Stop, the script idle) within ENDED_DEADLINE_S of the job's end, and that its
timers have stopped (no fragment timer ticks for QUIET_S); then the same again without a reload.
The job's end is read from the server's log (see job_clock_server.py), the ended state's moment
from the browser's clock: one machine, one clock. A flow that never reaches its ended state is
counted and the others still run, so one run of a test says how often it happens.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest
from conftest import launch_server, stop_server
from streamlit.proto.BackMsg_pb2 import BackMsg

# Ten flows of two runs each take minutes on a loaded machine.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(3600)]

FLOWS = int(os.environ.get("THERMOLAB_LONG_WORK_FLOWS", "10"))
ENDED_DEADLINE_S = 2.0  # the page shows the job's end within this long of it
STUCK_S = 30.0  # a page not ended this long after its job ended counts as stuck
JOB_TIMEOUT_S = 600.0  # generous: the machine is shared
QUIET_S = 3.0  # after the ended state, this long without a timer tick
LAUNCHER = (str(Path(__file__).with_name("job_clock_server.py")),)

# The ended state as a person sees it: `start` is a button, enabled; no `stop` button; `text`
# on the page; Streamlit's script idle. Returns the browser's clock (ms) once it holds.
ENDED = """(spec) => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.dataset.testScriptState !== 'notRunning') return false;
    const buttons = [...document.querySelectorAll('button')];
    const named = name => buttons.filter(b => b.innerText.trim() === name);
    const start = named(spec.start);
    if (start.length !== 1 || start[0].disabled) return false;
    if (named(spec.stop).length > 0) return false;
    if (spec.text && !document.body.innerText.includes(spec.text)) return false;
    return Date.now();
}"""


@pytest.fixture(scope="module")
def clocked_server(tmp_path_factory):
    """A server of this module's own whose log tells when each job ended; yields (url, log)."""
    log = tmp_path_factory.mktemp("clocked") / "server.log"
    process, url = launch_server(tmp_path_factory.mktemp("runs"), log, launcher=LAUNCHER)
    try:
        yield url, log
    finally:
        stop_server(process)


def job_ends(log: Path) -> list[float]:
    """The wall-clock end of each job so far, in order."""
    return [
        float(line.split()[1])
        for line in log.read_text().splitlines()
        if line.startswith("JOB-END ")
    ]


class TimerTicks:
    """Counts the fragment-timer reruns the page asks Streamlit for (decoded BackMsgs)."""

    def __init__(self, page) -> None:
        self.count = 0
        page.on("websocket", self._watch)

    def _watch(self, socket) -> None:
        if "/_stcore/stream" in socket.url:
            socket.on("framesent", self._sent)

    def _sent(self, payload) -> None:
        if isinstance(payload, str):
            return
        message = BackMsg()
        message.ParseFromString(payload)
        if message.WhichOneof("type") == "rerun_script" and message.rerun_script.is_auto_rerun:
            self.count += 1


class Flows:
    """The outcome of each run: the seconds from its job's end to the page's ended state, or
    None where the page never got there; and the timer ticks after each ended state."""

    def __init__(self, name: str, shots: Path) -> None:
        self.name, self.shots = name, shots
        self.latencies: list[float | None] = []
        self.ticks_after_end: list[int] = []
        self.failures: list[str] = []

    def finish(self, page, ticks: TimerTicks, log: Path, ends_before: int, spec: dict) -> bool:
        """Wait for this run's job to end, then for the page's ended state; record both."""
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while len(job_ends(log)) <= ends_before:
            assert time.monotonic() < deadline, f"{self.name}: the job never ended"
            page.wait_for_timeout(200)
        ended_job = job_ends(log)[ends_before]
        try:
            handle = page.wait_for_function(ENDED, arg=spec, polling=50, timeout=STUCK_S * 1000)
        except Exception:
            self.latencies.append(None)
            shot = self.shots / f"{self.name}_stuck_{len(self.latencies)}.png"
            page.screenshot(path=str(shot), full_page=True)
            self.failures.append(
                f"run {len(self.latencies)}: not ended {STUCK_S:.0f} s after ({shot})"
            )
            return False
        self.latencies.append(handle.json_value() / 1000 - ended_job)
        print(f"{self.name} run {len(self.latencies)}: {self.latencies[-1]:.2f} s", flush=True)
        before = ticks.count
        page.wait_for_timeout(QUIET_S * 1000)
        self.ticks_after_end.append(ticks.count - before)
        assert page.locator('[data-testid="stException"]').count() == 0
        return True

    def report(self) -> None:
        done = sorted(x for x in self.latencies if x is not None)
        stuck = sum(x is None for x in self.latencies)
        print(f"\n{self.name}: {len(self.latencies)} runs, {stuck} never ended")
        if done:
            quantiles = (
                statistics.quantiles(done, n=10, method="inclusive") if len(done) > 1 else done
            )
            print(
                f"{self.name}: job end → ended state: min {done[0]:.2f} s, median "
                f"{statistics.median(done):.2f} s, p90 {quantiles[-1]:.2f} s, max {done[-1]:.2f} s"
            )
        print(f"{self.name}: timer ticks in {QUIET_S:.0f} s after each end: {self.ticks_after_end}")
        for failure in self.failures:
            print(f"{self.name}: {failure}")

    def check(self) -> None:
        self.report()
        assert not self.failures, self.failures
        late = [x for x in self.latencies if x is not None and x > ENDED_DEADLINE_S]
        assert not late, f"ended state later than {ENDED_DEADLINE_S} s after the job: {late}"
        assert not any(self.ticks_after_end), f"timers still ticking: {self.ticks_after_end}"


def fresh_page(browser, url: str, path: str, animated: bool = False):
    """A new browser session at `path`, loaded (an `animated` page never idles: its first
    heading then)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    ticks = TimerTicks(page)
    page.goto(url + path, wait_until="domcontentloaded")
    if animated:
        page.get_by_role("heading", level=1).first.wait_for(timeout=120_000)
    else:
        idle(page)
    return context, page, ticks


def idle(page) -> None:
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=120_000
    )


TRAINING_SETTINGS = {
    "Steps": "3",
    "Evaluate every (steps)": "3",
    "Validation batches": "1",
    "Predictive samples K (TSU)": "2",
    "Batch size (0: the preset's)": "2",
    "Block size (0: the preset's)": "16",
    "Generated sample length (characters)": "16",
}


def test_training_to_the_end_then_again(browser, clocked_server, tmp_path):
    url, log = clocked_server
    flows = Flows("training", tmp_path)
    for _ in range(FLOWS):
        context, page, ticks = fresh_page(browser, url, "/TinyGPT_training")
        try:
            sidebar = page.locator('[data-testid="stSidebar"]')
            sidebar.get_by_text("Advanced", exact=True).click()
            for label, value in TRAINING_SETTINGS.items():
                field = sidebar.get_by_label(label, exact=True)
                field.fill(value)
                field.press("Tab")
            spec = {"start": "Start training", "stop": "Stop", "text": "Results: TSU ÷ baseline"}
            for _ in range(2):
                ends = len(job_ends(log))
                sidebar.get_by_role("button", name="Start training").click()
                if not flows.finish(page, ticks, log, ends, spec):
                    break
                assert page.get_by_text("finished after 3 of 3 steps").count() >= 2
        finally:
            context.close()
    flows.check()


def test_measure_sweep_then_another(browser, clocked_server, tmp_path):
    url, log = clocked_server
    flows = Flows("measure", tmp_path)
    for _ in range(FLOWS):
        context, page, ticks = fresh_page(browser, url, "/Ising_playground", animated=True)
        try:
            page.get_by_text("Measure", exact=True).click()
            page.get_by_role("button", name="Run sweep").wait_for(timeout=60_000)
            idle(page)
            # L = 8 alone: remove the other preselected sizes (16, 32).
            sizes = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Sizes L")
            for size in ("16", "32"):
                sizes.get_by_label(f"Remove {size}", exact=True).click()
                idle(page)
            temperatures = (
                page.locator('[data-testid="stSlider"]')
                .filter(has_text="Temperatures")
                .get_by_role("slider")
            )
            temperatures.focus()
            temperatures.press("Home")  # 2 temperatures
            idle(page)
            for label, value in {"Measured sweeps": "100", "Burn-in sweeps": "0"}.items():
                field = page.get_by_label(label, exact=True)
                field.fill(value)
                field.press("Tab")
                idle(page)
            spec = {"start": "Run sweep", "stop": "Stop sweep", "text": "Sweep (CSV)"}
            for _ in range(2):
                ends = len(job_ends(log))
                page.get_by_role("button", name="Run sweep").click()
                if not flows.finish(page, ticks, log, ends, spec):
                    break
        finally:
            context.close()
    flows.check()


def test_qaoa_run_then_another(browser, clocked_server, tmp_path):
    url, log = clocked_server
    flows = Flows("qaoa", tmp_path)
    for _ in range(FLOWS):
        context, page, ticks = fresh_page(browser, url, "/QAOA")
        try:
            slider = page.get_by_role("slider").first  # p = 2 by default; one step left: p = 1
            slider.focus()
            slider.press("ArrowLeft")
            idle(page)
            spec = {"start": "Run QAOA", "stop": "Stop", "text": "Comparison on MaxCut"}
            for _ in range(2):
                ends = len(job_ends(log))
                page.get_by_role("button", name="Run QAOA").click()
                if not flows.finish(page, ticks, log, ends, spec):
                    break
        finally:
            context.close()
    flows.check()
