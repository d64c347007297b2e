"""Whether a callable is *proven* to do only local, bounded work.

A thread offload (`await asyncio.to_thread(f, ...)`) needs a timeout when `f` can wait on
something outside the process or scale without bound: a model, an HTTP/DB/remote call, a
subprocess, a lock, a queue or a future. It does not when `f` only parses a YAML file,
lists a directory, hashes a file or renders a string: the work ends by itself soon, and a
timeout would free nothing (the thread runs on). This module answers "is `f` local?" as a
proof of absence: a callable is local only when **every** call it makes is known-local,
and anything unknown means *not proven*.

Known-local calls are, in one place:

- `LOCAL_CALLS`: qualified names (a trailing `.*` matches a namespace) of the standard
  library's filesystem, path, parsing, serialising, hashing, compression and text
  functions and of a few third-party parsers and serialisers (a rule may add its own);
- `LOCAL_BUILTINS`: builtins that compute on their arguments (`CHEAP_BUILTINS` plus
  more: `sorted`, `min`, `open`, exception classes, ...);
- methods of *local values*: a value made in the function by a call it makes (so itself
  judged), a literal, a file it opened (`with open(p) as f: f.read()`), a loop target over
  a local value, a parameter annotated with a plain data type (`str`, `Path`,
  `dict[str, int]`, ...; a container of `Any` or of no element type only for its own
  methods), or a module-level constant or value made by a call (`logger =
  logging.getLogger(...)`: the call is judged where it is used);
- functions and methods of the run (through the function summaries, depth-limited) that
  are themselves proven local, and classes of the run whose construction is (no
  `__init__`/validators that are not, bases known-local).

Collected per function with its summary (`function_locality`, from `ast`): either the
first call that is not provable whatever the vocabulary (`opaque`: a method of a
parameter of unknown type or of `self.client`, a call of a variable, an unknown builtin)
or the references its proof depends on (`uses`: qualified names, module-level names,
`self.method`), judged when queried (`proven_local`) against the caller's vocabulary.
Functions passed as arguments (`map(requests.get, urls)`) count as calls; code in nested
lambdas and functions counts as the function's own.

Where a value comes from is part of the proof: a method of a value a call handed back
records an `r` use of that call, local only when the callee is known-local, a class of
the run, or a function of the run whose every `return` is local (`result`; module state,
a container's entry, a parameter or attribute of unknown type make it `result_opaque`).
A wait that bounds itself (`SELF_BOUNDED_CALLS` with a positive literal `timeout=`: a
child process, one HTTP request read in full; a name lookup, `RESOLVER_CALLS`, bounded
by the resolver's configuration), made in no loop, counts as local (`bounded`); called
from a function with a loop (`repeats`) it does not. Functions defined in a function's
body are judged too (`outer.<locals>.inner`, collected by the summaries).

A plain `def` with a `yield` of its own records `generator`: calling it runs none of its
body (`creates_generator`, for an offload that only makes the generator; library
generator functions in `GENERATOR_FUNCTIONS`). Its `uses` still say what its steps do.

A parameter annotated with a class is bound to a stand-in call of it: its methods are
the class's (`Q`: only a class of the run proves anything), a method of a field it
annotates with a local type is local (`F`). `with _LOCK:` on a module-level lock is a
`k` use: brief when every function of the run touching the lock holds it only that way
and is itself proven local (`locks` facts, collected whatever else the function does).
A function defined in another reads the enclosing function's names (`closure`), not
module-level names of the same spelling; `-> list[Path]` makes a result local
(`returns_local`).

Known limit (accepted, documented): a parameter passed as a key function
(`sorted(xs, key=f)`) is not followed.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import libcst as cst

from leakguard.analysis.containers import CONTAINER_BUILTINS, FILLING_METHODS
from leakguard.analysis.imports import matches_any
from leakguard.analysis.scopes import (
    BINDING_NODES,
    bound_names,
    function_scope,
    module_bindings,
)
from leakguard.triage import dotted as ast_dotted
from leakguard.walker import SCOPE_NODES, descendants

if TYPE_CHECKING:
    from leakguard.analysis.summaries import FileSummaryCollector, SummaryIndex
    from leakguard.context import FileContext
    from leakguard.triage import TriageTree

# Qualified names of calls (and constants) that do only local, bounded work. A rule's
# `local_calls` option adds to these.
LOCAL_CALLS: tuple[str, ...] = (
    "open",
    # filesystem and paths (not `os.system`/`os.popen`/`os.wait*`/`os.read`: processes, pipes)
    "os.path.*",
    "os.listdir",
    "os.scandir",
    "os.walk",
    "os.stat",
    "os.lstat",
    "os.makedirs",
    "os.mkdir",
    "os.remove",
    "os.unlink",
    "os.rmdir",
    "os.removedirs",
    "os.rename",
    "os.renames",
    "os.replace",
    "os.getcwd",
    "os.fspath",
    "os.fsync",
    "os.chmod",
    "os.utime",
    "os.access",
    "os.symlink",
    "os.readlink",
    "os.truncate",
    "os.statvfs",
    "os.getenv",
    "os.environ",
    "os.environ.*",
    "os.urandom",
    "os.getpid",
    "os.cpu_count",
    "os.sep",
    "os.linesep",
    "pathlib.*",
    "shutil.*",
    "tempfile.*",
    "glob.*",
    "fnmatch.*",
    "filecmp.*",
    "mimetypes.*",
    # parsing and serialising in-memory data or local files
    "json.*",
    "yaml.*",
    "tomllib.*",
    "tomli.*",
    "tomli_w.*",
    "toml.*",
    "csv.*",
    "configparser.*",
    "orjson.*",
    "ujson.*",
    "simplejson.*",
    "msgpack.*",
    "pickle.*",
    "xml.etree.ElementTree.*",
    "html.*",
    "urllib.parse.*",
    # a URL value (parsing and normalising, IDNA): no request is made
    "httpx.URL",
    "email.utils.*",
    "shlex.*",
    "packaging.version.*",
    "pydantic.*",
    # hashing, encoding, compression, archives of local files
    "hashlib.*",
    "hmac.*",
    "base64.*",
    "binascii.*",
    "zlib.*",
    "gzip.*",
    "bz2.*",
    "lzma.*",
    "zipfile.*",
    "tarfile.*",
    "io.*",
    "codecs.*",
    "struct.*",
    # text, numbers, time stamps, containers, logging
    "re.*",
    "string.*",
    "textwrap.*",
    "unicodedata.*",
    "difflib.*",
    "ipaddress.*",
    "uuid.*",
    "secrets.*",
    "random.*",
    "itertools.*",
    "functools.reduce",
    "functools.cmp_to_key",
    "datetime.*",
    "calendar.*",
    "time.time",
    "time.time_ns",
    "time.monotonic",
    "time.monotonic_ns",
    "time.perf_counter",
    "time.perf_counter_ns",
    "time.strftime",
    "time.strptime",
    "time.gmtime",
    "time.localtime",
    "math.*",
    "decimal.*",
    "fractions.*",
    "statistics.*",
    "collections.*",
    "heapq.*",
    "bisect.*",
    "copy.*",
    "operator.*",
    "dataclasses.*",
    "enum.*",
    "typing.*",
    "abc.*",
    # logging: loggers and their calls, formatters, stream/file handlers (the handlers a
    # logger was configured with elsewhere are configuration, not visible here); not the
    # network handlers (`HTTPHandler`, `SocketHandler`, `SMTPHandler`, `SysLogHandler`,
    # `QueueListener`...) nor `logging.config.listen`
    "logging.getLogger",
    "logging.getLoggerClass",
    "logging.getLevelName",
    "logging.getLevelNamesMapping",
    "logging.debug",
    "logging.info",
    "logging.warning",
    "logging.warn",
    "logging.error",
    "logging.exception",
    "logging.critical",
    "logging.fatal",
    "logging.log",
    "logging.disable",
    "logging.basicConfig",
    "logging.captureWarnings",
    "logging.makeLogRecord",
    "logging.Logger",
    "logging.Logger.*",
    "logging.LoggerAdapter",
    "logging.LoggerAdapter.*",
    "logging.LogRecord",
    "logging.LogRecord.*",
    "logging.Formatter",
    "logging.Formatter.*",
    "logging.Filter",
    "logging.Filter.*",
    "logging.NullHandler",
    "logging.StreamHandler",
    "logging.FileHandler",
    "logging.handlers.RotatingFileHandler",
    "logging.handlers.TimedRotatingFileHandler",
    "logging.handlers.WatchedFileHandler",
    "logging.DEBUG",
    "logging.INFO",
    "logging.WARNING",
    "logging.WARN",
    "logging.ERROR",
    "logging.CRITICAL",
    "logging.FATAL",
    "logging.NOTSET",
    "warnings.*",
    "traceback.*",
    "pprint.*",
    "contextlib.suppress",
    "contextlib.nullcontext",
    "sys.getsizeof",
    "sys.maxsize",
    "sys.platform",
    "sys.version_info",
    # constants and exceptions handed to or caught around a process call (the call
    # itself is `SELF_BOUNDED_CALLS`' business)
    "subprocess.PIPE",
    "subprocess.DEVNULL",
    "subprocess.STDOUT",
    "subprocess.TimeoutExpired",
    "subprocess.CalledProcessError",
    "subprocess.SubprocessError",
    # password hashing (slow by design, but bounded), one-time passwords, QR codes:
    # computed from their arguments
    "bcrypt.*",
    # images decoded and validated in memory or from local files
    "PIL.*",
    "argon2.*",
    "passlib.*",
    "pyotp.*",
    "qrcode.*",
    # in-memory or local-file document writers (spreadsheets): build a file from the
    # rows they are given, no peer
    "xlsxwriter.*",
    "openpyxl.*",
)

# Functions of libraries outside the run that are generator functions (read in their
# source): calling one runs none of its body, it only makes the generator; each step is
# run by whoever iterates it (`next()`, a `for`), and judged there. A function of the run
# is known to be one by its own `yield` (`generator` fact).
GENERATOR_FUNCTIONS: tuple[str, ...] = (
    "mlx_lm.utils.generate_step",
    "mlx_lm.generate.generate_step",
    "mlx_lm.generate.speculative_generate_step",
    "mlx_lm.generate.stream_generate",
    "mlx_lm.stream_generate",
)

# Decorators (last name) whose function is called once per call of its name, as written:
# a descriptor (`staticmethod`), a marker (`abstractmethod`), a memo (`cache`: at most
# once). Any other may call it again or consume what it hands back (`wrapped_by_decorator`).
TRANSPARENT_DECORATORS = frozenset(
    {
        "staticmethod",
        "classmethod",
        "abstractmethod",
        "override",
        "overload",
        "final",
        "cache",
        "lru_cache",
        "wraps",
    }
)

# Calls that wait on something outside the process but bound that wait themselves when
# given a `timeout=` of a positive number, so a timeout around an offload of them is no
# bound the author forgot. Only such a call made once: in a loop (over the request's
# items, say) n bounded waits are unbounded.
# - a child process: the whole call ends by then (the child is killed);
# - one HTTP request of `requests`/`httpx` (the body read in full, not `stream=`): the
#   author chose the bound, on the connect and on each read. A server that sends a byte
#   every few seconds could still hold the thread longer (known limit, docs/rules/LG204.md);
#   a timeout around the offload would not free the thread either, only the request.
# Not `urlopen`/`socket.create_connection`: they hand back a live connection whose reads
# come later, in code that passes no timeout of its own.
SELF_BOUNDED_CALLS = frozenset(
    {
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "requests.get",
        "requests.post",
        "requests.put",
        "requests.patch",
        "requests.delete",
        "requests.head",
        "requests.options",
        "requests.request",
        "httpx.get",
        "httpx.post",
        "httpx.put",
        "httpx.patch",
        "httpx.delete",
        "httpx.head",
        "httpx.options",
        "httpx.request",
    }
)

# Name lookups: their wait is bounded by the resolver's own configuration (resolv.conf's
# `timeout` times `attempts`, per nameserver, at most three of them), whoever runs the
# name's servers: unlike an HTTP read, no peer can hold one longer, and a timeout around
# the offload would not free the thread earlier. Made once, a lookup counts as a wait
# bounded by itself (as `SELF_BOUNDED_CALLS` with a timeout); in a loop, n lookups are not.
RESOLVER_CALLS = frozenset(
    {
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.gethostbyaddr",
        "socket.getnameinfo",
        "socket.getfqdn",
    }
)

# Builtins that compute on their arguments (exception classes too, by name).
LOCAL_BUILTINS = frozenset(
    {
        "len",
        "str",
        "int",
        "float",
        "bool",
        "bytes",
        "bytearray",
        "complex",
        "repr",
        "ascii",
        "format",
        "print",
        "isinstance",
        "issubclass",
        "callable",
        "hasattr",
        "getattr",
        "setattr",
        "delattr",
        "round",
        "abs",
        "divmod",
        "pow",
        "sum",
        "min",
        "max",
        "any",
        "all",
        "sorted",
        "reversed",
        "enumerate",
        "zip",
        "map",
        "filter",
        "range",
        "iter",
        "list",
        "tuple",
        "dict",
        "set",
        "frozenset",
        "slice",
        "hash",
        "id",
        "ord",
        "chr",
        "hex",
        "oct",
        "bin",
        "type",
        "super",
        "vars",
        "object",
        "memoryview",
        "open",
        "property",
        "staticmethod",
        "classmethod",
    }
)

# Annotations of containers: their own methods are local, what they hold only when the
# subscript says so (`list[str]`; not `list`, not `dict[str, Any]`).
_CONTAINER_TYPES = frozenset(
    {
        "dict",
        "list",
        "tuple",
        "set",
        "frozenset",
        "Dict",
        "List",
        "Tuple",
        "Set",
        "FrozenSet",
        "DefaultDict",
        "OrderedDict",
        "Counter",
        "Mapping",
        "MutableMapping",
        "Sequence",
        "MutableSequence",
        "Iterable",
        "Collection",
    }
)

# Parameter annotations (last name, subscripts and unions looked through) whose values
# have only local methods.
_LOCAL_TYPES = _CONTAINER_TYPES | frozenset(
    {
        "str",
        "bytes",
        "bytearray",
        "int",
        "float",
        "bool",
        "None",
        "Optional",
        "Union",
        "Literal",
        "Path",
        "PurePath",
        "PosixPath",
        "PathLike",
        "datetime",
        "date",
        "timedelta",
        "Decimal",
        "UUID",
    }
)

_LOOPS = (
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.ListComp,
    ast.SetComp,
    ast.GeneratorExp,
    ast.DictComp,
)

_CONTAINER_LITERALS = (
    ast.List,
    ast.Dict,
    ast.Set,
    ast.Tuple,
    ast.ListComp,
    ast.DictComp,
    ast.SetComp,
)

# Builtins whose result is (or holds) one of their arguments: local only when those are.
_PASS_THROUGH_BUILTINS = frozenset(
    {
        "getattr",
        "min",
        "max",
        "sorted",
        "reversed",
        "iter",
        "next",
        "list",
        "tuple",
        "set",
        "frozenset",
        "dict",
        "vars",
        "filter",
        "zip",
        "enumerate",
    }
)


# Module-level values that are locks (`_LOCK = threading.Lock()`), as `global_value` has them.
LOCK_MAKERS = (["q", "threading.Lock"], ["q", "threading.RLock"])

# Methods of a class that run when it is constructed or validated.
_CONSTRUCTION = frozenset({"__init__", "__new__", "__post_init__", "model_post_init"})


def _builtin_local(name: str) -> bool:
    if name in LOCAL_BUILTINS:
        return True
    value = getattr(builtins, name, None)
    return isinstance(value, type) and issubclass(value, BaseException)


def local_builtin_result(name: str) -> bool:
    """A builtin whose value is its own (a file, a string, a number), not one of its
    arguments (`getattr(holder, "client")`, `max(clients)`)."""
    return _builtin_local(name) and name not in _PASS_THROUGH_BUILTINS


# -- collection (per function, from `ast`) ---------------------------------------------

_LOCAL = "local"  # a value with only local methods
_UNKNOWN = "unknown"  # a parameter or a value of unknown provenance
_FUNCTION = "function"  # a nested function or lambda: its body is this function's own


def function_locality(
    file: FileSummaryCollector,
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    owner: str | None,
    receiver: str,
    closure: Mapping[str, bool] | None = None,
) -> dict[str, Any]:
    """`{"opaque": [label, line]}`, `{"uses": [[kind, name, line, ...], ...]}` or `{}`
    (no call at all: local). `closure`: for a function defined in another, the names
    the enclosing function binds (True: a parameter annotated with a local type)."""
    if _stub(function):
        # an interface's or a base class's placeholder: what runs is someone else's code
        return {"opaque": ["a stub", function.lineno]}
    facts = _Locality(file, function, owner or "", receiver, closure).run()
    if facts.get("generator"):
        # a generator's steps run where it is made and stepped, with the values it was
        # given there: how they run when its parameters of unknown type are handed
        # local values (`read_slice(path, file=opened)`), judged at that call
        given = _unknown_parameters(function, receiver)
        if given:
            assumed = _Locality(file, function, owner or "", receiver, closure, given).run()
            if "opaque" not in assumed and assumed.get("uses") != facts.get("uses"):
                facts["local_if"] = {
                    "params": [[name, position] for name, position in given.items()],
                    **{k: v for k, v in assumed.items() if k in _LOCAL_IF_KEYS},
                }
    return facts


# What a generator's `local_if` keeps of the proof made with its parameters local.
_LOCAL_IF_KEYS = ("uses", "bounded", "repeats")


def _unknown_parameters(
    function: ast.FunctionDef | ast.AsyncFunctionDef, receiver: str
) -> dict[str, int | None]:
    """The parameters not annotated with a local type, each with its position among the
    positional ones (None: keyword-only); `*args`/`**kwargs` never count."""
    args = function.args
    positional = [a for a in [*args.posonlyargs, *args.args] if a.arg != receiver]
    found: dict[str, int | None] = {}
    for position, arg in enumerate(positional):
        if not _local_annotation(arg.annotation):
            found[arg.arg] = position
    for arg in args.kwonlyargs:
        if not _local_annotation(arg.annotation):
            found[arg.arg] = None
    return found


def enclosing_names(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    nodes: Sequence[ast.AST],
    index: TriageTree,
) -> dict[str, bool]:
    """The names `function` binds in its own code (`nodes`, nested scopes not entered),
    for the functions defined in it: a name they read and do not bind is the enclosing
    function's value, not the module-level one of the same name. True: a parameter
    annotated with a local type (`url: str`); imports are left out (resolved by the
    file's aliases). `index`: the file's indexed tree (its walks, in `ast.walk`'s order,
    are ~5x cheaper than `ast.walk`)."""
    found: dict[str, bool] = {}
    args = function.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        found[arg.arg] = _local_annotation(arg.annotation)
    for rest in (args.vararg, args.kwarg):
        if rest is not None:
            found[rest.arg] = False
    for node in nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found[node.id] = False
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[node.name] = False
            for inner in index.walk_order([node]):
                if isinstance(inner, ast.Nonlocal):  # rebound there: anything
                    found.update(dict.fromkeys(inner.names, False))
        elif isinstance(node, ast.ExceptHandler) and node.name:
            found[node.name] = False
    return found


_YIELDS = (ast.Yield, ast.YieldFrom)
# Every node type `_Locality._bind` reads: one test spares the others their chain.
_BINDING_NODES = (
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.NamedExpr,
    ast.For,
    ast.AsyncFor,
    ast.comprehension,
    ast.With,
    ast.AsyncWith,
    ast.Call,
    ast.ExceptHandler,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
    ast.Global,
    ast.Nonlocal,
)
# The node types each pass of `_Locality` over its nodes reads, as sets of exact types:
# a pass picks its nodes by one hash look-up of their type (`_of_types`) and tests only
# those along its chain. The parser makes no subclass of these types, so `type(node) in`
# the set is what `isinstance(node, ...)` of its members says.
_YIELD_TYPES: frozenset[type[ast.AST]] = frozenset(_YIELDS)
_BINDING_TYPES: frozenset[type[ast.AST]] = frozenset(_BINDING_NODES)
_RUN_PASS_TYPES: frozenset[type[ast.AST]] = frozenset({*_LOOPS, ast.Call, ast.With, ast.AsyncWith})
_RETURN_PASS_TYPES: frozenset[type[ast.AST]] = frozenset({ast.Return, *_YIELDS})
_WITH_TYPES: frozenset[type[ast.AST]] = frozenset({ast.With, ast.AsyncWith})
_LOCK_PASS_TYPES: frozenset[type[ast.AST]] = frozenset(
    {ast.Name, ast.Attribute, ast.With, ast.AsyncWith}
)
_LOOPED_PASS_TYPES: frozenset[type[ast.AST]] = frozenset(
    {*_LOOPS, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda}
)


def _of_types(nodes: list[ast.AST], kinds: frozenset[type[ast.AST]]) -> list[ast.AST]:
    """The nodes of these exact types, in order."""
    return [node for node in nodes if type(node) in kinds]


def is_generator_function(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A plain `def` with a `yield` (or `yield from`) of its own, not in a function,
    lambda or class defined in it: calling it runs none of its body."""
    if isinstance(function, ast.AsyncFunctionDef):
        return False
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue  # its own scope (a decorator or default would run here, but cannot yield)
        stack.extend(ast.iter_child_nodes(node))
    return False


def wrapped_by_decorator(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A decorator other than `TRANSPARENT_DECORATORS` hands back what the name calls:
    it may run the body any number of times (`tenacity.retry` retries for ever) or drain
    the generator the body makes (`funcy.collecting`), so a call of the name is not one
    run of the body as written."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if (ast_dotted(target) or "").rsplit(".", 1)[-1] not in TRANSPARENT_DECORATORS:
            return True
    return False


def _stub(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """`...`, `pass`, `raise NotImplementedError` (after a docstring), or abstract."""
    for decorator in function.decorator_list:
        if (ast_dotted(decorator) or "").endswith("abstractmethod"):
            return True
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring (or a lone `...`)
    for statement in body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Raise) and "NotImplementedError" in ast.unparse(statement):
            continue
        return False
    return True


class _Locality:
    def __init__(
        self,
        file: FileSummaryCollector,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        owner: str,
        receiver: str,
        closure: Mapping[str, bool] | None = None,
        assumed: Mapping[str, int | None] | None = None,
    ) -> None:
        self.file = file
        self.closure = closure or {}
        # parameters taken to hold local values (a generator's, judged at its maker)
        self.assumed = frozenset(assumed or ())
        # stand-in calls of the classes parameters are annotated with: judged only as
        # classes of the run (`Q` references), never by a known-local name (`x: io.IOBase`
        # may be a socket's file, `x: BaseModel` a subclass of anyone's)
        self.annotated: set[int] = set()
        self.function = function
        self.owner = owner
        self.receiver = receiver if owner else ""
        # `ast.walk` order per statement (`_locks` relies on it), from the file's child
        # index when it has one (~5x cheaper; no `Load`/`Store` markers, which no pass
        # over these nodes asks about)
        index = file.index
        self.nodes: list[ast.AST] = (
            index.walk_order(function.body)
            if index is not None
            else [n for statement in function.body for n in ast.walk(statement)]
        )
        # `is_generator_function`, walked again only when the body (nested scopes
        # included) holds a yield at all: most hold none
        self.generator = any(type(n) in _YIELD_TYPES for n in self.nodes) and (
            is_generator_function(function)
        )
        self.bindings: dict[str, list[ast.expr | str]] = {}
        self.uses: dict[str, list[Any]] = {}
        self.local: set[str] = set()  # names whose value and contents are local
        self.direct: dict[str, list[ast.expr | str]] = {}  # bindings less what is stored
        self.containers: set[str] = set()
        self.container_params: set[str] = set()  # `data: dict`: its own methods are local
        # What the function's return value depends on: calls whose results it hands back
        # (`result`), or why it is of unknown type (`result_opaque`).
        self.result: dict[str, list[Any]] = {}
        self.result_opaque: list[Any] | None = None
        self.looped: set[int] | None = None
        self.bounded: int | None = None  # the first call that bounds its own wait
        # a decorator may call the body again (a retry) or drain the generator it makes
        self.wrapped = wrapped_by_decorator(function)
        self.repeats = self.wrapped  # the function has a loop (or is run again)

    def _locks(self) -> list[list[str]]:
        """Where the function touches a module-level lock (`_LOCK = threading.Lock()`):
        ["with", name] for `with _LOCK:`, ["other", name] for any other use (an
        `acquire()`, a lock handed on), ["other", qualified] for `with`/`acquire()` on
        an imported name or a module's attribute (`with index._lock:`: it may be another
        module's lock). Collected whatever else the function does: a lock is a brief wait
        only when every holder is known. One pass (`ast.walk` order: a `with` before its
        items, `x.acquire` before `x`)."""
        found: dict[str, str] = {}
        with_items: set[int] = set()
        held: set[int] = set()  # `with` items and `acquire()`/`release()` receivers
        locks = self.file.locks
        if not locks and not any(
            type(node) in _WITH_TYPES
            or (type(node) is ast.Attribute and node.attr in ("acquire", "release"))
            for node in self.nodes
        ):
            return []  # no module-level lock, and nothing held: no name can be one
        for node in _of_types(self.nodes, _LOCK_PASS_TYPES):
            if isinstance(node, ast.Name) and node.id in locks and node.id not in self.bindings:
                name = node.id
                if id(node) in with_items and found.get(name) != "other":
                    found[name] = "with"
                elif isinstance(node.ctx, ast.Load):
                    found[name] = "other"
                continue
            if isinstance(node, (ast.With, ast.AsyncWith)):
                with_items.update(id(item.context_expr) for item in node.items)
                held.update(with_items)
            elif isinstance(node, ast.Attribute) and node.attr in ("acquire", "release"):
                held.add(id(node.value))
            if id(node) in held and isinstance(node, (ast.Name, ast.Attribute)):
                dotted = ast_dotted(node)
                qualified = self.file.qualify(dotted) if dotted is not None else None
                if qualified is not None:
                    found[qualified] = "other"
        return [[kind, name] for name, kind in found.items()]

    def run(self) -> dict[str, Any]:
        facts = self._run()
        if self.generator:
            # calling it only makes the generator (what its steps do is judged where
            # they run: `uses` above stay for that)
            facts["generator"] = True
        if self.wrapped:
            facts["wrapped"] = True
        locks = self._locks()
        if locks:
            facts["locks"] = locks
        if _local_annotation(self.function.returns) and not _names_abstract(self.function.returns):
            # `-> list[Path]`, `-> str`: trusted, as a parameter's annotation is
            facts["returns_local"] = True
        return facts

    def _run(self) -> dict[str, Any]:
        self._bind()
        self.local = self._local_names()
        self.containers = self._containers() | {
            name for name in self.container_params if len(self.direct[name]) == 1
        }
        for node in _of_types(self.nodes, _RUN_PASS_TYPES):
            if isinstance(node, _LOOPS):
                self.repeats = True
            elif isinstance(node, ast.Call):
                opaque = self._call(node) or self._passed_functions(node)
                if opaque is not None:
                    return {"opaque": [opaque, node.lineno]}
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                # `with lock:` waits in `__enter__`: a context manager that is no call
                # here is judged as a value (a global lock's maker, `self._lock`)
                for item in node.items:
                    held = item.context_expr
                    if (
                        isinstance(held, ast.Name)
                        and held.id in self.file.locks
                        and held.id not in self.bindings
                    ):
                        # a module-level lock: a brief wait when every holder's work
                        # is local (judged across the run: `k`)
                        self._use(["k", held.id], node.lineno)
                        continue
                    if not isinstance(held, ast.Call) and not self._value_local(held, self.local):
                        return {"opaque": [f"with {ast.unparse(held)[:40]}", node.lineno]}
                    self._result_uses(held, node.lineno)
        for node in _of_types(self.nodes, _RETURN_PASS_TYPES):
            if isinstance(node, ast.Return) and node.value is not None:
                self._returned(node.value, node.lineno)
            elif self.generator and isinstance(node, (ast.Yield, ast.YieldFrom)) and node.value:
                # what a generator yields is what its steps hand back
                self._returned(node.value, node.lineno)
        facts: dict[str, Any] = {"uses": list(self.uses.values())} if self.uses else {}
        if self.bounded is not None:
            facts["bounded"] = self.bounded
        if self.repeats and facts:
            facts["repeats"] = True
        if self.result_opaque is not None:
            facts["result_opaque"] = self.result_opaque
        elif self.result:
            facts["result"] = list(self.result.values())
        return facts

    # where values come from ----------------------------------------------------------

    def _returned(self, value: ast.expr, line: int) -> None:
        """A `return`: its value is local (`result`: whose results it depends on) or of
        unknown type (`result_opaque`): module state, a container's entry, a parameter
        or attribute of unknown type."""
        if self.result_opaque is not None:
            return
        if not self._value_local(value, self.local):
            self.result_opaque = [ast.unparse(value)[:40], line]
            return
        self._result_uses(value, line, self.result)

    def _result_uses(
        self,
        value: ast.expr,
        line: int,
        into: dict[str, list[Any]] | None = None,
        seen: set[str] | None = None,
        *,
        deep: bool = False,
    ) -> None:
        """A value whose methods run (a receiver, a context manager, a returned value)
        is local only when every call it may come from hands back a local value: record
        an `r` use of each such call (`get_session().get(url)`: what `get_session`
        returns must be proven local, not a module-level client it hands out). `deep`:
        an attribute of the value is used (`holder.client.get(url)`), so the value must
        be of a known-local type (`R`), not merely an instance of a class of the run
        whose attributes hold whatever it was given."""
        target = self.uses if into is None else into
        seen = set() if seen is None else seen
        kind = "R" if deep else "r"
        for node in _value_sources(value):
            if isinstance(node, ast.Name):
                name = node.id
                if name in seen:
                    continue
                seen.add(name)
                if name in self.bindings:
                    for bound in self.bindings[name]:
                        if not isinstance(bound, str):
                            self._result_uses(bound, line, into, seen, deep=deep)
                elif name in self.file.globals:
                    found = self.file.global_values.get(name)
                    if found is not None and found[0] not in ("def", "lit", "box"):
                        # `_POOL = make_pool()`: what the maker returned
                        _record(target, [kind, ":".join(map(str, found)), line, *found])
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in self.bindings:
                continue  # a nested function or lambda: its body is this function's own
            if self._bounds_itself(node):
                continue  # its result: a finished process, a response read in full
            if isinstance(func, ast.Name) and self._passes_through(func.id):
                for argument in [*node.args, *(k.value for k in node.keywords)]:
                    self._result_uses(argument, line, into, seen, deep=deep)
                continue
            if isinstance(func, ast.Attribute):
                root = func.value
                while isinstance(root, (ast.Attribute, ast.Subscript)):
                    root = root.value
                if isinstance(root, ast.Call) or (
                    isinstance(root, ast.Name) and root.id in self.bindings
                ):
                    # a method of a local value returns a local value; where that value
                    # came from decides (`get_session().get(...)`, `found.pop()`)
                    self._result_uses(func.value, line, into, seen, deep=deep)
                    continue
                made = self.file.global_values.get(root.id) if isinstance(root, ast.Name) else None
                dotted = ast_dotted(func)
                if made is not None and made[0] not in ("def", "lit", "box") and dotted:
                    # `_PATTERN.match(line)` on `_PATTERN = re.compile(...)`: a method of
                    # the run's instance, else what the value's maker made
                    _record(target, [kind, f"m:{dotted}", line, "m", dotted, line, *made])
                    continue
                if made is not None and made[0] == "lit":
                    continue  # `PREFIX.lower()`
            reference = self.file.reference(func, self.owner or None, frozenset(), self.receiver)
            if reference is not None:
                if id(node) in self.annotated and reference[0] == "q":
                    reference = ["Q", *reference[1:]]
                _record(target, [kind, ":".join(reference), line, *reference])

    # bindings ----------------------------------------------------------------------

    def _bind(self) -> None:
        args = self.function.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if arg.arg == self.receiver:
                continue
            made = None if arg.annotation is None else self._annotated_instance(arg.annotation)
            if _local_annotation(arg.annotation) or arg.arg in self.assumed:
                self._add(arg.arg, _LOCAL)
            elif made is not None:
                # `index: LogFileIndex`: an instance of that class, judged by its
                # methods (as `index = LogFileIndex(...)` would be, without the call)
                self._add(arg.arg, made)
            else:
                self._add(arg.arg, _UNKNOWN)
                if _container_annotation(arg.annotation):
                    self.container_params.add(arg.arg)
        for rest in (args.vararg, args.kwarg):
            if rest is not None:  # what they hold is unknown
                self._add(rest.arg, _UNKNOWN)
        for node in _of_types(self.nodes, _BINDING_TYPES):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    self._bind_target(target, node.value)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                if node.value is not None:
                    self._bind_target(node.target, node.value)
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                self._bind_target(node.target, node.iter, element=True)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        self._bind_target(item.optional_vars, item.context_expr)
            elif isinstance(node, ast.Call):
                self._bind_mutation(node)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                self._add(node.name, _LOCAL)  # an exception: its methods are local
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                if not isinstance(node, ast.Lambda):
                    self._add(node.name, _FUNCTION)
                inner = node.args
                for arg in [*inner.posonlyargs, *inner.args, *inner.kwonlyargs]:
                    self._add(arg.arg, _UNKNOWN)
                for rest in (inner.vararg, inner.kwarg):
                    if rest is not None:
                        self._add(rest.arg, _UNKNOWN)
            elif isinstance(node, ast.ClassDef):
                self._add(node.name, _UNKNOWN)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                for name in node.names:
                    self._add(name, _UNKNOWN)
        for name, local in self.closure.items():
            if name not in self.bindings:
                # the enclosing function's value (not a module-level name's)
                self._add(name, _LOCAL if local else _UNKNOWN)

    def _annotated_instance(self, annotation: ast.expr) -> ast.Call | None:
        """A parameter annotated with a class (`LogFileIndex`, `httpx.Client`, through
        `Optional[...]` and strings) that this file defines or imports: a stand-in
        call of the class, so that its methods are judged as the class's (a Protocol's
        or an abstract method is a stub; a method a subclass of the run overrides is
        not local)."""
        from leakguard.analysis.summaries import annotated_class

        named = annotated_class(annotation)
        dotted = ast_dotted(named) if named is not None else None
        if named is None or dotted is None or not dotted.rsplit(".", 1)[-1][:1].isupper():
            return None
        root = dotted.partition(".")[0]
        if root not in self.file.aliases and self.file.global_values.get(root) != ["def"]:
            return None
        made = ast.Call(func=named, args=[], keywords=[])
        made.lineno = getattr(named, "lineno", self.function.lineno)
        made.col_offset = getattr(named, "col_offset", 0)
        self.annotated.add(id(made))
        return made

    def _field_method(self, root: str, rest: str, line: int) -> bool:
        """`index.checkpoints.append(x)` on `index` bound only to instances of classes
        of the run: the method of a field the class annotates with a local type
        (`checkpoints: list[tuple[int, int]]`), judged by the class's annotation
        (`F` uses); False when some binding is no class's instance."""
        field, _, method = rest.partition(".")
        if not method or "." in method:
            return False
        values = self.direct.get(root, ())
        references = []
        for value in values:
            if not isinstance(value, ast.Call):
                return False
            reference = self.file.reference(value.func, None, frozenset())
            if reference is None or reference[0] not in ("l", "q"):
                return False
            if not str(reference[1]).rsplit(".", 1)[-1][:1].isupper():
                return False  # no class's instance (`result = subprocess.run(...)`)
            references.append(reference)
        if not references:
            return False
        for reference in references:
            self._use(["F", f"{reference[0]}:{reference[1]}.{field}"], line, [*reference, field])
        return True

    def _bind_mutation(self, call: ast.Call) -> None:
        """`items.append(x)`: what a container of the function holds is bound to it."""
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.attr in FILLING_METHODS
        ):
            for value in [*call.args, *(k.value for k in call.keywords)]:
                self._add(func.value.id, value, held=True)

    def _bind_target(self, target: ast.expr, value: ast.expr, *, element: bool = False) -> None:
        """`element`: the target is bound to an element of `value` (a loop target, an
        unpacked name), not to `value` itself."""
        if isinstance(target, (ast.Subscript, ast.Attribute)):
            # `box[key] = value`, `obj.attr = value`: the container now holds it
            root = target.value
            while isinstance(root, (ast.Subscript, ast.Attribute)):
                root = root.value
            if isinstance(root, ast.Name) and root.id != self.receiver:
                self._add(root.id, value, held=True)
        elif isinstance(target, ast.Name):
            self._add(target.id, value, element=element)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for part in target.elts:
                # an element of a local value is local
                self._bind_target(part, value, element=True)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, value, element=element)

    def _add(
        self, name: str, value: ast.expr | str, *, held: bool = False, element: bool = False
    ) -> None:
        """`held`: a value stored in the name's container, not bound to the name;
        `element`: the name holds an element of `value` (`for c in [client]`), so it
        is no container the function built."""
        self.bindings.setdefault(name, []).append(value)
        if not held:
            self.direct.setdefault(name, []).append(_UNKNOWN if element else value)

    def _containers(self) -> set[str]:
        """Names bound only to containers the function built (`found = []`): their own
        methods (`found.append(x)`) are local whatever they hold."""
        return {
            name
            for name, values in self.direct.items()
            if all(
                isinstance(value, _CONTAINER_LITERALS)
                or (
                    isinstance(value, ast.Call)
                    and isinstance(value.func, ast.Name)
                    and value.func.id in CONTAINER_BUILTINS
                    and value.func.id not in self.bindings
                    and value.func.id not in self.file.globals
                )
                for value in values
            )
        }

    def _local_names(self) -> set[str]:
        """Names whose every binding is a local value (the greatest fixpoint, so that
        `line = line.strip()` stays local)."""
        local = {
            name
            for name, values in self.bindings.items()
            if all(value != _UNKNOWN for value in values)
        }
        changed = True
        while changed:
            changed = False
            for name in sorted(local):
                values = self.bindings[name]
                if not all(
                    isinstance(value, str) or self._value_local(value, local) for value in values
                ):
                    local.discard(name)
                    changed = True
        return local

    def _value_local(self, value: ast.expr, local: set[str]) -> bool:
        if isinstance(value, (ast.Constant, ast.JoinedStr, ast.Lambda)):
            return True
        if isinstance(value, ast.Call):
            # a call's result: the call itself is judged, but what a module-level
            # container hands out (`CLIENTS.get(k)`) is not its own method's work
            func = value.func
            root = ast_dotted(func.value) if isinstance(func, ast.Attribute) else None
            root = root.partition(".")[0] if root else None
            if root is not None and root in self.bindings:
                return root in local  # `found.pop()`: what the container holds
            if root is not None:
                return self.file.global_values.get(root, ["?"])[0] != "box"
            if isinstance(func, ast.Name) and self._passes_through(func.id):
                # `getattr(holder, "client")`, `max(clients)`: what it was given
                arguments = [*value.args, *(k.value for k in value.keywords)]
                return all(self._value_local(a, local) for a in arguments)
            return True
        if isinstance(value, ast.Name):
            return self._name_local(value.id, local)
        if isinstance(value, (ast.Attribute, ast.Subscript, ast.Starred)):
            return self._value_local(value.value, local)
        if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
            return all(self._value_local(e, local) for e in value.elts)
        if isinstance(value, ast.Dict):
            return all(self._value_local(v, local) for v in value.values)
        if isinstance(value, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            return self._value_local(value.elt, local)
        if isinstance(value, ast.DictComp):
            return self._value_local(value.value, local)
        if isinstance(value, ast.BinOp):
            return self._value_local(value.left, local) and self._value_local(value.right, local)
        if isinstance(value, ast.BoolOp):
            return all(self._value_local(v, local) for v in value.values)
        if isinstance(value, ast.UnaryOp):
            return self._value_local(value.operand, local)
        if isinstance(value, ast.Compare):
            return True  # a bool
        if isinstance(value, ast.IfExp):
            return self._value_local(value.body, local) and self._value_local(value.orelse, local)
        if isinstance(value, ast.NamedExpr):
            return self._value_local(value.value, local)
        return False

    def _passes_through(self, name: str) -> bool:
        return name in _PASS_THROUGH_BUILTINS and not (
            name in self.bindings or name in self.file.aliases or name in self.file.globals
        )

    def _name_local(self, name: str, local: set[str]) -> bool:
        if name in self.bindings:
            return name in local
        if name in self.file.aliases:
            self._use(["q", self.file.aliases[name]], self.function.lineno)
            return True  # an imported module or name: judged by its qualified name
        if name in self.file.globals:
            kind = self.file.global_values.get(name)
            if kind is None or kind[0] == "box":
                return False  # unknown, or what a module-level container holds
            if kind[0] not in ("def", "lit"):
                self._use(kind, self.function.lineno)  # the call that made it
            return True
        return name in ("None", "True", "False") or hasattr(builtins, name)

    # calls -------------------------------------------------------------------------

    def _bounds_itself(self, call: ast.Call) -> bool:
        """`subprocess.run(cmd, timeout=60)` or a name lookup (`RESOLVER_CALLS`), made
        once (in no loop of the function, which no decorator may run again)."""
        if self.wrapped:
            return False
        dotted = ast_dotted(call.func)
        if dotted is None or dotted.partition(".")[0] in self.bindings:
            return False
        qualified = self.file.qualify(dotted)
        if qualified in RESOLVER_CALLS:
            return id(call) not in self._looped()
        if not any(k.arg == "timeout" and _positive_number(k.value) for k in call.keywords):
            return False
        if any(k.arg is None or k.arg == "stream" for k in call.keywords):
            # `**options` may carry another `timeout`; a streamed body is read later,
            # piece by piece, in code that is no part of this call
            return False
        return qualified in SELF_BOUNDED_CALLS and id(call) not in self._looped()

    def _looped(self) -> set[int]:
        """Ids of the nodes a loop of the function may run more than once."""
        if self.looped is None:
            self.looped = set()
            for node in _of_types(self.nodes, _LOOPED_PASS_TYPES):
                if isinstance(node, (ast.For, ast.AsyncFor)):
                    parts: list[ast.AST] = [*node.body, node.iter]
                elif isinstance(node, ast.While):
                    parts = [*node.body, node.test]
                elif isinstance(node, _LOOPS):
                    parts = [node]
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    # a function defined here may be called any number of times
                    parts = [node]
                else:
                    continue
                for part in parts:
                    self.looped.update(id(n) for n in ast.walk(part))
        return self.looped

    def _call(self, call: ast.Call) -> str | None:
        """None when `call` is local or judged through `uses`; else what is opaque."""
        func = call.func
        line = call.lineno
        if self._bounds_itself(call):
            if self.bounded is None:
                self.bounded = line
            return None
        if isinstance(func, ast.Lambda):
            return None
        if isinstance(func, ast.Name):
            if func.id == "next" and call.args and self._passes_through("next"):
                # runs the iterator one step: local when the iterator is (a generator
                # of the run is judged where it is made, `itertools.count()` by name)
                iterator = call.args[0]
                if not self._value_local(iterator, self.local):
                    return "next()"
                self._result_uses(iterator, line)
                return None
            return self._named_call(func.id, line)
        if not isinstance(func, ast.Attribute):
            return "a computed callee"
        dotted = ast_dotted(func)
        if dotted is None:
            # `open(p).read()`, `", ".join(xs)`, `cfg["a"].strip()`
            if isinstance(func.value, ast.Call):
                self._method_of_instance(func.value, func.attr, line)
            if not self._value_local(func.value, self.local):
                return f"….{func.attr}()"
            self._result_uses(func.value, line, deep=not isinstance(func.value, ast.Call))
            return None
        root, _, rest = dotted.partition(".")
        if root == self.receiver and self.receiver:
            if "." in rest:
                return f"{dotted}()"  # `self.client.get(...)`: an attribute of unknown type
            self._use(["s", f"{self.owner}.{rest}"], line)
            return None
        if root in self.bindings:
            if "." not in rest:
                # `runner = Runner(host); runner.run()`: as `Runner(host).run()`
                for value in self.direct.get(root, ()):
                    if isinstance(value, ast.Call):
                        self._method_of_instance(value, rest, line)
            own_method = root in self.containers and "." not in rest
            if own_method:
                return None  # `found.append(x)`: whatever it holds
            if root not in self.local:
                return f"{dotted}()"
            if "." in rest and self._field_method(root, rest, line):
                return None
            # `holder.client.get(url)`: an attribute's value, not the holder's own method
            self._result_uses(func.value, line, deep="." in rest)
            return None
        if root in self.file.aliases:
            qualified = self.file.qualify(dotted)
            if qualified is not None:
                self._use(["q", qualified], line)
            return None
        if root in self.file.globals:
            opaque = self._global(root, line, dotted)
            return None if opaque is None else f"{dotted}()"
        if _builtin_local(root):
            return None  # `str.lower`, `dict.fromkeys`
        return f"{dotted}()"

    def _method_of_instance(self, made: ast.Call, method: str, line: int) -> None:
        """`Store().save(p)`, `pyotp.TOTP(s).now()`: the method of a class instantiated in
        place is judged too (by the class's qualified name and the method)."""
        dotted = ast_dotted(made.func)
        if dotted is None or not dotted.rsplit(".", 1)[-1][:1].isupper():
            return
        root = dotted.partition(".")[0]
        if root in self.bindings:
            return
        if root in self.file.aliases:
            qualified = self.file.qualify(dotted)
            if qualified is not None:
                kind = "Q" if id(made) in self.annotated else "q"
                self._use([kind, f"{qualified}.{method}"], line)
        elif self.file.global_values.get(root) == ["def"]:
            self._use(["l", f"{dotted}.{method}"], line)

    def _named_call(self, name: str, line: int) -> str | None:
        if name in self.bindings:
            callable_here = all(
                value == _FUNCTION or isinstance(value, ast.Lambda) for value in self.bindings[name]
            )
            return None if callable_here else f"{name}()"
        if name in self.file.aliases:
            self._use(["q", self.file.aliases[name]], line)
            return None
        if name in self.file.globals:
            return None if self._global(name, line, name) is None else f"{name}()"
        return None if _builtin_local(name) else f"{name}()"

    def _global(self, name: str, line: int, dotted: str | None = None) -> str | None:
        """A module-level name: a function or class of the file (a reference), a literal,
        or a value a call made (that call judged here); None when judged, else opaque."""
        kind = self.file.global_values.get(name)
        if kind is None:
            return name
        if kind[0] == "def":
            self._use(["l", dotted or name], line)
            return None
        if kind[0] in ("lit", "box"):
            return None  # its own methods: `PREFIX.lower()`, `CACHE.get(key)`
        if dotted is not None and dotted != name:
            # `service.score(...)` on `service = Service()`: the method (through the
            # run's instances) or, when it is no function of the run, the value's maker.
            self._use(["m", dotted], line, kind)
        else:
            self._use(kind, line)  # the call that made it: ["q", ...] or ["l", ...]
        return None

    def _passed_functions(self, call: ast.Call) -> str | None:
        """Functions handed to a call (`map(requests.get, urls)`) may be called by it,
        once per item (as in a loop: `repeats`); what is opaque (`map(session.get,
        urls)` on a parameter), else None."""
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            if not isinstance(arg, (ast.Name, ast.Attribute)):
                continue
            dotted = ast_dotted(arg)
            if dotted is None:
                continue
            root, _, rest = dotted.partition(".")
            if root in self.bindings:
                own_method = root in self.containers and "." not in rest
                if rest and root not in self.local and not own_method:
                    return dotted  # a method of a value of unknown provenance
                if not rest and _FUNCTION in self.bindings[root]:
                    self.repeats = True  # `map(get, urls)` on a function defined here
                continue
            if root == self.receiver and self.receiver and rest and "." not in rest:
                self._use(["s", f"{self.owner}.{rest}"], call.lineno)
            elif root in self.file.aliases:
                qualified = self.file.qualify(dotted)
                if qualified is not None:
                    self._use(["q", qualified], call.lineno)
            elif root in self.file.globals:
                kind = self.file.global_values.get(root)
                if kind is None or kind[0] != "def":
                    continue
                self._use(["l", dotted], call.lineno)
            else:
                continue
            self.repeats = True  # a function handed to a call: once per item, as in a loop
        return None

    def _use(self, reference: Sequence[Any], line: int, origin: Sequence[Any] = ()) -> None:
        key = f"{reference[0]}:{reference[1]}"
        if key not in self.uses:
            self.uses[key] = [str(reference[0]), str(reference[1]), line, *origin]


def _positive_number(value: ast.expr) -> bool:
    """A literal number above zero (`60`, `2.5`, `5 * 60`): not `None`, not a name."""
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Mult, ast.Add)):
        return _positive_number(value.left) and _positive_number(value.right)
    return (
        isinstance(value, ast.Constant)
        and isinstance(value.value, (int, float))
        and not isinstance(value.value, bool)
        and value.value > 0
    )


def _value_sources(value: ast.expr) -> list[ast.Name | ast.Call]:
    """The names and calls a value may be (or be an element or attribute of)."""
    found: list[ast.Name | ast.Call] = []
    stack: list[ast.expr] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Name, ast.Call)):
            found.append(node)
        elif isinstance(
            node, (ast.Attribute, ast.Subscript, ast.Starred, ast.Await, ast.NamedExpr)
        ):
            stack.append(node.value)
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            stack.extend(node.elts)
        elif isinstance(node, ast.Dict):
            stack.extend(node.values)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            stack.append(node.elt)
        elif isinstance(node, ast.DictComp):
            stack.append(node.value)
        elif isinstance(node, ast.BinOp):
            stack.extend((node.left, node.right))
        elif isinstance(node, ast.BoolOp):
            stack.extend(node.values)
        elif isinstance(node, ast.IfExp):
            stack.extend((node.body, node.orelse))
    return found


def _record(target: dict[str, list[Any]], reference: list[Any]) -> None:
    key = f"{reference[0]}:{reference[1]}"
    target.setdefault(key, [str(reference[0]), str(reference[1]), *reference[2:]])


def _local_annotation(annotation: ast.expr | None) -> bool:
    """An annotation every value of which has only local methods (`str`, `Path`,
    `Optional[dict[str, int]]`)."""
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant):
        if isinstance(annotation.value, str):
            try:
                parsed = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return False
            return _local_annotation(parsed)
        return annotation.value is None
    if isinstance(annotation, ast.Subscript):
        value = ast_dotted(annotation.value)
        known = value is not None and value.rsplit(".", 1)[-1] in _LOCAL_TYPES
        return known and _local_annotation(annotation.slice)
    if isinstance(annotation, ast.Tuple):
        return all(_local_annotation(e) for e in annotation.elts)
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _local_annotation(annotation.left) and _local_annotation(annotation.right)
    dotted = ast_dotted(annotation)
    # a bare container (`list`) holds values of unknown type, as `Any` is one
    name = dotted.rsplit(".", 1)[-1] if dotted is not None else None
    return name in _LOCAL_TYPES and name not in _CONTAINER_TYPES


# Abstract containers: the value may be any iterable, a stream's lazy chunks too
# (`-> Iterable[bytes]` returning `response.iter_content()`).
_ABSTRACT_TYPES = frozenset(
    {"Iterable", "Collection", "Sequence", "MutableSequence", "Mapping", "MutableMapping"}
)


def _names_abstract(annotation: ast.expr | None) -> bool:
    """The annotation names an abstract container anywhere (`list[Iterable[bytes]]`)."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return True
    return annotation is not None and any(
        (ast_dotted(node) or "").rsplit(".", 1)[-1] in _ABSTRACT_TYPES
        for node in ast.walk(annotation)
        if isinstance(node, (ast.Name, ast.Attribute))
    )


def _container_annotation(annotation: ast.expr | None) -> bool:
    """`dict`, `list[Any]`, `Mapping[str, Any]`: a container whatever it holds."""
    if isinstance(annotation, ast.Subscript):
        annotation = annotation.value
    dotted = ast_dotted(annotation) if annotation is not None else None
    return dotted is not None and dotted.rsplit(".", 1)[-1] in _CONTAINER_TYPES


_CONTAINER_FACTORIES = frozenset(
    {
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.deque",
        "collections.Counter",
        "collections.ChainMap",
        "weakref.WeakValueDictionary",
        "weakref.WeakKeyDictionary",
        "weakref.WeakSet",
    }
)


def _container_maker(func: ast.expr, file: FileSummaryCollector) -> bool:
    dotted = ast_dotted(func)
    if dotted is None:
        return False
    qualified = file.qualify(dotted)
    if qualified is None:
        return dotted in CONTAINER_BUILTINS and dotted not in file.globals
    return qualified in _CONTAINER_FACTORIES


def global_value(value: ast.expr | None, file: FileSummaryCollector) -> list[str] | None:
    """How a module-level assignment's value is judged local: ["lit"] (a constant),
    ["box"] (a container), the reference of the call that made it
    (`logging.getLogger(...)`), or None."""
    if value is None:
        return None
    if isinstance(value, ast.Call):
        if _container_maker(value.func, file):
            return ["box"]  # `OrderedDict()`, `dict()`: what it holds is not its maker's
        return file.reference(value.func, None, frozenset())
    if isinstance(value, (ast.Constant, ast.JoinedStr, ast.BinOp)):
        return ["lit"]
    if isinstance(value, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp, ast.DictComp)):
        # its own methods are local, not what it holds: other code may fill it with
        # clients or models
        return ["box"]
    return None


def class_facts(klass: ast.ClassDef, file: FileSummaryCollector) -> dict[str, Any]:
    """What constructing a class of the run runs: its bases (references) and the methods
    that run at construction or validation (`__init__`, pydantic validators)."""
    bases: list[Any] = []
    for base in klass.bases:
        if isinstance(base, ast.Subscript):  # `Base[T]`, `Generic[T]`: the class itself
            base = base.value
        dotted = ast_dotted(base) or ""
        reference = file.reference(base, None, frozenset()) if dotted else None
        if reference is None and dotted and hasattr(builtins, dotted):
            reference = ["b", dotted]
        bases.append(reference if reference is not None else ["?", dotted])
    runs = []
    for item in klass.body:
        if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        decorated = any(
            "validator" in (ast_dotted(d.func if isinstance(d, ast.Call) else d) or "")
            for d in item.decorator_list
        )
        if item.name in _CONSTRUCTION or decorated:
            runs.append(item.name)
    facts: dict[str, Any] = {"bases": bases}
    if runs:
        facts["runs"] = runs
    # fields annotated with a local type (`checkpoints: list[tuple[int, int]]`): their
    # methods are local (the annotation is trusted, as a parameter's is)
    fields = [
        item.target.id
        for item in klass.body
        if isinstance(item, ast.AnnAssign)
        and isinstance(item.target, ast.Name)
        and _local_annotation(item.annotation)
    ]
    if fields:
        facts["fields"] = fields
    return facts


# -- queries (across the run) -----------------------------------------------------------


def proven_local(
    index: SummaryIndex,
    fid: str | None,
    local_calls: Iterable[str] = (),
    depth: int = 3,
) -> bool:
    """Function `fid` of the run makes only known-local calls, through functions of the
    run at most `depth` deep (1: its own body only)."""
    if fid is None:
        return False
    names = _vocabulary(local_calls)
    return _function_local(index, fid, names, depth, frozenset())


def reference_local(
    index: SummaryIndex,
    module: str,
    reference: Sequence[Any] | None,
    local_calls: Iterable[str] = (),
    depth: int = 3,
) -> bool:
    """The callee a reference names (recorded in `module`) is proven local: a function
    or class of the run that is, or a known-local qualified name."""
    if reference is None:
        return False
    return _reference_local(index, module, reference, _vocabulary(local_calls), depth, frozenset())


def result_local(
    index: SummaryIndex,
    module: str,
    reference: Sequence[Any] | None,
    local_calls: Iterable[str] = (),
    depth: int = 3,
) -> bool:
    """What the callee a reference names hands back has only local methods (see
    `_result_local`); the call itself is judged apart (`reference_local`)."""
    if reference is None:
        return False
    return _result_local(index, module, reference, _vocabulary(local_calls), depth, frozenset())


def creates_generator(
    index: SummaryIndex | None, module: str, reference: Sequence[Any] | None
) -> bool:
    """Calling the callee a reference names (recorded in `module`) only makes a
    generator, running none of its body: a generator function of the run (not one a
    subclass of the run overrides) or a known one of a library (`GENERATOR_FUNCTIONS`)."""
    if reference is None:
        return False
    if index is not None:
        target = index.resolve(module, reference)
        if target is not None:
            function = index.functions.get(target)
            return (
                function is not None
                and not function.is_async
                and bool(function.raw.get("generator"))
                and not function.raw.get("wrapped")
                and target not in _overridden(index)
            )
    return reference[0] == "q" and str(reference[1]) in GENERATOR_FUNCTIONS


def generator_steps_local(
    index: SummaryIndex,
    module: str,
    reference: Sequence[Any] | None,
    handed_local: Callable[[str, int | None], bool],
    local_calls: Iterable[str] = (),
    depth: int = 3,
) -> bool:
    """Every step of the generator a call of the generator function `reference` names
    makes runs only local, bounded work: its body is proven local, or proven with its
    parameters of unknown type taken as local (`local_if`) when `handed_local(name,
    position)` says the call hands each of them a local value (an opened file)."""
    if reference is None:
        return False
    target = index.resolve(module, reference)
    function = index.functions.get(target) if target is not None else None
    if function is None or target is None or target in _overridden(index):
        return False
    if function.is_async or not function.raw.get("generator"):
        return False
    names = _vocabulary(local_calls)
    if _function_local(index, target, names, depth - 1, frozenset()):
        return True
    given = function.raw.get("local_if")
    if not given or not all(handed_local(str(name), at) for name, at in given["params"]):
        return False
    return _function_local(index, target, names, depth - 1, frozenset(), given=given)


def _vocabulary(local_calls: Iterable[str]) -> tuple[str, ...]:
    extra = tuple(local_calls)
    return LOCAL_CALLS + extra if extra else LOCAL_CALLS


def _function_local(
    index: SummaryIndex,
    fid: str,
    names: tuple[str, ...],
    depth: int,
    active: frozenset[str],
    strict: bool = False,
    given: Mapping[str, Any] | None = None,
) -> bool:
    """`strict`: called from a loop, so a wait the function bounds itself
    (`SELF_BOUNDED_CALLS`), here or below, is no bound (n of them are unbounded).
    `given`: the proof to judge instead of the function's own (a generator's
    `local_if`, when its maker hands its parameters local values)."""
    if fid in active:
        # recursion: the other calls decide, but a wait bounded once on the cycle is
        # made once per round (a retry that calls itself), so no bound
        return not any("bounded" in index.functions[f].raw for f in active if f in index.functions)
    function = index.functions.get(fid)
    if function is None or depth <= 0 or function.is_async:
        return False
    key = ("local", fid, names, depth, strict, given is not None)
    memo: Mapping[Any, Any] = index._memo
    if key in memo:
        return bool(memo[key])
    raw = function.raw if given is None else given
    # a receiver known to hold a model (a loader's value, `app.state`, a registry)
    result = "opaque" not in raw and not any(
        entry[0][0] == "model" for entry in raw.get("model_calls", ())
    )
    if strict and "bounded" in raw:
        result = False
    if result:
        inner = active | {fid}
        # what a function with a loop calls may run once per item
        below = strict or bool(raw.get("repeats"))
        result = all(
            _reference_local(index, function.module, reference, names, depth, inner, below)
            for reference in raw.get("uses", ())
        )
    if not active:
        index._memo[key] = result
    return result


def _reference_local(
    index: SummaryIndex,
    module: str,
    reference: Sequence[Any],
    names: tuple[str, ...],
    depth: int,
    active: frozenset[str],
    strict: bool = False,
) -> bool:
    if reference[0] in ("r", "R"):
        # what a call hands back has only local methods: ["r", key, line, *callee];
        # "R": its attributes' too
        deep = reference[0] == "R"
        return _result_local(index, module, reference[3:], names, depth, active, deep)
    if reference[0] == "k":
        # `with _LOCK:` on a module-level lock: ["k", name, line]
        return _lock_brief(index, f"{module}:{reference[1]}", names, depth, active)
    if reference[0] == "F":
        # a method of a field of a class of the run: ["F", key, line, kind, Class, field]
        klass = _class_named(index, module, reference[3:5])
        if klass is None:
            return False
        facts = index.classes.get(klass[0], {}).get(klass[1], {})
        return str(reference[5]) in facts.get("fields", ())
    if reference[0] == "m":
        # a method of a module-level value made by a call: ["m", dotted, line, *maker]
        target = index.resolve(module, ["l", reference[1]])
        if target is not None:
            return _function_local(index, target, names, depth - 1, active, strict)
        maker = reference[3:]
        return _reference_local(
            index, module, maker, names, depth, active, strict
        ) and _result_local(index, module, maker, names, depth, active)
    run_only = reference[0] == "Q"  # a class of the run, or not proven
    if run_only:
        reference = ["q", *reference[1:]]
    target = index.resolve(module, reference)
    if target is not None:
        if target in _overridden(index):
            return False  # `self.run()` may run a subclass's `run`
        return _function_local(index, target, names, depth - 1, active, strict)
    klass = _class_named(index, module, reference)
    if klass is not None:
        return _class_local(index, klass, names, depth - 1, active, strict)
    method = _inherited_method(index, module, reference)
    if method is not None:
        return _class_local(index, method, names, depth - 1, active, strict)
    return not run_only and reference[0] == "q" and matches_any(str(reference[1]), names)


def _result_local(
    index: SummaryIndex,
    module: str,
    reference: Sequence[Any],
    names: tuple[str, ...],
    depth: int,
    active: frozenset[str],
    deep: bool = False,
) -> bool:
    """The value a call hands back has only local methods: a known-local callable's
    (`open(p)`, `json.loads(s)`), an instance of a class of the run (its methods are
    judged by name where they are called), or what a function of the run returns when
    each of its `return`s is proven local (not module state, a registry's entry, a
    parameter or attribute of unknown type)."""
    if not reference:
        return False
    if reference[0] == "m":
        target = index.resolve(module, ["l", reference[1]])
        if target is not None:
            return _returns_local(index, target, names, depth, active, deep)
        return _result_local(index, module, reference[3:], names, depth, active, deep)
    run_only = reference[0] == "Q"  # a class of the run, or not proven
    if run_only:
        reference = ["q", *reference[1:]]
    target = index.resolve(module, reference)
    if target is not None:
        return _returns_local(index, target, names, depth, active, deep)
    # an instance of a class of the run (`Model.model_validate(data)` too): its methods
    # are judged by name; its attributes hold whatever it was given
    if _class_named(index, module, reference) is not None:
        return not deep
    if _inherited_method(index, module, reference) is not None:
        return not deep
    return not run_only and reference[0] == "q" and matches_any(str(reference[1]), names)


def _returns_local(
    index: SummaryIndex,
    fid: str,
    names: tuple[str, ...],
    depth: int,
    active: frozenset[str],
    deep: bool = False,
) -> bool:
    if fid in active:
        return True  # recursion: the other returns decide
    function = index.functions.get(fid)
    if function is None or depth <= 0 or function.is_async or fid in _overridden(index):
        return False
    raw = function.raw
    if raw.get("generator"):
        # its value is a generator: each step runs the body where the value is used
        # (`consume(rows(url))` iterates `requests.get` in the thread), so the body must
        # be local, whatever the annotation says
        if not _function_local(index, fid, names, depth, active):
            return False
    elif raw.get("returns_local"):
        return True  # annotated with a local type (`-> list[Path]`)
    if "opaque" in raw or "result_opaque" in raw:
        return False
    inner = active | {fid}
    return all(
        _result_local(index, function.module, entry[3:], names, depth - 1, inner, deep)
        for entry in raw.get("result", ())
    )


def _lock_brief(
    index: SummaryIndex,
    lock: str,
    names: tuple[str, ...],
    depth: int,
    active: frozenset[str],
) -> bool:
    """Waiting on module-level lock `lock` ("module:name") is brief: it is used only as
    `with lock:`, in its own module, and every function holding it is proven local
    (so each critical section ends by itself). Any other use (`acquire()`, a lock handed
    on, a `with` of it in another module) means not proven."""
    holders = _lock_holders(index).get(lock)
    if not holders or any(kind != "with" for _, kind in holders):
        return False
    # a wait a holder bounds itself (`subprocess.run(..., timeout=60)`) is no bound here:
    # every waiter queues behind every earlier holder (`strict`, and the holders on the
    # proof's own path too)
    if any("bounded" in index.functions[fid].raw for fid, _ in holders if fid in active):
        return False
    return all(
        fid in active or _function_local(index, fid, names, depth - 1, active, strict=True)
        for fid, _ in holders
    )


def _lock_holders(index: SummaryIndex) -> dict[str, list[tuple[str, str]]]:
    """The functions using each lock ("module:name") and how ("with"/"other")."""
    cached = index._memo.get("locality.locks")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    found: dict[str, list[tuple[str, str]]] = {}
    for fid, function in index.functions.items():
        for kind, name in function.raw.get("locks", ()):
            key = lock_key(index, function.module, str(name))
            found.setdefault(key, []).append((fid, str(kind)))
    index._memo["locality.locks"] = found
    return found


def lock_key(index: SummaryIndex, module: str, name: str) -> str:
    """The lock a function of `module` names `name` ("_lock", "app.index._lock"), as
    "module:name"."""
    if "." in name:  # an imported name: "package.module.name"
        owner, _, last = name.rpartition(".")
        return f"{index._module(owner) or owner}:{last}"
    return f"{module}:{name}"


def lock_holders(index: SummaryIndex) -> dict[str, list[tuple[str, str]]]:
    """The functions of the run using each module-level lock ("module:name"), and how
    ("with"/"other")."""
    return _lock_holders(index)


def _overridden(index: SummaryIndex) -> frozenset[str]:
    """Methods (function ids) a class of the run deriving from theirs (by base name)
    defines again: a call of one may run the other."""
    cached = index._memo.get("locality.overridden")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    methods: dict[tuple[str, str], list[str]] = {}  # (Class, method) -> function ids
    for fid, function in index.functions.items():
        owner, _, method = function.qualname.rpartition(".")
        if owner and "." not in owner:
            methods.setdefault((owner, method), []).append(fid)
    derived: dict[str, set[str]] = {}  # base class name -> classes deriving from it
    for classes in index.classes.values():
        for name, facts in classes.items():
            for base in facts.get("bases", ()):
                derived.setdefault(str(base[1]).rsplit(".", 1)[-1], set()).add(name)
    found: set[str] = set()
    for (owner, method), fids in methods.items():
        if any((sub, method) in methods for sub in derived.get(owner, ())):
            found.update(fids)
    result = frozenset(found)
    index._memo["locality.overridden"] = result
    return result


def _class_named(
    index: SummaryIndex, module: str, reference: Sequence[Any]
) -> tuple[str, str] | None:
    """(module, Class) of a class of the run a reference names, or None."""
    return index.class_named(module, reference)


def _inherited_method(
    index: SummaryIndex, module: str, reference: Sequence[Any]
) -> tuple[str, str] | None:
    """`Model.model_validate` on a class of the run that does not define it: the class
    (its construction and validation decide)."""
    kind, name = str(reference[0]), str(reference[1])
    head, _, _ = name.rpartition(".")
    if not head:
        return None
    return _class_named(index, module, [kind, head])


def _class_local(
    index: SummaryIndex,
    klass: tuple[str, str],
    names: tuple[str, ...],
    depth: int,
    active: frozenset[str],
    strict: bool = False,
) -> bool:
    module, name = klass
    fid = f"{module}:{name}"
    if fid in active:
        return True
    if depth <= 0:
        return False
    facts = index.classes.get(module, {}).get(name)
    if facts is None:
        return False
    inner = active | {fid}
    for method in facts.get("runs", ()):
        if not _function_local(index, f"{module}:{name}.{method}", names, depth, inner, strict):
            return False
    for base in facts.get("bases", ()):
        kind = str(base[0])
        if kind == "b":
            continue  # `object`, `dict`, `Exception`...
        if kind == "?" or not _reference_local(index, module, base, names, depth, inner, strict):
            return False
    return True


# -- the CST side: values of the function being analysed -------------------------------

_CST_BINDINGS = (*BINDING_NODES, cst.CompFor)


def constructed_locals(function: cst.FunctionDef, context: FileContext) -> dict[str, list[str]]:
    """Names `function`'s own body binds only to an instance one class makes in place
    (`download = Path(p)`, `with zipfile.ZipFile(buffer) as archive`), with the
    reference of that class (["q", qualified] through an import, ["l", Name] for a
    class of the file): a method of such a name is that class's method. A parameter,
    a `global`/`nonlocal` name or one bound any other way (a loop, an unpacking, an
    augmented assignment, another call) is left out."""
    key = ("locality.constructed", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, dict):
        return cached
    scope = function_scope(function, context)
    made: dict[str, list[str]] = {}
    other: set[str] = set(scope.params) | scope.globals | scope.nonlocals
    other |= _rebound_by_nested(function, context)
    classes = module_bindings(context)
    for node in descendants(function.body, stop_at=SCOPE_NODES, only=_CST_BINDINGS):
        name, value = _plain_binding(node)
        reference = _class_reference(value, context, classes) if name is not None else None
        if name is None or reference is None or made.get(name, reference) != reference:
            other.update(_bound_by(node))
            continue
        made[name] = reference
    result = {name: reference for name, reference in made.items() if name not in other}
    context.memo[key] = result
    return result


def argument_calls(
    value: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> list[cst.Call] | None:
    """The calls an offload's argument may be the result of (or an element or attribute
    of): `requests.get(url).raw`, `response` bound to `requests.get(url, stream=True)`
    in `function`'s own body (followed through its bindings, loop targets to what they
    loop over). What the offloaded callable reads from such a value (a live stream or
    connection) is part of the offloaded work. An awaited call's value is left out (what
    a coroutine hands back is read by async code, not by the thread); None: a name a
    function defined in `function` rebinds (`nonlocal`), so unknown."""
    bindings: dict[str, list[cst.BaseExpression]] | None = None
    found: list[cst.Call] = []
    seen: set[str] = set()
    stack: list[cst.BaseExpression] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call):
            found.append(node)
            if isinstance(node.func, cst.Attribute):
                stack.append(node.func.value)  # `session.get(url)`: the session too
        elif isinstance(node, cst.Name):
            if node.value in seen:
                continue
            seen.add(node.value)
            if bindings is None:
                bindings = _own_values(function, context)
            if node.value in _rebound_by_nested(function, context):
                return None
            stack.extend(bindings.get(node.value, ()))
        elif isinstance(node, (cst.Attribute, cst.Subscript, cst.StarredElement)):
            stack.append(node.value)
        elif isinstance(node, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
            stack.extend(e.value for e in node.elements)
        elif isinstance(node, (cst.BinaryOperation, cst.BooleanOperation)):
            stack.extend((node.left, node.right))
        elif isinstance(node, cst.IfExp):
            stack.extend((node.body, node.orelse))
        elif isinstance(node, cst.NamedExpr):
            stack.append(node.value)
    return found


def value_makers(
    value: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> list[tuple[cst.Call, bool]] | None:
    """The calls a value of `function` may be the result of (or an element or attribute
    of), each with whether it is awaited, followed through `function`'s own bindings
    (a loop target over `zip(a, b)` to the matching one of `a`, `b`) and a method's
    receiver. Stricter than `argument_calls`: None when any source is not seen (a
    parameter, a module-level name, a name bound by an import, a `def` or an `except`,
    or rebound by a nested function, a lambda or a comprehension's value, an awaited
    value that is no call)."""
    bindings = _element_values(function, context)
    scope = function_scope(function, context)
    # a parameter's value, or a `global`/`nonlocal` name's, comes from elsewhere too
    rebound = _rebound_by_nested(function, context) | set(scope.params)
    rebound |= scope.globals | scope.nonlocals
    found: list[tuple[cst.Call, bool]] = []
    seen: set[str] = set()
    stack: list[cst.BaseExpression] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Await):
            if not isinstance(node.expression, cst.Call):
                return None
            found.append((node.expression, True))
        elif isinstance(node, cst.Call):
            found.append((node, False))
            if isinstance(node.func, cst.Attribute):
                stack.append(node.func.value)  # `rows.iter()`: the receiver too
        elif isinstance(node, cst.Name):
            if node.value in ("None", "True", "False") or node.value in seen:
                continue
            seen.add(node.value)
            values = bindings.get(node.value)
            if values is None or node.value in rebound:
                return None
            stack.extend(values)
        elif isinstance(node, (cst.Attribute, cst.Subscript, cst.StarredElement)):
            stack.append(node.value)
        elif isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            stack.extend(e.value for e in node.elements)
        elif isinstance(node, (cst.BinaryOperation, cst.BooleanOperation)):
            stack.extend((node.left, node.right))
        elif isinstance(node, cst.IfExp):
            stack.extend((node.body, node.orelse))
        elif not isinstance(node, (cst.BaseString, cst.BaseNumber, cst.Ellipsis)):
            return None
    return found


def _element_values(
    function: cst.FunctionDef, context: FileContext
) -> dict[str, list[cst.BaseExpression]]:
    """What `function`'s own body binds each name to, as `_own_values`, but a name also
    bound without a value (an import, a `def`, an `except ... as`) is left out (unknown),
    and the targets of `for a, b in zip(x, y)` are bound to `x` and `y` each."""
    key = ("locality.element_values", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, dict):
        return cached
    values: dict[str, list[cst.BaseExpression]] = {}
    unknown: set[str] = set()
    for node in descendants(function.body, stop_at=SCOPE_NODES, only=_CST_BINDINGS):
        if isinstance(node, (cst.For, cst.CompFor)):
            zipped = _zipped(node.target, node.iter, context)
            if zipped is not None:
                for name, part in zipped:
                    values.setdefault(name, []).append(part)
                continue
            for name in _bound_by(node):
                values.setdefault(name, []).append(node.iter)
            continue
        value: cst.BaseExpression | None = None
        if isinstance(node, (cst.Assign, cst.AugAssign, cst.NamedExpr)) or (
            isinstance(node, cst.AnnAssign) and node.value is not None
        ):
            value = node.value
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            value = node.item
        for name in _bound_by(node):
            if value is None:
                unknown.add(name)
            else:
                values.setdefault(name, []).append(value)
    result = {name: found for name, found in values.items() if name not in unknown}
    context.memo[key] = result
    return result


def _zipped(
    target: cst.BaseAssignTargetExpression, iterable: cst.BaseExpression, context: FileContext
) -> list[tuple[str, cst.BaseExpression]] | None:
    """`for a, b in zip(x, y)`: [("a", x), ("b", y)] (each an element of its own
    iterable); None for any other shape."""
    if not (isinstance(target, (cst.Tuple, cst.List)) and isinstance(iterable, cst.Call)):
        return None
    func = iterable.func
    if not (isinstance(func, cst.Name) and func.value == "zip"):
        return None
    if "zip" in context.imports.aliases or "zip" in module_bindings(context):
        return None
    arguments = [a for a in iterable.args if a.keyword is None]
    if len(arguments) != len(target.elements) or any(a.star for a in arguments):
        return None
    pairs: list[tuple[str, cst.BaseExpression]] = []
    for element, argument in zip(target.elements, arguments, strict=True):
        if not isinstance(element.value, cst.Name):
            return None
        pairs.append((element.value.value, argument.value))
    return pairs


def known_receiver(
    receiver: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> bool:
    """A method's receiver whose value `argument_calls` follows (a call, a literal, a
    name `function` binds) or a parameter annotated with a local type (`text: str`):
    its method hands back a local value when the receiver is one. Not a parameter of
    unknown type, nor an attribute of `self`."""
    while isinstance(receiver, (cst.Attribute, cst.Subscript)):
        receiver = receiver.value
    if isinstance(receiver, (cst.Call, cst.BaseString, cst.BaseNumber)):
        return True
    if not isinstance(receiver, cst.Name):
        return isinstance(receiver, (cst.List, cst.Tuple, cst.Set, cst.Dict))
    name = receiver.value
    if name in _own_values(function, context):
        return True
    params = function.params
    for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
        if param.name.value == name:
            if param.annotation is None:
                return False
            code = context.module.code_for_node(param.annotation.annotation)
            try:
                annotation = ast.parse(code.strip(), mode="eval").body
            except SyntaxError:
                return False
            return _local_annotation(annotation)
    return False


def _own_values(
    function: cst.FunctionDef, context: FileContext
) -> dict[str, list[cst.BaseExpression]]:
    """What `function`'s own body binds each name to (a loop target: what it loops over)."""
    key = ("locality.own_values", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, dict):
        return cached
    values: dict[str, list[cst.BaseExpression]] = {}
    for node in descendants(function.body, stop_at=SCOPE_NODES, only=_CST_BINDINGS):
        value: cst.BaseExpression | None = None
        if isinstance(node, (cst.Assign, cst.AugAssign, cst.NamedExpr)) or (
            isinstance(node, cst.AnnAssign) and node.value is not None
        ):
            value = node.value
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            value = node.item
        elif isinstance(node, (cst.For, cst.CompFor)):
            value = node.iter
        if value is None:
            continue
        for name in _bound_by(node):
            values.setdefault(name, []).append(value)
    context.memo[key] = values
    return values


def nested_function(function: cst.FunctionDef, name: str, context: FileContext) -> bool:
    """`name` is bound in `function`'s own body only by one `def name(...)` there (the
    run's summaries judge it as `outer.<locals>.name`)."""
    scope = function_scope(function, context)
    if name in scope.params or name in scope.globals or name in scope.nonlocals:
        return False
    if name in _rebound_by_nested(function, context):
        return False
    found = 0
    for node in descendants(function.body, stop_at=SCOPE_NODES, only=_CST_BINDINGS):
        if name not in _bound_by(node):
            continue
        if not isinstance(node, cst.FunctionDef):
            return False
        found += 1
    return found == 1


def handed_value(
    handed: list[cst.Arg], name: str, position: int | None
) -> cst.BaseExpression | None:
    """The value a call's arguments give parameter `name` (at `position` among the
    positional ones, None: keyword-only): by keyword, or by position before any starred
    argument (a starred one could fill it too); None when not seen there."""
    for arg in handed:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    if position is None:
        return None
    positional = []
    for arg in handed:
        if arg.keyword is not None or arg.star == "**":
            break
        if arg.star:
            return None
        positional.append(arg.value)
    return positional[position] if position < len(positional) else None


def own_names(function: cst.FunctionDef) -> frozenset[str]:
    """Names `function` takes as parameters or binds by a plain assignment or `def`
    (enough to tell a builtin's name from a rebinding of it)."""
    names = {
        p.name.value
        for p in [
            *function.params.posonly_params,
            *function.params.params,
            *function.params.kwonly_params,
        ]
    }
    for node in descendants(function.body, stop_at=SCOPE_NODES, only=_OWN_BINDINGS):
        names.update(_bound_by(node))
    return frozenset(names)


_OWN_BINDINGS = (cst.Assign, cst.FunctionDef)


def _rebound_by_nested(function: cst.FunctionDef, context: FileContext) -> frozenset[str]:
    """Names a function defined in `function` (at any depth) declares `nonlocal`: it may
    rebind them to anything (`nonlocal download; download = socket.socket()`)."""
    key = ("locality.nonlocal", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, frozenset):
        return cached
    found = frozenset(
        name.name.value
        for node in descendants(function.body, only=(cst.Nonlocal,))
        if isinstance(node, cst.Nonlocal)
        for name in node.names
    )
    context.memo[key] = found
    return found


def _plain_binding(node: cst.CSTNode) -> tuple[str | None, cst.BaseExpression | None]:
    if isinstance(node, cst.WithItem) and node.asname is not None:
        target: cst.BaseExpression = node.asname.name
        value: cst.BaseExpression | None = node.item
    elif isinstance(node, cst.Assign) and len(node.targets) == 1:
        target, value = node.targets[0].target, node.value
    elif isinstance(node, cst.AnnAssign) and node.value is not None:
        target, value = node.target, node.value
    else:
        return None, None
    return (target.value, value) if isinstance(target, cst.Name) else (None, None)


def _bound_by(node: cst.CSTNode) -> list[str]:
    if isinstance(node, cst.Assign):
        return [n for t in node.targets for n in bound_names(t.target)]
    if isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.For, cst.NamedExpr, cst.CompFor)):
        return bound_names(node.target)
    if isinstance(node, cst.WithItem) and node.asname is not None:
        return bound_names(node.asname.name)
    if isinstance(node, cst.ExceptHandler) and node.name is not None:
        return bound_names(node.name.name)
    if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        return [node.name.value]
    if isinstance(node, (cst.Import, cst.ImportFrom)) and not isinstance(
        node.names, cst.ImportStar
    ):
        return [
            (bound_names(a.asname.name) or [""])[0] if a.asname is not None else _root(a.name)
            for a in node.names
        ]
    return []


def _root(node: cst.BaseExpression) -> str:
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else ""


def _class_reference(
    value: cst.BaseExpression | None,
    context: FileContext,
    classes: Mapping[str, cst.CSTNode],
) -> list[str] | None:
    if not isinstance(value, cst.Call):
        return None
    qualified = context.imports.call_name(value)
    if qualified is not None:
        return ["q", qualified] if qualified.rsplit(".", 1)[-1][:1].isupper() else None
    func = value.func
    if isinstance(func, cst.Name) and isinstance(classes.get(func.value), cst.ClassDef):
        return ["l", func.value]
    return None
