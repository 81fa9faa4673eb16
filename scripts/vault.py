"""Deploy Ballast (vault, risk guard, pricer, option book, option market, hedger) on a market.

    ape run market --network ...   then   ape run vault --network ...   # on a node you keep running
    from scripts.vault import deploy_ballast   # the demo, the tests and the benchmarks share this

`deploy_ballast` deploys the six contracts against a market's stablecoin,
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
    pricer: object
    feed: object


def deploy_ballast(project, owner, keeper, guardian, usdc, feed, router, pool, weth, cap=10**9 * USD, name="Ballast ETH Options USDC", symbol="bUSDC"):
    """Deploy and wire Ballast: vault (money), risk guard (rules, oracle and pool reader),
    pricer (Black-Scholes), option book, option market and hedger. Each link is set once."""
    vault = project.Vault.deploy(usdc, name, symbol, keeper, guardian, sender=owner)
    guard = project.RiskGuard.deploy(vault, feed, pool, weth, cap, sender=owner)
    pricer = project.Pricer.deploy(sender=owner)
    book = project.OptionBook.deploy(vault, guard, pricer, sender=owner)
    options = project.OptionMarket.deploy(vault, book, guard, sender=owner)
    hedger = project.Hedger.deploy(vault, book, guard, router, pool, weth, sender=owner)
    vault.connect(book, options, hedger, guard, sender=owner)
    book.set_market(options, sender=owner)
    return Ballast(vault=vault, book=book, options=options, hedger=hedger, guard=guard, pricer=pricer, feed=feed)


def main():
    """Deploy on the market recorded for this chain (`ape run market` first), with the
    dev-chain test accounts as owner / keeper / guardian; record the addresses in
    `.build/ballast-<chain id>.json` and print them."""
    import json

    from ape import accounts, chain, project
    from ape.logging import logger

    from scripts.market import _container, _record_path

    logger.set_level("WARNING")
    market_path = _record_path(chain.chain_id)
    if not market_path.exists():
        raise SystemExit(f"vault: no market recorded for chain {chain.chain_id} ({market_path}); run `ape run market` first")
    m = json.loads(market_path.read_text())
    if not all(chain.provider.get_code(a) for a in m.values()):
        raise SystemExit(f"vault: the market in {market_path} is not on chain {chain.chain_id}; run `ape run market` again")
    owner, keeper, guardian = accounts.test_accounts[:3]
    weth = _container("v2-periphery/build/WETH9.json", "WETH9").at(m["weth"])
    b = deploy_ballast(
        project, owner, keeper, guardian, project.TestToken.at(m["usdc"]), project.MockAggregator.at(m["feed"]),
        m["router"], m["pool"], weth,
    )
    record = {name: getattr(b, name).address for name in ("vault", "book", "options", "hedger", "guard", "pricer")}
    path = market_path.with_name(f"ballast-{chain.chain_id}.json")
    path.write_text(json.dumps(record, indent=2))
    print(f"Ballast deployed on chain {chain.chain_id} (record: {path}); owner {owner.address}, keeper {keeper.address}")
    for name, address in record.items():
        print(f"  {name:8s} {address}")
