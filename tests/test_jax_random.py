"""The jax backend's counter-based random numbers: the cipher, and what a chain's draws use."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
from jax.extend.random import threefry_2x32

from thermolab import exact, problems
from thermolab.backends import jax_backend
from thermolab.backends.jax_backend import JaxBackend

REPO = Path(__file__).resolve().parent.parent


def test_threefry_matches_jax_reference():
    rng = np.random.default_rng(0)
    key = rng.integers(0, 2**32, size=2, dtype=np.uint32)
    count = rng.integers(0, 2**32, size=(2, 1000), dtype=np.uint32)
    expected = threefry_2x32(jnp.asarray(key), jnp.asarray(count.ravel()))
    words = jax_backend._threefry2x32(
        (jnp.uint32(key[0]), jnp.uint32(key[1])), (jnp.asarray(count[0]), jnp.asarray(count[1]))
    )
    # jax's reference ciphers the first half of its input with the second as the pair.
    np.testing.assert_array_equal(np.concatenate([np.asarray(w) for w in words]), expected)


def test_seed_words_cover_64_bit_seeds():
    assert jax_backend._seed_words(5).tolist() == [0, 5]
    assert jax_backend._seed_words(2**40 + 3).tolist() == [2**8, 3]
    assert jax_backend._seed_words(-1).tolist() == [2**32 - 1, 2**32 - 1]


@pytest.mark.parametrize(
    "model",
    [problems.square_lattice(8), problems.random_regular(30, 3, seed=1)],
    ids=["lattice", "graph"],
)
@pytest.mark.parametrize("algorithm", ["gibbs", "metropolis"])
def test_a_chains_draws_do_not_depend_on_the_other_chains(model, algorithm):
    # Each chain's numbers are keyed by (seed, chain), so chain 0 runs the same with 1 or 3
    # chains beside it (initial states are drawn row by row from the seed as well).
    backend = JaxBackend()
    alone = backend.sample_ising(model, 0.4, n_sweeps=30, n_chains=1, seed=7, algorithm=algorithm)
    among = backend.sample_ising(model, 0.4, n_sweeps=30, n_chains=3, seed=7, algorithm=algorithm)
    np.testing.assert_array_equal(alone.energies[:, 0], among.energies[:, 0])
    np.testing.assert_array_equal(alone.states[0], among.states[0])
    # ... while the chains themselves differ, and so does another seed.
    assert not np.array_equal(among.energies[:, 0], among.energies[:, 1])
    other = backend.sample_ising(model, 0.4, n_sweeps=30, n_chains=1, seed=8, algorithm=algorithm)
    assert not np.array_equal(other.energies[:, 0], alone.energies[:, 0])


def test_records_every_sweep_and_sparse_records_agree():
    # The recorded energy at sweep 6 is the same whether every sweep or every 3rd is recorded.
    model = problems.square_lattice(6, coupling=0.7, field=-0.3)
    backend = JaxBackend()
    dense = backend.sample_ising(model, 0.5, n_sweeps=7, n_chains=2, seed=2)
    sparse = backend.sample_ising(model, 0.5, n_sweeps=7, n_chains=2, seed=2, record_every=3)
    np.testing.assert_allclose(sparse.energies, dense.energies[[2, 5]], rtol=1e-6)
    np.testing.assert_array_equal(sparse.states, dense.states)


_PARTITION_PROBE = """
import json, os
import jax
import jax.numpy as jnp
from thermolab import problems
from thermolab.backends.jax_backend import JaxBackend, _run_chains
backend = JaxBackend()
_, _, params, _ = backend._model_params(problems.square_lattice(256))
state = tuple(jnp.zeros((1, 256, 128), jnp.int8) for _ in range(2))
text = _run_chains.lower(
    state, jnp.zeros(1, jnp.uint32), jnp.zeros(2, jnp.uint32), jnp.full((4, 1, 1), 0.4),
    jnp.zeros((0, 1)), params, algorithm="gibbs", path="lattice", blocks=(), mesh=backend._mesh,
).compile().as_text()
threads = {int(t): sorted(os.sched_getaffinity(int(t))) for t in os.listdir("/proc/self/task")}
print(json.dumps({"split": text.count("outer_dimension_partitions"), "threads": threads}))
"""


def _probe_partitions(split: str) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "THERMOLAB_JAX_CACHE": "off",  # a cached kernel keeps the split it was compiled with
        "THERMOLAB_JAX_SPLIT_FUSIONS": split,
    }
    done = subprocess.run(
        [sys.executable, "-c", _PARTITION_PROBE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux and at least two CPUs",
)
def test_kernels_compile_unsplit_and_threads_keep_their_cpus():
    # XLA:CPU splits large fusions over the CPUs seen when jax starts; the backend starts jax
    # for one CPU, so its kernels are not split, and then every thread gets its CPUs back.
    allowed = sorted(os.sched_getaffinity(0))
    unsplit = _probe_partitions("off")
    assert unsplit["split"] == 0
    assert all(cpus == allowed for cpus in unsplit["threads"].values())
    assert _probe_partitions("on")["split"] > 0


def _gaussian_graph_model() -> problems.IsingModel:
    """A random 3-regular graph (few colours: the block path) with Gaussian couplings and
    fields, so no energy is an integer and float32 rounding of summed ΔE would show."""
    graph = problems.random_regular_graph(300, 3, seed=2)
    rng = np.random.default_rng(5)
    values = rng.normal(size=len(graph.edges))
    rows = np.concatenate([graph.edges[:, 0], graph.edges[:, 1]])
    columns = np.concatenate([graph.edges[:, 1], graph.edges[:, 0]])
    couplings = sp.csr_array((np.tile(values, 2), (rows, columns)), shape=(300, 300))
    return problems.IsingModel(couplings, rng.normal(scale=0.3, size=300))


@pytest.mark.parametrize("algorithm", ["gibbs", "metropolis"])
@pytest.mark.parametrize("n_sweeps", [20, 128, 150])
def test_recorded_energy_is_the_final_states_energy_on_graphs(algorithm, n_sweeps):
    # The block path carries the energy from sweep to sweep (summed ΔE), recomputing it from
    # every edge once per ENERGY_RESYNC_SWEEPS sweeps: 20 and 150 end between two
    # recomputations, 128 on one. Each record must be the energy of the state at that sweep;
    # the last is checked against the final states in float64. Tolerance: float32 rounding
    # of sums of ~10³ terms of size ~1, plus up to 63 sweeps of summed ΔE: 1e-3 absolute
    # (|E| ~ 300); a wrong ΔE misses by O(1).
    model = _gaussian_graph_model()
    assert len(model.colouring) <= jax_backend.MAX_UNROLLED_BLOCKS  # the block path
    result = JaxBackend().sample_ising(
        model, 0.7, n_sweeps=n_sweeps, n_chains=3, seed=4, algorithm=algorithm
    )
    np.testing.assert_allclose(result.energies[-1], exact.energy(model, result.states), atol=1e-3)
    spin_sums = result.states.sum(axis=1) / model.n_spins
    np.testing.assert_allclose(result.magnetizations[-1], spin_sums, atol=1e-12)
    np.testing.assert_allclose(result.best_energies, exact.energy(model, result.best_states))


@pytest.mark.parametrize("degree", [3, 8, 40])
def test_local_fields_have_the_same_bits_for_one_chain_and_many(degree):
    # One chain sums its neighbours slot by slot, several chains contract: with non-integer
    # couplings the two must still round alike, or a chain's draws would depend on how many
    # chains share its device (one chain alone against the same chain among 4 or 16).
    rng = np.random.default_rng(degree)
    couplings = jnp.asarray(rng.normal(size=(2000, degree)), jnp.float32)
    one = jnp.asarray(rng.choice([-1.0, 1.0], size=(1, 2000, degree)), jnp.float32)
    alone = jax.jit(jax_backend._weighted_sum)(one, couplings)
    for chains in (4, 16):
        among = jax.jit(jax_backend._weighted_sum)(jnp.tile(one, (chains, 1, 1)), couplings)
        np.testing.assert_array_equal(np.asarray(among), np.tile(np.asarray(alone), (chains, 1)))
