"""Bounds on what a model file may make mindgen allocate, checked before anything is allocated."""

from __future__ import annotations

import os
from collections.abc import Iterable

from mindgen.errors import InputError


def available_memory() -> int:
    """Bytes of memory the system can still hand out (MemAvailable; physical memory elsewhere)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 40


def element_count(dims: Iterable[int], what: str) -> int:
    """The number of elements of a declared shape (exact: no int64 overflow); negatives are errors."""
    count = 1
    sizes = [int(d) for d in dims]
    for size in sizes:
        if size < 0:
            raise InputError(f"{what} declares a negative dimension: shape {sizes}")
        count *= size
    return count


def check_fits_in_memory(nbytes: int, what: str) -> None:
    """Refuses a tensor larger than the memory left, before numpy tries (and fails) to allocate it."""
    available = available_memory()
    if nbytes > available:
        raise InputError(
            f"{what} declares {nbytes:,} bytes, more than the {available:,} bytes of memory available"
        )
