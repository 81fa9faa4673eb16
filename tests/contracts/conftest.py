"""Vault fixtures: a vault over the 6-decimal test stablecoin, and a funded depositor."""
import pytest

from tests.conftest import USD

DEPOSIT_CAP = 10_000_000 * USD


@pytest.fixture(scope="session")
def book(project, owner):
    """Stand-in option book with a settable liability and stress margin."""
    return project.MockOptionBook.deploy(sender=owner)


@pytest.fixture(scope="session")
def deploy_vault(project, owner, keeper, guardian, usdc):
    """Factory: a fresh Vault over the 6-decimal stablecoin."""

    def _deploy(asset=None, cap=DEPOSIT_CAP):
        return project.Vault.deploy(
            asset or usdc, "Ballast ETH Options USDC", "bUSDC", keeper, guardian, cap, sender=owner
        )

    return _deploy


@pytest.fixture(scope="session")
def vault(deploy_vault):
    """A vault with no option book: NAV is its tracked cash."""
    return deploy_vault()


@pytest.fixture(scope="session")
def booked_vault(deploy_vault, book, owner):
    """A second vault wired to the stand-in book, so tests can move NAV."""
    v = deploy_vault()
    v.set_option_book(book, sender=owner)
    return v


@pytest.fixture(scope="session")
def fund(usdc, vault, booked_vault):
    """fund(actor, amount): mint the stablecoin to `actor` and approve both vaults."""

    def _fund(actor, amount):
        usdc.mint(actor, amount, sender=actor)
        usdc.approve(vault, 2**256 - 1, sender=actor)
        usdc.approve(booked_vault, 2**256 - 1, sender=actor)

    return _fund


class System:
    """A wired Ballast deployment: vault (money), option book (series, marks, risk), market."""

    def __init__(self, **parts):
        self.__dict__.update(parts)


@pytest.fixture(scope="session")
def deploy_system(project, owner, keeper, guardian, usdc):
    """Factory: vault + book + market on `feed` (default: a fresh 8-decimal ETH/USD at 3,000)."""

    def _deploy(feed=None, cap=DEPOSIT_CAP):
        feed = feed or project.MockAggregator.deploy(8, 3_000 * 10**8, "ETH / USD", sender=owner)
        vault = project.Vault.deploy(usdc, "Ballast ETH Options USDC", "bUSDC", keeper, guardian, cap, sender=owner)
        book = project.OptionBook.deploy(vault, feed, sender=owner)
        market = project.OptionMarket.deploy(vault, book, feed, sender=owner)
        vault.set_option_book(book, sender=owner)
        vault.set_option_market(market, sender=owner)
        book.set_market(market, sender=owner)
        return System(vault=vault, book=book, market=market, feed=feed, usdc=usdc)

    return _deploy


@pytest.fixture(scope="session")
def system(deploy_system):
    return deploy_system()
