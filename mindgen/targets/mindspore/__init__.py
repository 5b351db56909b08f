"""The MindSpore target: mapper registry, mappers per op family, emission types."""
