"""Line fingerprints identical to GitHub's `primaryLocationLineHash`.

github/codeql-action (`src/fingerprints.ts`) hashes every line of a file as follows, and
code scanning uses the result to track an alert across commits:

* the file is read as UTF-16 code units; spaces and tabs are dropped; CR, LF and CRLF
  all become one LF (a CR followed by LF counts once, but only if nothing - not even a
  dropped space - comes between them);
* an EOF marker (65535) is appended, then 100 zeros;
* a line's hash is the polynomial hash (base 37, 64-bit wrap-around) of the 100 values
  starting at the line's first character, printed as unsigned hex;
* `:n` is appended, where n counts the lines (this one included) with that hash so far.

Because the hash only looks forward from the line, lines inserted above a finding leave
its fingerprint unchanged. The upstream code rolls a 100-wide window one character at a
time; here every line's window is hashed at once: the lines are lanes of one big
integer, and each of the 100 steps of the polynomial hash is a handful of big-integer
operations on all lanes, which Python runs in C. The upstream test vectors are in
tests/test_fingerprint.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_BLOCK_SIZE = 100
_BASE = 37
_EOF = 65535
_LINE_BREAK = re.compile("\n")


def normalise(text: str) -> str:
    """The character stream the upstream hash actually sees (before the EOF marker)."""
    # CRLF must fold before blanks are dropped: upstream only merges a CR and an LF
    # that are adjacent in the original text ("\r \n" is two line breaks).
    folded = text.replace("\r\n", "\n").replace("\r", "\n")
    return folded.replace(" ", "").replace("\t", "")


def _code_units(text: str) -> list[int]:
    """UTF-16 code units, as JavaScript's `charCodeAt` yields them."""
    if text.isascii():
        return list(text.encode("ascii"))
    data = text.encode("utf-16-le", "surrogatepass")
    return [data[i] | (data[i + 1] << 8) for i in range(0, len(data), 2)]


# Bytes per lane: a lane holds a 64-bit hash times 37 plus a 16-bit unit before the
# mask cuts it back to 64 bits, so it never carries into the next lane.
_LANE = 9
_LANE_MASK = b"\xff" * 8 + b"\x00" * (_LANE - 8)


def _line_digests(text: str, last: int | None = None) -> list[bytes]:
    """The hash of each line's window (little-endian, 8 bytes), for the first `last`
    lines (all lines when None)."""
    normal = normalise(text)
    if not normal.isascii() and max(normal) > "\uffff":
        # One character per UTF-16 code unit, so that string offsets are unit offsets.
        normal = "".join(map(chr, _code_units(normal)))
    starts = [0, *(match.end() for match in _LINE_BREAK.finditer(normal))]
    if last is not None:
        del starts[last:]
    padded = (normal + chr(_EOF) + "\x00" * _BLOCK_SIZE).encode("utf-16-le", "surrogatepass")
    width = 2 * _BLOCK_SIZE
    # Row i: the window of line i, as UTF-16 code units; column j of all rows is
    # `rows[2j::width]` (low bytes) and `rows[2j+1::width]` (high bytes).
    rows = b"".join(padded[2 * start : 2 * start + width] for start in starts)
    count = len(starts)
    mask = int.from_bytes(_LANE_MASK * count, "little")
    column = bytearray(_LANE * count)
    state = 0
    for j in range(0, width, 2):
        column[0::_LANE] = rows[j::width]
        column[1::_LANE] = rows[j + 1 :: width]
        state = (state * _BASE + int.from_bytes(column, "little")) & mask
    lanes = state.to_bytes(_LANE * count, "little")
    return [lanes[at : at + 8] for at in range(0, _LANE * count, _LANE)]


def _fingerprint(digests: list[bytes], line: int) -> str:
    digest = digests[line - 1]
    # `:n` counts the lines up to this one with the same hash (equal windows, or a
    # collision: both count upstream too).
    return f"{int.from_bytes(digest, 'little'):x}:{digests[:line].count(digest)}"


def line_hashes(text: str) -> dict[int, str]:
    """`{line_number: "hash:count"}` for every line of `text` (1-based).

    As upstream, text ending in a line break has one more (empty) line after it.
    """
    hashes: dict[int, str] = {}
    counts: dict[bytes, int] = {}
    for line, digest in enumerate(_line_digests(text), start=1):
        counts[digest] = seen = counts.get(digest, 0) + 1
        hashes[line] = f"{int.from_bytes(digest, 'little'):x}:{seen}"
    return hashes


def fingerprints(text: str, lines: Iterable[int]) -> dict[int, str]:
    """`line_hashes(text)` for `lines` only, hashing no line after the last of them.
    Lines the text does not have are left out."""
    wanted = sorted({line for line in lines if line >= 1})
    if not wanted:
        return {}
    digests = _line_digests(text, wanted[-1])
    return {line: _fingerprint(digests, line) for line in wanted if line <= len(digests)}


def line_hash(text: str, line: int) -> str:
    """The fingerprint of one 1-based line, or "" if the text has no such line."""
    return fingerprints(text, [line]).get(line, "")
