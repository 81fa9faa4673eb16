"""Attack-suite fixtures: the real local Uniswap V3 market and Ballast deployed by
the one deploy path, seeded with a depositor's 500k USDC. Each attack file performs
its attack against this deployment (ape isolates every test)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.market import deploy_market  # noqa: E402
from scripts.vault import deploy_ballast  # noqa: E402

USD = 10**6
WAD = 10**18
DAY = 86_400


class Deployed:
    def __init__(self, **parts):
        self.__dict__.update(parts)

    def spot(self) -> int:
        return self.feed.latestAnswer() * 10 ** (18 - self.feed.decimals())

    def set_price(self, owner, usd: float):
        self.feed.set_answer(int(usd * 10**8), sender=owner)


@pytest.fixture(scope="session")
def market(owner):
    return deploy_market(owner)


@pytest.fixture(scope="session")
def ballast(project, market, owner, keeper, guardian, depositor, buyer, attacker, chain):
    b = deploy_ballast(project, owner, keeper, guardian, market.usdc, market.feed, market.router, market.pool, market.weth)
    chain.pending_timestamp += 700  # pool TWAP history
    market.feed.set_answer(3_000 * 10**8, sender=owner)
    for who in (depositor, buyer, attacker):
        market.usdc.mint(who, 5_000_000 * USD, sender=who)
        market.usdc.approve(b.vault, 2**256 - 1, sender=who)
    b.vault.deposit(500_000 * USD, sender=depositor)
    return Deployed(vault=b.vault, book=b.book, options=b.options, hedger=b.hedger, guard=b.guard,
                    feed=market.feed, m=market, usdc=market.usdc)
