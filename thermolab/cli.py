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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from thermolab import diagnostics, exact, problems
from thermolab.backends import (
    ALGORITHMS,
    DEFAULT_BACKEND,
    Backend,
    BackendUnavailable,
    available_backends,
    get_backend,
    temperature_schedule,
)
from thermolab.ebm.training import LR_SCHEDULES, METHODS, OPTIMIZERS, RBMConfig
from thermolab.energy.meters import MeterUnavailable
from thermolab.runs import DATABASE_NAME, StoreError, default_runs_dir

GRAPHS = tuple(problems.MODEL_FAMILIES)
QAOA_GRAPHS = tuple(problems.GRAPH_FAMILIES)
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


def _add_devices_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--devices",
        type=_positive_int,
        default=None,
        help="devices to spread the chains over (jax backend; default: all it sees)",
    )


def _sampling_backend(args: argparse.Namespace) -> Backend:
    """The --backend, given --devices where the command line asked for a device count."""
    if args.devices is None:
        return get_backend(args.backend)
    try:
        return get_backend(args.backend, devices=args.devices)
    except TypeError as error:  # the backend's constructor has no device count
        raise ValueError(f"the {args.backend} backend does not take --devices") from error


def _add_graph_shape_options(
    parser: argparse.ArgumentParser,
    choices: tuple[str, ...],
    nodes_help: str,
    required: bool = True,
) -> None:
    """--graph, --nodes and the options that shape a random graph (see `_build_graph`)."""
    parser.add_argument("--graph", choices=choices, required=required)
    parser.add_argument("--nodes", type=_positive_int, required=required, help=nodes_help)
    parser.add_argument("--degree", type=_positive_int, default=3, help="for --graph regular")
    parser.add_argument(
        "--edge-probability", type=float, default=0.5, help="for --graph er, in [0, 1]"
    )


def _add_graph_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    _add_graph_shape_options(parser, GRAPHS, "number of spins", required)
    parser.add_argument("--coupling", type=_coupling, default=1.0, help="J (not for sk)")
    parser.add_argument("--field", type=_coupling, default=0.0, help="uniform h")
    parser.add_argument("--spin-glass", action="store_true", help="random ± signs on J")
    parser.add_argument("--seed", type=_seed, default=0)


# The `train` command's options: (TrainConfig field, flag, parser, help). Their defaults are
# the fields' own, read in `_add_train_options`.
TRAIN_OPTIONS: tuple[tuple[str, str, Callable[[str], Any], str | None], ...] = (
    ("corpus", "--corpus", str, "default, tinyshakespeare or a path"),
    ("preset", "--preset", str, None),
    ("steps", "--steps", _positive_int, None),
    ("batch_size", "--batch-size", _positive_int, None),
    ("learning_rate", "--lr", _positive_float, "peak learning rate"),
    ("seed", "--seed", _seed, None),
    ("eval_every", "--eval-every", _positive_int, None),
    ("t_schedule", "--t-schedule", str, "T schedule (TSU)"),
    ("t_start", "--t-start", _finite_float, None),
    ("t_end", "--t-end", _finite_float, None),
    ("kl_weight", "--kl-weight", _finite_float, "λ"),
    ("stochastic_layers", "--stochastic-layers", str, None),
    ("meter", "--meter", str, "auto, nvml, rapl, estimate or none"),
    ("device", "--device", str, "auto, cpu or cuda"),
    ("threads", "--threads", _non_negative_int, "torch threads (0: leave torch's setting)"),
    # Sampled attention, the Langevin optimizer and review flags (TinyThermoLM).
    ("attention", "--attention", str, "softmax, boltzmann, gumbel or hard"),
    ("attention_samples", "--attention-samples", _positive_int, "K (boltzmann)"),
    ("attention_temperature", "--attention-temperature", _positive_float, None),
    ("optimizer", "--optimizer", str, "adamw or langevin"),
    ("baseline_optimizer", "--baseline-optimizer", str, "the baseline's (default: --optimizer)"),
    ("review_threshold", "--review-threshold", _finite_float, "flag MI ≥ this (nats)"),
)


def _add_train_options(parser: argparse.ArgumentParser) -> None:
    """TRAIN_OPTIONS, with TrainConfig's defaults (importing it imports torch, so only a
    `train` command builds them)."""
    from thermolab.training.config import TrainConfig

    defaults = {field.name: field.default for field in dataclasses.fields(TrainConfig)}
    for name, flag, kind, text in TRAIN_OPTIONS:
        parser.add_argument(flag, dest=name, type=kind, default=defaults[name], help=text)


def _build_parser(with_train_options: bool = True) -> _Parser:
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
    _add_devices_option(ising)
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
    _add_devices_option(anneal)
    anneal.add_argument("--json", action="store_true")

    exact_parser = commands.add_parser(
        "exact", help="exact enumeration (n ≤ 20), or the L × L periodic lattice (any L)"
    )
    _add_graph_options(exact_parser, required=False)
    exact_parser.add_argument(
        "--lattice", type=_positive_int, help="side L of a periodic square lattice (h = 0)"
    )
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
    qaoa.add_argument(
        "--device",
        default="thermolab",
        help="'thermolab' (the QAOA simulator) or a PennyLane device name, e.g. lightning.qubit",
    )
    qaoa.add_argument("--backend", default="numpy", help="sampler for the classical baselines")
    qaoa.add_argument("--seed", type=_seed, default=0)
    qaoa.add_argument("--json", action="store_true")

    train = commands.add_parser("train", help="train a TinyGPT (baseline or TSU)")
    train.add_argument("--mode", choices=("baseline", "tsu"), required=True)
    if with_train_options:
        _add_train_options(train)
    train.add_argument("--runs-dir", default=None, help="run store directory (default ./runs)")
    train.add_argument("--json", action="store_true")
    _add_rbm_parser(commands)
    return parser


def _family_options(args: argparse.Namespace) -> dict[str, Any]:
    """The problem-family options (`problems.ProblemFamily.parameters`) this command has."""
    names = ("degree", "edge_probability", "seed", "coupling", "field", "spin_glass")
    return {name: getattr(args, name) for name in names if hasattr(args, name)}


# The `rbm` command's training options: (RBMConfig field, flag, parser or choices, help).
# Their defaults are the fields' own, read in `_add_rbm_parser`; validation beyond the
# parser's is RBMConfig.check's.
RBM_OPTIONS: tuple[tuple[str, str, Callable[[str], Any] | tuple[str, ...], str], ...] = (
    ("n_hidden", "--hidden", _positive_int, "hidden units"),
    ("method", "--method", METHODS, "negative phase: CD-k, persistent CD or parallel tempering"),
    ("k", "--k", _positive_int, "Gibbs sweeps per update"),
    ("epochs", "--epochs", _non_negative_int, "passes over the data (0: evaluate --load)"),
    ("batch_size", "--batch-size", _positive_int, "examples per update"),
    ("learning_rate", "--learning-rate", _positive_float, "peak learning rate"),
    ("lr_schedule", "--lr-schedule", LR_SCHEDULES, "constant, or decaying linearly to 0"),
    ("optimizer", "--optimizer", OPTIMIZERS, "optimizer"),
    ("momentum", "--momentum", _finite_float, "sgd's momentum, in [0, 1)"),
    ("weight_decay", "--weight-decay", _finite_float, "L2 coefficient on the weights"),
    ("n_chains", "--chains", _positive_int, "persistent chains (none given: the batch size)"),
    ("n_temperatures", "--temperatures", _positive_int, "temperatures of the PT ladder"),
    ("beta_min", "--beta-min", _positive_float, "the PT ladder's smallest β, below 1"),
    ("mixing_sweeps", "--mixing-sweeps", _positive_int, "sweeps measuring τ_int each epoch"),
    ("backend", "--backend", str, "sampling backend for the p-bits"),
    ("seed", "--seed", _seed, "seed of everything random"),
)
#: RBM_OPTIONS whose default, with --load, is the loaded model's (so the parser's is None).
RBM_OPTIONS_FROM_LOADED_MODEL = ("n_hidden",)


def _add_rbm_parser(commands: argparse._SubParsersAction) -> None:
    """The `rbm` command: RBM_OPTIONS with RBMConfig's defaults, then data, model and output."""
    rbm = commands.add_parser("rbm", help="train and evaluate a restricted Boltzmann machine")
    rbm.add_argument("--data", default="digits", help="digits, mnist, fashion-mnist or a path")
    defaults = {field.name: field.default for field in dataclasses.fields(RBMConfig)}
    for name, flag, kind, text in RBM_OPTIONS:
        default = defaults[name]
        if name in RBM_OPTIONS_FROM_LOADED_MODEL:
            text, default = f"{text} (default {default}; with --load, the model's)", None
        elif default is not None:
            text = f"{text} (default {default})"
        if isinstance(kind, tuple):
            rbm.add_argument(flag, dest=name, choices=kind, default=default, help=text)
        else:
            metavar = flag.removeprefix("--").replace("-", "_").upper()
            rbm.add_argument(
                flag, dest=name, type=kind, default=default, metavar=metavar, help=text
            )
    rbm.add_argument("--labels", action="store_true", help="joint RBM with a one-hot label")
    rbm.add_argument("--save", default=None, help="write the model to PATH.npz")
    rbm.add_argument("--load", default=None, help="start from the model in PATH.npz")
    rbm.add_argument("--ais-temperatures", type=_positive_int, default=2000)
    rbm.add_argument("--meter", choices=("auto", "rapl", "estimate", "none"), default="auto")
    rbm.add_argument(
        "--threads", type=_non_negative_int, default=1, help="BLAS threads (0: BLAS's default)"
    )
    rbm.add_argument("--json", action="store_true")


def _build_graph(args: argparse.Namespace) -> problems.WeightedGraph:
    """The graph that --graph, --nodes and their options describe."""
    return problems.build_graph(args.graph, args.nodes, **_family_options(args))


def _build_model(args: argparse.Namespace) -> problems.IsingModel:
    """The Ising model that --graph, --nodes and their options describe."""
    return problems.build_model(args.graph, args.nodes, **_family_options(args))


def _run_ising(args: argparse.Namespace) -> dict[str, Any]:
    model = problems.square_lattice(args.lattice, args.coupling, args.field, not args.open)
    backend = _sampling_backend(args)
    with backend.compile_clock() as compiling:
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
    energy_mean, energy_error, energy_tau = diagnostics.mean_with_error(energies, notes)
    magnet_mean, magnet_error, magnet_tau = diagnostics.mean_with_error(abs_magnetization, notes)
    updates = (args.burn_in + args.sweeps) * args.chains * model.n_spins
    report: dict[str, Any] = {
        "lattice": args.lattice,
        "temperature": args.temperature,
        "beta": 1.0 / args.temperature,
        "algorithm": args.algorithm,
        "backend": backend.name,
        "device": backend.device,
        "devices": backend.device_count,
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
        # The call's wall time less the kernel's preparation (trace, compile or cache load).
        "compile_seconds": compiling.seconds,
        "sampling_seconds": seconds - compiling.seconds,
        "sampling_spin_updates_per_second": updates / (seconds - compiling.seconds),
        "timing_note": (
            "wall_seconds: one sampling call, including preparing its kernel (jit tracing, "
            "compiling or loading it from the cache: compile_seconds); sampling_seconds: "
            "the rest"
        ),
        "warnings": notes,
    }
    if (reference := exact.lattice_reference(model, args.temperature)) is not None:
        report["onsager_energy_per_spin"] = float(reference.onsager_energy_per_spin)
        report["onsager_abs_magnetization"] = float(reference.onsager_abs_magnetization)
        if np.isfinite(reference.exact_energy_per_spin):
            report["exact_energy_per_spin"] = float(reference.exact_energy_per_spin)
            report["exact_heat_capacity"] = float(reference.exact_heat_capacity)
    return report


def _run_anneal(args: argparse.Namespace) -> dict[str, Any]:
    model = _build_model(args)
    backend = _sampling_backend(args)
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
        "devices": backend.device_count,
        "sweeps": args.sweeps,
        "chains": args.chains,
        "best_energy": best_energy,
        "best_state": result.best_states[best_chain].astype(int).tolist(),
        "final_energies": result.energies[-1].tolist(),
        "wall_seconds": seconds,
    }
    if (ground_energy := exact.ground_energy_reference(model)) is not None:
        report["exact_ground_energy"] = ground_energy
        report["found_ground_state"] = bool(
            best_energy <= ground_energy + 1e-9 * max(1.0, abs(ground_energy))
        )
    return report


def _run_exact_lattice(args: argparse.Namespace) -> dict[str, Any]:
    """Kaufman's exact solution of the L × L periodic lattice in zero field."""
    if args.graph is not None or args.nodes is not None:
        raise ValueError("give either --lattice or --graph and --nodes, not both")
    if args.field != 0 or args.spin_glass:
        raise ValueError("--lattice is solved exactly only in zero field without --spin-glass")
    if args.lattice < 2:
        raise ValueError(f"--lattice must be at least 2, got {args.lattice}")
    if args.coupling <= 0:
        raise ValueError("--lattice is solved exactly for a ferromagnetic --coupling > 0")
    result = exact.square_lattice_exact(args.lattice, args.temperature, args.coupling)
    onsager_heat = float(exact.onsager_specific_heat(args.temperature, args.coupling))
    return {
        "lattice": args.lattice,
        "nodes": args.lattice * args.lattice,
        "coupling": args.coupling,
        "temperature": args.temperature,
        "log_partition": float(result.log_partition),
        "energy_per_spin": float(result.energy_per_spin),
        "heat_capacity_per_spin": float(result.heat_capacity_per_spin),
        "onsager_energy_per_spin": float(
            exact.onsager_energy_per_spin(args.temperature, args.coupling)
        ),
        # diverges at T_c; JSON has no infinity
        "onsager_heat_capacity": onsager_heat if math.isfinite(onsager_heat) else None,
        "method": "Kaufman 1949 (periodic L × L, zero field)",
    }


def _run_exact(args: argparse.Namespace) -> dict[str, Any]:
    if args.lattice is not None:
        return _run_exact_lattice(args)
    if args.graph is None or args.nodes is None:
        raise ValueError("exact needs --lattice L, or --graph and --nodes")
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
    settings = quantum.QaoaSettings(
        p_max=args.layers,
        method=args.method,
        init=args.init,
        restarts=args.restarts,
        steps=args.steps,
        shots=args.shots,
        device=args.device,
        backend=args.backend,
        seed=args.seed,
    )
    experiment = quantum.run_experiment(instance, settings)
    layers, baselines = experiment.layers, experiment.baselines
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
        "seconds": experiment.seconds,
        "gradient_evaluations": experiment.gradient_evaluations,
        "seconds_per_gradient": experiment.seconds_per_gradient,
        # p = 1, 2, …: ⟨cut⟩ / max cut at the published fixed angles (3-regular graphs only)
        "fixed_angle_ratio": [fixed.ratio for fixed in experiment.fixed_angles] or None,
        "published_fixed_angle_ratio": [fixed.published_ratio for fixed in experiment.fixed_angles]
        or None,
        "baselines": {
            row.method: {
                "cut": row.objective,
                "approximation_ratio": row.ratio,
                "seconds": row.seconds,
            }
            for row in baselines
        },
    }


def _runs_directory(given: str | None) -> Path:
    """The run store's directory: --runs-dir, else $THERMOLAB_RUNS_DIR or ./runs (created if
    missing). _UsageError if that path is something other than a directory."""
    directory = default_runs_dir() if given is None else Path(given)
    if directory.exists() and not directory.is_dir():
        raise _UsageError(
            f"the runs directory {directory} exists and is not a directory: give --runs-dir "
            "a directory (a new one is created) for the run store"
        )
    return directory


def _run_train(args: argparse.Namespace) -> dict[str, Any]:
    from thermolab import training
    from thermolab.runs import RunStore

    options = {name: getattr(args, name) for name, *_ in TRAIN_OPTIONS}
    config = training.TrainConfig(**{**options, "eval_every": min(args.eval_every, args.steps)})
    store = RunStore(_runs_directory(args.runs_dir) / DATABASE_NAME)
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
        "attention": config.run_attention(args.mode),
        "optimizer": config.run_optimizer(args.mode),
        "review_threshold": config.review_threshold,
        "flagged_fraction": summary.get("flagged_fraction"),
        "aurc": summary.get("aurc"),
    }


def _run_rbm(args: argparse.Namespace) -> dict[str, Any]:
    from thermolab.ebm.data import load_dataset
    from thermolab.ebm.run import run_rbm
    from thermolab.ebm.store import load_model, save_model

    if args.save is not None and not args.save.lower().endswith(".npz"):
        raise ValueError(f"--save needs an .npz path, got {args.save!r}")
    options = {name: getattr(args, name) for name, *_ in RBM_OPTIONS}
    initial = None
    if args.load is not None:
        initial, _ = load_model(args.load)
        if args.n_hidden is not None and args.n_hidden != initial.n_hidden:
            raise ValueError(f"--hidden {args.n_hidden} but {args.load} has {initial.n_hidden}")
        options["n_hidden"] = initial.n_hidden
    elif args.epochs == 0:
        raise ValueError("--epochs 0 evaluates a model: give it with --load PATH.npz")
    else:
        options["n_hidden"] = args.n_hidden or RBMConfig.n_hidden
    if args.threads:
        # Small matrices: extra BLAS threads mostly spin, and on a busy machine they cost more
        # than they give (PCD on digits ran 6× slower with 2 threads at load average 13).
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.threads, user_api="blas")
    dataset = load_dataset(args.data)
    config = RBMConfig(**options)
    report = run_rbm(
        dataset,
        config,
        labels=args.labels,
        initial=initial,
        meter=args.meter,
        ais_temperatures=max(args.ais_temperatures, 2),
    )
    summary = {"data": dataset.name, "n_visible": report.rbm.n_visible, **report.summary()}
    if args.save is not None:
        save_model(args.save, report.rbm, {"config": report.training.config_dict(), **summary})
        summary["saved"] = args.save
    return summary


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
    "rbm": _run_rbm,
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
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser(with_train_options=argv[:1] == ["train"])
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
