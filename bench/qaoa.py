"""QAOA timings: ThermoLab's default (lightning.qubit + adjoint) against default.qubit with
parameter-shift gradients, and the p = 1 closed-form landscape against simulating it.

1. Optimisation: MaxCut on one random 3-regular graph (n = 12, seed 0), p = 3, Adam with the
   same start (linear ramp), the same step size and the same number of steps (`--steps`) on
   both devices; each step is one gradient (with its forward value) plus one energy evaluation
   for the recorded path. An untimed warm-up gradient on each device first. Both runs must end
   at the same energy (they take the same path), which the table checks.
2. Landscape: ⟨cut⟩ of QAOA₁ on a G × G grid (`--grid`, default 100) by the closed form and by
   ThermoLab's numpy state-vector simulation, both on the whole grid; the lightning.qubit circuit
   is evaluated point by point on an S × S sub-grid of the same range (`--sim-grid`, default 25;
   the whole grid takes minutes) and its time is also scaled to G × G, labelled "extrapolated".
   The closed form must agree with both simulations to 1e-8.

Usage:
    python bench/qaoa.py                 # about 1-2 minutes on 2 cores
    python bench/qaoa.py --quick         # smoke test: n = 8, 2 steps, 10 × 10 grid
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from thermolab import problems  # noqa: E402
from thermolab.quantum import (  # noqa: E402
    QaoaCircuit,
    QaoaInstance,
    maxcut_p1_expected_cut,
    optimise,
    ramp_init,
    simulated_p1_expected_energy,
)

DEFAULT_JSON = REPO / "bench" / "results" / "qaoa.json"
TARGET_SPEEDUP = 10.0


def time_optimisation(instance, p, device, diff_method, steps, learning_rate):
    circuit = QaoaCircuit(instance, p, device=device, diff_method=diff_method)
    x0 = ramp_init(p)
    circuit.energy_and_grad(x0)  # warm-up: device start, first tape construction
    start = time.perf_counter()
    run = optimise(circuit, x0, "adam", steps=steps, learning_rate=learning_rate)
    seconds = time.perf_counter() - start
    return {
        "device": circuit.device_name,
        "diff_method": circuit.diff_method,
        "steps": steps,
        "seconds": seconds,
        "seconds_per_step": seconds / steps,
        "final_energy": float(run.path_energies[-1]),
        "best_ratio": float(instance.ratio(run.energy)),
    }


def time_landscape(instance, grid, sim_grid):
    gammas = np.linspace(-np.pi / 2, np.pi / 2, grid)
    betas = np.linspace(-np.pi / 4, np.pi / 4, grid)
    mesh_g, mesh_b = np.meshgrid(gammas, betas, indexing="ij")
    rows = {}

    start = time.perf_counter()
    closed = maxcut_p1_expected_cut(instance.graph, mesh_g, mesh_b)
    rows["closed form"] = time.perf_counter() - start

    start = time.perf_counter()
    numpy_cut = instance.cut_from_energy(simulated_p1_expected_energy(instance, gammas, betas))
    rows["numpy state vector"] = time.perf_counter() - start

    sim_gammas = np.linspace(-np.pi / 2, np.pi / 2, sim_grid)
    sim_betas = np.linspace(-np.pi / 4, np.pi / 4, sim_grid)
    circuit = QaoaCircuit(instance, 1)
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
        "max_abs_difference_closed_vs_numpy": float(np.abs(closed - numpy_cut).max()),
        "max_abs_difference_closed_vs_lightning": float(np.abs(closed_sub - lightning_cut).max()),
    }


def versions() -> dict[str, str]:
    out = {}
    for name in ("pennylane", "pennylane-lightning", "numpy", "scipy"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=12)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="Adam steps on each device")
    parser.add_argument("--grid", type=int, default=100, help="landscape grid side")
    parser.add_argument(
        "--sim-grid", type=int, default=25, help="sub-grid side for the lightning circuit"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="n = 8, 2 steps, 10 × 10 grid")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    if args.quick:
        args.nodes, args.steps, args.grid, args.sim_grid = 8, 2, 10, 5

    graph = problems.random_regular_graph(args.nodes, 3, seed=args.seed)
    instance = QaoaInstance.maxcut(graph)
    print(f"instance: {instance.name}, {len(graph.edges)} edges, p = {args.layers}", flush=True)

    fast = time_optimisation(instance, args.layers, "lightning.qubit", None, args.steps, 0.05)
    print(f"lightning.qubit + adjoint: {fast['seconds']:.3f} s", flush=True)
    slow = time_optimisation(
        instance, args.layers, "default.qubit", "parameter-shift", args.steps, 0.05
    )
    print(f"default.qubit + parameter-shift: {slow['seconds']:.3f} s", flush=True)
    speedup = slow["seconds"] / fast["seconds"]
    same_path = abs(fast["final_energy"] - slow["final_energy"]) < 1e-6
    landscape = time_landscape(instance, args.grid, args.sim_grid)

    report = {
        "settings": vars(args) | {"json": str(args.json)},
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
        },
        "packages": versions(),
        "optimisation": {
            "thermolab_default": fast,
            "default_qubit_parameter_shift": slow,
            "speedup": speedup,
            "same_final_energy": same_path,
            "target": f">= {TARGET_SPEEDUP:g}x",
            "status": "PASS" if speedup >= TARGET_SPEEDUP else "MISS",
        },
        "landscape": landscape,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")

    print()
    print(
        f"| QAOA optimisation (n = {args.nodes}, 3-regular, p = {args.layers}, "
        f"{args.steps} Adam steps) | seconds | per step |"
    )
    print("| --- | ---: | ---: |")
    for row in (fast, slow):
        print(
            f"| {row['device']} + {row['diff_method']} | {row['seconds']:.3f} | "
            f"{row['seconds_per_step']:.4f} |"
        )
    print(
        f"| speed-up | {speedup:.1f}× ({report['optimisation']['status']}, target ≥ "
        f"{TARGET_SPEEDUP:g}×; same final energy: {same_path}) | |"
    )
    print()
    print(f"| p = 1 landscape, {args.grid} × {args.grid} grid | seconds | vs closed form |")
    print("| --- | ---: | ---: |")
    base = landscape["seconds"]["closed form"]
    for name, seconds in landscape["seconds"].items():
        print(f"| {name} | {seconds:.4f} | {seconds / base:.0f}× |")
    print(
        f"max |closed − simulated| = {landscape['max_abs_difference_closed_vs_lightning']:.1e}"
        f" (lightning), {landscape['max_abs_difference_closed_vs_numpy']:.1e} (numpy)"
    )
    print(f"JSON: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
