# pragma version 0.4.3
"""
@title ReadTwice (tests only)
@notice An attacker contract: inside ONE transaction it has the risk guard read
        the oracle and the pool (trying to seed the guard's per-transaction
        reading), then moves both (a large swap up to a price limit on the
        Uniswap pool, and a new answer on the test feed, which anyone may set),
        and has the guard read again. Records both readings, what `quick()`
        said and the level a poke measured, then swaps back. The guard caches a
        reading only for the hedger, so the second reading is the live one: a
        seeded stale reading can never reach a hedge.
@custom:kill Test contract; nothing to disable.
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


struct Reading:
    spot: uint256
    updated_at: uint256
    fresh: bool
    twap: uint256
    pool_spot: uint256
    depth: uint256


interface ISwapRouter:
    def exactInputSingle(params: ExactInputSingleParams) -> uint256: payable


interface IGuard:
    def read() -> Reading: nonpayable
    def quick() -> (uint256, bool, uint8): view
    def poke() -> uint8: nonpayable


interface IFeed:
    def set_answer(answer: int256): nonpayable


first: public(Reading)
second: public(Reading)
spot_seen: public(uint256)
level_seen: public(uint8)


@internal
def _swap(router: address, token_in: address, token_out: address, fee: uint24, amount: uint256, limit: uint160) -> uint256:
    extcall IERC20(token_in).approve(router, amount)
    return extcall ISwapRouter(router).exactInputSingle(ExactInputSingleParams(
        tokenIn=token_in, tokenOut=token_out, fee=fee, recipient=self, deadline=block.timestamp,
        amountIn=amount, amountOutMinimum=0, sqrtPriceLimitX96=limit,
    ))


@external
def attack(
    router: address, usdc: address, weth: address, fee: uint24, guard: address, feed: address,
    usdc_in: uint256, price_limit: uint160, new_answer: int256,
):
    self.first = extcall IGuard(guard).read()
    got: uint256 = self._swap(router, usdc, weth, fee, usdc_in, price_limit)
    extcall IFeed(feed).set_answer(new_answer)
    self.second = extcall IGuard(guard).read()
    self.spot_seen = (staticcall IGuard(guard).quick())[0]
    self.level_seen = extcall IGuard(guard).poke()
    self._swap(router, weth, usdc, fee, got, 0)
