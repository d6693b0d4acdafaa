"""`ui.server.share_cores`: one BLAS thread in the server process, unless asked otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# numpy (and scipy.sparse) loaded before the call, scipy.linalg's BLAS after it, as on a page.
PROBE = """
import json, numpy, scipy.sparse
from ui.server import share_cores
share_cores()
import scipy.linalg
from threadpoolctl import threadpool_info
print(json.dumps([(lib["internal_api"], lib["num_threads"]) for lib in threadpool_info()
                  if lib["user_api"] == "blas"]))
"""


def blas_threads(**environment: str) -> list[tuple[str, int]]:
    """BLAS libraries and their thread counts after `share_cores` in a fresh process with 2+
    CPUs reported (a 1-CPU machine could not tell the limit from the default)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"}
    }
    output = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env={**env, **environment},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [tuple(entry) for entry in json.loads(output)]


def test_every_blas_library_gets_one_thread():
    libraries = blas_threads()
    assert libraries, "numpy's BLAS should be found"
    assert all(threads == 1 for _, threads in libraries), libraries


def test_an_explicit_setting_is_left_alone():
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one CPU: the default is one BLAS thread, nothing to tell apart")
    libraries = blas_threads(OPENBLAS_NUM_THREADS="2")
    assert any(threads == 2 for _, threads in libraries), libraries
