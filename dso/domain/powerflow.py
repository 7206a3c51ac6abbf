"""AC power flow per MTU and the violations it shows (Platone A.3.2.2: balanced MV, PQ
loads and generators, slack at the primary substation's HV busbar, Newton–Raphson;
MARKET_RULES.md "Technical validation").

pandapower builds the network's admittance matrices once (``runpp`` on the reference
configuration); every MTU after that is a Newton–Raphson solve on those matrices with
that MTU's bus injections. Only injections change from one MTU to the next, and the
pandas round trip of ``runpp`` costs twenty times the numerics on a grid this size
(``bench/validation.py`` measures both). A test holds the results equal to ``runpp``'s.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandapower as pp
import pandas as pd
from pandapower.pypower.idx_bus import BASE_KV
from scipy.sparse import csc_matrix, csr_matrix, diags, hstack, vstack
from scipy.sparse.linalg import splu

from dso.domain.grid import Grid, GridError

SQRT3 = math.sqrt(3.0)


@dataclass(frozen=True)
class Limits:
    """Operating limits (MARKET_RULES.md "Technical validation" defaults: 0.90–1.10 pu,
    loading ≤ 100 %; the digest's EN 50160-style suggestion)."""

    v_min_pu: float = 0.90
    v_max_pu: float = 1.10
    max_loading_pct: float = 100.0


@dataclass(frozen=True)
class Violation:
    """A limit broken in one MTU. ``magnitude`` is how far beyond the limit (pu for
    voltage, percentage points for loading); ``element`` is a bus, line or transformer
    index of the pandapower network."""

    kind: str  # "undervoltage" | "overvoltage" | "line_overload" | "trafo_overload"
    element: int
    value: float
    limit: float

    @property
    def magnitude(self) -> float:
        return self.limit - self.value if self.kind == "undervoltage" else (
            self.value - self.limit)

    @property
    def key(self) -> tuple[str, int]:
        return (self.kind, self.element)

    def describe(self) -> str:
        unit = "pu" if self.kind.endswith("voltage") else "%"
        what = {"undervoltage": "bus", "overvoltage": "bus", "line_overload": "line",
                "trafo_overload": "transformer"}[self.kind]
        return f"{self.kind.replace('_', ' ')} at {what} {self.element}: {self.value:.4g} {unit}" \
               f" (limit {self.limit:g} {unit})"


@dataclass(frozen=True)
class FlowResult:
    """One MTU's solution. ``vm_pu`` per bus (pandapower index order of ``PowerFlow.buses``),
    ``line_loading_pct`` and ``trafo_loading_pct`` per line and transformer (0 for an
    out-of-service one, as pandapower reports it)."""

    converged: bool
    iterations: int
    vm_pu: np.ndarray
    line_loading_pct: np.ndarray
    trafo_loading_pct: np.ndarray
    V: np.ndarray  # complex bus voltages (internal order), the operating point
    max_mismatch_pu: float


class PowerFlow:
    """Newton–Raphson power flows on one grid's reference configuration.

    Injections are given per pandapower bus in MW and MVAr (positive: into the grid), as a
    change against the network's own loads and generators, which ``load_scale`` and
    ``sgen_scale`` can scale per MTU (the forecast for customers outside the market).

    Args:
        grid: the grid.
        tolerance_pu: the largest power mismatch of a converged solution (pu of the
            network's base MVA).
        max_iterations: Newton iterations before a solve is declared not converged.
    """

    def __init__(self, grid: Grid, *, tolerance_pu: float = 1e-8,
                 max_iterations: int = 20) -> None:
        self.grid = grid
        self.tolerance_pu = tolerance_pu
        self.max_iterations = max_iterations
        net = grid.net
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runpp(net, algorithm="nr", numba=False)
        internal = net._ppc["internal"]
        self.base_mva = float(internal["baseMVA"])
        self.Ybus = csr_matrix(internal["Ybus"])
        self.Yf = csr_matrix(internal["Yf"])
        self.Yt = csr_matrix(internal["Yt"])
        self.ref = np.asarray(internal["ref"], dtype=np.int64)
        self.pq = np.asarray(internal["pq"], dtype=np.int64)
        if len(internal["pv"]):
            raise NotImplementedError("voltage-controlled (PV) generators are not modelled; "
                                      "MV grids here have PQ generators only")
        self.V0 = np.asarray(internal["V"], dtype=complex)
        base_kv = internal["bus"][:, BASE_KV].real
        if not net.bus.in_service.all():
            raise GridError(f"grid {grid.name!r} has out-of-service buses; remove them from "
                            "the network first")
        # pandapower bus index -> internal row (its lookup is indexed by bus number).
        self._row_of_bus = np.asarray(net._pd2ppc_lookups["bus"], dtype=np.int64)
        self.buses = net.bus.index.to_numpy()
        self.bus_row = self._row_of_bus[self.buses]
        if not np.allclose(np.abs(self.V0[self.bus_row]), net.res_bus.vm_pu.to_numpy()):
            raise GridError(f"grid {grid.name!r}: pandapower's internal bus order is not "
                            "the one this power flow reads (a network feature it does not "
                            "model)")
        # The specified injections at the reference solution, and what the network's own
        # loads and generators make of them (the rest stays constant).
        S = self.V0 * np.conj(self.Ybus @ self.V0)
        self.S_load = self._vector(net.load, sign=-1.0)
        self.S_sgen = self._vector(net.sgen, sign=1.0)
        self.S_rest = S - self.S_load - self.S_sgen
        # Branches: pandapower's internal branch order drops out-of-service branches.
        in_service = np.asarray(internal["branch_is"], dtype=bool)
        position = np.cumsum(in_service) - 1
        ranges = net._pd2ppc_lookups["branch"]
        self.line_rows, self.line_rating_ka, self.line_kv = self._branches(
            net.line, ranges.get("line"), in_service, position, base_kv, internal)
        self.trafo_rows, _, self.trafo_kv = self._branches(
            net.trafo, ranges.get("trafo"), in_service, position, base_kv, internal)
        if len(net.trafo):
            # As pandapower rates them: parallel units, derated by ``df``.
            parallel = (net.trafo.parallel.to_numpy(dtype=float)
                        * net.trafo.df.to_numpy(dtype=float))
            sn = net.trafo.sn_mva.to_numpy(dtype=float) * parallel
            self.trafo_hv_rating_ka = sn / (SQRT3 * net.trafo.vn_hv_kv.to_numpy(dtype=float))
            self.trafo_lv_rating_ka = sn / (SQRT3 * net.trafo.vn_lv_kv.to_numpy(dtype=float))
            self.trafo_lv_kv = base_kv[internal["branch"][:, 1].real.astype(int)]
        self._pvpq = self.pq  # no PV buses (checked above)
        self.n_bus = len(self.V0)

    def _vector(self, table: pd.DataFrame, sign: float) -> np.ndarray:
        """Complex injections per internal bus of a load or sgen table (pu)."""
        S = np.zeros(len(self.V0), dtype=complex)
        active = table[table.in_service]
        if len(active):
            p = active.p_mw.to_numpy(dtype=float) * active.scaling.to_numpy(dtype=float)
            q = active.q_mvar.to_numpy(dtype=float) * active.scaling.to_numpy(dtype=float)
            rows = self.bus_row_of(active.bus.to_numpy())
            np.add.at(S, rows, sign * (p + 1j * q) / self.base_mva)
        return S

    def _branches(self, table: pd.DataFrame, span: tuple[int, int] | None,
                  in_service: np.ndarray,
                  position: np.ndarray, base_kv: np.ndarray, internal: dict
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(table)
        if span is None or n == 0:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
        ppc_rows = np.arange(span[0], span[1])
        rows = np.where(in_service[ppc_rows], position[ppc_rows], -1)
        f_bus = np.where(rows >= 0, internal["branch"][np.maximum(rows, 0), 0].real, 0)
        kv = base_kv[f_bus.astype(int)]
        rating = np.zeros(n)
        if "max_i_ka" in table:
            rating = (table.max_i_ka.to_numpy(dtype=float) * table.df.to_numpy(dtype=float)
                      * table.parallel.to_numpy(dtype=float))
        return rows, rating, kv

    def bus_row_of(self, buses: np.ndarray) -> np.ndarray:
        """Internal rows of pandapower bus indices."""
        return self._row_of_bus[np.asarray(buses, dtype=np.int64)]

    def injection(self, changes: Mapping[int, complex]) -> np.ndarray:
        """A change of injections (MW + j MVAr per pandapower bus) as an internal pu vector."""
        dS = np.zeros(self.n_bus, dtype=complex)
        if changes:
            buses = np.fromiter(changes, dtype=np.int64, count=len(changes))
            values = np.fromiter(changes.values(), dtype=complex, count=len(changes))
            np.add.at(dS, self.bus_row_of(buses), values / self.base_mva)
        return dS

    def specified(self, load_scale: float = 1.0, sgen_scale: float = 1.0,
                  change: np.ndarray | None = None) -> np.ndarray:
        """The bus injections (pu) of one MTU."""
        S = self.S_rest + load_scale * self.S_load + sgen_scale * self.S_sgen
        return S if change is None else S + change

    # -- Newton–Raphson -----------------------------------------------------------------

    def _jacobian(self, V: np.ndarray) -> csc_matrix:
        Ybus, pvpq, pq = self.Ybus, self._pvpq, self.pq
        Ibus = Ybus @ V
        diag_V, diag_I = diags(V), diags(Ibus)
        diag_Vnorm = diags(V / np.abs(V))
        dS_dVm = diag_V @ np.conj(Ybus @ diag_Vnorm) + np.conj(diag_I) @ diag_Vnorm
        dS_dVa = 1j * diag_V @ np.conj(diag_I - Ybus @ diag_V)
        dS_dVa, dS_dVm = csr_matrix(dS_dVa), csr_matrix(dS_dVm)
        j11 = dS_dVa[pvpq][:, pvpq].real
        j12 = dS_dVm[pvpq][:, pq].real
        j21 = dS_dVa[pq][:, pvpq].imag
        j22 = dS_dVm[pq][:, pq].imag
        return csc_matrix(vstack([hstack([j11, j12]), hstack([j21, j22])]))

    def solve(self, S: np.ndarray, V_start: np.ndarray | None = None) -> FlowResult:
        """The operating point for bus injections ``S`` (pu), from ``V_start`` (default:
        the reference solution). A solve that diverges or stalls is returned with
        ``converged`` False, never as a solution."""
        V = (self.V0 if V_start is None else V_start).copy()
        pvpq, pq = self._pvpq, self.pq
        n1 = len(pvpq)
        Va, Vm = np.angle(V), np.abs(V)
        mismatch = math.inf
        iterations = 0
        converged = False
        for iterations in range(self.max_iterations + 1):
            mis = V * np.conj(self.Ybus @ V) - S
            F = np.r_[mis[pvpq].real, mis[pq].imag]
            mismatch = float(np.max(np.abs(F))) if len(F) else 0.0
            if not math.isfinite(mismatch):
                break
            if mismatch < self.tolerance_pu:
                converged = True
                break
            if iterations == self.max_iterations:
                break
            try:
                dx = splu(self._jacobian(V)).solve(-F)
            except RuntimeError:  # singular Jacobian: voltage collapse
                break
            Va[pvpq] += dx[:n1]
            Vm[pq] += dx[n1:]
            if np.any(Vm[pq] <= 0):
                break
            V = Vm * np.exp(1j * Va)
        return self._result(V, converged, iterations, mismatch)

    def _result(self, V: np.ndarray, converged: bool, iterations: int,
                mismatch: float) -> FlowResult:
        vm = np.abs(V)[self.bus_row]
        i_from = np.abs(self.Yf @ V) * self.base_mva  # MVA per kV-base: kA · √3 · kV
        i_to = np.abs(self.Yt @ V) * self.base_mva
        line = np.zeros(len(self.line_rows))
        ok = self.line_rows >= 0
        if ok.any():
            rows = self.line_rows[ok]
            # The from and to sides of a line share its base voltage.
            i_ka = np.maximum(i_from[rows], i_to[rows]) / (SQRT3 * self.line_kv[ok])
            line[ok] = 100.0 * i_ka / self.line_rating_ka[ok]
        trafo = np.zeros(len(self.trafo_rows))
        ok = self.trafo_rows >= 0
        if ok.any():
            rows = self.trafo_rows[ok]
            hv = i_from[rows] / (SQRT3 * self.trafo_kv[ok]) / self.trafo_hv_rating_ka[ok]
            lv = i_to[rows] / (SQRT3 * self.trafo_lv_kv[rows]) / self.trafo_lv_rating_ka[ok]
            trafo[ok] = 100.0 * np.maximum(hv, lv)
        return FlowResult(converged=converged, iterations=iterations, vm_pu=vm,
                          line_loading_pct=line, trafo_loading_pct=trafo, V=V,
                          max_mismatch_pu=mismatch)

    # -- limits ---------------------------------------------------------------------------

    def violations(self, result: FlowResult, limits: Limits) -> list[Violation]:
        """Every limit ``result`` breaks, worst first within each kind."""
        found: list[Violation] = []
        for bus, v in zip(self.buses.tolist(), result.vm_pu.tolist(), strict=True):
            if v < limits.v_min_pu:
                found.append(Violation("undervoltage", bus, v, limits.v_min_pu))
            elif v > limits.v_max_pu:
                found.append(Violation("overvoltage", bus, v, limits.v_max_pu))
        lines = self.grid.net_index("line")
        for idx, loading in zip(lines, result.line_loading_pct.tolist(), strict=True):
            if loading > limits.max_loading_pct:
                found.append(Violation("line_overload", idx, loading, limits.max_loading_pct))
        trafos = self.grid.net_index("trafo")
        for idx, loading in zip(trafos, result.trafo_loading_pct.tolist(), strict=True):
            if loading > limits.max_loading_pct:
                found.append(Violation("trafo_overload", idx, loading, limits.max_loading_pct))
        return sorted(found, key=lambda v: (v.kind, -v.magnitude, v.element))

    # -- sensitivities --------------------------------------------------------------------

    def sensitivity(self, result: FlowResult, violation: Violation,
                    buses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How much the violated quantity changes per MW and per MVAr injected at each of
        ``buses`` (pandapower indices), at ``result``'s operating point: (d/dP, d/dQ), in
        pu per MW for voltages and percentage points per MW for loadings.

        One adjoint solve: the quantity's gradient over the state (angles, magnitudes)
        through the transposed Jacobian gives its gradient over every injection.
        """
        V = result.V
        pvpq, pq = self._pvpq, self.pq
        n1 = len(pvpq)
        grad_va = np.zeros(self.n_bus)
        grad_vm = np.zeros(self.n_bus)
        if violation.kind.endswith("voltage"):
            grad_vm[self.bus_row_of(np.asarray([violation.element]))[0]] = 1.0
        else:
            self._current_gradient(V, violation, grad_va, grad_vm)
        g = np.r_[grad_va[pvpq], grad_vm[pq]]
        w = splu(csc_matrix(self._jacobian(V).T)).solve(g)
        dP = np.zeros(self.n_bus)
        dQ = np.zeros(self.n_bus)
        dP[pvpq] = w[:n1]
        dQ[pq] = w[n1:]
        rows = self.bus_row_of(np.asarray(buses, dtype=np.int64))
        return dP[rows] / self.base_mva, dQ[rows] / self.base_mva

    def _current_gradient(self, V: np.ndarray, violation: Violation, grad_va: np.ndarray,
                          grad_vm: np.ndarray) -> None:
        """Gradient of the overloaded branch's loading (%) over angles and magnitudes:
        the side that sets it (from or to), d|I|/dx = Re(conj(I)·dI/dx)/|I|."""
        if violation.kind == "line_overload":
            k = self.grid.net_index("line").index(violation.element)
            row = int(self.line_rows[k])
            to_pct = {"f": 100.0 * self.base_mva / (SQRT3 * self.line_kv[k])
                      / self.line_rating_ka[k]}
            to_pct["t"] = to_pct["f"]
        else:
            k = self.grid.net_index("trafo").index(violation.element)
            row = int(self.trafo_rows[k])
            to_pct = {"f": 100.0 * self.base_mva / (SQRT3 * self.trafo_kv[k])
                      / self.trafo_hv_rating_ka[k],
                      "t": 100.0 * self.base_mva / (SQRT3 * self.trafo_lv_kv[row])
                      / self.trafo_lv_rating_ka[k]}
        sides = {"f": self.Yf.getrow(row), "t": self.Yt.getrow(row)}
        side = max(sides, key=lambda s: abs((sides[s] @ V)[0]) * to_pct[s])
        y = sides[side]
        current = (y @ V)[0]
        cols, values = y.indices, y.data
        dI_dVa = values * 1j * V[cols]
        dI_dVm = values * V[cols] / np.abs(V[cols])
        scale = to_pct[side] / abs(current)
        grad_va[cols] += scale * (np.conj(current) * dI_dVa).real
        grad_vm[cols] += scale * (np.conj(current) * dI_dVm).real


def reference_runpp(grid: Grid, changes: Mapping[int, complex], load_scale: float = 1.0,
                    sgen_scale: float = 1.0) -> pp.pandapowerNet:
    """The same MTU solved by plain pandapower ``runpp`` (the reference our solver is held
    to in tests and compared with in the benchmark): the changes become static generators
    on a copy of the network."""
    net = grid.net
    net.load.scaling *= load_scale
    net.sgen.scaling *= sgen_scale
    for bus, s in changes.items():
        pp.create_sgen(net, bus, p_mw=s.real, q_mvar=s.imag, name="flexibility")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(net, algorithm="nr", numba=False)
    return net
