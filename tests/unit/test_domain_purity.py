"""Domain modules stay pure: no web, stream, SQL, chain or HTTP client imports (STYLE.md
"Boundaries"), neither written in the module nor pulled in through what it imports."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ledger", "market", "dso", "aggregator", "access_layer")
FORBIDDEN = frozenset({"fastapi", "faust", "sqlalchemy", "web3", "kafka", "aiokafka", "psycopg",
                       "starlette", "httpx", "requests"})


def _domain_files() -> list[Path]:
    return sorted(path for package in PACKAGES
                  for path in (ROOT / package).glob("domain/**/*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(source: str) -> list[str]:
    """Every absolute module named by an import statement, at any depth of the module."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _forbidden(module: str) -> bool:
    return module.split(".")[0] in FORBIDDEN


def test_domain_modules_exist_where_the_check_looks() -> None:
    files = _domain_files()
    assert files, f"no */domain/**/*.py under {ROOT} for {PACKAGES}"
    assert "aggregator.domain.events" in {_module_name(path) for path in files}


def test_the_import_scan_sees_direct_nested_and_from_imports() -> None:
    source = ("import kafka.errors\nfrom sqlalchemy.orm import Session\nimport json\n"
              "from . import events\ndef lazy():\n    import web3\n")
    assert [m for m in _imported_modules(source) if _forbidden(m)] == [
        "kafka.errors", "sqlalchemy.orm", "web3"]


def test_no_domain_module_imports_an_adapter_library() -> None:
    offenders = [f"{path.relative_to(ROOT)}: import {module}"
                 for path in _domain_files()
                 for module in _imported_modules(path.read_text(encoding="utf-8"))
                 if _forbidden(module)]
    assert offenders == [], "domain modules import adapter libraries:\n" + "\n".join(offenders)


_PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


# The math libraries STYLE.md lets the domain use. pandapower imports psycopg when it is
# installed (for its own SQL export, which we never call): what these pull in by themselves
# is theirs, not ours; the domain may add nothing to it.
MATH_LIBRARIES = ("numpy", "scipy.sparse", "scipy.optimize", "deap.tools", "networkx",
                  "pandapower", "pandapower.networks", "pandapower.topology",
                  "pandapower.estimation")


def _loaded_by(modules: list[str]) -> set[str]:
    result = subprocess.run([sys.executable, "-c", _PROBE, *modules], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return {name for name in json.loads(result.stdout) if _forbidden(name)}


def test_importing_the_domain_pulls_in_no_adapter_library_transitively() -> None:
    modules = [_module_name(path) for path in _domain_files()]
    loaded = _loaded_by(modules) - _loaded_by(list(MATH_LIBRARIES))
    assert loaded == set(), f"importing {modules} loads adapter libraries: {sorted(loaded)}"
