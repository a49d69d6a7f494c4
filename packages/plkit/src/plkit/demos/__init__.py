"""Small models and data for trying plkit out and for tests (``lightning.pytorch.demos``)."""
