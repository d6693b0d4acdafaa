"""ThermoLab: an interactive lab for thermodynamic (probabilistic) computing in machine learning.

A thermodynamic sampling unit draws states s of binary (or one-hot) variables from the
Boltzmann distribution p(s) ∝ exp(−E(s)/T). This package simulates such samplers behind one
backend protocol (`thermolab.backends`: numpy, jax, torch, or a plug-in found by entry point),
builds the problems they solve (`thermolab.problems`), checks them against exact results
(`thermolab.exact`), and accounts for energy as measured, estimated or projected
(`thermolab.energy`). The Streamlit app (`streamlit run app.py`) and the command line
(`python -m thermolab`) are thin layers over it. Importing this package is cheap: jax, torch
and pennylane load only when a module that needs them is imported.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
