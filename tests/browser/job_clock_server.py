"""`streamlit` with each job's end printed, `JOB-END <wall-clock seconds> <job name>`, and each
rerun of a whole page that a script asks for, `APP-RERUN <wall-clock seconds>`.

Browser tests run the app through this script (arguments as for `python -m streamlit`) to time
how long a page takes to show a job's end: the server and the browser share this machine's
clock. It wraps `JobManager._finish` (the moment a job's status becomes final) and `st.rerun`
(only to print), and changes nothing else, except where THERMOLAB_JOB_EXIT_DELAY_S is set: then
a training job ends that many seconds after its work has returned, as one that trains in a
worker process does (the runs are marked finished, then the worker exits; 0.6 s measured in
process, seconds on a loaded machine) when the training runs in the server's own thread
(THERMOLAB_TRAINING_IN=thread, for a machine too loaded for the idle-priority worker).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout's thermolab

import streamlit
from streamlit.web import cli

from thermolab import jobs

_finish = jobs.JobManager._finish
EXIT_DELAY_S = float(os.environ.get("THERMOLAB_JOB_EXIT_DELAY_S", "0"))


def _finish_and_tell(job: jobs.Job, status: jobs.JobStatus) -> None:
    if job.name.startswith("TinyGPT"):
        time.sleep(EXIT_DELAY_S)
    _finish(job, status)
    print(f"JOB-END {job.finished_at:.3f} {job.name}", flush=True)


jobs.JobManager._finish = staticmethod(_finish_and_tell)
_rerun = streamlit.rerun


def _rerun_and_tell(scope="app"):
    if scope == "app":
        print(f"APP-RERUN {time.time():.3f}", flush=True)
    _rerun(scope)


streamlit.rerun = _rerun_and_tell

if __name__ == "__main__":
    sys.exit(cli.main())
