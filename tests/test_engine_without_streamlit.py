"""The engine imports no streamlit: every `thermolab` module imports in a fresh interpreter in
which `import streamlit` fails (Streamlit-specific code lives in `ui/`)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter: a finder refuses streamlit (and its submodules) before any
# import, then every module of the thermolab package is imported by name.
IMPORT_EVERYTHING_WITHOUT_STREAMLIT = """
import importlib, importlib.abc, pkgutil, sys

class NoStreamlit(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "streamlit" or name.startswith("streamlit."):
            raise ImportError(f"streamlit is blocked: {name}")
        return None

sys.meta_path.insert(0, NoStreamlit())
import thermolab
names = ["thermolab"] + [  # not __main__: importing it runs the command line
    module.name
    for module in pkgutil.walk_packages(thermolab.__path__, "thermolab.")
    if not module.name.endswith(".__main__")
]
for name in names:
    importlib.import_module(name)
assert not any(n == "streamlit" or n.startswith("streamlit.") for n in sys.modules)
print(len(names))
"""


def test_every_thermolab_module_imports_with_streamlit_blocked():
    environment = os.environ | {"PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING_WITHOUT_STREAMLIT],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[-1]) > 40  # the whole package was walked, not just its root


def test_the_blocker_itself_catches_a_streamlit_import():
    """The test above can fail: with the same finder, importing ui.session (which needs
    streamlit) is refused."""
    script = IMPORT_EVERYTHING_WITHOUT_STREAMLIT.split("import thermolab")[0] + (
        "import ui.session\nimport streamlit\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "streamlit is blocked" in done.stderr


def streamlit_imports(source: str) -> list[int]:
    """Lines of `source` that import streamlit, at any depth (a function's lazy import too)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name == "streamlit" or name.startswith("streamlit.") for name in names):
            lines.append(node.lineno)
    return lines


def test_no_thermolab_source_imports_streamlit_even_inside_a_function():
    """Importing every module (above) misses an import deferred into a function body."""
    assert streamlit_imports("def f():\n    from streamlit import runtime\n") == [2]
    found = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "thermolab").rglob("*.py"))
        if (lines := streamlit_imports(path.read_text(encoding="utf-8")))
    }
    assert found == {}
