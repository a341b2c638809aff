"""Second-stage re-rankers over the fused candidates."""
