"""The local market (real Uniswap V3 bytecode from npm) as a session fixture."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.market import deploy_market  # noqa: E402


@pytest.fixture(scope="session")
def market(owner):
    return deploy_market(owner)


USD = 10**6
WAD = 10**18


class Hedged:
    def __init__(self, **parts):
        self.__dict__.update(parts)


@pytest.fixture(scope="session")
def deploy_hedged(project, market, owner, keeper, guardian, chain):
    """Factory: vault + book + option market + hedger on the local Uniswap V3 market.

    `feed` defaults to the market's 8-decimal feed. Time is moved past the TWAP
    window so the pool has observations to average.
    """

    def _deploy(feed=None):
        feed = feed or market.feed
        vault = project.Vault.deploy(market.usdc, "Ballast ETH Options USDC", "bUSDC", keeper, guardian, 10**9 * USD, sender=owner)
        book = project.OptionBook.deploy(vault, feed, sender=owner)
        options = project.OptionMarket.deploy(vault, book, feed, sender=owner)
        hedger = project.Hedger.deploy(vault, book, market.router, market.pool, market.weth, feed, sender=owner)
        vault.set_option_book(book, sender=owner)
        vault.set_option_market(options, sender=owner)
        vault.set_hedger(hedger, sender=owner)
        book.set_market(options, sender=owner)
        chain.pending_timestamp += 700
        feed.set_answer(3_000 * 10 ** feed.decimals(), sender=owner)
        return Hedged(vault=vault, book=book, options=options, hedger=hedger, feed=feed, m=market)

    return _deploy


@pytest.fixture(scope="session")
def hedged(deploy_hedged):
    return deploy_hedged()
