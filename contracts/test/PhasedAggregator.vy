# pragma version 0.4.3
"""
@title Chainlink-style aggregator proxy with phases (tests only)
@notice Round ids as a Chainlink proxy gives them: phase << 64 | n, n starting
        at 1 in each phase; `getRoundData` of a round that does not exist
        reverts (as a proxy does for round n = 0 of a phase). `new_phase()`
        starts the next phase, as an aggregator upgrade would.
@custom:kill Test contract; nothing to disable.
"""

struct Round:
    answer: int256
    updated_at: uint256

decimals: public(immutable(uint8))
phase: public(uint256)
count: public(HashMap[uint256, uint256])
rounds: HashMap[uint256, Round]


@deploy
def __init__(decimals_: uint8, initial_answer: int256):
    decimals = decimals_
    self.phase = 1
    self._set(initial_answer)


@internal
def _set(answer: int256):
    n: uint256 = self.count[self.phase] + 1
    self.count[self.phase] = n
    self.rounds[(self.phase << 64) | n] = Round(answer=answer, updated_at=block.timestamp)


@external
def set_answer(answer: int256):
    self._set(answer)


@external
def new_phase():
    self.phase += 1


@view
@external
def latest_round() -> uint80:
    return convert((self.phase << 64) | self.count[self.phase], uint80)


@view
@external
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    rid: uint256 = (self.phase << 64) | self.count[self.phase]
    r: Round = self.rounds[rid]
    return convert(rid, uint80), r.answer, r.updated_at, r.updated_at, convert(rid, uint80)


@view
@external
def getRoundData(rid: uint80) -> (uint80, int256, uint256, uint256, uint80):
    r: Round = self.rounds[convert(rid, uint256)]
    assert r.updated_at != 0, "aggregator: no data present"
    return rid, r.answer, r.updated_at, r.updated_at, rid
