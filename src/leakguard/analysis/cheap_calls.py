"""What counts as a cheap call: the one vocabulary behind "per-item work"
(`analysis/per_item_work.py`) and the function summaries (`analysis/summaries.py`), which
record calls with it when a file is collected.

A call is cheap when its cost is that of a conversion of a value already in memory,
independent of anything outside the process: a builtin conversion or check, a
container/str method, a pydantic model's conversion, a standard-library conversion.
Everything else (I/O, a database, a model, an unknown library) is work. Each entry
below is one a reviewer of real code treats as no work; keep each addition justified.

A cheap method NAME is cheap only on a receiver that may hold plain data. When what
made the receiver is known (`analysis/summaries.py` records it: a local or `self.x`
assigned from a call, a module-level value of the run, an annotated parameter),
`made_object` judges the maker's qualified name: a third-party class (`httpx.Client()`,
`redis.Redis()`, `Session()`, `SentenceTransformer(...)`) or connection factory
(`redis.from_url(...)`) makes an object whose `get`/`pop`/`update`/`encode` reach a
server or run a model, whatever the name says. A third-party function's value is
judged by the method's name (`jwt.decode(token).get("sub")`: most return data), as are
the standard library's (`datetime.now().replace(...)`, `base64.b64encode(b).decode()`)
except those listed in `STDLIB_OBJECT_MAKERS` (`queue.Queue().get()` blocks); the
parsers in `DATA_MAKERS` return plain containers.

This module has no dependencies, so both the summaries collector and the per-item fact
import it without a cycle.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Mapping

# Builtins called by name (when the name is not rebound by an import).
CHEAP_BUILTINS = frozenset(
    {
        # conversions and checks
        "len", "str", "int", "float", "bool", "repr", "format", "isinstance", "round",
        "abs", "min", "max", "sum", "id", "type", "getattr", "hasattr",
        # building containers and iterators over values in hand
        "enumerate", "zip", "range", "reversed", "iter", "list", "tuple", "dict", "set",
        # their cost is their argument's, whose own calls are judged on their own
        "any", "all", "sorted", "next", "frozenset", "issubclass", "callable",
        # writes a line to the process's stdout: no per-item cost worth a finding
        "print",
    }
)  # fmt: skip

# Method names cheap on any receiver: container and str methods (`ids.append(m.id)`,
# `d.get(k)`, `name.strip()`), and pydantic's conversions of a model in memory
# (`connection.model_dump()`, v1 `.dict()`, `model_copy()`): real-world review of admin
# configuration routes that dump each configured connection (Open WebUI).
CHEAP_METHODS = frozenset(
    {
        "append", "extend", "add", "get", "format", "join", "split", "strip", "lower",
        "upper", "items", "keys", "values", "pop", "setdefault", "update", "startswith",
        "endswith", "replace", "encode", "decode", "copy",
        "model_dump", "dict", "model_copy",
    }
)  # fmt: skip

# Qualified standard-library calls that convert or inspect a value in memory: parsing
# JSON the request already carried and reading a type's annotations (a whitelist-filtered
# config update coercing each value to its field's type, gpustack).
CHEAP_CALLS = frozenset(
    {
        "json.loads", "json.dumps",
        "typing.get_type_hints", "typing.get_origin", "typing.get_args", "typing.cast",
        # matching a string in hand costs what reading it does (a config key checked
        # against a name pattern per entry, open-webui; `{{ field }}` references found in
        # a template value, gpustack); `re.sub` is not here: its replacement may be a
        # function called per match
        "re.match", "re.fullmatch", "re.search", "re.findall", "re.finditer", "re.split",
        "re.escape", "re.compile",
    }
)  # fmt: skip

# The maker of a compiled pattern, and the methods of one that only match the string
# they are given (`KEY_RE.match(key)`); `sub`/`subn` may call a replacement function per
# match and stay work.
PATTERN_MAKER = "re.compile"
PATTERN_METHODS = frozenset({"match", "fullmatch", "search", "findall", "finditer", "split"})


def cheap_callee(
    name: str | None,
    method: str | None,
    aliases: Mapping[str, str],
    patterns: Collection[str] = (),
) -> bool:
    """A call that is no work by its callee alone. `name` is the callee's dotted source
    (`len`, `row.strip`, `json.loads`; None for another expression), `method` the
    attribute called when the callee is an attribute (whatever its receiver), `aliases`
    the file's import table (local name -> qualified name), `patterns` the file's
    module-level names bound to a compiled pattern (`KEY_RE = re.compile(...)`), whose
    matching methods are cheap. A cheap method name on a top-level module bound by
    `import` is that module's function, judged by its qualified name (`requests.get` is
    a request, not `dict.get`)."""
    if name is not None:
        root, _, rest = name.partition(".")
        if root in patterns and rest in PATTERN_METHODS:
            return True  # `KEY_RE.match(key)`
        target = aliases.get(root)
        if target is not None and (f"{target}.{rest}" if rest else target) in CHEAP_CALLS:
            return True
        if not rest:
            return target is None and name in CHEAP_BUILTINS
        if target is not None and "." not in target and "." not in rest:
            return False  # `requests.get(url)`: a module's function, not a method
    return method is not None and method in CHEAP_METHODS


# Top-level names of the standard library.
_STDLIB = frozenset(sys.stdlib_module_names)

# Third-party makers (qualified prefixes) whose values are plain containers, strings or
# in-memory models: parsers of text already in hand, pydantic and pandas' in-memory
# tables (not its file stores: `pd.HDFStore(path).get(key)` reads the disk).
DATA_MAKERS = (
    "orjson.", "ujson.", "simplejson.", "yaml.", "toml.", "tomli.", "msgpack.",
    "pydantic.", "typing_extensions.", "pandas.DataFrame", "pandas.Series",
)  # fmt: skip

# Standard-library makers (qualified prefixes) of objects whose cheap-named methods wait
# or do I/O: `queue.Queue().get()` blocks, a shelf or dbm file reads the disk, a
# connection talks to a server.
STDLIB_OBJECT_MAKERS = (
    "queue.", "multiprocessing.", "shelve.", "dbm.", "socket.", "http.client.",
    "xmlrpc.", "smtplib.", "imaplib.", "poplib.", "ftplib.", "sqlite3.",
    "concurrent.futures.", "asyncio.Queue", "asyncio.Future",
)  # fmt: skip


# Third-party functions (last name) that open a connection to a server.
CONNECTION_FACTORIES = frozenset({"from_url", "connect", "client", "resource", "create_client"})


def made_object(qualified: str) -> bool:
    """A value made by `qualified` (called, or as the annotated type of a parameter), a
    name from outside the run, is an object whose cheap-named methods are not cheap by
    their name (see the module's docstring)."""
    if qualified.startswith(STDLIB_OBJECT_MAKERS):
        return True
    if qualified.partition(".")[0] in _STDLIB or "." not in qualified:
        return False  # the standard library's values, a builtin's
    if qualified.startswith(DATA_MAKERS):
        return False
    last = qualified.rsplit(".", 1)[-1]
    return last[:1].isupper() or last in CONNECTION_FACTORIES
