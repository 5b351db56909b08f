"""Turns mapped nodes into MindSpore source code."""
