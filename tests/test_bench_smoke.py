"""Smoke test of bench/sampler.py: `--quick` runs end to end and writes a well-formed JSON."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from bench_runner import REPO, run_quick

CONTESTANTS = (
    "jax-gibbs",
    "jax-metropolis",
    "jax-gibbs-x8",
    "jax-metropolis-x8",
    "numpy-gibbs",
    "dwave-sa",
    "openjij-sa",
    "thrml-gibbs",
)
PEERS = {"dwave-sa", "openjij-sa", "thrml-gibbs"}
RNG = ("numpy-pcg64", "numpy-philox", "torch-rand", "jax-threefry", "jax-rbg", "jax-unsafe_rbg")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "sampler.json"
    # The device-scaling table starts a process per device count: tested on its own below.
    report, printed = run_quick("sampler.py", out, "--quiet", "--device-counts", "none")
    assert "target at L256" in printed
    return report


def test_top_level_keys(report: dict) -> None:
    for key in ("settings", "machine", "packages", "peers", "sizes", "targets", "method"):
        assert key in report
    assert report["settings"]["quick"] is True
    assert report["machine"]["cpu_count"] >= 1
    assert report["packages"]["jax"] and report["packages"]["numpy"]
    assert set(report["peers"]) == {"dwave-samplers", "openjij", "thrml"}
    for peer in report["peers"].values():
        assert peer["available"] or peer["reason"]


def test_every_size_has_positive_rates(report: dict) -> None:
    assert len(report["sizes"]) >= 1
    for size in report["sizes"]:
        assert size["updates"] == size["n_spins"] * size["sweeps"]
        assert set(size["contestants"]) == set(CONTESTANTS)
        for name, m in size["contestants"].items():
            if name in PEERS:
                assert m["status"] in {"ok", "unavailable", "error", "skipped"}
                if m["status"] != "ok":
                    assert m["reason"]
                    continue
            else:
                assert m["status"] == "ok", (name, m["reason"])
            assert m["rate"] > 0 and m["updates"] == size["updates"]
            assert m["energy_per_spin"] < 0  # ferromagnet at β = 0.4: a sign slip shows here
        assert set(size["rng"]) == set(RNG)
        assert any(m["status"] == "ok" and m["rate"] > 0 for m in size["rng"].values())
        assert size["rng_bound"]["rate"] > 0
        assert size["ratios"]["jax_gibbs_over_rng_bound"] > 0


def test_targets_are_reported_not_asserted(report: dict) -> None:
    targets = report["targets"]
    assert targets["size"] == "L256"
    for key in ("jax_gibbs_vs_best_peer", "jax_gibbs_vs_rng_bound"):
        assert targets[key]["status"] in {"PASS", "MISS", "n/a"}


def test_cli_section_times_fresh_processes(report: dict) -> None:
    cli = report["cli"]
    assert cli["runs"] == 1 and len(cli["rounds"]) == 1
    (round_,) = cli["rounds"]
    assert round_["wall_seconds"] > round_["compile_seconds"] >= 0
    assert round_["cli_rate"] >= round_["cli_rate_whole_call"] > 0
    assert cli["cli"]["median"] == round_["cli_rate"] and cli["cli"]["spread"] == 0
    # The THRML control ran in its own process wherever THRML is installed.
    thrml_installed = report["peers"]["thrml"]["available"]
    assert round_["thrml_status"] == ("ok" if thrml_installed else "error")
    assert (round_["thrml_rate"] is not None) == thrml_installed
    for key in ("cli_vs_thrml", "cli_vs_numpy_pcg64", "cli_spread"):
        assert report["cli_targets"][key]["status"] in {"PASS", "MISS", "n/a"}


def test_device_scaling_runs_each_count_in_its_own_process(monkeypatch) -> None:
    spec = importlib.util.spec_from_file_location("bench_sampler", REPO / "bench" / "sampler.py")
    sampler = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_sampler", sampler)  # dataclasses look it up
    spec.loader.exec_module(sampler)
    ctx = sampler.Context(beta=0.4, repeats=1, max_call_seconds=10.0, peers={}, verbose=False)
    scaling = sampler.measure_device_scaling(sampler.parse_size("L8:16"), [1, 2], ctx)
    rows = scaling["rows"]
    assert [row["devices"] for row in rows] == [1, 2]
    assert [row["devices_seen"] for row in rows] == [1, 2]  # the forced host devices took
    for row in rows:
        assert row["status"] == "ok", row["reason"]
        assert row["rate"] > 0 and row["speedup"] > 0
    # The same chains on any device count: the same final energy.
    assert rows[0]["energy_per_spin"] == rows[1]["energy_per_spin"]
    assert "vs 1 device" in sampler.device_table(scaling)
