"""The guard's graduated level as a state machine, over hypothesis-drawn histories.

Random sequences of time passing, the feed going stale or coming back, the spot
jumping, guardian trips and resets, each followed by a public poke. After every
step, checked against the rules (not against a copy of the code):
- the level is never better than the worst breaker whose condition holds now;
- it recovers at most one step per poke, and only a full cooldown after its last
  change, unless the guardian reset it or a halt spent its budget (MAX_HALT per
  HALT_EPOCH; changed from a fixed MAX_HALT per halt);
- halted happens only by the guardian, and a poke never lifts it early;
- withdrawals wait (`halted()`) only while the level is halted.
Each example runs in its own chain snapshot.
"""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.helpers import LEVEL_OF
from tests.integration.test_hedging import seed

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

steps = st.lists(
    st.one_of(
        st.tuples(st.just("wait"), st.sampled_from([300, 1_800, 3_601, 7_200])),
        st.tuples(st.just("feed"), st.sampled_from([3_000, 3_030, 3_400])),  # fresh answer; +13 % trips spot_move
        st.tuples(st.just("trip"), st.integers(min_value=1, max_value=3)),
        st.tuples(st.just("reset"), st.just(0)),
    ),
    min_size=4,
    max_size=12,
)


def worst_live(guard):
    bits = guard.conditions()
    return max([LEVEL_OF[i] for i in range(6) if bits >> i & 1], default=0)


@SETTINGS
@given(history=steps)
def test_level_follows_the_graduated_rules(chain, hedged, depositor, buyer, keeper, owner, guardian, stranger, history):
    with chain.isolate():
        h = seed(hedged, depositor, buyer, keeper, chain)
        g = h.guard
        cooldown = g.cooldown()
        g.poke(sender=stranger)
        level, since, halted_by_guardian = g.level(), g.level_since(), False
        halt_end = None
        for action, arg in history:
            reset_now = False
            if level == 3:  # when the halt's budget runs out (halt_left() counts down while halted)
                halt_end = chain.blocks.head.timestamp + g.halt_left()
            if action == "wait":
                chain.pending_timestamp += arg
            elif action == "feed":
                h.feed.set_answer(arg * 10**8, sender=owner)
                h.book.update_marks(sender=stranger)
            elif action == "trip":
                g.trip(arg, sender=guardian)
                halted_by_guardian |= arg == 3
                assert g.level() >= arg
            else:
                g.reset(sender=guardian)
                reset_now, halted_by_guardian = True, False
            if not reset_now:
                g.poke(sender=stranger)
            now = chain.blocks.head.timestamp
            new = g.level()
            # never better than what holds right now (same block: the poke saw the same conditions)
            assert new >= worst_live(g)
            if new < level:
                assert new == level - 1, f"recovered {level} -> {new} in one call"
                halt_expired = level == 3 and now >= halt_end
                assert reset_now or halt_expired or now >= since + cooldown, "recovered inside the cooldown"
            if new == 3:
                assert halted_by_guardian, "halted without the guardian"
            if g.halted():
                assert new == 3
            level, since = new, g.level_since()
