"""TinyGPT: a baseline and a TSU model trained side by side, live, with energy by kind.

Thin page: settings in, figures out. `thermolab.training` trains both models as one job of
`thermolab.jobs` and writes every step to the run store (`thermolab.runs`); this page reads
the store back — on a timer while the job runs — and draws it with `thermolab.viz.training`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import streamlit as st

from thermolab.runs import ACTIVE_STATUSES
from ui.engine import lazy_engine
from ui.long_work import LongWork
from ui.server import share_cores
from ui.session import attach_session, identity, live_upload_folders, owner_alive

st.set_page_config(page_title="TinyGPT training · ThermoLab", page_icon="🔥", layout="wide")
share_cores()  # one BLAS thread per call: the sessions share the cores

STATE = st.session_state
POLL_SECONDS = 1.5  # the live view rereads the store this often while a training runs
# ... and redraws its figures (Plotly) this often: redrawn at every poll, they kept a browser
# watching one training at 0.27 cores, every 5 s at 0.17 (measured on this 2-core machine).
FIGURE_SECONDS = 5.0
MAX_GROUPS_LISTED = 50  # the run browser offers this session the newest this many trainings
CORPORA = {
    "default": "Offline default (Python's own documentation)",
    "tinyshakespeare": "Tiny Shakespeare (downloaded once, checksum-verified)",
    "upload": "Upload a text file",
}
LAYER_LABELS = {
    "first-qkv": "first block's QKV projection",
    "attention": "all attention projections",
    "all-linear": "all linear layers",
}
NOISE_LABELS = {"native": "native normal variates", "pbit": "sums of p-bits (central limit)"}
ATTENTION_LABELS = {
    "softmax": "softmax (exact)",
    "boltzmann": "boltzmann (K samples, averaged)",
    "gumbel": "gumbel-softmax (relaxed)",
    "hard": "hard (one sample)",
    "same": "same as the TSU run",
}
OPTIMIZER_LABELS = {
    "adamw": "AdamW",
    "langevin": "Langevin (SGLD; pSGLD if preconditioned)",
    "same": "same as the TSU run",
}
METER_LABELS = {
    "auto": "auto: NVML for a GPU run, RAPL for a CPU run, else the estimate",
    "nvml": "NVML (NVIDIA GPU, measured)",
    "rapl": "RAPL (CPU, measured)",
    "estimate": "estimate (power model)",
    "none": "none",
}


engine = lazy_engine(
    "Loading torch and the training engine…",
    data="thermolab.data",
    runs="thermolab.runs",
    training="thermolab.training",
    browse="thermolab.training.browse",
    metric_names="thermolab.training.metric_names",
    ledger="thermolab.energy.ledger",
    meters="thermolab.energy.meters",
    probe_meters="thermolab.energy:probe_meters",
    presets="thermolab.models.tinygpt:PRESETS",
    layer_choices="thermolab.models.tinygpt:STOCHASTIC_CHOICES",
    t_schedules="thermolab.training.schedules:T_SCHEDULES",
    noise_methods="thermolab.training.config:NOISE_METHODS",
    devices="thermolab.training.config:DEVICES",
    verdict="thermolab.training.verdict:verdict",
    viz="thermolab.viz.training",
    review_viz="thermolab.viz.review",
    attention_modes="thermolab.training.config:ATTENTION_MODES",
    optimizers="thermolab.training.config:OPTIMIZERS",
)


@st.cache_resource(show_spinner=False)
def open_store(directory: str):
    """One run store per runs directory and server process, shared by every session.

    Opening it marks runs whose process has died (a server killed mid-run) as interrupted,
    so they can be resumed: once per process, as the page first loads.
    """
    runs = engine().runs
    store = runs.RunStore(Path(directory) / runs.DATABASE_NAME)
    store.mark_interrupted()
    remove_unused_uploads(directory, store)
    return store


def remove_unused_uploads(runs_dir: Path | str, store) -> None:
    """Delete the uploads of sessions that have ended, unless a run in the store trains on them."""
    engine().data.remove_unused_uploads(runs_dir, live_upload_folders(), store.corpora())


@st.cache_resource(ttl=300, show_spinner=False)
def meter_statuses() -> list[Any]:
    """The energy meters this server has (NVML, RAPL, estimate), probed every few minutes."""
    return engine().probe_meters()


def check_meter(name: str) -> None:
    """Refuse a meter the probe found unavailable here (ValueError with the probe's reason)."""
    for status in meter_statuses():
        if status.name.lower() == name and not status.available:
            raise ValueError(f"the {status.name} meter is unavailable here: {status.detail}")


def fail(message: str) -> None:
    """Show an error instead of the rest of the page."""
    st.error(message)
    st.stop()


def my_launch(group: str | None = None):
    """This session's last launch (of `group`, when given), or None."""
    launch = STATE.get("gpt.launch")
    if launch is None or (group is not None and launch.group != group):
        return None
    return launch


def my_job_active() -> bool:
    """Whether this session's last training is still queued or running."""
    launch = my_launch()
    return launch is not None and not launch.job.finished


# --------------------------------------------------------------------------- settings


def meter_notes(values: dict[str, Any], default: Any) -> None:
    """The meters this server has, and the estimate's assumptions (editable)."""
    for meter in meter_statuses():
        state = "available" if meter.available else "unavailable"
        st.caption(f"{meter.name} ({meter.kind}): {state} — {meter.detail}")
    with st.expander("What the estimate assumes (editable)"):
        values["estimate_idle_watts"] = st.number_input(
            "Assumed CPU power at idle (W)",
            0.0,
            2000.0,
            float(default.estimate_idle_watts),
            key="gpt.idle_watts",
        )
        values["estimate_max_watts"] = st.number_input(
            "Assumed CPU power with every core busy (W)",
            0.0,
            2000.0,
            float(default.estimate_max_watts),
            key="gpt.max_watts",
        )
        try:
            edited = dataclasses.replace(
                default,
                estimate_idle_watts=values["estimate_idle_watts"],
                estimate_max_watts=values["estimate_max_watts"],
            )
            st.caption(edited.power_model().describe())
        except ValueError as error:
            st.warning(str(error))


def choose(label: str, options, default, key: str, **kwargs: Any) -> Any:
    """A selectbox that starts at the engine's default."""
    options = list(options)
    return st.selectbox(label, options, index=options.index(default), key=key, **kwargs)


def settings_form(eng: SimpleNamespace, busy: bool) -> tuple[dict[str, Any], str, Any, bool]:
    """The sidebar form; returns (TrainConfig values, corpus choice, upload, submitted). `busy`:
    this session's training runs (Start is disabled).

    Every widget starts at TrainConfig's own default, so the page and the command line agree.
    """
    presets, default = eng.presets, eng.training.TrainConfig()
    with st.sidebar.form("gpt.settings"):
        st.header("Training")
        choice = st.selectbox("Corpus", list(CORPORA), format_func=CORPORA.get, key="gpt.corpus")
        upload = st.file_uploader(
            "Text file (with 'Upload a text file')",
            key="gpt.upload",
            help=f"UTF-8 text, at most {eng.data.MAX_CORPUS_BYTES // eng.data.MEGABYTE} MB.",
        )
        values: dict[str, Any] = {
            "preset": choose(
                "Model",
                presets,
                default.preset,
                "gpt.preset",
                format_func=lambda n: presets[n].label,
            ),
            "steps": st.number_input("Steps", 1, 100_000, default.steps, key="gpt.steps"),
            "learning_rate": st.number_input(
                "Peak learning rate",
                1e-6,
                1.0,
                default.learning_rate,
                1e-4,
                format="%.2e",
                key="gpt.lr",
            ),
        }
        st.subheader("TSU: free energy F = E_q[L] − T·H[q] + λ·KL")
        values["t_schedule"] = choose(
            "T schedule", eng.t_schedules, default.t_schedule, "gpt.t_schedule"
        )
        left, right = st.columns(2)
        values["t_start"] = left.number_input(
            "T₀ (start)", 0.0, 100.0, default.t_start, key="gpt.t_start"
        )
        values["t_end"] = right.number_input(
            "T_f (end)", 0.0, 100.0, default.t_end, key="gpt.t_end"
        )
        values["kl_weight"] = st.number_input(
            "λ (KL weight)", 0.0, 1000.0, default.kl_weight, key="gpt.kl"
        )
        values["stochastic_layers"] = choose(
            "Gaussian (stochastic) layers",
            eng.layer_choices,
            default.stochastic_layers,
            "gpt.layers",
            format_func=lambda c: LAYER_LABELS.get(c, c),
        )
        values["noise"] = st.radio(
            "Weight noise drawn as",
            eng.noise_methods,
            index=eng.noise_methods.index(default.noise),
            format_func=lambda n: NOISE_LABELS.get(n, n),
            horizontal=True,
            key="gpt.noise",
        )
        values |= thermo_lm_settings(eng, default)
        st.subheader("Energy")
        values["meter"] = choose(
            "Meter",
            ("auto", *eng.meters.METER_NAMES),
            default.meter,
            "gpt.meter",
            format_func=lambda m: METER_LABELS.get(m, m),
        )
        meter_notes(values, default)
        values["joules_per_pbit"] = st.number_input(
            "Projected energy per p-bit sample (J)",
            0.0,
            1e-6,
            default.joules_per_pbit,
            format="%.2e",
            key="gpt.pbit_joules",
            help="Prices the TSU run's counted p-bit operations on thermodynamic hardware "
            "(energy kind: projected). Default: " + eng.ledger.OperationEnergy().source,
        )
        st.subheader("Run")
        values["seed"] = st.number_input("Seed", 0, 2**31 - 1, default.seed, key="gpt.seed")
        values["target_val_loss"] = st.number_input(
            "Target validation loss (nats/token)",
            0.01,
            20.0,
            default.target_val_loss,
            0.1,
            key="gpt.target",
        )
        values |= advanced_settings(eng, default)
        submitted = st.form_submit_button(
            "Start training", type="primary", disabled=busy, key="gpt.start"
        )
    return values, choice, upload, submitted


def schedule_inputs(
    eng: SimpleNamespace,
    name: str,
    minimum: float,
    schedule: str,
    start: float,
    schedule_key: str,
    start_key: str,
    end_key: str,
) -> tuple[str, float, float | None]:
    """A temperature schedule's widgets: (schedule, start, end); end is None when constant."""
    chosen = choose(f"{name} schedule", eng.t_schedules, schedule, schedule_key)
    left, right = st.columns(2)
    first = left.number_input(f"{name} (start)", minimum, 100.0, start, key=start_key)
    last = right.number_input(f"{name} (end)", minimum, 100.0, start, key=end_key)
    return chosen, first, None if chosen == "constant" else last


def thermo_lm_settings(eng: SimpleNamespace, default) -> dict[str, Any]:
    """Sampled attention, the optimizer and review flags (the TinyThermoLM settings)."""
    st.subheader("TinyThermoLM: attention, optimizer, review")
    values: dict[str, Any] = {
        "attention": choose(
            "Attention (TSU run; both runs unless set below)",
            eng.attention_modes,
            default.attention,
            "gpt.attention",
            format_func=ATTENTION_LABELS.get,
        ),
    }
    baseline = choose(
        "Baseline's attention",
        ("same", *eng.attention_modes),
        default.baseline_attention or "same",
        "gpt.baseline_attention",
        format_func=ATTENTION_LABELS.get,
    )
    values["baseline_attention"] = None if baseline == "same" else baseline
    left, right = st.columns(2)
    values["attention_samples"] = left.number_input(
        "K (boltzmann)", 1, 256, default.attention_samples, key="gpt.attention_k"
    )
    values["gumbel_tau"] = right.number_input(
        "τ (gumbel)", 0.01, 100.0, default.gumbel_tau, key="gpt.gumbel_tau"
    )
    (
        values["attention_t_schedule"],
        values["attention_temperature"],
        values["attention_t_end"],
    ) = schedule_inputs(
        eng, "T_attn", 0.01, default.attention_t_schedule, default.attention_temperature,
        "gpt.attention_sched", "gpt.attention_t", "gpt.attention_t_end",
    )  # fmt: skip
    values["optimizer"] = st.radio(
        "Optimizer (TSU run; both runs unless set below)",
        eng.optimizers,
        index=eng.optimizers.index(default.optimizer),
        format_func=OPTIMIZER_LABELS.get,
        horizontal=True,
        key="gpt.optimizer",
    )
    baseline = st.radio(
        "Baseline's optimizer",
        ("same", *eng.optimizers),
        index=("same", *eng.optimizers).index(default.baseline_optimizer or "same"),
        format_func=OPTIMIZER_LABELS.get,
        horizontal=True,
        key="gpt.baseline_optimizer",
        help="e.g. AdamW here and Langevin above: the verdict then says what Langevin "
        "bought or cost against AdamW.",
    )
    values["baseline_optimizer"] = None if baseline == "same" else baseline
    (
        values["langevin_t_schedule"],
        values["langevin_temperature"],
        values["langevin_t_end"],
    ) = schedule_inputs(
        eng, "Langevin T", 0.0, default.langevin_t_schedule, default.langevin_temperature,
        "gpt.langevin_sched", "gpt.langevin_t", "gpt.langevin_t_end",
    )  # fmt: skip
    values["langevin_preconditioned"] = st.checkbox(
        "Precondition (pSGLD)", default.langevin_preconditioned, key="gpt.langevin_pre"
    )
    left, right = st.columns(2)
    values["review_threshold"] = left.number_input(
        "Flag tokens with MI ≥ (nats)",
        0.0,
        10.0,
        default.review_threshold,
        0.01,
        format="%.3f",
        key="gpt.review_threshold",
    )
    values["review_dropout"] = right.number_input(
        "MC p-bit dropout (review)",
        0.0,
        0.9,
        default.review_dropout,
        0.05,
        key="gpt.review_dropout",
        help="Gives a run with no other predictive samples (point weights, softmax attention) "
        "K samples to review, at evaluation only. 0: such a run is not reviewed.",
    )
    return values


def advanced_settings(eng: SimpleNamespace, default) -> dict[str, Any]:
    """Settings most runs leave alone (inside the form's "Advanced" expander)."""
    with st.expander("Advanced"):
        values = {
            "eval_every": st.number_input(
                "Evaluate every (steps)", 1, 100_000, default.eval_every, key="gpt.eval"
            ),
            "eval_batches": st.number_input(
                "Validation batches", 1, 200, default.eval_batches, key="gpt.eval_batches"
            ),
            "predictive_samples": st.number_input(
                "Predictive samples K (TSU)", 1, 64, default.predictive_samples, key="gpt.k"
            ),
            "threads": st.number_input(
                "Torch CPU threads (0: torch's default)",
                0,
                256,
                default.threads,
                key="gpt.threads",
                help="For this training's worker process. More than 1 helps only on an idle "
                "machine: on shared cores torch's threads wait on each other and slow the app.",
            ),
            "device": choose("Device", eng.devices, default.device, "gpt.device"),
            "batch_size": st.number_input(
                "Batch size (0: the preset's)", 0, 4096, default.batch_size or 0, key="gpt.batch"
            ),
            "block_size": st.number_input(
                "Block size (0: the preset's)", 0, 4096, default.block_size or 0, key="gpt.block"
            ),
            "warmup_steps": st.number_input(
                "Warm-up steps", 0, 100_000, default.warmup_steps, key="gpt.warmup"
            ),
            "prior_std": st.number_input(
                "Prior σ", 1e-4, 10.0, default.prior_std, format="%.4f", key="gpt.prior"
            ),
            "checkpoint_every": st.number_input(
                "Checkpoint every (steps)",
                1,
                100_000,
                default.checkpoint_every,
                key="gpt.checkpoint",
            ),
            "sample_chars": st.number_input(
                "Generated sample length (characters)",
                1,
                2000,
                default.sample_chars,
                key="gpt.sample_chars",
            ),
        }
    for name in ("batch_size", "block_size"):
        values[name] = values[name] or None
    return values


# --------------------------------------------------------------------------- starting


def resolve_corpus(eng: SimpleNamespace, store, config, choice: str, upload, runs_dir: Path) -> str:
    """The corpus setting for the job; raises CorpusError (a ValueError) with a clear message."""
    if choice == "default":
        return "default"
    if choice == "tinyshakespeare":
        with st.spinner("Fetching Tiny Shakespeare (once; it is cached afterwards)…"):
            eng.data.tiny_shakespeare(download=True)
        return "tinyshakespeare"
    if upload is None:
        raise eng.data.CorpusError("choose a text file to upload, or another corpus")
    data = upload.getvalue()
    eng.data.corpus_from_bytes(data, name=upload.name, min_chars=config.min_corpus_chars)
    remove_unused_uploads(runs_dir, store)  # the server's upload space, freed before it is counted
    return str(eng.data.save_upload(runs_dir, identity().uploads, upload.name, data))


def start(eng, store, values: dict[str, Any], choice: str, upload, runs_dir: Path) -> None:
    """Validate the settings and submit the side-by-side job; errors are shown, not raised.

    On success the page reruns, so the Start button is disabled and the live view polls.
    """
    if my_job_active():  # a second press before the page redrew: one job per session
        st.warning("Your training is still running: stop it before starting another.")
        return
    try:
        config = eng.training.TrainConfig(**values)
        corpus = resolve_corpus(eng, store, config, choice, upload, runs_dir)
        config = dataclasses.replace(config, corpus=corpus)
        check_meter(config.meter)
        launch = eng.training.start_training(config, store, owner=OWNER)
    except (ValueError, eng.runs.StoreError) as error:
        st.error(f"Cannot start this training: {error}")
        if choice == "tinyshakespeare" and isinstance(error, eng.data.CorpusError):
            st.button(
                "Use the offline default corpus instead",
                key="gpt.use_default",
                on_click=lambda: STATE.update({"gpt.corpus": "default"}),
            )
        return
    STATE["gpt.launch"] = launch
    STATE["gpt.view"] = launch.group
    st.rerun()


# --------------------------------------------------------------------------- one group


def is_active(records: Mapping[str, Any], launch) -> bool:
    """Whether the group is still training (or waiting to): the live view keeps polling.

    This session's own training runs until its job has finished, as its Start and Stop buttons
    say (the job ends after the runs are marked finished: its worker process exits first);
    another's, until its run records say it has ended.
    """
    if launch is not None:
        return not launch.job.finished
    return any(record.status in ACTIVE_STATUSES for record in records.values())


def my_training() -> LongWork:
    """This session's last training as this page run sees it: its Start button and (when it is
    the one shown) its polling follow this one answer (see `ui.long_work`)."""
    launch = my_launch()
    return LongWork(lambda: launch is None or launch.job.finished)


def others_training(eng, store, group: str) -> LongWork:
    """Another's training (or one from an earlier session), ended when its run records say so;
    an unreadable store counts as not yet."""

    def ended() -> bool:
        try:
            return not is_active(eng.browse.group_records(store, group), None)
        except eng.runs.StoreError:
            return False

    return LongWork(ended)


def job_status(launch, records: Mapping[str, Any]) -> None:
    """Queue place or progress of this session's job (with Stop), then each run's status."""
    job = None if launch is None else launch.job
    if job is not None:
        if job.status == "queued":
            st.info(f"Queued: place {job.queue_position} in line; the server trains a few at once.")
        elif job.status == "running":
            st.progress(job.progress, text=job.message or "loading the corpus, building models…")
        elif job.status == "failed":
            st.error(f"The training failed: {job.error}")
        elif job.status == "stopped" and job.stop_reason:
            st.warning(f"The training was {job.stop_reason}.")
        if not job.finished and st.button("Stop", key="gpt.stop"):
            job.stop()
            st.toast("Stopping after the current step…")
    for mode, record in records.items():
        # a running run's message is the one it started with; the table below counts steps
        shown = record.message and record.status not in ACTIVE_STATUSES
        message = f" · {engine().runs.without_paths(record.message)}" if shown else ""
        st.caption(f"**{mode}** · {record.status}{message}")


def drawn_metrics(train: Mapping[str, Any]) -> list[str]:
    """The metric series the page draws (a run logs more; reading only these keeps polls light)."""
    preset = engine().presets.get(train.get("preset"))
    layers = preset.n_layer if preset is not None else 0
    names = engine().metric_names
    return [*names.DRAWN, *(names.attention_entropy(layer) for layer in range(layers))]


def read_runs(store, records: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Everything the figures need, by mode: metric series, energy rows, samples."""
    return {
        mode: {
            "metrics": store.metrics(record.id, drawn_metrics(record.config.get("train", {}))),
            "energy": store.energy(record.id),
            "samples": store.samples(record.id),
        }
        for mode, record in records.items()
    }


def number_formats(columns, printf: str) -> dict[str, Any]:
    """Column settings that show these table columns' numbers with a printf format."""
    return {name: st.column_config.NumberColumn(format=printf) for name in columns}


def charts(viz, data: Mapping[str, dict], summaries: Mapping[str, dict]) -> None:
    """The live figures, two per row."""
    metrics = {mode: run["metrics"] for mode, run in data.items()}
    energy = {mode: run["energy"] for mode, run in data.items()}
    left, right = st.columns(2)
    left.plotly_chart(viz.loss_figure(metrics), key="gpt.fig.loss")
    right.plotly_chart(viz.energy_figure(energy), key="gpt.fig.energy")
    left, right = st.columns(2)
    left.plotly_chart(viz.power_figure(energy), key="gpt.fig.power")
    right.plotly_chart(viz.attention_entropy_figure(metrics), key="gpt.fig.attention")
    left, right = st.columns(2)
    if "tsu" in metrics:
        left.plotly_chart(viz.weight_entropy_figure(metrics["tsu"]), key="gpt.fig.weights")
    reliability = {m: s["reliability"] for m, s in summaries.items() if s.get("reliability")}
    if reliability:
        ece = {mode: summaries[mode].get("ece") for mode in reliability}
        right.plotly_chart(viz.reliability_figure(reliability, ece), key="gpt.fig.calibration")
        right.caption(
            "Calibration of the last evaluation: each point is a bin of next-token predictions; "
            "on the dashed diagonal, confidence equals accuracy. Marker size: tokens in the bin."
        )
    else:
        right.info("The calibration plot appears when the training ends.")


def samples_side_by_side(data: Mapping[str, dict]) -> None:
    """The latest generated text of each run (drawn at each evaluation), next to each other."""
    columns = st.columns(max(1, len(data)))
    for column, (mode, run) in zip(columns, data.items(), strict=False):
        with column:
            if not run["samples"]:
                st.caption(f"{mode}: no sample yet (one is drawn at each evaluation)")
                continue
            latest = max(run["samples"], key=lambda sample: sample["step"])
            st.markdown(f"**{mode}**, after step {latest['step']}")
            st.code(latest["text"], language=None, wrap_lines=True)


def results(eng, records: Mapping[str, Any], data: Mapping[str, dict]) -> None:
    """The comparison table, the verdict, and where each energy number comes from."""
    summaries = {mode: record.summary for mode, record in records.items() if record.summary}
    if set(summaries) >= {"baseline", "tsu"}:
        baseline, tsu = summaries["baseline"], summaries["tsu"]
        st.subheader("Results: TSU ÷ baseline")
        st.dataframe(
            comparison_table(eng.training.compare(baseline, tsu)),
            hide_index=True,
            column_config=number_formats(("baseline", "TSU"), "%.4g")
            | number_formats(("TSU ÷ baseline",), "%.3g"),
        )
        st.markdown(f"**Verdict.** {eng.verdict(baseline, tsu)}")
    for note in {s.get("meter_note") for s in summaries.values()} - {None, ""}:
        st.warning(f"Energy meter: {note}")
    energy_sources(eng, records, data)


def comparison_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """compare()'s rows with readable column names (the source only on energy rows)."""
    return [
        {
            "quantity": row["quantity"],
            "unit": row["unit"],
            "baseline": row["baseline"],
            "TSU": row["tsu"],
            "TSU ÷ baseline": row["ratio"],
            "source": row.get("source", ""),
        }
        for row in rows
    ]


def energy_sources(eng, records: Mapping[str, Any], data: Mapping[str, dict]) -> None:
    """Each (kind, source) the energy numbers came from, and the projection's per-op energy."""
    sources = sorted({(r["kind"], r["source"]) for run in data.values() for r in run["energy"]})
    if not sources:
        st.caption("No energy was recorded: the meter was off or unavailable.")
        return
    with st.expander("Where the energy numbers come from", expanded=False):
        for kind, source in sources:
            st.markdown(f"- **{kind}**: {source}")
        if any(kind == "projected" for kind, _ in sources):
            train = next(iter(records.values())).config["train"]
            operation = eng.training.TrainConfig.from_dict(train).operation_energy()
            st.caption(
                f"Projected per operation: {operation.joules_per_pbit_sample:.3g} J per p-bit "
                f"sample, {operation.joules_per_random_number:.3g} J per other random number."
            )


def review_section(eng, records: Mapping[str, Any]) -> None:
    """Flagged tokens in generated text and a validation excerpt; the risk–coverage curve."""
    reviews = {
        mode: review
        for mode, record in records.items()
        if (review := (record.summary or {}).get("review"))
    }
    st.subheader("Review: which predictions to check")
    if not reviews:
        st.caption(
            "No run here has predictive samples (Gaussian weights, sampled attention or MC p-bit "
            "dropout): set the review dropout above 0 to review a deterministic run."
        )
        return
    st.plotly_chart(eng.review_viz.risk_coverage_figure(reviews), key="gpt.fig.risk")
    st.caption(
        "Tokens ranked from most to least confident by predictive entropy (solid) or mutual "
        "information (dashed); the curve is the error rate of the kept tokens. Lower is better."
    )
    columns = st.columns(len(reviews))
    for column, (mode, review) in zip(columns, reviews.items(), strict=True):
        record = records[mode]
        with column:
            threshold = review["threshold"]
            st.markdown(
                f"**{mode}**: {review['flagged_fraction']:.1%} of {review['n_tokens']} validation "
                f"tokens flagged (MI ≥ {threshold:g} nats); AURC {review['aurc']['entropy']:.3f} "
                f"by entropy, {review['aurc']['mutual_information']:.3f} by MI (a perfect "
                f"ranking: {review['perfect_aurc']:.3f}; error rate {review['error_rate']:.3f})."
            )
            for part, label in (("generated", "Generated text"), ("excerpt", "Validation excerpt")):
                if part in review:
                    st.caption(f"{label} (highlighted: flagged for review)")
                    st.markdown(
                        eng.review_viz.highlighted_html(
                            review[part]["chars"], review[part]["mutual_information"], threshold
                        ),
                        unsafe_allow_html=True,
                    )
            st.download_button(
                f"{mode} review (JSON)",
                json.dumps(review, indent=2),
                f"tinygpt_{record.id}_{mode}_review.json",
                "application/json",
                key=f"gpt.review.{record.id}",
                on_click="ignore",
            )


def exports(store, records: Mapping[str, Any]) -> None:
    """CSV and JSON of each run, read from the store only when the button is pressed."""
    columns = st.columns(2 * max(1, len(records)))
    for index, (mode, record) in enumerate(records.items()):
        columns[2 * index].download_button(
            f"{mode} (CSV)",
            lambda run_id=record.id: store.export_csv(run_id),
            f"tinygpt_{record.id}_{mode}.csv",
            "text/csv",
            key=f"gpt.csv.{record.id}",
            on_click="ignore",
        )
        columns[2 * index + 1].download_button(
            f"{mode} (JSON)",
            lambda run_id=record.id: store.export_json(run_id),
            f"tinygpt_{record.id}_{mode}.json",
            "application/json",
            key=f"gpt.json.{record.id}",
            on_click="ignore",
        )


def resume_button(eng, store, group: str, records: Mapping[str, Any]) -> None:
    """Continue a stopped or interrupted training from its last checkpoint.

    Offered to the session that started it, or to anyone once that session is gone (a closed
    browser, a restarted server); another session's training is read-only.
    """
    if not eng.training.may_resume(records.values(), OWNER, owner_alive):
        return
    if st.button("Resume from the last checkpoint", key="gpt.resume", disabled=my_job_active()):
        try:
            STATE["gpt.launch"] = eng.training.start_resume(store, group, owner=OWNER)
        except (ValueError, eng.runs.StoreError) as error:
            st.error(f"Cannot resume: {error}")
            return
        st.rerun(scope="app")


def read_progress(store, records: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What the progress table needs, by mode: its metric series and the energy rows."""
    return {
        mode: {
            "metrics": store.metrics(record.id, engine().metric_names.PROGRESS),
            "energy": store.energy(record.id),
        }
        for mode, record in records.items()
    }


def read_group(eng, store, group: str, read: Callable[..., dict]):
    """The group's records, this session's launch of it (or None), whether it is still training,
    and its runs' data as `read(store, records)` reads it; None after saying why if the store
    could not be read."""
    try:
        records = eng.browse.group_records(store, group)
        launch = my_launch(group)
        return records, launch, is_active(records, launch), read(store, records)
    except eng.runs.StoreError as error:
        st.error(f"The run store could not be read: {error}")
        return None


def group_progress(eng, store, group: str) -> None:
    """The group's status and progress table; a fragment that polls every POLL_SECONDS while it
    trains."""
    attach_session()  # a session still watching keeps its job from being reaped as idle
    if (read := read_group(eng, store, group, read_progress)) is None:
        return
    records, launch, _, data = read
    job_status(launch, records)
    rows = eng.browse.progress_rows(records, data)
    energy_columns = sorted({name for row in rows for name in row if name.startswith("energy")})
    st.dataframe(
        rows,
        hide_index=True,
        key="gpt.progress",
        column_config=number_formats(("train loss", "val loss"), "%.3f")
        | number_formats(("tokens/s (measured)",), "%.0f")
        | number_formats(energy_columns, "%.4g"),
    )


def group_figures(eng, store, group: str) -> None:
    """The group's figures and samples, then (once it has ended) its results; a fragment that
    polls every FIGURE_SECONDS while it trains."""
    if (read := read_group(eng, store, group, read_runs)) is None:
        return
    records, _, active, data = read
    summaries = {mode: record.summary or {} for mode, record in records.items()}
    charts(eng.viz, data, summaries)
    st.subheader("Generated text")
    samples_side_by_side(data)
    if not active:
        results(eng, records, data)
        review_section(eng, records)
        exports(store, records)
        resume_button(eng, store, group, records)


# --------------------------------------------------------------------------- past runs


def when(timestamp: float) -> str:
    """A run's creation time (seconds since the epoch) as local date and minute."""
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def group_label(group: str, records: list[Any]) -> str:
    """When, what and how long; no status (the browser keeps a choice's first label)."""
    train = records[0].config.get("train", {})
    return (
        f"{when(records[0].created_at)} · {train.get('preset', '?')} · "
        f"{Path(str(train.get('corpus', '?'))).name} · {train.get('steps', '?')} steps · {group}"
    )


def past_runs_table(all_groups: Mapping[str, list[Any]]) -> None:
    """Every run in the store, one row each, with its group, status and final loss."""
    rows = [
        {
            "group": group,
            "run": record.config.get("mode"),
            "started": when(record.created_at),
            "status": record.status,
            "steps": record.config.get("train", {}).get("steps"),
            "val loss": (record.summary or {}).get("val_loss"),
            "message": engine().runs.without_paths(record.message),
        }
        for group, records in all_groups.items()
        for record in records
    ]
    st.dataframe(rows, hide_index=True, key="gpt.past")


# --------------------------------------------------------------------------- the page

OWNER = attach_session()  # this browser session: owns the jobs it starts, seen on every run
st.title("TinyGPT: baseline vs TSU")
st.caption(
    "Two small character-level GPTs train side by side on the same batches: a baseline "
    "(cross-entropy on ordinary weights) and a TSU run whose chosen layers hold Gaussian weight "
    "distributions, their noise drawn through the sampling backend, trained by minimising the "
    "free energy F = E_q[L] − T·H[q] + λ·KL(q ‖ prior). Steps alternate between the two and each "
    "step's energy is read on its own, so each run is charged for its own work. Energy is "
    "measured, estimated or projected, and says which."
)

try:
    eng = engine()
    runs_dir = Path(eng.runs.default_runs_dir())
    store = open_store(str(runs_dir))
except Exception as error:  # a missing engine piece or an unreadable store: text, not a traceback
    fail(f"The training engine could not be loaded: {type(error).__name__}: {error}")

mine = my_training()
values, choice, upload, submitted = settings_form(eng, busy=mine.running)
if submitted:
    start(eng, store, values, choice, upload, runs_dir)

try:
    all_groups, n_groups = eng.browse.visible_groups(store, OWNER, MAX_GROUPS_LISTED)
except eng.runs.StoreError as error:
    fail(f"The run store at {runs_dir} could not be read: {error}")

if not all_groups:
    st.info("Choose the settings in the sidebar and press **Start training**.")
else:
    if STATE.get("gpt.view") not in all_groups:
        STATE["gpt.view"] = next(iter(all_groups))
    group = st.selectbox(
        "Training shown",
        list(all_groups),
        format_func=lambda g: group_label(g, all_groups[g]),
        key="gpt.view",
        help="Your training, or any earlier one in the run store (finished ones are read-only).",
    )
    own = my_launch(group) is not None
    if mine.running and not own:  # Start waits for this session's training, not the one shown
        mine.follow(attach_session, every=POLL_SECONDS)  # (a session watching is not idle)
    training = mine if own else others_training(eng, store, group)
    # Waiting for the end is for a job (cheap to ask), not for the store; one fragment waits.
    training.follow(lambda: group_progress(eng, store, group), every=POLL_SECONDS, wait_for_end=own)
    training.follow(
        lambda: group_figures(eng, store, group), every=FIGURE_SECONDS, wait_for_end=False
    )
    with st.expander("All runs in the store"):
        past_runs_table(all_groups)
        if n_groups > len(all_groups):
            st.caption(
                f"Only the newest {len(all_groups)} of the {n_groups} trainings you may see are "
                "listed; the others stay in the store."
            )
