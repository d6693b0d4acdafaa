"""Smoke test of bench/attention.py: `--quick` runs end to end and writes a well-formed JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_quick_attention_bench(tmp_path):
    out = tmp_path / "attention.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.run(
        [sys.executable, "bench/attention.py", "--quick", "--repeats", "1", "--json", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert report["target"]["status"] in {"PASS", "MISS"}
    for row in report["results"]:
        assert set(row["seconds"]) >= {"thermolab-torch", "torch.multinomial"}
        assert all(rate > 0 for rate in row["msamples_per_s"].values())
