"""Runs a benchmark script's --quick mode the way a person would, for the smoke tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_quick(script: str, out: Path, *extra: str) -> tuple[dict, str]:
    """Run `bench/<script> --quick --json <out> <extra…>` from the repository root.

    Asserts a zero exit status; returns the JSON report and the printed output.
    """
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    process = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), "--quick", "--json", str(out), *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    return json.loads(out.read_text()), process.stdout
