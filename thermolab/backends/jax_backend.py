"""The jax backend: the default simulator, jit-compiled, `lax.scan` over sweeps.

Two sweep kernels, one driver:

- lattice fast path, for periodic L × L lattices with even L and uniform J and h: the two
  checkerboard sublattices are stored packed, each as (chains, L, L/2) int8, so a half-sweep
  draws exactly one uniform per updated spin and finds its four neighbours by rolls;
- general path, for any graph: per colour block, neighbours gathered from a padded neighbour
  table (missing neighbours point at a dummy spin with coupling 0), blocks scanned in order.

Random numbers are counter based: the 32 random bits of a spin's update at a sweep are
Threefry-2x32 (20 rounds) of the counter (sweep, site) under a key derived from (seed, chain),
computed in the sweep itself — no keys are split, no stream is carried, and a chain's numbers
do not depend on how many chains run beside it. The bits for sweep t + 1 are computed at the
end of sweep t and carried by the scan: XLA:CPU would otherwise fuse the cipher into each of
the several fusions that read the updated spins and compute it up to six times.

β enters as traced data, one value per sweep and chain, so changing the temperature never
recompiles; only a change of shapes (lattice size, chains, sweeps per record) does.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from thermolab.backends.base import (
    Backend,
    Capabilities,
    SweepRecords,
    SweepRequest,
    check_categorical_energies,
    record_layout,
)
from thermolab.exact import energy
from thermolab.problems import IsingModel

# --------------------------------------------------------------------------- random numbers

_THREEFRY_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_THREEFRY_PARITY = 0x1BD11BDA
#: A uniform is the top 24 bits of a 32-bit word: u = (bits >> 8) · 2⁻²⁴ ∈ [0, 1).
_UNIFORM_BITS = 24


def _threefry2x32(key, count):
    """Threefry-2x32, 20 rounds (Salmon et al., SC'11): jax.random's default block cipher.

    key: pair of uint32 arrays (k0, k1); count: pair of uint32 arrays (x0, x1); all broadcast
    together. Returns the two uint32 output words. Written in jnp so that XLA fuses it with
    its neighbours; bit-identical to `jax.extend.random.threefry_2x32` (tested).
    """
    k0, k1 = key
    keys = (k0, k1, k0 ^ k1 ^ jnp.uint32(_THREEFRY_PARITY))
    x0, x1 = count[0] + k0, count[1] + k1
    for group in range(5):
        for rotation in _THREEFRY_ROTATIONS[group % 2]:
            x0 = x0 + x1
            x1 = (x1 << jnp.uint32(rotation)) | (x1 >> jnp.uint32(32 - rotation))
            x1 = x0 ^ x1
        x0 = x0 + keys[(group + 1) % 3]
        x1 = x1 + keys[(group + 2) % 3] + jnp.uint32(group + 1)
    return x0, x1


def _chain_keys(seed_words, n_chains: int):
    """Per-chain Threefry keys, each (n_chains,) uint32: the cipher of (chain, 0) under the seed."""
    chain = jnp.arange(n_chains, dtype=jnp.uint32)
    return _threefry2x32((seed_words[0], seed_words[1]), (chain, jnp.zeros_like(chain)))


def _seed_words(seed: int) -> np.ndarray:
    """An integer seed as two uint32 words (high, low) of its value modulo 2⁶⁴."""
    value = int(seed) % (1 << 64)
    return np.array([value >> 32, value & 0xFFFFFFFF], dtype=np.uint32)


def _top_bits(bits):
    """The 24-bit integer k of a uniform u = k · 2⁻²⁴, as int32."""
    return (bits >> jnp.uint32(32 - _UNIFORM_BITS)).astype(jnp.int32)


def _flip_or_draw(current, local, beta, uniform, algorithm: str):
    """New spins of one block: Gibbs (heat bath) or Metropolis, all float32 arithmetic.

    current, local, uniform: same shape; beta broadcastable to it.
    Gibbs: s = +1 with probability σ(2β·local), i.e. when u·(1 + e^{−2β·local}) < 1.
    Metropolis: flip when u < e^{−β·ΔE}, ΔE = 2·s·local.
    """
    if algorithm == "gibbs":
        up = uniform * (1.0 + jnp.exp(-2.0 * beta * local)) < 1.0
        return jnp.where(up, jnp.int8(1), jnp.int8(-1))
    accept = uniform < jnp.exp(-2.0 * beta * current.astype(jnp.float32) * local)
    return jnp.where(accept, -current, current)


# --------------------------------------------------------------------------- lattice fast path


def _neighbour_sum(other, target_is_black: bool):
    """Sum of the four neighbours of each site of one sublattice, from the other (int8).

    Packed layout: black[i, k] = s[i, 2k + i%2], white[i, k] = s[i, 2k + 1 − i%2]. Vertical
    neighbours share k; horizontally a black site on an even row sees white k−1 and k, on an
    odd row k and k+1 (mirrored for white).
    """
    length = other.shape[-2]
    even_row = (jnp.arange(length) % 2 == 0)[:, None]
    shift_even = 1 if target_is_black else -1
    horizontal = jnp.where(
        even_row, jnp.roll(other, shift_even, axis=-1), jnp.roll(other, -shift_even, axis=-1)
    )
    return jnp.roll(other, 1, axis=-2) + jnp.roll(other, -1, axis=-2) + other + horizontal


def _lattice_decisions(beta, params, algorithm: str):
    """Thresholds and positions that turn a 24-bit integer k into every update of one sweep.

    On the fast path the local field J·n + h takes five values (n, the neighbour sum, is
    −4 … 4), so an update is k < T for one of a few thresholds T = ⌈p · 2²⁴⌉ (exactly the
    float comparison u < p): Gibbs, s = +1 when k < T_n, p = σ(2β(Jn + h)); Metropolis, flip
    when k < T_{s,n}, p = min(1, e^{−2βs(Jn + h)}). With level(k) = #{j : T_j ≤ k} and
    position P_x = #{j : T_j < T_x}, k < T_x ⟺ level(k) ≤ P_x, so a site's random bits can
    be reduced to its level (≤ 10, four bits) when they are drawn, before its neighbours are
    known. beta: (C,). Returns thresholds (C, m) int32 and positions (C, m) uint8, m = 5
    (Gibbs, index (n + 4)/2) or 10 (Metropolis, index 5·(s + 1)/2 + (n + 4)/2).
    """
    coupling, field = params
    sums = jnp.arange(-4, 5, 2, dtype=jnp.float32)
    beta = beta[:, None]
    if algorithm == "gibbs":
        probability = jax.nn.sigmoid(2.0 * beta * (coupling * sums + field))
    else:
        spin = jnp.repeat(jnp.array([-1.0, 1.0], jnp.float32), sums.size)
        delta = 2.0 * spin * (coupling * jnp.tile(sums, 2) + field)
        probability = jnp.exp(jnp.minimum(-beta * delta, 0.0))
    thresholds = jnp.ceil(probability * 2.0**_UNIFORM_BITS).astype(jnp.int32)
    positions = (thresholds[:, None, :] < thresholds[:, :, None]).sum(-1).astype(jnp.uint8)
    return thresholds, positions


def _lattice_levels(keys, sweep, thresholds, shape):
    """Both sublattices' levels for one sweep, packed black | white << 4: uint8 of `shape`.

    Site k of the packed (C, L, L/2) sublattices draws Threefry((sweep, k)) under its chain's
    key: word 0 for the black site, word 1 for the white one.
    """
    _, length, width = shape
    site = jnp.arange(length * width, dtype=jnp.uint32).reshape(1, length, width)
    words = _threefry2x32(
        (keys[0][:, None, None], keys[1][:, None, None]),
        (jnp.broadcast_to(sweep, site.shape), site),
    )
    levels = []
    for word in words:
        k = _top_bits(word)
        levels.append(
            sum(
                (k >= thresholds[:, None, None, j]).astype(jnp.uint8)
                for j in range(thresholds.shape[-1])
            )
        )
    return levels[0] | (levels[1] << jnp.uint8(4))


def _by_neighbour_sum(sums, table):
    """table[:, (n + 4)/2] at each site, n = sums (int8, −4 … 4); table (C, 5) → (C, L, W)."""
    column = [table[:, None, None, j] for j in range(5)]
    return jnp.where(
        sums >= 2,
        jnp.where(sums == 4, column[4], column[3]),
        jnp.where(sums == 0, column[2], jnp.where(sums == -2, column[1], column[0])),
    )


def _lattice_update(current, sums, level, positions, algorithm: str):
    """New spins of one sublattice from its neighbour sums (int8) and its levels."""
    if algorithm == "gibbs":
        up = level <= _by_neighbour_sum(sums, positions)
        return jnp.where(up, jnp.int8(1), jnp.int8(-1))
    position = jnp.where(
        current > 0,
        _by_neighbour_sum(sums, positions[:, 5:]),
        _by_neighbour_sum(sums, positions[:, :5]),
    )
    return jnp.where(level <= position, -current, current)


def _lattice_sweep(state, rng, sweep, beta, next_beta, keys, params, algorithm: str):
    """One sweep: the new state, the packed levels of sweep + 1 (see module doc), and the new
    state's (energy, spin sum), each (C,).

    The energy reuses the white update's neighbour sums (every bond joins a white site to a
    black one). Recording every sweep is kept even when only some sweeps are recorded: on
    XLA:CPU this scan body ran about 5× slower without these reductions (fusion choices).
    """
    black, white = state
    coupling, field = params
    _, positions = _lattice_decisions(beta, params, algorithm)
    black = _lattice_update(
        black, _neighbour_sum(white, True), rng & jnp.uint8(15), positions, algorithm
    )
    white_sums = _neighbour_sum(black, False)
    white = _lattice_update(white, white_sums, rng >> jnp.uint8(4), positions, algorithm)
    next_thresholds, _ = _lattice_decisions(next_beta, params, algorithm)
    bonds = (white.astype(jnp.int32) * white_sums).sum(axis=(-2, -1))
    spin_sum = black.astype(jnp.int32).sum(axis=(-2, -1)) + white.astype(jnp.int32).sum(
        axis=(-2, -1)
    )
    energies = -coupling * bonds.astype(jnp.float32) - field * spin_sum.astype(jnp.float32)
    rng = _lattice_levels(keys, sweep + 1, next_thresholds, black.shape)
    return (black, white), rng, (energies, spin_sum)


def _lattice_first_rng(state, keys, beta, params, algorithm: str):
    thresholds, _ = _lattice_decisions(beta, params, algorithm)
    return _lattice_levels(keys, jnp.uint32(0), thresholds, state[0].shape)


def _packing_columns(length: int) -> tuple[np.ndarray, np.ndarray]:
    """Column of each packed site, (L, L/2) for black and for white."""
    parity = (np.arange(length) % 2)[:, None]
    base = 2 * np.arange(length // 2)[None, :]
    return base + parity, base + 1 - parity


def _pack(states: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    grid = states.reshape(-1, length, length)
    rows = np.arange(length)[:, None]
    black_cols, white_cols = _packing_columns(length)
    return grid[:, rows, black_cols], grid[:, rows, white_cols]


def _unpack(black: np.ndarray, white: np.ndarray, length: int) -> np.ndarray:
    grid = np.empty((black.shape[0], length, length), dtype=np.int8)
    rows = np.arange(length)[:, None]
    black_cols, white_cols = _packing_columns(length)
    grid[:, rows, black_cols] = black
    grid[:, rows, white_cols] = white
    return grid.reshape(black.shape[0], -1)


# --------------------------------------------------------------------------- general path


def _graph_bits(keys, sweep, block_index):
    """Random words of one sweep, (C, blocks, width) uint32: Threefry((sweep, slot)) word 0,
    slot = position in the padded block table (a fixed site for a given model)."""
    slot = jnp.arange(block_index.size, dtype=jnp.uint32).reshape(block_index.shape)[None]
    words = _threefry2x32(
        (keys[0][:, None, None], keys[1][:, None, None]),
        (jnp.broadcast_to(sweep, slot.shape), slot),
    )
    return words[0]


def _graph_sweep(state, rng, sweep, beta, next_beta, keys, params, algorithm: str):
    """One sweep over the colour blocks: the new state, the bits of sweep + 1, and the new
    state's (energy, spin sum), each (C,) (dropped by jax where a caller ignores them)."""
    block_index, block_neighbours, block_couplings, block_fields = params[:4]
    beta = beta[:, None]
    uniforms = _top_bits(rng).astype(jnp.float32) * jnp.float32(2.0**-_UNIFORM_BITS)

    def update_block(spins, block):
        index, neighbours, couplings, fields, uniform = block
        # A contraction, not multiply-then-reduce: XLA:CPU hands the latter to a slow fusion
        # (measured 15 → 60 M updates/s on a random 3-regular graph with 10 000 spins).
        gathered = spins[:, neighbours].astype(jnp.float32)
        local = jnp.einsum("cbd,bd->cb", gathered, couplings) + fields
        new = _flip_or_draw(spins[:, index], local, beta, uniform, algorithm)
        return spins.at[:, index].set(new), None

    blocks = (block_index, block_neighbours, block_couplings, block_fields, uniforms.swapaxes(0, 1))
    state = jax.lax.scan(update_block, state, blocks)[0]
    return state, _graph_bits(keys, sweep + 1, block_index), _graph_observables(state, params)


def _graph_first_rng(state, keys, beta, params, algorithm: str):
    return _graph_bits(keys, jnp.uint32(0), params[0])


def _graph_observables(state, params):
    neighbours, couplings, fields = params[4:]
    spins = state.astype(jnp.float32)
    local = (spins[:, neighbours] * couplings).sum(-1)
    energies = -0.5 * (spins * local).sum(-1) - spins @ fields
    return energies, state[:, :-1].astype(jnp.int32).sum(-1)


# --------------------------------------------------------------------------- driver


@partial(jax.jit, static_argnames=("algorithm", "lattice"))
def _run_chains(state, seed_words, record_betas, tail_betas, params, algorithm: str, lattice: bool):
    """Sweep with records: record_betas (R, E, C) then tail_betas (rest, C).

    seed_words: (2,) uint32 (see `_seed_words`). Returns final state, per-record (energy,
    spin sum) of shape (R, C), and the best recorded state per chain.
    """
    sweep = partial(_lattice_sweep if lattice else _graph_sweep, params=params, algorithm=algorithm)
    first_rng = _lattice_first_rng if lattice else _graph_first_rng
    n_records, every, n_chains = record_betas.shape
    keys = _chain_keys(seed_words, n_chains)
    # Each sweep draws the next sweep's random numbers, which may depend on the next β.
    betas = jnp.concatenate([record_betas.reshape(-1, n_chains), tail_betas])
    following = jnp.concatenate([betas[1:], betas[-1:]])
    split = n_records * every
    record_pairs = (record_betas, following[:split].reshape(n_records, every, n_chains))
    tail_pairs = (tail_betas, following[split:])

    def one_sweep(carry, pair):
        state, rng, index = carry
        state, rng, observed = sweep(state, rng, index, pair[0], pair[1], keys)
        return (state, rng, index + jnp.uint32(1)), observed

    def unobserved_sweep(carry, pair):
        return one_sweep(carry, pair)[0], None

    def one_record(carry, pairs):
        state, rng, index, best_energy, best_state = carry
        if lattice:  # its observables cost next to nothing (see _lattice_sweep)
            (state, rng, index), (energies, spin_sums) = jax.lax.scan(
                one_sweep, (state, rng, index), pairs
            )
            energies, spin_sum = energies[-1], spin_sums[-1]
        else:
            head = jax.tree.map(lambda values: values[:-1], pairs)
            (state, rng, index), _ = jax.lax.scan(unobserved_sweep, (state, rng, index), head)
            last = jax.tree.map(lambda values: values[-1], pairs)
            (state, rng, index), (energies, spin_sum) = one_sweep((state, rng, index), last)
        better = energies < best_energy
        best_state = jax.tree.map(
            lambda new, old: jnp.where(better.reshape((-1,) + (1,) * (new.ndim - 1)), new, old),
            state,
            best_state,
        )
        carry = (state, rng, index, jnp.minimum(energies, best_energy), best_state)
        return carry, (energies, spin_sum)

    rng = first_rng(state, keys, betas[0], params, algorithm)
    best = jnp.full((n_chains,), jnp.inf, jnp.float32)
    initial = (state, rng, jnp.uint32(0), best, state)
    (state, rng, index, _, best_state), records = jax.lax.scan(one_record, initial, record_pairs)
    (state, _, _), _ = jax.lax.scan(
        one_sweep if lattice else unobserved_sweep, (state, rng, index), tail_pairs
    )
    return state, records, best_state


def _uses_lattice_path(model: IsingModel) -> bool:
    lattice = model.lattice
    return (
        lattice is not None
        and lattice.periodic
        and lattice.length % 2 == 0
        and model.uniform_coupling is not None  # J = 0 (no stored couplings) counts as uniform
        and model.has_uniform_fields
    )


def _graph_params(model: IsingModel) -> tuple[jax.Array, ...]:
    n = model.n_spins
    neighbours, couplings = model.neighbour_table()
    neighbours = np.vstack([neighbours, np.full((1, neighbours.shape[1]), n, np.int32)])
    couplings = np.vstack([couplings, np.zeros((1, couplings.shape[1]))]).astype(np.float32)
    fields = np.append(model.fields, 0.0).astype(np.float32)
    width = max(len(block) for block in model.colouring)
    block_index = np.full((len(model.colouring), width), n, dtype=np.int32)
    for c, block in enumerate(model.colouring):
        block_index[c, : len(block)] = block
    return tuple(
        jnp.asarray(a)
        for a in (
            block_index,
            neighbours[block_index],
            couplings[block_index],
            fields[block_index],
            neighbours,
            couplings,
            fields,
        )
    )


#: Compilations shorter than this are not written to the persistent cache.
_CACHED_COMPILE_SECONDS = 0.3


def _use_persistent_compilation_cache() -> None:
    """Keep compiled kernels on disk, so that a new process reuses them instead of compiling.

    A lattice kernel takes seconds to compile on a busy two-core machine, more than sampling
    an L = 256 lattice for thousands of sweeps; with jax's persistent cache only the first
    process for a shape pays it. The cache goes to `thermolab.data.cache_directory()`/jax,
    unless the process already chose a cache directory or THERMOLAB_JAX_CACHE is "off".
    """
    if jax.config.jax_compilation_cache_dir or os.environ.get("THERMOLAB_JAX_CACHE") == "off":
        return
    # thermolab.data.cache_directory's rule, not imported: that module imports torch.
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    directory = Path(os.environ.get("THERMOLAB_CACHE") or Path(base) / "thermolab") / "jax"
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", _CACHED_COMPILE_SECONDS)


def _start_jax_without_split_fusions() -> None:
    """Create jax's CPU client while this thread may use one CPU, then give every thread back
    the CPUs it had.

    XLA:CPU splits each large fusion into as many parallel tasks as the CPUs the process could
    use when its client was created, and joins them before the next fusion: an L = 256 sweep
    has 14 such joins. Where other processes keep the cores busy, each join waits for a
    descheduled worker, and the same call varies up to 2-10× from process to process. A
    client created for one CPU compiles unsplit fusions (the choice is fixed at creation), so
    a kernel runs on one thread, wherever the scheduler puts it; chains go further in
    parallel across devices. Nothing is done where jax has already started, off Linux, or
    when THERMOLAB_JAX_SPLIT_FUSIONS is "on".
    """
    from jax._src import xla_bridge  # no public way to ask whether jax has started

    if (
        os.environ.get("THERMOLAB_JAX_SPLIT_FUSIONS") == "on"
        or not hasattr(os, "sched_setaffinity")
        or xla_bridge.backends_are_initialized()
    ):
        return
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})
    try:
        jax.devices()
    finally:
        for thread in os.listdir("/proc/self/task"):  # threads the client started, and this one
            with contextlib.suppress(OSError):  # a thread that has ended since
                os.sched_setaffinity(int(thread), allowed)


class JaxBackend(Backend):
    """jit-compiled sampler on jax (CPU here; GPU where jax finds one)."""

    name = "jax"
    features = Capabilities(lattice_fast_path=True, array_type="jax.Array")

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        _use_persistent_compilation_cache()
        _start_jax_without_split_fusions()
        self._key = jax.random.key(seed)
        self._params: weakref.WeakKeyDictionary[IsingModel, Any] = weakref.WeakKeyDictionary()

    @property
    def device(self) -> str:
        return str(jax.devices()[0])

    @property
    def version(self) -> str:
        return jax.__version__

    def _next_key(self, seed: int | None) -> jax.Array:
        if seed is not None:
            return jax.random.key(seed)
        self._key, key = jax.random.split(self._key)
        return key

    def _model_params(self, model: IsingModel) -> tuple[bool, Any]:
        if model not in self._params:
            lattice = _uses_lattice_path(model)
            if lattice:
                params = (jnp.float32(model.uniform_coupling), jnp.float32(model.fields[0]))
            else:
                params = _graph_params(model)
            self._params[model] = (lattice, params)
        return self._params[model]

    def _run_sweeps(self, request: SweepRequest) -> SweepRecords:
        model, start, record_every = request.model, request.start, request.record_every
        n_chains = request.n_chains
        betas = request.betas.astype(np.float32)
        n_records, _, _ = record_layout(request.n_sweeps, record_every)
        lattice, params = self._model_params(model)
        if lattice:
            length = model.lattice.length
            state = tuple(jnp.asarray(part) for part in _pack(start, length))
        else:
            state = jnp.asarray(np.hstack([start, np.ones((n_chains, 1), np.int8)]))
        split = n_records * record_every
        record_betas = betas[:split].reshape(n_records, record_every, n_chains)
        final, (energies, spin_sums), best = _run_chains(
            state,
            jnp.asarray(_seed_words(request.seed)),
            jnp.asarray(record_betas),
            jnp.asarray(betas[split:]),
            params,
            algorithm=request.algorithm,
            lattice=lattice,
        )
        if lattice:
            final_states = _unpack(*(np.asarray(part) for part in final), length)
            best_states = _unpack(*(np.asarray(part) for part in best), length)
        else:
            final_states = np.asarray(final)[:, :-1]
            best_states = np.asarray(best)[:, :-1]
        return SweepRecords(
            states=final_states,
            energies=np.asarray(energies, dtype=np.float64),
            magnetizations=np.asarray(spin_sums, dtype=np.float64) / model.n_spins,
            best_energies=energy(model, best_states),
            best_states=best_states,
        )

    def bernoulli(self, probabilities: Any, *, seed: int | None = None) -> jax.Array:
        p = jnp.asarray(probabilities)
        if not jnp.issubdtype(p.dtype, jnp.floating):
            p = p.astype(jnp.float32)
        if bool(jnp.any(~jnp.isfinite(p) | (p < 0) | (p > 1))):
            raise ValueError("probabilities must lie in [0, 1]")
        bits = jax.random.bernoulli(self._next_key(seed), p).astype(p.dtype)
        self.counter.add(random_numbers=p.size, samples=p.size)
        return bits

    def categorical(
        self, energies: Any, temperature: float, n_samples: int, *, seed: int | None = None
    ) -> jax.Array:
        temperature, n_samples = self._check_temperature(temperature, n_samples)
        values = jnp.asarray(energies, dtype=jnp.float32)
        check_categorical_energies(values)
        shape = (n_samples, *values.shape[:-1])
        indices = jax.random.categorical(
            self._next_key(seed), -values / temperature, axis=-1, shape=shape
        )
        self.counter.add(
            random_numbers=int(np.prod(shape)) * values.shape[-1], samples=int(np.prod(shape))
        )
        return indices
