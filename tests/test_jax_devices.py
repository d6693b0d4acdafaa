"""The jax backend on several devices: chains are sharded, sample the right distribution, and
give the same results on any device count.

jax fixes its device count when it starts, so the checks run in one fresh process started with
XLA_FLAGS=--xla_force_host_platform_device_count=4 (four simulated CPU devices), which prints
what it found as JSON. Chi-square thresholds as in tests/test_backends.py: p-value floor 1e-3.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
P_VALUE_FLOOR = 1e-3
FORCED_DEVICES = 4

_CHECKS = """
import hashlib, json
import jax
import numpy as np
from thermolab import diagnostics, exact, problems
from thermolab.backends import jax_backend
from thermolab.backends.jax_backend import JaxBackend

report = {"devices": len(jax.devices())}

# Chi-square of final states of 4000 short chains (1000 per device) against enumeration: the
# lattice fast path (4 x 4 periodic), the general path with a field, a frustrated model.
models = {
    "lattice 4x4": (problems.square_lattice(4), 2.5),
    "ferro ring + field": (problems.ring(10, coupling=1.0, field=0.3), 1.5),
    "SK + field": (problems.sherrington_kirkpatrick(10, seed=4, field=0.2), 1.0),
}
backend = JaxBackend(devices=4)
report["chi_square"] = {}
for name, (model, temperature) in models.items():
    for algorithm in ("gibbs", "metropolis"):
        states = backend.sample_ising(
            model, 1.0 / temperature, n_sweeps=100, n_chains=4000, algorithm=algorithm,
            seed=11, record_every=100,
        ).states
        counts = np.bincount(exact.state_indices(states), minlength=2**model.n_spins)
        right = exact.enumerate_model(model, temperature).probabilities
        wrong = exact.enumerate_model(model, 2 * temperature).probabilities
        report["chi_square"][f"{name} {algorithm}"] = {
            "p_value": diagnostics.chi_square_test(counts, right)[2],
            "p_value_wrong_temperature": diagnostics.chi_square_test(counts, wrong)[2],
        }

# What the kernel is handed and hands back: 6 chains padded to 8, two per device.
seen = []
kernel = jax_backend._run_chains


def spy(state, chain_ids, *args, **kwargs):
    out = kernel(state, chain_ids, *args, **kwargs)
    for label, arrays in (("state", state), ("chain_ids", chain_ids), ("final", out[0])):
        for array in jax.tree.leaves(arrays):
            shards = array.addressable_shards
            seen.append({
                "what": label,
                "spec": list(array.sharding.spec),
                "devices": sorted(shard.device.id for shard in shards),
                "shard_shapes": sorted({tuple(shard.data.shape) for shard in shards}),
                "shard_chains": [np.asarray(shard.data).tolist() for shard in shards]
                if label == "chain_ids" else None,
            })
    return out


jax_backend._run_chains = spy
backend.sample_ising(problems.square_lattice(8), 0.4, n_sweeps=3, n_chains=6, seed=1)
backend.sample_ising(problems.ring(12), 0.4, n_sweeps=3, n_chains=6, seed=1)
jax_backend._run_chains = kernel
report["placement"] = seen

# The same seed on 1, 2 and 4 devices: digests of everything a result holds.
def digest(result):
    parts = (result.states, result.energies, result.magnetizations, result.best_states)
    return hashlib.sha256(b"".join(np.ascontiguousarray(p).tobytes() for p in parts)).hexdigest()


cases = {
    "lattice": problems.square_lattice(8, coupling=0.7, field=-0.2),
    "graph": problems.random_regular(30, 3, seed=1),
}
report["digests"] = {}
for name, model in cases.items():
    for algorithm in ("gibbs", "metropolis"):
        report["digests"][f"{name} {algorithm}"] = {
            str(count): digest(JaxBackend(devices=count).sample_ising(
                model, 0.45, n_sweeps=40, n_chains=5, algorithm=algorithm, seed=7, record_every=4
            ))
            for count in (1, 2, 4)
        }
report["other_seed"] = digest(JaxBackend(devices=4).sample_ising(
    cases["lattice"], 0.45, n_sweeps=40, n_chains=5, seed=8, record_every=4
))
print(json.dumps(report))
"""


def _forced_env(devices: int = FORCED_DEVICES) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
    }


@pytest.fixture(scope="module")
def report() -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _CHECKS],
        env=_forced_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_the_process_sees_four_devices(report):
    assert report["devices"] == FORCED_DEVICES


def test_distributions_match_enumeration_on_four_devices(report):
    for case, result in report["chi_square"].items():
        assert result["p_value"] > P_VALUE_FLOOR, case
        # The same counts against twice the temperature must be rejected: the test can fail.
        assert result["p_value_wrong_temperature"] < 1e-6, case


def test_chains_are_sharded_over_the_devices(report):
    placed = report["placement"]
    assert {entry["what"] for entry in placed} == {"state", "chain_ids", "final"}
    for entry in placed:
        assert entry["spec"] == ["chains"], entry
        assert entry["devices"] == list(range(FORCED_DEVICES)), entry
        # 6 chains padded to 8: two chains on each device, along the leading axis.
        assert all(shape[0] == 2 for shape in entry["shard_shapes"]), entry
        assert len(entry["shard_shapes"]) == 1, entry
    numbers = [entry["shard_chains"] for entry in placed if entry["what"] == "chain_ids"]
    assert numbers[0] == [[0, 1], [2, 3], [4, 5], [6, 7]]


def test_a_seed_gives_the_same_results_on_any_device_count(report):
    for case, digests in report["digests"].items():
        assert len(set(digests.values())) == 1, (case, digests)
    assert report["other_seed"] != report["digests"]["lattice gibbs"]["1"]


def _cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "thermolab", *arguments],
        env=_forced_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_devices_option():
    done = _cli(
        "ising", "--lattice", "8", "--temperature", "2.5", "--sweeps", "20", "--burn-in", "0",
        "--chains", "3", "--devices", "2", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["devices"] == 2
    anneal = _cli("anneal", "--graph", "ring", "--nodes", "8", "--sweeps", "20", "--json")
    assert json.loads(anneal.stdout)["devices"] == FORCED_DEVICES  # all of them by default
    for arguments, message in (
        (("--devices", "9"), "devices must be from 1 to 4"),
        (("--backend", "numpy", "--devices", "2"), "numpy backend does not take --devices"),
    ):
        bad = _cli("ising", "--lattice", "8", "--temperature", "2.5", *arguments)
        assert bad.returncode == 2
        assert message in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


# Two processes of two devices each, joined by jax.distributed on this machine as two hosts
# would be: every process gets every chain's results, the same as one process with four devices.
_PROCESS = """
import hashlib, json, sys
import jax
jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU processes gather by gloo
jax.distributed.initialize(sys.argv[1], num_processes=int(sys.argv[2]), process_id=int(sys.argv[3]))
import numpy as np
from thermolab import problems
from thermolab.backends.jax_backend import JaxBackend
model = problems.square_lattice(8, coupling=0.7, field=-0.2)  # as "lattice gibbs" above
result = JaxBackend().sample_ising(model, 0.45, n_sweeps=40, n_chains=5, seed=7, record_every=4)
parts = (result.states, result.energies, result.magnetizations, result.best_states)
digest = hashlib.sha256(b"".join(np.ascontiguousarray(p).tobytes() for p in parts)).hexdigest()
counts = {"global": jax.device_count(), "local": jax.local_device_count()}
print(json.dumps({**counts, "digest": digest}))
"""


def test_two_processes_sample_as_one(report):
    with socket.socket() as probe:  # a free port for the coordinator
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    env = {**_forced_env(devices=2), "THERMOLAB_JAX_CACHE": "off"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS, address, "2", str(rank)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(2)
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-3000:]
    for stdout, _ in outputs:
        seen = json.loads(stdout.strip().splitlines()[-1])
        assert (seen["global"], seen["local"]) == (4, 2)
        assert seen["digest"] == report["digests"]["lattice gibbs"]["4"]
