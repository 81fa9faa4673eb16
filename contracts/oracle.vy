# pragma version 0.4.3
"""
@title oracle
@notice Reads a Chainlink-style aggregator and normalises its answer to 1e18
        by the feed's own `decimals()`, so an 8- and an 18-decimal feed give
        the same price (a decimals mix-up drained Ribbon/Aevo's legacy vaults).
        Used by the risk guard only: it is Ballast's one reader of the feed.
@custom:kill Stateless module; disable the contract that uses it.
"""

from interfaces import IAggregatorV3

MAX_FEED_DECIMALS: constant(uint8) = 36


@view
@internal
def _feed_decimals(feed: address) -> uint8:
    """
    @dev The feed's decimals, checked once at the consumer's deploy.
    """
    assert feed.is_contract, "oracle: feed not a contract"
    d: uint8 = staticcall IAggregatorV3(feed).decimals()
    assert d <= MAX_FEED_DECIMALS, "oracle: feed decimals > 36"
    return d


@pure
@internal
def _to_wad(answer: int256, feed_decimals: uint8) -> uint256:
    """
    @dev A positive feed answer scaled from `feed_decimals` to 18 decimals
         (rounded down when the feed has more than 18); 0 for answer <= 0.
    """
    if answer <= 0:
        return 0
    a: uint256 = convert(answer, uint256)
    if feed_decimals <= 18:
        return a * 10 ** convert(18 - feed_decimals, uint256)
    return a // 10 ** convert(feed_decimals - 18, uint256)


@view
@internal
def _try_latest(feed: address, feed_decimals: uint8) -> (uint256, uint256):
    """
    @dev (price in 1e18, updatedAt) of the latest round, or (0, 0) when the
         feed reverts, answers <= 0 or from the future: never reverts.
    """
    ok: bool = False
    resp: Bytes[160] = b""
    ok, resp = raw_call(feed, method_id("latestRoundData()"), max_outsize=160, is_static_call=True, revert_on_failure=False)
    if not ok or len(resp) != 160:
        return 0, 0
    rid: uint80 = 0
    answer: int256 = 0
    started: uint256 = 0
    updated: uint256 = 0
    answered: uint80 = 0
    rid, answer, started, updated, answered = abi_decode(resp, (uint80, int256, uint256, uint256, uint80))
    price: uint256 = self._to_wad(answer, feed_decimals)
    if price == 0 or updated > block.timestamp:
        return 0, 0
    return price, updated


@view
@internal
def _try_round(feed: address, round_id: uint80) -> (bool, int256, uint256):
    """
    @dev (exists, answer, updatedAt) of one round, without reverting.
    """
    ok: bool = False
    resp: Bytes[160] = b""
    ok, resp = raw_call(
        feed, abi_encode(round_id, method_id=method_id("getRoundData(uint80)")),
        max_outsize=160, is_static_call=True, revert_on_failure=False,
    )
    if not ok or len(resp) != 160:
        return False, 0, 0
    rid: uint80 = 0
    answer: int256 = 0
    started: uint256 = 0
    updated: uint256 = 0
    answered: uint80 = 0
    rid, answer, started, updated, answered = abi_decode(resp, (uint80, int256, uint256, uint256, uint80))
    return updated != 0, answer, updated


@view
@internal
def _first_after(feed: address, feed_decimals: uint8, round_id: uint80, t: uint256) -> uint256:
    """
    @dev Price in 1e18 of round `round_id`, which must be the first round
         updated at or after time `t`: its `updatedAt >= t` and the previous
         round's `updatedAt < t`. Deterministic, so nobody can pick a better
         round. Where the previous round does not exist (the first round of a
         Chainlink phase: ids are phase << 64 | n, and round n - 1 of a new
         phase is not there), the round itself is the first one after `t`
         that this phase knows, and it is accepted.
    """
    ok: bool = False
    answer: int256 = 0
    updated_at: uint256 = 0
    ok, answer, updated_at = self._try_round(feed, round_id)
    assert ok, "oracle: no such round yet"
    assert updated_at >= t, "oracle: round is before the time"
    assert updated_at <= block.timestamp, "oracle: answer from the future"
    price: uint256 = self._to_wad(answer, feed_decimals)
    assert price != 0, "oracle: non-positive answer"
    if convert(round_id, uint256) & (2**64 - 1) > 1:
        prev_ok: bool = False
        prev_answer: int256 = 0
        prev_updated: uint256 = 0
        prev_ok, prev_answer, prev_updated = self._try_round(feed, round_id - 1)
        assert not prev_ok or prev_updated < t, "oracle: not the first round after the time"
    return price
