"""Waits on something outside the process, and whether they carry a deadline of their own.

A call that waits on a peer or a child process (an HTTP request, a directory or vector
database client, a child process) holds its thread for as long as the other side takes,
unless the call itself (or, for a client, its construction) carries a deadline. This is
the fact a timeout around an offload protects against (LG204), recognised in one place:

- `EXTERNAL_WAITS`: functions that wait, each with the keywords that bound its wait
  (`timeout=` for `requests.get` and `subprocess.run`; none at all for `os.system`). A
  call carries a deadline when one of them is given a value that is not the literal
  `None` (nor a `(connect, None)` pair); a `**options` splat alone shows none (a
  deadline must be visible to count; beside `timeout=` it cannot repeat the keyword). `urlopen` and
  `socket.create_connection` have none: their `timeout=` bounds each read of the live
  connection they hand back, not the reading.
  `httpx`'s functions carry a default one (5 s): only `timeout=None` removes it.
- `NETWORK_CLIENTS`: constructors of clients whose methods wait on a server, with the
  keywords that bound those waits: `ldap3.Connection(..., receive_timeout=)`,
  `pymilvus.MilvusClient(..., timeout=)`; none for `psycopg.connect`, whose
  `connect_timeout` bounds the connect, not a query. A client built without one waits
  unbounded in every method (`connection.bind`), and its construction is the evidence.
- HTTP methods of a client object (`session.get(url, ...)` of a `requests.Session`, or
  any receiver when the call says `stream=True`): a streamed request's `timeout=` bounds
  each read, not the body, which is read later piece by piece, so it carries none.
- A deadline on a wait made once per item of a loop bounds each wait, not the loop:
  such a wait carries none (`in_loop`). A `time.sleep` in a `while` loop is a poll
  that waits for as long as its condition takes (`POLLING_CALLS`).

Name lookups (`socket.getaddrinfo`, `locality.RESOLVER_CALLS`) are bounded by the
resolver's configuration and are never a wait without a deadline; nor is local work.

`untimed_client_locals(function, context)` names the locals a coroutine binds to such a
client (`connection = Connection(server)`, then `to_thread(connection.bind)`).
`untimed_wait(name, keywords, in_loop)` judges one call by its qualified name and its
keywords (`ast_keywords` / `cst_keywords`), `untimed_client(name, keywords)` one client
construction, `untimed_method(method, keywords, maker)` a method of a value a waiting
maker made (a `requests` session's `get`, a child process's `wait`, a queue's `get`).
Each answers with what the call lacks (for a message) or None when it carries a deadline
or is no external wait. The function summaries record the first untimed wait of each
function as its `waits` fact (`function_waits`), so a rule follows it across the run.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import libcst as cst

from leakguard.analysis.locality import (
    RESOLVER_CALLS,
    lock_holders,
    lock_key,
    wrapped_by_decorator,
)
from leakguard.triage import dotted as ast_dotted
from leakguard.walker import SCOPE_NODES, descendants

if TYPE_CHECKING:
    from leakguard.analysis.summaries import Chain, FileSummaryCollector, Step, SummaryIndex
    from leakguard.context import FileContext

_TIMEOUT = ("timeout",)
_HTTP_FUNCTIONS = ("get", "post", "put", "patch", "delete", "head", "options", "request")

# Qualified name -> (keywords that bound the wait, what the call waits on).
EXTERNAL_WAITS: Mapping[str, tuple[tuple[str, ...], str]] = {
    **{f"requests.{verb}": (_TIMEOUT, "makes an HTTP request") for verb in _HTTP_FUNCTIONS},
    **{f"requests.api.{verb}": (_TIMEOUT, "makes an HTTP request") for verb in _HTTP_FUNCTIONS},
    # their `timeout=` bounds each read of the live connection they hand back, read later
    # for as long as the peer keeps sending: no deadline for the whole
    "urllib.request.urlopen": ((), "opens a URL read later"),
    "socket.create_connection": ((), "opens a connection read later"),
    "subprocess.run": (_TIMEOUT, "waits for a child process"),
    "subprocess.call": (_TIMEOUT, "waits for a child process"),
    "subprocess.check_call": (_TIMEOUT, "waits for a child process"),
    "subprocess.check_output": (_TIMEOUT, "waits for a child process"),
    "subprocess.getoutput": ((), "waits for a child process"),
    "subprocess.getstatusoutput": ((), "waits for a child process"),
    "os.system": ((), "waits for a child process"),
    "os.popen": ((), "waits for a child process"),
}

# Functions whose wait is bounded by default: only an explicit `timeout=None` unbounds it.
DEFAULT_DEADLINE_WAITS: Mapping[str, str] = {
    f"httpx.{verb}": "makes an HTTP request" for verb in (*_HTTP_FUNCTIONS, "stream")
}

# Client constructor -> (keywords that bound the waits of its methods, what it talks to).
NETWORK_CLIENTS: Mapping[str, tuple[tuple[str, ...], str]] = {
    "ldap3.Connection": (("receive_timeout",), "an LDAP server"),
    "ldap3.Server": (("connect_timeout",), "an LDAP server"),
    "pymilvus.MilvusClient": (_TIMEOUT, "a Milvus server"),
    "qdrant_client.QdrantClient": (_TIMEOUT, "a Qdrant server"),
    # `connect_timeout` bounds the connect only; a query waits for as long as it runs
    "psycopg.connect": ((), "a PostgreSQL server"),
    "psycopg2.connect": ((), "a PostgreSQL server"),
    "pymysql.connect": (("read_timeout",), "a MySQL server"),
    "redis.Redis": (("socket_timeout",), "a Redis server"),
    "redis.StrictRedis": (("socket_timeout",), "a Redis server"),
    "redis.from_url": (("socket_timeout",), "a Redis server"),
    "pymongo.MongoClient": (("socketTimeoutMS", "timeoutMS"), "a MongoDB server"),
    "smtplib.SMTP": (_TIMEOUT, "an SMTP server"),
    "smtplib.SMTP_SSL": (_TIMEOUT, "an SMTP server"),
    "ftplib.FTP": (_TIMEOUT, "an FTP server"),
    "http.client.HTTPConnection": (_TIMEOUT, "an HTTP server"),
    "http.client.HTTPSConnection": (_TIMEOUT, "an HTTP server"),
    "logging.handlers.HTTPHandler": ((), "an HTTP log collector"),
    # a socket's reads wait for the peer: `settimeout()` later is not seen (known limit)
    "socket.socket": ((), "a socket peer"),
    # a live connection: its `timeout=` bounds each read, not the reading
    "socket.create_connection": ((), "a socket peer"),
}

# Sessions whose HTTP methods take the deadline per call (`session.get(url, timeout=5)`).
HTTP_SESSIONS = frozenset({"requests.Session", "requests.sessions.Session", "requests.session"})
HTTP_METHODS = frozenset({*_HTTP_FUNCTIONS, "send"})
# Values whose methods wait, each method taking the deadline per call (`timeout=`): a
# child process (`proc.wait()`), a queue (`jobs.get()`, unless `block=False`).
PROCESS_MAKERS = frozenset({"subprocess.Popen"})
PROCESS_METHODS = frozenset({"wait", "communicate"})
QUEUE_MAKERS = frozenset(
    {"queue.Queue", "queue.LifoQueue", "queue.PriorityQueue", "multiprocessing.Queue"}
)
QUEUE_METHODS = frozenset({"get", "join"})
# Makers whose values' methods are judged per call (`untimed_method`).
WAITING_MAKERS = HTTP_SESSIONS | PROCESS_MAKERS | QUEUE_MAKERS

# Sleeps: in a `while` loop, a poll that waits for as long as what it polls for takes
# (`while not done(): time.sleep(1)`, tailing a file).
POLLING_CALLS = frozenset({"time.sleep"})

# A keyword's value as far as a deadline goes.
NONE = "none"  # the literal `None`
TRUE = "true"  # the literal `True` (for `stream=`)
VALUE = "value"  # anything else
SPLAT = "**"  # a `**options` splat (its key)


def ast_keywords(call: ast.Call) -> dict[str, str]:
    """The keywords of `call` (an `ast.Call`), each as `NONE`, `TRUE` or `VALUE`."""
    found: dict[str, str] = {}
    for keyword in call.keywords:
        found[keyword.arg if keyword.arg is not None else SPLAT] = _ast_value(keyword.value)
    return found


def cst_keywords(args: Sequence[cst.Arg]) -> dict[str, str]:
    """The keywords among `args` (of a `cst.Call`), each as `NONE`, `TRUE` or `VALUE`."""
    found: dict[str, str] = {}
    for arg in args:
        if arg.star == "**":
            found[SPLAT] = VALUE
        elif arg.keyword is not None:
            value = arg.value
            if isinstance(value, cst.Tuple) and any(
                isinstance(e.value, cst.Name) and e.value.value == "None" for e in value.elements
            ):
                found[arg.keyword.value] = NONE
            elif isinstance(value, cst.Name) and value.value in ("None", "True"):
                found[arg.keyword.value] = NONE if value.value == "None" else TRUE
            else:
                found[arg.keyword.value] = VALUE
    return found


def _ast_value(value: ast.expr) -> str:
    if isinstance(value, ast.Constant) and value.value is None:
        return NONE
    if isinstance(value, ast.Tuple) and any(_ast_value(v) == NONE for v in value.elts):
        return NONE  # `timeout=(3.05, None)`: no deadline on the reads
    if isinstance(value, ast.Constant) and value.value is True:
        return TRUE
    return VALUE


def _deadline(keywords: Mapping[str, str], bounding: Sequence[str]) -> str | None:
    """What the keywords lack for a deadline among `bounding`, or None when one is set."""
    given = [keywords[k] for k in bounding if k in keywords]
    if any(state != NONE for state in given):
        return None  # a `**options` beside it cannot repeat the keyword (a TypeError)
    if SPLAT in keywords and not given:
        return "with no timeout in sight (only `**` options)"
    if given:
        return f"with `{bounding[0]}=None`"
    if not bounding:
        return "with no timeout on its waits"
    return f"with no `{bounding[0]}`" if bounding != _TIMEOUT else "with no timeout"


def untimed_wait(name: str, keywords: Mapping[str, str], in_loop: bool = False) -> str | None:
    """What call `name` (qualified) waits on and the deadline it lacks ("makes an HTTP
    request with no timeout"), or None: it carries one, or it is no external wait."""
    if name in RESOLVER_CALLS:
        return "looks up a name once per item of a loop" if in_loop else None
    if name in DEFAULT_DEADLINE_WAITS:
        if keywords.get("timeout") == NONE:
            return f"{DEFAULT_DEADLINE_WAITS[name]} with `timeout=None`"
        return f"{DEFAULT_DEADLINE_WAITS[name]} once per item of a loop" if in_loop else None
    known = EXTERNAL_WAITS.get(name)
    if known is None:
        return None
    bounding, what = known
    if keywords.get("stream") == TRUE:
        return f"{what} streamed (its timeout bounds each read, not the body)"
    lacking = _deadline(keywords, bounding)
    if lacking is not None:
        return f"{what} {lacking}"
    return f"{what} once per item of a loop" if in_loop else None


def untimed_client(name: str, keywords: Mapping[str, str]) -> str | None:
    """What a client built by constructor `name` (qualified) talks to and the deadline
    its construction lacks ("talks to an LDAP server with no `receive_timeout`"), or None."""
    known = NETWORK_CLIENTS.get(name)
    if known is None:
        return None
    bounding, what = known
    lacking = _deadline(keywords, bounding)
    return None if lacking is None else f"talks to {what} {lacking}"


def untimed_method(
    method: str, keywords: Mapping[str, str], maker: str | None, in_loop: bool = False
) -> str | None:
    """A method of a value `maker` (qualified) made: an HTTP method of a `requests`
    session, `wait`/`communicate` of a child process, `get` of a queue, judged by its
    `timeout=`; of a value of any maker (None), a streamed HTTP request (`stream=True`,
    which no other `get` takes)."""
    if method in HTTP_METHODS and keywords.get("stream") == TRUE:
        return "makes an HTTP request streamed (its timeout bounds each read, not the body)"
    if maker in HTTP_SESSIONS and method in HTTP_METHODS:
        what = "makes an HTTP request"
    elif maker in PROCESS_MAKERS and method in PROCESS_METHODS:
        what = "waits for a child process"
    elif maker in QUEUE_MAKERS and method in QUEUE_METHODS:
        if method == "join":
            return "waits for a queue to drain, with no timeout"
        if keywords.get("block") not in (None, TRUE):
            return None  # `jobs.get(block=False)`: no wait
        what = "waits on a queue"
    else:
        return None
    lacking = _deadline(keywords, _TIMEOUT)
    if lacking is not None:
        return f"{what} {lacking}"
    return f"{what} once per item of a loop" if in_loop else None


def function_waits(
    file: FileSummaryCollector,
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    owner: str | None,
    receiver: str,
    shadowed: frozenset[str],
    enclosing: Mapping[str, str] | None = None,
) -> dict[str, list[Any]]:
    """What a function's body (functions defined in it included: they run when it calls
    them) waits on, as facts of its summary:

    - `waits`: the first wait without a deadline, ["label|what", line];
    - `bounded_waits`: the first wait that carries its own deadline, or a name lookup
      (bounded by the resolver), made once: ["label|what", line];
    - `looped_calls`: possible functions of the run called, or handed to a call
      (`map(probe, hosts)`), in a loop: [kind, name, line]; a deadline on what they wait
      for bounds each round, not the loop (`repeated_wait`).

    A deadline on a wait made in a loop, in a function defined here (it may be called any
    number of times) or under a decorator that may call the function again (`@retry`)
    bounds each wait, not the whole: such a wait counts as one without a deadline.
    `enclosing`: the values of the function a nested one is defined in (`made_values`),
    which it reads through its closure."""
    children = file.indexed.children_by_id
    nodes = _breadth_first(function, children)
    looped, polled = _repeated(nodes, children)
    if wrapped_by_decorator(function):
        looped.update(id(node) for node in nodes)  # the decorator may call it again
    made = made_values(file, function, nodes, shadowed, enclosing)
    facts: dict[str, list[Any]] = {}
    for node in nodes:
        if type(node) is not ast.Call:
            continue
        in_loop = id(node) in looped
        if in_loop or _maps(node.func):
            _looped_calls(file, node, owner, receiver, shadowed, facts)
        dotted = ast_dotted(node.func)
        qualified = None
        if dotted is not None and dotted.partition(".")[0] not in shadowed:
            qualified = file.qualify(dotted)
        keywords = ast_keywords(node)
        maker: str | None = None
        if isinstance(node.func, ast.Attribute):
            owned = node.func.value
            if isinstance(owned, ast.Name):
                maker = made.get(owned.id)
            elif isinstance(owned, ast.Call):  # `subprocess.Popen(cmd).wait()`
                maker = file.qualify(ast_dotted(owned.func) or "")
        label = qualified or dotted or "…"
        what = _untimed(node, qualified, keywords, maker, False)
        if what is None and qualified in POLLING_CALLS and id(node) in polled:
            what = "polls in a loop with no end but the condition it waits for"
        if what is not None:
            facts.setdefault("waits", [f"{label}|{what}", node.lineno])
            continue
        repeated = _untimed(node, qualified, keywords, maker, True)
        if repeated is None:
            continue
        if in_loop:
            # bounded each time, made again per item: judged only for the offloaded
            # function itself (`repeated_wait`), whose caller hands it the items
            facts.setdefault("repeated_waits", [f"{label}|{repeated}", node.lineno])
        elif qualified is not None:
            bounded = bounded_wait(qualified)
            if bounded is not None:
                facts.setdefault("bounded_waits", [f"{label}|{bounded}", node.lineno])
    return facts


def _untimed(
    node: ast.Call,
    qualified: str | None,
    keywords: Mapping[str, str],
    maker: str | None,
    in_loop: bool,
) -> str | None:
    """What call `node` waits on without a deadline (`in_loop`: a deadline made again per
    item is none), or None."""
    what: str | None = None
    if qualified is not None:
        what = untimed_wait(qualified, keywords, in_loop) or untimed_client(qualified, keywords)
    if what is None and isinstance(node.func, ast.Attribute):
        what = untimed_method(node.func.attr, keywords, maker, in_loop)
        client = NETWORK_CLIENTS.get(maker) if maker is not None else None
        if what is None and client is not None and not client[0]:
            # a client that takes no deadline at all (made elsewhere in the module)
            what = f"talks to {client[1]}, which takes no timeout"
    return what


def bounded_wait(name: str) -> str | None:
    """What a wait that carries its own deadline (or a name lookup) waits on."""
    if name in RESOLVER_CALLS:
        return "looks up a name"
    if name in DEFAULT_DEADLINE_WAITS:
        return DEFAULT_DEADLINE_WAITS[name]
    known = EXTERNAL_WAITS.get(name)
    return known[1] if known is not None else None


def _looped_calls(
    file: FileSummaryCollector,
    call: ast.Call,
    owner: str | None,
    receiver: str,
    shadowed: frozenset[str],
    facts: dict[str, list[Any]],
) -> None:
    """Record the possible functions of the run `call` (made in a loop) calls or is
    handed (`map(probe, hosts)`)."""
    entries = facts.setdefault("looped_calls", [])
    for value in [call.func, *call.args]:
        if not isinstance(value, (ast.Name, ast.Attribute)):
            continue
        reference = file.reference(value, owner, shadowed, receiver)
        if reference is not None and all(e[:2] != reference[:2] for e in entries):
            entries.append([*reference[:2], call.lineno])
    if not entries:
        facts.pop("looped_calls")


def repeated_wait(index: SummaryIndex, fid: str | None, depth: int) -> Chain | None:
    """The offloaded function `fid` makes a wait that carries its own deadline (or a
    name lookup) again and again: in its own loop or under a decorator that may call it
    again (`repeated_waits`), by calling a function of the run in a loop or handing it to
    `map` (`looped_calls`) that makes one, or on each round of a recursion back to it (a
    retry that calls itself). n bounded waits are unbounded when the caller hands the
    items; a loop deeper in a helper (a retry over a fixed range, a filter over a
    provider's results) is the helper's own bounded business, not followed."""
    # the summaries import this module to collect the facts it queries here
    from leakguard.analysis.summaries import Chain, Step, Vocabulary, clamp_depth

    function = index.functions.get(fid) if fid is not None else None
    if fid is None or function is None or function.is_async:
        return None
    depth = clamp_depth(depth)
    first = Step(function.label, function.path, int(function.raw.get("line", 0)))
    facts = function.raw.get("facts", {})
    fact = facts.get("repeated_waits")
    if fact:
        label, _, what = str(fact[0]).partition("|")
        return Chain((first, Step(f"`{label}`", function.path, int(fact[1]), what)), "waits")
    for kind, name, line in facts.get("looped_calls", ()):
        target = index.resolve(function.module, [kind, name])
        if target is None or target == fid:
            continue
        chain = index.find(target, Vocabulary(), ("bounded_waits",), depth - 1)
        if chain is not None:
            hop = Step(f"{index.functions[target].label} once per item", function.path, line)
            last = chain.evidence
            steps = (*chain.steps[1:-1], replace(last, what=f"{last.what} once per item"))
            return Chain((first, hop, *steps), "waits")
    cycle = _cycle(index, fid, fid, depth, ())
    if cycle is not None:
        for member in cycle:
            bounded = _bounded_step(index, member, "again on each round of a recursion")
            if bounded is not None:
                return Chain((first, bounded), "waits")
    return None


def _cycle(
    index: SummaryIndex, start: str, fid: str, depth: int, path: tuple[str, ...]
) -> tuple[str, ...] | None:
    """The plain functions on a chain of calls from `fid` back to `start`, or None."""
    function = index.functions.get(fid)
    if function is None or function.is_async or depth <= 0 or fid in path:
        return None
    for reference in function.raw.get("calls", ()):
        if len(reference) > 3 and reference[3].get("awaited"):
            continue
        target = index.resolve(function.module, reference)
        if target == start:
            return (*path, fid)
        if target is not None:
            found = _cycle(index, start, target, depth - 1, (*path, fid))
            if found is not None:
                return found
    return None


def lock_wait(index: SummaryIndex, fid: str | None, depth: int) -> Chain | None:
    """Work that takes a module-level lock (`with _lock:`) which a function of the run
    holds around a wait: one without a deadline, one with its own (each waiter queues
    behind every earlier holder: n bounded waits), or a sleep. `fid` or a plain function
    it calls (at most `depth` deep) takes the lock."""
    from leakguard.analysis.summaries import Chain, Step, Vocabulary, clamp_depth

    if fid is None or fid not in index.functions or index.functions[fid].is_async:
        return None
    depth = clamp_depth(depth)
    holders = lock_holders(index)
    vocabulary = Vocabulary(blocking=_HELD_SLEEPS)
    kinds = ("waits", "bounded_waits", "repeated_waits", "blocks")
    path: list[str] = [fid]
    seen: set[str] = set()
    while path:
        current = path.pop()
        if current in seen or current not in index.functions:
            continue
        seen.add(current)
        function = index.functions[current]
        if function.is_async:
            continue
        for _, name in function.raw.get("locks", ()):
            for holder, _ in holders.get(lock_key(index, function.module, str(name)), ()):
                chain = index.find(holder, vocabulary, kinds, depth)
                if chain is None:
                    continue
                start = index.functions[fid]
                first = Step(start.label, start.path, int(start.raw.get("line", 0)))
                lock = Step(f"`{name}`", function.path, int(function.raw.get("line", 0)))
                held = replace(chain.steps[0], label=f"{chain.steps[0].label} holding `{name}`")
                return Chain((first, lock, held, *chain.steps[1:]), "waits")
        if len(seen) > 50:
            break  # enough: the work's own calls, a few levels deep
        for reference in function.raw.get("calls", ()):
            if len(reference) > 3 and reference[3].get("awaited"):
                continue
            target = index.resolve(function.module, reference)
            if target is not None and len(path) < depth * 8:
                path.append(target)
    return None


# Calls that hold a lock for as long as they last (`with _lock: time.sleep(30)`).
_HELD_SLEEPS = ("time.sleep",)


def _bounded_step(index: SummaryIndex, fid: str, how: str) -> Step | None:
    from leakguard.analysis.summaries import Step

    function = index.functions.get(fid)
    fact = function.raw.get("facts", {}).get("bounded_waits") if function else None
    if function is None or not fact:
        return None
    label, _, what = str(fact[0]).partition("|")
    return Step(f"`{label}`", function.path, int(fact[1]), f"{what} {how}")


def made_values(
    file: FileSummaryCollector,
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    nodes: Sequence[ast.AST],
    shadowed: frozenset[str],
    enclosing: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Names whose value a waiting maker made (`WAITING_MAKERS`, or a client that takes
    no deadline): name -> the maker's qualified name. A local (`s =
    requests.Session()`, `with requests.Session() as s`), a parameter annotated with one
    (`archive: requests.Session`), a name of the enclosing function (`enclosing`), or a
    module-level value (`jobs = queue.Queue()`); a name bound otherwise too is unknown."""
    found: dict[str, str] = {}
    for name, made in (enclosing or {}).items():
        if name not in shadowed:
            found[name] = made
    for name, global_made in file.global_values.items():
        if name not in shadowed and global_made[0] == "q" and _waiting(str(global_made[1])):
            found[name] = str(global_made[1])
    args = function.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        annotated = ast_dotted(arg.annotation) if arg.annotation is not None else None
        qualified = file.qualify(annotated) if annotated else None
        found.pop(arg.arg, None)
        if qualified is not None and _waiting(qualified):
            found[arg.arg] = qualified
    unknown: set[str] = set()
    for node in nodes:
        if type(node) not in _BINDING_STATEMENTS:
            continue  # most nodes: one look-up instead of the tests below
        pairs: list[tuple[ast.expr, ast.expr | None]] = []
        if isinstance(node, ast.Assign):
            pairs.extend((target, node.value) for target in node.targets)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            pairs.extend(
                (item.optional_vars, item.context_expr)
                for item in node.items
                if item.optional_vars is not None
            )
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.NamedExpr)):
            pairs.append((node.target, None))
        for target, value in pairs:
            if not isinstance(target, ast.Name):
                continue
            maker = ast_dotted(value.func) if isinstance(value, ast.Call) else None
            qualified = file.qualify(maker) if maker is not None else None
            if qualified is not None and _waiting(qualified) and target.id not in unknown:
                found[target.id] = qualified
            else:
                unknown.add(target.id)
                found.pop(target.id, None)
    return found


# The node types `made_values` reads a binding from.
_BINDING_STATEMENTS = frozenset(
    {ast.Assign, ast.With, ast.AsyncWith, ast.AnnAssign, ast.AugAssign, ast.For, ast.NamedExpr}
)


def _waiting(maker: str) -> bool:
    client = NETWORK_CLIENTS.get(maker)
    return maker in WAITING_MAKERS or (client is not None and not client[0])


_LOOP_PARTS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
# Calls that call the function they are handed once per item.
_MAPPING = frozenset({"map", "filter", "starmap", "imap", "imap_unordered"})


def _maps(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in _MAPPING
    return isinstance(func, ast.Attribute) and func.attr in _MAPPING


def _breadth_first(
    function: ast.AST, children: Callable[[int], list[ast.AST] | None]
) -> list[ast.AST]:
    """`ast.walk(function)`'s nodes below it, in its (breadth-first) order, from the
    file's child index: the first wait found is the one `ast.walk` finds first."""
    queue: list[ast.AST] = [function]
    # Iterating a list while appending to it visits the appended nodes too, in order.
    for node in queue:
        kids = children(id(node))
        if kids:
            queue.extend(kids)
    return queue[1:]


def _repeated(
    nodes: Sequence[ast.AST], children: Callable[[int], list[ast.AST] | None]
) -> tuple[set[int], set[int]]:
    """Ids of the calls among `nodes` (a function's, `_breadth_first`) that may run more
    than once, and of those a `while` loop's body runs (a poll): a `for` body, a `while`
    body and test, a comprehension, a function or lambda defined here (it may be called
    any number of times), what `map(probe, hosts)` is handed first (`probe` runs per
    item). A loop's `iter` runs once. (Only calls are asked about: other nodes are not
    kept.) Only the subtrees of those parts are walked: most functions have none."""
    looped: set[int] = set()
    polled: set[int] = set()
    for node in nodes:
        kind = type(node)
        if kind in _REPEATED_WHOLE:
            looped.update(_calls_below(children(id(node)) or (), children))
        elif kind is ast.For or kind is ast.AsyncFor:
            looped.update(_calls_below(node.body, children))  # type: ignore[attr-defined]
        elif kind is ast.While:
            body = _calls_below(node.body, children)  # type: ignore[attr-defined]
            looped.update(body)
            polled.update(body)
            looped.update(_calls_below([node.test], children))  # type: ignore[attr-defined]
        elif kind is ast.Call and node.args and _maps(node.func):  # type: ignore[attr-defined]
            looped.update(_calls_below(node.args[:1], children))  # type: ignore[attr-defined]
    return looped, polled


def _calls_below(
    roots: Sequence[ast.AST], children: Callable[[int], list[ast.AST] | None]
) -> list[int]:
    """The ids of the calls among `roots` and their descendants."""
    found: list[int] = []
    pending = list(roots)
    while pending:
        node = pending.pop()
        if type(node) is ast.Call:
            found.append(id(node))
        kids = children(id(node))
        if kids:
            pending.extend(kids)
    return found


_REPEATED_WHOLE = frozenset({*_LOOP_PARTS, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda})


def untimed_client_locals(
    function: cst.FunctionDef, context: FileContext
) -> dict[str, tuple[str, cst.Call, str | None]]:
    """Names `function` (or, when it does not bind them, the module) binds
    (`x = C(...)`, `with C(...) as x`) to a client whose waits carry no deadline, or to
    a value whose methods take it per call (`WAITING_MAKERS`: a `requests` session, a
    child process, a queue; listed with no verdict, None: `untimed_method` judges each
    call): name -> (maker, its call, what it lacks). A name bound more than once in its
    scope is left out (unknown)."""
    key = ("deadlines.clients", id(function))
    cached: dict[str, tuple[str, cst.Call, str | None]] | None = context.memo.get(key)
    if cached is not None:
        return cached
    module_key = "deadlines.module_clients"
    module: dict[str, tuple[str, cst.Call, str | None]] | None = context.memo.get(module_key)
    if module is None:
        module, _ = _clients_bound(context.module, context)
        context.memo[module_key] = module
    own, bound = _clients_bound(function.body, context)
    result = {name: made for name, made in module.items() if name not in bound}
    result.update(own)
    context.memo[key] = result
    return result


def _clients_bound(
    scope: cst.CSTNode, context: FileContext
) -> tuple[dict[str, tuple[str, cst.Call, str | None]], frozenset[str]]:
    """The clients `scope`'s own code binds once, and every name it binds."""
    found: dict[str, tuple[str, cst.Call, str | None]] = {}
    bound: dict[str, int] = {}
    for node in descendants(scope, stop_at=SCOPE_NODES):
        pairs: list[tuple[cst.BaseExpression, cst.BaseExpression | None]] = []
        if isinstance(node, cst.Assign):
            pairs.extend((t.target, node.value) for t in node.targets)
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            pairs.append((node.asname.name, node.item))
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.For, cst.NamedExpr)):
            pairs.append((node.target, node.value if isinstance(node, cst.AnnAssign) else None))
        for target, value in pairs:
            if not isinstance(target, cst.Name):
                continue
            bound[target.value] = bound.get(target.value, 0) + 1
            if not isinstance(value, cst.Call):
                continue
            made = context.imports.call_name(value)
            if made is None:
                continue
            if made in WAITING_MAKERS:
                found[target.value] = (made, value, None)
                continue
            lacking = untimed_client(made, cst_keywords(value.args))
            if lacking is not None:
                found[target.value] = (made, value, lacking)
    once = {name: made for name, made in found.items() if bound.get(name) == 1}
    return once, frozenset(bound)
