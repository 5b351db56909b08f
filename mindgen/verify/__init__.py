"""Checks a conversion: the generated network against the source model, node by node if asked."""

from mindgen.verify.run import Options, VerificationResult, run_verification, verify

__all__ = ["Options", "VerificationResult", "run_verification", "verify"]
