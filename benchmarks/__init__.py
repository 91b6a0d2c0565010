"""`make bench`: timings that compare the course code with PyTorch, measured in one run."""
