# pragma version 0.4.3
"""
@title FlashPoker (tests only)
@notice An attacker contract: inside ONE transaction it pushes the Uniswap pool
        with a large swap (up to a price limit), makes the risk guard measure
        its breakers, and swaps back. Records what the guard saw.
"""
from ethereum.ercs import IERC20


struct ExactInputSingleParams:
    tokenIn: address
    tokenOut: address
    fee: uint24
    recipient: address
    deadline: uint256
    amountIn: uint256
    amountOutMinimum: uint256
    sqrtPriceLimitX96: uint160


interface ISwapRouter:
    def exactInputSingle(params: ExactInputSingleParams) -> uint256: payable


interface IGuard:
    def poke() -> uint8: nonpayable
    def conditions() -> uint256: view


level_seen: public(uint8)
conditions_seen: public(uint256)


@internal
def _swap(router: address, token_in: address, token_out: address, fee: uint24, amount: uint256, limit: uint160) -> uint256:
    extcall IERC20(token_in).approve(router, amount)
    return extcall ISwapRouter(router).exactInputSingle(ExactInputSingleParams(
        tokenIn=token_in, tokenOut=token_out, fee=fee, recipient=self, deadline=block.timestamp,
        amountIn=amount, amountOutMinimum=0, sqrtPriceLimitX96=limit,
    ))


@external
def attack(router: address, usdc: address, weth: address, fee: uint24, guard: address, usdc_in: uint256, price_limit: uint160):
    got: uint256 = self._swap(router, usdc, weth, fee, usdc_in, price_limit)
    self.conditions_seen = staticcall IGuard(guard).conditions()
    self.level_seen = extcall IGuard(guard).poke()
    self._swap(router, weth, usdc, fee, got, 0)
