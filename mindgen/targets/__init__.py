"""Target frameworks: each maps canonical-graph nodes onto its own constructs."""
