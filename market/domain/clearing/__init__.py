"""Clearing engines: NSGA-II (DEAP), the exact MILP reference (HiGHS) and merit order."""
