"""Defers importing sympy, which onnx_ir imports at start-up but mindgen rarely needs."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types


class _DeferredModule(types.ModuleType):
    """Stands in sys.modules for a module until one of its attributes is first read."""

    def __getattr__(self, attribute: str) -> object:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        # Later reads through names bound to this stand-in find the real attributes directly.
        self.__dict__.update(real.__dict__)
        return getattr(real, attribute)


def defer_import(name: str) -> None:
    """Registers a stand-in that imports the module on its first attribute access."""
    if name in sys.modules:
        return
    # find_spec of a submodule would import its package; check the top-level name only.
    if importlib.util.find_spec(name.partition(".")[0]) is None:
        return
    stand_in = _DeferredModule(name)
    # A real __spec__ attribute: `import name` checks it and must not trigger the import.
    stand_in.__spec__ = None
    sys.modules[name] = stand_in


# onnx_ir imports sympy (about 0.7 s warm, 2 s cold), and its expression parser reads
# sympy at import, only for arithmetic on symbolic dimensions, which mindgen's conversion
# path does not do; the first use loads both in full.
defer_import("sympy")
defer_import("onnx_ir._symbolic_shapes")
