"""Rewards and answer parsing on well-formed, malformed, empty and hostile completions."""

import time

import pytest

from training.rewards import (NONE, accuracy_reward, format_ok, format_reward, is_correct, motion_read, motion_reward,
                              parse_answer, reward)

GOOD = "<think>The camera moved right and turned left.</think><answer>B</answer>"


def test_well_formed():
    assert parse_answer(GOOD) == "B" and format_ok(GOOD)
    assert reward(GOOD, "B") == 1.0 and reward(GOOD, "A") == 0.5
    assert format_ok("  <think>a < b, x</think>\n<answer> C </answer>\n") and parse_answer("<answer> C </answer>") == "C"


def test_direct_answer_without_thinking_has_an_answer_but_not_the_format():
    assert parse_answer("<answer>A</answer>") == "A"
    assert not format_ok("<answer>A</answer>")
    assert reward("<answer>A</answer>", "A") == 0.5


@pytest.mark.parametrize("text", [
    "", "B", "The answer is B", "<answer></answer>", "<answer>   </answer>", "<think>x</think>",
    "<answer>A</answer><answer>B</answer>",  # two answer blocks
    "<answer><answer>A</answer></answer>",  # nested
    "</answer>A<answer>",  # reversed
    "<think>x</think><answer>A",  # unterminated
])
def test_malformed_answers_are_none(text):
    assert parse_answer(text) == NONE
    assert not format_ok(text)
    assert reward(text, "A") == 0.0


@pytest.mark.parametrize("text", [
    "<think>a</think><think>b</think><answer>A</answer>",  # two think blocks
    "<think>a<answer>A</answer></think><answer>A</answer>",  # nested tags
    "<answer>A</answer><think>late</think>",  # wrong order
    "prefix <think>a</think><answer>A</answer>",  # text outside the blocks
    "<think>a</think><answer>A</answer> suffix",
])
def test_format_violations(text):
    assert not format_ok(text)


def test_hostile_completions_are_cheap_and_safe():
    big = "<think>" + "x" * 100_000 + "</think><answer>A</answer>"
    tags = "<think>" * 20_000 + "<answer>A</answer>"
    junk = "<" * 100_000
    t = time.perf_counter()
    assert parse_answer(big) == "A" and format_ok(big)
    assert parse_answer(tags) == "A" and not format_ok(tags)
    assert parse_answer(junk) == NONE and not format_ok(junk)
    assert parse_answer(None) == NONE and parse_answer(12) == NONE
    assert time.perf_counter() - t < 0.5  # linear-time patterns; measured ~10 ms here


def test_letters_and_numbers():
    assert is_correct("b", "B") and is_correct("B.", "B") and not is_correct("AB", "A")
    assert is_correct("-35", "-30", tolerance=10) and not is_correct("-45", "-30", tolerance=10)
    assert is_correct("+12°", "15", tolerance=10)
    assert not is_correct("twelve", "12", tolerance=10) and not is_correct(NONE, "12", tolerance=10)


def test_trl_reward_functions_take_conversational_completions():
    completions = [[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": "B"}],
                   [{"role": "assistant", "content": [{"type": "text", "text": GOOD}]}]]
    assert format_reward(completions) == [1.0, 0.0, 1.0]
    assert accuracy_reward(completions, answer=["B", "B", "C"]) == [1.0, 0.0, 0.0]
    assert accuracy_reward(["<answer>20</answer>"], answer=["25"], family=["numeric_yaw"]) == [1.0]
    assert accuracy_reward(["<answer>20</answer>"], answer=["25"], family=["ego_rotation"]) == [0.0]


def test_motion_reward_pays_for_the_chain_s_motion_words_only():
    """motion_reward: the chain's first clause against the row's true motion, whatever the letter says."""
    truth = "moved right, turned left"
    right = "<think>moved right, turned left; camera: right</think><answer>B</answer>"
    misread = "<think>moved left, turned left; camera: left</think><answer>B</answer>"  # right letter, wrong motion
    unframed = "<think>moved right, turned left: right</think><answer>A</answer>"  # motion_think without frame
    texts = [right, misread, unframed, "<answer>B</answer>", GOOD, "", None]
    assert motion_reward(texts, motion=[truth] * len(texts)) == [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert motion_reward([right], motion=[""]) == [0.0]  # a row without a motion: nothing to read
    assert motion_reward([[{"role": "assistant", "content": right}]], motion=[truth]) == [1.0]
    assert motion_read("<think>moved no movement, turned no rotation; turn: no rotation</think>") == \
        "moved no movement, turned no rotation"
    hostile = "<think>moved " + "right " * 20_000 + "</think><answer>A</answer>"
    t = time.perf_counter()
    assert motion_read(hostile) is None and motion_read("<think>" * 20_000) is None
    assert time.perf_counter() - t < 0.5  # the pattern is anchored and bounded; measured well under 1 ms
