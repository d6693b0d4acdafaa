"""One trainer, two objectives: a baseline and a TSU TinyGPT trained side by side.

The baseline minimises cross-entropy. The TSU run's chosen layers hold Gaussian weight
distributions whose noise is drawn through the backend, and it minimises the free energy of
`thermolab.training.objectives`. Both start from the same initial means and see the same
batches in the same order.

Fair energy attribution: the loop alternates one baseline step and one TSU step, and reads
the energy meter around each step on its own, after synchronising the device, so each run is
charged only for its own steps. Evaluation, checkpoints and sampling are not charged to
either run (they are the same work for both).

Everything the page and the CLI show is written to the run store as it happens: metric
series, energy per step, samples, checkpoints and a summary at the end; a stopped or killed
run resumes from its last checkpoint (`resume`).
"""

from __future__ import annotations

import contextlib
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from thermolab.backends import get_backend
from thermolab.backends.base import derived_seed
from thermolab.data import CharVocab, Corpus, check_split, get_batch, load_corpus, split_tokens
from thermolab.energy.ledger import EnergyLedger, project_operations
from thermolab.energy.meters import EnergyMeter, MeterUnavailable, open_meter
from thermolab.models.tinygpt import (
    TinyGPT,
    load_checkpoint,
    make_stochastic,
    preset_config,
    save_checkpoint,
)
from thermolab.nn.attention import ThermodynamicAttention
from thermolab.nn.bayes import n_stochastic_parameters, total_entropy, total_kl
from thermolab.runs import RunRecord, RunStore
from thermolab.training import metric_names as names
from thermolab.training.config import ATTENTION_MODES, MODES, TrainConfig
from thermolab.training.evaluation import (
    Evaluation,
    evaluate,
    generate_text,
    reviewed_excerpt,
    reviewed_generation,
)
from thermolab.training.langevin import Langevin
from thermolab.training.objectives import free_energy
from thermolab.training.summary import summarise

__all__ = ["Progress", "TrainingResult", "build_optimizer", "resume", "train"]

#: Metric rows are written to the store at least this often (seconds), and at every evaluation.
FLUSH_SECONDS = 1.0


class Progress(Protocol):
    """What the trainer needs from its caller: `thermolab.jobs.JobContext` fits."""

    @property
    def stop_requested(self) -> bool: ...

    def report(self, fraction: float, message: str = "", partial: Any = None) -> None: ...


class _Silent:
    stop_requested = False

    def report(self, fraction: float, message: str = "", partial: Any = None) -> None:
        return None


@dataclass
class _Run:
    """One of the side-by-side runs and everything its loop mutates."""

    mode: str
    run_id: str
    model: TinyGPT
    optimizer: torch.optim.Optimizer
    batches: torch.Generator
    backend: Any
    stochastic: dict[str, Any] | None
    step: int = 0
    tokens: int = 0
    train_seconds: float = 0.0
    pending: list[tuple[int, str, float]] = field(default_factory=list)
    val_history: list[tuple[int, float]] = field(default_factory=list)
    last_evaluation: tuple[int, Evaluation] | None = None
    last_loss: float = math.nan


@dataclass(frozen=True)
class TrainingResult:
    """Where the runs went (store ids by mode), why the loop ended, and their summaries."""

    group: str
    run_ids: dict[str, str]
    status: str
    summaries: dict[str, dict[str, Any]]


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0]


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but torch sees no CUDA GPU here")
    return torch.device(name)


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _open_meter(config: TrainConfig, device: torch.device) -> EnergyMeter | None:
    """The meter asked for; "auto" picks the one that sees the training device.

    cuda: NVML, else the estimate. cpu: RAPL, else the estimate (never NVML, which would
    charge a GPU's power to a CPU run). The estimate uses the config's power model.
    """
    name = config.meter
    if name == "auto":
        for candidate in ("nvml",) if device.type == "cuda" else ("rapl",):
            with contextlib.suppress(MeterUnavailable):
                return open_meter(candidate)
        name = "estimate"
    if name == "estimate":
        # With one torch thread a step runs entirely in the training's thread: charge that
        # thread's CPU time only, not other work in the same process (the server's sessions,
        # when the training runs on a job thread rather than in its worker process).
        scope = "thread" if config.threads == 1 else "process"
        return open_meter(name, assumptions=config.power_model(), scope=scope)
    return open_meter(name)


#: Devices whose tensors torch's fused AdamW takes (one kernel over every parameter; on the
#: CPU about 3× faster than the per-tensor loop torch uses by default there).
FUSED_ADAMW_DEVICES = frozenset({"cpu", "cuda"})


def build_optimizer(
    model: TinyGPT, config: TrainConfig, backend: Any, n_train_tokens: int, name: str
) -> torch.optim.Optimizer:
    """The optimizer `name` (AdamW or Langevin), with weight decay on weight matrices only
    (as nanoGPT). AdamW is torch's fused implementation where the parameters' device has one
    (`FUSED_ADAMW_DEVICES`): the same update, up to floating-point rounding.

    Gaussian layers' parameters get none: their prior already pulls them toward zero.
    Langevin's noise comes from the run's `backend` (drawn as config.noise), and its posterior
    is over the n_train_tokens tokens of the training split.
    """
    decay, no_decay = [], []
    gaussian = {
        id(p) for m in model.modules() if hasattr(m, "kl_divergence") for p in m.parameters()
    }
    for parameter in model.parameters():
        if not parameter.requires_grad:
            continue
        wants_decay = parameter.dim() >= 2 and id(parameter) not in gaussian
        (decay if wants_decay else no_decay).append(parameter)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if name == "langevin":
        return Langevin(
            groups,
            lr=config.learning_rate,
            temperature=config.langevin_temperature,
            n_data=n_train_tokens,
            preconditioned=config.langevin_preconditioned,
            backend=backend,
            noise_method=config.noise,
        )
    fused = {p.device.type for p in decay + no_decay} <= FUSED_ADAMW_DEVICES
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(0.9, 0.99), fused=fused)


def set_attention_temperature(model: torch.nn.Module, temperature: float) -> None:
    """Set the temperature T_attn of every attention layer of `model`."""
    for module in model.modules():
        if isinstance(module, ThermodynamicAttention):
            module.temperature = float(temperature)


def _build_run(
    mode: str,
    run_id: str,
    config: TrainConfig,
    vocab: CharVocab,
    device: torch.device,
    n_train_tokens: int,
    *,
    noise_seed: int | None = None,
) -> _Run:
    """A fresh run: model (Gaussian layers for "tsu"), optimiser, batch stream, backend.

    The model's attention and optimizer are the run's (`config.run_attention(mode)`,
    `config.run_optimizer(mode)`); every sample the attention, the Gaussian layers and a
    Langevin optimizer draw goes through the one backend, whose counts the projected-energy
    ledger reads.

    noise_seed seeds the backend that draws the weight noise (default: config.seed); a resumed
    run passes a seed derived from its step so it does not replay the noise of step 0.
    """
    model_config = preset_config(
        config.preset,
        vocab.size,
        **({"block_size": config.block_size} if config.block_size else {}),
        attention_mode=ATTENTION_MODES[config.run_attention(mode)],
        attention_temperature=config.attention_temperature,
        attention_samples=config.attention_samples,
        gumbel_temperature=config.gumbel_tau,
    )
    seed = config.seed if noise_seed is None else noise_seed
    backend = get_backend("torch", seed=seed, device=str(device))
    # Same initial means for both runs, without reseeding the server's global generator.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = TinyGPT(model_config, backend=backend)
    stochastic = None
    if mode == "tsu":
        stochastic = {"choice": config.stochastic_layers}
        make_stochastic(
            model,
            config.stochastic_layers,
            prior_std=config.prior_std,
            noise_method=config.noise,
        )
    model.to(device)
    batches = torch.Generator().manual_seed(config.seed)
    optimizer = build_optimizer(model, config, backend, n_train_tokens, config.run_optimizer(mode))
    return _Run(mode, run_id, model, optimizer, batches, backend, stochastic)


def _train_step(
    run: _Run, split_train: torch.Tensor, config: TrainConfig, device: torch.device
) -> list[tuple[str, float]]:
    """One optimiser step; returns the step's metrics as (name, value) pairs."""
    total = config.steps
    learning_rate = config.learning_rate_schedule()(run.step, total)
    metrics: list[tuple[str, float]] = [("lr", learning_rate)]
    langevin = config.run_optimizer(run.mode) == "langevin"
    langevin_temperature = config.langevin_temperature_schedule()(run.step, total)
    for group in run.optimizer.param_groups:
        group["lr"] = learning_rate
        if langevin:
            group["temperature"] = langevin_temperature
    if langevin:
        metrics.append(("langevin_temperature", langevin_temperature))
    if config.run_attention(run.mode) != "softmax" or config.attention_t_end is not None:
        attention_temperature = config.attention_temperature_schedule()(run.step, total)
        set_attention_temperature(run.model, attention_temperature)
        metrics.append(("attention_temperature", attention_temperature))
    x, y = get_batch(
        split_train, config.resolved_batch_size, config.resolved_block_size, run.batches, device
    )
    output = run.model(x, y)
    if run.mode == "tsu":
        temperature = config.temperature_schedule()(run.step, total)
        kl, entropy = total_kl(run.model), total_entropy(run.model)
        terms = free_energy(
            output.loss,
            entropy,
            kl,
            temperature=temperature,
            kl_weight=config.kl_weight,
            n_train_tokens=split_train.numel(),
        )
        objective = terms.objective
        metrics += [
            (names.TEMPERATURE, temperature),
            (names.KL_PER_TOKEN, float(kl.detach()) / split_train.numel()),
            (names.WEIGHT_ENTROPY, float(entropy.detach())),
        ]
    else:
        objective = output.loss
    run.optimizer.zero_grad(set_to_none=True)
    objective.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), config.grad_clip)
    run.optimizer.step()
    run.last_loss = float(output.loss.detach())
    metrics += [
        (names.TRAIN_LOSS, run.last_loss),
        (names.OBJECTIVE, float(objective.detach())),
        (names.GRAD_NORM, float(grad_norm)),
    ]
    return metrics


def prepare(
    config: TrainConfig,
    store: RunStore,
    *,
    modes: Sequence[str] = MODES,
    owner: str | None = None,
) -> tuple[str, dict[str, str]]:
    """Create one queued run per mode in `store`, tied by a group id; returns (group, ids)."""
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown or not modes or len(set(modes)) != len(modes):
        raise ValueError(f"modes must be distinct values from {MODES}, got {list(modes)}")
    group = uuid.uuid4().hex[:12]
    run_ids = {}
    for mode in modes:
        run_ids[mode] = store.create_run(
            "tinygpt",
            {"mode": mode, "train": config.to_dict()},
            name=f"{mode} · {config.preset} · {config.corpus}",
            owner=owner,
            group=group,
        )
        store.set_status(run_ids[mode], "queued")
    return group, run_ids


@dataclass
class _Data:
    """The corpus as the trainer uses it: vocabulary, splits, fixed validation batches."""

    corpus: Corpus
    vocab: CharVocab
    train: torch.Tensor
    val_batches: list[tuple[torch.Tensor, torch.Tensor]]
    prompt: list[int]


def _load_data(config: TrainConfig, device: torch.device) -> _Data:
    corpus = load_corpus(config.corpus, min_chars=config.min_corpus_chars)
    vocab = CharVocab.from_text(corpus.text)
    split = split_tokens(vocab.encode(corpus.text))
    check_split(split, config.resolved_block_size)
    # The same validation batches at every evaluation, so the curves compare like with like.
    fixed = torch.Generator().manual_seed(1_000_003 + config.seed)
    val_batches = [
        get_batch(split.val, config.resolved_batch_size, config.resolved_block_size, fixed, device)
        for _ in range(config.eval_batches)
    ]
    return _Data(corpus, vocab, split.train, val_batches, [int(split.val[0])])


class _Session:
    """The side-by-side loop: alternate steps, meter each, evaluate, checkpoint, record."""

    def __init__(
        self,
        config: TrainConfig,
        store: RunStore,
        runs: list[_Run],
        data: _Data,
        device: torch.device,
        ledger: EnergyLedger,
    ) -> None:
        self.config = config
        self.store = store
        self.runs = runs
        self.data = data
        self.device = device
        self.ledger = ledger
        self.operation_energy = config.operation_energy()
        self.meter: EnergyMeter | None = None
        self.meter_note: str | None = None
        self.recent_losses: dict[str, list[float]] = {run.mode: [] for run in runs}
        self.step_seconds: dict[str, list[float]] = {run.mode: [] for run in runs}

    # -- one step of one run, metered on its own -------------------------------------------
    def _metered_step(self, run: _Run, step: int) -> None:
        """Run optimiser step `step` (0-based) of `run`, charging it its own energy.

        Rows are logged at `step + 1`, the number of steps done, like evaluations, so a
        checkpoint after n steps keeps exactly the rows with step ≤ n.
        """
        done = step + 1
        tokens = self.config.tokens_per_step
        ops_before = run.backend.counter.snapshot()
        _synchronise(self.device)
        joules_before = self.meter.joules() if self.meter else 0.0
        started = time.perf_counter()
        metrics = _train_step(run, self.data.train, self.config, self.device)
        _synchronise(self.device)
        seconds = time.perf_counter() - started
        joules_after = self.meter.joules() if self.meter else 0.0
        run.step, run.tokens, run.train_seconds = (
            done,
            run.tokens + tokens,
            run.train_seconds + seconds,
        )
        metrics.append((names.STEP_SECONDS, seconds))
        self.step_seconds[run.mode].append(seconds)
        energy_rows = []
        if self.meter is not None:
            if self.meter.failure is None:
                joules = max(joules_after - joules_before, 0.0)
                energy_rows.append((done, seconds, joules, self.meter.kind, self.meter.source))
                metrics.append(("power_w", joules / seconds if seconds > 0 else 0.0))
            elif self.meter_note is None:
                # Steps alternate baseline, TSU: the other run may have its step `done` metered.
                self.meter_note = (
                    f"the {self.meter.name} meter failed during step {done} of the {run.mode} "
                    f"run ({self.meter.failure}); measured energy from there on is missing from "
                    f"the totals (complete up to step {done - 1})"
                )
        ops_after = run.backend.counter.snapshot()
        ops = {name: count - ops_before.get(name, 0) for name, count in ops_after.items()}
        if any(ops.values()):
            projected = project_operations(ops, self.operation_energy)
            energy_rows.append((done, seconds, projected.joules, projected.kind, projected.source))
        for _, _, joules, kind, source in energy_rows:
            self.ledger.add(
                run.mode, joules, kind, source, step=done, seconds=seconds, tokens=tokens
            )
        if energy_rows:
            self.store.log_energy(run.run_id, energy_rows)
        run.pending.extend((done, name, value) for name, value in metrics)
        recent = self.recent_losses[run.mode]
        recent.append(run.last_loss)
        del recent[:-20]

    # -- evaluation, samples, checkpoints -----------------------------------------------------
    def _evaluate(self, run: _Run, step: int) -> None:
        result = evaluate(
            run.model,
            self.data.val_batches,
            predictive_samples=self.config.predictive_samples,
            review_threshold=self.config.review_threshold,
            dropout=self.config.review_dropout,
        )
        run.last_evaluation = (step, result)
        run.val_history.append((step, result.val_loss))
        rows = [
            (names.VAL_LOSS, result.val_loss),
            (names.ECE, result.reliability.ece),
            (names.PREDICTIVE_ENTROPY, result.predictive_entropy),
        ]
        if result.val_loss_mean_weights is not None:
            rows.append((names.VAL_LOSS_MEAN_WEIGHTS, result.val_loss_mean_weights))
        if result.mutual_information is not None:
            rows.append((names.MUTUAL_INFORMATION, result.mutual_information))
        if result.review is not None:
            rows.append((names.FLAGGED_FRACTION, result.review.flagged_fraction))
            rows += [(names.aurc(ranking), area) for ranking, area in result.review.aurc.items()]
        for layer, heads in enumerate(result.attention_entropy):
            rows.append((names.attention_entropy(layer), sum(heads) / len(heads)))
        if run.mode == "tsu":
            rows.append((names.KL_TOTAL, float(total_kl(run.model).detach())))
        run.pending.extend((step, name, float(value)) for name, value in rows)
        text = generate_text(
            run.model,
            self.data.prompt,
            self.data.vocab.decode,
            n_chars=self.config.sample_chars,
            seed=self.config.seed,
        )
        self.store.add_sample(run.run_id, step, run.mode, text)

    def _checkpoint(self, run: _Run) -> None:
        path = self.store.checkpoint_dir(run.run_id) / "last.pt"
        extra = {
            "step": run.step,
            "tokens": run.tokens,
            "train_seconds": run.train_seconds,
            "optimizer": run.optimizer.state_dict(),
            "batch_rng": run.batches.get_state(),
            "mode": run.mode,
        }
        save_checkpoint(path, run.model, self.data.vocab, stochastic=run.stochastic, extra=extra)
        self.store.set_checkpoint(run.run_id, run.step, str(path))

    def _flush(self) -> None:
        for run in self.runs:
            if run.pending:
                self.store.log_metrics(run.run_id, run.pending)
                run.pending = []

    # -- the loop ---------------------------------------------------------------------------
    def run(self, progress: Progress) -> str:
        config = self.config
        start = min(run.step for run in self.runs)
        for run in self.runs:
            self.store.set_status(run.run_id, "running", f"step {run.step} of {config.steps}")
        last_flush = time.monotonic()
        status = "finished"
        step = start - 1
        for step in range(start, config.steps):
            if progress.stop_requested:
                status = "stopped"
                break
            for run in self.runs:
                if run.step <= step:
                    self._metered_step(run, step)
            done = step + 1
            if done % config.eval_every == 0 or done == config.steps:
                for run in self.runs:
                    self._evaluate(run, done)
            if done % config.checkpoint_every == 0:
                self._flush()  # every row up to a checkpoint is stored before it
                for run in self.runs:
                    self._checkpoint(run)
            if done % config.eval_every == 0 or time.monotonic() - last_flush > FLUSH_SECONDS:
                self._flush()
                last_flush = time.monotonic()
            losses = ", ".join(f"{run.mode} {run.last_loss:.3f}" for run in self.runs)
            progress.report(done / config.steps, f"step {done}/{config.steps}: {losses}")
        for run in self.runs:
            if run.step > 0 and (run.last_evaluation is None or run.last_evaluation[0] != run.step):
                self._evaluate(run, run.step)
        self._flush()
        for run in self.runs:
            if run.step > 0:
                self._checkpoint(run)
        return status

    def _reviewed_texts(self, run: _Run) -> dict[str, Any]:
        """A generated sample and a validation excerpt with each character's uncertainty."""
        options = {
            "predictive_samples": self.config.predictive_samples,
            "dropout": self.config.review_dropout,
        }
        x, y = self.data.val_batches[0]
        decode = self.data.vocab.decode
        return {
            "generated": reviewed_generation(
                run.model,
                self.data.prompt,
                decode,
                n_chars=self.config.sample_chars,
                seed=self.config.seed,
                **options,
            ),
            "excerpt": reviewed_excerpt(run.model, x[0], y[0], decode, **options),
        }

    def summaries(self, status: str) -> dict[str, dict[str, Any]]:
        summaries = {
            run.mode: summarise(
                mode=run.mode,
                status=status,
                steps=run.step,
                tokens=run.tokens,
                train_seconds=run.train_seconds,
                recent_losses=self.recent_losses[run.mode],
                step_seconds=self.step_seconds[run.mode],
                val_history=run.val_history,
                last_evaluation=run.last_evaluation,
                ledger=self.ledger,
                target_val_loss=self.config.target_val_loss,
                n_parameters=run.model.num_parameters(),
                n_stochastic_parameters=n_stochastic_parameters(run.model),
                meter_note=self.meter_note,
                attention=self.config.run_attention(run.mode),
                optimizer=self.config.run_optimizer(run.mode),
            )
            for run in self.runs
        }
        for run in self.runs:
            if summaries[run.mode].get("review") is not None:
                summaries[run.mode]["review"].update(self._reviewed_texts(run))
        return summaries


def _execute(session: _Session, progress: Progress | None) -> TrainingResult:
    progress = progress or _Silent()
    store, runs = session.store, session.runs
    try:
        if session.config.threads:
            torch.set_num_threads(session.config.threads)
        session.meter = _open_meter(session.config, session.device)
        status = session.run(progress)
        summaries = session.summaries(status)
        for run in runs:
            store.set_summary(run.run_id, summaries[run.mode])
            message = f"{status} after {run.step} of {session.config.steps} steps"
            store.set_status(run.run_id, status, message)
    except Exception as error:
        for run in runs:
            with contextlib.suppress(Exception):
                store.set_status(run.run_id, "failed", _one_line(error))
        raise
    finally:
        if session.meter is not None:
            session.meter.close()
    group = store.get_run(runs[0].run_id).group or ""
    return TrainingResult(group, {run.mode: run.run_id for run in runs}, status, summaries)


def train(
    config: TrainConfig,
    store: RunStore,
    run_ids: dict[str, str],
    progress: Progress | None = None,
) -> TrainingResult:
    """Train the runs `prepare` created (one per mode), from scratch, side by side."""
    try:
        device = _device(config.device)
        data = _load_data(config, device)
        runs = [
            _build_run(mode, run_id, config, data.vocab, device, data.train.numel())
            for mode, run_id in run_ids.items()
        ]
    except Exception as error:
        for run_id in run_ids.values():
            store.set_status(run_id, "failed", _one_line(error))
        raise
    return _execute(_Session(config, store, runs, data, device, EnergyLedger()), progress)


def _restore_run(
    record: RunRecord,
    config: TrainConfig,
    data: _Data,
    device: torch.device,
    store: RunStore,
    ledger: EnergyLedger,
) -> _Run:
    """Rebuild a stored run at its last checkpoint; its later rows are dropped from the store."""
    mode = record.config["mode"]
    noise_seed = derived_seed(config.seed, record.checkpoint_step or 0)
    run = _build_run(
        mode, record.id, config, data.vocab, device, data.train.numel(), noise_seed=noise_seed
    )
    if record.checkpoint_path:
        checkpoint = load_checkpoint(record.checkpoint_path, map_location=device)
        if checkpoint.vocab.chars != data.vocab.chars:
            raise ValueError(
                f"the corpus {config.corpus!r} has changed since run {record.id} started "
                "(its characters differ); it cannot be resumed"
            )
        run.model.load_state_dict(checkpoint.model.state_dict())
        extra = checkpoint.extra
        run.optimizer.load_state_dict(extra["optimizer"])
        run.batches.set_state(extra["batch_rng"])
        run.step, run.tokens = extra["step"], extra["tokens"]
        run.train_seconds = extra["train_seconds"]
    store.truncate_after(record.id, run.step)
    tokens_per_step = config.tokens_per_step
    for row in store.energy(record.id):
        ledger.add(
            mode,
            row["joules"],
            row["kind"],
            row["source"],
            step=row["step"],
            seconds=row["seconds"],
            tokens=tokens_per_step,
        )
    steps, values = store.metrics(record.id, [names.VAL_LOSS]).get(names.VAL_LOSS, ([], []))
    run.val_history = list(zip(steps, values, strict=True))
    return run


def resume(store: RunStore, group: str, progress: Progress | None = None) -> TrainingResult:
    """Continue an interrupted or stopped side-by-side training from its last checkpoints.

    Rows logged after a run's checkpoint are dropped (they are redone); energy logged up to
    the checkpoint stays in the totals. A run with no checkpoint starts again from step 0.
    If the runs cannot be restored they are marked "interrupted" again, with the reason.
    """
    records = sorted(
        store.list_runs(group=group), key=lambda record: MODES.index(record.config["mode"])
    )
    if not records:
        raise ValueError(f"no runs belong to group {group!r}")
    ledger = EnergyLedger()
    try:
        config = TrainConfig.from_dict(records[0].config["train"])
        device = _device(config.device)
        data = _load_data(config, device)
        runs = [_restore_run(record, config, data, device, store, ledger) for record in records]
    except Exception as error:
        for record in records:
            store.set_status(record.id, "interrupted", f"resume failed: {_one_line(error)}")
        raise
    return _execute(_Session(config, store, runs, data, device, ledger), progress)
