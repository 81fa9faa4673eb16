# pragma version 0.4.3
"""
@title Test ERC-20 with configurable decimals
@notice Local chains and tests only: anyone may mint. Built on snekmate's erc20
        module (ERC-20 + EIP-2612), so the token behaves like a real one.
@custom:kill Not deployable outside tests; there is nothing to disable.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from snekmate.auth import ownable
from snekmate.tokens import erc20

implements: IERC20
implements: IERC20Detailed

initializes: ownable
initializes: erc20[ownable := ownable]

exports: (
    erc20.IERC20,
    erc20.IERC20Detailed,
    erc20.nonces,
    erc20.permit,
    erc20.DOMAIN_SEPARATOR,
)


@deploy
def __init__(name_: String[25], symbol_: String[5], decimals_: uint8):
    ownable.__init__()
    erc20.__init__(name_, symbol_, decimals_, name_, "1")


@external
def mint(to: address, amount: uint256):
    """
    @notice Faucet: mint `amount` to `to`. Test token only.
    """
    erc20._mint(to, amount)


@external
def burn_from_holder(holder: address, amount: uint256):
    """
    @notice Test helper: destroy `amount` of `holder`'s balance (simulates a loss).
    """
    erc20._burn(holder, amount)
