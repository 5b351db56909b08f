"""Error figures between candidate and reference outputs, and the verdict at a tolerance."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Defaults when the user gives no tolerance: fp32 math, and a looser pair for half precision.
DEFAULT_RTOL, DEFAULT_ATOL = 1e-4, 1e-5
HALF_RTOL, HALF_ATOL = 1e-3, 1e-3


@dataclass(frozen=True)
class Tolerance:
    """Elementwise |candidate - reference| <= atol + rtol * |reference| (numpy.allclose)."""

    rtol: float
    atol: float

    def allows(self, candidate: np.ndarray, reference: np.ndarray) -> bool:
        return bool(np.allclose(candidate, reference, rtol=self.rtol, atol=self.atol, equal_nan=True))

    def text(self) -> str:
        return f"rtol {short_number(self.rtol)}, atol {short_number(self.atol)}"


def short_number(value: float) -> str:
    """1e-05 as '1e-5', 0.5 as '0.5': tolerances as people write them."""
    if value and float(f"{value:.0e}") == value and abs(value) < 1e-2:
        mantissa, exponent = f"{value:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:g}"


def tolerance_for(dtype: np.dtype, rtol: float | None, atol: float | None) -> Tolerance:
    """The user's tolerance, with defaults that suit the output's precision."""
    half = np.dtype(dtype) == np.float16
    return Tolerance(
        rtol if rtol is not None else (HALF_RTOL if half else DEFAULT_RTOL),
        atol if atol is not None else (HALF_ATOL if half else DEFAULT_ATOL),
    )


@dataclass
class OutputStats:
    """Error figures of one output in one mode, accumulated over the batches."""

    name: str
    mode: str
    tolerance: Tolerance
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    mean_abs_error: float = 0.0
    cosine_similarity: float = 1.0
    top1_agreement: float | None = None
    top5_agreement: float | None = None
    passed: bool = True
    problems: list[str] = field(default_factory=list)
    # Running sums behind the means; not part of the record.
    _abs_sum: float = 0.0
    _count: int = 0
    _rows: int = 0
    _top1: int = 0
    _top5: int = 0

    def add(self, candidate: np.ndarray, reference: np.ndarray) -> None:
        """Folds one batch into the figures; a shape, dtype or NaN difference fails the output."""
        candidate, reference = np.asarray(candidate), np.asarray(reference)
        if candidate.shape != reference.shape:
            self._fail(f"shape {candidate.shape} where the source gives {reference.shape}")
            return
        if candidate.dtype != reference.dtype:
            self._fail(f"dtype {candidate.dtype} where the source gives {reference.dtype}")
        got, want = candidate.astype(np.float64), reference.astype(np.float64)
        nan_got, nan_want = np.isnan(got), np.isnan(want)
        if (nan_got != nan_want).any():
            self._fail(f"{int((nan_got != nan_want).sum())} element(s) NaN in one result only")
        finite = np.isfinite(got) & np.isfinite(want)
        if ((np.isinf(got) | np.isinf(want)) & (got != want)).any():
            self._fail("infinite values differ")
        diff = np.abs(got - want)[finite]
        magnitude = np.abs(want)[finite]
        if diff.size:
            self.max_abs_error = max(self.max_abs_error, float(diff.max()))
            # Relative error only where the reference is larger than atol: near zero, atol governs.
            large = magnitude > max(self.tolerance.atol, np.finfo(np.float32).tiny)
            if large.any():
                self.max_rel_error = max(self.max_rel_error, float((diff[large] / magnitude[large]).max()))
            self._abs_sum += float(diff.sum())
            self._count += diff.size
            self.mean_abs_error = self._abs_sum / self._count
        self.cosine_similarity = min(self.cosine_similarity, cosine(got[finite], want[finite]))
        if is_classifier_shaped(reference):
            self._add_topk(got, want)
        if not self.tolerance.allows(candidate, reference):
            self.passed = False

    def _add_topk(self, got: np.ndarray, want: np.ndarray) -> None:
        self._rows += got.shape[0]
        self._top1 += int((got.argmax(axis=1) == want.argmax(axis=1)).sum())
        self.top1_agreement = self._top1 / self._rows
        if got.shape[1] > 5:
            top_got = np.sort(np.argsort(-got, axis=1, kind="stable")[:, :5], axis=1)
            top_want = np.sort(np.argsort(-want, axis=1, kind="stable")[:, :5], axis=1)
            self._top5 += int((top_got == top_want).all(axis=1).sum())
            self.top5_agreement = self._top5 / self._rows

    def _fail(self, problem: str) -> None:
        self.passed = False
        if problem not in self.problems:
            self.problems.append(problem)

    def fail(self, problem: str) -> None:
        """Marks the output failed for a reason found outside the numbers (the run raised)."""
        self._fail(problem)

    def to_json(self) -> dict[str, object]:
        # No figures for an output that was never compared (the network raised, shapes differ).
        measured = self._count > 0 or (self.passed and not self.problems)
        return {
            "name": self.name,
            "mode": self.mode,
            "rtol": self.tolerance.rtol,
            "atol": self.tolerance.atol,
            "max_abs_error": self.max_abs_error if measured else None,
            "max_rel_error": self.max_rel_error if measured else None,
            "mean_abs_error": self.mean_abs_error if measured else None,
            "cosine_similarity": self.cosine_similarity if measured else None,
            "top1_agreement": self.top1_agreement,
            "top5_agreement": self.top5_agreement,
            "passed": self.passed,
            "problems": list(self.problems),
        }


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two flattened arrays; 1 when both are zero, 0 when only one is."""
    a, b = a.ravel(), b.ravel()
    norms = float(np.linalg.norm(a)) * float(np.linalg.norm(b))
    if norms == 0.0:
        return 1.0 if not a.any() and not b.any() else 0.0
    return float(np.clip(np.dot(a, b) / norms, -1.0, 1.0))


def is_classifier_shaped(array: np.ndarray) -> bool:
    """(batch, classes) floating scores: where top-1/top-5 agreement means something."""
    return array.ndim == 2 and array.shape[1] >= 2 and np.issubdtype(array.dtype, np.floating)


def max_abs_difference(candidate: np.ndarray, reference: np.ndarray) -> float:
    """Largest elementwise difference (inf on a shape mismatch), NaNs in both places ignored."""
    candidate, reference = np.asarray(candidate), np.asarray(reference)
    if candidate.shape != reference.shape:
        return float("inf")
    diff = np.abs(candidate.astype(np.float64) - reference.astype(np.float64))
    diff = diff[~(np.isnan(candidate.astype(np.float64)) & np.isnan(reference.astype(np.float64)))]
    return float(np.nan_to_num(diff, nan=np.inf).max()) if diff.size else 0.0
