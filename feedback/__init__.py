"""Interactions and the feedback on them: typed records, stores, statistics and export."""
