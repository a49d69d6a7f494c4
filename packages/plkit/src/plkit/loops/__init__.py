"""The loops: fit (epochs), training (batches and optimization), evaluation, prediction."""
