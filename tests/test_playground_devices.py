"""The playground's device count: offered only where the backend could split chains across
several devices, and handed to the backend the page builds.

jax fixes its device count when it starts, so the four-device case runs the page under
AppTest in a fresh process started with XLA_FLAGS=--xla_force_host_platform_device_count=4,
which prints what it saw as JSON. The one-device case runs here (this process's jax sees
one CPU device).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "pages" / "1_Ising_playground.py"

_FOUR_DEVICES = """
import json, sys
from streamlit.testing.v1 import AppTest

app = AppTest.from_file(sys.argv[1], default_timeout=300)
app.run()
report = {"exceptions": [e.value for e in app.exception]}
sliders = [s for s in app.slider if s.label == "Devices"]
report["slider"] = (
    {"min": sliders[0].min, "max": sliders[0].max, "value": sliders[0].value}
    if sliders else None
)
report["sidebar_captions"] = [c.value for c in app.sidebar.caption]
report["captions_before"] = [c.value for c in app.caption]
if sliders:
    sliders[0].set_value(2).run()
    report["exceptions"] += [e.value for e in app.exception]
    report["captions_after"] = [c.value for c in app.caption]
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def four_devices() -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
        "THERMOLAB_LIVE_SECONDS": "0",  # one frame per run of the live view
    }
    done = subprocess.run(
        [sys.executable, "-c", _FOUR_DEVICES, str(PAGE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _backend_caption(captions: list[str]) -> str:
    return next(c for c in captions if "backend jax on" in c)


def test_four_devices_offer_a_count_from_one_to_four(four_devices):
    assert not four_devices["exceptions"]
    slider = four_devices["slider"]
    assert slider is not None, "no Devices control with four devices"
    assert (slider["min"], slider["max"], slider["value"]) == (1, 4, 4)
    note = " ".join(four_devices["sidebar_captions"])
    assert "split across these devices" in note and "changes nothing" in note
    assert "on 4 cpu devices" in _backend_caption(four_devices["captions_before"])


def test_the_chosen_count_reaches_the_backend(four_devices):
    # The caption names the device(s) of the backend the page built: its mesh's size.
    assert "on 2 cpu devices" in _backend_caption(four_devices["captions_after"])


def test_one_device_offers_no_count(monkeypatch):
    import jax

    assert len(jax.devices()) == 1  # this process was started without forced devices
    monkeypatch.setenv("THERMOLAB_LIVE_SECONDS", "0")
    app = AppTest.from_file(str(PAGE), default_timeout=300)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert "Backend" in [s.label for s in app.selectbox]  # the sidebar was drawn
    assert not [s for s in app.slider if s.label == "Devices"]
    assert not [c for c in app.sidebar.caption if "split across" in c.value]
    assert " devices (" not in _backend_caption([c.value for c in app.caption])
