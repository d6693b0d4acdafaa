"""The side-by-side trainer: both objectives learn, energy is attributed, runs survive crashes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from thermolab.jobs import JobManager
from thermolab.runs import RunStore
from thermolab.training import TrainConfig, compare, prepare, resume, start_training, train

REPO = Path(__file__).resolve().parent.parent

# Small enough for CI's two cores: the offline default corpus, blocks of 32, batches of 8.
TINY = dict(
    corpus="default",
    block_size=32,
    batch_size=8,
    warmup_steps=10,
    eval_every=50,
    eval_batches=4,
    predictive_samples=4,
    meter="estimate",
    sample_chars=20,
)


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    """One 200-step side-by-side training, shared by the tests that read its results."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    config = TrainConfig(steps=200, **TINY)
    _, run_ids = prepare(config, store)
    return store, run_ids, train(config, store, run_ids)


def test_both_objectives_reduce_validation_loss(learned):
    store, run_ids, result = learned
    assert result.status == "finished"
    for mode, run_id in run_ids.items():
        steps, losses = store.metrics(run_id, ["val_loss"])["val_loss"]
        assert steps == [50, 100, 150, 200], mode
        # ln(vocab) ≈ 4.6 at the start; a model that learns character frequencies and
        # common pairs is well below 3.3 after 200 steps. Measured: about 2.6 for both.
        assert losses[-1] < 3.3, (mode, losses)
        assert losses[-1] < losses[0], (mode, losses)
        record = store.get_run(run_id)
        assert record.status == "finished" and record.checkpoint_step == 200


def test_tsu_run_records_its_free_energy_terms_and_the_baseline_does_not(learned):
    store, run_ids, _ = learned
    tsu = store.metrics(run_ids["tsu"])
    baseline = store.metrics(run_ids["baseline"])
    for name in ("kl_per_token", "weight_entropy", "temperature", "val_loss_mean_weights"):
        assert name in tsu and name not in baseline
    assert all(value > 0 for value in tsu["kl_per_token"][1])
    assert all(value >= 0 for value in tsu["mutual_information"][1])


def test_energy_is_metered_per_run_and_kinds_are_never_mixed(learned):
    store, run_ids, result = learned
    for mode, run_id in run_ids.items():
        rows = store.energy(run_id)
        estimated = [row for row in rows if row["kind"] == "estimated"]
        assert len(estimated) == 200 and all(row["joules"] >= 0 for row in estimated)
        totals = result.summaries[mode]["energy"]
        assert len({(entry["kind"], entry["source"]) for entry in totals}) == len(totals)
    projected = [row for row in store.energy(run_ids["tsu"]) if row["kind"] == "projected"]
    assert len(projected) == 200, "the TSU run's weight noise is counted and projected"
    assert not [row for row in store.energy(run_ids["baseline"]) if row["kind"] == "projected"]
    rows = compare(result.summaries["baseline"], result.summaries["tsu"])
    for row in rows:
        if row["quantity"].startswith("energy per token (projected)"):
            assert row["baseline"] is None and row["ratio"] is None


def test_samples_and_summary_are_stored(learned):
    store, run_ids, result = learned
    for mode, run_id in run_ids.items():
        samples = store.samples(run_id)
        assert [sample["step"] for sample in samples] == [50, 100, 150, 200]
        assert all(len(sample["text"]) == 20 for sample in samples)
        summary = store.get_run(run_id).summary
        assert summary == json.loads(json.dumps(result.summaries[mode]))
        assert summary["tokens"] == 200 * 8 * 32 and summary["tokens_per_second"] > 0


def test_training_job_is_queued_behind_the_cap(tmp_path):
    store = RunStore(tmp_path)
    manager = JobManager(max_running=1)
    config = TrainConfig(steps=4, **{**TINY, "eval_every": 2})
    first = start_training(config, store, modes=("baseline",), manager=manager)
    second = start_training(config, store, modes=("baseline",), manager=manager)
    assert second.job.status == "queued" and second.job.queue_position == 1
    assert store.get_run(second.run_ids["baseline"]).status == "queued"
    assert first.job.wait(120) and second.job.wait(120)
    assert first.job.status == second.job.status == "done", (first.job.error, second.job.error)


def test_stopping_keeps_what_was_done(tmp_path):
    store = RunStore(tmp_path)

    class StopAfter:
        def __init__(self):
            self.reports = 0

        @property
        def stop_requested(self):
            return self.reports >= 3

        def report(self, fraction, message="", partial=None):
            self.reports += 1

    config = TrainConfig(steps=50, **TINY)
    _, run_ids = prepare(config, store)
    result = train(config, store, run_ids, StopAfter())
    assert result.status == "stopped"
    for run_id in run_ids.values():
        record = store.get_run(run_id)
        assert record.status == "stopped" and record.checkpoint_step == 3
        assert record.summary["steps"] == 3 and "val_loss" in record.summary


CRASHING_RUN = """
import sys
from thermolab.runs import RunStore
from thermolab.training import TrainConfig, prepare, train
config = TrainConfig(steps=400, checkpoint_every=5, **{tiny!r})
store = RunStore(sys.argv[1])
group, run_ids = prepare(config, store)
print(group, flush=True)
train(config, store, run_ids)
"""


def test_a_killed_training_is_marked_interrupted_and_resumes(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    script = CRASHING_RUN.format(tiny=TINY)
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True
    )
    group = process.stdout.readline().strip()
    store = RunStore(tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        records = store.list_runs(group=group)
        if records and all((record.checkpoint_step or 0) >= 10 for record in records):
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    assert store.mark_interrupted()
    records = store.list_runs(group=group)
    assert {record.status for record in records} == {"interrupted"}
    checkpointed = {record.id: record.checkpoint_step for record in records}

    short = RunStore(tmp_path)

    # Finish the interrupted group (its config says 400 steps; stop once past the checkpoint).
    class StopSoon:
        stop_requested_after = 2
        calls = 0

        @property
        def stop_requested(self):
            return self.calls >= self.stop_requested_after

        def report(self, fraction, message="", partial=None):
            self.calls += 1

    result = resume(short, group, StopSoon())
    assert result.status == "stopped"
    resumed = short.list_runs(group=group)
    assert sum(record.checkpoint_step - checkpointed[record.id] for record in resumed) >= 2
    for record in resumed:
        assert record.checkpoint_step >= checkpointed[record.id]
        steps, _ = short.metrics(record.id, ["train_loss"])["train_loss"]
        assert steps == list(range(1, record.checkpoint_step + 1)), "no step lost or twice"


def test_cli_train_prints_the_contract_keys(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "thermolab",
            "train",
            "--mode",
            "tsu",
            "--corpus",
            "default",
            "--preset",
            "cpu-quick",
            "--steps",
            "6",
            "--eval-every",
            "3",
            "--seed",
            "1",
            "--batch-size",
            "4",
            "--meter",
            "estimate",
            "--runs-dir",
            str(tmp_path),
            "--attention",
            "boltzmann",
            "--attention-samples",
            "4",
            "--attention-temperature",
            "1.5",
            "--optimizer",
            "langevin",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert process.returncode == 0, process.stderr
    report = json.loads(process.stdout)
    for key in ("train_loss", "val_loss", "tokens_per_second", "energy"):
        assert key in report
    assert (report["attention"], report["optimizer"]) == ("boltzmann", "langevin")
    assert report["review_threshold"] == 0.05
    assert 0 <= report["flagged_fraction"] <= 1 and 0 < report["aurc"] < 1
    kinds = {entry["kind"] for entry in report["energy"]}
    assert kinds == {"estimated", "projected"}
    assert all({"kind", "joules", "source"} <= set(entry) for entry in report["energy"])


def test_cli_train_bad_input_is_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "thermolab",
            "train",
            "--mode",
            "tsu",
            "--corpus",
            str(tmp_path / "missing.txt"),
            "--runs-dir",
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 2
    assert process.stderr.count("\n") == 1 and "missing.txt" in process.stderr
    for option, value, message in (
        ("--attention", "argmax", "attention must be one of"),
        ("--optimizer", "sgd", "optimizer must be one of"),
        ("--baseline-optimizer", "sgd", "baseline_optimizer must be one of"),
    ):
        process = subprocess.run(
            [sys.executable, "-m", "thermolab", "train", "--mode", "baseline", option, value],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert process.returncode == 2 and process.stderr.count("\n") == 1, process.stderr
        assert message in process.stderr


def test_bad_settings_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="preset"):
        TrainConfig(preset="huge")
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)
    with pytest.raises(ValueError, match="exponential"):
        TrainConfig(t_schedule="exponential", t_end=0.0)
    with pytest.raises(ValueError, match="unknown training settings"):
        TrainConfig.from_dict({"steps": 3, "colour": "red"})
