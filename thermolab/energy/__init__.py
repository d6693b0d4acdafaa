"""Energy accounting: which meters this machine has, and what each number on screen is.

Every energy number is one of three kinds, never mixed: *measured* (a sensor read it: NVML on
NVIDIA GPUs, RAPL on CPUs), *estimated* (a labelled power model where no sensor exists), or
*projected* (counted p-bit operations × a cited per-operation energy on thermodynamic hardware).
"""

from thermolab.energy.probe import MeterStatus, probe_meters

__all__ = ["MeterStatus", "probe_meters"]
