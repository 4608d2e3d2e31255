"""Child Pythons started by the tests get the network guard (this folder is first on PYTHONPATH).

Put there by the ``tests/netguard.py`` plugin. A ``sitecustomize`` this one hides (the interpreter's
own, later on ``sys.path``) still runs.
"""

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

import netguard_core

netguard_core.install()


def _run_the_hidden_sitecustomize() -> None:
    here = Path(__file__).resolve().parent
    rest = [p for p in sys.path if p and Path(p).resolve() != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None or spec.origin == __file__:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


_run_the_hidden_sitecustomize()
