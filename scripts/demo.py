"""Ballast demo on a local anvil chain (`make demo`, i.e. `ape run demo`).

ape starts anvil (ethereum:local:foundry). The script deploys the local market
(real Uniswap V3 from npm, WETH9, a 6-decimal USDC, an ETH/USD feed), then the
vault, option book and option market; a depositor deposits; the keeper opens
two series and posts vols; a buyer buys options; the oracle moves and anyone
refreshes the marks; the keeper's off-chain Greeks are checked against the
on-chain marks; the series expire, settle from the first oracle round after
expiry, the buyer claims, and the depositor withdraws. Every figure printed is
read back from the chain. ape stops anvil on exit.
"""
import sys
from pathlib import Path

from ape import accounts, chain, project
from ape.logging import logger

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from keeper.greeks import bs_greeks  # noqa: E402
from scripts.market import deploy_market, pool_price  # noqa: E402

USD = 10**6
WAD = 10**18
DAY = 86_400
YEAR = 365 * DAY


def usd(units: int) -> str:
    return f"{units / USD:,.2f} USDC"


def main():
    logger.set_level("WARNING")
    owner, keeper, guardian, depositor, buyer = accounts.test_accounts[:5]
    print(f"anvil chain {chain.chain_id}, started by ape")

    m = deploy_market(owner)
    print(f"\n1. local market: Uniswap V3 pool {m.pool.address} (0.05 %), price {pool_price(m):,.2f} USD/ETH")
    print(f"   feed {m.feed.address} (8 decimals) at {m.feed.latestAnswer() / 1e8:,.2f}")

    vault = project.Vault.deploy(m.usdc, "Ballast ETH Options USDC", "bUSDC", keeper, guardian, 10_000_000 * USD, sender=owner)
    book = project.OptionBook.deploy(vault, m.feed, sender=owner)
    market = project.OptionMarket.deploy(vault, book, m.feed, sender=owner)
    vault.set_option_book(book, sender=owner)
    vault.set_option_market(market, sender=owner)
    book.set_market(market, sender=owner)
    print(f"\n2. Ballast: vault {vault.address} (holds the money), book {book.address}, market {market.address}")

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
        print(f"\n5. buyer buys {size} ETH of #{sid} for {usd(paid)} (mark + {market.spread() / WAD:.0%} spread)")
    nav = vault.totalAssets()
    print(f"   NAV {usd(nav)}; stress margin {usd(book.stress_margin())} (worst of 13 spot shocks); "
          f"free collateral {usd(vault.free_collateral())}")
    vega, gamma = book.net_greeks()
    print(f"   book: net delta {book.net_delta() / WAD:+.3f} ETH, |vega| {vega / WAD:,.0f} USD per 1.00 of vol, "
          f"|cash gamma| {gamma / WAD:,.0f} USD per 1 % move (unhedged: the Uniswap hedger is not built yet)")

    chain.pending_timestamp += DAY
    m.feed.set_answer(3_120 * 10**8, sender=owner)
    book.update_marks(sender=depositor)
    mk = book.marks(call)
    tau = (expiry - mk.computed_at) / YEAR
    off = bs_greeks(mk.spot / WAD, 3_300.0, tau, 0.0, mk.vol / WAD, True)
    print(f"\n6. a day later ETH is 3,120: anyone refreshes the marks. Call #{call} on-chain {mk.price / WAD:,.10f} "
          f"vs keeper off-chain {float(off.price):,.10f} (diff {abs(mk.price / WAD - float(off.price)):.1e})")
    print(f"   NAV {usd(vault.totalAssets())}")

    chain.pending_timestamp = expiry + 60
    m.feed.set_answer(3_450 * 10**8, sender=owner)
    rid = m.feed.latest_round()
    market.settle(call, rid, sender=buyer)
    market.settle(put, rid, sender=buyer)
    print(f"\n7. expiry: first oracle round after expiry says 3,450. Call pays {market.payoff_per_unit(call) / WAD:,.2f} USD/ETH, "
          f"put expires worthless; {usd(vault.total_reserved())} moved to the claims reserve")
    before = m.usdc.balanceOf(buyer)
    market.claim(call, sender=buyer)
    print(f"   buyer claims {usd(m.usdc.balanceOf(buyer) - before)}")

    before = m.usdc.balanceOf(depositor)
    vault.redeem(vault.balanceOf(depositor), sender=depositor)
    got = m.usdc.balanceOf(depositor) - before
    print(f"\n8. depositor redeems everything: {usd(got)} for {usd(200_000 * USD)} in "
          f"({(got - 200_000 * USD) / USD:+,.2f} USDC: premiums earned minus the call's payoff)")
    print("\ndemo done; ape stops anvil.")
