"""Clearing engines: NSGA-II (DEAP), the exact MILP reference (HiGHS) and merit order.

``problem`` holds what an engine is given and gives back; ``registry`` the engines by name;
``feasibility`` the plain-Python check every engine's answer passes; ``pricing`` what
requesters pay. ``groups`` and ``greedy`` are the engines' shared machinery.
"""
