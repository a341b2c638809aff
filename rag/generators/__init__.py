"""Answer-model backends."""
