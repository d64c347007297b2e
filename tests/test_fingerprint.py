"""`primaryLocationLineHash` must equal what github/codeql-action computes, or alerts
uploaded by leakguard and by the action would not match up."""

from __future__ import annotations

import random

import pytest

from leakguard.fingerprint import fingerprints, line_hash, line_hashes

# Test vectors from github/codeql-action src/fingerprints.test.ts.
_LOREM = "Lorem ipsum dolor sit amet.\n"
_UPSTREAM_VECTORS: list[tuple[str, list[str]]] = [
    ("", ["c129715d7a2bc9a3:1"]),
    (
        " a\nb\n  \t\tc\n d",
        ["271789c17abda88f:1", "54703d4cd895b18:1", "180aee12dab6264:1", "a23a3dc5e078b07b:1"],
    ),
    (
        " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End",
        [
            "8b7cf3e952e7aeb2:1",
            "b1ae1287ec4718d9:1",
            "bff680108adb0fcc:1",
            "c6805c5e1288b612:1",
            "b86d3392aea1be30:1",
            "e6ceba753e1a442:1",
        ],
    ),
    *[
        (
            text,
            [
                "e9496ae3ebfced30:1",
                "fb7c023a8b9ccb3f:1",
                "ce8ba1a563dcdaca:1",
                "e20e36e16fcb0cc8:1",
                "b3edc88f2938467e:1",
                "c8e28b0b4002a3a0:1",
                "c129715d7a2bc9a3:1",
            ],
        )
        for text in (
            " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n",
            " hello; \t\nworld!!!\r\r\r  \t\tGreetings\r End\r",
            " hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n",
            " hello; \t\nworld!!!\r\n\n\r  \t\tGreetings\r End\r\n",
        )
    ],
    (
        _LOREM * 10,
        [
            *[f"a7f2ff13bc495cf2:{n}" for n in range(1, 7)],
            "a7f2ff1481e87703:1",
            "a9cf91f7bbf1862b:1",
            "55ec222b86bcae53:1",
            "cc97dc7b1d7d8f7b:1",
            "c129715d7a2bc9a3:1",
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), _UPSTREAM_VECTORS)
def test_matches_codeql_action_vectors(text: str, expected: list[str]) -> None:
    hashes = line_hashes(text)
    assert [hashes[line] for line in sorted(hashes)] == expected


def _transcribed_upstream(text: str) -> dict[int, str]:
    """A literal, character-at-a-time transcription of upstream `hash()`, as an oracle."""
    block, mask = 100, (1 << 64) - 1
    first_mod = pow(37, block, 1 << 64)
    window, line_numbers = [0] * block, [-1] * block
    hashes: dict[int, str] = {}
    counts: dict[str, int] = {}
    state = {"hash": 0, "index": 0, "line": 0, "line_start": True, "prev_cr": False}

    def output() -> None:
        value = format(state["hash"] & mask, "x")
        counts[value] = counts.get(value, 0) + 1
        hashes[line_numbers[state["index"]]] = f"{value}:{counts[value]}"
        line_numbers[state["index"]] = -1

    def update(current: int) -> None:
        index = state["index"]
        begin, window[index] = window[index], current
        state["hash"] = (37 * state["hash"] + current - first_mod * begin) & mask
        state["index"] = (index + 1) % block

    def process(current: int) -> None:
        if current in (0x20, 0x09) or (state["prev_cr"] and current == 0x0A):
            state["prev_cr"] = False
            return
        state["prev_cr"] = current == 0x0D
        if current == 0x0D:
            current = 0x0A
        if line_numbers[state["index"]] != -1:
            output()
        if state["line_start"]:
            state["line_start"] = False
            state["line"] += 1
            line_numbers[state["index"]] = state["line"]
        if current == 0x0A:
            state["line_start"] = True
        update(current)

    data = text.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(data), 2):
        process(data[i] | (data[i + 1] << 8))
    process(65535)
    for _ in range(block):
        if line_numbers[state["index"]] != -1:
            output()
        update(0)
    return hashes


def test_agrees_with_upstream_algorithm_on_random_text() -> None:
    generator = random.Random(20240501)
    alphabet = ["a", "b", "x = 1", " ", "\t", "\n", "\r", "\r\n", "é", "😀", "#", "("]
    for _ in range(200):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randrange(0, 400)))
        assert line_hashes(text) == _transcribed_upstream(text), repr(text)


def test_hash_of_a_line_survives_lines_inserted_above() -> None:
    original = "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n"
    edited = "import os\n# a comment\n" + original
    assert line_hash(original, 5) == line_hash(edited, 7)
    assert line_hash(original, 5) != line_hash(original, 4)


def test_indentation_changes_do_not_change_the_hash() -> None:
    assert line_hash("x = pickle.loads(b)\n", 1) == line_hash("    x  =  pickle.loads(b)\n", 1)


def test_an_edit_on_the_line_changes_the_hash() -> None:
    assert line_hash("x = pickle.loads(a)\n", 1) != line_hash("x = pickle.loads(b)\n", 1)


def test_missing_line_has_no_hash() -> None:
    assert line_hash("a\n", 5) == ""


def test_fingerprints_of_some_lines_equal_those_of_all_lines() -> None:
    generator = random.Random(20261204)
    # U+0A0A and U+0A00 hold a line feed byte that is no line feed.
    alphabet = [
        "a",
        "x = 1",
        " ",
        "\t",
        "\n",
        "\r\n",
        "é",
        "😀",
        "af",
        "bA",
        "\x00",
        "\u0a0a",
        "\u0a00",
    ]
    for _ in range(100):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randrange(0, 600)))
        every = line_hashes(text)
        assert every == _transcribed_upstream(text), repr(text)
        lines = generator.sample(range(0, len(every) + 3), min(4, len(every) + 3))
        assert fingerprints(text, lines) == {n: every[n] for n in lines if n in every}


def test_colliding_windows_count_as_upstream_counts_them() -> None:
    # "af" and "bA" differ by (+1, -37) in adjacent units: windows that differ only there
    # have the same polynomial hash, so upstream counts the second as a repeat.
    tail = "z" * 120 + "\n"
    text = f"af{tail}bA{tail}"
    assert line_hashes(text) == _transcribed_upstream(text)
    assert fingerprints(text, [2])[2].endswith(":2")
