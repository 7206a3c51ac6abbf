"""NSGA-II clearing (DEAP): minimise cost, unserved quantity and delivery risk per group,
choose one point of each group's front by a policy, and combine the groups' fronts into the
session's (MARKET_RULES.md "Clearing").

A genome is a vector of priority keys, one per eligible (offer unit, need) pair of a group;
decoding walks the pairs in key order and gives each what still fits (``greedy.decode``),
so every genome is feasible by construction. Roles are ordered by the keys, not forced by
the decoder: seeds put every DSO pair before every TSO pair, and mutation may move a TSO
pair ahead. Forcing DSO first in the decoder would make some exact optima unreachable (a
DSO request should take only part of an offer that a TSO request needs too, and the rest
from an offer only it can use); DSO priority is kept by the choice policy instead, which
ranks unserved DSO quantity first and is held elitist across generations.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from deap import base, tools

from market.domain.clearing.errors import ClearingError
from market.domain.clearing.greedy import Decoded, decode
from market.domain.clearing.groups import Group, flatten
from market.domain.clearing.local_search import SlotSearch
from market.domain.clearing.problem import (
    QUANTITY_TOLERANCE,
    ClearingProblem,
    ClearingResult,
    Objectives,
    PricingRule,
)
from market.domain.clearing.solution import awards_of, finish, require_pricing

CHOICES = ("least_unserved", "least_cost")
FRONT_POINTS = 20  # the session's front is kept at most this long
_RELATIVE = 1e-9  # objective values closer than this (relative) are equal


class _Fitness(base.Fitness):
    weights = (-1.0, -1.0, -1.0)  # cost, unserved, risk: all minimised


class _Individual:
    """A genome (keys over a group's pairs) and what it decodes to."""

    __slots__ = ("_amounts", "decoded", "fitness", "keys")

    def __init__(self, keys: np.ndarray, decoded: Decoded) -> None:
        self.keys = keys
        self.decoded = decoded
        self.fitness = _Fitness((decoded.cost_eur, decoded.unserved, decoded.risk))
        self._amounts: np.ndarray | None = None

    def amounts(self, n: int) -> np.ndarray:
        """Per pair: the kW it carries."""
        if self._amounts is None:
            amounts = np.zeros(n)
            if self.decoded.allocations:
                index, quantity = zip(*self.decoded.allocations, strict=True)
                amounts[list(index)] = quantity
            self._amounts = amounts
        return self._amounts


Point = tuple[float, float, float, float]  # cost, unserved, risk, unserved_dso


def _point(d: Decoded) -> Point:
    return (d.cost_eur, d.unserved, d.risk, d.unserved_dso)


def _choice_key(choice: str) -> Callable[[Point], tuple[float, ...]]:
    if choice == "least_cost":
        return lambda p: (p[0], p[3], p[1], p[2])
    return lambda p: (p[3], p[1], p[0], p[2])


def _before(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """``a`` strictly before ``b`` lexicographically, equal up to ``_RELATIVE``."""
    for x, y in zip(a, b, strict=True):
        if abs(x - y) > _RELATIVE * (1.0 + abs(x) + abs(y)):
            return x < y
    return False


def _normalised(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


@dataclass
class _Outcome:
    """One group's answer: the chosen solution and the front it came from."""

    chosen: Decoded
    front: list[Point]  # non-dominated points found, the chosen one first
    evaluations: int
    generations: int


class _Topology:
    """Where a mutation acts: the need slots' segments of pairs (pairs are ordered by need
    slot, so each need slot's pairs are contiguous), and the pairs sharing an offer slot."""

    def __init__(self, g: Group) -> None:
        n = g.size
        starts = np.flatnonzero(np.r_[True, g.need[1:] != g.need[:-1]])
        self.seg_start, self.seg_end = starts, np.r_[starts[1:], n]
        self.needs = len(starts)
        self.need_of = g.need
        by_slot = np.argsort(g.slot, kind="stable")
        slot_sorted = g.slot[by_slot]
        self.by_slot = by_slot
        self.slot_start = np.searchsorted(slot_sorted, g.slot, side="left")
        self.slot_end = np.searchsorted(slot_sorted, g.slot, side="right")
        self.shared = np.flatnonzero(self.slot_end - self.slot_start > 1)
        # Local rules a segment may be re-sorted by (MARKET_RULES.md objectives).
        price, risk = _normalised(g.price), _normalised(g.risk)
        aon = g.aon.astype(float)
        self.rules = (price, price - aon, price + aon, (price + risk) / 2, risk)
        self.price = g.price
        self.slot_qty = g.slot_qty[g.slot]  # per pair: its offer slot's kW


class Nsga2:
    """NSGA-II over (cost, unserved, risk) per group, with DEAP's ``selNSGA2``.

    The population is seeded with merit order and variants (price within role, price and
    risk weighted, risk first, roles interleaved, offers shared with a TSO request last
    for DSO requests, all-or-nothing steps first or last) and their offspring. Offspring
    come from crowded binary tournaments, a crossover taking each need slot's keys from
    either parent (the objectives are nearly separable by need slot, so good choices for
    different slots combine), and mutations aimed where the parent falls short: move a
    pair left out of a short need slot to the front, move an awarded pair back, swap who
    gets a shared offer first, re-sort a need slot's pairs by another rule, nudge a key.
    A group stops early when neither the best value of any objective nor the chosen point
    improved for ``patience`` generations. The chosen point then gets a local search
    (the memetic step, ``local_search.SlotSearch``: exchanges and need-slot refills that
    single decodes rarely find), and in small groups first every move of one pair to
    another place in the order. A group with one need slot and no all-or-nothing step is
    solved by weighted greedy orders, which are exact for it.

    Args:
        population: individuals per group (at most; small groups use fewer).
        generations: generations per group at most.
        seed: the random seed: the same seed gives the same result.
        patience: generations without improvement before a group stops.
        choice: ``"least_unserved"`` (least unserved DSO quantity, then least unserved,
            then least cost, then least risk) or ``"least_cost"`` (least cost first).
        crossover: probability that a child is a crossover of two parents.
        local_search: moves the final local search may evaluate per group.
        polish_pairs: groups with at most this many pairs also try every single move of
            a pair to another place in the order.
    """

    name = "nsga2"
    version = "1"

    def __init__(self, *, population: int = 32, generations: int = 40, seed: int = 1,
                 patience: int = 8, choice: str = "least_unserved", crossover: float = 0.9,
                 local_search: int = 5000, polish_pairs: int = 16) -> None:
        if population < 4:
            raise ClearingError(f"population must be at least 4, not {population}")
        if generations < 0 or patience < 1 or local_search < 0:
            raise ClearingError("generations and local_search must be >= 0, patience >= 1")
        if choice not in CHOICES:
            raise ClearingError(f"unknown choice policy {choice!r}; known: "
                                f"{', '.join(CHOICES)}")
        if not 0.0 <= crossover <= 1.0:
            raise ClearingError(f"crossover must be a probability, not {crossover}")
        self.population = int(population)
        self.generations = int(generations)
        self.seed = int(seed)
        self.patience = int(patience)
        self.choice = choice
        self.crossover = float(crossover)
        self.local_search = int(local_search)
        self.polish_pairs = int(polish_pairs)
        self._key = _choice_key(choice)

    def clear(self, problem: ClearingProblem, *,
              pricing: PricingRule = "pay_as_bid") -> ClearingResult:
        """Clear ``problem`` with NSGA-II (Platone FR_MP_FS_3).

        Args:
            problem: the session's needs and offers.
            pricing: the pricing rule applied to the chosen awards.

        Returns:
            The chosen solution (checked), the session's front (at most ``FRONT_POINTS``
            points, the chosen one first) and the run's statistics.

        Raises:
            ClearingError: an unknown pricing rule, or (a bug) an infeasible solution.
        """
        require_pricing(pricing)
        started = time.perf_counter()
        flat = flatten(problem)
        outcomes: list[_Outcome] = []
        allocations: list[tuple[int, float]] = []
        for g in flat.groups:
            rng = np.random.default_rng([self.seed, g.index])
            outcome = self._group(g, rng)
            outcomes.append(outcome)
            allocations += [(int(g.pairs[i]), q) for i, q in outcome.chosen.allocations]
        awards = awards_of(flat, allocations)
        front = _combine([o.front for o in outcomes], self._key)
        statistics = {
            "groups": len(flat.groups), "pairs": flat.pairs, "population": self.population,
            "evaluations": sum(o.evaluations for o in outcomes),
            "generations": sum(o.generations for o in outcomes),
            "generations_max": max((o.generations for o in outcomes), default=0),
            "choice": self.choice}
        result = finish(flat, awards, engine=self.name, version=self.version,
                        pricing=pricing, statistics=statistics, started=started,
                        seed=self.seed)
        # The front's chosen point is the checked result's own objectives (the sums of the
        # groups' differ from them by float round-off only).
        return replace(result, pareto_front=(result.objectives, *front[1:]))

    # -- one group ------------------------------------------------------------------------

    def _better(self, a: _Individual, b: _Individual) -> bool:
        return _before(self._key(_point(a.decoded)), self._key(_point(b.decoded)))

    def _better_point(self, a: Point, b: Point) -> bool:
        return _before(self._key(a), self._key(b))

    def _group(self, g: Group, rng: np.random.Generator) -> _Outcome:
        seeds = _seed_keys(g)
        if g.size == 1 or g.simple:
            evaluated = [_Individual(k, decode(g, _order(k))) for k in seeds]
            if g.simple:
                price, risk = _normalised(g.price), _normalised(g.risk)
                evaluated += [_Individual(k, decode(g, _order(k))) for k in (
                    (1 - w) * price + w * risk + 1e-6 * (price + risk)
                    for w in np.linspace(0.0, 1.0, 9))]
            return self._outcome(evaluated, evaluations=len(evaluated), generations=0)

        mu = min(self.population, max(8, 4 * math.ceil(g.size / 2)))
        mu += -mu % 4
        t = _Topology(g)
        pop = [_Individual(k, decode(g, _order(k))) for k in seeds[:mu]]
        while len(pop) < mu:
            a, b = (pop[int(i)] for i in rng.integers(len(pop), size=2))
            child = self._vary(a, b, t, rng)
            pop.append(_Individual(child, decode(g, _order(child))))
        evaluations = len(pop)
        pop = tools.selNSGA2(pop, mu)
        best = pop[0]
        for ind in pop[1:]:
            if self._better(ind, best):
                best = ind
        extremes = _extremes(pop)
        archive = _non_dominated(pop)
        stall = generations = 0
        while generations < self.generations and stall < self.patience:
            generations += 1
            parents = _tournament(pop, mu, rng)
            offspring = []
            for a, b in zip(parents[::2], parents[1::2], strict=True):
                for first, second in ((a, b), (b, a)):
                    child = self._vary(first, second, t, rng)
                    offspring.append(_Individual(child, decode(g, _order(child))))
            evaluations += len(offspring)
            archive = _archive(archive, offspring, 4 * mu)
            pop = tools.selNSGA2(pop + offspring, mu)
            improved = False
            for ind in offspring:
                if self._better(ind, best):
                    best, improved = ind, True
            if best not in pop:
                pop[-1] = best  # elitism on the chosen point (DSO priority)
            now = _extremes(offspring)
            if any(_before((x,), (y,)) for x, y in zip(now, extremes, strict=True)):
                improved = True
            extremes = tuple(min(x, y) for x, y in zip(now, extremes, strict=True))
            stall = 0 if improved else stall + 1
        polished, extra = self._polish(g, best)
        search = SlotSearch(g, _order(polished.keys), polished.decoded, self._better_point)
        searched = search.run(self.local_search)
        evaluations += extra + search.evaluations
        return self._outcome([_Individual(polished.keys, searched), polished, *archive],
                             evaluations=evaluations, generations=generations)

    def _outcome(self, evaluated: Sequence[_Individual], *, evaluations: int,
                 generations: int) -> _Outcome:
        best = evaluated[0]
        for ind in evaluated[1:]:
            if self._better(ind, best):
                best = ind
        points = {_point(i.decoded) for i in _non_dominated(list(evaluated))}
        points.discard(_point(best.decoded))
        front = [_point(best.decoded), *sorted(points, key=self._key)]
        return _Outcome(best.decoded, front, evaluations, generations)

    # -- variation ------------------------------------------------------------------------

    def _vary(self, a: _Individual, b: _Individual, t: _Topology,
              rng: np.random.Generator) -> np.ndarray:
        n = len(a.keys)
        if rng.random() < self.crossover:
            if t.needs > 1:  # each need slot's keys from either parent
                take = rng.random(t.needs) < 0.5
                child = np.where(np.repeat(take, t.seg_end - t.seg_start), a.keys, b.keys)
            else:
                i, j = sorted(rng.integers(0, n + 1, size=2).tolist())
                child = a.keys.copy()
                child[i:j] = b.keys[i:j]
        else:
            child = a.keys.copy()
        for _ in range(1 + int(rng.poisson(0.5))):
            self._mutate(child, a, t, rng)
        return child

    def _mutate(self, keys: np.ndarray, parent: _Individual, t: _Topology,
                rng: np.random.Generator) -> None:
        n = len(keys)
        r = rng.random()
        if r < 0.4:  # promote a pair that could serve more, or serve for less
            gain = _promotion_gain(t, parent)
            candidates = np.flatnonzero(gain > 0)
            if len(candidates):
                i = int(candidates[rng.choice(len(candidates),
                                              p=gain[candidates] / gain[candidates].sum())])
                s = int(t.need_of[i])
                lo, hi = int(t.seg_start[s]), int(t.seg_end[s])
                keys[i] = (keys.min() if rng.random() < 0.3 else keys[lo:hi].min()) - 0.01
        elif r < 0.55:  # move an awarded pair back
            allocations = parent.decoded.allocations
            if allocations:
                i = allocations[int(rng.integers(len(allocations)))][0]
                s = int(t.need_of[i])
                lo, hi = int(t.seg_start[s]), int(t.seg_end[s])
                keys[i] = (keys.max() if rng.random() < 0.3 else keys[lo:hi].max()) + 0.01
        elif r < 0.7 and len(t.shared):  # who gets a shared offer first
            i = int(t.shared[int(rng.integers(len(t.shared)))])
            j = int(t.by_slot[int(rng.integers(t.slot_start[i], t.slot_end[i]))])
            keys[i], keys[j] = keys[j], keys[i]
        elif r < 0.85:  # re-sort a need slot by another rule, in the same key range
            s = int(rng.integers(t.needs))
            lo, hi = int(t.seg_start[s]), int(t.seg_end[s])
            rule = t.rules[int(rng.integers(len(t.rules)))][lo:hi]
            segment = keys[lo:hi]
            segment[np.argsort(rule, kind="stable")] = np.sort(segment)
        else:  # nudge one key
            keys[int(rng.integers(n))] += rng.normal(0.0, 0.05)

    # -- local search ---------------------------------------------------------------------

    def _polish(self, g: Group, best: _Individual) -> tuple[_Individual, int]:
        """For a small group, first-improvement over moving one pair to any other place
        in the order, until no move improves the chosen point."""
        n = g.size
        if n > self.polish_pairs:
            return best, 0
        order, current, evaluations = _order(best.keys), best, 0
        improved = True
        while improved and evaluations < 20 * n * n:
            improved = False
            for a in range(n):
                for b in range(n):
                    if a == b:
                        continue
                    moved = order[:a] + order[a + 1:]
                    moved.insert(b, order[a])
                    decoded = decode(g, moved)
                    evaluations += 1
                    if _before(self._key(_point(decoded)), self._key(_point(current.decoded))):
                        keys = np.empty(n)
                        keys[moved] = np.arange(n, dtype=float)
                        order, current, improved = moved, _Individual(keys, decoded), True
                        break
                if improved:
                    break
        return current, evaluations


def _promotion_gain(t: _Topology, ind: _Individual) -> np.ndarray:
    """Per pair, what moving it ahead might gain: for a pair with room left (its offer
    slot not all given to it) in a short need slot, the kW it could add (weighted far
    above money); in a served need slot, (the dearest price the slot paid − its price) ×
    the kW it could take over."""
    amounts = ind.amounts(len(t.price))
    room = t.slot_qty - amounts
    left = np.asarray(ind.decoded.need_left)[t.need_of]
    paid = np.zeros(t.needs)
    carrying = amounts > 0
    np.maximum.at(paid, t.need_of[carrying], t.price[carrying])
    cheaper = np.maximum(paid[t.need_of] - t.price, 0.0)
    gain = np.where(left > QUANTITY_TOLERANCE, 1e6 * np.minimum(room, left), cheaper * room)
    gain[room <= QUANTITY_TOLERANCE] = 0.0
    return gain


def _order(keys: np.ndarray) -> list[int]:
    return np.argsort(keys).tolist()


def _seed_keys(g: Group) -> list[np.ndarray]:
    """Merit order first, then variants (keys: a DSO pair in [0, 1), a TSO pair in [1, 2))."""
    n = g.size
    role = np.where(g.dso, 0.0, 1.0)
    price, risk = _normalised(g.price), _normalised(g.risk)
    tie = np.arange(n) / (n * 1e3)  # merit rank breaks ties
    slot_has_tso = np.zeros(len(g.slot_qty), dtype=bool)
    slot_has_tso[g.slot[~g.dso]] = True
    shared = (g.dso & slot_has_tso[g.slot]).astype(float)
    aon = g.aon.astype(float)
    seeds = [
        g.merit / n,
        role + 0.999 * price + tie,
        role + 0.999 * (price + risk) / 2 + tie,
        role + 0.999 * (price + 3 * risk) / 4 + tie,
        role + 0.999 * (0.999 * risk + 0.001 * price) + tie,
        price + tie,  # roles interleaved
        role + 0.999 * (price + shared) / 2 + tie,
        role + 0.999 * (price + aon) / 2 + tie,
        role + 0.999 * (price + 1 - aon) / 2 + tie,
    ]
    return seeds


def _tournament(pop: Sequence[_Individual], k: int,
                rng: np.random.Generator) -> list[_Individual]:
    """Binary tournaments on dominance, then crowding distance (as DEAP's selTournamentDCD,
    but drawing from ``rng`` so a seed fixes the run)."""
    chosen = []
    picks = rng.integers(len(pop), size=(k, 2))
    coins = rng.random(k)
    for (i, j), coin in zip(picks.tolist(), coins.tolist(), strict=True):
        a, b = pop[i], pop[j]
        if a.fitness.dominates(b.fitness):
            chosen.append(a)
        elif b.fitness.dominates(a.fitness):
            chosen.append(b)
        elif (da := _crowding(a)) != (db := _crowding(b)):
            chosen.append(a if da > db else b)
        else:
            chosen.append(a if coin < 0.5 else b)
    return chosen


def _crowding(ind: _Individual) -> float:
    # An individual kept only by elitism was never crowded by selNSGA2.
    return float(getattr(ind.fitness, "crowding_dist", 0.0))


def _extremes(inds: Sequence[_Individual]) -> tuple[float, float, float]:
    return (min(i.decoded.cost_eur for i in inds), min(i.decoded.unserved for i in inds),
            min(i.decoded.risk for i in inds))


def _archive(archive: list[_Individual], new: Sequence[_Individual],
             size: int) -> list[_Individual]:
    """``archive`` (non-dominated in cost, unserved, risk, unserved DSO) with ``new``
    added; beyond ``size`` points, thinned by NSGA-II's crowding."""
    for ind in new:
        p = _point(ind.decoded)
        points = [_point(a.decoded) for a in archive]
        if any(q == p or _dominates(q, p) for q in points):
            continue
        archive = [a for a, q in zip(archive, points, strict=True) if not _dominates(p, q)]
        archive.append(ind)
    return tools.selNSGA2(archive, size) if len(archive) > size else archive


def _dominates(a: Point, b: Point) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and a != b


def _non_dominated(inds: list[_Individual]) -> list[_Individual]:
    """The individuals no other dominates in (cost, unserved, risk, unserved_dso), one
    per distinct point."""
    unique: dict[Point, _Individual] = {}
    for ind in inds:
        unique.setdefault(_point(ind.decoded), ind)
    points = list(unique)
    return [unique[p] for p in points if not any(_dominates(q, p) for q in points)]


def _combine(fronts: Sequence[list[Point]],
             key: Callable[[Point], tuple[float, ...]]) -> tuple[Objectives, ...]:
    """The session's front from the groups' fronts (each with its chosen point first).

    Every objective is a sum over groups, so a session point is one point per group. Sums
    are formed for the chosen points, the per-objective extremes and a grid of weightings
    of the normalised objectives (each group taking its best point under the weighting),
    and the non-dominated sums are kept, the chosen sum first, at most ``FRONT_POINTS``.
    """
    if not fronts:
        return (Objectives(0.0, 0.0, 0.0, 0.0),)
    arrays = [np.asarray(f, dtype=float) for f in fronts]
    scale = np.ones(4)
    for j in range(3):
        spread = sum(float(a[:, j].max() - a[:, j].min()) for a in arrays)
        scale[j] = spread if spread > 0 else 1.0
    candidates: list[Point] = [_sum(a[0] for a in arrays)]
    for j in range(3):  # the extreme of each objective, ties broken by the policy
        candidates.append(_sum(a[min(range(len(a)), key=lambda i, a=a: (
            a[i, j], key(tuple(a[i]))))] for a in arrays))
    steps = 4
    for wc in range(steps + 1):
        for wu in range(steps + 1 - wc):
            w = np.array([wc, wu, steps - wc - wu, 0.0]) / steps / scale
            candidates.append(_sum(a[int(np.argmin(a @ w))] for a in arrays))
    unique = list(dict.fromkeys(candidates))
    kept = [p for p in unique if not any(_dominates(q, p) for q in unique)]
    chosen = candidates[0]
    others = [p for p in kept if p != chosen][:FRONT_POINTS - 1]
    return tuple(Objectives(cost_eur=p[0], unserved=p[1], risk=p[2], unserved_dso=p[3])
                 for p in [chosen, *others])


def _sum(rows) -> Point:  # type: ignore[no-untyped-def]
    total = np.zeros(4)
    for r in rows:
        total += r
    return (float(total[0]), float(total[1]), float(total[2]), float(total[3]))
