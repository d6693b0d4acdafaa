"""A workshop on one server: N browser sessions drag the playground's temperature slider while
training jobs run. Errors, slider-to-frame latency and server memory, against one session.

Starts `streamlit run app.py` (run store in a temporary directory), starts `--trainings`
side-by-side TinyGPT trainings from the training page (each in its own browser session, CPU
quick preset, so the job cap's two slots are busy), then runs two phases against the same
server, each with every session in its own browser context of one headless Debian chromium
(Playwright's `executable_path`; never Playwright's own browser download):

1. one session, 2. `--sessions` sessions at once.

Each session opens the Ising playground (its default lattice), waits until the page has loaded
(its live lattice, and its traces figure, which comes a few frames later), and clicks the
temperature slider's track `--changes` times (alternating T ≈ 2.0 / 2.6, a random 0.2–0.6 s
pause between changes, as people do), once every session's page has loaded.
Latency: from the click's pointer release in the page to the first frame whose caption shows
the new temperature, in the page's clock, split as `bench/playground.py` splits it (the measure
of that benchmark). The page load (open → lattice and traces drawn, all sessions arriving at
once) is timed on its own, so that the changes measure a room dragging sliders, not pages
still loading: with ten browsers on two cores, each page's first traces figure (Plotly's first
draw) came seconds after its lattice, and while the pages drew them every session's change
waited 1–6 s. Errors: a Streamlit exception block on the page, an uncaught page
error, or a change whose frame never came (timeout). Server memory: the resident set size of
the server process and its descendants (the training workers), sampled every 0.5 s. CPU: the
cores each of the server, its training workers and the browsers used during a phase.
`--browser-nice` lowers the browsers' CPU priority: in a workshop they run on the participants'
machines, here on the server's own cores. Target (issue 8): no errors, p95 ≤ 500 ms with 10
sessions, memory bounded.

`--dense-graph` (on by default): during phase 2 one more session watches the playground's
largest dense graph live (Sherrington–Kirkpatrick, n = 500, graph mode), from before the others
open until after they close; its errors count toward the target, and the server's memory is
reported before it opened, at peak while it was open, and 15 s after it closed (issue 16).

    python bench/load.py                      # 10 sessions, 2 trainings, ~3-5 min on 2 cores
    python bench/load.py --sessions 4 --trainings 0
    python bench/load.py --no-dense-graph     # without the dense-graph session
    python bench/load.py --quick              # smoke test: 2 sessions, no training
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from playground import (  # noqa: E402  (bench/ is not a package)
    CHROMIUM,
    CHROMIUM_ARGS,
    RECORDS,
    REPO,
    SOCKET_SPY,
    WATCHER,
    free_port,
    load_average,
    percentile,
    split_latency,
    start_server,
)

TARGET_P95_MS = 500.0
CHANGE_TIMEOUT_MS = 30_000
PAGE_TIMEOUT_MS = 240_000
TRAINING_SETTINGS = {"Steps": "100000"}  # longer than the benchmark: busy throughout
# The largest dense graph the playground offers: Sherrington–Kirkpatrick at its most spins
# (pages/1_Ising_playground.py's MAX_GRAPH_NODES), 500 · 499 / 2 = 124,750 couplings.
DENSE_GRAPH, DENSE_NODES = "Sherrington–Kirkpatrick", 500
DENSE_SETTLE_SECONDS = 15.0  # memory is read this long after the dense-graph page closed
QUICK_SETTLE_SECONDS = 5.0  # (--quick: the smoke test checks the report, not the memory)
# The sweep of the dense graph's frame on the page: its spins are drawn on the lattice canvas,
# a grid of DENSE_NODES cells whose last row may be part empty (a lattice's frame, still shown
# while the page switches, does not count), captioned "T = 3.00 · β = 0.333 · sweep 1234".
GRAPH_SWEEP = f"""() => {{
  const host = document.querySelector('[data-testid="stBidiComponentIsolated"]');
  const canvas = host?.shadowRoot?.querySelector("canvas");
  const cells = canvas ? canvas.width * canvas.height : 0;
  if (!(cells >= {DENSE_NODES} && cells - canvas.width < {DENSE_NODES})) return null;
  const caption = host.shadowRoot.querySelector(".caption").textContent;
  const found = /β = [0-9.]+ · sweep (\\d+)/.exec(caption);
  return found ? Number(found[1]) : null;
}}"""


def process_tree(pid: int) -> list[int]:
    """`pid` and every process descended from it (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    tree, frontier = [], [pid]
    while frontier:
        tree.extend(frontier)
        frontier = [child for parent in frontier for child in children.get(parent, [])]
    return tree


def resident_mb(pid: int) -> float | None:
    """Resident set size of process `pid` and its descendants (the training workers) in MiB,
    None if unreadable."""
    total, found = 0.0, False
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total, found = total + int(line.split()[1]) / 1024, True
        except OSError:
            continue
    return total if found else None


def cpu_seconds(pids: list[int], *, reaped: bool = True) -> float:
    """CPU time (user + system, s) of the processes `pids`, with (`reaped`) that of their
    children which have ended and been waited for (a browser's closed renderers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for member in pids:
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11 : 15 if reaped else 13])
    return total / ticks


def cpu_by_role(pid: int) -> dict[str, float]:
    """CPU seconds so far of the server process, of its training workers, and of this
    benchmark's browsers (Playwright's driver, chromium and its renderers)."""
    server_tree = process_tree(pid)
    browsers = [member for member in process_tree(os.getpid())[1:] if member not in server_tree]
    server = cpu_seconds([pid], reaped=False)
    return {
        "server": server,
        "trainings": cpu_seconds(server_tree) - server,
        "browsers": cpu_seconds(browsers),
    }


async def sample_memory(pid: int, samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        value = resident_mb(pid)
        if value is not None:
            samples.append(value)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def start_training(browser, url: str) -> None:
    """Start one side-by-side training from the training page, in a session of its own."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await page.goto(url + "/TinyGPT_training")
    await page.get_by_role("heading", name="TinyGPT: baseline vs TSU", level=1).wait_for(
        timeout=PAGE_TIMEOUT_MS
    )
    sidebar = page.locator('[data-testid="stSidebar"]')
    for label, value in TRAINING_SETTINGS.items():
        field = sidebar.get_by_label(label, exact=True)
        await field.fill(value)
        await field.press("Tab")
    await sidebar.get_by_role("button", name="Start training").click()
    # Keep this context open: closing the session would (rightly) get its job reaped.
    await page.get_by_text("step ", exact=False).first.wait_for(timeout=PAGE_TIMEOUT_MS)


async def drag_session(browser, url: str, changes: int, seed: int, ready: asyncio.Barrier) -> dict:
    """One person on the playground: `changes` temperature changes, each timed to its frame.

    The changes start once every session's page has loaded (`ready`), so the latencies measure
    a room dragging sliders, not pages still loading; the load itself is timed on its own.
    """
    rng = random.Random(seed)
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    await context.add_init_script(SOCKET_SPY)
    page = await context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    latencies: list[float] = []
    parts: list[dict[str, float]] = []
    timeouts, loaded_ms, arrived = 0, None, False
    try:
        started = time.monotonic()
        await page.goto(url + "/Ising_playground")
        await page.get_by_text("|m|").first.wait_for(timeout=PAGE_TIMEOUT_MS)  # the lattice's
        traces = page.locator('[data-testid="stPlotlyChart"] .main-svg').first
        await traces.wait_for(timeout=PAGE_TIMEOUT_MS)
        loaded_ms = (time.monotonic() - started) * 1000
        await page.evaluate(WATCHER)
        # the temperature slider is drawn with the lattice's canvas
        slider = page.locator('input[type="range"][aria-label="Temperature T"]').first
        box = await slider.bounding_box(timeout=PAGE_TIMEOUT_MS)
        arrived = True
        await ready.wait()
        for index in range(changes):
            temperature = 2.0 if index % 2 == 0 else 2.6
            fraction = (temperature - 0.05) / 5.95
            await page.evaluate(
                "window.__captions = []; window.__socket.sent = []; window.__socket.received = []"
            )
            before = await page.evaluate("performance.now()")
            await page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)
            target = f"T = {float(await slider.input_value()):.2f}"
            try:  # (a WATCHER promise: waiting polls nothing in the page)
                shown, _, made, arrived = await page.evaluate(
                    "([t, ms]) => window.__shown(t, ms)", [target, CHANGE_TIMEOUT_MS]
                )
            except Exception:
                timeouts += 1
                continue
            records = await page.evaluate(RECORDS)
            part = split_latency(before, shown, made, arrived, **records)
            parts.append(part)
            latencies.append(shown - before - part["harness_ms"])
            await asyncio.sleep(rng.uniform(0.2, 0.6))
        exceptions = await page.locator('[data-testid="stException"]').count()
    except Exception as error:  # the page never became usable: that person saw a failure
        page_errors.append(f"session setup failed: {type(error).__name__}: {error}"[:300])
        exceptions = 0
    finally:
        if not arrived:
            await ready.wait()  # the others may start: this person is not coming
        await context.close()
    return {
        "page_load_ms": loaded_ms,
        "latencies_ms": latencies,
        "parts_ms": parts,
        "timeouts": timeouts,
        "exceptions": exceptions,
        "page_errors": page_errors,
    }


async def dense_graph_session(
    browser, url: str, opened: asyncio.Event, close: asyncio.Event
) -> dict:
    """One person watching the largest dense graph live: the playground in graph mode,
    `DENSE_GRAPH` at `DENSE_NODES` spins, its live view running until `close` is set.

    Sets `opened` once the page shows the graph's live view advancing (or has failed). Reports
    the time to get there, the sweeps drawn while the others worked, and the bytes its page
    received on its WebSockets per second (the graph's spins come on the canvas's frame socket,
    as a lattice's; its traces through Streamlit's; its coupling matrix, an image drawn once
    per run of the view, by HTTP, not counted).
    """
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    await context.add_init_script(SOCKET_SPY)
    page = await context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    open_ms, first_sweep, last_sweep, exceptions, received_bytes, seconds = (None,) * 6
    try:
        started = time.monotonic()
        await page.goto(url + "/Ising_playground")
        await page.get_by_text("|m|").first.wait_for(timeout=PAGE_TIMEOUT_MS)
        sidebar = page.locator('[data-testid="stSidebar"]')
        await sidebar.get_by_text("Graph", exact=True).click()
        await sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Graph").click()
        await page.get_by_role("option", name=DENSE_GRAPH).click()
        await page.get_by_text(f"{DENSE_GRAPH} n=").first.wait_for(timeout=PAGE_TIMEOUT_MS)
        nodes = sidebar.get_by_label("Spins n", exact=True)
        await nodes.fill(str(DENSE_NODES))
        await nodes.press("Enter")
        await page.get_by_text(f"{DENSE_GRAPH} n={DENSE_NODES}").first.wait_for(
            timeout=PAGE_TIMEOUT_MS
        )
        first_sweep = await page.wait_for_function(
            f"({GRAPH_SWEEP})() > 0 && ({GRAPH_SWEEP})()", timeout=PAGE_TIMEOUT_MS
        )
        first_sweep = await first_sweep.json_value()
        open_ms = (time.monotonic() - started) * 1000
        await page.evaluate("window.__socket.received = []")
        watched = time.monotonic()
        opened.set()
        await close.wait()
        last_sweep = await page.evaluate(GRAPH_SWEEP)
        seconds = time.monotonic() - watched
        received_bytes = await page.evaluate(
            "window.__socket.received.reduce((total, [, size]) => total + (size || 0), 0)"
        )
        exceptions = await page.locator('[data-testid="stException"]').count()
    except Exception as error:  # the page never showed the live graph: a failure people see
        page_errors.append(f"dense-graph session failed: {type(error).__name__}: {error}"[:300])
    finally:
        opened.set()
        await context.close()
    advanced = last_sweep - first_sweep if None not in (first_sweep, last_sweep) else None
    return {
        "model": f"{DENSE_GRAPH} n={DENSE_NODES}",
        "couplings": DENSE_NODES * (DENSE_NODES - 1) // 2,
        "open_ms": open_ms,
        "watched_seconds": seconds,
        "sweeps_advanced": advanced,
        "received_kib_per_s": received_bytes / 1024 / seconds if seconds else None,
        # a view that drew nothing new while open counts as an error too
        "errors": (exceptions or 0) + len(page_errors) + (advanced is not None and advanced <= 0),
        "exceptions": exceptions,
        "page_errors": page_errors,
    }


async def with_dense_graph(
    browser, url: str, pid: int, during, settle_seconds: float = DENSE_SETTLE_SECONDS
) -> tuple[dict, dict]:
    """Run the coroutine `during` while one session watches the largest dense graph live;
    returns its result and the dense-graph session's report, with the server's memory (RSS of
    the server and its workers, MiB) before that session opened, at its peak while it was open,
    and `settle_seconds` after it closed (the server's memory over the whole time, every
    0.5 s, in `rss_mb_timeline` as [seconds since it opened, MiB, what was happening])."""
    timeline: list[tuple[float, float, str]] = []
    stage, started = "opening", time.monotonic()

    async def sample(stop: asyncio.Event) -> None:
        while not stop.is_set():
            value = resident_mb(pid)
            if value is not None:
                timeline.append((round(time.monotonic() - started, 2), value, stage))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)

    before = resident_mb(pid)
    stop, opened, close = asyncio.Event(), asyncio.Event(), asyncio.Event()
    sampler = asyncio.create_task(sample(stop))
    session = asyncio.create_task(dense_graph_session(browser, url, opened, close))
    await opened.wait()
    stage = "open, with the other sessions"
    try:
        result = await during
    finally:
        close.set()
        report = await session
    stage = "closed"
    closed = time.monotonic()
    await asyncio.sleep(settle_seconds)
    stop.set()
    await sampler
    after = resident_mb(pid)
    while_open = [mb for _, mb, where in timeline if where != "closed"] + [before or 0]
    report.update(
        server_rss_mb_before=before,
        server_rss_mb_peak=max(while_open),
        server_rss_mb_after=after,
        settle_seconds=round(time.monotonic() - closed, 1),
        rss_mb_timeline=timeline,
    )
    return result, report


def first_and_later(sessions: list[dict]) -> dict[str, float | None]:
    """Each session's first change apart from the rest: the first comes just after every page
    went live at once, while the browsers may still be working through the frames that piled up
    during the page loads; the later ones show the steady state."""
    first = [session["latencies_ms"][0] for session in sessions if session["latencies_ms"]]
    later = [value for session in sessions for value in session["latencies_ms"][1:]]
    return {
        "first_change_ms_p50": statistics.median(first) if first else None,
        "first_change_ms_max": max(first) if first else None,
        "later_changes_ms_p50": statistics.median(later) if later else None,
        "later_changes_ms_p95": percentile(later, 0.95) if later else None,
    }


def summarise_phase(sessions: list[dict], memory: list[float], seconds: float) -> dict:
    latencies = [value for session in sessions for value in session["latencies_ms"]]
    loads = [session["page_load_ms"] for session in sessions if session["page_load_ms"]]
    parts = [part for session in sessions for part in session["parts_ms"]]
    errors = sum(
        session["timeouts"] + session["exceptions"] + len(session["page_errors"])
        for session in sessions
    )
    return {
        "sessions": len(sessions),
        "changes_timed": len(latencies),
        "errors": errors,
        "timeouts": sum(session["timeouts"] for session in sessions),
        "exceptions": sum(session["exceptions"] for session in sessions),
        "page_errors": [error for session in sessions for error in session["page_errors"]],
        "latency_ms_p50": statistics.median(latencies) if latencies else None,
        "latency_ms_p95": percentile(latencies, 0.95) if latencies else None,
        "latency_ms_max": max(latencies) if latencies else None,
        **first_and_later(sessions),
        "page_load_ms_p50": statistics.median(loads) if loads else None,
        "page_load_ms_max": max(loads) if loads else None,
        "latency_ms_by_session": [session["latencies_ms"] for session in sessions],
        "latency_parts_ms_by_session": [session["parts_ms"] for session in sessions],
        "latency_parts_ms_p50": {
            name: statistics.median(part[name] for part in parts) for name in parts[0]
        }
        if parts
        else None,
        "server_rss_mb_peak": max(memory) if memory else None,
        "server_rss_mb_end": memory[-1] if memory else None,
        "seconds": seconds,
    }


async def run_phase(browser, url: str, pid: int, n_sessions: int, changes: int) -> dict:
    memory: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_memory(pid, memory, stop))
    started, cpu_before = time.monotonic(), cpu_by_role(pid)
    ready = asyncio.Barrier(n_sessions)
    sessions = await asyncio.gather(
        *(drag_session(browser, url, changes, seed, ready) for seed in range(n_sessions))
    )
    seconds, cpu_after = time.monotonic() - started, cpu_by_role(pid)
    stop.set()
    await sampler
    summary = summarise_phase(list(sessions), memory, seconds)
    summary["cpu_cores"] = {
        role: (cpu_after[role] - cpu_before[role]) / seconds for role in cpu_before
    }
    return summary


async def run(args: argparse.Namespace, url: str, pid: int) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        if args.browser_nice:  # Playwright's driver and the browser under it, not the server
            # (renderers the browser forks later inherit the niceness of its zygote)
            for member in set(process_tree(os.getpid())[1:]) - set(process_tree(pid)):
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, member, args.browser_nice)
        for _ in range(args.trainings):
            await start_training(browser, url)
        idle_rss = resident_mb(pid)
        one = await run_phase(browser, url, pid, 1, args.changes)
        print(f"1 session: done ({one['changes_timed']} changes timed)", flush=True)
        many_phase = run_phase(browser, url, pid, args.sessions, args.changes)
        dense = None
        if args.dense_graph:  # the others change their sliders while it runs
            settle = QUICK_SETTLE_SECONDS if args.quick else DENSE_SETTLE_SECONDS
            many, dense = await with_dense_graph(browser, url, pid, many_phase, settle)
        else:
            many = await many_phase
        print(f"{args.sessions} sessions: done ({many['changes_timed']} changes timed)", flush=True)
        await browser.close()
    return {
        "server_rss_mb_after_training_start": idle_rss,
        "phases": [one, many],
        "dense_graph": dense,
    }


def print_dense_graph(dense: dict, sessions: int) -> None:
    """The dense-graph session's rows: how it ran, and the server's memory around it."""
    print(f"dense graph: {dense['model']} ({dense['couplings']:,} couplings), live view, "
          f"open while the {sessions} sessions changed their sliders")  # fmt: skip
    if dense["sweeps_advanced"] is not None:
        print(f"  opened in {dense['open_ms']:.0f} ms; {dense['sweeps_advanced']} sweeps drawn "
              f"in {dense['watched_seconds']:.0f} s; its page received "
              f"{dense['received_kib_per_s']:.0f} KiB/s; errors {dense['errors']}")  # fmt: skip
    else:
        print(f"  errors {dense['errors']}: {'; '.join(dense['page_errors'])[:300]}")
    rows = (
        ("before it opened", dense["server_rss_mb_before"]),
        ("peak while open", dense["server_rss_mb_peak"]),
        (f"{dense['settle_seconds']:.0f} s after it closed", dense["server_rss_mb_after"]),
    )
    for label, value in rows:
        shown = f"{value:>8.0f}" if value is not None else f"{'—':>8}"
        print(f"  server RSS {label + ':':<24}{shown} MiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--changes", type=int, default=10, help="slider changes per session")
    parser.add_argument("--trainings", type=int, default=2, help="trainings running meanwhile")
    parser.add_argument("--quick", action="store_true", help="smoke test: 2 sessions, no training")
    parser.add_argument(
        "--browser-nice",
        type=int,
        default=0,
        help="lower the browsers' CPU priority by this (0–19): in a workshop they run on the "
        "participants' machines, not the server's cores",
    )
    parser.add_argument(
        "--dense-graph",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"one more session, during the last phase, watching {DENSE_GRAPH} at n = "
        f"{DENSE_NODES} live (the playground's largest dense graph); reports the server's "
        "memory before it opened, at peak and after it closed",
    )
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "load.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.sessions, args.changes, args.trainings = 2, 2, 0
    load_before = load_average()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="thermolab-load-") as runs_dir:
        os.environ["THERMOLAB_RUNS_DIR"] = runs_dir
        server = start_server(port)
        try:
            report = asyncio.run(run(args, f"http://127.0.0.1:{port}", server.pid))
        finally:
            server.terminate()
            server.wait(timeout=30)
    load_after = load_average()

    print()
    print(f"{'sessions':>8} {'errors':>7} {'timed':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}"
          f" {'open p50':>8} {'open max':>8} {'RSS peak MiB':>13}")  # fmt: skip
    for phase in report["phases"]:
        keys = ("latency_ms_p50", "latency_ms_p95", "latency_ms_max")
        cells = [phase[key] for key in (*keys, "page_load_ms_p50", "page_load_ms_max")]
        shown = [f"{value:>7.0f}" if value is not None else f"{'—':>7}" for value in cells[:3]]
        shown += [f"{value:>8.0f}" if value is not None else f"{'—':>8}" for value in cells[3:]]
        print(
            f"{phase['sessions']:>8} {phase['errors']:>7} {phase['changes_timed']:>6} "
            f"{' '.join(shown)} {phase['server_rss_mb_peak'] or 0:>13.0f}"
        )
    print("open: ms from opening the page to its lattice and traces, all sessions at once")
    split = (
        "first_change_ms_p50",
        "first_change_ms_max",
        "later_changes_ms_p50",
        "later_changes_ms_p95",
    )
    for phase in report["phases"]:
        first_p50, first_max, later_p50, later_p95 = (phase[key] for key in split)
        if later_p95 is not None:
            print(
                f"{phase['sessions']} session(s): first change p50 {first_p50:.0f} ms, max "
                f"{first_max:.0f} ms; later changes p50 {later_p50:.0f} ms, p95 {later_p95:.0f} ms"
            )
    for phase in report["phases"]:
        cores = ", ".join(f"{role} {used:.2f}" for role, used in phase["cpu_cores"].items())
        print(f"{phase['sessions']} session(s): CPU cores used by {cores} (of {os.cpu_count()})")
    print(f"trainings running meanwhile: {args.trainings}; server RSS when they had started: "
          f"{report['server_rss_mb_after_training_start'] or 0:.0f} MiB")  # fmt: skip
    print(f"1-minute load average: {load_before} before, {load_after} after")
    dense = report["dense_graph"]
    if dense is not None:
        print_dense_graph(dense, args.sessions)
    many = report["phases"][-1]
    errors = many["errors"] + (dense["errors"] if dense is not None else 0)
    met = errors == 0 and (many["latency_ms_p95"] or math.inf) <= TARGET_P95_MS
    mix = f"{args.sessions} sessions" + (" and the dense graph" if dense is not None else "")
    print(f"target: no errors and p95 ≤ {TARGET_P95_MS:.0f} ms with {mix}: "
          f"{'PASS' if met else 'MISS'}")  # fmt: skip
    report.update(
        settings={
            "sessions": args.sessions,
            "changes": args.changes,
            "trainings": args.trainings,
            "quick": args.quick,
            "browser_nice": args.browser_nice,
            "dense_graph": args.dense_graph,
            "server_fps": os.environ.get("THERMOLAB_SERVER_FPS", "60 (default)"),
        },
        machine={
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_1min": [load_before, load_after],
        },
        target={"p95_ms": TARGET_P95_MS, "met": met},
    )
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=1))
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
