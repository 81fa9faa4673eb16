"""`keeper status` and the snapshot reader against a live deployment on anvil."""
import json
import socket
import subprocess
import sys
from pathlib import Path

from keeper.market import format_status, read_snapshot
from tests.integration.test_hedging import seed

ROOT = Path(__file__).resolve().parents[2]
WAD = 10**18


def test_snapshot_reads_the_deployment_as_the_chain_says(hedged, depositor, buyer, keeper, stranger, chain):
    h = seed(hedged, depositor, buyer, keeper, chain)
    s = read_snapshot(h.vault.address)
    assert s.block == chain.blocks.head.number
    assert s.nav == h.vault.totalAssets() / 10**6 and s.nav_error is None
    assert s.free_collateral == h.vault.free_collateral() / 10**6
    assert s.level == 0 and s.latched == () and s.live == ()
    assert s.oracle_price == 3_000 and abs(s.pool_twap - 3_000) < 5 and s.pool_depth > 0
    # Changed: the vault's net delta is the hedger's (hedge - buyers' delta); the book has no net_delta().
    assert s.net_delta_eth == h.hedger.net_delta() / WAD and s.hedge_eth == 0
    (m,) = s.series
    assert (m.strike, m.is_call, m.open_interest, m.vol) == (3_000, True, 20, 0.6)

    chain.pending_timestamp += 3_601  # the feed misses its heartbeat
    h.guard.poke(sender=stranger)
    s = read_snapshot(h.vault.address)
    assert s.level_name == "withdraw-only" and s.latched == ("oracle_stale",) and "oracle_stale" in s.live
    text = format_status(s)
    assert "withdraw-only" in text and "latched: oracle_stale" in text and h.vault.address in text


def _keeper(*args):
    return subprocess.run(
        [sys.executable, "-m", "keeper.cli", "status", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_status_command_against_the_node(hedged, depositor, buyer, keeper, chain):
    h = seed(hedged, depositor, buyer, keeper, chain)
    run = _keeper("--vault", h.vault.address, "--network", chain.provider.uri)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"vault {h.vault.address}" in run.stdout and "risk level   normal" in run.stdout
    assert "1 live" in run.stdout
    run = _keeper("--vault", h.vault.address, "--network", chain.provider.uri, "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    doc = json.loads(run.stdout)
    assert doc["vault"] == h.vault.address and doc["level_name"] == "normal"
    assert doc["nav"] == h.vault.totalAssets() / 10**6 and len(doc["series"]) == 1


def test_status_bad_input_is_a_clear_error():
    run = _keeper("--vault", "0x1234")
    assert run.returncode == 2 and "must be a 0x-prefixed 20-byte hex address" in run.stderr
    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = _keeper("--vault", "0x" + "11" * 20, "--network", f"http://127.0.0.1:{port}")
    assert run.returncode == 2 and "keeper: error: cannot read vault" in run.stderr
    assert "Traceback" not in run.stderr
