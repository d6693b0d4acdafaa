"""A tiny third-party backend, found through the `thermolab.backends` entry-point group.

It reuses the numpy reference sampler and only renames it: what matters is the discovery.
"""

from thermolab.backends.numpy_backend import NumpyBackend


class DemoBackend(NumpyBackend):
    name = "demo"


class OfflineBackend(NumpyBackend):
    name = "offline"

    @classmethod
    def probe(cls) -> str | None:
        return "the demo chip is not connected"
