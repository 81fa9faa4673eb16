"""Ballast demo on a local anvil chain (`make demo`, i.e. `ape run demo`).

ape starts anvil (ethereum:local:foundry). The script deploys the local market
(real Uniswap V3 from npm, WETH9, a 6-decimal USDC, an ETH/USD feed), then
Ballast (vault, option book, option market, hedger, risk guard); a depositor
deposits; the keeper opens two series and posts vols; a buyer buys options;
the keeper hedges the book's delta on the Uniswap pool; the oracle misses its
heartbeat and a breaker trips, refuses a deposit and recovers one level per
cooldown; ETH moves and anyone refreshes the marks (the keeper's off-chain
Greeks are checked against the on-chain marks); the series expire, settle
from the first oracle round after expiry, the buyer claims, the keeper closes
the hedge and the depositor redeems. Every figure printed is read back from
the chain. ape stops anvil on exit.
"""
import sys
from pathlib import Path

from ape import accounts, chain, project
from ape.logging import logger

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from keeper.allocator import hedge_order  # noqa: E402
from keeper.greeks import bs_greeks  # noqa: E402
from keeper.market import eth_call, format_status, read_snapshot  # noqa: E402
from scripts.market import arbitrage_to, deploy_market, pool_price  # noqa: E402
from scripts.vault import deploy_ballast  # noqa: E402

USD = 10**6
WAD = 10**18
DAY = 86_400
YEAR = 365 * DAY


def usd(units: int) -> str:
    return f"{units / USD:,.2f} USDC"


LEVELS = ["normal", "reduce-only", "withdraw-only", "halted"]


def breakers(guard, tx) -> str:
    names = [ev.name for ev in tx.events.filter(guard.BreakerTripped)]
    resets = [ev.name for ev in tx.events.filter(guard.BreakerReset)]
    parts = [f"tripped {', '.join(names)}"] if names else []
    parts += [f"reset {', '.join(resets)}"] if resets else []
    parts += [f"level {LEVELS[ev.previous]} -> {LEVELS[ev.level]}" for ev in tx.events.filter(guard.LevelChanged)]
    return "; ".join(parts) or f"no change (level {LEVELS[guard.level()]})"


def hedge(hedger, feed, keeper, label):
    """A rebalance toward zero delta, converted to on-chain arguments by the allocator's
    `hedge_order` (the one home of the size and the oracle min_out floor), checked on-chain."""
    spot_wad = feed.latestAnswer() * 10 ** (18 - feed.decimals())
    trade_eth = -hedger.net_delta() / WAD
    order = hedge_order(trade_eth, spot_wad / WAD, max_slippage=hedger.max_slippage() / WAD, cost_fraction=0.005,
                        now=chain.pending_timestamp, spot_wad=spot_wad)
    amount = order.amount_in if order.buy else min(order.amount_in, project.Vault.at(hedger.vault()).hedge_units())
    tx = hedger.rebalance(order.buy, amount, order.min_out, order.deadline, sender=keeper)
    (ev,) = tx.events.filter(hedger.Rebalanced)
    what = f"buys {ev.amount_out / WAD:.4f} ETH for {usd(ev.amount_in)}" if order.buy else f"sells {ev.amount_in / WAD:.4f} ETH for {usd(ev.amount_out)}"
    print(f"   {label}: keeper {what} on Uniswap; net delta {ev.delta_before / WAD:+.4f} -> {ev.delta_after / WAD:+.4f} ETH "
          f"({tx.gas_used:,} gas)")


def main():
    logger.set_level("WARNING")
    owner, keeper, guardian, depositor, buyer, arb = accounts.test_accounts[:6]
    print(f"anvil chain {chain.chain_id}, started by ape")

    m = deploy_market(owner)
    print(f"\n1. local market: Uniswap V3 pool {m.pool.address} (0.05 %), price {pool_price(m):,.2f} USD/ETH")
    print(f"   feed {m.feed.address} (8 decimals) at {m.feed.latestAnswer() / 1e8:,.2f}")

    b = deploy_ballast(project, owner, keeper, guardian, m.usdc, m.feed, m.router, m.pool, m.weth, cap=10_000_000 * USD)
    vault, book, market, hedger, guard = b.vault, b.book, b.options, b.hedger, b.guard
    chain.pending_timestamp += 700  # pool history for the TWAP
    m.feed.set_answer(3_000 * 10**8, sender=owner)
    print(f"\n2. Ballast: vault {vault.address} (holds the money), risk guard {guard.address} (every risk rule;")
    print(f"   level {LEVELS[guard.level()]}, risk budget {guard.risk_budget() / WAD:.0%}), book {book.address}, market {market.address},")
    print(f"   hedger {hedger.address}, pricer {b.pricer.address}")

    m.usdc.mint(depositor, 250_000 * USD, sender=depositor)
    m.usdc.approve(vault, 2**256 - 1, sender=depositor)
    shares = vault.deposit(200_000 * USD, sender=depositor).return_value
    print(f"\n3. deposit: {usd(200_000 * USD)} -> {shares / 10**vault.decimals():,.2f} bUSDC; NAV {usd(vault.totalAssets())}")

    expiry = chain.pending_timestamp + 7 * DAY
    call = book.create_series(3_300 * WAD, expiry, True, 65 * 10**16, sender=keeper).return_value
    put = book.create_series(2_700 * WAD, expiry, False, 75 * 10**16, sender=keeper).return_value
    print("\n4. keeper opens 7-day series and posts vols (the book prices them on-chain):")
    for sid, name in ((call, "3,300 call"), (put, "2,700 put")):
        mk = book.marks(sid)
        print(f"   #{sid} {name}: vol {mk.vol / WAD:.0%}, mark {mk.price / WAD:,.4f} USD, delta {mk.delta / WAD:+.4f}, vega {mk.vega / WAD:,.2f}")

    m.usdc.mint(buyer, 50_000 * USD, sender=buyer)
    m.usdc.approve(vault, 2**256 - 1, sender=buyer)
    for sid, size in ((call, 10), (put, 8)):
        quote = market.quote(sid, size * WAD)
        paid = market.buy(sid, size * WAD, quote, chain.pending_timestamp + 300, sender=buyer).return_value
        print(f"\n5. buyer buys {size} ETH of #{sid} for {usd(paid)} (value at the oracle spot + {market.spread() / WAD:.0%} spread)")
    ns = vault.nav_status()
    v = book.valuation(m.feed.latestAnswer() * 10**10, vault.hedge_units())
    print(f"   NAV {usd(ns.nav)}; stress margin {usd(ns.margin)} (worst of 16 spot shocks, spot -> 0 .. +200 %); "
          f"free collateral {usd(vault.free_collateral())}")
    print(f"   book: buyers' delta {v.delta / WAD:+.3f} ETH, vega {v.vega / WAD:,.0f} USD per 1.00 of vol, "
          f"cash gamma {v.cash_gamma / WAD:,.0f} USD per 1 % move")

    print("\n6. hedging (oracle fresh, pool TWAP within 2 %, min_out >= oracle - 1 %, <= 10 % of NAV, band 1 % of NAV x budget):")
    hedge(hedger, m.feed, keeper, "delta hedge")
    print(f"   vault holds {vault.hedge_units() / WAD:.4f} WETH; NAV {usd(vault.totalAssets())}")

    print("\n7. circuit breakers: the feed misses its 1 h heartbeat; anyone pokes the guard:")
    chain.pending_timestamp += 3_601
    tx = guard.poke(sender=depositor)
    print(f"   poke: {breakers(guard, tx)}")
    _, reason = eth_call(vault, "deposit", 1_000 * USD, depositor, sender=depositor)  # simulated, nothing sent
    print(f"   a deposit is refused: '{reason}' "
          f"(maxDeposit {usd(vault.maxDeposit(depositor))})")
    got = vault.withdraw(1_000 * USD, sender=depositor)
    print(f"   a withdrawal still works: {usd(1_000 * USD)} out, {got.gas_used:,} gas")
    m.feed.set_answer(3_000 * 10**8, sender=owner)
    for hour in (1, 2):
        chain.pending_timestamp += 3_600
        m.feed.set_answer(3_000 * 10**8, sender=owner)
        book.update_marks(sender=depositor)
        tx = guard.poke(sender=depositor)
        print(f"   feed back; {hour} h later poke: {breakers(guard, tx)}")

    chain.pending_timestamp += DAY
    arbitrage_to(m, 3_120, arb)  # arbitrageurs bring the pool to the market price
    chain.pending_timestamp += 700
    m.feed.set_answer(3_120 * 10**8, sender=owner)
    book.update_marks(sender=depositor)
    mk = book.marks(call)
    s0, t0, _ = book.cache()
    tau = (expiry - t0) / YEAR
    off = bs_greeks(s0 / WAD, 3_300.0, tau, 0.0, mk.vol / WAD, True)
    print(f"\n8. a day later ETH is 3,120 (pool {pool_price(m):,.2f}): anyone refreshes the marks. Call #{call} on-chain "
          f"{mk.price / WAD:,.10f} vs keeper off-chain {float(off.price):,.10f} (diff {abs(mk.price / WAD - float(off.price)):.1e})")
    hedge(hedger, m.feed, keeper, "re-hedge")
    tx = guard.poke(sender=depositor)
    print(f"   NAV {usd(vault.totalAssets())}; guard poke: {breakers(guard, tx)}")
    print("   what `keeper status --vault ...` prints now:")
    print("\n".join("     " + line for line in format_status(read_snapshot(vault.address)).splitlines()))

    chain.pending_timestamp = expiry + 60
    m.feed.set_answer(3_450 * 10**8, sender=owner)
    rid = m.feed.latest_round()
    market.settle(call, rid, sender=buyer)
    market.settle(put, rid, sender=buyer)
    print(f"\n9. expiry: first oracle round after expiry says 3,450. Call pays {market.payoff_per_unit(call) / WAD:,.2f} USD/ETH, "
          f"put expires worthless; {usd(vault.total_reserved())} moved to the claims reserve")
    before = m.usdc.balanceOf(buyer)
    market.claim(call, sender=buyer)
    print(f"   buyer claims {usd(m.usdc.balanceOf(buyer) - before)}")
    arbitrage_to(m, 3_450, arb)
    chain.pending_timestamp += 700
    m.feed.set_answer(3_450 * 10**8, sender=owner)
    hedge(hedger, m.feed, keeper, "book closed")

    before = m.usdc.balanceOf(depositor)
    vault.redeem(vault.balanceOf(depositor), sender=depositor)
    got = m.usdc.balanceOf(depositor) - before
    print(f"\n10. depositor redeems everything: {usd(got)} (deposited {usd(200_000 * USD)}, took {usd(1_000 * USD)} out in step 7): "
          f"{(got + 1_000 * USD - 200_000 * USD) / USD:+,.2f} USDC from premiums, the call's payoff and the hedge")
    print("\ndemo done; ape stops anvil.")
