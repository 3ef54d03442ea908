"""Model backends: the `Backend` interface (torch-free) and its implementations."""
