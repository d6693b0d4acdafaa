"""Spin updates per second: ThermoLab's samplers against peer libraries and the RNG bound.

One run measures every contestant on the same work: for each problem size, n spins × a fixed
number of sweeps (single-spin updates), at one fixed β, after an untimed warm-up, best of
`--repeats` (default 3). Contestants:

- ThermoLab's jax backend, Gibbs and Metropolis, 1 chain, and 8 chains that share the same
  number of updates (each chain does sweeps / 8 sweeps), reported per spin update;
- ThermoLab's numpy backend (Gibbs), skipped where one call would take too long;
- peers: dwave-samplers' SimulatedAnnealingSampler and OpenJij's SASampler (both Metropolis at
  a constant β, num_reads = 1, num_sweeps = sweeps) and THRML (block Gibbs, one block per colour
  of ThermoLab's colouring, sweeps iterations). A peer that is not installed, or fails, is
  reported with the reason and skipped; the run never crashes on a peer;
- the RNG bound: uniform float32 draws per second of numpy (PCG64, Philox), torch.rand and
  jax.random.uniform (threefry, rbg, unsafe_rbg), drawing as many numbers as the work has
  updates; the fastest is the bound.

Peers are timed on their sampling call only, on a model built beforehand. Where the peer
reports the time of its sampling kernel itself (dwave: info["timing"]["sampling_ns"], OpenJij:
info["execution_time"]), the table uses that kernel time, the one most favourable to the peer;
the wall time of the whole call is kept in the JSON as `call_rate`.

Usage:
    python bench/sampler.py                       # L64, L256, L1024, RR10000 (about 4-5 minutes)
    python bench/sampler.py --sizes L256,RR10000  # a size is L<length>, RR<n>, optional :<sweeps>
    python bench/sampler.py --quick               # tiny smoke test (well under a minute)
    python bench/sampler.py --cpus 1              # pin the process to one CPU first
    python bench/sampler.py --sizes L64 --cli-runs 0 --device-counts 1,2,4   # scaling table

The device-scaling table runs jax Gibbs with 8 chains on 1, 2 and 4 devices, each count in a
fresh process; on a CPU the devices are forced host devices
(XLA_FLAGS=--xla_force_host_platform_device_count) that share the machine's cores, so they
cannot run faster than the cores allow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import importlib.metadata
import json
import math
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_JSON = REPO / "bench" / "results" / "sampler.json"

BETA = 0.4  # T = 2.5, a little above the square lattice's T_c ≈ 2.269
CHAINS = 8  # the multi-chain column; sweeps must be a multiple of it
# Sweeps per default size: about 1.3e8 updates on the lattices (jax Gibbs ≈ 0.5-1 s per call
# here), 2e7 on the random graph, where every contestant gathers its neighbours (slower).
DEFAULT_SWEEPS = {"L64": 32_768, "L256": 2_048, "L1024": 128, "RR10000": 2_048}
DEFAULT_SIZES = ("L64", "L256", "L1024", "RR10000")
QUICK_SIZES = ("L16:64", "RR200:64")
LATTICE_WORK = 2**27  # updates for a lattice size not in DEFAULT_SWEEPS
GRAPH_WORK = 2 * 10**7  # updates for a random-graph size not in DEFAULT_SWEEPS
RNG_CHUNK = 2**20  # the RNG bound draws in chunks of at most this many numbers
TARGET_SIZE = "L256"
TARGET_PEER_RATIO = 2.0
TARGET_RNG_SHARE = 0.30
# The command line as a user times it: `thermolab ising` at L = 256, one chain, every sweep
# recorded, each run a fresh process; the CLI's own rate less kernel preparation, median of
# `--cli-runs` processes, each followed by a fresh THRML process on the same work (control);
# numpy PCG64 measured in this run at the same size.
CLI_SWEEPS = 8192  # a multiple of CHAINS, as every size here
QUICK_CLI = ("L16", 256)
TARGET_CLI_PEER_RATIO = 2.5
TARGET_CLI_SPREAD = 0.20
# Device scaling (jax Gibbs, CHAINS chains): the same work on each device count, each count in
# a fresh process with that many forced host devices (XLA_FLAGS), or real ones where present.
DEVICE_COUNTS = (1, 2, 4)
DEVICE_SIZE = "L256"
QUICK_DEVICE_SIZE = "L16:64"
PACKAGES = (
    "thermolab",
    "jax",
    "jaxlib",
    "numpy",
    "scipy",
    "torch",
    "dwave-samplers",
    "dimod",
    "openjij",
    "jij-cimod",
    "thrml",
    "equinox",
)


# --------------------------------------------------------------------------- problem sizes


@dataclass(frozen=True)
class Size:
    """One problem: an L × L periodic lattice (kind "lattice") or a random 3-regular graph."""

    name: str
    kind: str
    n_spins: int
    sweeps: int

    @property
    def updates(self) -> int:
        """Single-spin updates of one contestant: n × sweeps × reads (or chains)."""
        return self.n_spins * self.sweeps

    def model(self) -> Any:
        """Build the ThermoLab IsingModel (J = 1, h = 0)."""
        from thermolab import problems

        if self.kind == "lattice":
            return problems.square_lattice(math.isqrt(self.n_spins))
        return problems.random_regular(self.n_spins, 3, seed=0)


def parse_size(token: str) -> Size:
    """'L256', '256' (a lattice), 'RR10000' (random 3-regular), each optionally ':sweeps'."""
    text, _, sweeps_text = token.strip().upper().partition(":")
    if text.startswith("RR"):
        kind, n = "graph", int(text[2:])
        name = f"RR{n}"
    else:
        length = int(text.removeprefix("L"))
        if length < 4 or length % 2:
            raise ValueError(f"lattice length must be even and at least 4, got {length}")
        kind, n, name = "lattice", length * length, f"L{length}"
    if sweeps_text:
        sweeps = int(sweeps_text)
    elif name in DEFAULT_SWEEPS:
        sweeps = DEFAULT_SWEEPS[name]
    else:
        work = LATTICE_WORK if kind == "lattice" else GRAPH_WORK
        sweeps = max(CHAINS, round(work / n / CHAINS) * CHAINS)
    if sweeps <= 0 or sweeps % CHAINS:
        raise ValueError(f"sweeps must be a positive multiple of {CHAINS}, got {sweeps}")
    return Size(name, kind, n, sweeps)


# --------------------------------------------------------------------------- measurements


@dataclass
class Measurement:
    """The outcome for one contestant at one size (rates in single-spin updates per second)."""

    status: str = "ok"  # ok | skipped | unavailable | error
    reason: str | None = None
    updates: int = 0
    seconds: list[float] | None = None
    rate: float | None = None
    call_rate: float | None = None
    energy_per_spin: float | None = None
    notes: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call (the callable must block until its result is ready)."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    """Run fn `repeats` times; return every time and the last result."""
    times, out = [], None
    for _ in range(repeats):
        seconds, out = timed(fn)
        times.append(seconds)
    return times, out


def energy_per_spin(model: Any, state: Any) -> float:
    """E(s)/n in ThermoLab's convention, a check that a peer sampled the right model."""
    import numpy as np

    from thermolab.exact import energy

    spins = np.asarray(state, dtype=np.int8).reshape(1, -1)
    return float(energy(model, spins)[0]) / model.n_spins


# --------------------------------------------------------------------------- contestants


def thermolab_contestant(
    backend_name: str, algorithm: str, chains: int, **options: Any
) -> Callable[..., Any]:
    """ThermoLab backend run: `chains` chains × sweeps/chains sweeps, one record at the end.

    options go to the backend's constructor (e.g. devices for jax).
    """

    def run(size: Size, model: Any, ctx: Context) -> Measurement:
        from thermolab.backends import get_backend

        backend = get_backend(backend_name, **options)
        sweeps = size.sweeps // chains

        def call(n_sweeps: int = sweeps) -> Any:
            return backend.sample_ising(
                model,
                beta=ctx.beta,
                n_sweeps=n_sweeps,
                n_chains=chains,
                algorithm=algorithm,
                seed=0,
                record_every=n_sweeps,
            )

        if backend_name == "numpy":  # nothing to compile: a short warm-up that also estimates
            probe = max(1, sweeps // 64)
            seconds, _ = timed(lambda: call(probe))
            estimate = seconds * sweeps / probe
            if estimate > ctx.max_call_seconds:
                return Measurement(
                    "skipped",
                    f"estimated {estimate:.0f} s per call (> {ctx.max_call_seconds:g} s)",
                )
        else:
            call()  # compiles for these shapes
        times, result = best_of(call, ctx.repeats)
        return Measurement(
            updates=sweeps * chains * size.n_spins,
            seconds=times,
            rate=sweeps * chains * size.n_spins / min(times),
            energy_per_spin=float(result.energies[-1].mean()) / size.n_spins,
        )

    return run


def dimod_bqm(model: Any) -> Any:
    """The model as a dimod BQM: dimod's energy is +Σ J s s + Σ h s, so both change sign."""
    import dimod

    pairs, couplings = model.edges()
    return dimod.BinaryQuadraticModel.from_numpy_vectors(
        -model.fields, (pairs[:, 0], pairs[:, 1], -couplings), 0.0, dimod.SPIN
    )


def sampleset_state(sampleset: Any, n: int) -> Any:
    """First sample of a dimod-style sample set, as a spin vector indexed 0..n-1."""
    import numpy as np

    state = np.empty(n, dtype=np.int8)
    state[np.asarray(list(sampleset.variables), dtype=np.int64)] = sampleset.record.sample[0]
    return state


def run_dwave(size: Size, model: Any, ctx: Context) -> Measurement:
    """dwave-samplers SimulatedAnnealingSampler: constant β, default Metropolis, 1 read."""
    from dwave.samplers import SimulatedAnnealingSampler

    bqm = dimod_bqm(model)
    sampler = SimulatedAnnealingSampler()

    def call(sweeps: int = size.sweeps) -> Any:
        return sampler.sample(
            bqm,
            beta_range=[ctx.beta, ctx.beta],
            beta_schedule_type="linear",
            num_reads=1,
            num_sweeps=sweeps,
            seed=1,
        )

    call(1)  # first-call overheads only; nothing is compiled
    runs = [timed(call) for _ in range(ctx.repeats)]
    kernel = [ss.info["timing"]["sampling_ns"] * 1e-9 for _, ss in runs]
    return Measurement(
        updates=size.updates,
        seconds=kernel,
        rate=size.updates / min(kernel),
        call_rate=size.updates / min(seconds for seconds, _ in runs),
        energy_per_spin=energy_per_spin(model, sampleset_state(runs[-1][1], size.n_spins)),
        notes="rate from info['timing']['sampling_ns']; call_rate from the sample() wall time",
    )


def run_openjij(size: Size, model: Any, ctx: Context) -> Measurement:
    """OpenJij SASampler: beta_min = beta_max = β, default single-spin-flip updater, 1 read."""
    import openjij

    pairs, couplings = model.edges()
    linear = dict(enumerate((-model.fields).tolist()))
    quadratic = dict(zip(map(tuple, pairs.tolist()), (-couplings).tolist(), strict=True))
    bqm = openjij.BinaryQuadraticModel(linear, quadratic, 0.0, "SPIN", sparse=True)
    sampler = openjij.SASampler()

    def call(sweeps: int = size.sweeps) -> Any:
        return sampler.sample(
            bqm, beta_min=ctx.beta, beta_max=ctx.beta, num_sweeps=sweeps, num_reads=1, seed=1
        )

    call(1)
    runs = [timed(call) for _ in range(ctx.repeats)]
    kernel = [response.info["execution_time"] * 1e-6 for _, response in runs]
    return Measurement(
        updates=size.updates,
        seconds=kernel,
        rate=size.updates / min(kernel),
        call_rate=size.updates / min(seconds for seconds, _ in runs),
        energy_per_spin=energy_per_spin(model, sampleset_state(runs[-1][1], size.n_spins)),
        notes="rate from info['execution_time']; call_rate from the sample() wall time",
    )


def run_thrml(size: Size, model: Any, ctx: Context) -> Measurement:
    """THRML IsingEBM + IsingSamplingProgram, one free block per colour, sweeps iterations."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np
    import thrml
    from thrml.models import IsingEBM, IsingSamplingProgram, hinton_init

    pairs, couplings = model.edges()
    nodes = [thrml.SpinNode() for _ in range(size.n_spins)]
    edges = [(nodes[i], nodes[j]) for i, j in pairs.tolist()]
    # THRML's energy is −β(Σ b s + Σ W s s): ThermoLab's convention, so b = h and W = J.
    ebm = IsingEBM(
        nodes,
        edges,
        jnp.asarray(model.fields, jnp.float32),
        jnp.asarray(couplings, jnp.float32),
        jnp.asarray(ctx.beta, jnp.float32),
    )
    blocks = [thrml.Block([nodes[i] for i in block.tolist()]) for block in model.colouring]
    program = IsingSamplingProgram(ebm, blocks, clamped_blocks=[])
    init = hinton_init(jax.random.key(1), ebm, blocks, ())
    # n_warmup sweeps, then one observation of the state: exactly `sweeps` block-Gibbs sweeps.
    schedule = thrml.SamplingSchedule(n_warmup=size.sweeps, n_samples=1, steps_per_sample=1)

    @eqx.filter_jit
    def sample(key: Any, program: Any, init: Any) -> Any:
        return thrml.sample_states(key, program, schedule, init, [], blocks)

    def call() -> Any:
        return jax.block_until_ready(sample(jax.random.key(0), program, init))

    call()  # compiles
    times, out = best_of(call, ctx.repeats)
    state = np.empty(size.n_spins, dtype=np.int8)
    for block, values in zip(model.colouring, out, strict=True):
        state[block] = 2 * np.asarray(values).reshape(-1).astype(np.int8) - 1
    return Measurement(
        updates=size.updates,
        seconds=times,
        rate=size.updates / min(times),
        energy_per_spin=energy_per_spin(model, state),
    )


CONTESTANTS: dict[str, Callable[..., Measurement]] = {
    "jax-gibbs": thermolab_contestant("jax", "gibbs", 1),
    "jax-metropolis": thermolab_contestant("jax", "metropolis", 1),
    f"jax-gibbs-x{CHAINS}": thermolab_contestant("jax", "gibbs", CHAINS),
    f"jax-metropolis-x{CHAINS}": thermolab_contestant("jax", "metropolis", CHAINS),
    "numpy-gibbs": thermolab_contestant("numpy", "gibbs", 1),
    "dwave-sa": run_dwave,
    "openjij-sa": run_openjij,
    "thrml-gibbs": run_thrml,
}
PEERS = {"dwave-sa": "dwave-samplers", "openjij-sa": "openjij", "thrml-gibbs": "thrml"}
PEER_MODULES = {"dwave-samplers": "dwave.samplers", "openjij": "openjij", "thrml": "thrml"}


# --------------------------------------------------------------------------- RNG bound


def rng_generators() -> dict[str, Callable[[int, int], Callable[[], Any]]]:
    """name → make(chunk, n_chunks) → draw(): draws chunk × n_chunks float32 uniforms."""

    def numpy_gen(bit_generator: str) -> Callable[[int, int], Callable[[], Any]]:
        def make(chunk: int, n_chunks: int) -> Callable[[], Any]:
            import numpy as np

            rng = np.random.Generator(getattr(np.random, bit_generator)(0))
            out = np.empty(chunk, dtype=np.float32)

            def draw() -> Any:
                for _ in range(n_chunks):
                    rng.random(out=out, dtype=np.float32)
                return out

            return draw

        return make

    def torch_make(chunk: int, n_chunks: int) -> Callable[[], Any]:
        import torch

        gen = torch.Generator().manual_seed(0)
        out = torch.empty(chunk, dtype=torch.float32)

        def draw() -> Any:
            for _ in range(n_chunks):
                torch.rand(chunk, generator=gen, out=out)
            return out

        return draw

    def jax_gen(impl: str) -> Callable[[int, int], Callable[[], Any]]:
        def make(chunk: int, n_chunks: int) -> Callable[[], Any]:
            import jax

            key = jax.random.key(0, impl=impl)
            uniform = jax.jit(lambda k, i: jax.random.uniform(jax.random.fold_in(k, i), (chunk,)))

            def draw() -> Any:
                out = None
                for i in range(n_chunks):
                    out = uniform(key, i)
                return jax.block_until_ready(out)

            return draw

        return make

    return {
        "numpy-pcg64": numpy_gen("PCG64"),
        "numpy-philox": numpy_gen("Philox"),
        "torch-rand": torch_make,
        "jax-threefry": jax_gen("threefry2x32"),
        "jax-rbg": jax_gen("rbg"),
        "jax-unsafe_rbg": jax_gen("unsafe_rbg"),
    }


def rng_chunking(size: Size) -> tuple[int, int]:
    """(chunk, n_chunks) with chunk × n_chunks = the work: whole sweeps, ≤ RNG_CHUNK a chunk."""
    per_chunk = max(1, min(size.sweeps, RNG_CHUNK // size.n_spins))
    while size.sweeps % per_chunk:
        per_chunk -= 1
    return size.n_spins * per_chunk, size.sweeps // per_chunk


def measure_rng(size: Size, ctx: Context) -> dict[str, Measurement]:
    chunk, n_chunks = rng_chunking(size)
    results = {}
    for name, make in rng_generators().items():
        try:
            draw = make(chunk, n_chunks)
            make(chunk, 1)()  # warm-up: compiles the jax ones, touches the buffers
            times, _ = best_of(draw, ctx.repeats)
            results[name] = Measurement(
                updates=chunk * n_chunks,
                seconds=times,
                rate=chunk * n_chunks / min(times),
                notes=f"{n_chunks} chunks of {chunk} float32",
            )
        except Exception as error:  # a generator missing here must not end the run
            results[name] = Measurement("error", f"{type(error).__name__}: {error}")
    return results


# --------------------------------------------------------------------------- driver


@dataclass
class Context:
    beta: float
    repeats: int
    max_call_seconds: float
    peers: dict[str, dict[str, Any]]
    verbose: bool = True


def check_peers() -> dict[str, dict[str, Any]]:
    """Which peers import here, their versions, and why not where they do not."""
    status = {}
    for dist, module in PEER_MODULES.items():
        try:
            importlib.import_module(module)
            status[dist] = {"available": True, "version": package_version(dist), "reason": None}
        except Exception as error:  # ImportError, or a broken install raising anything else
            reason = f"{type(error).__name__}: {error}".splitlines()[0]
            status[dist] = {"available": False, "version": package_version(dist), "reason": reason}
    return status


def package_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpus_allowed": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpu_model": None,
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import jax

        info["jax_devices"] = [str(d) for d in jax.devices()]
    except Exception as error:
        info["jax_devices"] = f"unavailable: {error}"
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    except Exception:
        info["torch_threads"] = None
    return info


def measure_size(size: Size, ctx: Context) -> dict[str, Any]:
    """Every contestant and the RNG bound on one size, plus the ratios."""
    build_seconds, model = timed(size.model)
    record: dict[str, Any] = {
        "name": size.name,
        "kind": size.kind,
        "n_spins": size.n_spins,
        "n_edges": model.n_edges,
        "sweeps": size.sweeps,
        "updates": size.updates,
        "beta": ctx.beta,
        "contestants": {},
    }
    log(ctx, f"{size.name}: n={size.n_spins}, {size.sweeps} sweeps, {size.updates:,} updates")
    for name, run in CONTESTANTS.items():
        peer = PEERS.get(name)
        if peer and not ctx.peers[peer]["available"]:
            result = Measurement("unavailable", ctx.peers[peer]["reason"])
        else:
            try:
                result = run(size, model, ctx)
            except Exception as error:  # a peer failing must not end the run
                result = Measurement("error", f"{type(error).__name__}: {error}")
                if ctx.verbose:
                    traceback.print_exc(file=sys.stderr)
        if result.status == "ok" and result.updates != size.updates:
            result = Measurement("error", f"did {result.updates} updates, not {size.updates}")
        record["contestants"][name] = result.as_dict()
        log(ctx, f"  {name:22s} {describe(result)}")
    rng = measure_rng(size, ctx)
    record["rng"] = {name: m.as_dict() for name, m in rng.items()}
    for name, m in rng.items():
        log(ctx, f"  rng {name:18s} {describe(m)}")
    ok_rng = {name: m.rate for name, m in rng.items() if m.status == "ok" and m.rate}
    best_rng = max(ok_rng, key=ok_rng.__getitem__) if ok_rng else None
    record["rng_bound"] = {"generator": best_rng, "rate": ok_rng.get(best_rng)}
    record["ratios"] = ratios(record)
    if size.kind == "lattice":  # the infinite lattice's exact value, for the E/n sanity column
        from thermolab.exact import onsager_energy_per_spin

        record["onsager_energy_per_spin"] = float(onsager_energy_per_spin(1.0 / ctx.beta))
    record["model_build_seconds"] = build_seconds
    return record


def ratios(record: dict[str, Any]) -> dict[str, Any]:
    contestants = record["contestants"]
    jax_rate = (
        contestants["jax-gibbs"]["rate"] if contestants["jax-gibbs"]["status"] == "ok" else None
    )
    peer_rates = {
        name: contestants[name]["rate"]
        for name in PEERS
        if contestants[name]["status"] == "ok" and contestants[name]["rate"]
    }
    best_peer = max(peer_rates, key=peer_rates.__getitem__) if peer_rates else None
    bound = record["rng_bound"]["rate"]
    return {
        "best_peer": best_peer,
        "best_peer_rate": peer_rates.get(best_peer),
        "jax_gibbs_over_best_peer": jax_rate / peer_rates[best_peer]
        if jax_rate and best_peer
        else None,
        "jax_gibbs_over_rng_bound": jax_rate / bound if jax_rate and bound else None,
    }


def targets(sizes: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's targets at L = 256: ≥ 2× the best peer, ≥ 30 % of the RNG bound."""
    record = next((s for s in sizes if s["name"] == TARGET_SIZE), None)
    out: dict[str, Any] = {"size": TARGET_SIZE}
    checks = (
        ("jax_gibbs_vs_best_peer", "jax_gibbs_over_best_peer", TARGET_PEER_RATIO),
        ("jax_gibbs_vs_rng_bound", "jax_gibbs_over_rng_bound", TARGET_RNG_SHARE),
    )
    for name, key, goal in checks:
        value = record["ratios"][key] if record else None
        status = "n/a" if value is None else ("PASS" if value >= goal else "MISS")
        out[name] = {"target": goal, "value": value, "status": status}
    return out


def describe(m: Measurement) -> str:
    if m.status != "ok":
        return f"{m.status}: {m.reason}"
    text = f"{m.rate / 1e6:9.1f} M/s  (best {min(m.seconds or [0]):.3f} s)"
    if m.call_rate:
        text += f"  call {m.call_rate / 1e6:.1f} M/s"
    if m.energy_per_spin is not None:
        text += f"  E/n {m.energy_per_spin:+.3f}"
    return text


def log(ctx: Context, text: str) -> None:
    if ctx.verbose:
        print(text, file=sys.stderr, flush=True)


def table(sizes: list[dict[str, Any]]) -> str:
    """Rows: sizes; columns: contestants and the RNG bound, in million updates per second."""
    names = list(CONTESTANTS)
    header = ["size", "sweeps", *names, "RNG bound", "jax/peer", "jax/RNG"]
    rows = []
    for s in sizes:
        cells = [s["name"], str(s["sweeps"])]
        for name in names:
            m = s["contestants"][name]
            short = {"unavailable": "n/a", "skipped": "skip", "error": "err"}
            cells.append(f"{m['rate'] / 1e6:.1f}" if m["status"] == "ok" else short[m["status"]])
        bound = s["rng_bound"]
        cells.append(f"{bound['rate'] / 1e6:.0f} {bound['generator']}" if bound["rate"] else "-")
        r = s["ratios"]
        cells.append(
            f"{r['jax_gibbs_over_best_peer']:.2f}" if r["jax_gibbs_over_best_peer"] else "-"
        )
        cells.append(
            f"{r['jax_gibbs_over_rng_bound']:.2f}" if r["jax_gibbs_over_rng_bound"] else "-"
        )
        rows.append(cells)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_cli(length: int, sweeps: int, beta: float) -> dict[str, Any]:
    """One fresh `python -m thermolab ising --json` process (jax, Gibbs, one chain)."""
    import subprocess

    command = [
        sys.executable,
        "-m",
        "thermolab",
        "ising",
        "--lattice",
        str(length),
        "--temperature",
        repr(1.0 / beta),
        "--sweeps",
        str(sweeps),
        "--burn-in",
        "0",
        "--chains",
        "1",
        "--backend",
        "jax",
        "--json",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout)


def run_thrml_process(size_name: str, sweeps: int, beta: float) -> dict[str, Any]:
    """THRML at the same size and sweeps in a fresh process (`--thrml-worker`): one untimed
    call that compiles, then one timed call, as `run_thrml` does with one repeat."""
    import subprocess

    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--thrml-worker",
        "--sizes",
        f"{size_name}:{sweeps}",
        "--beta",
        repr(beta),
        "--repeats",
        "1",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        return Measurement("error", lines[-1]).as_dict()
    return json.loads(done.stdout)


def spread_of(rates: list[float]) -> dict[str, Any]:
    """Median, min, max and spread (max − min)/median of some rates (None where empty)."""
    if not rates:
        return {"median": None, "min": None, "max": None, "spread": None}
    median = statistics.median(rates)
    return {
        "median": median,
        "min": min(rates),
        "max": max(rates),
        "spread": (max(rates) - min(rates)) / median,
    }


def measure_cli(size_name: str, sweeps: int, runs: int, ctx: Context) -> dict[str, Any]:
    """The CLI's spin updates/s in `runs` fresh processes, each followed by a fresh THRML
    process on the same work (the control: how much the machine's load moves a peer).

    Our figure is the CLI's own `sampling_spin_updates_per_second`: updates over the call's
    wall time less the time jax spent preparing the kernel (tracing, compiling or loading it
    from the persistent cache), which the CLI reports as `compile_seconds`. The whole call's
    rate (`spin_updates_per_second`) is kept beside it.
    """
    length = int(size_name.removeprefix("L"))
    load_before = os.getloadavg()
    rounds = []
    for _ in range(runs):
        ours = run_cli(length, sweeps, ctx.beta)
        thrml = run_thrml_process(size_name, sweeps, ctx.beta)
        rounds.append(
            {
                "wall_seconds": ours["wall_seconds"],
                "compile_seconds": ours["compile_seconds"],
                "cli_rate": ours["sampling_spin_updates_per_second"],
                "cli_rate_whole_call": ours["spin_updates_per_second"],
                "thrml_rate": thrml["rate"] if thrml["status"] == "ok" else None,
                "thrml_status": thrml["status"],
            }
        )
        log(ctx, f"  cli {size_name} round: {rounds[-1]}")
    ours = spread_of([r["cli_rate"] for r in rounds])
    control = spread_of([r["thrml_rate"] for r in rounds if r["thrml_rate"]])
    return {
        "size": size_name,
        "sweeps": sweeps,
        "runs": runs,
        "rounds": rounds,
        "cli": ours,
        "cli_whole_call": spread_of([r["cli_rate_whole_call"] for r in rounds]),
        "median_compile_seconds": statistics.median(r["compile_seconds"] for r in rounds)
        if rounds
        else None,
        "thrml_control": control,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }


def cli_targets(cli: dict[str, Any], sizes: list[dict[str, Any]]) -> dict[str, Any]:
    """The CLI's median rate against THRML's median in the same rounds (fresh processes) and
    against numpy PCG64 at the same size in this run; the spread of our rounds."""
    record = next((s for s in sizes if s["name"] == cli["size"]), None)
    rate = cli["cli"]["median"]
    thrml_rate = cli["thrml_control"]["median"]
    pcg = record["rng"]["numpy-pcg64"] if record else None
    pcg_rate = pcg["rate"] if pcg and pcg["status"] == "ok" else None
    checks = {
        "cli_vs_thrml": (rate / thrml_rate if rate and thrml_rate else None, TARGET_CLI_PEER_RATIO),
        "cli_vs_numpy_pcg64": (rate / pcg_rate if rate and pcg_rate else None, TARGET_RNG_SHARE),
    }
    out: dict[str, Any] = {}
    for name, (value, goal) in checks.items():
        status = "n/a" if value is None else ("PASS" if value >= goal else "MISS")
        out[name] = {"target": goal, "value": value, "status": status}
    spread = cli["cli"]["spread"]
    status = "n/a" if spread is None else ("PASS" if spread < TARGET_CLI_SPREAD else "MISS")
    out["cli_spread"] = {"target": TARGET_CLI_SPREAD, "value": spread, "status": status}
    return out


def cli_table(cli: dict[str, Any]) -> str:
    """Our CLI's rate and THRML's, fresh processes in alternation: median, min, max, spread."""
    rows = [
        ("thermolab ising (CLI, less kernel preparation)", cli["cli"]),
        ("thermolab ising (CLI, whole call)", cli["cli_whole_call"]),
        ("THRML control (fresh process, same work)", cli["thrml_control"]),
    ]
    lines = [
        f"CLI at {cli['size']}, {cli['sweeps']} sweeps, one chain, every sweep recorded: "
        f"{cli['runs']} fresh processes each (load average {cli['load_average_before'][0]:.1f} "
        f"before, {cli['load_average_after'][0]:.1f} after; median kernel preparation "
        f"{cli['median_compile_seconds'] or 0:.2f} s)",
        f"{'':48}  {'median':>8}  {'min':>8}  {'max':>8}  {'spread':>7}",
    ]
    for label, figures in rows:
        if figures["median"] is None:
            lines.append(f"{label:48}  n/a")
            continue
        lines.append(
            f"{label:48}  {figures['median'] / 1e6:>8.1f}  {figures['min'] / 1e6:>8.1f}  "
            f"{figures['max'] / 1e6:>8.1f}  {figures['spread']:>7.0%}"
        )
    return "\n".join(lines)


def measure_one_device_count(size: Size, count: int, ctx: Context) -> dict[str, Any]:
    """jax Gibbs, CHAINS chains, on `count` devices of this process (the worker's side)."""
    import jax

    run = thermolab_contestant("jax", "gibbs", CHAINS, devices=count)
    return {**run(size, size.model(), ctx).as_dict(), "devices_seen": len(jax.devices())}


def measure_device_scaling(size: Size, counts: list[int], ctx: Context) -> dict[str, Any]:
    """The same work (CHAINS chains × sweeps/CHAINS) on each device count, each in a fresh
    process started with XLA_FLAGS=--xla_force_host_platform_device_count=count (jax fixes
    its devices when it starts). On a CPU the forced devices share the machine's cores."""
    import subprocess

    rows = []
    for count in counts:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--device-worker",
            str(count),
            "--sizes",
            f"{size.name}:{size.sweeps}",
            "--beta",
            repr(ctx.beta),
            "--repeats",
            str(ctx.repeats),
        ]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "XLA_FLAGS": " ".join(
                [os.environ.get("XLA_FLAGS", ""), f"--xla_force_host_platform_device_count={count}"]
            ).strip(),
        }
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode:
            lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
            row = Measurement("error", lines[-1]).as_dict()
        else:
            row = json.loads(done.stdout)
        seen = row.pop("devices_seen", None)
        log(ctx, f"  {count} device(s), jax sees {seen}: {describe(Measurement(**row))}")
        rows.append({"devices": count, "devices_seen": seen, **row})
    base = rows[0]["rate"] if rows and rows[0]["status"] == "ok" else None
    for row in rows:
        row["speedup"] = row["rate"] / base if base and row["status"] == "ok" else None
    return {
        "size": size.name,
        "sweeps": size.sweeps,
        "chains": CHAINS,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "rows": rows,
    }


def device_table(scaling: dict[str, Any]) -> str:
    """Rows: device counts; rate, speed-up over one device, and the final E/n (the same chains
    on every count, so the same value)."""
    lines = [
        f"device scaling, jax Gibbs at {scaling['size']}: {scaling['chains']} chains × "
        f"{scaling['sweeps'] // scaling['chains']} sweeps, forced host devices sharing "
        f"{scaling['cpus']} CPUs (one fresh process per count)",
        f"{'devices':>7}  {'M/s':>8}  {'vs 1 device':>11}  {'E/n at the end':>14}",
    ]
    for row in scaling["rows"]:
        if row["status"] != "ok":
            lines.append(f"{row['devices']:>7}  {row['status']}: {row['reason']}")
            continue
        lines.append(
            f"{row['devices']:>7}  {row['rate'] / 1e6:>8.1f}  {row['speedup']:>10.2f}×  "
            f"{row['energy_per_spin']:>14.6f}"
        )
    return "\n".join(lines)


def pin_cpus(count: int) -> list[int]:
    """Restrict this process to its first `count` allowed CPUs (before jax/torch start)."""
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[:count]
    os.sched_setaffinity(0, chosen)
    return chosen


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        help="comma-separated sizes: L<length> (periodic lattice) or RR<n> (random 3-regular), "
        f"each optionally :<sweeps>; default {','.join(DEFAULT_SIZES)}",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few sweeps (smoke test)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument("--beta", type=float, default=BETA, help="inverse temperature (0.4)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats, best taken (3)")
    parser.add_argument(
        "--max-call-seconds",
        type=float,
        default=10.0,
        help="skip the numpy backend where one call would take longer (10)",
    )
    parser.add_argument("--cpus", type=int, help="pin the process to this many CPUs first")
    parser.add_argument(
        "--cli-runs",
        type=int,
        default=5,
        help="fresh processes timing `thermolab ising` at L256, each with a THRML control "
        "process (5; 1 with --quick; 0: skip)",
    )
    parser.add_argument(
        "--device-counts",
        default=",".join(map(str, DEVICE_COUNTS)),
        help="device counts of the jax scaling table, comma-separated ('none': skip)",
    )
    parser.add_argument(
        "--device-size",
        help=f"size of the scaling table ({DEVICE_SIZE}; {QUICK_DEVICE_SIZE} with --quick)",
    )
    # One row of the scaling table, run in its own process by `measure_device_scaling`.
    parser.add_argument("--device-worker", type=int, help=argparse.SUPPRESS)
    # One THRML control process of the CLI rounds, run by `run_thrml_process`.
    parser.add_argument("--thrml-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device_worker:
        ctx = Context(args.beta, args.repeats, args.max_call_seconds, {}, verbose=False)
        row = measure_one_device_count(parse_size(args.sizes), args.device_worker, ctx)
        print(json.dumps(row))
        return 0
    if args.thrml_worker:
        ctx = Context(args.beta, args.repeats, args.max_call_seconds, {}, verbose=False)
        size = parse_size(args.sizes)
        print(json.dumps(run_thrml(size, size.model(), ctx).as_dict()))
        return 0
    pinned = pin_cpus(args.cpus) if args.cpus else None
    if args.quick and args.sizes is None:
        tokens = QUICK_SIZES
    else:
        tokens = tuple((args.sizes or ",".join(DEFAULT_SIZES)).split(","))
    sizes = [parse_size(token) for token in tokens if token.strip()]
    if args.cpus:
        import torch

        torch.set_num_threads(args.cpus)
    ctx = Context(args.beta, args.repeats, args.max_call_seconds, check_peers(), not args.quiet)
    started = time.perf_counter()
    results = [measure_size(size, ctx) for size in sizes]
    cli_size, cli_sweeps = QUICK_CLI if args.quick else (TARGET_SIZE, CLI_SWEEPS)
    cli_runs = min(args.cli_runs, 1) if args.quick else args.cli_runs
    cli = measure_cli(cli_size, cli_sweeps, cli_runs, ctx) if cli_runs > 0 else None
    counts = [] if args.device_counts == "none" else [int(c) for c in args.device_counts.split(",")]
    device_size = parse_size(args.device_size or (QUICK_DEVICE_SIZE if args.quick else DEVICE_SIZE))
    scaling = measure_device_scaling(device_size, counts, ctx) if counts else None
    report = {
        "benchmark": "bench/sampler.py",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": [sys.executable, *sys.argv],
        "settings": {
            "beta": args.beta,
            "repeats": args.repeats,
            "quick": args.quick,
            "chains_column": CHAINS,
            "pinned_cpus": pinned,
            "max_call_seconds": args.max_call_seconds,
        },
        "method": (
            "Every contestant does n × sweeps single-spin updates (jax ×8: 8 chains × sweeps/8; "
            "peers: num_reads=1, num_sweeps=sweeps; THRML: sweeps block-Gibbs iterations over "
            "all colours). Untimed warm-up with the same shapes, then best of `repeats`. "
            "rate = updates / best seconds. Peer `rate` uses the peer's own kernel timer where "
            "it has one; `call_rate` is the wall time of its sample() call on a prebuilt model."
        ),
        "machine": machine_info(),
        "packages": {name: package_version(name) for name in PACKAGES},
        "peers": ctx.peers,
        "sizes": results,
        "targets": targets(results),
        "cli": cli,
        "cli_targets": cli_targets(cli, results) if cli else None,
        "device_scaling": scaling,
        "total_seconds": time.perf_counter() - started,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"spin updates per second (millions), β = {args.beta}, best of {args.repeats}")
    print(table(results))
    for name, peer in ctx.peers.items():
        if not peer["available"]:
            print(f"peer {name} unavailable: {peer['reason']}")
    for s in results:
        r = s["ratios"]
        over_peer, over_rng = r["jax_gibbs_over_best_peer"], r["jax_gibbs_over_rng_bound"]
        peer = f"{over_peer:.2f}× best peer ({r['best_peer']})" if over_peer else "no peer ran"
        share = f"{over_rng:.0%} of RNG bound ({s['rng_bound']['generator']})" if over_rng else "-"
        print(f"{s['name']}: jax-gibbs = {peer}, {share}")
    goal = report["targets"]
    for key, label in (
        ("jax_gibbs_vs_best_peer", "≥ 2× best peer"),
        ("jax_gibbs_vs_rng_bound", "≥ 30% of RNG bound"),
    ):
        value = goal[key]["value"]
        shown = "n/a" if value is None else f"{value:.2f}"
        print(f"target at {goal['size']}: jax Gibbs {label}: {goal[key]['status']} ({shown})")
    if cli:
        print(cli_table(cli))
        for key, label in (
            ("cli_vs_thrml", "≥ 2.5× THRML"),
            ("cli_vs_numpy_pcg64", "≥ 30% of numpy PCG64"),
            ("cli_spread", "spread (max − min)/median < 20%"),
        ):
            check = report["cli_targets"][key]
            shown = "n/a" if check["value"] is None else f"{check['value']:.2f}"
            print(f"target, CLI at {cli['size']}: {label}: {check['status']} ({shown})")
    if scaling:
        print(device_table(scaling))
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
