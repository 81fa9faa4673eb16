# pragma version 0.4.3
"""
@title Chainlink-style aggregator for tests
@notice Implements the AggregatorV3Interface read surface (`decimals`,
        `latestRoundData`, `getRoundData`, `description`, `version`) with a
        settable answer and `updatedAt`, so tests can move the price, make the
        feed stale, or use 8- and 18-decimal feeds.
@custom:kill Test contract; nothing to disable.
"""

event AnswerUpdated:
    current: indexed(int256)
    roundId: indexed(uint256)
    updatedAt: uint256


struct Round:
    answer: int256
    startedAt: uint256
    updatedAt: uint256


decimals: public(immutable(uint8))
description: public(String[64])
version: public(constant(uint256)) = 4
latest_round: public(uint80)
rounds: HashMap[uint80, Round]


@deploy
def __init__(decimals_: uint8, initial_answer: int256, description_: String[64]):
    decimals = decimals_
    self.description = description_
    self._set(initial_answer, block.timestamp)


@internal
def _set(answer: int256, updated_at: uint256):
    rid: uint80 = self.latest_round + 1
    self.latest_round = rid
    self.rounds[rid] = Round(answer=answer, startedAt=updated_at, updatedAt=updated_at)
    log AnswerUpdated(current=answer, roundId=convert(rid, uint256), updatedAt=updated_at)


@external
def set_answer(answer: int256):
    """
    @notice Post a new round with `answer`, updated now.
    """
    self._set(answer, block.timestamp)


@external
def set_answer_at(answer: int256, updated_at: uint256):
    """
    @notice Post a new round with `answer` and an explicit `updatedAt`
            (for staleness tests).
    """
    self._set(answer, updated_at)


@view
@external
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    rid: uint80 = self.latest_round
    r: Round = self.rounds[rid]
    return rid, r.answer, r.startedAt, r.updatedAt, rid


@view
@external
def getRoundData(rid: uint80) -> (uint80, int256, uint256, uint256, uint80):
    assert rid != 0 and rid <= self.latest_round, "aggregator: no such round"
    r: Round = self.rounds[rid]
    return rid, r.answer, r.startedAt, r.updatedAt, rid


@view
@external
def latestAnswer() -> int256:
    return self.rounds[self.latest_round].answer
