# pragma version 0.4.3
"""
@title oracle
@notice Reads a Chainlink-style aggregator and normalises its answer to 1e18
        by the feed's own `decimals()`, so an 8- and an 18-decimal feed give
        the same price (a decimals mix-up drained Ribbon/Aevo's legacy vaults).
        Consumers read `decimals()` once at deploy and pass it in.
@custom:kill Stateless module; disable the contract that uses it.
"""

interface AggregatorV3:
    def decimals() -> uint8: view
    def latestRoundData() -> (uint80, int256, uint256, uint256, uint80): view
    def getRoundData(round_id: uint80) -> (uint80, int256, uint256, uint256, uint80): view


MAX_FEED_DECIMALS: constant(uint8) = 36


@view
@internal
def _feed_decimals(feed: address) -> uint8:
    """
    @dev The feed's decimals, checked once at the consumer's deploy.
    """
    assert feed.is_contract, "oracle: feed not a contract"
    d: uint8 = staticcall AggregatorV3(feed).decimals()
    assert d <= MAX_FEED_DECIMALS, "oracle: feed decimals > 36"
    return d


@pure
@internal
def _to_wad(answer: int256, feed_decimals: uint8) -> uint256:
    """
    @dev A positive feed answer scaled from `feed_decimals` to 18 decimals
         (rounded down when the feed has more than 18).
    """
    assert answer > 0, "oracle: non-positive answer"
    a: uint256 = convert(answer, uint256)
    if feed_decimals <= 18:
        return a * 10 ** convert(18 - feed_decimals, uint256)
    return a // 10 ** convert(feed_decimals - 18, uint256)


@view
@internal
def _latest(feed: address, feed_decimals: uint8) -> (uint256, uint256):
    """
    @dev (price in 1e18, updatedAt) of the latest round, without a staleness
         check: for drift checks that must keep working while the feed lags.
    """
    answer: int256 = 0
    updated_at: uint256 = 0
    _: uint80 = 0
    __: uint256 = 0
    ___: uint80 = 0
    _, answer, __, updated_at, ___ = staticcall AggregatorV3(feed).latestRoundData()
    assert updated_at <= block.timestamp, "oracle: answer from the future"
    return self._to_wad(answer, feed_decimals), updated_at


@view
@internal
def _fresh(feed: address, feed_decimals: uint8, heartbeat: uint256) -> uint256:
    """
    @dev Price in 1e18, reverting with "oracle: stale" when the latest answer
         is older than `heartbeat` seconds.
    """
    price: uint256 = 0
    updated_at: uint256 = 0
    price, updated_at = self._latest(feed, feed_decimals)
    assert block.timestamp - updated_at <= heartbeat, "oracle: stale"
    return price


@view
@internal
def _first_after(feed: address, feed_decimals: uint8, round_id: uint80, t: uint256) -> uint256:
    """
    @dev Price in 1e18 of round `round_id`, which must be the first round
         updated at or after time `t`: its `updatedAt >= t` and the previous
         round's `updatedAt < t`. Deterministic, so nobody can pick a better
         round. Assumes sequential round ids (one aggregator phase).
    """
    latest: uint80 = 0
    a: int256 = 0
    b: uint256 = 0
    c: uint256 = 0
    d: uint80 = 0
    latest, a, b, c, d = staticcall AggregatorV3(feed).latestRoundData()
    assert round_id != 0 and round_id <= latest, "oracle: no such round yet"
    answer: int256 = 0
    updated_at: uint256 = 0
    d, answer, b, updated_at, d = staticcall AggregatorV3(feed).getRoundData(round_id)
    assert updated_at >= t, "oracle: round is before the time"
    if round_id > 1:
        prev_updated: uint256 = 0
        d, a, b, prev_updated, d = staticcall AggregatorV3(feed).getRoundData(round_id - 1)
        assert prev_updated < t, "oracle: not the first round after the time"
    return self._to_wad(answer, feed_decimals)
