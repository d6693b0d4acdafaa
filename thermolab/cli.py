"""`python -m thermolab …` / `thermolab …`: the engine from the command line.

The JSON keys printed with --json are a stable contract that other tools read. Bad arguments
print one line on stderr and exit with status 2; no traceback is ever shown.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from thermolab import diagnostics, exact, problems
from thermolab.backends import (
    ALGORITHMS,
    DEFAULT_BACKEND,
    BackendUnavailable,
    available_backends,
    get_backend,
    temperature_schedule,
)
from thermolab.energy.meters import MeterUnavailable
from thermolab.runs import StoreError

GRAPHS = ("sk", "regular", "er", "ring", "lattice")
QAOA_GRAPHS = ("ring", "regular", "er")
EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def _one_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


class _UsageError(Exception):
    """Bad command-line input; the message is shown as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        raise _UsageError(message)


def _positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


#: |J| and |h| accepted on the command line: beyond this, single-precision samplers overflow.
MAX_COUPLING = 1e6
#: Seeds are 32-bit (jax keys, numpy seed sequences and torch generators all take them).
MAX_SEED = 2**32 - 1


def _coupling(text: str) -> float:
    value = _finite_float(text)
    if abs(value) > MAX_COUPLING:
        raise argparse.ArgumentTypeError(
            f"must lie in [-{MAX_COUPLING:g}, {MAX_COUPLING:g}] (rescale T instead), got {text}"
        )
    return value


def _seed(text: str) -> int:
    value = int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to {MAX_SEED}, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be zero or a positive integer, got {text}")
    return value


def _add_graph_shape_options(
    parser: argparse.ArgumentParser, choices: tuple[str, ...], nodes_help: str
) -> None:
    """--graph, --nodes and the options that shape a random graph (see `_build_graph`)."""
    parser.add_argument("--graph", choices=choices, required=True)
    parser.add_argument("--nodes", type=_positive_int, required=True, help=nodes_help)
    parser.add_argument("--degree", type=_positive_int, default=3, help="for --graph regular")
    parser.add_argument(
        "--edge-probability", type=float, default=0.5, help="for --graph er, in [0, 1]"
    )


def _add_graph_options(parser: argparse.ArgumentParser) -> None:
    _add_graph_shape_options(parser, GRAPHS, "number of spins")
    parser.add_argument("--coupling", type=_coupling, default=1.0, help="J (not for sk)")
    parser.add_argument("--field", type=_coupling, default=0.0, help="uniform h")
    parser.add_argument("--spin-glass", action="store_true", help="random ± signs on J")
    parser.add_argument("--seed", type=_seed, default=0)


def _build_parser() -> _Parser:
    parser = _Parser(prog="thermolab", description="ThermoLab: thermodynamic computing lab.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    listing = commands.add_parser("backends", help="list registered sampling backends")
    listing.add_argument("--json", action="store_true")

    ising = commands.add_parser("ising", help="sample the 2D square-lattice Ising model")
    ising.add_argument("--lattice", type=_positive_int, required=True, help="side length L")
    ising.add_argument("--temperature", type=_positive_float, required=True, help="T (k_B = 1)")
    ising.add_argument("--sweeps", type=_positive_int, default=1000, help="measured sweeps")
    ising.add_argument("--burn-in", type=_non_negative_int, default=200, help="discarded sweeps")
    ising.add_argument("--chains", type=_positive_int, default=4)
    ising.add_argument("--algorithm", choices=ALGORITHMS, default="gibbs")
    ising.add_argument("--backend", default=DEFAULT_BACKEND)
    ising.add_argument("--coupling", type=_coupling, default=1.0, help="J")
    ising.add_argument("--field", type=_coupling, default=0.0, help="h")
    ising.add_argument("--open", action="store_true", help="open instead of periodic boundaries")
    ising.add_argument("--seed", type=_seed, default=0)
    ising.add_argument("--json", action="store_true")

    anneal = commands.add_parser("anneal", help="simulated annealing on a graph")
    _add_graph_options(anneal)
    anneal.add_argument("--sweeps", type=_positive_int, default=1000)
    anneal.add_argument("--chains", type=_positive_int, default=8)
    anneal.add_argument("--t-start", type=_positive_float, default=3.0)
    anneal.add_argument("--t-end", type=_positive_float, default=0.05)
    anneal.add_argument("--schedule", choices=("linear", "geometric"), default="geometric")
    anneal.add_argument("--algorithm", choices=ALGORITHMS, default="metropolis")
    anneal.add_argument("--backend", default=DEFAULT_BACKEND)
    anneal.add_argument("--json", action="store_true")

    exact_parser = commands.add_parser("exact", help="exact enumeration (n ≤ 20)")
    _add_graph_options(exact_parser)
    exact_parser.add_argument("--temperature", type=_positive_float, required=True)
    exact_parser.add_argument("--json", action="store_true")

    qaoa = commands.add_parser("qaoa", help="QAOA for MaxCut beside classical baselines")
    _add_graph_shape_options(qaoa, QAOA_GRAPHS, "number of qubits")
    qaoa.add_argument("--layers", type=_positive_int, default=1, help="QAOA depth p")
    qaoa.add_argument("--method", choices=("bfgs", "adam"), default="bfgs")
    qaoa.add_argument("--init", choices=("interp", "ramp"), default="interp")
    qaoa.add_argument("--restarts", type=_positive_int, default=3)
    qaoa.add_argument("--steps", type=_positive_int, default=100, help="iterations per restart")
    qaoa.add_argument("--shots", type=_positive_int, default=1000)
    qaoa.add_argument("--device", default="lightning.qubit", help="PennyLane device name")
    qaoa.add_argument("--backend", default="numpy", help="sampler for the classical baselines")
    qaoa.add_argument("--seed", type=_seed, default=0)
    qaoa.add_argument("--json", action="store_true")

    train = commands.add_parser("train", help="train a TinyGPT (baseline or TSU)")
    train.add_argument("--mode", choices=("baseline", "tsu"), required=True)
    train.add_argument("--corpus", default="default", help="default, tinyshakespeare or a path")
    train.add_argument("--preset", default="cpu-quick")
    train.add_argument("--steps", type=_positive_int, default=300)
    train.add_argument("--batch-size", type=_positive_int, default=None)
    train.add_argument("--lr", type=_positive_float, default=1e-3, help="peak learning rate")
    train.add_argument("--seed", type=_seed, default=0)
    train.add_argument("--eval-every", type=_positive_int, default=50)
    train.add_argument("--t-schedule", default="constant", help="T schedule (TSU)")
    train.add_argument("--t-start", type=_finite_float, default=1.0)
    train.add_argument("--t-end", type=_finite_float, default=1.0)
    train.add_argument("--kl-weight", type=_finite_float, default=1.0, help="λ")
    train.add_argument("--stochastic-layers", default="first-qkv")
    train.add_argument("--meter", default="auto", help="auto, nvml, rapl, estimate or none")
    train.add_argument("--device", default="auto", help="auto, cpu or cuda")
    train.add_argument(
        "--threads", type=_non_negative_int, default=0, help="torch threads (0: torch's default)"
    )
    train.add_argument("--runs-dir", default=None, help="run store directory (default ./runs)")
    # Sampled attention, the Langevin optimizer and review flags (TinyThermoLM).
    train.add_argument("--attention", default="softmax", help="softmax, boltzmann, gumbel, hard")
    train.add_argument("--attention-samples", type=_positive_int, default=8, help="K (boltzmann)")
    train.add_argument("--attention-temperature", type=_positive_float, default=1.0)
    train.add_argument("--optimizer", default="adamw", help="adamw or langevin")
    train.add_argument(
        "--review-threshold", type=_finite_float, default=0.05, help="flag MI ≥ this (nats)"
    )
    train.add_argument("--json", action="store_true")
    return parser


def _build_graph(args: argparse.Namespace) -> problems.WeightedGraph:
    """The ring, random regular or Erdős–Rényi graph that --graph and its options describe."""
    n = args.nodes
    return {
        "ring": lambda: problems.ring_graph(n),
        "regular": lambda: problems.random_regular_graph(n, args.degree, seed=args.seed),
        "er": lambda: problems.erdos_renyi_graph(n, args.edge_probability, seed=args.seed),
    }[args.graph]()


def _build_model(args: argparse.Namespace) -> problems.IsingModel:
    n = args.nodes
    if args.graph == "sk":
        return problems.sherrington_kirkpatrick(n, seed=args.seed, field=args.field)
    if args.graph == "lattice":
        length = math.isqrt(n)
        if length * length != n:
            raise ValueError(f"--graph lattice needs a square number of nodes, got {n}")
        return problems.square_lattice(length, args.coupling, args.field)
    return problems.ising_from_graph(
        _build_graph(args), args.coupling, args.field, spin_glass=args.spin_glass, seed=args.seed
    )


def _mean_and_error(trace: np.ndarray, notes: list[str]) -> tuple[float, float, float]:
    """Mean, its standard error from τ_int, and τ_int, of a (n_samples, n_chains) series.

    A warning from the τ_int estimate (trace too short for it) is appended to `notes`.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tau = diagnostics.integrated_autocorrelation_time(trace)
    notes.extend(str(warning.message) for warning in caught)
    error = float(np.std(trace) * math.sqrt(tau / trace.size))
    return float(np.mean(trace)), error, tau


def _run_ising(args: argparse.Namespace) -> dict[str, Any]:
    model = problems.square_lattice(args.lattice, args.coupling, args.field, not args.open)
    backend = get_backend(args.backend)
    start = time.perf_counter()
    result = backend.sample_ising(
        model,
        1.0 / args.temperature,
        n_sweeps=args.burn_in + args.sweeps,
        n_chains=args.chains,
        algorithm=args.algorithm,
        seed=args.seed,
    )
    seconds = time.perf_counter() - start
    energies = result.energies[args.burn_in :] / model.n_spins
    abs_magnetization = np.abs(result.magnetizations[args.burn_in :])
    notes: list[str] = []
    energy_mean, energy_error, energy_tau = _mean_and_error(energies, notes)
    magnet_mean, magnet_error, magnet_tau = _mean_and_error(abs_magnetization, notes)
    updates = (args.burn_in + args.sweeps) * args.chains * model.n_spins
    report: dict[str, Any] = {
        "lattice": args.lattice,
        "temperature": args.temperature,
        "beta": 1.0 / args.temperature,
        "algorithm": args.algorithm,
        "backend": backend.name,
        "device": backend.device,
        "chains": args.chains,
        "sweeps": args.sweeps,
        "burn_in": args.burn_in,
        "energy_per_spin": energy_mean,
        "energy_per_spin_stderr": energy_error,
        "abs_magnetization": magnet_mean,
        "abs_magnetization_stderr": magnet_error,
        "tau_int_energy": energy_tau,
        "tau_int_abs_magnetization": magnet_tau,
        "spin_updates": updates,
        "wall_seconds": seconds,
        "spin_updates_per_second": updates / seconds,
        "timing_note": "wall time of one sampling call, including any jit compilation",
        "warnings": notes,
    }
    if args.coupling > 0 and args.field == 0 and not args.open:
        report["onsager_energy_per_spin"] = float(
            exact.onsager_energy_per_spin(args.temperature, args.coupling)
        )
        report["onsager_abs_magnetization"] = float(
            exact.onsager_magnetization(args.temperature, args.coupling)
        )
    return report


def _run_anneal(args: argparse.Namespace) -> dict[str, Any]:
    model = _build_model(args)
    backend = get_backend(args.backend)
    schedule = temperature_schedule(args.t_start, args.t_end, args.sweeps, args.schedule)
    start = time.perf_counter()
    result = backend.anneal(
        model, schedule, n_chains=args.chains, algorithm=args.algorithm, seed=args.seed
    )
    seconds = time.perf_counter() - start
    best_chain = int(np.argmin(result.best_energies))
    best_energy = float(result.best_energies[best_chain])
    report: dict[str, Any] = {
        "graph": args.graph,
        "nodes": model.n_spins,
        "model": model.name,
        "backend": backend.name,
        "sweeps": args.sweeps,
        "chains": args.chains,
        "best_energy": best_energy,
        "best_state": result.best_states[best_chain].astype(int).tolist(),
        "final_energies": result.energies[-1].tolist(),
        "wall_seconds": seconds,
    }
    if model.n_spins <= exact.MAX_ENUMERATION_SPINS:
        ground_energy, _ = exact.ground_states(model)
        report["exact_ground_energy"] = ground_energy
        report["found_ground_state"] = bool(
            best_energy <= ground_energy + 1e-9 * max(1.0, abs(ground_energy))
        )
    return report


def _run_exact(args: argparse.Namespace) -> dict[str, Any]:
    model = _build_model(args)
    result = exact.enumerate_model(model, args.temperature)
    return {
        "graph": args.graph,
        "nodes": model.n_spins,
        "model": model.name,
        "temperature": result.temperature,
        "log_partition": result.log_partition,
        "mean_energy": result.mean_energy,
        "energy_per_spin": result.mean_energy / model.n_spins,
        "heat_capacity": result.heat_capacity,
        "heat_capacity_per_spin": result.heat_capacity / model.n_spins,
        "abs_magnetization": result.mean_abs_magnetization,
        "magnetization_squared": result.mean_magnetization_squared,
        "ground_energy": result.ground_energy,
        "ground_state_count": int(result.ground_state_indices.size),
    }


def _run_qaoa(args: argparse.Namespace) -> dict[str, Any]:
    from thermolab import quantum

    n = args.nodes
    quantum.check_qubit_count(n)
    graph = _build_graph(args)
    instance = quantum.QaoaInstance.maxcut(graph)
    layers = quantum.solve(
        instance,
        args.layers,
        method=args.method,
        init=args.init,
        restarts=args.restarts,
        steps=args.steps,
        device=args.device,
        seed=args.seed,
    )
    baselines = quantum.run_baselines(instance, backend=args.backend, seed=args.seed)
    top = layers[-1]
    _, cuts = quantum.sampled_objectives(instance, top, args.shots, seed=args.seed)
    return {
        "graph": args.graph,
        "nodes": n,
        "edges": len(graph.edges),
        "model": instance.name,
        "layers": args.layers,
        "device": args.device,
        "gammas": top.gammas.tolist(),
        "betas": top.betas.tolist(),
        "expected_cut": top.expected_objective,
        "max_cut": instance.max_cut,
        "approximation_ratio": top.ratio,
        "optimal_probability": top.optimal_probability,
        "shots": args.shots,
        "best_sampled_cut": float(cuts.max()),
        "mean_sampled_cut": float(cuts.mean()),
        "ratio_by_layer": [layer.ratio for layer in layers],
        "wall_seconds": sum(layer.seconds for layer in layers),
        "baselines": {
            row.method: {
                "cut": row.objective,
                "approximation_ratio": row.ratio,
                "seconds": row.seconds,
            }
            for row in baselines
        },
    }


def _run_train(args: argparse.Namespace) -> dict[str, Any]:
    from thermolab import training
    from thermolab.runs import RunStore

    config = training.TrainConfig(
        corpus=args.corpus,
        preset=args.preset,
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        seed=args.seed,
        eval_every=min(args.eval_every, args.steps),
        t_schedule=args.t_schedule,
        t_start=args.t_start,
        t_end=args.t_end,
        kl_weight=args.kl_weight,
        stochastic_layers=args.stochastic_layers,
        meter=args.meter,
        device=args.device,
        threads=args.threads,
        attention=args.attention,
        attention_samples=args.attention_samples,
        attention_temperature=args.attention_temperature,
        optimizer=args.optimizer,
        review_threshold=args.review_threshold,
    )
    store = RunStore(args.runs_dir)
    _group, run_ids = training.prepare(config, store, modes=(args.mode,))
    result = training.train(config, store, run_ids)
    summary = result.summaries[args.mode]
    keys = ("train_loss", "val_loss", "val_loss_mean_weights", "tokens_per_second", "energy")
    return {
        **{key: summary.get(key) for key in keys},
        "mode": args.mode,
        "run_id": run_ids[args.mode],
        "status": result.status,
        "steps": summary["steps"],
        "train_seconds": summary["train_seconds"],
        "joules_per_token": summary["joules_per_token"],
        "meter_note": summary["meter_note"],
        "attention": config.attention,
        "optimizer": config.optimizer,
        "review_threshold": config.review_threshold,
        "flagged_fraction": summary.get("flagged_fraction"),
        "aurc": summary.get("aurc"),
    }


def _run_backends(_: argparse.Namespace) -> dict[str, Any]:
    return {"backends": [dataclasses.asdict(row) for row in available_backends()]}


def _print_text(report: dict[str, Any]) -> None:
    if "backends" in report:
        for row in report["backends"]:
            status = f"{row['device']} {row['version']}" if row["available"] else row["reason"]
            print(f"{row['name']:<10} {'yes' if row['available'] else 'no ':<4} {status}")
        return
    for key, value in report.items():
        if isinstance(value, dict):
            value = json.dumps(value)
        if isinstance(value, list) and len(value) > 12:
            value = f"[{len(value)} values]"
        print(f"{key:<28} {value}")


_COMMANDS = {
    "backends": _run_backends,
    "ising": _run_ising,
    "anneal": _run_anneal,
    "exact": _run_exact,
    "qaoa": _run_qaoa,
    "train": _run_train,
}


def _error(message: str, status: int) -> int:
    print(f"thermolab: error: {message}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit status (0; 2 for bad input; 1 on failure).

    Whatever goes wrong is one line on stderr, never a traceback. Python warnings raised while
    a command runs are shown as one line each after a success, and dropped after an error
    (the error says what matters).
    """
    parser = _build_parser()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            args = parser.parse_args(argv)
            report = _COMMANDS[args.command](args)
        except (_UsageError, ValueError, BackendUnavailable) as error:
            return _error(_one_line(error), EXIT_BAD_INPUT)
        except MemoryError as error:
            message = f"not enough memory for this request ({_one_line(error)})"
            return _error(message, EXIT_BAD_INPUT)
        except (MeterUnavailable, StoreError) as error:
            return _error(_one_line(error), EXIT_FAILED)
        except KeyboardInterrupt:
            return _error("interrupted", EXIT_INTERRUPTED)
        except Exception as error:  # a bug: still one line, with what and where to report it
            return _error(
                f"unexpected {type(error).__name__}: {_one_line(error)} (please report this)",
                EXIT_FAILED,
            )
    for message in dict.fromkeys(str(warning.message).splitlines()[0] for warning in caught):
        print(f"thermolab: warning: {message}", file=sys.stderr)
    if args.json:
        print(json.dumps(report))
    else:
        _print_text(report)
    return 0
