"""Energy-based models that learn by sampling: the restricted Boltzmann machine.

- `model`: the immutable `RBM` (energy, free energy, conditionals) and its map to `IsingModel`.
- `sampling`: block Gibbs v → h → v, every p-bit drawn by a backend's counted `bernoulli`.
- `training`: CD-k, persistent CD and parallel-tempering negatives; SGD with momentum or Adam.
- `evaluation`: exact log Z (small layer enumerated), AIS, log-likelihood, pseudo-LL,
  reconstruction error, τ_int of the negative chains.
- `inference`: samples at any temperature, in-painting, classification by free energy.
- `data`: the offline digits, MNIST / Fashion-MNIST on request, validated uploads.
- `run`: one call from data and settings to a trained, evaluated model with its energy by kind.
- `launch`: that call as a job of `thermolab.jobs` (cap, queue, Stop, partial results).
- `store`: weights and metadata as an `.npz`, written and read back validated.
"""
