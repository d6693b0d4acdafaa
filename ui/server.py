"""Settings of the Streamlit server process that every page applies first (idempotent).

Many sessions share one server's cores, and what they ask of BLAS is small (a state's energy, a
trace's statistics, 30 times a second). A multi-threaded BLAS only adds overhead there: between
calls OpenBLAS's idle worker threads spin-wait for the next one, and at 30 frames per second they
never sleep. Measured with one session's live view (L = 128, 28 frames per second): the server
used 1.07 cores, 37.8 ms of CPU per frame, nearly all of it one spinning BLAS thread; with one
BLAS thread, 0.14 cores and 4.8 ms per frame.
"""

from __future__ import annotations

import os

from threadpoolctl import threadpool_limits

__all__ = ["share_cores"]

_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def share_cores() -> None:
    """One BLAS thread per call in this process, unless the environment asks for more.

    The BLAS libraries loaded so far are limited through threadpoolctl; ones loaded later read
    the same limit from the environment. A person who sets OPENBLAS_NUM_THREADS (or OMP_ or
    MKL_NUM_THREADS) explicitly is left alone.
    """
    if any(name in os.environ for name in _THREAD_VARIABLES):
        return
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"
    threadpool_limits(limits=1, user_api="blas")
