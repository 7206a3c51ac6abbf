"""A local search on one allocation of a group, the memetic step after NSGA-II.

Each move gives one pair priority in its need slot, the pairs likeliest to gain first
(in a short slot the kW they could add, in a served one the money they could save), and
is kept only if the group improves under the choice policy. Two kinds of move:

- an exchange: the pair takes what its offer, PoD capacity and block energy have free,
  else the need slots holding them give it up and refill from their other offers; a
  served slot drops as much of its dearest awards. A few dozen pair updates.
- a refill: the pair's need slot (and the slots holding what it needs) is emptied and
  refilled greedily, the pair first, the holders in their own orders, with the contested
  resources last, or all-or-nothing steps first (packing). Costlier; used for short slots
  and small ones.

Only touched need slots change, so a move is evaluated on them alone. The moves reach what
single decodes rarely do: a large all-or-nothing step that fits only if taken first, a TSO
request taking a cheap offer that a DSO request can replace by one only it may use, block
energy moved to the MTU where it saves most.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import chain

import numpy as np

from market.domain.clearing.greedy import FIT_SLACK, Decoded
from market.domain.clearing.groups import Group
from market.domain.clearing.problem import QUANTITY_TOLERANCE

_TOL = QUANTITY_TOLERANCE
_MAX_HOLDERS = 8  # need slots emptied by one move at most
_REFILL_PAIRS = 400  # served need slots with more pairs are only changed by exchanges
Point = tuple[float, float, float, float]  # cost, unserved, risk, unserved_dso


def _users(keys: np.ndarray, skip_zero: bool) -> list[list[int]]:
    """Per value of ``keys`` (0..max), the pairs having it."""
    size = int(keys.max()) + 1 if len(keys) else 0
    users: list[list[int]] = [[] for _ in range(size)]
    for i, k in enumerate(keys.tolist()):
        if not (skip_zero and k == 0):
            users[k].append(i)
    return users


class SlotSearch:
    """First-improvement local search over need slots (see the module docstring).

    Args:
        g: the group.
        order: the pairs in the priority order of the starting point.
        decoded: the starting point (an allocation of ``g`` in ``order``).
        better: whether a point is strictly better than another under the choice policy.
    """

    def __init__(self, g: Group, order: list[int], decoded: Decoded,
                 better: Callable[[Point, Point], bool]) -> None:
        (self.p_slot, self.p_need, self.p_cap, self.p_energy, self.p_aon, self.p_cost,
         self.p_risk, self.slot_qty, self.need_qty, self.cap_qty, self.energy_qty,
         self.need_dso) = g.lists
        self.better = better
        self.price = g.price.tolist()
        n = g.size
        self.amount = [0.0] * n
        self.held: list[dict[int, float]] = [{} for _ in self.need_qty]  # per need slot
        self.slot_left = self.slot_qty[:]
        self.need_left = self.need_qty[:]
        self.cap_left = self.cap_qty[:]
        self.energy_left = self.energy_qty[:]
        for i, q in decoded.allocations:
            self._take(i, q)
        position = [0] * n
        for rank, i in enumerate(order):
            position[i] = rank
        self.order_of: list[list[int]] = [[] for _ in self.need_qty]
        for i in sorted(range(n), key=position.__getitem__):
            self.order_of[self.p_need[i]].append(i)
        self.slot_users = _users(g.slot, skip_zero=False)
        self.cap_users = _users(g.cap, skip_zero=True)
        self.energy_users = _users(g.energy, skip_zero=True)
        self.evaluations = 0

    # -- bookkeeping ------------------------------------------------------------------------

    def _take(self, i: int, q: float) -> None:
        amount = self.amount[i] + q
        self.amount[i] = amount
        held = self.held[self.p_need[i]]
        if amount > _TOL:
            held[i] = amount
        else:
            held.pop(i, None)
        self.slot_left[self.p_slot[i]] -= q
        self.need_left[self.p_need[i]] -= q
        self.cap_left[self.p_cap[i]] -= q
        self.energy_left[self.p_energy[i]] -= q

    def _fill(self, order: Iterable[int], needs: list[int], visited: list[int]
              ) -> list[tuple[int, float]]:
        """Greedy over ``order`` on what is left (as ``greedy.decode``), taking it, until
        ``needs`` are all served; the pairs looked at are appended to ``visited``."""
        taken = []
        slot_left, need_left = self.slot_left, self.need_left
        cap_left, energy_left = self.cap_left, self.energy_left
        open_needs = sum(1 for n in needs if need_left[n] > _TOL)
        for i in order:
            if not open_needs:
                break
            visited.append(i)
            n = self.p_need[i]
            rn = need_left[n]
            if rn <= _TOL:
                continue
            s = self.p_slot[i]
            q = slot_left[s]
            if q <= _TOL:
                continue
            rc = cap_left[self.p_cap[i]]
            if self.p_aon[i]:
                if (q < self.slot_qty[s] - _TOL or q > rn + FIT_SLACK * (rn + 1.0)
                        or q > rc + FIT_SLACK * (rc + 1.0)):
                    continue
            else:
                q = min(q, rn, rc, energy_left[self.p_energy[i]])
                if q <= _TOL:
                    continue
            self._take(i, q)
            taken.append((i, q))
            if need_left[n] <= _TOL:
                open_needs -= 1
        return taken

    def _local(self, needs: list[int], allocations: list[tuple[int, float]]) -> Point:
        cost = risk = 0.0
        for i, q in allocations:
            cost += q * self.p_cost[i]
            risk += q * self.p_risk[i]
        unserved = unserved_dso = 0.0
        for n in needs:
            r = self.need_left[n]
            if r > _TOL:
                unserved += r
                if self.need_dso[n]:
                    unserved_dso += r
        return (cost, unserved, risk, unserved_dso)

    # -- moves ------------------------------------------------------------------------------

    def _holders(self, i: int, n: int) -> list[int]:
        """The other need slots drawing on what pair ``i`` needs, largest draw first."""
        draw: dict[int, float] = {}
        for j in self._contested(i):
            m = self.p_need[j]
            if m != n and self.amount[j] > _TOL:
                draw[m] = draw.get(m, 0.0) + self.amount[j]
        return sorted(draw, key=lambda m: (-draw[m], m))[:_MAX_HOLDERS]

    def _contested(self, i: int) -> set[int]:
        """The pairs drawing on pair ``i``'s offer slot, PoD capacity or block energy."""
        users = set(self.slot_users[self.p_slot[i]])
        if self.p_cap[i]:
            users.update(self.cap_users[self.p_cap[i]])
        if self.p_energy[i]:
            users.update(self.energy_users[self.p_energy[i]])
        return users

    def _shift(self, i: int) -> bool:
        """Give divisible pair ``i`` more, as one exchange: take what its offer slot, PoD
        capacity and block energy have free, else have the slots holding them give it up
        and refill from their other offers (never the contested ones); in a served need
        slot, drop as much of its dearest awards. Costs a few dozen pair updates, where
        emptying and refilling a large need slot costs hundreds."""
        if self.p_aon[i]:
            return False
        n = self.p_need[i]
        s, c, e = self.p_slot[i], self.p_cap[i], self.p_energy[i]
        price = self.price[i]
        short = self.need_left[n] > _TOL
        if short:
            want = self.need_left[n]
            pricier: list[int] = []
        else:
            pricier = sorted((j for j in self.held[n]
                              if self.price[j] > price and not self.p_aon[j]),
                             key=lambda j: (-self.price[j], j))
            want = sum(self.amount[j] for j in pricier)
        want = min(want, self.slot_qty[s] - self.amount[i])
        if want <= _TOL:
            return False
        changes: list[tuple[int, float]] = []
        touched = {n}
        before = {n: self.need_left[n]}

        def free() -> float:
            return min(self.slot_left[s], self.cap_left[c], self.energy_left[e])

        if free() < want - _TOL:
            contested = self._contested(i)
            holders = sorted((j for j in contested if self.p_need[j] != n
                              and self.amount[j] > _TOL and not self.p_aon[j]),
                             key=lambda j: (-self.amount[j], j))
            for j in holders:
                m = self.p_need[j]
                if m not in touched:
                    touched.add(m)
                    before[m] = self.need_left[m]
                y = min(self.amount[j], want - free())
                self._take(j, -y)
                changes.append((j, -y))
                changes += self._fill((k for k in self.order_of[m] if k not in contested),
                                      [m], [])
                if free() >= want - _TOL:
                    break
        x = min(want, free())
        if x > _TOL:
            remaining = x
            for j in pricier:
                y = min(self.amount[j], remaining)
                self._take(j, -y)
                changes.append((j, -y))
                remaining -= y
                if remaining <= _TOL:
                    break
            self._take(i, x)
            changes.append((i, x))
        self.evaluations += 1
        cost = sum(q * self.p_cost[j] for j, q in changes)
        risk = sum(q * self.p_risk[j] for j, q in changes)
        old = new = (0.0, 0.0)  # unserved, unserved DSO over the touched need slots
        for m in touched:
            was, now = max(before[m], 0.0), max(self.need_left[m], 0.0)
            dso = self.need_dso[m]
            old = (old[0] + was, old[1] + (was if dso else 0.0))
            new = (new[0] + now, new[1] + (now if dso else 0.0))
        if x > _TOL and self.better((cost, new[0], risk, new[1]), (0.0, old[0], 0.0, old[1])):
            self._promote(n, i)
            return True
        for j, q in reversed(changes):
            self._take(j, -q)
        return False

    def _promote(self, n: int, i: int) -> None:
        order = self.order_of[n]
        order.remove(i)
        order.insert(0, i)

    def _try(self, i: int, holders: bool) -> bool:
        """Promote pair ``i`` in its need slot, emptying and refilling that slot and, with
        ``holders``, the slots drawing on what ``i`` needs. Holders refill in their own
        orders, else with what ``i`` needs taken last (they keep it only if nothing else
        serves them), else repacked (all-or-nothing steps first, largest first)."""
        n = self.p_need[i]
        own = self.order_of[n]

        def head() -> Iterator[int]:
            yield i
            yield from (j for j in own if j != i)

        if not holders:
            return self._refill([n], head())
        others = self._holders(i, n)
        if not others:
            return False
        needs = [n, *others]
        if self._refill(needs, chain(head(), *(self.order_of[m] for m in others))):
            return True
        contested = self._contested(i)
        free = (j for m in others for j in self.order_of[m] if j not in contested)
        last = (j for m in others for j in self.order_of[m] if j in contested)
        if self._refill(needs, chain(head(), free, last)):
            return True
        return self._refill(needs, chain(head(), *(self._packed(m) for m in others)))

    def _packed(self, n: int) -> list[int]:
        """Need slot ``n``'s pairs, all-or-nothing steps first (largest first), then the
        rest by price: what fits whole goes in before divisible offers fill the gaps."""
        return sorted(self.order_of[n], key=lambda j: (
            not self.p_aon[j], -self.slot_qty[self.p_slot[j]] if self.p_aon[j]
            else self.price[j], j))

    def _refill(self, needs: list[int], order: Iterable[int]) -> bool:
        """Empty ``needs`` and refill them in ``order``; keep it if that is better."""
        old = [(j, q) for m in needs for j, q in self.held[m].items()]
        before = self._local(needs, old)
        for j, q in old:
            self._take(j, -q)
        visited: list[int] = []
        new = self._fill(order, needs, visited)
        self.evaluations += 1
        if self.better(self._local(needs, new), before):
            for m in needs:  # the refill's order first, then the rest as it was
                seen = [j for j in visited if self.p_need[j] == m]
                if seen:
                    known = set(seen)
                    seen += [j for j in self.order_of[m] if j not in known]
                    self.order_of[m] = seen
            return True
        for j, q in new:
            self._take(j, -q)
        for j, q in old:
            self._take(j, q)
        return False

    def _repack(self) -> bool:
        """For each short need slot, refill it all-or-nothing steps first, largest first,
        then the rest by price: divisible offers then fill what PoD capacity is left."""
        improved = False
        for n, left in enumerate(self.need_left):
            if left <= _TOL:
                continue
            order = self._packed(n)
            if order != self.order_of[n]:
                improved |= self._refill([n], order)
        return improved

    def _gains(self) -> list[tuple[float, int]]:
        """Pairs worth promoting, the likeliest gain first: in a short need slot the kW a
        pair could add (weighted far above money), in a served one (the dearest price the
        slot pays − the pair's) × the kW it could take over."""
        paid = [0.0] * len(self.need_qty)
        for n, held in enumerate(self.held):
            for j in held:
                paid[n] = max(paid[n], self.price[j])
        gains = []
        for i in range(len(self.amount)):
            room = self.slot_qty[self.p_slot[i]] - self.amount[i]
            if room <= _TOL:
                continue
            n = self.p_need[i]
            left = self.need_left[n]
            if left > _TOL:
                gains.append((1e6 * min(room, left), i))
            elif paid[n] > self.price[i]:
                gains.append(((paid[n] - self.price[i]) * room, i))
        gains.sort(key=lambda t: (-t[0], t[1]))
        return gains

    def run(self, budget: int) -> Decoded:
        """Passes over the promising pairs (gains computed once per pass) until a pass
        improves nothing or ``budget`` moves were evaluated."""
        improved = True
        while improved and self.evaluations < budget:
            improved = self._repack()
            for _, i in self._gains():
                if self._shift(i) or ((self.need_left[self.p_need[i]] > _TOL
                      or len(self.order_of[self.p_need[i]]) <= _REFILL_PAIRS) and (
                        self._try(i, holders=False) or self._try(i, holders=True))):
                    improved = True
                if self.evaluations >= budget:
                    break
        return self.decoded()

    def decoded(self) -> Decoded:
        allocations = [(i, q) for i, q in enumerate(self.amount) if q > _TOL]
        cost, unserved, risk, unserved_dso = self._local(list(range(len(self.need_qty))),
                                                        allocations)
        return Decoded(cost, unserved, risk, unserved_dso, allocations, self.need_left[:])
