"""Fixed-angle QAOA for MaxCut on 3-regular graphs: published angles, no optimiser.

Source: J. Wurtz and D. Lykov, "The fixed angle conjecture for QAOA on regular MaxCut graphs",
Phys. Rev. A 104, 052419 (2021), arXiv:2107.00677; the angles and ratios below are the "3"
entries of `angles_regular_graphs.json` in github.com/danlkv/fixed-angle-QAOA (commit 0f89c98).
The ratio of each depth p is the cut fraction ⟨C⟩ / |E| these angles give on any 3-regular graph
whose edges' depth-p neighbourhoods are trees (girth > 2p + 1); the conjecture is that on every
3-regular graph they give at least that ratio ⟨C⟩ / max cut.

Their convention: |γ, β⟩ = Π_k exp(−iβ_k B) exp(−iγ_k C) |+⟩ⁿ with C = Σ_⟨ij⟩ (1 − Z_i Z_j) / 2
and B = Σ X_i; the file lists (γ_1..γ_p, β_1..β_p), some shifted by periods. Ours applies
exp(−iγ H_C) with H_C = E = w Σ Z_i Z_j = w(|E| − 2C) for edge weight w, so γ_ours = −γ / (2w)
up to a global phase, and β is the same. Two exact symmetries of 3-regular MaxCut bring each
listed angle to its canonical range: shifting γ_k by π multiplies the state by Z^{⊗n} (every
degree is odd), which is the same as flipping the sign of β_k..β_p; and β_k has period π/2 (the
shift is X^{⊗n}, which commutes with everything). Conjugation, (γ, β) → (−γ, −β), then makes
γ_ours positive, the sign of our linear-ramp start. `tests/test_qaoa_fixed_angles.py` checks
that the canonical and listed angles give the same ⟨C⟩, and that the tree ratios come back to
1e-7 (the file's angles are rounded to 8 digits) on the Heawood graph (girth 6: p ≤ 2).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from thermolab.quantum.instance import QaoaInstance

__all__ = [
    "FIXED_ANGLE_DEPTHS",
    "FixedAngleResult",
    "fixed_angle_applies",
    "fixed_angle_ratio",
    "fixed_angles",
    "published_angles",
    "run_fixed_angles",
]

# p: ((γ_1..γ_p), (β_1..β_p)) as published, and the cut fraction on tree-like 3-regular graphs
_PUBLISHED: dict[int, tuple[tuple[float, ...], tuple[float, ...], float]] = {
    1: ((-2.526112630848722,), (1.178096198604872,), 0.69245005020442),
    2: ((-2.6537053, -5.38542672), (1.01604087, 1.27853893), 0.7559063097485101),
    3: (
        (0.41787832, 0.79214776, 0.93232948),
        (0.60032889, 0.45241986, 0.23511412),
        0.792315514902161,
    ),
    4: (
        (0.40718406, 0.77873346, 0.97786102, 1.14390016),
        (0.59413038, 0.44061878, 0.31250151, 0.16312574),
        0.8167299894216052,
    ),
    5: (
        (-0.3592396, -3.84770284, -3.96376046, -1.003988, -4.29516192),
        (0.93905843, 0.52261397, 1.18051168, 1.29460152, 1.72013775),
        0.8363793482380077,
    ),
    6: (
        (-0.33146716, -3.78674896, -7.01448834, -0.83674612, -4.1513686, -4.26841648),
        (0.93509952, 0.53407238, 2.0337603, 0.35987601, 1.31228924, 0.13888416),
        0.8498938819897202,
    ),
    7: (
        (0.3075471, 0.62011806, 0.7006096, 0.76412924, 0.86567754, 1.03551756, 1.1258363),
        (0.64806401, 0.55839915, 0.5007673, 0.45132269, 0.33452177, 0.23544465, 0.12965313),
        0.859619124021074,
    ),
    8: (
        (
            0.30221036,
            0.60130604,
            0.6597921,
            0.7115199,
            0.77304704,
            0.86802418,
            1.02383154,
            1.10452208,
        ),
        (
            0.65650754,
            0.56238557,
            0.49776919,
            0.46996502,
            0.41361734,
            0.31031851,
            0.22814776,
            0.12058734,
        ),
        0.8672299758118122,
    ),
    9: (
        (
            0.2794012,
            0.56613324,
            0.6312226,
            0.67933252,
            0.72624066,
            0.76805642,
            0.874522,
            1.03747092,
            1.11798666,
        ),
        (
            0.65447387,
            0.56186397,
            0.5090114,
            0.48677629,
            0.45143509,
            0.40321108,
            0.30473032,
            0.21983296,
            0.11718174,
        ),
        0.8723780358122347,
    ),
    10: (
        (
            0.26671636,
            0.5448227,
            0.60998102,
            0.65626008,
            0.69570836,
            0.7287574,
            0.77387758,
            0.88211138,
            1.043801,
            1.11525922,
        ),
        (
            0.65558354,
            0.56318149,
            0.51388817,
            0.49558422,
            0.46889487,
            0.43574328,
            0.38847067,
            0.29117619,
            0.21050905,
            0.11238794,
        ),
        0.8785275447411593,
    ),
    11: (
        (
            0.2572874,
            0.52804058,
            0.59177096,
            0.6396915,
            0.67720562,
            0.70206146,
            0.73702426,
            0.7753075,
            0.88355874,
            1.04697026,
            1.11523772,
        ),
        (
            0.65643879,
            0.56334713,
            0.51630143,
            0.50366825,
            0.481823,
            0.45601256,
            0.42143463,
            0.37077327,
            0.27645017,
            0.20094698,
            0.1072507,
        ),
        0.8828425408436951,
    ),
}
FIXED_ANGLE_DEPTHS = tuple(sorted(_PUBLISHED))


def _check_depth(p: int) -> int:
    if p not in _PUBLISHED:
        raise ValueError(
            f"fixed angles are published for p = {FIXED_ANGLE_DEPTHS[0]}…"
            f"{FIXED_ANGLE_DEPTHS[-1]}, not p = {p!r}"
        )
    return int(p)


def published_angles(p: int) -> np.ndarray:
    """(γ_1..γ_p, β_1..β_p) exactly as the source lists them (their convention): (2p,)."""
    gammas, betas, _ = _PUBLISHED[_check_depth(p)]
    return np.array(gammas + betas)


def fixed_angle_ratio(p: int) -> float:
    """The published ratio at depth p (cut fraction on tree-like 3-regular graphs)."""
    return _PUBLISHED[_check_depth(p)][2]


def fixed_angles(p: int, weight: float = 1.0) -> np.ndarray:
    """The published angles at depth p in ThermoLab's convention for MaxCut with all edge
    weights equal to `weight`: x = (γ_1..γ_p, β_1..β_p), (2p,), γ_k > 0 (module docstring)."""
    angles = published_angles(p)
    gammas, betas = angles[:p].copy(), angles[p:].copy()
    for k in range(p):
        shifts = np.round(gammas[k] / np.pi)  # γ_k ∈ [−π/2, π/2] after the shift
        gammas[k] -= shifts * np.pi
        if int(shifts) % 2:
            betas[k:] = -betas[k:]
    betas = (betas + np.pi / 4) % (np.pi / 2) - np.pi / 4  # β ∈ [−π/4, π/4)
    gammas, betas = -gammas / (2 * weight), betas  # their C → our H_C
    if gammas[0] < 0:  # conjugation: the same ⟨C⟩
        gammas, betas = -gammas, -betas
    return np.concatenate([gammas, betas])


def fixed_angle_applies(instance: QaoaInstance) -> bool:
    """True for MaxCut on a 3-regular graph whose edges all have the same positive weight."""
    graph = instance.graph
    if graph is None or len(graph.edges) == 0:
        return False
    degrees = np.bincount(graph.edges.reshape(-1), minlength=graph.n_nodes)
    weights = graph.weights
    return bool(np.all(degrees == 3) and weights[0] > 0 and np.all(weights == weights[0]))


@dataclass(frozen=True)
class FixedAngleResult:
    """QAOA at depth p with the published angles (no optimisation) on one instance."""

    p: int
    gammas: np.ndarray
    betas: np.ndarray
    mean_energy: float
    ratio: float  # ⟨cut⟩ / max cut on this instance
    published_ratio: float  # the source's tree-graph cut fraction at this p
    expected_cut: float
    optimal_probability: float  # probability of measuring a maximum cut
    seconds: float


def run_fixed_angles(instance: QaoaInstance, depths, circuit_for) -> list[FixedAngleResult]:
    """Evaluate the published angles at each depth in `depths` (those the source covers).

    circuit_for(p) returns a circuit with `probabilities(x)` (e.g. `qaoa.make_circuit`), so
    any device evaluates them. Raises ValueError unless `fixed_angle_applies(instance)`.
    """
    if not fixed_angle_applies(instance):
        raise ValueError("fixed angles are published for MaxCut on unweighted 3-regular graphs")
    weight = float(instance.graph.weights[0])
    results = []
    for p in depths:
        if p not in _PUBLISHED:
            continue
        start = time.perf_counter()
        x = fixed_angles(p, weight)
        probabilities = circuit_for(p).probabilities(x)
        energy = float(probabilities @ instance.basis_energies)
        results.append(
            FixedAngleResult(
                p=p,
                gammas=x[:p],
                betas=x[p:],
                mean_energy=float(energy),
                ratio=float(instance.ratio(energy)),
                published_ratio=fixed_angle_ratio(p),
                expected_cut=float(instance.cut_from_energy(energy)),
                optimal_probability=float(probabilities[instance.optimal_mask].sum()),
                seconds=time.perf_counter() - start,
            )
        )
    return results
