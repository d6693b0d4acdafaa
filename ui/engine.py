"""How a page reaches the engine's heavy modules (torch, PennyLane): imported on first use,
behind a spinner, once per server process (Python keeps them in sys.modules), so a page's
first paint never waits for them."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable
from types import SimpleNamespace

import streamlit as st

__all__ = ["lazy_engine"]


def _resolve(target: str) -> object:
    """'package.module' → the module; 'package.module:NAME' → that module's NAME."""
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def lazy_engine(spinner: str, **targets: str) -> Callable[[], SimpleNamespace]:
    """A loader for a page: `engine = lazy_engine("Loading…", viz="thermolab.viz.x", ...)`,
    then `engine().viz`. Each target is 'module' or 'module:NAME'; the spinner shows only
    while a module is imported for the first time."""

    def engine() -> SimpleNamespace:
        first = any(t.partition(":")[0] not in sys.modules for t in targets.values())
        with st.spinner(spinner) if first else contextlib.nullcontext():
            return SimpleNamespace(**{name: _resolve(t) for name, t in targets.items()})

    return engine
