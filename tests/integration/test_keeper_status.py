"""`keeper status`, the snapshot reader and the history reader against a live deployment on anvil."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import keeper.market
from keeper.abi import load_abi
from keeper.market import format_status, read_history, read_snapshot
from tests.integration.test_hedging import oracle_floor, seed

ROOT = Path(__file__).resolve().parents[2]
USD = 10**6
WAD = 10**18
DAY = 86_400


def test_snapshot_reads_the_deployment_as_the_chain_says(hedged, depositor, buyer, keeper, stranger, chain):
    h = seed(hedged, depositor, buyer, keeper, chain)
    s = read_snapshot(h.vault.address)
    assert s.block == chain.blocks.head.number and s.timestamp == chain.blocks.head.timestamp
    assert (s.book, s.hedger, s.guard, s.feed) == (h.book.address, h.hedger.address, h.guard.address, h.feed.address)
    assert (s.pool, s.underlying) == (h.m.pool.address, h.m.weth.address)
    assert s.nav == h.vault.totalAssets() / 10**6 and s.nav_error is None
    assert s.free_collateral == h.vault.free_collateral() / 10**6
    assert s.level == 0 and s.latched == () and s.live == ()
    assert s.oracle_price == 3_000 and abs(s.pool_twap - 3_000) < 5 and s.pool_depth > 0
    assert s.oracle_round == h.feed.latest_round()
    assert s.net_delta_eth == h.book.net_delta() / WAD and s.hedge_eth == 0
    (m,) = s.series
    assert (m.strike, m.is_call, m.open_interest, m.vol) == (3_000, True, 20, 0.6)
    chain_mark = h.book.marks(m.series_id)
    assert (m.gamma, m.vega, m.spot) == (chain_mark.gamma / WAD, chain_mark.vega / WAD, chain_mark.spot / WAD)
    assert m.gamma > 0 and m.vega > 0 and m.delta == chain_mark.delta / WAD

    lim = s.limits
    hg, book = h.hedger, h.book
    assert lim.max_trade == hg.max_trade() / WAD and lim.cooldown == hg.cooldown()
    assert lim.max_hourly_notional == hg.max_hourly_notional() / WAD and lim.max_daily_notional == hg.max_daily_notional() / WAD
    assert lim.delta_band == hg.delta_band() / WAD and lim.max_slippage == hg.max_slippage() / WAD
    assert lim.max_deviation == hg.max_oracle_dex_deviation() / WAD and lim.twap_window == hg.twap_window()
    assert lim.max_utilisation == book.max_utilisation() / WAD and lim.max_vega_ratio == book.max_vega_ratio() / WAD
    assert lim.max_gamma_ratio == book.max_gamma_ratio() / WAD
    assert lim.rebalance_wait == 0 and lim.risk_budget is None  # no rebalance yet; no budget on these contracts
    assert lim.hourly_room == pytest.approx(s.nav * lim.max_hourly_notional) and lim.daily_room == pytest.approx(s.nav)
    text = format_status(s)
    assert "risk budget  none on chain" in text and "hedge limits trade <= 10.00% of NAV" in text and "INVALID" not in text

    chain.pending_timestamp += 3_601  # the feed misses its heartbeat
    h.guard.poke(sender=stranger)
    s = read_snapshot(h.vault.address)
    assert s.level_name == "withdraw-only" and s.latched == ("oracle_stale",) and "oracle_stale" in s.live
    text = format_status(s)
    assert "withdraw-only" in text and "latched: oracle_stale" in text and h.vault.address in text


def _bucket(used, cap, window, elapsed):  # Hedger._bucket, in integers
    drained = cap * min(elapsed, window) // window
    return 0 if drained >= used else used - drained


def test_limits_after_a_rebalance_follow_the_hedgers_buckets_and_cooldown(hedged, depositor, buyer, keeper, chain):
    h = seed(hedged, depositor, buyer, keeper, chain)
    usdc_in = 15_000 * USD
    h.hedger.rebalance(True, usdc_in, oracle_floor(h, usdc_in), chain.pending_timestamp + 60, sender=keeper)
    reads = []
    for later in (100, 900):  # within the cooldown; then past it, the hourly bucket drained, the daily not yet
        chain.mine(1, timestamp=chain.pending_timestamp + later)
        s = read_snapshot(h.vault.address)
        hg = h.hedger
        nav = h.vault.totalAssets() * 10**12  # wad USD, as the hedger sees it
        elapsed = s.timestamp - hg.caps_updated_at()
        for room, used, cap, window in (
            (s.limits.hourly_room, hg.hourly_used(), nav * hg.max_hourly_notional() // WAD, 3_600),
            (s.limits.daily_room, hg.daily_used(), nav * hg.max_daily_notional() // WAD, DAY),
        ):
            assert room == pytest.approx((cap - _bucket(used, cap, window, elapsed)) / WAD, rel=1e-9)
        assert s.limits.rebalance_wait == max(0, hg.last_rebalance() + hg.cooldown() - s.timestamp)
        assert s.hedge_room == min(s.limits.max_trade * s.nav, s.limits.hourly_room, s.limits.daily_room)
        reads.append(s)
    soon, later = reads
    assert soon.limits.rebalance_wait > 0 and later.limits.rebalance_wait == 0
    assert soon.limits.hourly_room < later.limits.hourly_room == pytest.approx(later.nav * later.limits.max_hourly_notional)
    assert soon.limits.daily_room < later.limits.daily_room < later.nav * later.limits.max_daily_notional


def test_risk_budget_reader_tolerates_an_abi_ahead_of_the_chain(hedged, monkeypatch):
    """A packaged ABI with a `risk_budget` getter the deployed guard lacks: the call reverts, the budget reads None."""
    from ape.contracts import ContractInstance
    from ethpm_types import ContractType

    getter = {"type": "function", "name": "risk_budget", "inputs": [], "stateMutability": "view",
              "outputs": [{"name": "", "type": "uint256"}]}
    guard_type = ContractType.model_validate({"contractName": "RiskGuard", "abi": load_abi("RiskGuard") + [getter]})
    plain = keeper.market.contract_at
    monkeypatch.setattr(
        keeper.market, "contract_at",
        lambda name, address: ContractInstance(address, guard_type) if name == "RiskGuard" else plain(name, address),
    )
    assert read_snapshot(hedged.vault.address).limits.risk_budget is None
    # where the getter answers, its wad value is the budget (any wad fraction getter stands in for it here)
    monkeypatch.setattr(keeper.market, "RISK_BUDGET_GETTER", "max_slippage")
    assert read_snapshot(hedged.vault.address).limits.risk_budget == hedged.hedger.max_slippage() / WAD


def test_snapshot_and_history_take_a_constant_number_of_round_trips(hedged, depositor, buyer, keeper, chain):
    """read_snapshot: the head block, then three batches whatever the number of series; read_history: one batch."""
    h = seed(hedged, depositor, buyer, keeper, chain)
    web3_provider = chain.provider.web3.provider
    plain = web3_provider.make_batch_request
    batches = []

    def counted(requests):
        batches.append(len(requests))
        return plain(requests)

    def trips(fn, *args, **kwargs):
        batches.clear()
        web3_provider.make_batch_request = counted
        try:
            return fn(*args, **kwargs), list(batches)
        finally:
            web3_provider.make_batch_request = plain

    s, one = trips(read_snapshot, h.vault.address)
    for strike in (2_800, 3_100, 3_200):
        h.book.create_series(strike * WAD, chain.pending_timestamp + 7 * DAY, strike > 3_000, 6 * 10**17, sender=keeper)
    s4, four = trips(read_snapshot, h.vault.address)
    assert len(s.series) == 1 and len(s4.series) == 4
    assert len(one) == len(four) == 3
    assert one[:2] == four[:2] and one[2] + 9 == four[2]  # more series only widen the last batch (3 calls each)
    _, hist = trips(read_history, s4, rounds=8)
    assert len(hist) == 1


def test_history_reads_the_recent_oracle_rounds_and_pool_twaps(hedged, depositor, buyer, keeper, owner, chain):
    h = seed(hedged, depositor, buyer, keeper, chain)
    for answer in (3_010, 2_990, 3_005):
        chain.pending_timestamp += 300
        h.feed.set_answer(answer * 10**8, sender=owner)
    s = read_snapshot(h.vault.address)
    latest = h.feed.latest_round()
    hist = read_history(s, rounds=3, seconds_agos=(s.limits.twap_window, 0))
    assert hist.block == s.block and hist.pool_error is None
    expected = []
    for rid in range(latest - 2, latest + 1):
        got = h.feed.getRoundData(rid)
        expected.append((rid, got[1] / 10**8, got[3]))
    assert list(hist.oracle_rounds) == expected and [r[1] for r in expected] == [3_010, 2_990, 3_005]
    ((start, end, twap),) = hist.pool_twaps
    assert (start, end) == (s.timestamp - s.limits.twap_window, s.timestamp)
    assert twap == pytest.approx(s.pool_twap, rel=1.0001e-4)  # the hedger truncates the mean tick

    everything = read_history(s, rounds=1_000)  # walks back to round 1, never past it
    assert [r[0] for r in everything.oracle_rounds] == list(range(1, latest + 1))

    # a window older than the pool's first observation: the newest part that answers is kept
    hist = read_history(s, rounds=0, seconds_agos=(10**8, 600, 300, 0))
    assert hist.oracle_rounds == () and len(hist.pool_twaps) == 1 and hist.pool_twaps[0][:2] == (s.timestamp - 300, s.timestamp)
    assert "reverted: OLD" in hist.pool_error and "kept the last 1 intervals" in hist.pool_error


def _keeper(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # this checkout's keeper package, wherever the command runs
    return subprocess.run(
        [sys.executable, "-m", "keeper.cli", "status", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_status_command_against_the_node(hedged, depositor, buyer, keeper, chain):
    h = seed(hedged, depositor, buyer, keeper, chain)
    run = _keeper("--vault", h.vault.address, "--network", chain.provider.uri)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"vault {h.vault.address}" in run.stdout and "risk level   normal" in run.stdout
    assert "1 live" in run.stdout and "risk budget  none on chain" in run.stdout
    run = _keeper("--vault", h.vault.address, "--network", chain.provider.uri, "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    doc = json.loads(run.stdout)
    assert doc["vault"] == h.vault.address and doc["level_name"] == "normal" and doc["invalid"] is None
    assert doc["nav"] == h.vault.totalAssets() / 10**6 and len(doc["series"]) == 1
    assert doc["limits"]["max_trade"] == h.hedger.max_trade() / WAD and doc["limits"]["risk_budget"] is None


def test_status_needs_no_ape_project(hedged, depositor, buyer, keeper, chain, tmp_path):
    """Run where there is no ape project (no contracts, no .build): the packaged ABIs are enough."""
    h = seed(hedged, depositor, buyer, keeper, chain)
    run = _keeper("--vault", h.vault.address, "--network", chain.provider.uri, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"vault {h.vault.address}" in run.stdout and "hedge caps" in run.stdout
    assert not (tmp_path / ".build").exists()


def test_status_bad_input_is_a_clear_error(stranger):
    run = _keeper("--vault", "0x1234")
    assert run.returncode == 2 and "must be a 0x-prefixed 20-byte hex address" in run.stderr
    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = _keeper("--vault", "0x" + "11" * 20, "--network", f"http://127.0.0.1:{port}")
    assert run.returncode == 2 and "keeper: error: cannot read vault" in run.stderr
    assert "Traceback" not in run.stderr


def test_reading_an_account_without_code_is_a_clear_error(stranger):
    with pytest.raises(ValueError, match="is not a Ballast vault: no return data"):
        read_snapshot(stranger.address)
