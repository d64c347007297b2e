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
time; here the same values come from prefix hashes, which is much faster in Python. The
upstream test vectors are in tests/test_fingerprint.py.
"""

from __future__ import annotations

_BLOCK_SIZE = 100
_BASE = 37
_MASK = (1 << 64) - 1
_EOF = 65535
_LF = 0x0A
_BASE_POW_BLOCK = pow(_BASE, _BLOCK_SIZE, 1 << 64)


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


def line_hashes(text: str) -> dict[int, str]:
    """`{line_number: "hash:count"}` for every line of `text` (1-based).

    As upstream, text ending in a line break has one more (empty) line after it.
    """
    units = _code_units(normalise(text))
    units.append(_EOF)
    starts = [0, *(i + 1 for i, unit in enumerate(units) if unit == _LF)]
    units.extend([0] * _BLOCK_SIZE)

    # prefix[i] = hash of units[:i]; a window [p, p + 100) hashes to
    # prefix[p + 100] - prefix[p] * 37**100 (all modulo 2**64).
    prefix = [0] * (len(units) + 1)
    running = 0
    for index, unit in enumerate(units, start=1):
        running = (running * _BASE + unit) & _MASK
        prefix[index] = running

    hashes: dict[int, str] = {}
    counts: dict[str, int] = {}
    for line, start in enumerate(starts, start=1):
        value = (prefix[start + _BLOCK_SIZE] - prefix[start] * _BASE_POW_BLOCK) & _MASK
        digest = format(value, "x")
        counts[digest] = counts.get(digest, 0) + 1
        hashes[line] = f"{digest}:{counts[digest]}"
    return hashes


def line_hash(text: str, line: int) -> str:
    """The fingerprint of one 1-based line, or "" if the text has no such line."""
    return line_hashes(text).get(line, "")
