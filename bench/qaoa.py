"""QAOA timings: ThermoLab's QAOA simulator (device "thermolab") against PennyLane, per energy
and per gradient evaluation, and the p = 1 closed-form landscape against simulating it.

1. Evaluations: MaxCut on a random 3-regular graph (seed 0) with n = 12, 16, 20, 24 qubits
   (`--qubits`), p = 1 and 3, at the published fixed angles. Contestants: ours (energy;
   energy + adjoint gradient), `lightning.qubit` with adjoint gradients, `default.qubit` with
   backprop (only up to `--backprop-max` qubits: above, one gradient takes minutes). Each
   round runs the contestants in a new seeded order, each timed call right after an untimed
   call of its own; the best of `--repeats` rounds is kept (at most 5 at n = 20, 1 above:
   lightning's gradient there takes seconds to a minute).
   Agreement columns: |ΔE| and max |Δ∂E| of each peer against ours. Everything runs on one
   thread (OMP, OpenBLAS, MKL), the same for every contestant. QOKit is a peer when it is
   importable; it is not installed here (its pinned requirements would replace this
   environment's numpy, networkx and more), which the JSON records.
   Target: our gradient ≥ 3× faster than lightning.qubit's adjoint gradient at n = 16 and 20,
   p = 3; energies and gradients agree with PennyLane to 1e-9.
2. Landscape: ⟨cut⟩ of QAOA₁ on a G × G grid (`--grid`) by the closed form and by our
   simulator; the lightning.qubit circuit point by point on an S × S sub-grid (`--sim-grid`),
   also scaled to G × G and labelled "extrapolated". All must agree to 1e-8.

Usage:
    python bench/qaoa.py                 # about 10 minutes on 2 shared cores
    python bench/qaoa.py --quick         # smoke test: n = 8, 10; 10 × 10 grid
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before numpy and lightning load their thread pools

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import importlib.metadata  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from thermolab import problems  # noqa: E402
from thermolab.quantum import (  # noqa: E402
    QaoaCircuit,
    QaoaInstance,
    QaoaSimulator,
    fixed_angles,
    maxcut_p1_expected_cut,
    simulated_p1_expected_energy,
)

DEFAULT_JSON = REPO / "bench" / "results" / "qaoa.json"
TARGET_SPEEDUP = 3.0
TARGET_QUBITS = (16, 20)
TARGET_LAYERS = 3
AGREEMENT = 1e-9
QOKIT_NOTE = (
    "not installed: `pip install qokit` pins numpy 2.1.3, networkx 3.0, qiskit and more, "
    "which would replace this environment's numpy 2.4.6; not added to requirements-bench.txt"
)


def contestants(instance: QaoaInstance, p: int, backprop_max: int) -> dict[str, object]:
    """name → circuit with energy(x) and energy_and_grad(x)."""
    out: dict[str, object] = {"thermolab": QaoaSimulator(instance.basis_energies, p)}
    out["lightning.qubit adjoint"] = QaoaCircuit(instance, p, device="lightning.qubit")
    if instance.n_qubits <= backprop_max:
        out["default.qubit backprop"] = QaoaCircuit(
            instance, p, device="default.qubit", diff_method="backprop"
        )
    return out


def time_evaluations(circuits: dict, x: np.ndarray, repeats: int, seed: int) -> dict:
    """Best wall time of energy(x) and of energy_and_grad(x) per circuit, and their values."""
    rng = np.random.default_rng(seed)
    best = {name: {"energy": np.inf, "gradient": np.inf} for name in circuits}
    values = {}
    names = list(circuits)
    for _ in range(repeats):
        for name in rng.permutation(names):
            circuit = circuits[name]
            for kind, call in (("energy", circuit.energy), ("gradient", circuit.energy_and_grad)):
                result = call(x)  # untimed: warm caches and compiled tapes
                start = time.perf_counter()
                call(x)
                best[name][kind] = min(best[name][kind], time.perf_counter() - start)
                if kind == "gradient":
                    values[name] = result
    reference_energy, reference_grad = values["thermolab"]
    return {
        name: {
            "energy_seconds": best[name]["energy"],
            "gradient_seconds": best[name]["gradient"],
            "energy_difference": abs(values[name][0] - reference_energy),
            "gradient_difference": float(np.abs(values[name][1] - reference_grad).max()),
        }
        for name in circuits
    }


def evaluation_table(qubits, layers, repeats, backprop_max, seed) -> list[dict]:
    rows = []
    for n in qubits:
        instance = QaoaInstance.maxcut(problems.random_regular_graph(n, 3, seed=seed))
        for p in layers:
            circuits = contestants(instance, p, backprop_max)
            rounds = repeats if n <= 16 else min(repeats, 5) if n <= 20 else 1
            timings = time_evaluations(circuits, fixed_angles(p), rounds, seed + n + p)
            for name, row in timings.items():
                rows.append({"qubits": n, "p": p, "contestant": name, "rounds": rounds} | row)
            ours = timings["thermolab"]
            print(
                f"n = {n:2d}, p = {p}: ours {ours['gradient_seconds'] * 1e3:9.1f} ms/gradient, "
                + ", ".join(
                    f"{name} {row['gradient_seconds'] / ours['gradient_seconds']:.1f}×"
                    for name, row in timings.items()
                    if name != "thermolab"
                ),
                flush=True,
            )
    return rows


def target_rows(rows: list[dict]) -> list[dict]:
    out = []
    for n in TARGET_QUBITS:
        pair = {
            row["contestant"]: row
            for row in rows
            if row["qubits"] == n and row["p"] == TARGET_LAYERS
        }
        if {"thermolab", "lightning.qubit adjoint"} <= set(pair):
            speedup = (
                pair["lightning.qubit adjoint"]["gradient_seconds"]
                / pair["thermolab"]["gradient_seconds"]
            )
            out.append(
                {
                    "qubits": n,
                    "p": TARGET_LAYERS,
                    "gradient_speedup_vs_lightning_adjoint": speedup,
                    "status": "PASS" if speedup >= TARGET_SPEEDUP else "MISS",
                }
            )
    return out


def time_landscape(instance, grid, sim_grid):
    gammas = np.linspace(-np.pi / 2, np.pi / 2, grid)
    betas = np.linspace(-np.pi / 4, np.pi / 4, grid)
    mesh_g, mesh_b = np.meshgrid(gammas, betas, indexing="ij")
    rows = {}

    start = time.perf_counter()
    closed = maxcut_p1_expected_cut(instance.graph, mesh_g, mesh_b)
    rows["closed form"] = time.perf_counter() - start

    start = time.perf_counter()
    ours = instance.cut_from_energy(simulated_p1_expected_energy(instance, gammas, betas))
    rows["thermolab simulator"] = time.perf_counter() - start

    sim_gammas = np.linspace(-np.pi / 2, np.pi / 2, sim_grid)
    sim_betas = np.linspace(-np.pi / 4, np.pi / 4, sim_grid)
    circuit = QaoaCircuit(instance, 1, device="lightning.qubit")
    circuit.energy([0.1, 0.1])
    start = time.perf_counter()
    lightning = np.array([[circuit.energy([g, b]) for b in sim_betas] for g in sim_gammas])
    measured = time.perf_counter() - start
    rows[f"lightning.qubit circuit ({sim_grid} × {sim_grid}, measured)"] = measured
    rows["lightning.qubit circuit (extrapolated)"] = measured * grid**2 / sim_grid**2
    lightning_cut = instance.cut_from_energy(lightning)
    sub_g, sub_b = np.meshgrid(sim_gammas, sim_betas, indexing="ij")
    closed_sub = maxcut_p1_expected_cut(instance.graph, sub_g, sub_b)
    return {
        "grid": [grid, grid],
        "sim_grid": [sim_grid, sim_grid],
        "seconds": rows,
        "max_abs_difference_closed_vs_thermolab": float(np.abs(closed - ours).max()),
        "max_abs_difference_closed_vs_lightning": float(np.abs(closed_sub - lightning_cut).max()),
    }


def versions() -> dict[str, str]:
    out = {}
    for name in ("pennylane", "pennylane-lightning", "numpy", "scipy", "qokit"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def print_tables(report: dict) -> None:
    rows = report["evaluations"]["rows"]
    print()
    print(
        "| n | p | contestant | energy ms | gradient ms | gradient vs ours | "
        "abs ΔE vs ours | max abs Δgrad vs ours |"
    )
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    ours = {(r["qubits"], r["p"]): r for r in rows if r["contestant"] == "thermolab"}
    for row in rows:
        base = ours[(row["qubits"], row["p"])]
        print(
            f"| {row['qubits']} | {row['p']} | {row['contestant']} | "
            f"{row['energy_seconds'] * 1e3:.1f} | {row['gradient_seconds'] * 1e3:.1f} | "
            f"{row['gradient_seconds'] / base['gradient_seconds']:.1f}× | "
            f"{row['energy_difference']:.1e} | {row['gradient_difference']:.1e} |"
        )
    for target in report["evaluations"]["target"]:
        print(
            f"| **target** n = {target['qubits']}, p = {target['p']} | | gradient speed-up vs "
            f"lightning.qubit adjoint | | | {target['gradient_speedup_vs_lightning_adjoint']:.1f}× "
            f"({target['status']}, target ≥ {TARGET_SPEEDUP:g}×) | | |"
        )
    print(f"default.qubit backprop: {report['evaluations']['backprop_note']}")
    print(f"QOKit: {report['evaluations']['qokit']}")
    landscape = report["landscape"]
    print()
    grid = landscape["grid"][0]
    print(f"| p = 1 landscape, {grid} × {grid} grid | seconds | vs closed form |")
    print("| --- | ---: | ---: |")
    base = landscape["seconds"]["closed form"]
    for name, seconds in landscape["seconds"].items():
        print(f"| {name} | {seconds:.4f} | {seconds / base:.0f}× |")
    print(
        f"max |closed − simulated| = {landscape['max_abs_difference_closed_vs_lightning']:.1e}"
        f" (lightning), {landscape['max_abs_difference_closed_vs_thermolab']:.1e} (thermolab)"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, nargs="+", default=[12, 16, 20, 24])
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 3])
    parser.add_argument(
        "--repeats", type=int, default=7, help="rounds (at most 5 at n = 20, 1 above)"
    )
    parser.add_argument("--backprop-max", type=int, default=16, help="largest n for backprop")
    parser.add_argument("--grid", type=int, default=100, help="landscape grid side")
    parser.add_argument("--sim-grid", type=int, default=25, help="lightning sub-grid side")
    parser.add_argument("--landscape-qubits", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="n = 8, 10; 10 × 10 grid")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    if args.quick:
        args.qubits, args.repeats, args.grid, args.sim_grid = [8, 10], 2, 10, 5
        args.landscape_qubits = 8

    print(f"threads: OMP {os.environ['OMP_NUM_THREADS']}", flush=True)
    rows = evaluation_table(args.qubits, args.layers, args.repeats, args.backprop_max, args.seed)
    agreement = max(
        max(row["energy_difference"], row["gradient_difference"])
        for row in rows
        if row["contestant"] != "thermolab"
    )
    graph = problems.random_regular_graph(args.landscape_qubits, 3, seed=args.seed)
    landscape = time_landscape(QaoaInstance.maxcut(graph), args.grid, args.sim_grid)
    qokit = "importable" if importlib.util.find_spec("qokit") else QOKIT_NOTE
    report = {
        "settings": vars(args) | {"json": str(args.json)},
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
            "threads": os.environ["OMP_NUM_THREADS"],
        },
        "packages": versions(),
        "evaluations": {
            "instance": "MaxCut, random 3-regular graph (seed as settings), fixed angles",
            "rows": rows,
            "target": target_rows(rows),
            "max_difference_vs_pennylane": agreement,
            "agreement_target": AGREEMENT,
            "agreement_status": "PASS" if agreement <= AGREEMENT else "MISS",
            "backprop_note": (
                f"measured up to n = {args.backprop_max}; skipped above (one gradient takes "
                "minutes and gigabytes)"
            ),
            "qokit": qokit,
        },
        "landscape": landscape,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print_tables(report)
    print(f"JSON: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
