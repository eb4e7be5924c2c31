"""Baseline of the start-up benchmark: only list the erpsync.apps entry points, nothing else."""

import importlib.metadata

for ep in importlib.metadata.entry_points(group="erpsync.apps"):
    print(ep.name, ep.value)
