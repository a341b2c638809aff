"""``training.split``: validation follows the share (whole groups, at most the share rounded half
up, at least one record), and the same records and seed give the same split in any order."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.training.conftest import record
from training.dataset import DatasetOptions, build
from training.errors import DatasetError
from training.split import cap, groups, split


def thirteen() -> list:
    """A six-turn conversation and seven one-question conversations, every answer rated 5."""
    long = [
        record(f"long{i}", f"Follow-up number {i}?", "412 spaces [1].", rating=5, session="long", turn=i + 1)
        for i in range(6)
    ]
    single = [record(f"one{i}", f"Separate question {i}?", "38 trailers [1].", rating=5) for i in range(7)]
    return long + single


def test_a_long_conversation_does_not_drag_half_the_records_into_validation(tokenizer):
    records = thirteen()
    for seed in range(40):  # seeds 27, 32 and 38 took the long conversation first
        val = split(records, 0.1, seed)
        assert len(val) == 1, (seed, sorted(val))  # 0.1 x 13 = 1.3 -> 1
        assert not val & {f"long{i}" for i in range(6)}
    built = build(records, tokenizer, DatasetOptions(val_fraction=0.1, seed=27), {})
    assert (built.card.split.val_records, built.card.split.train_records) == (1, 12)
    assert (built.card.files["sft"].val, built.card.files["sft"].train) == (1, 12)


def test_the_cap_is_the_share_rounded_half_up_and_at_least_one():
    assert [cap(0.1, n) for n in (1, 4, 13, 15, 25, 100)] == [1, 1, 1, 2, 3, 10]
    assert cap(0.5, 5) == 3 and cap(0.3, 5) == 2  # 2.5 -> 3, 1.5 -> 2 (not Python's round-half-even)


def test_no_group_small_enough_is_refused_with_the_share_that_holds_one(tokenizer):
    records = [
        record(f"{c}{i}", f"{c} question {i}?", "412 [1].", rating=5, session=c, turn=i + 1)
        for c in ("a", "b")
        for i in range(5)
    ]
    with pytest.raises(DatasetError, match=r"\(10 and 0\).*--val-fraction 0\.45 holds it$"):
        build(records, tokenizer, DatasetOptions(val_fraction=0.1), {})
    built = build(records, tokenizer, DatasetOptions(val_fraction=0.45), {})
    assert built.card.split.val_records == 5


# Records as (session, question number): a question number shared by two sessions links them.
layouts = st.lists(st.tuples(st.integers(0, 12), st.integers(0, 30)), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(layouts, st.floats(0.01, 0.99), st.integers(0, 2**32), st.randoms(use_true_random=False))
def test_validation_is_whole_groups_within_the_cap_and_stable(layout, fraction, seed, rng):
    records = [record(f"r{i}", f"Question {q}?", "A.", session=f"s{s}") for i, (s, q) in enumerate(layout)]
    val = split(records, fraction, seed)
    most = cap(fraction, len(records))
    assert len(val) <= most and len(val) < len(records)
    linked = groups(records)
    for members in linked:
        assert {m.id in val for m in members} in ({True}, {False})  # never a group cut in two
    fits = [g for g in linked if len(g) <= min(most, len(records) - 1)]
    assert bool(val) == bool(fits)
    shuffled = records[:]
    rng.shuffle(shuffled)
    assert split(shuffled, fraction, seed) == val


def test_the_split_does_not_depend_on_the_order_records_are_read_in():
    records = thirteen() + [record(f"x{i}", f"Another {i}?", "A.", rating=5) for i in range(20)]
    first = split(records, 0.2, 7)
    for n in range(5):
        again = records[:]
        random.Random(n).shuffle(again)
        assert split(again, 0.2, 7) == first
    assert len(first) == cap(0.2, len(records))
