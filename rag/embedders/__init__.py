"""Text embedding backends."""
