"""Natspec on every external function written in the deployable contracts.

Every `def` under `@external` written in these files (not the getters of
`public()` variables, not functions exported from snekmate or our modules)
has a docstring with a `@notice` or `@dev`, an `@param NAME` for each
argument, and a `@return` when it returns something, as snekmate and Curve do.

The contracts are compiled with the vyper of this interpreter's environment
(`-f ast,abi,devdoc,userdoc`); no chain is needed. Vyper itself rejects an
`@param` naming no argument, an empty description and too many `@return`s.
"""
import importlib.util
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

CONTRACTS = ("Vault", "RiskGuard", "OptionBook", "OptionMarket", "Hedger", "Pricer")
CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "contracts"
VYPER = Path(sys.executable).parent / "vyper"


def _snekmate_root() -> Path:
    """The site-packages directory snekmate is imported from (a vyper search path)."""
    spec = importlib.util.find_spec("snekmate")
    assert spec is not None and spec.submodule_search_locations, "snekmate is not installed"
    return Path(next(iter(spec.submodule_search_locations))).parent


@cache
def _compile(name: str) -> tuple[dict, list, dict, dict]:
    """(ast, abi, devdoc, userdoc) of contracts/<name>.vy."""
    if not VYPER.exists():
        pytest.fail(f"no vyper next to this interpreter: {VYPER}")
    proc = subprocess.run(
        [str(VYPER), "-p", str(_snekmate_root()), "-p", ".", f"{name}.vy", "-f", "ast,abi,devdoc,userdoc"],
        cwd=CONTRACTS_DIR, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        pytest.fail(f"{name}.vy does not compile:\n{proc.stderr}")
    ast, abi, devdoc, userdoc = (json.loads(line) for line in proc.stdout.strip().splitlines())
    return ast, abi, devdoc, userdoc


def _written_externals(ast: dict) -> list[dict]:
    """The module's own `@external` FunctionDefs (module exports are not in its AST body)."""
    return [
        node for node in ast["ast"]["body"]
        if node["ast_type"] == "FunctionDef"
        and any(d.get("id") == "external" for d in node["decorator_list"])
    ]


def missing_natspec(name: str) -> list[str]:
    """Every natspec item missing from `name`'s written external functions."""
    ast, abi, devdoc, userdoc = _compile(name)
    written = _written_externals(ast)
    assert written, f"{name}.vy: no written @external functions found (the AST walk is wrong)"
    abi_names = {f["name"] for f in abi if f.get("type") == "function"}
    dev_methods = devdoc.get("methods", {})
    user_methods = userdoc.get("methods", {})
    missing = []
    for fn in written:
        fname = fn["name"]
        assert fname in abi_names, f"{name}.vy: {fname} is @external but not in the ABI"
        # A function with default arguments has one ABI signature per arity.
        # Vyper puts its @notice under the first signature only (devdoc under
        # all), so look at every signature of the one `def`.
        sigs = [s for s in set(dev_methods) | set(user_methods) if s.split("(", 1)[0] == fname]
        dev = [dev_methods.get(s, {}) for s in sigs]
        args = [a["arg"] for a in fn["args"]["args"]]
        probs = []
        if not any(user_methods.get(s, {}).get("notice") for s in sigs) and not any(d.get("details") for d in dev):
            probs.append("no @notice/@dev")
        documented = {p for d in dev for p in d.get("params", {})}
        probs += [f"@param {a}" for a in args if a not in documented]
        if fn.get("returns") is not None and not any(d.get("returns") for d in dev):
            probs.append("@return")
        if probs:
            missing.append(f"{name}.{fname}({', '.join(args)}): {', '.join(probs)}")
    return missing


@pytest.mark.parametrize("name", CONTRACTS)
def test_every_written_external_has_natspec(name):
    missing = missing_natspec(name)
    if missing:
        pytest.fail(f"{len(missing)} natspec items missing in {name}.vy:\n  " + "\n  ".join(missing), pytrace=False)
