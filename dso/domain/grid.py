"""The DSO's grid model: a pandapower network and the grid points derived from it
(primary substation → MV feeder → secondary substation), where PoDs connect (Platone A.3,
MARKET_RULES.md "Participants and places").

Grid points are derived from the network, never typed in:

- a *primary substation* (``PS-<k>``) is an external-grid connection (the slack, the HV
  busbar) with the HV/MV transformers leaving it; its MV busbars are those transformers'
  MV buses, or the slack bus itself when the network starts at MV (IEEE 33-bus). It is
  also the PoM, the TSO–DSO connection point;
- an *MV feeder* (``PS-<k>-F<j>``) is what hangs off one MV busbar: the buses connected
  to it through closed lines and switches once the busbars are taken away, numbered by
  their smallest bus index;
- a *secondary substation* (``SS-<bus>``) is a feeder bus with a load or a generator: where
  customers, and so PoDs, connect.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import pandapower as pp
import pandapower.networks as pn
import pandapower.topology as top

GridPointKind = Literal["primary_substation", "mv_feeder", "secondary_substation"]


class GridError(Exception):
    """Base of the grid model's errors."""


class UnknownGrid(GridError):
    """A grid name that is neither registered nor a pandapower JSON file."""


class UnknownGridPoint(GridError):
    """A grid point, or a PoD location, that this grid does not have."""


def _cigre_mv() -> pp.pandapowerNet:
    """CIGRE MV benchmark with PV and wind DER (CIGRE TF C6.04.02, "Benchmark Systems for
    Network Integration of Renewable and Distributed Energy Resources", 2014)."""
    return pn.create_cigre_network_mv(with_der="pv_wind")


def _case33bw() -> pp.pandapowerNet:
    """IEEE 33-bus radial feeder (Baran & Wu, "Network reconfiguration in distribution
    systems for loss reduction and load balancing", IEEE Trans. Power Delivery, 1989)."""
    return pn.case33bw()


def _mv_oberrhein() -> pp.pandapowerNet:
    """A real German MV grid of two substations (Meinecke et al., "SimBench", and
    pandapower's ``mv_oberrhein``, Kerber/Scheidler)."""
    return pn.mv_oberrhein()


GRIDS: dict[str, Callable[[], pp.pandapowerNet]] = {
    "cigre_mv": _cigre_mv, "case33bw": _case33bw, "mv_oberrhein": _mv_oberrhein}


@dataclass(frozen=True)
class GridPoint:
    """A place of the hierarchy. ``buses`` are the pandapower buses at or under it."""

    point_id: str
    kind: GridPointKind
    parent: str | None
    buses: frozenset[int]


class Grid:
    """A network and its hierarchy. The network is the DSO's reference configuration:
    nothing here changes it (power flows work on their own copies).

    Args:
        name: what the grid is called in settings and events (``cigre_mv`` …).
        net: the pandapower network.
    """

    def __init__(self, name: str, net: pp.pandapowerNet) -> None:
        if net.ext_grid.empty:
            raise GridError(f"grid {name!r} has no external grid (slack): nothing feeds it")
        self.name = name
        self._net = net
        self.points: dict[str, GridPoint] = {}
        self._indices: dict[str, list[int]] = {}
        self._busbar_feeders: dict[int, list[str]] = {}
        self._derive()

    @property
    def net(self) -> pp.pandapowerNet:
        """A copy of the network, for a caller that changes it."""
        return copy.deepcopy(self._net)

    def _derive(self) -> None:
        net = self._net
        graph = top.create_nxgraph(net, respect_switches=True, include_out_of_service=False)
        served = set(net.load.bus[net.load.in_service]) | set(net.sgen.bus[net.sgen.in_service])
        for k, slack in enumerate(sorted(int(b) for b in set(
                net.ext_grid.bus[net.ext_grid.in_service])), 1):
            ps = f"PS-{k}"
            trafos = net.trafo[(net.trafo.hv_bus == slack) & net.trafo.in_service]
            busbars = sorted(set(trafos.lv_bus)) or [slack]
            rest = graph.copy()
            rest.remove_nodes_from([slack, *busbars])
            feeders = [c for c in nx.connected_components(rest)
                       if any(graph.has_edge(b, n) for b in busbars for n in c)]
            under: set[int] = {slack, *busbars}
            for j, buses in enumerate(sorted(feeders, key=min), 1):
                feeder = f"{ps}-F{j}"
                for b in busbars:
                    if any(graph.has_edge(b, n) for n in buses):
                        self._busbar_feeders.setdefault(int(b), []).append(feeder)
                self.points[feeder] = GridPoint(feeder, "mv_feeder", ps,
                                                 frozenset(int(b) for b in buses))
                for bus in sorted(buses & served):
                    ss = f"SS-{bus}"
                    self.points[ss] = GridPoint(ss, "secondary_substation", feeder,
                                                frozenset({int(bus)}))
                under |= buses
            self.points[ps] = GridPoint(ps, "primary_substation", None,
                                        frozenset(int(b) for b in under))

    def point(self, point_id: str) -> GridPoint:
        """The grid point called ``point_id``.

        Raises:
            UnknownGridPoint: naming the grid.
        """
        found = self.points.get(point_id)
        if found is None:
            raise UnknownGridPoint(f"grid {self.name!r} has no grid point {point_id!r}")
        return found

    def of_kind(self, kind: GridPointKind) -> list[GridPoint]:
        return [p for p in self.points.values() if p.kind == kind]

    @cached_property
    def _feeder_of_bus(self) -> Mapping[int, str]:
        return {b: p.point_id for p in self.of_kind("mv_feeder") for b in p.buses}

    def feeder_of(self, bus: int) -> str | None:
        """The MV feeder ``bus`` is on; None for a busbar or the slack."""
        return self._feeder_of_bus.get(bus)

    def feeders_at(self, busbar: int) -> list[str]:
        """The MV feeders leaving an MV busbar (what a transformer into it supplies)."""
        return list(self._busbar_feeders.get(busbar, []))

    def primary_substation_of(self, point_id: str) -> str:
        """The primary substation (the PoM) at or above ``point_id``."""
        p = self.point(point_id)
        while p.parent is not None:
            p = self.point(p.parent)
        return p.point_id

    def locate(self, primary_substation: str, mv_feeder: str,
               secondary_substation: str) -> int:
        """The bus of a PoD at this location (a PodRegistered's ``location``).

        Raises:
            UnknownGridPoint: the secondary substation is not on this grid, or not under
                that feeder and primary substation.
        """
        ss = self.point(secondary_substation)
        if ss.kind != "secondary_substation":
            raise UnknownGridPoint(f"{secondary_substation!r} is a {ss.kind}, not a "
                                   "secondary substation")
        if ss.parent != mv_feeder or self.primary_substation_of(mv_feeder) != primary_substation:
            raise UnknownGridPoint(
                f"{secondary_substation} is under {ss.parent} of "
                f"{self.primary_substation_of(secondary_substation)}, not under {mv_feeder} "
                f"of {primary_substation}")
        return next(iter(ss.buses))

    def location_of(self, secondary_substation: str) -> dict[str, str]:
        """The full location (primary substation, feeder, secondary substation) of a
        secondary substation: what an aggregator registers a PoD under."""
        feeder = self.point(secondary_substation).parent
        assert feeder is not None  # a secondary substation always has its feeder
        return {"primary_substation": self.primary_substation_of(feeder),
                "mv_feeder": feeder, "secondary_substation": secondary_substation}

    def net_index(self, table: str) -> list[int]:
        """The pandapower indices of a table's elements (``line``, ``trafo`` …), in order."""
        found = self._indices.get(table)
        if found is None:
            found = self._indices[table] = [int(i) for i in self._net[table].index]
        return found

    def summary(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for p in self.points.values():
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        return {"grid": self.name, "buses": len(self._net.bus), "lines": len(self._net.line),
                "transformers": len(self._net.trafo), **kinds}


def load_grid(name_or_path: str) -> Grid:
    """A registered grid (``GRIDS``) by name, or a pandapower JSON file by path.

    Raises:
        UnknownGrid: neither, naming the registered grids.
    """
    factory = GRIDS.get(name_or_path)
    if factory is not None:
        return Grid(name_or_path, factory())
    path = Path(name_or_path)
    if path.suffix == ".json" and path.is_file():
        return Grid(path.stem, pp.from_json(str(path)))
    raise UnknownGrid(f"unknown grid {name_or_path!r}: give one of {', '.join(GRIDS)} or a "
                      "pandapower JSON file")
