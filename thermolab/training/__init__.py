"""Training TinyGPT: the baseline and the free-energy ("TSU") objective, side by side.

- `config`: `TrainConfig`, every setting of one side-by-side training.
- `schedules`: the temperature schedule T(t) and the learning-rate schedule.
- `objectives`: the free energy F = E_q[L] − T·H[q] + λ·KL(q ‖ prior), per training token.
- `calibration`: expected calibration error, reliability bins, predictive-entropy split.
- `evaluation`: validation loss (mean weights and K-sample predictive mean), samples.
- `review`: review flags (mutual information ≥ a threshold), risk–coverage and AURC.
- `langevin`: SGLD / pSGLD as a torch optimizer, its noise drawn through the backend.
- `trainer`: the alternating, per-step-metered loop, checkpoints and resume.
- `summary`: a run's summary and the TSU ÷ baseline comparison.
- `launch`: the loop as a job of `thermolab.jobs`; `worker`: the loop in a process of its own.
- `browse`: stored trainings read back (a group's runs, visible groups, progress rows).
"""

from thermolab.training.config import MODES, TrainConfig
from thermolab.training.launch import (
    Launch,
    may_resume,
    start_resume,
    start_training,
    visible_to,
)
from thermolab.training.summary import compare
from thermolab.training.trainer import TrainingResult, prepare, resume, train

__all__ = [
    "MODES",
    "Launch",
    "TrainConfig",
    "TrainingResult",
    "compare",
    "may_resume",
    "prepare",
    "resume",
    "start_resume",
    "start_training",
    "train",
    "visible_to",
]
