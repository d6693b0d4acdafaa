"""What a training run is asked to do: one frozen, validated, JSON-able configuration."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from thermolab.energy.estimate import PowerModel
from thermolab.energy.ledger import BITS_PER_RANDOM_NUMBER, SMTJ_JOULES_PER_BIT, OperationEnergy
from thermolab.energy.meters import METER_NAMES
from thermolab.models.tinygpt import PRESETS, STOCHASTIC_CHOICES
from thermolab.problems import check_memory
from thermolab.training.schedules import LearningRateSchedule, TemperatureSchedule

__all__ = ["ATTENTION_MODES", "MODES", "OPTIMIZERS", "TrainConfig"]

#: "baseline": cross-entropy on ordinary weights. "tsu": the free energy over Gaussian weights.
MODES: tuple[str, ...] = ("baseline", "tsu")
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
METERS: tuple[str, ...] = ("auto", *METER_NAMES)
NOISE_METHODS: tuple[str, ...] = ("native", "pbit")
#: A run's attention, by the name the page and CLI use → `thermolab.nn` attention mode.
ATTENTION_MODES: dict[str, str] = {
    "softmax": "softmax",
    "boltzmann": "sampled",
    "gumbel": "gumbel",
    "hard": "hard",
}
OPTIMIZERS: tuple[str, ...] = ("adamw", "langevin")
#: Characters assumed in a corpus's vocabulary when estimating a step's memory (an upper bound).
VOCAB_BOUND = 1024
#: Most torch threads a run may ask for (the page's own limit; torch itself takes any number).
MAX_THREADS = 256


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _finite(name: str, value: Any, *, low: float = 0.0, strict: bool = False) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < low or (strict and value == low):
        raise ValueError(f"{name} must be {'>' if strict else '≥'} {low}, got {value}")


@dataclass(frozen=True)
class TrainConfig:
    """Settings shared by the baseline and the TSU run of one side-by-side training.

    corpus: "default", "tinyshakespeare" or a text file's path. preset: a key of
    `thermolab.models.tinygpt.PRESETS`; batch_size / block_size override it when set.
    learning_rate: peak of the warm-up + cosine schedule, floor at min_lr_ratio × peak.
    temperature schedule (TSU only): t_schedule from t_start to t_end over the run.
    kl_weight: λ. stochastic_layers: which linear layers hold Gaussian weights.
    prior_std: σ of the N(0, σ²) weight prior. noise: how ε ~ N(0, 1) is drawn ("native"
    normal variates, or sums of p-bits). predictive_samples: K for the predictive mean.
    meter: "auto", "nvml", "rapl", "estimate" or "none". threads: torch CPU threads, set for
    the whole process (0: leave torch's setting alone). The default 1 is deliberate: on a
    shared CPU (a server with other sessions, two jobs) torch's multi-threaded kernels wait on
    each other and a step measured 10× slower with 2 threads than with 1 on a busy 2-core
    machine; use more only on an otherwise idle machine.
    target_val_loss: the validation loss (nats/token) at which "energy to target" is read.
    joules_per_pbit: J per p-bit sample for the "projected" energy (default: the published
    stochastic-MTJ figure in `thermolab.energy.ledger`); see `operation_energy()`.
    estimate_idle_watts, estimate_max_watts: the assumed CPU power (W) at idle and with every
    core busy, used by the "estimate" meter; see `power_model()`.
    attention: every run's attention, one of ATTENTION_MODES ("boltzmann": K = attention_samples
    Boltzmann samples per query row, averaged; "hard": one; "gumbel": Gumbel-softmax at
    relaxation temperature gumbel_tau); baseline_attention overrides it for the baseline run
    (None: the same). Attention temperature: attention_t_schedule from attention_temperature
    to attention_t_end (None: constant) over the run, > 0 throughout.
    optimizer: "adamw", or "langevin" (SGLD, preconditioned with RMSprop statistics when
    langevin_preconditioned: pSGLD), whose posterior temperature follows langevin_t_schedule
    from langevin_temperature to langevin_t_end (None: constant); its noise is drawn as `noise`.
    baseline_optimizer overrides it for the baseline run (None: the same), so one pair can
    train e.g. an AdamW baseline beside a Langevin TSU run.
    review_threshold: mutual information (nats) at which a token is flagged for review.
    review_dropout: MC p-bit dropout probability that gives a run with no other predictive
    samples (point weights, softmax attention) K samples to review at evaluation (0: none).
    """

    corpus: str = "default"
    preset: str = "cpu-quick"
    steps: int = 300
    batch_size: int | None = None
    block_size: int | None = None
    learning_rate: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 50
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 0
    eval_every: int = 50
    eval_batches: int = 8
    t_schedule: str = "constant"
    t_start: float = 1.0
    t_end: float = 1.0
    kl_weight: float = 1.0
    stochastic_layers: str = "first-qkv"
    prior_std: float = 0.1
    noise: str = "native"
    predictive_samples: int = 8
    meter: str = "auto"
    device: str = "auto"
    threads: int = 1
    checkpoint_every: int = 100
    target_val_loss: float = 2.5
    joules_per_pbit: float = SMTJ_JOULES_PER_BIT
    estimate_idle_watts: float = PowerModel.idle_watts
    estimate_max_watts: float = PowerModel.max_watts
    sample_chars: int = 200
    attention: str = "softmax"
    baseline_attention: str | None = None
    attention_samples: int = 8
    attention_temperature: float = 1.0
    attention_t_schedule: str = "constant"
    attention_t_end: float | None = None
    gumbel_tau: float = 0.5
    optimizer: str = "adamw"
    baseline_optimizer: str | None = None
    langevin_temperature: float = 1.0
    langevin_t_schedule: str = "constant"
    langevin_t_end: float | None = None
    langevin_preconditioned: bool = True
    review_threshold: float = 0.05
    review_dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {sorted(PRESETS)}")
        if not isinstance(self.corpus, str) or not self.corpus.strip():
            raise ValueError("corpus must be 'default', 'tinyshakespeare' or a file path")
        for name in ("steps", "eval_every", "eval_batches", "predictive_samples"):
            _positive_int(name, getattr(self, name))
        for name in ("checkpoint_every", "sample_chars", "attention_samples"):
            _positive_int(name, getattr(self, name))
        for name in ("batch_size", "block_size"):
            if getattr(self, name) is not None:
                _positive_int(name, getattr(self, name))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 0:
            raise ValueError(f"threads must be a non-negative integer, got {self.threads!r}")
        if self.threads > MAX_THREADS:
            raise ValueError(f"threads must be at most {MAX_THREADS}, got {self.threads}")
        if isinstance(self.warmup_steps, bool) or not isinstance(self.warmup_steps, int):
            raise ValueError(f"warmup_steps must be an integer, got {self.warmup_steps!r}")
        _finite("min_lr_ratio", self.min_lr_ratio)
        if self.min_lr_ratio > 1:
            raise ValueError(f"min_lr_ratio must lie in [0, 1], got {self.min_lr_ratio}")
        _finite("weight_decay", self.weight_decay)
        _finite("grad_clip", self.grad_clip, strict=True)
        _finite("kl_weight", self.kl_weight)
        _finite("prior_std", self.prior_std, strict=True)
        _finite("target_val_loss", self.target_val_loss, strict=True)
        _finite("joules_per_pbit", self.joules_per_pbit)
        self.power_model()  # validates the estimate's assumed wattages
        if self.meter not in METERS:
            raise ValueError(f"meter must be one of {METERS}, got {self.meter!r}")
        self.learning_rate_schedule()  # validates learning rate and warm-up
        self.temperature_schedule()  # validates the T schedule
        if self.stochastic_layers not in STOCHASTIC_CHOICES:
            raise ValueError(
                f"stochastic_layers must be one of {STOCHASTIC_CHOICES}, "
                f"got {self.stochastic_layers!r}"
            )
        if self.noise not in NOISE_METHODS:
            raise ValueError(f"noise must be one of {NOISE_METHODS}, got {self.noise!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {self.device!r}")
        for name in ("attention", "baseline_attention"):
            value = getattr(self, name)
            if value not in ATTENTION_MODES and not (
                name == "baseline_attention" and value is None
            ):
                raise ValueError(f"{name} must be one of {tuple(ATTENTION_MODES)}, got {value!r}")
        _finite("gumbel_tau", self.gumbel_tau, strict=True)
        schedule = self.attention_temperature_schedule()
        if min(schedule.start, schedule.end) <= 0:
            raise ValueError(
                f"attention temperature must stay > 0, got {schedule.start} → {schedule.end}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.baseline_optimizer is not None and self.baseline_optimizer not in OPTIMIZERS:
            raise ValueError(
                f"baseline_optimizer must be one of {OPTIMIZERS} or None, "
                f"got {self.baseline_optimizer!r}"
            )
        self.langevin_temperature_schedule()  # validates the Langevin T schedule
        if not isinstance(self.langevin_preconditioned, bool):
            raise ValueError(
                "langevin_preconditioned must be true or false, "
                f"got {self.langevin_preconditioned!r}"
            )
        _finite("review_threshold", self.review_threshold)
        _finite("review_dropout", self.review_dropout)
        if self.review_dropout >= 1:
            raise ValueError(f"review_dropout must lie in [0, 1), got {self.review_dropout}")
        check_memory(
            self.estimated_step_bytes,
            f"one training step with batch {self.resolved_batch_size} × block "
            f"{self.resolved_block_size}",
            "use a smaller batch or block size",
        )

    @property
    def estimated_step_bytes(self) -> int:
        """A generous estimate of one step's activation memory (float32, with gradients).

        Per layer: attention scores B·H·T² (scores, softmax, their gradients) and about 16
        B·T·C-sized tensors; then B·T·V logits with V taken as VOCAB_BOUND characters. Sampled
        attention (any run's mode other than softmax) adds 4 B·H·T² (the sample estimate and
        the float64 running sums it is drawn from) and K int64 indices per query row. It
        exists to refuse sizes that would take the server down, not to plan a GPU.
        """
        preset = PRESETS[self.preset]
        batch, block = self.resolved_batch_size, self.resolved_block_size
        scores = batch * preset.n_head * block * block
        per_layer = 3 * scores + 16 * batch * block * preset.n_embd
        if {self.attention, self.baseline_attention or self.attention} != {"softmax"}:
            per_layer += 4 * scores + 2 * batch * preset.n_head * block * self.attention_samples
        return 4 * (preset.n_layer * per_layer + 3 * batch * block * VOCAB_BOUND)

    @property
    def min_corpus_chars(self) -> int:
        """The shortest corpus this training accepts: 20 blocks (so both splits hold ≥ 1)."""
        return 20 * (self.resolved_block_size + 1)

    def power_model(self) -> PowerModel:
        """The "estimate" meter's assumptions (a CPU model; say so beside GPU runs)."""
        return PowerModel(idle_watts=self.estimate_idle_watts, max_watts=self.estimate_max_watts)

    def operation_energy(self) -> OperationEnergy:
        """Per-operation energy for projections: the cited default, or the user's own value."""
        if self.joules_per_pbit == SMTJ_JOULES_PER_BIT:
            return OperationEnergy()
        return OperationEnergy(
            joules_per_pbit_sample=self.joules_per_pbit,
            joules_per_random_number=self.joules_per_pbit * BITS_PER_RANDOM_NUMBER,
            source=(
                f"user-set projection, not a measurement: {self.joules_per_pbit:g} J per p-bit "
                f"sample, one uniform random number as {BITS_PER_RANDOM_NUMBER} p-bit samples"
            ),
        )

    def learning_rate_schedule(self) -> LearningRateSchedule:
        return LearningRateSchedule(
            peak=self.learning_rate,
            floor=self.learning_rate * self.min_lr_ratio,
            warmup_steps=self.warmup_steps,
        )

    def temperature_schedule(self) -> TemperatureSchedule:
        return TemperatureSchedule(self.t_schedule, self.t_start, self.t_end)  # type: ignore[arg-type]

    def attention_temperature_schedule(self) -> TemperatureSchedule:
        """T_attn(t): attention_temperature → attention_t_end (None: constant)."""
        end = self.attention_temperature if self.attention_t_end is None else self.attention_t_end
        return TemperatureSchedule(self.attention_t_schedule, self.attention_temperature, end)  # type: ignore[arg-type]

    def langevin_temperature_schedule(self) -> TemperatureSchedule:
        """The Langevin optimizer's posterior temperature T(t) (0: plain SGD / RMSprop)."""
        end = self.langevin_temperature if self.langevin_t_end is None else self.langevin_t_end
        return TemperatureSchedule(self.langevin_t_schedule, self.langevin_temperature, end)  # type: ignore[arg-type]

    def run_attention(self, mode: str) -> str:
        """The attention (a key of ATTENTION_MODES) of the run of `mode` ("baseline" or "tsu")."""
        if mode == "baseline" and self.baseline_attention is not None:
            return self.baseline_attention
        return self.attention

    def run_optimizer(self, mode: str) -> str:
        """The optimizer (one of OPTIMIZERS) of the run of `mode` ("baseline" or "tsu")."""
        if mode == "baseline" and self.baseline_optimizer is not None:
            return self.baseline_optimizer
        return self.optimizer

    @property
    def resolved_batch_size(self) -> int:
        return self.batch_size or PRESETS[self.preset].batch_size

    @property
    def resolved_block_size(self) -> int:
        return self.block_size or PRESETS[self.preset].block_size

    @property
    def tokens_per_step(self) -> int:
        """Training tokens per step of one run: batch × block."""
        return self.resolved_batch_size * self.resolved_block_size

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Rebuild from `to_dict()` output; unknown keys are an error, not silently dropped."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training settings: {', '.join(unknown)}")
        return cls(**values)
