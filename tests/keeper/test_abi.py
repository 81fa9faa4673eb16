"""keeper/abi: the packaged ABIs are what the contracts compile to and what npm ships (they never drift)."""
import json
from pathlib import Path

import pytest

from keeper.abi import BALLAST, NAMES, load_abi
from scripts.export_abis import ABI_DIR, compiled_abis, npm_abis, render

ROOT = Path(__file__).resolve().parents[2]
HINT = "rerun `.venv/bin/python scripts/export_abis.py` and commit keeper/abi"


def test_the_package_ships_every_abi_the_keeper_reads():
    assert ABI_DIR == ROOT / "keeper" / "abi"
    assert sorted(p.stem for p in ABI_DIR.glob("*.json")) == sorted(NAMES)
    for name in NAMES:
        assert load_abi(name) == json.loads((ABI_DIR / f"{name}.json").read_text())


def test_committed_ballast_abis_match_the_compiled_contracts(project):
    compiled = compiled_abis(project)
    assert tuple(compiled) == BALLAST
    for name, abi in compiled.items():
        assert (ABI_DIR / f"{name}.json").read_text() == render(abi), f"keeper/abi/{name}.json is stale: {HINT}"


def test_committed_uniswap_pool_abi_matches_the_npm_artifact():
    if not (ROOT / "node_modules" / "@uniswap" / "v3-core").exists():
        pytest.skip("node_modules not installed (make setup)")
    for name, abi in npm_abis(ROOT).items():
        assert (ABI_DIR / f"{name}.json").read_text() == render(abi), f"keeper/abi/{name}.json is stale: {HINT}"


def _signature(entry):
    return (entry["name"], tuple(i["type"] for i in entry["inputs"]), tuple(o["type"] for o in entry["outputs"]))


def test_the_standard_aggregator_abi_reads_the_test_feed(project):
    """AggregatorV3.json is hand-written (the Chainlink interface); the test feed must serve every function of it."""
    standard = {_signature(e) for e in load_abi("AggregatorV3") if e["type"] == "function"}
    assert {s[0] for s in standard} == {"decimals", "description", "version", "getRoundData", "latestRoundData"}
    mock = project.MockAggregator.contract_type.model_dump(mode="json", by_alias=True)["abi"]
    assert standard <= {_signature(e) for e in mock if e["type"] == "function"}
