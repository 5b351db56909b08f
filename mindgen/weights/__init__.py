"""Weight serialization for generated MindSpore models."""
