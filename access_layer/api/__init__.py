"""HTTP face of the shared customer database (Platone A.5): registry, light nodes,
baselines and the per-participant reads."""
