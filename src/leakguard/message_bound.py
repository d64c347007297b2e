"""One-line finding messages of at most 120 characters (issue 15), shortened by what
matters least first.

Every rule's message goes through `bound_message` once (`LintRule.report`, and LG001,
which builds its findings itself). A message that fits is left as the rule wrote it,
except that a code span longer than `MAX_CODE_SPAN` is shortened to its head (a whole
call with its arguments is not needed to say what is wrong). A message that does not fit
loses, in this order, until it fits:

1. file references in the prose (` in ota_sources.py`, ` (calculator.py:1296)`): the
   finding's own location and its related locations already say where;
2. the arguments of quoted code (`await asyncio.to_thread(fn, x)` ->
   `await asyncio.to_thread(...)`) and the tail of quoted string literals, longest first;
3. the leading qualifiers of dotted names down to two parts
   (`fastapi.concurrency.run_in_threadpool` -> `…concurrency.run_in_threadpool`), longest
   first: the part a user searches for and acts on is the last one;
4. the remaining qualifiers (`Model.field` -> `…field`: the finding points at the field);
5. parenthetical clauses of the prose (`(reached from request handler ...)`), last first;

and only then are names cut (every span to the widest length that fits, down to
`_MIN_CODE_SPAN`, at the end of a word when one is near), and at last the prose at the
end. A user cannot act on a name cut in the middle of a word.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Quoted code longer than this is shortened to its head (`numpy.ones(...)`).
MAX_CODE_SPAN = 40
# A message is one line of at most this many characters (issue 15).
MAX_MESSAGE = 120
# Names are not cut below this while the line is too long (a name stays recognisable).
_MIN_CODE_SPAN = 12
# A quoted string literal keeps this many characters of its text when shortened.
_LITERAL_HEAD = 20

_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_FILE_CLAUSE = re.compile(r" in [\w./\\-]+\.pyi?\b| \([\w./\\-]+\.pyi?(?::\d+)?\)")
_PARENTHETICAL = re.compile(r" \([^()]*\)")
_LITERAL = re.compile(r"""^([rbfuRBFU]{0,2})(["'])""")
_DOTTED = re.compile(r"^(await |async def |@)?(…?)([\w]+)\.([\w.]+(?:\(\.\.\.\)|\(\))?)$")
_OPEN = {"(": ")", "[": "]", "{": "}"}


def _head(code: str) -> str:
    """`code` without the arguments of its calls and subscripts, a long string literal
    cut after its first words: `bento_model.path_of(MODEL_FILE)` -> `bento_model.path_of(...)`,
    `f"Could not disconnect from the server: {e}"` -> `f"Could not disconnect fr…"`."""
    literal = _LITERAL.match(code)
    if literal is not None:
        prefix, mark = literal.groups()
        body = code[len(prefix) + 1 :]
        if len(body) > _LITERAL_HEAD + 2:
            words = body[: _LITERAL_HEAD + 1]  # cut between words when there are some
            kept = words.rsplit(" ", 1)[0] if " " in words else words[:_LITERAL_HEAD]
            return f"{prefix}{mark}{kept.rstrip()}…{mark}"
        return code
    out: list[str] = []
    depth = 0
    closing: list[str] = []
    quote: str | None = None
    start = 0
    for index, char in enumerate(code):
        if quote is not None:
            if char == quote:
                quote = None
            continue
        if char in "\"'":
            quote = char
        elif char in _OPEN:
            if depth == 0:
                start = index
            depth += 1
            closing.append(_OPEN[char])
        elif closing and char == closing[-1]:
            closing.pop()
            depth -= 1
            if depth == 0:
                inner = code[start + 1 : index]
                out.append(code[start] + ("..." if inner.strip() else "") + char)
            continue
        if depth == 0:
            out.append(char)
    if depth:  # unbalanced: an already cut span, leave it
        return code
    return "".join(out)


def _drop_qualifier(code: str, keep: int = 1) -> str:
    """`a.b.c` -> `…b.c`, `…b.c` -> `…c`; unchanged when only `keep` parts are left."""
    match = _DOTTED.match(code)
    if match is None:
        return code
    keyword, _, _, rest = match.groups()
    if rest.split("(", 1)[0].count(".") + 1 < keep:
        return code
    return f"{keyword or ''}…{rest}"


def _drop_outer_qualifier(code: str) -> str:
    """`a.b.c` -> `…b.c`, keeping the last two parts (`Model.field`, `module.call`)."""
    return _drop_qualifier(code, keep=2)


def _spans(text: str) -> list[re.Match[str]]:
    return list(_CODE_SPAN.finditer(text))


def _replace_span(text: str, span: re.Match[str], code: str) -> str:
    return f"{text[: span.start()]}`{code}`{text[span.end() :]}"


def _masked(text: str) -> str:
    """`text` with its code spans blanked (same length), so prose patterns do not match
    inside quoted code."""
    return _CODE_SPAN.sub(lambda m: "`" + "\0" * len(m.group(1)) + "`", text)


def _drop_prose(text: str, pattern: re.Pattern[str], limit: int) -> str:
    """Matches of `pattern` in the prose removed, last first, until `text` fits."""
    while len(text) > limit:
        found = list(pattern.finditer(_masked(text)))
        if not found:
            break
        last = found[-1]
        text = text[: last.start()] + text[last.end() :]
    return text


def _shorten_spans(text: str, shorten: Callable[[str], str], limit: int) -> str:
    """The longest span that `shorten` changes shortened, one step at a time, until
    `text` fits or no span changes."""
    while len(text) > limit:
        candidates = [
            (len(span.group(1)), index, span, changed)
            for index, span in enumerate(_spans(text))
            if (changed := shorten(span.group(1))) != span.group(1)
        ]
        if not candidates:
            break
        _, _, span, changed = max(candidates, key=lambda c: (c[0], -c[1]))
        text = _replace_span(text, span, changed)
    return text


def _word_cut(code: str, keep: int) -> str:
    """The first `keep` characters of `code`, backed off to the end of a word
    (`update_cluster_topology_…`, `PredefinedConfig…`) when one ends in their second half:
    a whole word is recognisable, half of one is not."""
    for end in range(keep, keep // 2, -1):
        before, after = code[end - 1], code[end]
        if before in "_." or (before.islower() and after.isupper()) or after in "([{":
            return code[:end]
    return code[:keep]


def _cut_spans(message: str, width: int, keep: int) -> str:
    """Each code span longer than `width` cut to its first `keep` characters (at a word's
    end when one is near) and `…`."""

    def cut(match: re.Match[str]) -> str:
        code = match.group(1)
        return match.group(0) if len(code) <= width else f"`{_word_cut(code, keep)}…`"

    return _CODE_SPAN.sub(cut, message)


def shorten_code_spans(message: str) -> str:
    """Each code span longer than `MAX_CODE_SPAN` shortened to its head:
    `numpy.ones(shape=(1000, 10), dtype=...)` -> `numpy.ones(...)`. A name is not cut."""

    def head(match: re.Match[str]) -> str:
        code = match.group(1)
        return match.group(0) if len(code) <= MAX_CODE_SPAN else f"`{_head(code)}`"

    return _CODE_SPAN.sub(head, message)


def bound_message(message: str, limit: int = MAX_MESSAGE) -> str:
    """`message` as one line of at most `limit` characters, shortened by what matters
    least first (see the module's documentation)."""
    text = shorten_code_spans(" ".join(message.split()))
    if len(text) <= limit:
        return text
    text = _drop_prose(text, _FILE_CLAUSE, limit)
    text = _shorten_spans(text, _head, limit)
    text = _shorten_spans(text, _drop_outer_qualifier, limit)
    text = _shorten_spans(text, _drop_qualifier, limit)
    text = _drop_prose(text, _PARENTHETICAL, limit)
    if len(text) <= limit:
        return text
    for width in range(MAX_CODE_SPAN - 1, _MIN_CODE_SPAN - 1, -1):
        shorter = _cut_spans(text, width, width - 1)
        if len(shorter) <= limit:
            return shorter
    text = _cut_spans(text, _MIN_CODE_SPAN, _MIN_CODE_SPAN - 1)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rstrip()
    if cut.count("`") % 2:
        cut = cut[: limit - 2].rstrip() + "`"  # close the span the cut opened
    return cut + "…"
