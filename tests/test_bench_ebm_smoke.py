"""Smoke test of bench/ebm.py: `--quick` runs end to end and writes a well-formed JSON."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
from bench_runner import REPO, run_quick
from test_ebm_data import idx_raw, pin_idx_folder


def test_quick_benchmark_runs(tmp_path):
    report, printed = run_quick("ebm.py", tmp_path / "ebm.json")
    quality = report["quality_vs_sklearn"]
    assert set(quality["rows"]) == {"thermolab pcd", "scikit-learn BernoulliRBM"}
    for row in quality["rows"].values():
        assert row["test_log_likelihood"] < 0 and row["stderr"] > 0 and row["seconds_per_epoch"] > 0
    assert quality["status"] in {"PASS", "MISS"}
    (speed,) = report["speed_vs_thrml"]["sizes"].values()
    rates = speed["pbit_updates_per_second"]
    assert isinstance(rates["thermolab numpy"], float) and rates["thermolab numpy"] > 0
    assert speed["status"] in {"PASS", "MISS", "n/a"}
    assert set(report["methods"]["rows"]) == {"CD-1", "CD-10", "PCD", "PT"}
    assert report["methods"]["rows"]["PT"]["swap_acceptance"] is not None
    protocol = report["pcd_vs_cd1"]
    (length,) = protocol["lengths"].values()
    assert set(length["rows"]) == {"CD-1", "PCD-1"} and len(length["pcd_minus_cd1"]) == 2
    for row in length["rows"].values():
        assert row["learning_rate"] in protocol["rates"] and row["test_ll_mean"] < 0
    assert "## PCD-1 against CD-1" in printed
    assert report["mnist"]["status"] in {"skipped", "measured"}
    assert "## Methods on digits" in printed


def test_quick_mnist_section_from_made_idx_files(monkeypatch, tmp_path):
    """`--mnist-idx DIR --mnist-only` on made IDX files (their sha256 pinned in place of MNIST's):
    the section is measured, printed beside the published figure, and merged into an existing
    JSON without touching its other sections. In process, so the pinned digests can be swapped."""
    rng = np.random.default_rng(0)
    files = {
        "train-images-idx3-ubyte": idx_raw(rng.integers(0, 256, (40, 28, 28))),
        "train-labels-idx1-ubyte": idx_raw(rng.integers(0, 10, 40)),
        "t10k-images-idx3-ubyte": idx_raw(rng.integers(0, 256, (10, 28, 28))),
        "t10k-labels-idx1-ubyte": idx_raw(rng.integers(0, 10, 10)),
    }
    folder = tmp_path / "raw"
    folder.mkdir()
    pin_idx_folder(monkeypatch, folder, files)
    out = tmp_path / "ebm.json"
    out.write_text(json.dumps({"methods": {"kept": True}, "mnist": {"status": "skipped"}}))
    spec = importlib.util.spec_from_file_location("bench_ebm", REPO / "bench" / "ebm.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    args = ["--quick", "--mnist-only", "--mnist-idx", str(folder), "--json", str(out)]
    assert bench.main(args) == 0
    report = json.loads(out.read_text())
    assert report["methods"] == {"kept": True}
    section = report["mnist"]
    assert section["status"] == "measured" and section["train_examples"] == 40
    assert set(section["rows"]) == {"CD-1", "PCD-1"}
    for row in section["rows"].values():
        assert row["test_log_likelihood"] < 0 and row["train_log_likelihood"] < 0
        assert row["stderr"] > 0 and row["log_z"] > 0 and row["log_z_quarter_schedule"] > 0
    assert section["ais"]["temperatures"] == 50 and section["ais"]["runs"] == 10
    assert all(row["source"] for row in section["published"])
    # A folder with a wrong file is skipped with the loader's one-line reason, not a traceback.
    (folder / "t10k-labels-idx1-ubyte").write_bytes(idx_raw(np.zeros(10)))
    assert bench.main(args) == 0
    assert "sha256" in json.loads(out.read_text())["mnist"]["reason"]
