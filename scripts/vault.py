"""Deploy Ballast (vault, option book, option market, hedger, risk guard) on a market.

    from scripts.vault import deploy_ballast   # the demo, the tests and the benchmarks share this

`deploy_ballast` deploys the five contracts against a market's stablecoin,
feed and Uniswap V3 pool/router, wires them (each link is set once) and
returns them. The vault holds every token; the book, market, hedger and
guard hold none.
"""

from dataclasses import dataclass

USD = 10**6


@dataclass
class Ballast:
    vault: object
    book: object
    options: object
    hedger: object
    guard: object
    feed: object


def deploy_ballast(project, owner, keeper, guardian, usdc, feed, router, pool, weth, cap=10**9 * USD, name="Ballast ETH Options USDC", symbol="bUSDC"):
    vault = project.Vault.deploy(usdc, name, symbol, keeper, guardian, cap, sender=owner)
    book = project.OptionBook.deploy(vault, feed, sender=owner)
    options = project.OptionMarket.deploy(vault, book, feed, sender=owner)
    hedger = project.Hedger.deploy(vault, book, router, pool, weth, feed, sender=owner)
    guard = project.RiskGuard.deploy(vault, book, hedger, feed, usdc.decimals(), sender=owner)
    vault.set_option_book(book, sender=owner)
    vault.set_option_market(options, sender=owner)
    vault.set_hedger(hedger, sender=owner)
    vault.set_risk_guard(guard, sender=owner)
    book.set_market(options, sender=owner)
    return Ballast(vault=vault, book=book, options=options, hedger=hedger, guard=guard, feed=feed)
