"""The A/B test's parts that need no app: the arm of a conversation, the candidate under test, the
stopped tests, and the significance of the arms' negative shares."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import fisher_exact

from tests.training.test_registry import card, trained_folder
from training.ab import ABLedger, arm, bucket, candidate, negative_share_test
from training.errors import RegistryError
from training.registry import Registry

ids = st.text(min_size=1, max_size=40)
shares = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(ids, shares, ids)
def test_a_conversation_always_lands_in_the_same_arm(conversation, share, salt):
    assert arm(conversation, share, salt) == arm(conversation, share, salt)
    assert 0.0 <= bucket(conversation, salt) < 1.0


@given(ids, ids)
def test_share_0_sends_nobody_to_the_candidate_and_share_1_everybody(conversation, salt):
    assert arm(conversation, 0.0, salt) == "served"
    assert arm(conversation, 1.0, salt) == "candidate"


@given(ids, st.floats(0.0, 1.0), st.floats(0.0, 1.0), ids)
def test_a_conversation_in_the_candidate_arm_stays_there_when_the_share_grows(conversation, a, b, salt):
    low, high = sorted((a, b))
    if arm(conversation, low, salt) == "candidate":
        assert arm(conversation, high, salt) == "candidate"


@settings(max_examples=25, deadline=None)
@given(st.floats(0.05, 0.95), ids)
def test_the_share_is_respected_over_many_conversations(share, salt):
    n = 4000
    got = sum(arm(uuid.UUID(int=i).hex, share, salt) == "candidate" for i in range(n)) / n
    # Five standard deviations of a binomial share: a fair split never fails this, a biased one does.
    assert abs(got - share) < 5 * (share * (1 - share) / n) ** 0.5


def test_a_new_candidate_draws_a_new_split():
    conversations = [uuid.uuid4().hex for _ in range(400)]
    first = [arm(c, 0.5, "candidate-a") for c in conversations]
    second = [arm(c, 0.5, "candidate-b") for c in conversations]
    assert 0.3 < sum(a != b for a, b in zip(first, second)) / len(conversations) < 0.7


def test_the_candidate_is_the_newest_better_one_never_promoted_nor_stopped(tmp_path):
    registry = Registry(tmp_path / "models")
    ledger = ABLedger(tmp_path / "models" / "ab.json")
    assert candidate(registry, ledger) is None
    old = registry.register(trained_folder(tmp_path, "a"), card())
    registry.register(trained_folder(tmp_path, "b"), card("worse"))
    assert candidate(registry, ledger).id == old.id  # a worse one is never tested unless named
    new = registry.register(trained_folder(tmp_path, "c"), card())
    assert candidate(registry, ledger).id == new.id
    ledger.stop(new.id, by="ada")
    assert candidate(registry, ledger) is None  # the older one does not take its place
    with pytest.raises(RegistryError, match="already stopped by ada"):
        ledger.stop(new.id, by="bob")
    assert ABLedger(ledger.path).stopped()[new.id].by == "ada"  # on disk, for every process

    registry.promote(old.id, by="ada")
    assert candidate(registry, ledger, named=old.id) is None  # served: nothing to test against
    registry.rollback(by="ada")
    assert candidate(registry, ledger, named=old.id).id == old.id
    with pytest.raises(RegistryError, match="no model 'nope'"):
        candidate(registry, ledger, named="nope")


def test_a_promoted_candidate_is_no_longer_tested_once_served_elsewhere(tmp_path):
    registry = Registry(tmp_path / "models")
    ledger = ABLedger(tmp_path / "models" / "ab.json")
    a = registry.register(trained_folder(tmp_path, "a"), card())
    registry.promote(a.id, by="ada")
    registry.rollback(by="ada")
    assert candidate(registry, ledger) is None  # it was promoted once: not "not yet promoted"


def test_an_unreadable_ledger_is_a_clear_error(tmp_path):
    (tmp_path / "ab.json").write_text("{not json")
    with pytest.raises(RegistryError, match="ab.json is unreadable"):
        ABLedger(tmp_path / "ab.json").stopped()


def test_the_p_value_is_fishers_and_a_clear_difference_is_decided():
    # The seed's pilot: 53 of 118 negative; a candidate at 30 of 118.
    result = negative_share_test(53, 118, 30, 118)
    assert result.p_value == pytest.approx(fisher_exact([[30, 88], [53, 65]]).pvalue)
    assert result.p_value < 0.05 and result.verdict == "candidate better"
    assert result.more_served == result.more_candidate == 0
    assert negative_share_test(30, 118, 53, 118).verdict == "candidate worse"


def test_the_count_still_needed_shrinks_as_ratings_come_in_and_grows_with_power():
    early = negative_share_test(4, 10, 3, 10)
    assert early.verdict == "undecided" and early.more_candidate > 0
    later = negative_share_test(40, 100, 30, 100)
    assert later.needed_per_arm == early.needed_per_arm  # the same shares ask for the same count
    assert later.more_candidate == early.more_candidate - 90
    assert negative_share_test(4, 10, 3, 10, power=0.95).needed_per_arm > early.needed_per_arm
    # Two-proportion sample size for 0.4 vs 0.3 at alpha 0.05, power 0.8: 356 per arm (textbook).
    assert early.needed_per_arm == pytest.approx(356, abs=2)


def test_equal_arms_with_enough_ratings_are_no_difference_and_empty_arms_undecided():
    same = negative_share_test(450, 1000, 450, 1000, min_effect=0.1)
    assert same.verdict == "no difference" and same.p_value == pytest.approx(1.0)
    empty = negative_share_test(3, 10, 0, 0)
    assert empty.verdict == "undecided" and empty.p_value is None and empty.needed_per_arm is None
    with pytest.raises(ValueError, match="between 0 and the rated"):
        negative_share_test(5, 4, 0, 1)
