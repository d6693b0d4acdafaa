"""The TinyGPT training page headless (Streamlit's AppTest): every control, bad settings and
bad uploads as messages, a tiny side-by-side run to its results, stop, resume, past runs."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from thermolab.energy import probe_meters
from thermolab.runs import RunStore
from thermolab.training import TrainConfig

PAGE = Path(__file__).resolve().parents[1] / "pages" / "3_TinyGPT_training.py"

# A few seconds on two cores: cpu-quick's model on tiny batches, short evaluations.
TINY = {
    "gpt.steps": 6,
    "gpt.eval": 3,
    "gpt.batch": 2,
    "gpt.block": 16,
    "gpt.eval_batches": 2,
    "gpt.k": 2,
    "gpt.sample_chars": 24,
    "gpt.warmup": 2,
    "gpt.threads": 1,
}


@pytest.fixture(scope="module", autouse=True)
def runs_dir(tmp_path_factory):
    """A run store of this module's own: the page finds it through THERMOLAB_RUNS_DIR."""
    path = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("THERMOLAB_RUNS_DIR", str(path))
        yield path


def fresh() -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.run()
    no_exception(app)
    return app


def no_exception(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]


def errors(app: AppTest) -> list[str]:
    return [element.value for element in app.error]


def configure(app: AppTest, settings: dict) -> None:
    for key, value in settings.items():
        app.number_input(key=key).set_value(value)
    app.selectbox(key="gpt.meter").set_value("estimate")


def start(app: AppTest):
    """Press Start; returns this session's launch (or None when the page refused)."""
    app.button(key="gpt.start").click().run()
    no_exception(app)
    return app.session_state.get("gpt.launch")


def wait_for(app: AppTest, launch, seconds: float = 120) -> None:
    assert launch.job.wait(seconds), f"the training job did not end in {seconds} s"
    app.run()
    no_exception(app)


@pytest.fixture(scope="module")
def tiny_run(runs_dir):
    """One finished 6-step side-by-side training, shared by the tests that read its results."""
    app = fresh()
    configure(app, TINY)
    launch = start(app)
    assert launch is not None, errors(app)
    wait_for(app, launch)
    return app, launch


def test_page_loads_with_settings_and_meters_and_no_runs_yet():
    app = fresh()
    assert not app.error, errors(app)
    assert app.title[0].value == "TinyGPT: baseline vs TSU"
    captions = " ".join(caption.value for caption in app.caption)
    for meter in ("NVML", "RAPL", "estimate"):
        assert meter in captions
    assert set(app.selectbox(key="gpt.corpus").options) == {
        "Offline default (Python's own documentation)",
        "Tiny Shakespeare (downloaded once, checksum-verified)",
        "Upload a text file",
    }


def test_widgets_start_at_the_engine_defaults():
    app = fresh()
    default = TrainConfig()
    for key, name in (
        ("gpt.steps", "steps"),
        ("gpt.threads", "threads"),
        ("gpt.prior", "prior_std"),
        ("gpt.kl", "kl_weight"),
        ("gpt.eval", "eval_every"),
        ("gpt.lr", "learning_rate"),
    ):
        assert app.number_input(key=key).value == pytest.approx(getattr(default, name)), key
    for key, name in (
        ("gpt.meter", "meter"),
        ("gpt.layers", "stochastic_layers"),
        ("gpt.preset", "preset"),
        ("gpt.device", "device"),
    ):
        assert app.selectbox(key=key).value == getattr(default, name), key


def test_a_meter_this_server_lacks_is_refused_with_the_probe_reason():
    missing = [m for m in probe_meters() if not m.available and m.name.lower() in ("nvml", "rapl")]
    if not missing:
        pytest.skip("every meter is available on this machine")
    app = fresh()
    app.selectbox(key="gpt.meter").set_value(missing[0].name.lower())
    assert start(app) is None
    assert any(f"{missing[0].name} meter is unavailable here" in e for e in errors(app)), errors(
        app
    )


def test_every_control_reaches_the_training_configuration():
    app = fresh()
    selections = {
        "gpt.preset": "workshop-gpu",
        "gpt.t_schedule": "cosine",
        "gpt.layers": "all-linear",
        "gpt.meter": "none",
        "gpt.device": "cpu",
    }
    for key, value in selections.items():
        app.selectbox(key=key).set_value(value)
    app.radio(key="gpt.noise").set_value("pbit")
    numbers = {
        "gpt.steps": 2,
        "gpt.lr": 3e-3,
        "gpt.t_start": 2.0,
        "gpt.t_end": 0.1,
        "gpt.kl": 0.5,
        "gpt.seed": 7,
        "gpt.target": 2.0,
        "gpt.eval": 2,
        "gpt.eval_batches": 1,
        "gpt.k": 3,
        "gpt.threads": 1,
        "gpt.batch": 2,
        "gpt.block": 16,
        "gpt.warmup": 1,
        "gpt.prior": 0.1,
        "gpt.checkpoint": 5,
        "gpt.sample_chars": 5,
        "gpt.pbit_joules": 1e-12,
    }
    for key, value in numbers.items():
        app.number_input(key=key).set_value(value)
    launch = start(app)
    assert launch is not None, errors(app)
    wait_for(app, launch)
    assert not app.error, errors(app)
    train = RunStore().get_run(launch.run_ids["tsu"]).config["train"]
    expected = {
        "corpus": "default",
        "preset": "workshop-gpu",
        "t_schedule": "cosine",
        "stochastic_layers": "all-linear",
        "meter": "none",
        "device": "cpu",
        "noise": "pbit",
        "steps": 2,
        "learning_rate": 3e-3,
        "t_start": 2.0,
        "t_end": 0.1,
        "kl_weight": 0.5,
        "seed": 7,
        "target_val_loss": 2.0,
        "eval_every": 2,
        "eval_batches": 1,
        "predictive_samples": 3,
        "threads": 1,
        "batch_size": 2,
        "block_size": 16,
        "warmup_steps": 1,
        "prior_std": 0.1,
        "checkpoint_every": 5,
        "sample_chars": 5,
        "joules_per_pbit": 1e-12,
    }
    assert {key: train[key] for key in expected} == pytest.approx(expected)
    projected = {row["source"] for row in RunStore().energy(launch.run_ids["tsu"])}
    assert len(projected) == 1 and projected.pop().startswith("user-set projection")
    captions = [caption.value for caption in app.caption]
    assert (
        "Projected per operation: 1e-12 J per p-bit sample, 3.2e-11 J per other random number."
        in captions
    )


def test_thermo_lm_controls_reach_the_configuration_and_the_review_is_shown():
    app = fresh()
    default = TrainConfig()
    assert app.selectbox(key="gpt.attention").value == default.attention
    assert app.selectbox(key="gpt.baseline_attention").value == "same"
    assert app.radio(key="gpt.optimizer").value == default.optimizer
    assert app.radio(key="gpt.baseline_optimizer").value == "same"
    assert app.number_input(key="gpt.attention_k").value == default.attention_samples
    assert app.number_input(key="gpt.review_threshold").value == pytest.approx(
        default.review_threshold
    )
    configure(app, TINY)
    app.selectbox(key="gpt.attention").set_value("boltzmann")
    app.selectbox(key="gpt.baseline_attention").set_value("softmax")
    app.selectbox(key="gpt.attention_sched").set_value("linear")
    app.selectbox(key="gpt.langevin_sched").set_value("cosine")
    app.radio(key="gpt.optimizer").set_value("langevin")
    app.radio(key="gpt.baseline_optimizer").set_value("adamw")
    app.checkbox(key="gpt.langevin_pre").uncheck()
    numbers = {
        "gpt.attention_k": 3,
        "gpt.attention_t": 2.0,
        "gpt.attention_t_end": 0.5,
        "gpt.gumbel_tau": 0.7,
        "gpt.langevin_t": 0.5,
        "gpt.langevin_t_end": 0.0,
        "gpt.review_threshold": 0.0,
        "gpt.review_dropout": 0.1,
    }
    for key, value in numbers.items():
        app.number_input(key=key).set_value(value)
    launch = start(app)
    assert launch is not None, errors(app)
    wait_for(app, launch)
    assert not app.error, errors(app)
    store = RunStore()
    train = store.get_run(launch.run_ids["tsu"]).config["train"]
    expected = {
        "attention": "boltzmann",
        "baseline_attention": "softmax",
        "attention_samples": 3,
        "attention_temperature": 2.0,
        "attention_t_schedule": "linear",
        "attention_t_end": 0.5,
        "gumbel_tau": 0.7,
        "optimizer": "langevin",
        "baseline_optimizer": "adamw",
        "langevin_temperature": 0.5,
        "langevin_t_schedule": "cosine",
        "langevin_t_end": 0.0,
        "langevin_preconditioned": False,
        "review_threshold": 0.0,
        "review_dropout": 0.1,
    }
    assert {key: train[key] for key in expected} == pytest.approx(expected)
    # Both runs are reviewed (the baseline through MC p-bit dropout); at threshold 0 every
    # token is flagged, so every highlighted text is all <mark>.
    highlighted = [m.value for m in app.markdown if m.value.startswith("<pre")]
    assert len(highlighted) == 4 and all("<mark" in text for text in highlighted)
    summaries = [m.value for m in app.markdown if "validation tokens flagged" in m.value]
    assert len(summaries) == 2, summaries
    assert all(re.search(r"100\.0% of \d+ validation tokens flagged", t) for t in summaries)
    figures = [chart.proto.spec for chart in app.get("plotly_chart")]
    assert any("Risk–coverage" in spec or "Risk\\u2013coverage" in spec for spec in figures)
    labels = [button.proto.label for button in app.get("download_button")]
    assert {"baseline review (JSON)", "tsu review (JSON)"} <= set(labels)
    # The AdamW baseline beside the Langevin TSU run: the verdict says what Langevin did.
    verdicts = [m.value for m in app.markdown if m.value.startswith("**Verdict.**")]
    assert len(verdicts) == 1, verdicts
    assert "Langevin (in the TSU run) against AdamW (in the baseline)" in verdicts[0]
    assert "not Langevin's alone" in verdicts[0]  # the TSU run also has Gaussian weights


def test_bad_settings_are_an_error_message_not_a_traceback():
    app = fresh()
    app.selectbox(key="gpt.t_schedule").set_value("exponential")
    app.number_input(key="gpt.t_end").set_value(0.0)
    assert start(app) is None
    assert any("exponential" in message for message in errors(app)), errors(app)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (None, "choose a text file"),
        (("empty.txt", b"", "text/plain"), "is empty"),
        (("bytes.bin", b"\x00\x01\x02" * 400, "application/octet-stream"), "looks binary"),
        (("latin.txt", "café ".encode("latin-1") * 400, "text/plain"), "not UTF-8"),
        (("short.txt", b"too short", "text/plain"), "characters"),
    ],
)
def test_a_bad_upload_is_an_error_message(runs_dir, upload, message):
    app = fresh()
    app.selectbox(key="gpt.corpus").set_value("upload")
    if upload is not None:
        app.get("file_uploader")[0].set_value(upload)
    assert start(app) is None
    assert any(message in text for text in errors(app)), errors(app)
    assert not (runs_dir / "uploads").exists() or not any((runs_dir / "uploads").rglob("*.txt"))


def test_a_tiny_shakespeare_that_cannot_be_had_is_an_error_message(monkeypatch, tmp_path):
    wrong = tmp_path / "not_shakespeare.txt"
    wrong.write_text("not the right text\n" * 100)
    monkeypatch.setenv("THERMOLAB_TINYSHAKESPEARE", str(wrong))
    app = fresh()
    app.selectbox(key="gpt.corpus").set_value("tinyshakespeare")
    assert start(app) is None
    assert any("is not Tiny Shakespeare" in message for message in errors(app)), errors(app)


def test_a_good_upload_is_saved_under_the_runs_directory_and_trains(runs_dir):
    app = fresh()
    configure(app, TINY | {"gpt.steps": 2, "gpt.eval": 2})
    app.selectbox(key="gpt.corpus").set_value("upload")
    text = "To be, or not to be, that is the question.\n" * 40
    app.get("file_uploader")[0].set_value(("hamlet.txt", text.encode(), "text/plain"))
    launch = start(app)
    assert launch is not None, errors(app)
    wait_for(app, launch)
    saved = list((runs_dir / "uploads").rglob("hamlet-*.txt"))
    assert len(saved) == 1 and saved[0].read_text() == text
    record = RunStore().get_run(launch.run_ids["tsu"])
    assert record.config["train"]["corpus"] == str(saved[0])
    assert record.status == "finished", record.message


def test_a_tiny_run_ends_in_results_samples_and_exports(tiny_run, runs_dir):
    app, launch = tiny_run
    assert not app.error, errors(app)
    store = RunStore()
    records = store.list_runs(group=launch.group)
    assert {record.config["mode"] for record in records} == {"baseline", "tsu"}
    assert all(record.status == "finished" for record in records)
    assert app.selectbox(key="gpt.view").value == launch.group

    tables = [frame.value for frame in app.dataframe]
    results = next(t for t in tables if "TSU ÷ baseline" in t.columns)
    quantities = list(results["quantity"])
    assert "validation loss" in quantities and "training throughput" in quantities
    energy = [q for q in quantities if q.startswith("energy per token")]
    assert "energy per token (estimated)" in energy and "energy per token (projected)" in energy
    projected = results[results["quantity"] == "energy per token (projected)"].iloc[0]
    assert projected["baseline"] is None or projected["baseline"] != projected["baseline"]
    assert projected["source"]

    verdict = next(m.value for m in app.markdown if m.value.startswith("**Verdict.**"))
    assert "After 6 steps each, TSU" in verdict
    # Six steps are warm-up: the verdict compares no speed or energy, and says why.
    assert "too short to compare speed and energy (6 steps" in verdict
    assert "tokens per second" not in verdict
    assert len(app.code) == 2 and all(len(code.value) == 24 for code in app.code)
    figures = [chart.proto.spec for chart in app.get("plotly_chart")]
    for title in ("Loss", "Cumulative energy, by kind", "Power", "Attention entropy"):
        assert any(f'"text":"{title}' in spec for spec in figures), title
    assert any("Calibration (reliability diagram)" in spec for spec in figures)

    labels = [button.proto.label for button in app.get("download_button")]
    # The TSU run's Gaussian weights give it predictive samples, hence a review to export.
    assert labels == [
        "tsu review (JSON)",
        "baseline (CSV)",
        "baseline (JSON)",
        "tsu (CSV)",
        "tsu (JSON)",
    ]
    rows = list(csv.DictReader(io.StringIO(store.export_csv(launch.run_ids["tsu"]))))
    assert rows, "the CSV export holds the run's rows"


def test_the_past_runs_browser_lists_and_switches_between_groups(tiny_run, runs_dir):
    _, launch = tiny_run
    second = fresh()
    options = second.selectbox(key="gpt.view").options
    assert len(options) >= 1
    second.selectbox(key="gpt.view").set_value(launch.group).run()
    no_exception(second)
    progress = next(f.value for f in second.dataframe if "val at step" in f.value.columns)
    assert list(progress["run"]) == ["baseline", "tsu"]
    assert list(progress["step"]) == ["6 of 6", "6 of 6"]
    past = next(f.value for f in second.dataframe if "group" in f.value.columns)
    assert launch.group in set(past["group"])
    # Another session sees a finished run read-only: no Stop, no Resume, exports only.
    assert not [b for b in second.button if b.key in ("gpt.stop", "gpt.resume")]


def test_a_job_stopped_by_the_server_says_why():
    app = fresh()
    configure(app, TINY | {"gpt.steps": 400, "gpt.eval": 200})
    launch = start(app)
    assert launch is not None, errors(app)
    launch.job.stop("stopped because its session was idle for 1800 s")
    wait_for(app, launch, 60)
    warnings = [w.value for w in app.warning]
    assert "The training was stopped because its session was idle for 1800 s." in warnings


def test_stop_then_resume_from_the_checkpoint(runs_dir):
    app = fresh()
    configure(app, TINY | {"gpt.steps": 400, "gpt.eval": 200, "gpt.checkpoint": 5})
    launch = start(app)
    assert launch is not None, errors(app)
    deadline = time.monotonic() + 60
    while launch.job.progress < 10 / 400 and not launch.job.finished:
        assert time.monotonic() < deadline, "no progress in 60 s"
        time.sleep(0.1)
    app.run()
    no_exception(app)
    app.button(key="gpt.stop").click().run()
    wait_for(app, launch, 60)
    store = RunStore()
    records = store.list_runs(group=launch.group)
    assert {record.status for record in records} == {"stopped"}
    assert all(0 < record.checkpoint_step < 400 for record in records)

    app.button(key="gpt.resume").click().run()
    no_exception(app)
    resumed = app.session_state["gpt.launch"]
    assert resumed.group == launch.group and resumed.job is not launch.job
    wait_for(app, resumed, 180)
    records = store.list_runs(group=launch.group)
    assert {record.status for record in records} == {"finished"}, [r.message for r in records]
    assert all(record.summary["steps"] == 400 for record in records)
    assert not [b for b in app.button if b.key == "gpt.resume"]
