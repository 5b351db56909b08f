"""Which function translates which TensorFlow op: one registry, filled by a decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mindgen.frontends.tensorflow.context import NodeContext

Translator = Callable[["NodeContext"], None]


class Untranslatable(Exception):
    """A translator's refusal of one variant of its op; the node is kept as a 'tf' placeholder."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TranslatorRegistry:
    """TF op type -> translator; registering an op twice is a bug."""

    def __init__(self) -> None:
        self._table: dict[str, Translator] = {}

    def register(self, *op_types: str) -> Callable[[Translator], Translator]:
        def decorate(fn: Translator) -> Translator:
            for op_type in op_types:
                if op_type in self._table:
                    raise ValueError(f"TF op {op_type} is translated twice")
                self._table[op_type] = fn
            return fn

        return decorate

    def lookup(self, op_type: str) -> Translator | None:
        return self._table.get(op_type)

    def op_types(self) -> list[str]:
        return sorted(self._table)


TRANSLATORS = TranslatorRegistry()
translates = TRANSLATORS.register
