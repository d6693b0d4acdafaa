"""The one problem object every page passes around: an immutable Ising model.

Convention (used everywhere in ThermoLab, k_B = 1):

    spins  s_i ∈ {−1, +1}
    energy E(s) = −Σ_{i<j} J_ij s_i s_j − Σ_i h_i s_i
    Boltzmann p(s) ∝ exp(−E(s) / T) = exp(−β E(s))

So J_ij > 0 is ferromagnetic (aligned spins lower the energy) and h_i > 0 favours s_i = +1.
The couplings are stored as a symmetric sparse matrix with a zero diagonal, so that
E(s) = −½ sᵀ J s − hᵀ s.

Besides the Ising constructors, this module holds weighted graphs (for MaxCut) and the exact
MaxCut ↔ Ising and QUBO ↔ Ising maps, with their constant offsets.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

__all__ = [
    "GRAPH_FAMILIES",
    "MODEL_FAMILIES",
    "IsingModel",
    "ProblemFamily",
    "SquareLattice",
    "WeightedGraph",
    "build_graph",
    "build_model",
    "check_memory",
    "cut_values",
    "erdos_renyi",
    "erdos_renyi_graph",
    "family_by_label",
    "ising_from_graph",
    "ising_to_qubo",
    "maxcut_to_ising",
    "memory_budget_bytes",
    "qubo_energies",
    "qubo_to_ising",
    "random_regular",
    "random_regular_graph",
    "ring",
    "ring_graph",
    "sherrington_kirkpatrick",
    "square_lattice",
]

# A model whose arrays would take more than this share of physical memory is refused.
_MEMORY_SHARE = 0.25
_BYTES_PER_NONZERO = 8 + 4  # float64 value + int32 column index in CSR


def _memory_budget_bytes() -> int:
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        physical = 8 * 2**30
    return int(_MEMORY_SHARE * physical)


def memory_budget_bytes() -> int:
    """The most memory (bytes) one model or one sampling call may ask for: a share of RAM."""
    return _memory_budget_bytes()


def check_memory(needed_bytes: float, what: str, advice: str) -> None:
    """Refuse (ValueError, one line) work that would need more than `memory_budget_bytes()`.

    what: the request in words ("this sampling call"); advice: what to ask for instead.
    """
    budget = memory_budget_bytes()
    if needed_bytes > budget:
        raise ValueError(
            f"{what} needs about {needed_bytes / 2**30:.1f} GiB, more than the "
            f"{budget / 2**30:.1f} GiB allowed ({_MEMORY_SHARE:.0%} of this machine's memory): "
            f"{advice}"
        )


def _check_size(n_spins: int, n_nonzeros: int) -> None:
    """Refuse a model before allocating it when it would not fit in memory."""
    if n_spins <= 0:
        raise ValueError(f"the number of spins must be positive, got {n_spins}")
    needed = n_nonzeros * _BYTES_PER_NONZERO + n_spins * 64
    budget = _memory_budget_bytes()
    if needed > budget:
        raise ValueError(
            f"a model with {n_spins} spins and {n_nonzeros} couplings needs about "
            f"{needed / 2**30:.1f} GiB, more than the {budget / 2**30:.1f} GiB allowed "
            f"({_MEMORY_SHARE:.0%} of this machine's memory)"
        )


def _require_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _require_finite(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


@dataclass(frozen=True)
class SquareLattice:
    """Geometry of an L × L square lattice; spin (row, col) has index row · L + col."""

    length: int
    periodic: bool


@dataclass(frozen=True, eq=False)
class IsingModel:
    """An Ising model on n spins (see the module docstring for the sign convention).

    Attributes:
        couplings: J, shape (n, n), scipy CSR, symmetric, zero diagonal, finite.
        fields: h, shape (n,), float64, finite.
        colouring: independent sets partitioning range(n) (no coupling inside a set), the
            blocks that block Gibbs updates at once. Computed greedily when not given.
        lattice: the square-lattice geometry when the model is one (for drawing and for the
            samplers' checkerboard fast path), else None.
        name: a short human-readable description.
    """

    couplings: sp.csr_array
    fields: np.ndarray
    colouring: tuple[np.ndarray, ...] = field(default=())
    lattice: SquareLattice | None = None
    name: str = "Ising model"

    def __post_init__(self) -> None:
        couplings = sp.csr_array(self.couplings, dtype=np.float64)
        fields = np.array(self.fields, dtype=np.float64).reshape(-1)
        if couplings.ndim != 2 or couplings.shape[0] != couplings.shape[1]:
            raise ValueError(f"couplings must be a square matrix, got shape {couplings.shape}")
        n = couplings.shape[0]
        _check_size(n, couplings.nnz)
        if fields.shape != (n,):
            raise ValueError(f"fields must have shape ({n},), got {np.shape(self.fields)}")
        if not np.all(np.isfinite(couplings.data)):
            raise ValueError("couplings contain NaN or infinite values")
        if not np.all(np.isfinite(fields)):
            raise ValueError("fields contain NaN or infinite values")
        with np.errstate(over="ignore"):
            scale = np.abs(couplings.data).sum() / 2 + np.abs(fields).sum()
        if not np.isfinite(scale):
            raise ValueError(
                "couplings and fields are too large: energies (up to Σ|J| + Σ|h|) are not "
                "finite in double precision; scale the problem down"
            )
        couplings.eliminate_zeros()
        couplings.sort_indices()
        if np.any(couplings.diagonal() != 0):
            raise ValueError("couplings must have a zero diagonal (no self-interaction)")
        asymmetry = abs(couplings - couplings.T)
        scale = max(1.0, float(abs(couplings).max()) if couplings.nnz else 1.0)
        if asymmetry.nnz and float(asymmetry.max()) > 1e-12 * scale:
            raise ValueError("couplings must be symmetric (J_ij == J_ji)")
        colouring = (
            tuple(np.asarray(block, dtype=np.int64) for block in self.colouring)
            if self.colouring
            else _greedy_colouring(couplings)
        )
        _check_colouring(couplings, colouring)
        couplings.data.flags.writeable = False
        fields.flags.writeable = False
        for block in colouring:
            block.flags.writeable = False
        object.__setattr__(self, "couplings", couplings)
        object.__setattr__(self, "fields", fields)
        object.__setattr__(self, "colouring", colouring)
        if self.lattice is not None and self.lattice.length**2 != n:
            raise ValueError(f"lattice of length {self.lattice.length} does not hold {n} spins")

    @property
    def n_spins(self) -> int:
        return self.couplings.shape[0]

    @property
    def n_edges(self) -> int:
        """Number of nonzero couplings J_ij with i < j."""
        return self.couplings.nnz // 2

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Coupled pairs (i < j) and their couplings: int64 array (m, 2) and float64 (m,)."""
        upper = sp.triu(self.couplings, k=1, format="coo")
        return np.stack([upper.row, upper.col], axis=1).astype(np.int64), upper.data.copy()

    def neighbour_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Padded neighbour lists: indices (n, d_max) int32 and couplings (n, d_max) float64.

        Missing neighbours point at index n (one past the last spin) with coupling 0, so a
        sampler that keeps a dummy spin in slot n can gather without masks.
        """
        degrees = np.diff(self.couplings.indptr)
        d_max = max(int(degrees.max(initial=0)), 1)
        n = self.n_spins
        indices = np.full((n, d_max), n, dtype=np.int32)
        weights = np.zeros((n, d_max), dtype=np.float64)
        rows = np.repeat(np.arange(n), degrees)
        slots = np.arange(self.couplings.nnz) - np.repeat(self.couplings.indptr[:-1], degrees)
        indices[rows, slots] = self.couplings.indices
        weights[rows, slots] = self.couplings.data
        return indices, weights

    @property
    def has_uniform_fields(self) -> bool:
        return bool(np.all(self.fields == self.fields[0]))

    @property
    def uniform_coupling(self) -> float | None:
        """The one value every stored coupling has (0.0 when there are none), else None."""
        data = self.couplings.data
        if data.size == 0:
            return 0.0
        return float(data[0]) if bool(np.all(data == data[0])) else None


def _greedy_colouring(couplings: sp.csr_array) -> tuple[np.ndarray, ...]:
    """Largest-degree-first greedy colouring: a few colours for sparse graphs, n for dense."""
    n = couplings.shape[0]
    indptr, indices = couplings.indptr, couplings.indices
    order = np.argsort(-np.diff(indptr), kind="stable")
    colour = np.full(n, -1, dtype=np.int64)
    for vertex in order:
        taken = set(colour[indices[indptr[vertex] : indptr[vertex + 1]]].tolist())
        c = 0
        while c in taken:
            c += 1
        colour[vertex] = c
    return tuple(np.flatnonzero(colour == c) for c in range(int(colour.max()) + 1))


def _check_colouring(couplings: sp.csr_array, colouring: tuple[np.ndarray, ...]) -> None:
    n = couplings.shape[0]
    label = np.full(n, -1, dtype=np.int64)
    for c, block in enumerate(colouring):
        if block.ndim != 1 or np.any((block < 0) | (block >= n)) or np.any(label[block] >= 0):
            raise ValueError("colouring must partition the spins into disjoint index sets")
        label[block] = c
    if np.any(label < 0):
        raise ValueError("colouring must cover every spin")
    coo = couplings.tocoo()
    if np.any(label[coo.row] == label[coo.col]):
        raise ValueError("colouring puts two coupled spins in the same block")


# --------------------------------------------------------------------------- weighted graphs


@dataclass(frozen=True, eq=False)
class WeightedGraph:
    """An undirected weighted graph on n nodes: edges (m, 2) int64 with i < j, weights (m,)."""

    n_nodes: int
    edges: np.ndarray
    weights: np.ndarray
    name: str = "graph"

    def __post_init__(self) -> None:
        n = _require_int("n_nodes", self.n_nodes, 1)
        edges = np.asarray(self.edges, dtype=np.int64).reshape(-1, 2)
        weights = np.asarray(self.weights, dtype=np.float64).reshape(-1)
        if weights.shape[0] != edges.shape[0]:
            raise ValueError(f"{edges.shape[0]} edges but {weights.shape[0]} weights")
        if not np.all(np.isfinite(weights)):
            raise ValueError("edge weights contain NaN or infinite values")
        if edges.size and (edges.min() < 0 or edges.max() >= n):
            raise ValueError(f"edge endpoints must lie in 0..{n - 1}")
        if np.any(edges[:, 0] == edges[:, 1]):
            raise ValueError("self-loops are not allowed")
        edges = np.sort(edges, axis=1)
        if len(np.unique(edges, axis=0)) != len(edges):
            raise ValueError("an edge appears twice")
        _check_size(n, 2 * len(edges))
        object.__setattr__(self, "n_nodes", n)
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "weights", weights)

    @property
    def total_weight(self) -> float:
        return float(self.weights.sum())


def ring_graph(n_nodes: int) -> WeightedGraph:
    """Cycle graph 0–1–…–(n−1)–0 with unit weights (n ≥ 3)."""
    n = _require_int("n_nodes", n_nodes, 3)
    nodes = np.arange(n)
    return WeightedGraph(n, np.stack([nodes, (nodes + 1) % n], axis=1), np.ones(n), f"ring n={n}")


def random_regular_graph(n_nodes: int, degree: int, seed: int = 0) -> WeightedGraph:
    """Uniformly random d-regular simple graph with unit weights (networkx's generator)."""
    import networkx as nx

    n = _require_int("n_nodes", n_nodes, 1)
    d = _require_int("degree", degree, 1)
    if d >= n:
        raise ValueError(f"degree must be less than the number of nodes ({d} >= {n})")
    if (n * d) % 2:
        raise ValueError(f"degree × nodes must be even for a regular graph, got {d} × {n}")
    _check_size(n, n * d)
    graph = nx.random_regular_graph(d, n, seed=seed)
    edges = np.array(sorted(graph.edges()), dtype=np.int64).reshape(-1, 2)
    return WeightedGraph(n, edges, np.ones(len(edges)), f"random {d}-regular n={n}")


def erdos_renyi_graph(n_nodes: int, edge_probability: float, seed: int = 0) -> WeightedGraph:
    """G(n, p): each of the n(n−1)/2 pairs is an edge with probability p, unit weights."""
    n = _require_int("n_nodes", n_nodes, 1)
    p = _require_finite("edge_probability", edge_probability)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"edge_probability must lie in [0, 1], got {p}")
    _check_size(n, int(p * n * (n - 1)))
    rng = np.random.default_rng(seed)
    rows, cols = np.triu_indices(n, k=1)
    keep = rng.random(rows.size) < p
    edges = np.stack([rows[keep], cols[keep]], axis=1)
    return WeightedGraph(n, edges, np.ones(len(edges)), f"Erdős–Rényi n={n} p={p:g}")


def _symmetric_from_edges(n: int, edges: np.ndarray, values: np.ndarray) -> sp.csr_array:
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    return sp.csr_array((np.concatenate([values, values]), (rows, cols)), shape=(n, n))


def ising_from_graph(
    graph: WeightedGraph,
    coupling: float = 1.0,
    field: float = 0.0,
    spin_glass: bool = False,
    seed: int = 0,
) -> IsingModel:
    """Ising model on a graph's edges: J_ij = coupling · w_ij (random ± signs if spin_glass)."""
    coupling = _require_finite("coupling", coupling)
    field = _require_finite("field", field)
    values = coupling * graph.weights
    if spin_glass:
        values = values * np.random.default_rng(seed).choice([-1.0, 1.0], size=values.size)
    couplings = _symmetric_from_edges(graph.n_nodes, graph.edges, values)
    return IsingModel(couplings, np.full(graph.n_nodes, field), name=graph.name)


# --------------------------------------------------------------------------- Ising constructors


def square_lattice(
    length: int, coupling: float = 1.0, field: float = 0.0, periodic: bool = True
) -> IsingModel:
    """L × L square lattice with nearest-neighbour coupling J and uniform field h.

    Spin (row, col) has index row · L + col. Periodic lattices need L ≥ 3 (so that no pair
    of spins is coupled twice); open ones L ≥ 2.
    """
    length = _require_int("length", length, 3 if periodic else 2)
    coupling = _require_finite("coupling", coupling)
    field = _require_finite("field", field)
    n = length * length
    _check_size(n, 4 * n)
    index = np.arange(n).reshape(length, length)
    if periodic:
        right = np.stack([index.ravel(), np.roll(index, -1, axis=1).ravel()], axis=1)
        down = np.stack([index.ravel(), np.roll(index, -1, axis=0).ravel()], axis=1)
    else:
        right = np.stack([index[:, :-1].ravel(), index[:, 1:].ravel()], axis=1)
        down = np.stack([index[:-1, :].ravel(), index[1:, :].ravel()], axis=1)
    edges = np.concatenate([right, down])
    couplings = _symmetric_from_edges(n, edges, np.full(len(edges), coupling))
    parity = (index // length + index % length).ravel() % 2
    colouring: tuple[np.ndarray, ...] = ()
    if not periodic or length % 2 == 0:
        colouring = (np.flatnonzero(parity == 0), np.flatnonzero(parity == 1))
    kind = "periodic" if periodic else "open"
    return IsingModel(
        couplings,
        np.full(n, field),
        colouring=colouring,
        lattice=SquareLattice(length, periodic),
        name=f"{length}×{length} square lattice ({kind}, J={coupling:g}, h={field:g})",
    )


def ring(n_spins: int, coupling: float = 1.0, field: float = 0.0) -> IsingModel:
    """1D periodic chain of n ≥ 3 spins."""
    return ising_from_graph(ring_graph(n_spins), coupling=coupling, field=field)


def random_regular(
    n_spins: int,
    degree: int = 3,
    coupling: float = 1.0,
    field: float = 0.0,
    spin_glass: bool = False,
    seed: int = 0,
) -> IsingModel:
    """Ising model on a random d-regular graph (±J spin glass if spin_glass)."""
    graph = random_regular_graph(n_spins, degree, seed=seed)
    return ising_from_graph(graph, coupling, field, spin_glass=spin_glass, seed=seed)


def erdos_renyi(
    n_spins: int,
    edge_probability: float,
    coupling: float = 1.0,
    field: float = 0.0,
    spin_glass: bool = False,
    seed: int = 0,
) -> IsingModel:
    """Ising model on a G(n, p) random graph (±J spin glass if spin_glass)."""
    graph = erdos_renyi_graph(n_spins, edge_probability, seed=seed)
    return ising_from_graph(graph, coupling, field, spin_glass=spin_glass, seed=seed)


def sherrington_kirkpatrick(n_spins: int, seed: int = 0, field: float = 0.0) -> IsingModel:
    """Sherrington–Kirkpatrick spin glass: all pairs coupled, J_ij ~ N(0, 1/n)."""
    n = _require_int("n_spins", n_spins, 2)
    field = _require_finite("field", field)
    _check_size(n, n * (n - 1))
    rng = np.random.default_rng(seed)
    rows, cols = np.triu_indices(n, k=1)
    values = rng.normal(0.0, 1.0 / np.sqrt(n), size=rows.size)
    couplings = _symmetric_from_edges(n, np.stack([rows, cols], axis=1), values)
    return IsingModel(couplings, np.full(n, field), name=f"Sherrington–Kirkpatrick n={n}")


# --------------------------------------------------------------------------- MaxCut and QUBO


def maxcut_to_ising(graph: WeightedGraph) -> IsingModel:
    """The Ising model whose energy is E(s) = W − 2·cut(s), W the total edge weight.

    With J_ij = −w_ij and h = 0, E(s) = Σ w_ij s_i s_j and cut(s) = Σ w_ij (1 − s_i s_j)/2,
    so cut(s) = (W − E(s)) / 2: the ground states are the maximum cuts. Spin +1 is side 1.
    """
    couplings = _symmetric_from_edges(graph.n_nodes, graph.edges, -graph.weights)
    return IsingModel(couplings, np.zeros(graph.n_nodes), name=f"MaxCut of {graph.name}")


def cut_values(graph: WeightedGraph, states: np.ndarray) -> np.ndarray:
    """Cut weight of each state: states (..., n) of ±1 → (...,) float64."""
    states = np.asarray(states)
    if states.shape[-1] != graph.n_nodes:
        raise ValueError(f"states have {states.shape[-1]} spins, the graph {graph.n_nodes} nodes")
    left = states[..., graph.edges[:, 0]]
    right = states[..., graph.edges[:, 1]]
    return ((left != right) * graph.weights).sum(axis=-1).astype(np.float64)


def _as_qubo_matrix(qubo: np.ndarray) -> np.ndarray:
    matrix = np.asarray(qubo, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"a QUBO must be a non-empty square matrix, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("the QUBO matrix contains NaN or infinite values")
    with np.errstate(over="ignore"):
        if not np.isfinite(np.abs(matrix).sum()):
            raise ValueError(
                "the QUBO's entries are too large: xᵀQx (up to Σ|Q_ij|) is not finite in "
                "double precision; scale the matrix down"
            )
    return matrix


def qubo_energies(qubo: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """QUBO objective xᵀ Q x of each bit vector: bits (..., n) in {0, 1} → (...,) float64."""
    matrix = _as_qubo_matrix(qubo)
    x = np.asarray(bits, dtype=np.float64)
    return np.einsum("...i,ij,...j->...", x, matrix, x)


def qubo_to_ising(qubo: np.ndarray) -> tuple[IsingModel, float]:
    """Map min xᵀ Q x over x ∈ {0,1}ⁿ to an Ising model with x_i = (1 + s_i)/2.

    Returns (model, offset) with xᵀ Q x = E(s) + offset exactly, for every state. Q need not be
    symmetric; only Q + Qᵀ matters off the diagonal.
    """
    matrix = _as_qubo_matrix(qubo)
    diagonal = np.diag(matrix).copy()
    symmetric = (matrix + matrix.T) / 2
    np.fill_diagonal(symmetric, 0.0)
    couplings = -symmetric / 2
    fields = -(diagonal + symmetric.sum(axis=1)) / 2
    offset = float(diagonal.sum() / 2 + np.triu(symmetric, k=1).sum() / 2)
    model = IsingModel(sp.csr_array(couplings), fields, name=f"QUBO n={len(diagonal)}")
    return model, offset


def ising_to_qubo(model: IsingModel) -> tuple[np.ndarray, float]:
    """Map an Ising model to a symmetric QUBO with s_i = 2 x_i − 1.

    Returns (Q, offset) with E(s) = xᵀ Q x + offset exactly, for every state.
    """
    couplings = model.couplings.toarray()
    qubo = -2.0 * couplings
    np.fill_diagonal(qubo, 2.0 * couplings.sum(axis=1) - 2.0 * model.fields)
    offset = float(-np.triu(couplings, k=1).sum() + model.fields.sum())
    return qubo, offset


# --------------------------------------------------------------------------- problem families


@dataclass(frozen=True)
class ProblemFamily:
    """A family of problems offered by name (the CLI's --graph) and label (what pages show).

    parameters: the keyword options `build` reads besides the size n (spins or nodes), from
        degree, edge_probability, seed, coupling, field, spin_glass.
    build(n, **options): a `WeightedGraph` (in GRAPH_FAMILIES) or an `IsingModel` (in
        MODEL_FAMILIES); options it does not read are ignored.
    """

    name: str
    label: str
    parameters: tuple[str, ...]
    build: Callable[..., WeightedGraph | IsingModel]


def _lattice_of(n: int, coupling: float = 1.0, field: float = 0.0, **_: object) -> IsingModel:
    length = math.isqrt(n)
    if length * length != n:
        raise ValueError(f"a square lattice needs a square number of spins, got {n}")
    return square_lattice(length, coupling, field)


# Graphs (for MaxCut and for Ising models on their edges). Labels name the default degree.
GRAPH_FAMILIES: dict[str, ProblemFamily] = {
    family.name: family
    for family in (
        ProblemFamily("ring", "ring", (), lambda n, **_: ring_graph(n)),
        ProblemFamily(
            "regular",
            "random 3-regular",
            ("degree", "seed"),
            lambda n, degree=3, seed=0, **_: random_regular_graph(n, degree, seed=seed),
        ),
        ProblemFamily(
            "er",
            "Erdős–Rényi",
            ("edge_probability", "seed"),
            lambda n, edge_probability=0.5, seed=0, **_: erdos_renyi_graph(
                n, edge_probability, seed
            ),
        ),
    )
}

# The options the Ising model on a graph's edges reads (the seed: the spin glass's signs).
_ON_EDGES = ("coupling", "field", "spin_glass", "seed")


def _on_graph(family: ProblemFamily) -> ProblemFamily:
    """The Ising family on `family`'s graphs: J_ij = coupling · w_ij, uniform field."""

    def build(n, coupling=1.0, field=0.0, spin_glass=False, seed=0, **options):
        graph = family.build(n, seed=seed, **options)
        return ising_from_graph(graph, coupling, field, spin_glass=spin_glass, seed=seed)

    parameters = tuple(dict.fromkeys((*family.parameters, *_ON_EDGES)))  # each once, in order
    return ProblemFamily(family.name, family.label, parameters, build)


# Ising models, in the order the CLI lists them.
MODEL_FAMILIES: dict[str, ProblemFamily] = {
    family.name: family
    for family in (
        ProblemFamily(
            "sk",
            "Sherrington–Kirkpatrick",
            ("seed", "field"),
            lambda n, seed=0, field=0.0, **_: sherrington_kirkpatrick(n, seed=seed, field=field),
        ),
        _on_graph(GRAPH_FAMILIES["regular"]),
        _on_graph(GRAPH_FAMILIES["er"]),
        _on_graph(GRAPH_FAMILIES["ring"]),
        ProblemFamily("lattice", "square lattice", ("coupling", "field"), _lattice_of),
    )
}


def _family(families: dict[str, ProblemFamily], name: str) -> ProblemFamily:
    if name not in families:
        raise ValueError(f"unknown problem family {name!r}; choose one of {', '.join(families)}")
    return families[name]


def build_graph(name: str, n_nodes: int, **options: object) -> WeightedGraph:
    """A graph of the family called `name` (a key of GRAPH_FAMILIES) with n_nodes nodes."""
    return _family(GRAPH_FAMILIES, name).build(n_nodes, **options)


def build_model(name: str, n_spins: int, **options: object) -> IsingModel:
    """An Ising model of the family called `name` (a key of MODEL_FAMILIES) on n_spins spins."""
    return _family(MODEL_FAMILIES, name).build(n_spins, **options)


def family_by_label(families: dict[str, ProblemFamily], label: str) -> ProblemFamily:
    """The family a page shows as `label`."""
    for family in families.values():
        if family.label == label:
            return family
    raise ValueError(f"no problem family is labelled {label!r}")
