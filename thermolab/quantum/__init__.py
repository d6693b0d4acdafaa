"""QAOA on ThermoLab's `IsingModel`s, beside classical baselines on the same model.

Modules: `simulator` (the QAOA-specific state-vector simulator, device "thermolab", the
default), `hamiltonian` (cost and mixer operators for PennyLane devices), `instance` (what is
solved and how it is scored; edge-list and QUBO text parsers), `qaoa` (circuits on either
device, optimisation, sampling), `landscape` (p = 1 closed form and grids), `fixed_angles`
(published angles for 3-regular MaxCut), `baselines` (exact, annealing, tempering, random on
the same model), `experiment` (one run: solve + fixed angles + baselines, what the page and
the CLI call), `summary` (rows and JSON). PennyLane is imported only inside this package, and
only when a PennyLane circuit or operator is built.
"""

from thermolab.quantum.baselines import BaselineResult, run_baselines
from thermolab.quantum.experiment import (
    ExperimentResult,
    Progress,
    QaoaSettings,
    run_experiment,
)
from thermolab.quantum.fixed_angles import (
    FIXED_ANGLE_DEPTHS,
    FixedAngleResult,
    fixed_angle_applies,
    fixed_angle_ratio,
    fixed_angles,
    run_fixed_angles,
)
from thermolab.quantum.hamiltonian import (
    MAX_QUBITS,
    basis_spins,
    check_cost_hamiltonian,
    check_qubit_count,
    cost_hamiltonian,
    hamiltonian_diagonal,
    mixer_hamiltonian,
    state_vector_bytes,
)
from thermolab.quantum.instance import QaoaInstance, basis_energies, parse_edge_list, parse_qubo
from thermolab.quantum.landscape import (
    closed_form_applies,
    maxcut_p1_expected_cut,
    p1_landscape,
    simulated_p1_expected_energy,
)
from thermolab.quantum.qaoa import (
    DEFAULT_DEVICE,
    LayerResult,
    OptimisationResult,
    QaoaCircuit,
    energy_scale,
    interp_init,
    make_circuit,
    optimise,
    ramp_init,
    sample_states,
    solve,
)
from thermolab.quantum.simulator import DEVICE_NAME, QaoaSimulator, simulator_bytes
from thermolab.quantum.summary import comparison_rows, results_json, sampled_objectives


def load_pennylane() -> str:
    """Import PennyLane (slow, seconds) and return its version; pages call this once, cached."""
    import pennylane

    return pennylane.__version__


__all__ = [
    "DEFAULT_DEVICE",
    "DEVICE_NAME",
    "FIXED_ANGLE_DEPTHS",
    "MAX_QUBITS",
    "BaselineResult",
    "ExperimentResult",
    "FixedAngleResult",
    "LayerResult",
    "OptimisationResult",
    "Progress",
    "QaoaCircuit",
    "QaoaInstance",
    "QaoaSettings",
    "QaoaSimulator",
    "basis_energies",
    "basis_spins",
    "check_cost_hamiltonian",
    "check_qubit_count",
    "closed_form_applies",
    "comparison_rows",
    "cost_hamiltonian",
    "energy_scale",
    "fixed_angle_applies",
    "fixed_angle_ratio",
    "fixed_angles",
    "hamiltonian_diagonal",
    "interp_init",
    "load_pennylane",
    "make_circuit",
    "maxcut_p1_expected_cut",
    "mixer_hamiltonian",
    "optimise",
    "p1_landscape",
    "parse_edge_list",
    "parse_qubo",
    "ramp_init",
    "results_json",
    "run_baselines",
    "run_experiment",
    "run_fixed_angles",
    "sample_states",
    "sampled_objectives",
    "simulated_p1_expected_energy",
    "simulator_bytes",
    "solve",
    "state_vector_bytes",
]
