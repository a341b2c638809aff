"""Turning files into indexed chunks: per-format loaders, chunking, the incremental ingestor."""
