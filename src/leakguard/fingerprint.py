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
_LINE_FEED = re.compile(b"\n\x00")


def normalise(text: str) -> str:
    """The character stream the upstream hash actually sees (before the EOF marker)."""
    # CRLF must fold before blanks are dropped: upstream only merges a CR and an LF
    # that are adjacent in the original text ("\r \n" is two line breaks).
    folded = text.replace("\r\n", "\n").replace("\r", "\n")
    return folded.replace(" ", "").replace("\t", "")


# Bytes per lane: a lane holds a 64-bit hash times 37 plus a 16-bit unit before the
# mask cuts it back to 64 bits, so it never carries into the next lane.
_LANE = 9
_LANE_MASK = b"\xff" * 8 + b"\x00" * (_LANE - 8)


def _line_digests(text: str, last: int | None = None) -> list[bytes]:
    """The hash of each line's window (little-endian, 8 bytes), for the first `last`
    lines (all lines when None)."""
    # As UTF-16 code units (JavaScript's `charCodeAt`), 2 bytes each.
    data = normalise(text).encode("utf-16-le", "surrogatepass")
    # A line feed is the unit 0x000A, at an even offset (an odd match straddles two
    # units and never hides an even one: its second byte is 0, not 0x0A).
    starts = [0, *(m.end() // 2 for m in _LINE_FEED.finditer(data) if not m.start() & 1)]
    if last is not None:
        del starts[last:]
    padded = data + _EOF.to_bytes(2, "little") + bytes(2 * _BLOCK_SIZE)
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
