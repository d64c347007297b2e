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

Known limits (accepted, documented): a value returned by a proven-local function of the
run is taken to be local (a helper that returns its argument unchanged could hand back a
client); a parameter passed as a key function (`sorted(xs, key=f)`) is not followed.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from leakguard.analysis.imports import matches_any
from leakguard.triage import dotted as ast_dotted

if TYPE_CHECKING:
    from leakguard.analysis.summaries import FileSummaryCollector, SummaryIndex

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
    "logging.*",
    "warnings.*",
    "traceback.*",
    "pprint.*",
    "contextlib.suppress",
    "contextlib.nullcontext",
    "sys.getsizeof",
    "sys.maxsize",
    "sys.platform",
    "sys.version_info",
    # password hashing (slow by design, but bounded), one-time passwords, QR codes:
    # computed from their arguments
    "bcrypt.*",
    # images decoded and validated in memory or from local files
    "PIL.*",
    "argon2.*",
    "passlib.*",
    "pyotp.*",
    "qrcode.*",
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

_CONTAINER_LITERALS = (
    ast.List,
    ast.Dict,
    ast.Set,
    ast.Tuple,
    ast.ListComp,
    ast.DictComp,
    ast.SetComp,
)
_CONTAINER_BUILTINS = frozenset({"list", "dict", "set", "tuple", "frozenset", "bytearray"})

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

# Methods that store their arguments in their receiver.
_MUTATORS = frozenset(
    {"append", "extend", "add", "insert", "update", "setdefault", "appendleft", "extendleft"}
)

# Methods of a class that run when it is constructed or validated.
_CONSTRUCTION = frozenset({"__init__", "__new__", "__post_init__", "model_post_init"})


def _builtin_local(name: str) -> bool:
    if name in LOCAL_BUILTINS:
        return True
    value = getattr(builtins, name, None)
    return isinstance(value, type) and issubclass(value, BaseException)


# -- collection (per function, from `ast`) ---------------------------------------------

_LOCAL = "local"  # a value with only local methods
_UNKNOWN = "unknown"  # a parameter or a value of unknown provenance
_FUNCTION = "function"  # a nested function or lambda: its body is this function's own


def function_locality(
    file: FileSummaryCollector,
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    owner: str | None,
    receiver: str,
) -> dict[str, Any]:
    """`{"opaque": [label, line]}`, `{"uses": [[kind, name, line, ...], ...]}` or `{}`
    (no call at all: local)."""
    if _stub(function):
        # an interface's or a base class's placeholder: what runs is someone else's code
        return {"opaque": ["a stub", function.lineno]}
    return _Locality(file, function, owner or "", receiver).run()


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
    ) -> None:
        self.file = file
        self.function = function
        self.owner = owner
        self.receiver = receiver if owner else ""
        self.nodes = [n for statement in function.body for n in ast.walk(statement)]
        self.bindings: dict[str, list[ast.expr | str]] = {}
        self.uses: dict[str, list[Any]] = {}
        self.local: set[str] = set()  # names whose value and contents are local
        self.direct: dict[str, list[ast.expr | str]] = {}  # bindings less what is stored
        self.containers: set[str] = set()
        self.container_params: set[str] = set()  # `data: dict`: its own methods are local

    def run(self) -> dict[str, Any]:
        self._bind()
        self.local = self._local_names()
        self.containers = self._containers() | {
            name for name in self.container_params if len(self.direct[name]) == 1
        }
        for node in self.nodes:
            if isinstance(node, ast.Call):
                opaque = self._call(node) or self._passed_functions(node)
                if opaque is not None:
                    return {"opaque": [opaque, node.lineno]}
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                # `with lock:` waits in `__enter__`: a context manager that is no call
                # here is judged as a value (a global lock's maker, `self._lock`)
                for item in node.items:
                    held = item.context_expr
                    if not isinstance(held, ast.Call) and not self._value_local(held, self.local):
                        return {"opaque": [f"with {ast.unparse(held)[:40]}", node.lineno]}
        return {"uses": list(self.uses.values())} if self.uses else {}

    # bindings ----------------------------------------------------------------------

    def _bind(self) -> None:
        args = self.function.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if arg.arg == self.receiver:
                continue
            if _local_annotation(arg.annotation):
                self._add(arg.arg, _LOCAL)
            else:
                self._add(arg.arg, _UNKNOWN)
                if _container_annotation(arg.annotation):
                    self.container_params.add(arg.arg)
        for rest in (args.vararg, args.kwarg):
            if rest is not None:  # what they hold is unknown
                self._add(rest.arg, _UNKNOWN)
        for node in self.nodes:
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

    def _bind_mutation(self, call: ast.Call) -> None:
        """`items.append(x)`: what a container of the function holds is bound to it."""
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.attr in _MUTATORS
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
                    and value.func.id in _CONTAINER_BUILTINS
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

    def _call(self, call: ast.Call) -> str | None:
        """None when `call` is local or judged through `uses`; else what is opaque."""
        func = call.func
        line = call.lineno
        if isinstance(func, ast.Lambda):
            return None
        if isinstance(func, ast.Name):
            return self._named_call(func.id, line)
        if not isinstance(func, ast.Attribute):
            return "a computed callee"
        dotted = ast_dotted(func)
        if dotted is None:
            # `open(p).read()`, `", ".join(xs)`, `cfg["a"].strip()`
            if isinstance(func.value, ast.Call):
                self._method_of_instance(func.value, func.attr, line)
            return None if self._value_local(func.value, self.local) else f"….{func.attr}()"
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
            return None if root in self.local or own_method else f"{dotted}()"
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
                self._use(["q", f"{qualified}.{method}"], line)
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
        """Functions handed to a call (`map(requests.get, urls)`) may be called by it;
        what is opaque (`map(session.get, urls)` on a parameter), else None."""
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
                continue
            if root == self.receiver and self.receiver and rest and "." not in rest:
                self._use(["s", f"{self.owner}.{rest}"], call.lineno)
            elif root in self.file.aliases:
                qualified = self.file.qualify(dotted)
                if qualified is not None:
                    self._use(["q", qualified], call.lineno)
            elif root in self.file.globals:
                kind = self.file.global_values.get(root)
                if kind is not None and kind[0] == "def":
                    self._use(["l", dotted], call.lineno)
        return None

    def _use(self, reference: Sequence[Any], line: int, origin: Sequence[Any] = ()) -> None:
        key = f"{reference[0]}:{reference[1]}"
        if key not in self.uses:
            self.uses[key] = [str(reference[0]), str(reference[1]), line, *origin]


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


def _container_annotation(annotation: ast.expr | None) -> bool:
    """`dict`, `list[Any]`, `Mapping[str, Any]`: a container whatever it holds."""
    if isinstance(annotation, ast.Subscript):
        annotation = annotation.value
    dotted = ast_dotted(annotation) if annotation is not None else None
    return dotted is not None and dotted.rsplit(".", 1)[-1] in _CONTAINER_TYPES


def global_value(value: ast.expr | None, file: FileSummaryCollector) -> list[str] | None:
    """How a module-level assignment's value is judged local: ["lit"] (a constant),
    ["box"] (a container), the reference of the call that made it
    (`logging.getLogger(...)`), or None."""
    if value is None:
        return None
    if isinstance(value, ast.Call):
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


def _vocabulary(local_calls: Iterable[str]) -> tuple[str, ...]:
    extra = tuple(local_calls)
    return LOCAL_CALLS + extra if extra else LOCAL_CALLS


def _function_local(
    index: SummaryIndex,
    fid: str,
    names: tuple[str, ...],
    depth: int,
    active: frozenset[str],
) -> bool:
    if fid in active:
        return True  # recursion: the other calls decide
    function = index.functions.get(fid)
    if function is None or depth <= 0 or function.is_async:
        return False
    key = ("local", fid, names, depth)
    memo: Mapping[Any, Any] = index._memo
    if key in memo:
        return bool(memo[key])
    raw = function.raw
    # a receiver known to hold a model (a loader's value, `app.state`, a registry)
    result = "opaque" not in raw and not any(
        entry[0][0] == "model" for entry in raw.get("model_calls", ())
    )
    if result:
        inner = active | {fid}
        result = all(
            _reference_local(index, function.module, reference, names, depth, inner)
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
) -> bool:
    if reference[0] == "m":
        # a method of a module-level value made by a call: ["m", dotted, line, *maker]
        target = index.resolve(module, ["l", reference[1]])
        if target is not None:
            return _function_local(index, target, names, depth - 1, active)
        return _reference_local(index, module, reference[3:], names, depth, active)
    target = index.resolve(module, reference)
    if target is not None:
        if target in _overridden(index):
            return False  # `self.run()` may run a subclass's `run`
        return _function_local(index, target, names, depth - 1, active)
    klass = _class_named(index, module, reference)
    if klass is not None:
        return _class_local(index, klass, names, depth - 1, active)
    method = _inherited_method(index, module, reference)
    if method is not None:
        return _class_local(index, method, names, depth - 1, active)
    return reference[0] == "q" and matches_any(str(reference[1]), names)


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
    kind, name = str(reference[0]), str(reference[1])
    if kind == "l":
        return (module, name) if name in index.classes.get(module, {}) else None
    if kind != "q":
        return None
    head, _, last = name.rpartition(".")
    target = index._module(head) if head else None
    if target is not None and last in index.classes.get(target, {}):
        return target, last
    return None


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
        if not _function_local(index, f"{module}:{name}.{method}", names, depth, inner):
            return False
    for base in facts.get("bases", ()):
        kind = str(base[0])
        if kind == "b":
            continue  # `object`, `dict`, `Exception`...
        if kind == "?" or not _reference_local(index, module, base, names, depth, inner):
            return False
    return True
