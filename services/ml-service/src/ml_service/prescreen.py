"""A cheap first pass over raw JSON bytes that refuses oversized inputs before parsing.

Full validation turns every number into a Python float before a model validator can see
that there are too many rows, columns, clusters or operations: most of a second for a
near-10 MiB body on a busy machine. This pass counts brackets and commas with numpy
(vectorised, no Python objects per value) and refuses only what full validation would
refuse too. When it cannot be sure (escape sequences, small bodies) it says nothing and
full validation decides. Runs in worker processes only.
"""

from __future__ import annotations

import re

import numpy as np

from ml_service.limits import Limits

# Below this size full validation is already cheap.
MIN_BODY_BYTES = 256 * 1024
QUOTE, COMMA, OPEN_ARRAY, CLOSE_ARRAY, OPEN_OBJECT = 34, 44, 91, 93, 123
# A valid body has a handful of strings per operation; many more means it is not one.
MAX_STRINGS = 4_096
_STRUCTURAL = re.compile(rb"[\[\]{},]")
_N_CLUSTERS = re.compile(rb'"n_clusters"\s*:\s*(\d{1,20})\b')

Finding = tuple[tuple[str, ...], str]


def prescreen(body: bytes, limits: Limits, batch: bool) -> Finding | None:
    """The first cap a body surely breaks, as (field path, error type), or None.

    Sound because a valid body has a fixed shape: its strings are short keys and
    algorithm names, so the only arrays are ``data`` and its rows (one level deeper
    inside a batch's ``operations``), and the only objects inside ``operations`` are
    operations. Anything else is invalid anyway, so refusing it is never wrong.
    """
    if len(body) < MIN_BODY_BYTES or b"\\" in body:
        return None
    if b"NaN" in body or b"Infinity" in body:
        # Outside a string these are non-finite numbers; inside one, a string where
        # the schema has none. Either way the body is invalid.
        return (("data",), "finite_number")
    raw = np.frombuffer(body, dtype=np.uint8)
    quotes = np.flatnonzero(raw == QUOTE)
    if quotes.size % 2 or quotes.size > MAX_STRINGS * 2:
        return None
    spans = quotes.reshape(-1, 2)
    if any(_STRUCTURAL.search(body, start, end) for start, end in spans):
        return None  # structural characters inside a string: let the parser decide
    opens = np.flatnonzero(raw == OPEN_ARRAY)
    closes = np.flatnonzero(raw == CLOSE_ARRAY)
    brackets = np.concatenate((opens, closes))
    order = np.argsort(brackets, kind="stable")
    steps = np.where(order < opens.size, 1, -1)
    depth_after = np.cumsum(steps, dtype=np.int64)
    positions = brackets[order]
    row_depth = 3 if batch else 2
    if batch:
        objects = np.flatnonzero(raw == OPEN_OBJECT)
        object_depth = _depth_at(objects, positions, depth_after)
        if np.count_nonzero(object_depth == 1) > limits.max_batch_operations:
            return (("operations",), "too_long")
    row_starts = positions[(steps == 1) & (depth_after == row_depth)]
    if row_starts.size > limits.max_rows:
        return (("data",), "too_many_rows")
    row_ends = positions[(steps == -1) & (depth_after == row_depth - 1)]
    if row_starts.size == 0 or row_ends.size != row_starts.size:
        return None
    commas = np.flatnonzero(raw == COMMA)
    widths = np.searchsorted(commas, row_ends) - np.searchsorted(commas, row_starts) + 1
    if int(widths.max()) > limits.max_dims:
        return (("data",), "too_many_dimensions")
    if batch:
        return None
    if int(widths.min()) != int(widths.max()):
        return (("data",), "ragged_rows")
    return _too_many_clusters(body, spans, positions, depth_after, limits)


def _depth_at(where: np.ndarray, positions: np.ndarray, depth_after: np.ndarray) -> np.ndarray:
    """Array nesting depth at each offset in ``where`` (none of which is a bracket)."""
    before = np.searchsorted(positions, where)
    padded = np.concatenate(([0], depth_after))
    return padded[before]


def _too_many_clusters(
    body: bytes,
    spans: np.ndarray,
    positions: np.ndarray,
    depth_after: np.ndarray,
    limits: Limits,
) -> Finding | None:
    keys = list(_N_CLUSTERS.finditer(body))
    if not keys:
        return None
    # A match starts at a key's opening quote; it is a real key only if that quote
    # opens a string (even index among quotes) at the top level of the object.
    openings = {int(start) for start in spans[:, 0]}
    starts = np.array([match.start() for match in keys])
    depths = _depth_at(starts, positions, depth_after)
    top_level = [
        match
        for match, depth in zip(keys, depths, strict=True)
        if match.start() in openings and depth == 0
    ]
    # With duplicate keys the last one wins, as in the JSON parser.
    if top_level and int(top_level[-1].group(1)) > limits.max_clusters:
        return (("n_clusters",), "too_many_clusters")
    return None
