"""The p = 1 landscape ⟨E⟩(γ, β): in closed form for unweighted MaxCut, else by simulation.

Closed form (Wang, Hadfield, Jiang & Rieffel, PRA 97, 022304 (2018), Theorem 1): for QAOA₁
with exp(−iγ_W C) exp(−iβ B) on |+⟩ⁿ and C = Σ_uv (1 − Z_u Z_v)/2, the edge uv contributes

    ⟨C_uv⟩ = ½ + ¼ sin 4β sin γ_W (cos^{d_u} γ_W + cos^{d_v} γ_W)
               − ¼ sin² 2β cos^{d_u + d_v − 2λ} γ_W (1 − cos^λ 2γ_W)

with d_u = deg u − 1, d_v = deg v − 1 and λ the number of triangles on the edge. ThermoLab's
circuit applies exp(−iγ H_C), H_C = w Σ Z_u Z_v = w(m − 2C) on a graph of uniform weight w, so
up to a global phase γ_W = −2wγ. No simulation: O(m) work per (γ, β) point.
"""

from __future__ import annotations

import numpy as np

from thermolab.problems import WeightedGraph
from thermolab.quantum.instance import QaoaInstance
from thermolab.quantum.simulator import QaoaSimulator

__all__ = [
    "closed_form_applies",
    "maxcut_p1_expected_cut",
    "p1_landscape",
    "simulated_p1_expected_energy",
]


def _uniform_weight(graph: WeightedGraph) -> float | None:
    weights = graph.weights
    if weights.size == 0 or not np.all(weights == weights[0]):
        return None
    return float(weights[0])


def closed_form_applies(instance: QaoaInstance) -> bool:
    """True for MaxCut on a graph whose edges all have the same weight."""
    return instance.graph is not None and _uniform_weight(instance.graph) is not None


def _edge_structure(graph: WeightedGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per edge: d_u = deg u − 1, d_v = deg v − 1, λ = triangles through the edge."""
    n = graph.n_nodes
    adjacency = np.zeros((n, n), dtype=np.int64)
    u, v = graph.edges[:, 0], graph.edges[:, 1]
    adjacency[u, v] = adjacency[v, u] = 1
    degree = adjacency.sum(axis=1)
    triangles = np.einsum("ek,ek->e", adjacency[u], adjacency[v])
    return degree[u] - 1, degree[v] - 1, triangles


def maxcut_p1_expected_cut(graph: WeightedGraph, gammas, betas) -> np.ndarray:
    """Expected cut of QAOA₁ at every (γ, β) in ThermoLab's convention, by the closed form.

    gammas, betas broadcast against each other (e.g. a grid from np.meshgrid); returns their
    broadcast shape, float64. The graph's edges must all have the same weight.
    """
    weight = _uniform_weight(graph)
    if weight is None:
        raise ValueError("the closed form holds for graphs whose edges all have the same weight")
    gamma_w = -2.0 * weight * np.asarray(gammas, dtype=np.float64)
    beta = np.asarray(betas, dtype=np.float64)
    gamma_w, beta = np.broadcast_arrays(gamma_w, beta)
    d_u, d_v, lam = _edge_structure(graph)
    cos_g, sin_g, cos_2g = np.cos(gamma_w), np.sin(gamma_w), np.cos(2 * gamma_w)
    sin_4b, sin2_2b = np.sin(4 * beta), np.sin(2 * beta) ** 2
    total = np.zeros(gamma_w.shape)
    # Edges with the same (d_u, d_v, λ) contribute the same term: evaluate each kind once.
    kinds, counts = np.unique(np.stack([d_u, d_v, lam], axis=1), axis=0, return_counts=True)
    for (du, dv, tri), count in zip(kinds.tolist(), counts.tolist(), strict=True):
        term = (
            0.5
            + 0.25 * sin_4b * sin_g * (cos_g**du + cos_g**dv)
            - 0.25 * sin2_2b * cos_g ** (du + dv - 2 * tri) * (1 - cos_2g**tri)
        )
        total += count * term
    return weight * total


def simulated_p1_expected_energy(instance: QaoaInstance, gammas, betas) -> np.ndarray:
    """⟨E⟩ of QAOA₁ at every (γ, β) (1-D arrays → grid (len γ, len β)), by ThermoLab's
    state-vector simulator (any instance)."""
    gammas = np.asarray(gammas, dtype=np.float64).reshape(-1)
    betas = np.asarray(betas, dtype=np.float64).reshape(-1)
    simulator = QaoaSimulator(instance.basis_energies, 1)
    return np.array([[simulator.energy([gamma, beta]) for beta in betas] for gamma in gammas])


def p1_landscape(instance: QaoaInstance, gammas, betas) -> tuple[np.ndarray, str]:
    """Grid of ⟨E⟩ over 1-D gammas × betas, shape (len γ, len β), and how it was computed
    ('closed form' or 'simulated')."""
    gammas = np.asarray(gammas, dtype=np.float64).reshape(-1)
    betas = np.asarray(betas, dtype=np.float64).reshape(-1)
    if closed_form_applies(instance):
        grid_g, grid_b = np.meshgrid(gammas, betas, indexing="ij")
        cut = maxcut_p1_expected_cut(instance.graph, grid_g, grid_b)
        return instance.graph.total_weight - 2 * cut, "closed form"
    return simulated_p1_expected_energy(instance, gammas, betas), "simulated"
