"""Retrieval-augmented answering: ingestion, embeddings, stores, generators, the answer pipeline."""
