"""The energy ledger: kinds never add, projections use a cited per-operation energy."""

from __future__ import annotations

import math
import threading

import pytest

from thermolab.backends.base import OperationCounter
from thermolab.energy.ledger import (
    ENERGY_KINDS,
    Energy,
    EnergyLedger,
    MixedEnergyKinds,
    OperationEnergy,
    project_operations,
)

NVML = "NVML total-energy counter, GPU 0 NVIDIA H100"
RAPL = "RAPL package energy counters: package-0 (intel-rapl:0)"


def test_same_kind_and_source_add():
    total = Energy(1.5, "measured", NVML) + Energy(2.25, "measured", NVML)

    assert total == Energy(3.75, "measured", NVML)


@pytest.mark.parametrize(("a", "b"), [("measured", "estimated"), ("estimated", "projected")])
def test_the_ledger_refuses_to_add_different_kinds(a, b):
    with pytest.raises(MixedEnergyKinds, match=f"refuses to add {a} and {b} joules"):
        Energy(1.0, a, "x") + Energy(1.0, b, "y")


def test_mixed_kinds_is_a_type_error():
    assert issubclass(MixedEnergyKinds, TypeError)


def test_same_kind_from_two_meters_names_both_sources():
    total = Energy(10.0, "measured", NVML) + Energy(4.0, "measured", RAPL)
    again = total + Energy(1.0, "measured", NVML)

    assert total.joules == 14.0
    assert NVML in total.source and RAPL in total.source
    assert again.source == total.source  # each source listed once


@pytest.mark.parametrize(
    ("joules", "kind", "source"),
    [
        (math.nan, "measured", "x"),
        (-1.0, "measured", "x"),
        (math.inf, "measured", "x"),
        (1.0, "guessed", "x"),
        (1.0, "measured", " "),
    ],
)
def test_energy_rejects_bad_values(joules, kind, source):
    with pytest.raises(ValueError):
        Energy(joules, kind, source)


def test_energy_to_dict():
    assert Energy(2.0, "estimated", "model").to_dict() == {
        "kind": "estimated",
        "joules": 2.0,
        "source": "model",
    }


def test_projection_counts_pbit_samples_and_extra_random_numbers():
    op = OperationEnergy(joules_per_pbit_sample=2e-15, joules_per_random_number=7e-15, source="s")
    counter = OperationCounter()
    counter.add(spin_updates=1000, random_numbers=1000)  # a Gibbs sweep: one uniform per update
    counter.add(random_numbers=30, samples=30)  # Bernoulli samples
    counter.add(random_numbers=5)  # Gumbel uniforms: not p-bit samples

    energy = project_operations(counter.snapshot(), op)

    assert energy.kind == "projected"
    assert energy.source == "s"
    assert energy.joules == pytest.approx(1030 * 2e-15 + 5 * 7e-15, rel=1e-12)


def test_projection_of_nothing_is_zero_and_missing_counts_are_zero():
    assert project_operations({}).joules == 0.0
    assert project_operations({"samples": 3}).joules == pytest.approx(3 * 20e-15)


@pytest.mark.parametrize("counts", [{"spin_updatez": 1}, {"samples": -1}])
def test_projection_rejects_bad_counts(counts):
    with pytest.raises(ValueError):
        project_operations(counts)


def test_default_operation_energy_cites_its_source_and_is_editable():
    default = OperationEnergy()

    assert default.joules_per_pbit_sample == pytest.approx(20e-15)
    assert "arXiv:1806.09124" in default.source
    assert "order-of-magnitude" in default.source
    edited = OperationEnergy(joules_per_pbit_sample=1e-12, source="my hardware")
    assert project_operations({"spin_updates": 10}, edited).joules == pytest.approx(1e-11)
    with pytest.raises(ValueError):
        OperationEnergy(joules_per_pbit_sample=-1.0)
    with pytest.raises(ValueError):
        OperationEnergy(source="")


def _ledger() -> EnergyLedger:
    ledger = EnergyLedger()
    for step in range(4):
        ledger.add("a", 2.0, "measured", NVML, step=step, seconds=0.5, tokens=100)
        ledger.add("a", 1e-9, "projected", "s", step=step)
        ledger.add("b", 3.0, "estimated", "model", step=step, tokens=50)
    return ledger


def test_totals_are_per_kind_and_source_never_summed_across_kinds():
    ledger = _ledger()
    ledger.add("a", 5.0, "measured", RAPL, step=4)

    totals = ledger.totals("a")

    assert [(e.kind, e.source) for e in totals] == [
        ("measured", NVML),
        ("measured", RAPL),
        ("projected", "s"),
    ]
    assert [e.joules for e in totals] == pytest.approx([8.0, 5.0, 4e-9])
    measured = ledger.total("a", "measured")
    assert measured is not None and measured.joules == pytest.approx(13.0)
    assert NVML in measured.source and RAPL in measured.source
    assert ledger.total("a", "estimated") is None
    assert ledger.totals("nobody") == []


def test_per_token_and_to_target():
    ledger = _ledger()
    ledger.add("a", 100.0, "measured", NVML)  # no step, no tokens: in totals only

    assert ledger.per_token("a", "measured") == pytest.approx(8.0 / 400)
    assert ledger.per_token("a", "projected") is None  # no tokens recorded
    assert ledger.per_token("b", "estimated") == pytest.approx(12.0 / 200)
    target = ledger.to_target("a", "measured", 1)
    assert target is not None and target.joules == pytest.approx(4.0)  # steps 0 and 1
    assert ledger.to_target("a", "estimated", 1) is None
    with pytest.raises(ValueError):
        ledger.to_target("a", "measured", -1)


@pytest.mark.parametrize(
    "bad",
    [
        {"joules": math.nan},
        {"joules": -0.1},
        {"kind": "mixed"},
        {"run": ""},
        {"step": -1},
        {"seconds": math.nan},
        {"tokens": -5},
    ],
)
def test_ledger_add_rejects_bad_entries(bad):
    entry = {"run": "a", "joules": 1.0, "kind": "measured", "source": NVML} | bad
    ledger = EnergyLedger()
    kwargs = {key: entry.pop(key) for key in ("step", "seconds", "tokens") if key in entry}

    with pytest.raises(ValueError):
        ledger.add(entry["run"], entry["joules"], entry["kind"], entry["source"], **kwargs)
    assert ledger.entries == []


def test_ledger_is_thread_safe():
    ledger = EnergyLedger()

    def add_many(run: str) -> None:
        for step in range(500):
            ledger.add(run, 0.5, "measured", NVML, step=step)

    threads = [threading.Thread(target=add_many, args=(f"r{i % 2}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(ledger.entries) == 3000
    assert ledger.total("r0", "measured").joules == pytest.approx(750.0)


def test_kinds_in_display_order():
    assert ENERGY_KINDS == ("measured", "estimated", "projected")
