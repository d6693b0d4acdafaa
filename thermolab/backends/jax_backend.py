"""The jax backend: the default simulator, jit-compiled, `lax.scan` over sweeps.

Two sweep kernels, one driver:

- lattice fast path, for periodic L × L lattices with even L and uniform J and h: the two
  checkerboard sublattices are stored packed, each as (chains, L, L/2) int8, so a half-sweep
  draws exactly one uniform per updated spin and finds its four neighbours by rolls;
- block path, for a graph of a few colours (at most `MAX_UNROLLED_BLOCKS`): the spins are
  stored in colour order, so each colour block is a contiguous slice that a sweep reads and
  writes in place; neighbours are gathered from a neighbour table in that order (padded to
  the largest degree, missing neighbours with coupling 0), one unrolled update per block. The
  energy is carried from sweep to sweep, plus the sum of each block's ΔE from the local fields
  its update computed anyway, and recomputed from all edges every `ENERGY_RESYNC_SWEEPS`
  sweeps, so recording every sweep costs no extra pass over the edges;
- padded path, for a graph of many colours (dense graphs, SK): per colour block, neighbours
  gathered from a padded neighbour table (missing neighbours point at a dummy spin with
  coupling 0), blocks scanned in order.

Random numbers are counter based: the 32 random bits of a spin's update at a sweep are
Threefry-2x32 (20 rounds) of the counter (sweep, site) under a key derived from (seed, chain),
computed in the sweep itself — no keys are split, no stream is carried, and a chain's numbers
do not depend on how many chains run beside it. The bits for sweep t + 1 are computed at the
end of sweep t and carried by the scan: XLA:CPU would otherwise fuse the cipher into each of
the several fusions that read the updated spins and compute it up to six times.

β enters as traced data, one value per sweep and chain, so changing the temperature never
recompiles; only a change of shapes (lattice size, chains, sweeps per record) does.

Chains are spread over a 1-D mesh of devices (`jax.devices()`, all of them unless the backend
is given a count): each device sweeps its block of chains with the same kernel and nothing
moves between devices. A chain's random numbers are keyed by its number in the whole run, so
its results do not depend on the device count. After `jax.distributed.initialize` the mesh
spans every process's devices and the same calls run across hosts.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from thermolab.backends.base import (
    Backend,
    Capabilities,
    CompileClock,
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


def _chain_keys(seed_words, chain_ids):
    """Per-chain Threefry keys, each (C,) uint32: the cipher of (chain, 0) under the seed.

    chain_ids: (C,) uint32, the chains' numbers in the whole run (not on one device).
    """
    return _threefry2x32((seed_words[0], seed_words[1]), (chain_ids, jnp.zeros_like(chain_ids)))


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


# --------------------------------------------------------------------------- block path

#: Graphs with at most this many colour blocks take the block path (one unrolled update per
#: block: compile time grows with the count); others the padded path.
MAX_UNROLLED_BLOCKS = 32
#: The block path recomputes the energy from every edge once per this many sweeps, so the
#: float32 rounding of the summed ΔE cannot build up (exact for integer couplings anyway).
ENERGY_RESYNC_SWEEPS = 64


def _weighted_sum(gathered, couplings):
    """Σ_k gathered[c, b, k] · couplings[b, k], shape (C, B).

    Never multiply-then-reduce: XLA:CPU hands that to a slow fusion (5× slower on RR10000).
    Several chains contract (einsum); one chain sums its neighbour slots one by one, which
    adds in the contraction's order for several chains (XLA:CPU contracts one chain alone in
    another order, so its local fields, hence its draws, would depend on the chains beside
    it; tested) and is 1.8× faster than that contraction on RR10000 (220 against 122 M
    updates/s in CPU time; with 8 chains the sum would be slower, 169 against 221).
    """
    if gathered.shape[0] != 1:
        return jnp.einsum("cbd,bd->cb", gathered, couplings)
    return sum(gathered[..., k] * couplings[:, k] for k in range(gathered.shape[-1]))


def _block_energy(spins, params):
    """Energies (C,) float32 of spins (C, n) int8 stored in colour order, from every edge."""
    neighbours, couplings, fields = params
    values = spins.astype(jnp.float32)
    local = jnp.einsum("cnd,nd->cn", values[:, neighbours], couplings)
    return -0.5 * (values * local).sum(-1) - values @ fields


def _block_bits(keys, sweep, n_spins: int):
    """Random words of one sweep, (C, n) uint32: Threefry((sweep, position)) word 0, position
    = the spin's place in colour order."""
    position = jnp.arange(n_spins, dtype=jnp.uint32)[None]
    words = _threefry2x32(
        (keys[0][:, None], keys[1][:, None]), (jnp.broadcast_to(sweep, position.shape), position)
    )
    return words[0]


def _block_sweep(state, rng, sweep, beta, next_beta, keys, params, algorithm: str, blocks):
    """One sweep, block after block: the new (spins, energy), the bits of sweep + 1, and the
    new state's (energy, spin sum), each (C,).

    blocks: the colour blocks' sizes (static); block b holds positions [start_b, end_b). A
    block is an independent set, so its update changes the energy by exactly
    −Σ_i (new_i − old_i) · local_i, local_i = Σ_j J_ij s_j + h_i being the field it sampled in.
    """
    spins, energy_now = state
    neighbours, couplings, fields = params
    beta = beta[:, None]
    uniforms = _top_bits(rng).astype(jnp.float32) * jnp.float32(2.0**-_UNIFORM_BITS)
    change = jnp.zeros_like(energy_now)
    start = 0
    for size in blocks:
        end = start + size
        # Gathered from a float32 copy of the spins: XLA:CPU gathers int8 then converts about
        # 1.5× slower (RR10000, one chain).
        gathered = spins.astype(jnp.float32)[:, neighbours[start:end]]
        local = _weighted_sum(gathered, couplings[start:end]) + fields[start:end]
        current = spins[:, start:end]
        new = _flip_or_draw(current, local, beta, uniforms[:, start:end], algorithm)
        change = change - ((new - current).astype(jnp.float32) * local).sum(-1)
        spins = jax.lax.dynamic_update_slice(spins, new, (0, start))
        start = end
    energy_now = jax.lax.cond(
        sweep % ENERGY_RESYNC_SWEEPS == ENERGY_RESYNC_SWEEPS - 1,
        lambda: _block_energy(spins, params),
        lambda: energy_now + change,
    )
    observed = (energy_now, spins.astype(jnp.int32).sum(-1))
    return (spins, energy_now), _block_bits(keys, sweep + 1, spins.shape[-1]), observed


def _block_first_rng(state, keys, beta, params, algorithm: str):
    return _block_bits(keys, jnp.uint32(0), state[0].shape[-1])


def _block_params(model: IsingModel) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """The block path's tables: spin order (n,) (spin at each position), each spin's position
    (n,), and (neighbour positions (n, d) int32, couplings (n, d) float32, fields (n,) float32)
    in colour order; a missing neighbour points at position 0 with coupling 0."""
    n = model.n_spins
    order = np.concatenate([np.asarray(block) for block in model.colouring]).astype(np.int64)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    neighbours, couplings = model.neighbour_table()
    neighbours, couplings = neighbours[order], couplings[order]
    missing = neighbours == n
    table = np.where(missing, 0, position[np.where(missing, 0, neighbours)]).astype(np.int32)
    tables = (table, couplings.astype(np.float32), model.fields[order].astype(np.float32))
    return order, position, tables


# --------------------------------------------------------------------------- padded path


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


def _sweep_chains(
    state,
    chain_ids,
    seed_words,
    record_betas,
    tail_betas,
    params,
    algorithm: str,
    path: str,
    blocks: tuple[int, ...],
):
    """Sweep the chains of one device with records: record_betas (R, E, C) then tail_betas
    (rest, C).

    chain_ids: (C,) uint32, each chain's number in the whole run (it keys the chain's random
    numbers); seed_words: (2,) uint32 (see `_seed_words`); path: "lattice", "blocks" or
    "padded"; blocks: the block path's block sizes. Returns final state, per-record
    (energy, spin sum) of shape (R, C), and the best recorded state per chain.
    """
    if path == "lattice":
        sweep, first_rng = partial(_lattice_sweep, params=params), _lattice_first_rng
    elif path == "blocks":
        sweep, first_rng = partial(_block_sweep, params=params, blocks=blocks), _block_first_rng
        state = (state, _block_energy(state, params))  # the energy travels with the spins
    else:
        sweep, first_rng = partial(_graph_sweep, params=params), _graph_first_rng
    sweep = partial(sweep, algorithm=algorithm)
    # The lattice and block paths observe a sweep at next to no cost (see their sweeps);
    # the padded path observes only each record's last sweep.
    every_sweep = path != "padded"
    n_records, every, n_chains = record_betas.shape
    keys = _chain_keys(seed_words, chain_ids)
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
        if every_sweep:
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
        one_sweep if every_sweep else unobserved_sweep, (state, rng, index), tail_pairs
    )
    if path == "blocks":
        state, best_state = state[0], best_state[0]
    return state, records, best_state


#: The mesh axis that chains are spread over.
CHAIN_AXIS = "chains"


@partial(jax.jit, static_argnames=("algorithm", "path", "blocks", "mesh"))
def _run_chains(
    state, chain_ids, seed_words, record_betas, tail_betas, params, algorithm, path, blocks, mesh
):
    """`_sweep_chains` with the chain axis split over `mesh` (a 1-D `Mesh` on CHAIN_AXIS):
    each device sweeps its own block of chains; no data moves between devices.

    Chain-indexed inputs and outputs are sharded on their chain axis, the rest replicated.
    """
    chains = P(CHAIN_AXIS)
    kernel = jax.shard_map(
        partial(_sweep_chains, algorithm=algorithm, path=path, blocks=blocks),
        mesh=mesh,
        in_specs=(chains, chains, P(), P(None, None, CHAIN_AXIS), P(None, CHAIN_AXIS), P()),
        out_specs=(chains, P(None, CHAIN_AXIS), chains),
        # Every value is per device (no collectives), so jax's replication tracking has
        # nothing to check, and it would reject the scans' constant initial carries.
        check_vma=False,
    )
    return kernel(state, chain_ids, seed_words, record_betas, tail_betas, params)


def _place(values: np.ndarray, mesh: Mesh, spec: P) -> jax.Array:
    """A host array as one global jax.Array laid out on `mesh` by `spec`.

    Every process holds the whole array (chains are seeded deterministically) and hands each
    of its own devices the slice that device owns, so this also works across hosts.
    """
    values = np.ascontiguousarray(values)
    sharding = NamedSharding(mesh, spec)
    return jax.make_array_from_callback(values.shape, sharding, lambda index: values[index])


def _fetch(array: jax.Array) -> np.ndarray:
    """A global jax.Array as one host array on every process (gathered across hosts)."""
    if array.is_fully_addressable:
        return np.asarray(array)
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(array, tiled=True))


def _uses_lattice_path(model: IsingModel) -> bool:
    lattice = model.lattice
    return (
        lattice is not None
        and lattice.periodic
        and lattice.length % 2 == 0
        and model.uniform_coupling is not None  # J = 0 (no stored couplings) counts as uniform
        and model.has_uniform_fields
    )


def _graph_params(model: IsingModel) -> tuple[np.ndarray, ...]:
    n = model.n_spins
    neighbours, couplings = model.neighbour_table()
    neighbours = np.vstack([neighbours, np.full((1, neighbours.shape[1]), n, np.int32)])
    couplings = np.vstack([couplings, np.zeros((1, couplings.shape[1]))]).astype(np.float32)
    fields = np.append(model.fields, 0.0).astype(np.float32)
    width = max(len(block) for block in model.colouring)
    block_index = np.full((len(model.colouring), width), n, dtype=np.int32)
    for c, block in enumerate(model.colouring):
        block_index[c, : len(block)] = block
    return (
        block_index,
        neighbours[block_index],
        couplings[block_index],
        fields[block_index],
        neighbours,
        couplings,
        fields,
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

    With several host devices (XLA_FLAGS=--xla_force_host_platform_device_count=N, N > 1)
    the client still starts and every thread still gets its CPUs back, but XLA:CPU splits the
    fusions again, whatever the affinity (measured at L = 256: 16 splits with 2 devices, 20
    with 4): its task pool then follows the device count, and jax offers no setting for it.
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


#: jax's monitoring events that time a kernel's preparation, one after the other: tracing,
#: lowering, and the backend compile (which includes loading it from the persistent cache).
_COMPILE_EVENTS = frozenset(
    {
        "/jax/core/compile/jaxpr_trace_duration",
        "/jax/core/compile/jaxpr_to_mlir_module_duration",
        "/jax/core/compile/backend_compile_duration",
    }
)
#: The CompileClock each thread is filling, if any (jax prepares a kernel in the calling thread).
_clocks = threading.local()


def _count_compile_time(event: str, seconds: float, **_: Any) -> None:
    clock = getattr(_clocks, "clock", None)
    if clock is not None and event in _COMPILE_EVENTS:
        clock.seconds += seconds


jax.monitoring.register_event_duration_secs_listener(_count_compile_time)


def _start_jax() -> list:
    """jax's devices, its client started as this backend wants it (cache, unsplit fusions)."""
    _use_persistent_compilation_cache()
    _start_jax_without_split_fusions()
    return jax.devices()


class JaxBackend(Backend):
    """jit-compiled sampler on jax (CPU here; GPU where jax finds one).

    devices: how many of `jax.devices()` the chains are spread over (None: all of them; after
    `jax.distributed.initialize` that is every device of every process). Chains are padded
    to a multiple of the device count with extra chains whose results are dropped, so any
    number of chains runs on any number of devices; a chain's results do not depend on it.
    """

    name = "jax"
    features = Capabilities(lattice_fast_path=True, array_type="jax.Array")

    def __init__(self, seed: int = 0, devices: int | None = None) -> None:
        super().__init__()
        available = _start_jax()
        if devices is None:
            devices = len(available)
        if isinstance(devices, bool) or not isinstance(devices, int | np.integer):
            raise ValueError(f"devices must be a whole number, got {devices!r}")
        if not 1 <= devices <= len(available):
            raise ValueError(
                f"devices must be from 1 to {len(available)} (the {available[0].platform} "
                f"devices jax sees here), got {devices}"
            )
        self._mesh = Mesh(np.array(available[: int(devices)]), (CHAIN_AXIS,))
        self._key = jax.random.key(seed)
        self._params: weakref.WeakKeyDictionary[IsingModel, Any] = weakref.WeakKeyDictionary()

    @property
    def device(self) -> str:
        devices = self._mesh.devices.ravel()
        if devices.size == 1:
            return str(devices[0])
        return f"{devices.size} {devices[0].platform} devices ({devices[0]} … {devices[-1]})"

    @property
    def device_count(self) -> int:
        return int(self._mesh.devices.size)

    @classmethod
    def local_device_count(cls) -> int:
        return len(_start_jax())

    @contextlib.contextmanager
    def compile_clock(self) -> Iterator[CompileClock]:
        clock, outer = CompileClock(), getattr(_clocks, "clock", None)
        _clocks.clock = clock
        try:
            yield clock
        finally:
            _clocks.clock = outer
            if outer is not None:  # a block inside another counts in both
                outer.seconds += clock.seconds

    @property
    def version(self) -> str:
        return jax.__version__

    def _next_key(self, seed: int | None) -> jax.Array:
        if seed is not None:
            return jax.random.key(seed)
        self._key, key = jax.random.split(self._key)
        return key

    def _model_params(self, model: IsingModel) -> tuple[str, tuple[int, ...], Any, Any]:
        """The model's path ("lattice", "blocks", "padded"), block sizes (block path),
        tables placed on the mesh, and the block path's (order, position) of the spins."""
        if model not in self._params:
            blocks: tuple[int, ...] = ()
            order = None  # the block path's (spin at each position, position of each spin)
            if _uses_lattice_path(model):
                path = "lattice"
                params = (np.float32(model.uniform_coupling), np.float32(model.fields[0]))
            elif len(model.colouring) <= MAX_UNROLLED_BLOCKS:
                path = "blocks"
                blocks = tuple(len(block) for block in model.colouring)
                spin_order, positions, params = _block_params(model)
                order = (spin_order, positions)
            else:
                path, params = "padded", _graph_params(model)
            placed = tuple(_place(np.asarray(part), self._mesh, P()) for part in params)
            self._params[model] = (path, blocks, placed, order)
        return self._params[model]

    def _run_sweeps(self, request: SweepRequest) -> SweepRecords:
        model, record_every, n_chains = request.model, request.record_every, request.n_chains
        n_records, _, _ = record_layout(request.n_sweeps, record_every)
        path, blocks, params, order = self._model_params(model)
        # Padding chains: copies of the first chains' starts and β, numbered after the real ones.
        padded = -(-n_chains // self.device_count) * self.device_count
        rows = np.arange(padded) % n_chains
        start, betas = request.start[rows], request.betas[:, rows].astype(np.float32)
        if path == "lattice":
            length = model.lattice.length
            state = tuple(_place(part, self._mesh, P(CHAIN_AXIS)) for part in _pack(start, length))
        elif path == "blocks":
            state = _place(start[:, order[0]], self._mesh, P(CHAIN_AXIS))
        else:
            start = np.hstack([start, np.ones((padded, 1), np.int8)])
            state = _place(start, self._mesh, P(CHAIN_AXIS))
        split = n_records * record_every
        record_betas = betas[:split].reshape(n_records, record_every, padded)
        final, (energies, spin_sums), best = _run_chains(
            state,
            _place(np.arange(padded, dtype=np.uint32), self._mesh, P(CHAIN_AXIS)),
            _place(_seed_words(request.seed), self._mesh, P()),
            _place(record_betas, self._mesh, P(None, None, CHAIN_AXIS)),
            _place(betas[split:], self._mesh, P(None, CHAIN_AXIS)),
            params,
            algorithm=request.algorithm,
            path=path,
            blocks=blocks,
            mesh=self._mesh,
        )
        real = slice(0, n_chains)
        if path == "lattice":
            final_states = _unpack(*(_fetch(part)[real] for part in final), length)
            best_states = _unpack(*(_fetch(part)[real] for part in best), length)
        elif path == "blocks":
            final_states = _fetch(final)[real][:, order[1]]
            best_states = _fetch(best)[real][:, order[1]]
        else:
            final_states = _fetch(final)[real, :-1]
            best_states = _fetch(best)[real, :-1]
        return SweepRecords(
            states=final_states,
            energies=_fetch(energies)[:, real].astype(np.float64),
            magnetizations=_fetch(spin_sums)[:, real].astype(np.float64) / model.n_spins,
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
