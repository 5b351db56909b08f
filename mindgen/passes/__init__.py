"""Graph clean-up passes, run in the order PIPELINE lists."""
