"""Line fingerprints compatible with GitHub's `primaryLocationLineHash`.

This follows github/codeql-action `src/fingerprints.ts`: a rolling hash (base 37,
signed 64-bit wrap-around) over the next 100 non-blank characters starting at each line,
ignoring spaces and tabs and folding CR/CRLF to LF, written as `<hex>:<n>` where n counts
earlier lines with the same hash. Because the hash covers the text from the line onward,
lines added above a finding do not change it.
"""

from __future__ import annotations

_BLOCK_SIZE = 100
_MOD = 37
_MASK = (1 << 64) - 1
_EOF = 65535


def _to_signed(value: int) -> int:
    value &= _MASK
    return value - (1 << 64) if value >= 1 << 63 else value


_FIRST_MOD = _to_signed(pow(_MOD, _BLOCK_SIZE, 1 << 64))


def _utf16_units(text: str) -> list[int]:
    data = text.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(data[i : i + 2], "little") for i in range(0, len(data), 2)]


def line_hashes(text: str) -> dict[int, str]:
    """`{line_number: "hash:count"}` for every line of `text` (1-based)."""
    window = [0] * _BLOCK_SIZE
    line_numbers = [-1] * _BLOCK_SIZE
    hashes: dict[int, str] = {}
    counts: dict[str, int] = {}
    state = {"hash": 0, "index": 0, "line": 0, "line_start": True, "prev_cr": False}

    def output() -> None:
        value = format(state["hash"] & _MASK, "x")
        counts[value] = counts.get(value, 0) + 1
        hashes[line_numbers[state["index"]]] = f"{value}:{counts[value]}"
        line_numbers[state["index"]] = -1

    def update(current: int) -> None:
        index = state["index"]
        begin = window[index]
        window[index] = current
        state["hash"] = _to_signed(_MOD * state["hash"] + current - _FIRST_MOD * begin)
        state["index"] = (index + 1) % _BLOCK_SIZE

    def process(current: int) -> None:
        if current in (0x20, 0x09) or (state["prev_cr"] and current == 0x0A):
            state["prev_cr"] = False
            return
        if current == 0x0D:
            current = 0x0A
            state["prev_cr"] = True
        else:
            state["prev_cr"] = False
        if line_numbers[state["index"]] != -1:
            output()
        if state["line_start"]:
            state["line_start"] = False
            state["line"] += 1
            line_numbers[state["index"]] = state["line"]
        if current == 0x0A:
            state["line_start"] = True
        update(current)

    for unit in _utf16_units(text):
        process(unit)
    process(_EOF)
    for _ in range(_BLOCK_SIZE):
        if line_numbers[state["index"]] != -1:
            output()
        update(0)
    return hashes
