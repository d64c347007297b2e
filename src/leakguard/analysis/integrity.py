"""Integrity checks before a load: was a digest compared earlier in the same scope?

A *check* is
- a call to a constant-time comparison (`hmac.compare_digest`, `secrets.compare_digest`),
- an `==`/`!=` comparison one side of which is computed with a digest function
  (`hashlib.sha256(data).hexdigest() == expected`), directly or through locals of the
  same scope (`h = hashlib.sha256(); h.update(b); digest = h.hexdigest(); digest != x`),
- a call to a helper function whose body contains a check (`verify_model(path, digest)`),
  followed transitively `max_depth` functions deep: helpers of the same file by name, and
  functions of other files of the run through the function summaries (imports, aliases,
  module-level instances).

`private_round_trip(load, source, context)`: the load reads `os.path.join(tmp, NAME)` (or
`tmp / NAME`) where `tmp` is a temporary directory its own function created
(`tempfile.TemporaryDirectory()`, `mkdtemp()`) and hands to nothing that could write in
it (it only builds other constant paths in it, or publishes it in `os.environ` for the
program's own code), `NAME` a module constant every other use of which in the file is
the target of a serializing write (`torch.save(obj, os.path.join(d, NAME))`), and the
loaded path is otherwise only tested (`os.path.exists`). The file was written by the
program itself, in a directory only the process can write: a round trip through its own
callback.

`filled_directory_round_trip(load, source, context)`: the load reads a file listed by a
glob of such a fresh temporary directory, which the function hands only to that listing,
to `print`, to path tests and to helpers of the same file that only serialize into the
parameter it binds (`torch.save(shard, os.path.join(tmp_path, name))`; testing, making
or removing it is allowed): a round trip through a helper that writes into the
directory it is handed.

`own_format_round_trip(load, source, context)`: the module's own format pair, the round
trip at module scope. The load reads `DIR.path_of(NAME)`, `os.path.join(DIR, NAME)` or
`DIR / NAME`, NAME built only from module constants every use of which in the file builds
the path of that same file name that the module's own serialization writes
(`cloudpickle.dump(obj, f)` into an `open(path, "wb")` handle used for nothing else),
that is read or that is tested, with at least one such write: a flavour module's
`load_model` reading what its `save_model` wrote. The directory is the call's (a
parameter or local, not a fixed folder). Not in a service, nor in a function a request
handler reaches, that brings files from elsewhere (a download, an upload, an extraction
or copy, the environment) or whose callers in the file do (two calls back).

`class_state_round_trip(load, source, context)`: the round trip across the methods of
one class. The load reads `self.M()` (or the parameter of a static loader or module
function every call of which in the file hands it `self.M()`), M returning the join of a
folder built on the receiver and a string constant of the class; every other use of
`self.M()` in the file is the class's own serializing write, a read or a test, with at
least one write; nothing stores or overrides the constant, rebinds the folder outside
`__init__`, or brings files from elsewhere in a method of the class (chroma's
persistent index reading back the `index_metadata.pickle` its `_persist` wrote).

`shipped_text_config(value, scope, context)`: `value` is the text of a YAML file versioned
with the code: read from a `files.constant_path` relative to the working directory or
anchored at the program's file (never absolute, in the home directory, or climbing out
with `..` first), and no call of the file writes that path except with the process's
own serialization (`path.write_text(yaml.dump(config))`): no download, copy or unknown
call is handed it or a directory above it (an archive extracted into it, a tree copied
or a snapshot downloaded into it; an extraction with no destination writes the working
directory). Text reviewed in the repository's diffs, not an opaque artefact.

`refused_unless_opted_in(load, context, switches)`: the load runs only past an explicit
opt-in gate that refuses while a switch is off, and the switch is off unless someone
turns it on (`if not allow_pickle: raise ...` with `allow_pickle=False` the parameter's
default; an unset environment variable; a setting the user lists as off by default).

"Before" is source order within the scope's own body (pre-order of the tree, nested
functions and classes excluded). Facts are memoised per scope.
"""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import libcst as cst

from leakguard.analysis.bindings import (
    AssignedValues,
    assigned_values,
    local_reads,
    module_assigned_once,
)
from leakguard.analysis.caches import uses_web_framework
from leakguard.analysis.caller_trust import handler_qualname
from leakguard.analysis.constants import rebound_elsewhere
from leakguard.analysis.files import (
    anchored,
    constant_path,
    name_binding,
    opens_file,
    read_path,
)
from leakguard.analysis.imports import matches_any
from leakguard.analysis.scopes import bound_names, function_scope, is_read, module_bindings
from leakguard.analysis.startup import startup_index
from leakguard.analysis.summaries import DEFAULT_MAX_CALL_DEPTH, Vocabulary, summary_index
from leakguard.context import FileContext
from leakguard.walker import SCOPE_NODES, descendants, walk

# Lambdas stay inside: a check or load in a lambda is still in the scope's body order.
_OWN_BODY_STOP = (cst.FunctionDef, cst.ClassDef)


@dataclass(frozen=True)
class CheckVocabulary:
    """What counts as a comparison call and as a digest computation, and how many helper
    functions deep a check is looked for."""

    compare_calls: tuple[str, ...]
    digest_calls: tuple[str, ...]
    max_depth: int = DEFAULT_MAX_CALL_DEPTH


@dataclass
class _ScopeChecks:
    order: dict[int, int]  # id(call) -> pre-order index in the scope's body
    first_check: int | None


def innermost_scope(context: FileContext) -> cst.CSTNode:
    """The function, class or module whose own body holds the current node."""
    for node in context.ancestors():
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Module)):
            return node
    return context.module


def checked_before(
    call: cst.Call, scope: cst.CSTNode, context: FileContext, vocabulary: CheckVocabulary
) -> bool:
    """True when an integrity check precedes `call` in `scope`'s own body."""
    facts = _scope_checks(scope, context, vocabulary)
    if facts.first_check is None:
        return False
    position = facts.order.get(id(call))
    return position is not None and facts.first_check < position


def _scope_checks(
    scope: cst.CSTNode, context: FileContext, vocabulary: CheckVocabulary
) -> _ScopeChecks:
    key = ("integrity_checks", id(scope))
    cached = context.memo.get(key)
    if isinstance(cached, _ScopeChecks):
        return cached
    order: dict[int, int] = {}
    first_check: int | None = None
    values = assigned_values(scope, context)
    for index, node in enumerate(descendants(scope, stop_at=_OWN_BODY_STOP)):
        if isinstance(node, cst.Call):
            order[id(node)] = index
        if first_check is None and _is_check(
            node, values, context, vocabulary, vocabulary.max_depth
        ):
            first_check = index
    facts = _ScopeChecks(order, first_check)
    context.memo[key] = facts
    return facts


def _is_check(
    node: cst.CSTNode,
    values: AssignedValues,
    context: FileContext,
    vocabulary: CheckVocabulary,
    depth: int,
) -> bool:
    if isinstance(node, cst.Comparison):
        if not any(isinstance(t.operator, (cst.Equal, cst.NotEqual)) for t in node.comparisons):
            return False
        sides = [node.left, *(t.comparator for t in node.comparisons)]
        return any(_digest_derived(side, values, context, vocabulary, set()) for side in sides)
    if isinstance(node, cst.Call):
        name = context.imports.call_name(node)
        if name is not None and matches_any(name, vocabulary.compare_calls):
            return True
        return depth > 0 and _calls_checking_helper(node, context, vocabulary, depth)
    return False


def _digest_derived(
    expression: cst.BaseExpression,
    values: AssignedValues,
    context: FileContext,
    vocabulary: CheckVocabulary,
    seen: set[str],
) -> bool:
    for node in (expression, *descendants(expression, stop_at=_OWN_BODY_STOP)):
        if isinstance(node, cst.Call):
            name = context.imports.call_name(node)
            if name is not None and matches_any(name, vocabulary.digest_calls):
                return True
        elif isinstance(node, cst.Name) and node.value in values and node.value not in seen:
            seen.add(node.value)
            if any(
                _digest_derived(value, values, context, vocabulary, seen)
                for value in values[node.value]
            ):
                return True
    return False


def _calls_checking_helper(
    call: cst.Call, context: FileContext, vocabulary: CheckVocabulary, depth: int
) -> bool:
    func = call.func
    if isinstance(func, cst.Name):
        helper_name = func.value
    elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        helper_name = func.attr.value  # self.verify(...), cls.verify(...), Store.verify(...)
    else:
        return False
    if any(
        _function_checks(helper, context, vocabulary, depth - 1)
        for helper in _functions_named(helper_name, context)
    ):
        return True
    return _helper_of_the_run_checks(call, context, vocabulary, depth)


def _helper_of_the_run_checks(
    call: cst.Call, context: FileContext, vocabulary: CheckVocabulary, depth: int
) -> bool:
    """The call resolves (imports, aliases, module-level instances) to a function of
    another file of the run that compares a digest, itself or through the functions it
    calls, at most `depth` functions deep (the run's function summaries)."""
    index = summary_index(context)
    if index is None:
        return False
    target = index.callee(call, context)
    if target is None or target.split(":", 1)[0] == context.module_name:
        return False  # unknown, or in this file: judged on the tree above
    checks = Vocabulary(compare_calls=vocabulary.compare_calls)
    return index.find(target, checks, ("checks_digest",), depth) is not None


def _function_checks(
    function: cst.FunctionDef, context: FileContext, vocabulary: CheckVocabulary, depth: int
) -> bool:
    key = ("integrity_helper", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, bool):
        return cached
    context.memo[key] = False  # recursion guard for mutually recursive helpers
    values = assigned_values(function, context)
    found = any(
        _is_check(node, values, context, vocabulary, depth)
        for node in descendants(function.body, stop_at=_OWN_BODY_STOP)
    )
    context.memo[key] = found
    return found


def _functions_named(name: str, context: FileContext) -> Iterable[cst.FunctionDef]:
    table = context.memo.get("integrity_functions_by_name")
    if not isinstance(table, dict):
        table = {}
        for node in descendants(context.module):
            if isinstance(node, cst.FunctionDef):
                table.setdefault(node.name.value, []).append(node)
        context.memo["integrity_functions_by_name"] = table
    found: list[cst.FunctionDef] = table.get(name, [])
    return found


# Writers and the position of the file or path they write to.
_WRITERS = {
    "pickle.dump": 1,
    "_pickle.dump": 1,
    "cPickle.dump": 1,
    "dill.dump": 1,
    "cloudpickle.dump": 1,
    "joblib.dump": 1,
    "torch.save": 1,
    "torch.jit.save": 1,
    "onnx.save": 1,
    "onnx.save_model": 1,
    "skops.io.dump": 1,
    "yaml.dump": 1,
    "numpy.save": 0,
    "numpy.savez": 0,
    "numpy.savez_compressed": 0,
    "safetensors.torch.save_file": 1,
}
# Methods that save their receiver to the path given first: `model.save(path)`.
_SAVE_METHODS = frozenset({"save", "save_model", "save_pretrained", "to_pickle", "dump"})
# `Path` methods that write or read the whole file at their receiver.
_PATH_WRITERS = frozenset({"write_text", "write_bytes"})
_PATH_READERS = frozenset({"read_text", "read_bytes"})
_PATH_KEYWORDS = frozenset({"file", "f", "path", "filename", "fname"})


def round_trip(load: cst.Call, source: cst.BaseExpression, context: FileContext) -> bool:
    """The function (or test) that makes `load` wrote the same file earlier: a round trip
    (`joblib.dump(model, path)` ... `joblib.load(path)`, or both through `open(path)`
    handles), which loads nothing it did not produce itself."""
    function = next((a for a in context.ancestors() if isinstance(a, cst.FunctionDef)), None)
    if function is None:
        return False
    if isinstance(source, cst.Name) and _assigned_from_dumps(function, source.value, context):
        return True  # `blob = pickle.dumps(x)` ... `pickle.loads(blob)`: in memory
    handles: dict[str, str] = {}  # file handle name -> its path's code, as bound so far
    written: set[str] = set()
    for node in descendants(function.body, stop_at=_OWN_BODY_STOP):
        if node is load:
            return _target_text(source, handles, context) in written
        _record_write(node, handles, written, context)
        bound = name_binding(node)
        if bound is not None and _returns_what_it_wrote(bound[1], context):
            written.add(bound[0])  # `path = stage(config)`: a helper wrote `path`
    return False


def _returns_what_it_wrote(value: cst.BaseExpression, context: FileContext) -> bool:
    """`value` calls a function of this file (by name) that writes a file and returns
    its path: `def stage(c): p = d / "c.yml"; p.write_text(yaml.dump(c)); return p`."""
    if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Name):
        return False
    return any(_writes_and_returns(f, context) for f in _functions_named(value.func.value, context))


def _writes_and_returns(function: cst.FunctionDef, context: FileContext) -> bool:
    key = ("integrity_writes_returns", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, bool):
        return cached
    handles: dict[str, str] = {}
    written: set[str] = set()
    found = False
    for node in descendants(function.body, stop_at=_OWN_BODY_STOP):
        _record_write(node, handles, written, context)
        if isinstance(node, cst.Return) and node.value is not None and _code(node.value) in written:
            found = True
            break
    context.memo[key] = found
    return found


def _record_write(
    node: cst.CSTNode, handles: dict[str, str], written: set[str], context: FileContext
) -> None:
    """Walking a body in order: note the handles `node` opens and the file it writes."""
    _bind_handle(node, handles, context)
    if isinstance(node, cst.Call):
        target = _written_target(node, context)
        if target is not None:
            written.add(_target_text(target, handles, context))


def _bind_handle(node: cst.CSTNode, handles: dict[str, str], context: FileContext) -> None:
    """Record `with open(path) as f` / `f = open(path)`: `f` now means `path`."""
    bound = name_binding(node)
    if bound is None:
        return
    name, opened = bound
    if isinstance(opened, cst.Call) and opens_file(opened, context):
        handles[name] = _opened_path(opened)
    else:
        handles.pop(name, None)


def _opened_path(call: cst.Call) -> str:
    if call.args:
        return _code(call.args[0].value)
    # `path.open("rb")`: the receiver is the path.
    func = call.func
    return _code(func.value) if isinstance(func, cst.Attribute) else _code(call)


def _written_target(call: cst.Call, context: FileContext) -> cst.BaseExpression | None:
    if isinstance(call.func, cst.Attribute) and call.func.attr.value in _PATH_WRITERS:
        # `path.write_text(yaml.dump(config))` writes `path` with the process's own object;
        # bytes from elsewhere (`path.write_bytes(response.content)`) make no round trip.
        content = call.args[0].value if call.args else None
        return call.func.value if content is not None and _serializes(content, context) else None
    name = context.imports.call_name(call) or ""
    position = _WRITERS.get(name)
    if (
        position is None
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value in _SAVE_METHODS
    ):
        position = 0
    if position is None:
        return None
    positional = [a.value for a in call.args if a.keyword is None and not a.star]
    if len(positional) > position:
        return positional[position]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in _PATH_KEYWORDS:
            return arg.value
    return None


def _target_text(node: cst.BaseExpression, handles: dict[str, str], context: FileContext) -> str:
    if isinstance(node, cst.Name) and node.value in handles:
        return handles[node.value]
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in _PATH_READERS
    ):
        return _code(node.func.value)  # `path.read_text()` reads `path`
    if isinstance(node, cst.Call) and opens_file(node, context):
        return _opened_path(node)
    return _code(node)


def _code(node: cst.BaseExpression) -> str:
    return "".join(cst.Module([]).code_for_node(node).split())


def _assigned_from_dumps(function: cst.FunctionDef, name: str, context: FileContext) -> bool:
    values = [
        node.value
        for node in descendants(function.body, stop_at=_OWN_BODY_STOP)
        if isinstance(node, cst.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0].target, cst.Name)
        and node.targets[0].target.value == name
    ]
    return bool(values) and all(
        isinstance(v, cst.Call) and (context.imports.call_name(v) or "").endswith(".dumps")
        for v in values
    )


def _serializes(value: cst.BaseExpression, context: FileContext) -> bool:
    """`pickle.dumps(x)`, `yaml.dump(config)`: the process's own object, serialized."""
    if not isinstance(value, cst.Call):
        return False
    name = context.imports.call_name(value) or ""
    return name.endswith(".dumps") or name in _WRITERS


_CONFIG_SUFFIXES = (".yml", ".yaml")
# Uses of a path that leave the file as it is: reading it, testing it, building on it,
# making it a new directory.
_PATH_INSPECTORS = frozenset(
    {
        *("read_text", "read_bytes", "exists", "is_file", "is_dir", "stat"),
        *("resolve", "absolute", "mkdir"),
        # listings: they name what is there and write nothing
        *("iterdir", "glob", "rglob", "relative_to", "is_relative_to", "samefile"),
    }
)
_READ_MODES = frozenset({"r", "rt", "rb", "tr", "br"})


def shipped_text_config(
    value: cst.BaseExpression, scope: cst.CSTNode, context: FileContext
) -> bool:
    """`value`, a loader's argument in `scope`, is the text of a YAML file versioned with
    the code (see the module docstring)."""
    path = read_path(value, scope, context)
    folded = constant_path(path, scope, context) if path is not None else None
    if folded is None or not folded.lower().endswith(_CONFIG_SUFFIXES):
        return False
    if not anchored(folded) and (folded.startswith(("/", "~", "..", "\\")) or ":" in folded):
        return False
    shipped = posixpath.normpath(folded)
    exact, directories = _paths_changed(context)
    return shipped not in exact and not any(_may_hold(d, shipped) for d in directories)


def _may_hold(changed: str, shipped: str) -> bool:
    """A directory some call may write any file under (one handed whole to an
    extraction, a copy or a download into it) may contain `shipped`. The working directory
    (`"."`) holds every relative path; a path relative to the working directory and one
    anchored at the program's file may be the same when the program runs from its own
    directory (or above it): they are told apart only when no name of the changed path
    is a name of the shipped one."""
    if changed == "." or shipped == changed or shipped.startswith(changed + "/"):
        return True
    if anchored(changed) == anchored(shipped):
        return False
    changed_names = {p for p in changed.split("/") if p not in ("", ".", "..")}
    shipped_names = {p for p in shipped.split("/") if p not in ("", ".", "..")}
    return bool(changed_names & shipped_names - {"<file>", "__file__"})


def _paths_changed(context: FileContext) -> tuple[frozenset[str], frozenset[str]]:
    """The constant paths (`files.constant_path`, normalised) some call of the file is
    handed for anything but reading, testing or the process's own serialization: a
    download, a copy, a write of other bytes, an unknown helper; and the directories
    such a call may write any file under: those a path that does not fold builds on
    (`(INBOX / name).write_bytes(data)`), and the constant directories a call writes
    files under (`tar.extractall(CONF_DIR)`, `shutil.copytree(src, CONF_DIR)`,
    `snapshot_download(repo, local_dir=CONF_DIR)`: `_DIRECTORY_WRITERS`; an extraction
    without a destination writes the working directory, `"."`). Another call handed a
    constant directory (a subprocess's `cwd=`) counts for that path alone."""
    key = "integrity.paths_changed"
    cached = context.memo.get(key)
    if isinstance(cached, tuple):
        return cached
    exact: set[str] = set()
    directories: set[str] = set()
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        if not isinstance(node, cst.Call):
            return
        scope = next((n for n in reversed(stack) if isinstance(n, cst.FunctionDef)), context.module)
        if _extracts_here(node, context):
            directories.add(".")
        for target in _directory_targets(node, context):
            folded = constant_path(target, scope, context)
            if folded:
                directories.add(posixpath.normpath(folded))
        for handed in _handed_paths(node, context):
            if isinstance(handed, (cst.SimpleString, cst.ConcatenatedString)) and (
                isinstance(node.func, cst.Attribute) and handed is node.func.value
            ):
                continue  # a str method of a literal (`".".join(parts)`) writes no file
            folded = constant_path(handed, scope, context)
            if folded is None:
                directories.update(_path_bases(handed, scope, context))
                continue
            if folded:  # no file is named "" (`text.replace("`", "")`)
                exact.add(posixpath.normpath(folded))

    walk(context.module, visit, stack=stack)
    result = (frozenset(exact), frozenset(directories))
    context.memo[key] = result
    return result


# Calls that write files under a directory they are handed: qualified name or method ->
# (position, keyword) of each directory argument.
_DIRECTORY_WRITERS: dict[str, tuple[tuple[int | None, str], ...]] = {
    "shutil.unpack_archive": ((1, "extract_dir"),),
    "shutil.copytree": ((1, "dst"),),
    "shutil.move": ((1, "dst"),),
    "shutil.copy": ((1, "dst"),),
    "shutil.copy2": ((1, "dst"),),
    "distutils.dir_util.copy_tree": ((1, "dst"),),
    "huggingface_hub.snapshot_download": ((None, "local_dir"), (None, "cache_dir")),
    "huggingface_hub.hf_hub_download": ((None, "local_dir"), (None, "cache_dir")),
    # a directory renamed or cloned into place: every file under it is new
    "os.rename": ((1, "dst"),),
    "os.renames": ((1, "new"),),
    "os.replace": ((1, "dst"),),
    ".rename": ((0, "target"),),
    ".clone_from": ((1, "to_path"),),
    ".extractall": ((0, "path"),),
    ".extract": ((1, "path"),),
}


# The calls `_directory_targets` knows (`triage.calls_matching` patterns: a rule's regions).
DIRECTORY_WRITER_CALLS = frozenset(_DIRECTORY_WRITERS)


def _directory_targets(call: cst.Call, context: FileContext) -> list[cst.BaseExpression]:
    """The directories `call` writes files under (`_DIRECTORY_WRITERS`)."""
    name = context.imports.call_name(call) or ""
    places = _DIRECTORY_WRITERS.get(name)
    if places is None and isinstance(call.func, cst.Attribute):
        places = _DIRECTORY_WRITERS.get("." + call.func.attr.value)
    if places is None:
        return []
    positional = [a.value for a in call.args if a.keyword is None]
    found: list[cst.BaseExpression] = []
    for position, keyword in places:
        found += [a.value for a in call.args if a.keyword and a.keyword.value == keyword]
        if position is not None and len(positional) > position:
            found.append(positional[position])
    return found


# Extractions whose destination defaults to the working directory.
_EXTRACT_METHODS = frozenset({"extractall", "extract"})


def _extracts_here(call: cst.Call, context: FileContext) -> bool:
    """An archive extracted without a destination writes into the working directory:
    `tar.extractall()`, `zf.extract(member)`, `shutil.unpack_archive(archive)`."""
    keywords = {a.keyword.value for a in call.args if a.keyword is not None}
    positional = [a for a in call.args if a.keyword is None]
    if context.imports.call_name(call) == "shutil.unpack_archive":
        return len(positional) < 2 and "extract_dir" not in keywords
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in _EXTRACT_METHODS:
        return False
    if _class_of_the_run(func.value, context):
        return False  # `Params.extract(metadata)`: a class's own method, not an archive's
    wanted = 0 if func.attr.value == "extractall" else 1
    return len(positional) <= wanted and "path" not in keywords


def _class_of_the_run(receiver: cst.BaseExpression, context: FileContext) -> bool:
    """`receiver` names a class of this module or, through an import, of the run: an
    archive is an instance (`zf = ZipFile(p)`), never a class called on directly."""
    if not isinstance(receiver, cst.Name):
        return False
    if receiver.value not in context.imports.aliases:
        return isinstance(module_bindings(context).get(receiver.value), cst.ClassDef)
    index = summary_index(context)
    qualified = context.imports.qualify(receiver)
    return (
        index is not None
        and qualified is not None
        and index.class_named(context.module_name, ["q", qualified]) is not None
    )


def _path_bases(handed: cst.BaseExpression, scope: cst.CSTNode, context: FileContext) -> set[str]:
    """The normalised constant paths a path that does not fold builds on (`INBOX / name`,
    `os.path.join(INBOX, name)`, through a local name's values); never the working
    directory itself (`"" + name`)."""
    values = [handed]
    if isinstance(handed, cst.Name):
        values.extend(assigned_values(scope, context).get(handed.value, []))
    found: set[str] = set()
    for value in values:
        _leftmost_constant(value, scope, context, found)
    return found - {"."}


# Calls that only wrap the path they are handed: what the wrapper is used for is judged.
_PATH_WRAPPERS = frozenset({"pathlib.Path", "pathlib.PurePath", "os.fspath", "str"})
# Calls whose result is a path built from their arguments.
_PATH_JOINS = frozenset({"os.path.join"}) | _PATH_WRAPPERS


def _leftmost_constant(
    node: cst.BaseExpression, scope: cst.CSTNode, context: FileContext, found: set[str]
) -> None:
    folded = constant_path(node, scope, context)
    if folded is not None:
        found.add(posixpath.normpath(folded))
    elif isinstance(node, cst.BinaryOperation):
        _leftmost_constant(node.left, scope, context, found)
    elif isinstance(node, cst.FormattedString) and node.parts:
        first = node.parts[0]
        if isinstance(first, cst.FormattedStringExpression):
            _leftmost_constant(first.expression, scope, context, found)
    elif isinstance(node, cst.Call) and node.args:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "joinpath":
            _leftmost_constant(func.value, scope, context, found)
        elif context.imports.call_name(node) in _PATH_JOINS:
            _leftmost_constant(node.args[0].value, scope, context, found)


def _handed_paths(call: cst.Call, context: FileContext) -> list[cst.BaseExpression]:
    """What `call` is handed that it may write: its receiver and arguments, less a read
    (`path.read_text()`, `open(path)` for reading), a test (`path.exists()`), a path
    built on it, or a write of the process's own serialization."""
    func = call.func
    name = context.imports.call_name(call) or ""
    if name in ("os.path.join", "pathlib.Path", "pathlib.PurePath", "os.path.dirname"):
        return []  # builds a path; what is done with the result is judged where it goes
    if isinstance(func, cst.Attribute):
        method = func.attr.value
        if method in _PATH_INSPECTORS or (method == "open" and _reading(call, 0)):
            return [a.value for a in call.args]
        content = call.args[0].value if call.args else None
        if method in _PATH_WRITERS and content is not None and _own_content(content, context):
            return [a.value for a in call.args]
        return [func.value, *(a.value for a in call.args)]
    if opens_file(call, context) and _reading(call, 1):
        return []
    return [a.value for a in call.args]


def _own_content(content: cst.BaseExpression, context: FileContext) -> bool:
    """What a `path.write_text(...)` writes is the program's own: its serialization of an
    object (`yaml.dump(config)`) or text of its source (`""`, a module constant)."""
    return _serializes(content, context) or isinstance(
        context.constants.fold(content), (str, bytes)
    )


def _reading(call: cst.Call, position: int) -> bool:
    """`open(path)` / `path.open("rb")`: the mode (at `position` or `mode=`) reads."""
    mode = next((a.value for a in call.args if a.keyword and a.keyword.value == "mode"), None)
    positional = [a.value for a in call.args if a.keyword is None]
    if mode is None and len(positional) > position:
        mode = positional[position]
    if mode is None:
        return True
    return isinstance(mode, cst.SimpleString) and mode.evaluated_value in _READ_MODES


TEMP_DIRS = frozenset({"tempfile.TemporaryDirectory", "tempfile.mkdtemp"})
_PATH_TESTS = frozenset({"os.path.exists", "os.path.isfile", "os.path.getsize"})


def private_round_trip(load: cst.Call, source: cst.BaseExpression, context: FileContext) -> bool:
    """See the module docstring."""
    function = next((a for a in context.ancestors() if isinstance(a, cst.FunctionDef)), None)
    if function is None:
        return False
    local: str | None = None
    path: cst.BaseExpression = source
    if isinstance(source, cst.Name):
        bound = assigned_values(function, context).get(source.value, [])
        if len(bound) != 1 or source.value in function_scope(function, context).params:
            return False
        local, path = source.value, bound[0]
    joined = _joined(path)
    if joined is None or not isinstance(joined[0], cst.Name) or not isinstance(joined[1], cst.Name):
        return False
    directory, name = joined[0].value, joined[1].value
    if not isinstance(context.constants.values.get(name), str):
        return False
    return (
        _private_directory(directory, function, context)
        and _directory_only_named(directory, path, function, context)
        and (local is None or _only_tested(local, source, function, context))
        and _written_only_by_serializers(name, path, context)
    )


def _joined(path: cst.CSTNode) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
    """(directory, file name) of `os.path.join(d, name)` / `d / name`."""
    if isinstance(path, cst.BinaryOperation) and isinstance(path.operator, cst.Divide):
        return path.left, path.right
    if (
        isinstance(path, cst.Call)
        and isinstance(path.func, cst.Attribute)
        and path.func.attr.value == "join"
        and len(path.args) == 2
        and not any(a.keyword is not None or a.star for a in path.args)
    ):
        return path.args[0].value, path.args[1].value
    return None


def _private_directory(name: str, function: cst.FunctionDef, context: FileContext) -> bool:
    """Every binding of `name` in the function (not a parameter) makes a new temporary
    directory (`with tempfile.TemporaryDirectory() as name`, `name = mkdtemp()`)."""
    own = function_scope(function, context)
    if name in own.params or name not in own.locals:
        return False
    values = [
        bound[1]
        for node in descendants(function.body, stop_at=SCOPE_NODES)
        if (bound := name_binding(node)) is not None and bound[0] == name
    ]
    assigned = assigned_values(function, context).get(name, [])
    return (
        bool(values)
        and len(assigned) <= len(values)  # no walrus or annotated binding besides
        and all(
            isinstance(v, cst.Call) and context.imports.call_name(v) in TEMP_DIRS for v in values
        )
    )


def _directory_only_named(
    name: str, path: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> bool:
    """Each read of the directory `name` in the function is `path` itself, a join with
    another constant file name (a different file), or the value published in
    `os.environ[...]` for the program's own code; none in a nested function or lambda."""
    target = _joined(path)
    own_name = context.constants.fold(target[1]) if target is not None else None
    ok = True
    stack: list[cst.CSTNode] = []

    def allowed(node: cst.Name) -> bool:
        if len(stack) < 2 or not is_read(node, stack[-2]):
            return True
        if any(isinstance(a, (cst.FunctionDef, cst.Lambda)) for a in stack[1:-1]):
            return False
        holder = stack[-3] if isinstance(stack[-2], cst.Arg) and len(stack) >= 3 else stack[-2]
        if holder is path:
            return True
        joined = _joined(holder)
        if joined is not None and joined[0] is node:
            other = context.constants.fold(joined[1])
            return isinstance(other, str) and _another_entry(other, own_name)
        return (
            isinstance(holder, cst.Assign)
            and holder.value is node
            and all(
                isinstance(t.target, cst.Subscript)
                and context.imports.qualify(t.target.value) == "os.environ"
                for t in holder.targets
            )
        )

    def visit(node: cst.CSTNode) -> None:
        nonlocal ok
        if ok and isinstance(node, cst.Name) and node.value == name and not allowed(node):
            ok = False

    walk(function.body, visit, stack=stack)
    return ok


def _another_entry(other: str, own: object) -> bool:
    """`other`, joined to the directory, neither is nor holds the loaded file `own`: its
    first part is another entry (`summary.txt`, `logs/run.txt`), not the directory the
    file sits in (`ckpt` for `ckpt/weights.pt`), and it never climbs out with `..`."""
    parts = other.replace("\\", "/").split("/")
    mine = own.replace("\\", "/").split("/") if isinstance(own, str) else [""]
    return parts[0] not in ("", ".", mine[0]) and ".." not in parts


def _only_tested(
    local: str, load_source: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> bool:
    """Each read of `local` in the function is the load's own argument or a test of the
    path (`os.path.exists(local)`, `local.exists()`)."""
    ok = True
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        nonlocal ok
        if not ok or not isinstance(node, cst.Name) or node.value != local or len(stack) < 2:
            return
        parent = stack[-2]
        if node is load_source or not is_read(node, parent):
            return
        if isinstance(parent, cst.Attribute) and len(stack) >= 3:
            ok = parent.attr.value in _PATH_INSPECTORS and isinstance(stack[-3], cst.Call)
            return
        call = stack[-3] if isinstance(parent, cst.Arg) and len(stack) >= 3 else None
        ok = isinstance(call, cst.Call) and context.imports.call_name(call) in _PATH_TESTS

    walk(function.body, visit, stack=stack)
    return ok


def _written_only_by_serializers(name: str, path: cst.BaseExpression, context: FileContext) -> bool:
    """Every read of the module constant `name` in the file is in `path` or in the path
    a serializing write targets (`torch.save(obj, os.path.join(d, name))`), and there
    is such a write."""
    writes = 0
    ok = True
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        nonlocal ok, writes
        if not ok or not isinstance(node, cst.Name) or node.value != name or len(stack) < 2:
            return
        if not is_read(node, stack[-2]) or any(a is path for a in stack):
            return
        for position in range(len(stack) - 2, -1, -1):
            ancestor = stack[position]
            if isinstance(ancestor, cst.Call):
                target = _written_target(ancestor, context)
                if target is not None and any(a is target for a in stack[position:]):
                    writes += 1
                    return
        ok = False

    walk(context.module, visit, stack=stack)
    return ok and writes > 0


# Calls whose items are the items of their first argument: the listing, reordered or
# numbered (`enumerate` adds only the index), or shown with a progress bar.
_ITEM_WRAPPERS = frozenset(
    {"sorted", "list", "tuple", "reversed", "enumerate", "tqdm.tqdm", "tqdm.auto.tqdm"}
)
_GLOBS = frozenset({"glob.glob", "glob.iglob"})
# What a helper may do with a fresh directory it is handed, besides serializing into it:
# test it, make it, remove it.
_DIRECTORY_KEEPERS = frozenset(
    {*_PATH_TESTS, "os.path.isdir", "os.makedirs", "os.mkdir", "shutil.rmtree"}
)


def filled_directory_round_trip(
    load: cst.Call, source: cst.BaseExpression, context: FileContext
) -> bool:
    """The load reads a file listed by `glob.glob(os.path.join(tmp, PATTERN))` (through
    locals, loops, `sorted`/`enumerate`/`tqdm`, an item `files[0]`), where `tmp` is a
    temporary directory the same function created (`_private_directory`) and handed only
    to such listings and to helpers of the same file that only serialize into it
    (`_serializes_into`): every file there is one the program wrote with its own
    serialization, and at least one helper is handed the directory. A directory that is
    also handed to anything else (an extraction, a download, a subprocess's `cwd=`) or
    whose helper does anything else with it keeps the finding."""
    function = next((a for a in context.ancestors() if isinstance(a, cst.FunctionDef)), None)
    if function is None:
        return False
    patterns = _listed_patterns(source, function, context, set())
    if not patterns:
        return False
    joins: dict[str, list[cst.CSTNode]] = {}
    for pattern in patterns:
        joined = _joined(pattern)
        if joined is None or not isinstance(joined[0], cst.Name):
            return False
        name = context.constants.fold(joined[1])
        if not isinstance(name, str) or name.startswith(("/", "\\")) or ".." in name:
            return False
        joins.setdefault(joined[0].value, []).append(pattern)
    return all(
        _private_directory(directory, function, context)
        and _filled_only_by_helpers(directory, listed, function, context)
        for directory, listed in joins.items()
    )


def _listed_patterns(
    value: cst.BaseExpression, function: cst.FunctionDef, context: FileContext, seen: set[str]
) -> list[cst.BaseExpression] | None:
    """The glob patterns every value of `value` is an item of; None when some value may
    be anything else."""
    if isinstance(value, cst.Subscript):
        return _listed_patterns(value.value, function, context, seen)
    if isinstance(value, cst.Call):
        called = context.imports.call_name(value)
        positional = [a.value for a in value.args if a.keyword is None and not a.star]
        if not positional or len(positional) != len([a for a in value.args if a.keyword is None]):
            return None
        if called in _GLOBS:
            if any(a.keyword is not None and a.keyword.value == "root_dir" for a in value.args):
                return None
            return _pattern_value(positional[0], function, context)
        if called in _ITEM_WRAPPERS:
            return _listed_patterns(positional[0], function, context, seen)
        return None
    if not isinstance(value, cst.Name) or value.value in seen:
        return [] if isinstance(value, cst.Name) else None
    seen.add(value.value)
    sources = _name_sources(value.value, function, context)
    if not sources:
        return None
    found: list[cst.BaseExpression] = []
    for source in sources:
        listed = _listed_patterns(source, function, context, seen)
        if listed is None:
            return None
        found.extend(listed)
    return found


def _name_sources(
    name: str, function: cst.FunctionDef, context: FileContext
) -> list[cst.BaseExpression] | None:
    """What the function's own body binds the local `name` to: assigned values, and
    the collection a loop (a tuple target too: `for i, f in enumerate(files)`) walks.
    None for a parameter or a name bound any other way."""
    own = function_scope(function, context)
    if name in own.params or name not in own.locals:
        return None
    found: list[cst.BaseExpression] = []
    for node in descendants(function.body, stop_at=SCOPE_NODES):
        targets: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
        if isinstance(node, cst.Assign):
            targets = [(t.target, node.value) for t in node.targets]
        elif isinstance(node, (cst.For, cst.CompFor)):
            targets = [(node.target, node.iter)]
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.NamedExpr, cst.AsName)):
            bound = node.name if isinstance(node, cst.AsName) else node.target
            if name in bound_names(bound):
                return None  # a `with ... as`, `except ... as`, `+=`, walrus
        for target, value in targets:
            if name in bound_names(target):
                if isinstance(target, (cst.Tuple, cst.List)) and not isinstance(
                    node, (cst.For, cst.CompFor)
                ):
                    return None  # `a, b = x`: which part is not followed
                found.append(value)
    return found


def _pattern_value(
    pattern: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> list[cst.BaseExpression] | None:
    """The glob's pattern: the expression itself, or the one value of a local read only
    by globs (`base_pattern = os.path.join(tmp, "*.bin")`)."""
    if not isinstance(pattern, cst.Name):
        return [pattern]
    values = _name_sources(pattern.value, function, context)
    if values is None or len(values) != 1:
        return None
    ok = True
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        nonlocal ok
        if not ok or not isinstance(node, cst.Name) or node.value != pattern.value:
            return
        if len(stack) < 3 or not is_read(node, stack[-2]):
            return
        call = stack[-3]
        ok = (
            isinstance(stack[-2], cst.Arg)
            and isinstance(call, cst.Call)
            and context.imports.call_name(call) in _GLOBS
        )

    walk(function.body, visit, stack=stack)
    return values if ok else None


def _filled_only_by_helpers(
    directory: str, patterns: list[cst.CSTNode], function: cst.FunctionDef, context: FileContext
) -> bool:
    """Each read of `directory` in the function is in one of the listed `patterns`, a
    test of it, or an argument of a helper of the file that only serializes into the
    parameter it binds (`_serializes_into`); at least one is such a helper's."""
    ok = True
    helpers = 0
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        nonlocal ok, helpers
        if not ok or not isinstance(node, cst.Name) or node.value != directory:
            return
        if len(stack) < 2 or not is_read(node, stack[-2]):
            return
        if any(isinstance(a, (cst.FunctionDef, cst.Lambda)) for a in stack[1:-1]):
            ok = False
            return
        if any(a is p for a in stack for p in patterns) or _printed(stack, context):
            return
        arg, call = (stack[-2], stack[-3]) if len(stack) >= 3 else (None, None)
        if not isinstance(arg, cst.Arg) or not isinstance(call, cst.Call):
            ok = False
        elif context.imports.call_name(call) in _PATH_TESTS and arg.keyword is None:
            return
        elif _helper_serializes_into(call, arg, context):
            helpers += 1
        else:
            ok = False

    walk(function.body, visit, stack=stack)
    return ok and helpers > 0


def _printed(stack: list[cst.CSTNode], context: FileContext) -> bool:
    """The name (last in `stack`) is shown by `print(f"... {name}")`."""
    return (
        len(stack) >= 5
        and isinstance(stack[-2], cst.FormattedStringExpression)
        and isinstance(stack[-3], cst.FormattedString)
        and isinstance(stack[-4], cst.Arg)
        and isinstance(stack[-5], cst.Call)
        and context.imports.call_name(stack[-5]) == "print"
    )


def _helper_serializes_into(call: cst.Call, arg: cst.Arg, context: FileContext) -> bool:
    """`call` is of the one module-level function of the file by that name, and the
    parameter `arg` binds is only serialized into (`_serializes_into`)."""
    if not isinstance(call.func, cst.Name) or arg.star or arg.keyword is not None:
        return False
    found = [
        s
        for s in context.module.body
        if isinstance(s, cst.FunctionDef) and s.name.value == call.func.value
    ]
    if len(found) != 1 or any(a.star for a in call.args):
        return False
    helper = found[0]
    params = [*helper.params.posonly_params, *helper.params.params]
    position = call.args.index(arg)
    if position >= len(params):
        return False
    return _serializes_into(params[position].name.value, helper, context)


def _serializes_into(param: str, helper: cst.FunctionDef, context: FileContext) -> bool:
    """Every read of `param` in `helper` tests, makes or removes the directory
    (`_DIRECTORY_KEEPERS`), or joins a file name to it whose path is only the target of
    a serializing write (`torch.save(obj, os.path.join(param, name))`, also through a
    local read only as such a target); the parameter is never rebound."""
    key = ("integrity_serializes_into", id(helper), param)
    cached = context.memo.get(key)
    if isinstance(cached, bool):
        return cached
    result = param not in assigned_values(helper, context) and _only_serialized_into(
        param, helper, context
    )
    context.memo[key] = result
    return result


def _only_serialized_into(param: str, helper: cst.FunctionDef, context: FileContext) -> bool:
    ok = True
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        nonlocal ok
        if not ok or not isinstance(node, cst.Name) or node.value != param or len(stack) < 2:
            return
        if not is_read(node, stack[-2]):
            ok = not isinstance(stack[-2], (cst.AssignTarget, cst.AsName))
            return
        if any(isinstance(a, (cst.FunctionDef, cst.Lambda)) for a in stack[1:-1]):
            ok = False
            return
        if len(stack) < 3 or not isinstance(stack[-2], cst.Arg):
            ok = False
            return
        call = stack[-3]
        if not isinstance(call, cst.Call):
            ok = False
        elif context.imports.call_name(call) in _DIRECTORY_KEEPERS:
            ok = stack[-2].keyword is None
        else:
            ok = _joined(call) is not None and call.args[0] is stack[-2]
            ok = ok and _only_write_target(call, stack[:-3], helper, context)

    walk(helper.body, visit, stack=stack)
    return ok


def _only_write_target(
    path: cst.Call, above: list[cst.CSTNode], helper: cst.FunctionDef, context: FileContext
) -> bool:
    """`path` (with its ancestors `above`, innermost last) is the target of a serializing
    write, or the value of a local every read of which is."""
    holder = above[-2] if len(above) >= 2 and isinstance(above[-1], cst.Arg) else None
    if isinstance(holder, cst.Call) and _written_target(holder, context) is path:
        return True
    reads = local_reads(above[-1] if above else None, path, helper.body)
    return reads is not None and all(
        len(read) < 3
        or (
            isinstance(read[-2], cst.Arg)
            and isinstance(read[-3], cst.Call)
            and _written_target(read[-3], context) is read[-1]
        )
        for read in reads
    )


# Environment reads whose value is None (or the default given) when the variable is unset.
_ENVIRONMENT_READS = frozenset({"os.environ.get", "os.getenv"})
# The one text default of an environment read that leaves a `not` gate refusing: any
# other string, "0" and "false" too, is true.
_OFF_TEXTS = frozenset({""})


def refused_unless_opted_in(
    load: cst.Call, context: FileContext, switches: Iterable[str] = ()
) -> bool:
    """`load` runs only after an explicit opt-in that is off unless someone turns it on:
    a statement before it in its function, in the same block or an enclosing one (so it
    runs first on every path to the load), is `if not SWITCH: raise ...` (also
    `if not SWITCH or other: raise`), whose body only raises (logging before is allowed)
    and which has no `else`. SWITCH is off by default when it is
    - a parameter of the function whose default is `False` or `None`, never rebound;
    - a module constant assigned once, to `False`;
    - `os.environ.get("NAME")` / `os.getenv("NAME")` with no default or a false one
      (`""`, `None`, `False`; `"0"` is a true string);
    - one of `switches`, settings the user declares off by default in their deployment
      (`myapp.settings.ALLOW_PICKLE`, also read as `SWITCH.get()` or `SWITCH()`),
      resolved through imports.
    A gate that only warns, one whose condition also requires something else to refuse
    (`not SWITCH and not in_managed_runtime()`), or a switch of unknown default (an
    attribute, a wrapper object) keeps the finding."""
    previous: cst.CSTNode = load
    listed = tuple(switches)
    for ancestor in context.ancestors():
        if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef, cst.Module, cst.Lambda)):
            break  # the function's own body only: a gate in a caller is not followed
        if isinstance(ancestor, cst.IndentedBlock):
            for statement in ancestor.body:
                if statement is previous:
                    break
                if (
                    isinstance(statement, cst.If)
                    and _refusal_gate(statement)
                    and _off_by_default(statement.test, context, listed, load)
                ):
                    return True
        previous = ancestor
    return False


def _refusal_gate(statement: cst.If) -> bool:
    """`if ...:` with no `elif`/`else` whose body only raises (after logging calls)."""
    if statement.orelse is not None or not isinstance(statement.body, cst.IndentedBlock):
        return False
    smalls: list[cst.BaseSmallStatement] = []
    for line in statement.body.body:
        if not isinstance(line, cst.SimpleStatementLine):
            return False
        smalls.extend(line.body)
    return (
        bool(smalls)
        and isinstance(smalls[-1], cst.Raise)
        and all(isinstance(s, cst.Expr) and isinstance(s.value, cst.Call) for s in smalls[:-1])
    )


def _off_by_default(
    test: cst.BaseExpression, context: FileContext, switches: tuple[str, ...], load: cst.Call
) -> bool:
    """`test` is true (the gate refuses) whenever the switch is off."""
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.Or):
        return _off_by_default(test.left, context, switches, load) or _off_by_default(
            test.right, context, switches, load
        )
    if not (isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)):
        return False
    switch = test.expression
    return (
        _listed_switch(switch, context, switches)
        or _environment_switch(switch, context)
        or _constant_off_switch(switch, context, load)
    )


def _listed_switch(
    switch: cst.BaseExpression, context: FileContext, switches: tuple[str, ...]
) -> bool:
    if not switches:
        return False
    if isinstance(switch, cst.Call) and not switch.args:
        func = switch.func
        # `SWITCH.get()` (a settings wrapper) or `SWITCH()`.
        switch = (
            func.value if isinstance(func, cst.Attribute) and func.attr.value == "get" else func
        )
    qualified = context.imports.qualify(switch)
    return qualified is not None and matches_any(qualified, switches)


def _environment_switch(switch: cst.BaseExpression, context: FileContext) -> bool:
    if (
        not isinstance(switch, cst.Call)
        or context.imports.call_name(switch) not in _ENVIRONMENT_READS
    ):
        return False
    if any(a.star for a in switch.args) or not 1 <= len(switch.args) <= 2:
        return False
    if len(switch.args) == 1:
        return True
    default = switch.args[1].value
    if isinstance(default, cst.Name):
        return default.value in ("None", "False")
    folded = context.constants.fold(default)
    return isinstance(folded, str) and folded in _OFF_TEXTS


def _constant_off_switch(switch: cst.BaseExpression, context: FileContext, load: cst.Call) -> bool:
    """A parameter defaulting to False/None never rebound, or a module constant False."""
    if not isinstance(switch, cst.Name):
        return False
    function = next((a for a in context.ancestors() if isinstance(a, cst.FunctionDef)), None)
    if function is not None:
        params = function.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.name.value == switch.value:
                default = param.default
                return (
                    isinstance(default, cst.Name)
                    and default.value in ("False", "None")
                    and switch.value not in assigned_values(function, context)
                    and switch.value not in _rebound_otherwise(function)
                    and _callers_leave_off(function, param, context)
                )
        if switch.value in assigned_values(function, context) or switch.value in _rebound_otherwise(
            function
        ):
            return False  # a local of the function, not the module constant
    value = module_assigned_once(switch.value, context)
    return (
        isinstance(value, cst.Name)
        and value.value == "False"
        # `global SWITCH` in a function (`def enable(): global SWITCH; SWITCH = True`)
        # or a second module-level binding turns it on at run time
        and switch.value not in rebound_elsewhere(context.module, context.source)
    )


def _callers_leave_off(function: cst.FunctionDef, param: cst.Param, context: FileContext) -> bool:
    """A parameter's default decides nothing its callers override: the switch is off
    only when no caller the run shows may pass it on. Same file: no call of the
    function passes the parameter (by keyword or position) a value other than a false
    constant, spreads `*args`/`**options` into it, or hands the function itself to
    another call (`functools.partial(load, allow_pickle=trusted)`, `submit(load, ...)`),
    read from the whole text (sliced analysis elides the callers' bodies). Other
    modules: no function of the run calls it at all, whatever it passes (the
    summaries record the call, not its arguments; `SummaryIndex.dependencies` keys the
    cache on these callers). Without the run's summaries, for a function nested in
    another, or for a method (`store = Store()` in a caller's body then
    `store.load(path, allow_pickle=True)` resolves to no function of the run), the
    callers are unknown and the switch is not proven off."""
    qualname = handler_qualname(function, context)
    index = summary_index(context)
    if qualname is None or "." in qualname or index is None:
        return False
    module = context.module_name
    if any(not c.startswith(module + ":") for c in index.all_callers(f"{module}:{qualname}")):
        return False
    params = function.params
    positional = [*params.posonly_params, *params.params]
    position = positional.index(param) if param in positional else None
    return not _same_file_turns_on(function.name.value, position, param.name.value, context)


def _same_file_turns_on(
    name: str, position: int | None, keyword: str, context: FileContext
) -> bool:
    for node in ast.walk(context.whole_ast()):
        if not isinstance(node, ast.Call):
            continue
        callee = node.func
        called = (
            callee.id
            if isinstance(callee, ast.Name)
            else callee.attr
            if isinstance(callee, ast.Attribute)
            else None
        )
        values = [*node.args, *(k.value for k in node.keywords)]
        if called != name:
            if any(_refers_to(value, name) for value in values):
                return True  # handed on: what its receiver passes is not seen
            continue
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        ):
            return True
        if any(k.arg == keyword and not _false_constant(k.value) for k in node.keywords):
            return True
        if (
            position is not None
            and position < len(node.args)
            and not _false_constant(node.args[position])
        ):
            return True
    return False


def _refers_to(value: ast.expr, name: str) -> bool:
    return (isinstance(value, ast.Name) and value.id == name) or (
        isinstance(value, ast.Attribute) and value.attr == name
    )


def _false_constant(value: ast.expr) -> bool:
    return isinstance(value, ast.Constant) and not value.value


def _rebound_otherwise(function: cst.FunctionDef) -> set[str]:
    """Names the function's own body binds other than by a plain assignment (`for`,
    `with ... as`, `+=`, walrus; `global` rebinding is left to `assigned_values`)."""
    return _rebound_otherwise_in(function.body)


# -- the module's own format pair ---------------------------------------------------------

# Methods that join the file name they are handed (their one argument) to their receiver,
# a directory or a store entry: `bento_model.path_of(NAME)`, `Path(d).joinpath(NAME)`.
_NAME_JOINING_METHODS = frozenset({"path_of", "joinpath"})
# Calls that only read the file they are handed (the first argument): they leave it as
# it is.
_FILE_READERS = frozenset(
    {
        *("pickle.load", "_pickle.load", "cPickle.load", "dill.load", "cloudpickle.load"),
        *("joblib.load", "torch.load", "torch.jit.load", "onnx.load", "onnx.load_model"),
        *("onnxruntime.InferenceSession", "skops.io.load", "numpy.load"),
        *("safetensors.torch.load_file", "safetensors.safe_open"),
    }
)
# Callees whose name says they bring a file from elsewhere (a URI, a hub, a bucket, a
# request): a load in a function that calls one may read what it brought.
_RETRIEVAL_WORDS = ("download", "fetch", "retrieve", "urlopen", "upload", "pull", "clone")
# DB-API cursor methods (PEP 249): they return rows of a query, they write no file.
_ROW_FETCHES = frozenset({"fetchone", "fetchall", "fetchmany"})
_RETRIEVAL_PACKAGES = frozenset(
    {"requests", "httpx", "urllib", "urllib3", "aiohttp", "huggingface_hub", "boto3"}
    | {"botocore", "fsspec", "s3fs", "gcsfs", "google.cloud", "azure.storage", "modelscope"}
)
_WRITE_MODE_LETTERS = frozenset("wax+")
# A process the program starts may write any file (`gsutil cp -r gs://... model_dir`,
# `wget -P model_dir`): a load after one may read what it brought.
_PROCESS_SPAWNING_MODULES = frozenset({"subprocess", "sh", "plumbum", "pexpect"})
_PROCESS_SPAWNS = frozenset(
    {"os.system", "os.popen", "os.execv", "os.execvp", "os.spawnv", "os.spawnvp"}
    | {"asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell"}
)


def own_format_round_trip(load: cst.Call, source: cst.BaseExpression, context: FileContext) -> bool:
    """`load` (in a function) reads `DIR.path_of(NAME)`, `os.path.join(DIR, NAME)` or
    `DIR / NAME` (directly, through an `open(..., "rb")` handle or a local bound once),
    where NAME is built only from module constants, and the module owns that file name:
    every use of those constants in the file builds a path to that same file name that is
    the target of a serializing write (`cloudpickle.dump(obj, f)` into an
    `open(..., "wb")` handle used for nothing else, `onnx.save(model, path)`), is read
    (`open(..., "rb")`, a loader), or is tested (`os.path.exists`), and at least one is
    such a write. That is the module's own format pair (a flavour module's `save_model`
    and `load_model`): the round trip of the catalog at module scope. Not for a service
    (the file imports a web framework, or a request handler of the run reaches the
    load's function), nor when the load's function brings files from elsewhere (a call
    named like a download, fetch or upload, an HTTP or hub client, an extraction or
    copy, a process; also in a parameter's default or a helper of the file it calls),
    nor when DIR is a receiver attribute another method fills from elsewhere, nor in a
    module that fills directories its callers hand it: then DIR may hold what came."""
    function = next((a for a in context.ancestors() if isinstance(a, cst.FunctionDef)), None)
    if function is None or uses_web_framework(context) or _serves_rpc(context):
        return False
    path = _loaded_path(source, function, context)
    named = _directory_and_name(path) if path is not None else None
    if named is None:
        return False
    file_name, constants = _file_name(named[1], context)
    if file_name is None or not constants:
        return False
    return (
        _directory_of_the_call(named[0], function, context)
        and not _brings_files(function, context)
        and not _attribute_directory_filled(named[0], function, context)
        and not _fills_handed_directories(context)
        and not _callers_bring_files(function, context, OWN_FORMAT_CALLER_DEPTH)
        and not _reached_by_request_handler(function, context)
        and _module_owned(file_name, constants, context)
    )


def class_state_round_trip(
    load: cst.Call, source: cst.BaseExpression, context: FileContext
) -> bool:
    """`load` reads the state file of one class of the file: the path is `self.M()`
    (directly, through an `open(..., "rb")` handle or a local bound once), or a
    parameter of the load's function (a static method or a module-level function) that
    every call of it in the file fills with `self.M()` from a method of that class,
    where M takes only the receiver and returns `os.path.join(DIR, NAME)` (or a
    `/`/`path_of` join) with NAME a string constant of the class (assigned once, in its
    body; nothing in the file stores or overrides it otherwise), DIR built on the
    receiver from attributes only `__init__` binds. Every other use of `M` in the file
    is `self.M()` in a method of the class whose path is written by the process's own
    serialization (`pickle.dump` into an `open(..., "wb")` handle used for nothing
    else), read or tested, with at least one such write; no method of the class brings files from
    elsewhere (a download, a copy, a move or rename into place, an extraction, a
    process, the environment). That is a round trip across the methods of one class:
    chroma's persistent index reading back the `index_metadata.pickle` it writes in
    `_persist`. Not in a service file, nor when a request handler or another module of
    the run calls the load's function, nor when the loader is handed over as a value or
    called with anything else (`Snapshot.load_from_file(path)` elsewhere)."""
    function = next((a for a in context.ancestors() if isinstance(a, cst.FunctionDef)), None)
    if function is None or uses_web_framework(context) or _serves_rpc(context):
        return False
    path = _loaded_path(source, function, context)
    if path is None:
        return False
    owner = _direct_class(function, context)
    sites: list[tuple[cst.ClassDef, str, cst.Call]] = []
    if isinstance(path, cst.Name):
        found = _loader_call_sites(function, owner, path.value, context)
        if found is None:
            return False
        sites = found
    elif (
        owner is not None
        and isinstance(path, cst.Call)
        and (method := _state_path_method(path, function, owner, context)) is not None
    ):
        sites = [(owner, method, path)]
    if not sites:
        return False
    handed = frozenset(id(call) for _, _, call in sites)
    return (
        not _brings_files(function, context)
        and _callers_all_seen(function, context)
        and all(_class_owned_state_file(klass, name, handed, context) for klass, name, _ in sites)
    )


def _callers_all_seen(function: cst.FunctionDef, context: FileContext) -> bool:
    """The run's summaries name the load's function, no function of another module
    calls it (what such a caller hands over is not read) and no request handler's call
    chain reaches it. Unlike `_reached_by_request_handler`, a partial run (a namespace
    package, a file checked alone) proves nothing either way and does not keep the
    finding: the file's path is the class's own constant under the object's own
    folder, whoever reaches the code."""
    index = summary_index(context)
    qualname = handler_qualname(function, context)
    if index is None or qualname is None:
        return False
    module = context.module_name
    if any(not c.startswith(module + ":") for c in index.all_callers(f"{module}:{qualname}")):
        return False
    return index.handler_chain(module, qualname) is None


def _direct_class(function: cst.FunctionDef, context: FileContext) -> cst.ClassDef | None:
    """The class whose own body defines `function` (on the current ancestor stack)."""
    stack = context.stack
    if function not in stack:
        return None
    position = stack.index(function)
    for node in reversed(stack[:position]):
        if isinstance(node, cst.ClassDef):
            return node if any(s is function for s in _class_methods(node)) else None
        if isinstance(node, (cst.FunctionDef, cst.Lambda)):
            return None
    return None


def _class_methods(klass: cst.ClassDef) -> list[cst.FunctionDef]:
    body = klass.body
    if not isinstance(body, cst.IndentedBlock):
        return []
    return [s for s in body.body if isinstance(s, cst.FunctionDef)]


def _decorator_names(function: cst.FunctionDef) -> set[str]:
    names: set[str] = set()
    for decorator in function.decorators:
        target = decorator.decorator
        if isinstance(target, cst.Call):
            target = target.func
        if isinstance(target, cst.Name):
            names.add(target.value)
        elif isinstance(target, cst.Attribute):
            names.add(target.attr.value)
        else:
            names.add("")
    return names


def _receiver(method: cst.FunctionDef) -> str | None:
    """The receiver's name of a plain method (`self`), None for a static or class
    method or one without parameters."""
    if _decorator_names(method) & {"staticmethod", "classmethod"}:
        return None
    params = method.params.posonly_params or method.params.params
    return params[0].name.value if params else None


def _state_path_method(
    path: cst.BaseExpression, method: cst.FunctionDef, klass: cst.ClassDef, context: FileContext
) -> str | None:
    """The name M when `path` is `self.M()` in `method` of `klass`, M a method of the
    class returning the class's own state file path (`_state_file_method`)."""
    receiver = _receiver(method)
    if (
        receiver is None
        or not isinstance(path, cst.Call)
        or path.args
        or not isinstance(path.func, cst.Attribute)
        or not isinstance(path.func.value, cst.Name)
        or path.func.value.value != receiver
    ):
        return None
    name = path.func.attr.value
    return name if _state_file_method(klass, name, context) is not None else None


def _state_file_method(
    klass: cst.ClassDef, name: str, context: FileContext
) -> cst.FunctionDef | None:
    """The undecorated method `name` of `klass` taking only its receiver, whose body is
    (after a docstring) `return JOIN(DIR, NAME)`, DIR built on the receiver."""
    methods = [m for m in _class_methods(klass) if m.name.value == name]
    if len(methods) != 1:
        return None
    method = methods[0]
    params = method.params
    if (
        method.decorators
        or len([*params.posonly_params, *params.params]) != 1
        or params.kwonly_params
        or not isinstance(params.star_arg, cst.MaybeSentinel)
        or params.star_kwarg is not None
        or not isinstance(method.body, cst.IndentedBlock)
    ):
        return None
    statements = list(method.body.body)
    if (
        statements
        and isinstance(statements[0], cst.SimpleStatementLine)
        and len(statements[0].body) == 1
        and isinstance(statements[0].body[0], cst.Expr)
        and isinstance(statements[0].body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    ):
        statements = statements[1:]  # the docstring
    if (
        len(statements) != 1
        or not isinstance(statements[0], cst.SimpleStatementLine)
        or len(statements[0].body) != 1
    ):
        return None
    returned = statements[0].body[0]
    if not isinstance(returned, cst.Return) or returned.value is None:
        return None
    joined = _directory_and_name(returned.value)
    receiver = _receiver(method)
    if joined is None or receiver is None or _path_root(joined[0]) != receiver:
        return None
    return method if _class_file_name(joined[1], klass, receiver, context) else None


def _class_file_name(
    name: cst.BaseExpression, klass: cst.ClassDef, receiver: str, context: FileContext
) -> bool:
    """`self.CONST` or `Klass.CONST`, CONST bound once in the class's body, to a string
    literal, and never stored as an attribute anywhere in the module (`self.CONST =
    name`), defined by another class of the module (a subclass's property) or named in
    a string (`setattr(obj, "CONST", ...)`)."""
    if not isinstance(name, cst.Attribute) or not isinstance(name.value, cst.Name):
        return False
    if name.value.value not in (receiver, klass.name.value):
        return False
    constant = name.attr.value
    body = klass.body
    if not isinstance(body, cst.IndentedBlock):
        return False
    values: list[cst.BaseExpression | None] = []
    for statement in body.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            if constant in _statement_bindings(statement):
                return False  # a method or property of that name, a binding in a branch
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign):
                if any(constant in bound_names(t.target) for t in small.targets):
                    values.append(small.value)
            elif isinstance(small, cst.AnnAssign) and constant in bound_names(small.target):
                values.append(small.value)
    if len(values) != 1 or not isinstance(values[0], cst.SimpleString):
        return False
    return not _bound_elsewhere(constant, klass, context)


def _bound_elsewhere(attribute: str, klass: cst.ClassDef, context: FileContext) -> bool:
    """Something in the module other than `klass`'s own body binds `attribute`: an
    attribute store (`obj.ATTR = ...`, `del obj.ATTR`, also augmented), another class's
    body (a subclass's override, a property), or a string naming it (`setattr`)."""
    stack: list[cst.CSTNode] = []
    found = False

    def visit(node: cst.CSTNode) -> None:
        nonlocal found
        if found:
            return
        if isinstance(node, cst.Attribute) and node.attr.value == attribute and len(stack) >= 2:
            parent = stack[-2]
            if isinstance(parent, cst.AssignTarget | cst.Del) or (
                isinstance(parent, cst.AnnAssign | cst.AugAssign) and parent.target is node
            ):
                found = True
        elif isinstance(node, cst.SimpleString) and node.evaluated_value == attribute:
            found = True
        elif isinstance(node, cst.ClassDef) and node.name.value in subclasses:
            body = node.body
            if isinstance(body, cst.IndentedBlock) and any(
                attribute in _statement_bindings(statement) for statement in body.body
            ):
                found = True

    subclasses = _subclass_names(klass, context)
    walk(context.module, visit, stack=stack)
    return found


def _subclass_names(klass: cst.ClassDef, context: FileContext) -> frozenset[str]:
    """Names of the module's classes deriving from `klass`, directly or through one
    another (a base named `Klass` or `module.Klass`)."""
    classes = [c for c in descendants(context.module) if isinstance(c, cst.ClassDef)]
    found = {klass.name.value}
    grew = True
    while grew:
        grew = False
        for other in classes:
            if other.name.value in found or other is klass:
                continue
            bases = {
                b.value.value
                if isinstance(b.value, cst.Name)
                else b.value.attr.value
                if isinstance(b.value, cst.Attribute)
                else ""
                for b in other.bases
            }
            if bases & found:
                found.add(other.name.value)
                grew = True
    found.discard(klass.name.value)
    return frozenset(found)


def _statement_bindings(statement: cst.BaseStatement) -> set[str]:
    """Names a statement of a class body binds directly."""
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return {statement.name.value}
    names: set[str] = set()
    if isinstance(statement, cst.SimpleStatementLine):
        for small in statement.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    names.update(bound_names(target.target))
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                names.update(bound_names(small.target))
    else:
        # a compound statement (`if`, `try`) may bind any name it mentions
        names.update(n.value for n in descendants(statement) if isinstance(n, cst.Name))
    return names


def _loader_call_sites(
    function: cst.FunctionDef, owner: cst.ClassDef | None, param: str, context: FileContext
) -> list[tuple[cst.ClassDef, str, cst.Call]] | None:
    """For a loader reading its parameter `param`: every call of `function` in the
    module (`Klass.load_from_file(...)` for a static method of `Klass`, `load(...)` for
    a module-level function), each handing it `self.M()` (a state file method of the
    calling method's class); None when `function` is anything else (a plain or class
    method, whose receivers are not resolved), has no call, or is read otherwise
    (handed over as a value, called on another receiver, with starred arguments or
    another value for `param`)."""
    params = [*function.params.posonly_params, *function.params.params]
    position = next((i for i, p in enumerate(params) if p.name.value == param), None)
    if position is None or function.params.star_arg != cst.MaybeSentinel.DEFAULT:
        return None
    static = owner is not None and "staticmethod" in _decorator_names(function)
    if owner is not None and not static:
        return None
    if owner is None and function not in _module_functions(context):
        return None
    name = function.name.value
    sites: list[tuple[cst.ClassDef, str, cst.Call]] = []
    ok = True
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        nonlocal ok
        if not ok or not isinstance(node, cst.Name) or node.value != name or len(stack) < 2:
            return
        parent = stack[-2]
        attribute = isinstance(parent, cst.Attribute) and parent.attr is node
        if node is function.name or not (attribute or is_read(node, parent)):
            return
        if static:
            if not attribute:
                ok = False  # a bare name read: what it is handed to is not followed
                return
            assert isinstance(parent, cst.Attribute) and owner is not None
            if not (isinstance(parent.value, cst.Name) and parent.value.value == owner.name.value):
                ok = False
                return
            callee: cst.CSTNode = parent
            holder = stack[-3] if len(stack) >= 3 else None
        else:
            if attribute:
                return  # another object's attribute of that name
            callee, holder = node, parent
        if not isinstance(holder, cst.Call) or holder.func is not callee:
            ok = False
            return
        site = _state_path_argument(holder, position, param, stack, context)
        if site is None:
            ok = False
            return
        sites.append(site)

    walk(context.module, visit, stack=stack)
    return sites if ok and sites else None


def _module_functions(context: FileContext) -> list[cst.FunctionDef]:
    return [s for s in context.module.body if isinstance(s, cst.FunctionDef)]


def _state_path_argument(
    call: cst.Call, position: int, param: str, stack: list[cst.CSTNode], context: FileContext
) -> tuple[cst.ClassDef, str, cst.Call] | None:
    """The (class, state file method, `self.M()` call) handed as `param` by `call`, a
    call in a method of a class of the module (`stack` its ancestors)."""
    if any(a.star for a in call.args):
        return None
    positional = [a for a in call.args if a.keyword is None]
    keyword = [a for a in call.args if a.keyword is not None and a.keyword.value == param]
    chosen = positional[position] if len(positional) > position else None
    if chosen is not None and keyword:
        return None
    argument = chosen or (keyword[0] if keyword else None)
    if argument is None or not isinstance(argument.value, cst.Call):
        return None
    method = next((a for a in reversed(stack) if isinstance(a, cst.FunctionDef)), None)
    if method is None:
        return None
    position_of_method = stack.index(method)
    klass = stack[position_of_method - 1] if position_of_method >= 1 else None
    if isinstance(klass, cst.IndentedBlock) and position_of_method >= 2:
        klass = stack[position_of_method - 2]
    if not isinstance(klass, cst.ClassDef) or not any(m is method for m in _class_methods(klass)):
        return None
    name = _state_path_method(argument.value, method, klass, context)
    return (klass, name, argument.value) if name is not None else None


def _folder_rebound(klass: cst.ClassDef, name: str, context: FileContext) -> bool:
    """An attribute of the receiver that the state file method `name` (or a method of
    the class it calls on the receiver, transitively) reads is stored in the module other
    than in the class's `__init__` (`def relocate(self, folder): self._folder = folder`):
    the object's folder may change to one its caller picks after it was built."""
    methods = {m.name.value: m for m in _class_methods(klass)}
    method = methods.get(name)
    if method is None:
        return True
    reached = [method]
    for current in reached:  # the methods it calls on the receiver, transitively
        reached.extend(m for m in _receiver_callees(current, methods) if m not in reached)
    read: set[str] = set()
    for body in reached:
        receiver = _receiver(body)
        for node in descendants(body.body):
            if (
                isinstance(node, cst.Attribute)
                and isinstance(node.value, cst.Name)
                and node.value.value == receiver
            ):
                read.add(node.attr.value)
    constructor = methods.get("__init__")
    stack: list[cst.CSTNode] = []
    found = False

    def visit(node: cst.CSTNode) -> None:
        nonlocal found
        if found or not isinstance(node, cst.Attribute) or node.attr.value not in read:
            return
        parent = stack[-2] if len(stack) >= 2 else None
        stored = isinstance(parent, cst.AssignTarget | cst.Del) or (
            isinstance(parent, cst.AnnAssign | cst.AugAssign) and parent.target is node
        )
        if stored and (constructor is None or not any(a is constructor for a in stack)):
            found = True

    walk(context.module, visit, stack=stack)
    return found


def _receiver_callees(
    method: cst.FunctionDef, methods: dict[str, cst.FunctionDef]
) -> list[cst.FunctionDef]:
    """The methods of the class `method` calls on its receiver (`self._folder()`)."""
    receiver = _receiver(method)
    found: list[cst.FunctionDef] = []
    for node in descendants(method.body, only=(cst.Call,)):
        func = node.func if isinstance(node, cst.Call) else None
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == receiver
            and func.attr.value in methods
            and methods[func.attr.value] is not method
        ):
            found.append(methods[func.attr.value])
    return found


def _own_method_of_another_class(
    attribute: cst.Attribute,
    method: cst.FunctionDef,
    stack: list[cst.CSTNode],
    klass: cst.ClassDef,
    name: str,
    context: FileContext,
) -> bool:
    """`attribute` is `self.name` in `method` of a class that is neither `klass` nor
    derived from it and defines a method `name` of its own: that class's method."""
    position = stack.index(method)
    holder = stack[position - 2] if position >= 2 else None
    if (
        not isinstance(holder, cst.ClassDef)
        or holder is klass
        or holder.name.value in _subclass_names(klass, context)
        or not any(m is method for m in _class_methods(holder))
    ):
        return False
    receiver = _receiver(method)
    return (
        receiver is not None
        and isinstance(attribute.value, cst.Name)
        and attribute.value.value == receiver
        and any(m.name.value == name for m in _class_methods(holder))
    )


def _class_owned_state_file(
    klass: cst.ClassDef, name: str, handed: frozenset[int], context: FileContext
) -> bool:
    """Every read of the attribute `name` in the module is `self.name()` in a method of
    `klass` whose path is written by the process's own serialization, read or tested
    (`_path_use`), or one of the `handed` calls (the loader's own arguments), with at
    least one such write; and no method of the class brings files from elsewhere."""
    if any(_brings_files(method, context) for method in _class_methods(klass)):
        return False
    if _bound_elsewhere(name, klass, context):
        return False  # a subclass's override or a store may name another file
    if _folder_rebound(klass, name, context):
        return False
    ok = True
    writes = 0
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        nonlocal ok, writes
        if not ok:
            return
        if isinstance(node, cst.Name) and node.value == name and len(stack) >= 2:
            parent = stack[-2]
            if isinstance(parent, cst.FunctionDef) and parent.name is node:
                return  # the method's own definition
            if not (isinstance(parent, cst.Attribute) and parent.attr is node):
                if is_read(node, parent):
                    ok = False  # a bare name read: not the receiver's method
                return
            call = stack[-3] if len(stack) >= 3 else None
            method = next((a for a in reversed(stack) if isinstance(a, cst.FunctionDef)), None)
            if method is not None and _own_method_of_another_class(
                parent, method, stack, klass, name, context
            ):
                return  # `self.name()` of an unrelated class that defines its own
            if (
                not isinstance(call, cst.Call)
                or call.func is not parent
                or method is None
                or not any(m is method for m in _class_methods(klass))
                or _state_path_method(call, method, klass, context) != name
            ):
                ok = False
                return
            if id(call) in handed:
                return
            use = _path_use(stack[:-2], method, context, local_hops=1)
            if use is None:
                ok = False
            elif use:
                writes += 1

    walk(context.module, visit, stack=stack)
    return ok and writes > 0


def _loaded_path(
    source: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> cst.BaseExpression | None:
    """The path `source` reads: itself, the path of the `open(path, "rb")` it is (or a
    handle bound once to), or the one value of a local (not a parameter) bound once."""
    params = function_scope(function, context).params
    value = _with_handle_opened(source, context) or source
    for _ in range(3):  # handle -> local -> path at most
        if isinstance(value, cst.Call) and opens_file(value, context):
            builtin = context.imports.call_name(value) in ("open", "io.open", "builtins.open")
            if not _reading(value, 1 if builtin else 0) or not value.args:
                return None
            value = _opened(value)
            continue
        if not isinstance(value, cst.Name) or value.value in params:
            return value
        bound = [
            b[1]
            for node in descendants(function.body, stop_at=SCOPE_NODES)
            if (b := name_binding(node)) is not None and b[0] == value.value
        ]
        if len(bound) != 1 or len(assigned_values(function, context).get(value.value, [])) > 1:
            return None
        value = bound[0]
    return value


def _with_handle_opened(source: cst.BaseExpression, context: FileContext) -> cst.Call | None:
    """The `open(...)` of the innermost `with open(...) as source:` around the current
    node, when its body binds the name nowhere else (several `with open(p) as f` blocks
    in one function each bind their own `f`)."""
    if not isinstance(source, cst.Name):
        return None
    for ancestor in context.ancestors():
        if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            return None
        if not isinstance(ancestor, cst.With):
            continue
        for item in ancestor.items:
            bound = name_binding(item)
            if bound is None or bound[0] != source.value:
                continue
            rebound = any(
                (b := name_binding(node)) is not None and b[0] == source.value
                for node in descendants(ancestor.body, stop_at=SCOPE_NODES)
            ) or source.value in _rebound_otherwise_in(ancestor.body)
            opened = bound[1]
            if rebound or not isinstance(opened, cst.Call) or not opens_file(opened, context):
                return None
            return opened
    return None


def _rebound_otherwise_in(body: cst.CSTNode) -> set[str]:
    """Names `body` binds by a loop, an `as`, an augmented assignment or a walrus."""
    found: set[str] = set()
    for node in descendants(body, stop_at=_OWN_BODY_STOP):
        if isinstance(node, (cst.For, cst.CompFor)):
            found.update(bound_names(node.target))
        elif isinstance(node, cst.AsName):
            found.update(bound_names(node.name))
        elif isinstance(node, (cst.AugAssign, cst.NamedExpr)) and isinstance(node.target, cst.Name):
            found.add(node.target.value)
    return found


def _opened(call: cst.Call) -> cst.BaseExpression:
    """The path `open(path)` / `path.open()` opens."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "open":
        return func.value
    return call.args[0].value


def _directory_and_name(
    path: cst.CSTNode,
) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
    """(directory, file name) of `d.path_of(name)`, `d.joinpath(name)`,
    `os.path.join(d, ..., name)` or `d / name`."""
    joined = _joined(path)
    if joined is not None:
        return joined
    if not isinstance(path, cst.Call) or not isinstance(path.func, cst.Attribute):
        return None
    if any(a.keyword is not None or a.star for a in path.args):
        return None
    method = path.func.attr.value
    if method in _NAME_JOINING_METHODS and len(path.args) == 1:
        return path.func.value, path.args[0].value
    if method == "join" and len(path.args) > 2:
        return path.args[0].value, path.args[-1].value
    return None


def _file_name(
    expression: cst.BaseExpression, context: FileContext
) -> tuple[str | None, frozenset[str]]:
    """The file name `expression` folds to (`_folded_text`) and the module constants it
    reads; (None, ()) when it reads anything else."""
    constants: set[str] = set()
    for node in (expression, *descendants(expression)):
        if isinstance(node, cst.Name):
            if _folded_text(node, context) is None:
                return None, frozenset()
            constants.add(node.value)
    return _folded_text(expression, context), frozenset(constants)


def _folded_text(
    expression: cst.BaseExpression, context: FileContext, depth: int = 3
) -> str | None:
    """The text of a string literal, a module constant bound once (also to an f-string
    of constants: `PICKLE_NAME = f"pipeline.{API_VERSION}.pkl"`), their `+` or an
    f-string of them; None when it is not certain."""
    if isinstance(expression, cst.FormattedString) and depth > 0:
        text = ""
        for part in expression.parts:
            if isinstance(part, cst.FormattedStringText):
                text += part.value
                continue
            if (
                not isinstance(part, cst.FormattedStringExpression)
                or part.conversion is not None
                or part.format_spec is not None
            ):
                return None
            piece = _folded_text(part.expression, context, depth - 1)
            if piece is None:
                return None
            text += piece
        return text
    if (
        isinstance(expression, cst.Name)
        and expression.value not in context.constants.values
        and depth > 0
    ):
        value = module_assigned_once(expression.value, context)
        if value is None or expression.value in rebound_elsewhere(context.module, context.source):
            return None
        return _folded_text(value, context, depth - 1)
    constant = context.constants.fold(expression)
    return constant if isinstance(constant, str) else None


def _directory_of_the_call(
    directory: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> bool:
    """The directory is the call's: built on a parameter or a local of the function
    (`bento_model.path_of(...)`, `self._persist_directory`), never on a module-level
    name or a literal (a fixed, possibly shared folder such as `/mnt/models`)."""
    root: cst.BaseExpression = directory
    while True:
        if isinstance(root, cst.Attribute):
            root = root.value
        elif isinstance(root, cst.Call) and isinstance(root.func, cst.Attribute):
            root = root.func.value
        elif isinstance(root, cst.Subscript):
            root = root.value
        else:
            break
    if not isinstance(root, cst.Name):
        return False
    own = function_scope(function, context)
    return root.value in own.params or root.value in own.locals


def _brings_files(function: cst.FunctionDef, context: FileContext, helpers: int = 1) -> bool:
    """A call of the function's own code may put files from elsewhere on disk, or it
    reads the environment (a directory others are told to write: a shared volume);
    its code is its body and its parameters' defaults (`model_dir=os.getenv(...)`).
    A function of the file it calls by name (`_local_copy(uri)`, `self._fetch(uri)`),
    `helpers` calls deep, counts too: a helper's name need not say it downloads."""
    own = [*descendants(function.params), *descendants(function.body, stop_at=_OWN_BODY_STOP)]
    if any(_retrieves(node, context) or _environment_read(node, context) for node in own):
        return True
    if helpers <= 0:
        return False
    return any(
        helper is not function and _brings_files(helper, context, helpers - 1)
        for node in own
        if isinstance(node, cst.Call) and (called := _called_name(node)) is not None
        for helper in _functions_named(called, context)
    )


def _attribute_directory_filled(
    directory: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> bool:
    """The directory is an attribute of the method's receiver (`self.cache_dir`,
    `self.store.root`) that a method of the class binds to a value that brings files
    (`self.cache_dir = snapshot_download(repo)`, an environment read, a helper that
    downloads) or hands to a call that writes files under it (`snapshot_download(repo,
    local_dir=self.cache_dir)`): the attribute is filled elsewhere than the load's
    function, so `_brings_files` of that function alone proves nothing."""
    chain = _receiver_attribute(directory, function)
    klass = next((a for a in context.ancestors() if isinstance(a, cst.ClassDef)), None)
    if chain is None or klass is None:
        return False
    for method in descendants(klass.body, only=(cst.FunctionDef,)):
        if not isinstance(method, cst.FunctionDef):
            continue
        for node in descendants(method.body, stop_at=_OWN_BODY_STOP):
            if isinstance(node, (cst.Assign, cst.AnnAssign)) and node.value is not None:
                targets = (
                    [t.target for t in node.targets]
                    if isinstance(node, cst.Assign)
                    else [node.target]
                )
                if any(_receiver_attribute(t, method) == chain for t in targets) and (
                    _value_brings_files(node.value, context)
                ):
                    return True
            elif isinstance(node, cst.Call) and any(
                _receiver_attribute(target, method) == chain
                for target in _directory_targets(node, context)
            ):
                return True
    return False


def _fills_handed_directories(context: FileContext) -> bool:
    """A function of the file writes files from elsewhere under a directory its caller
    hands it (`def download_model(repo_id, model_dir): snapshot_download(repo_id,
    local_dir=model_dir)`, an extraction or copy into a parameter's path): the module's
    callers may fill the directory its loader then reads (`download_model(r, d)`, then
    `load_model(d)`), so the file name is not the module's own."""
    key = "integrity_fills_handed_directories"
    cached = context.memo.get(key)
    if isinstance(cached, bool):
        return cached
    found = False
    for function in descendants(context.module, only=(cst.FunctionDef,)):
        if not isinstance(function, cst.FunctionDef):
            continue
        params = set(function_scope(function, context).params)
        found = any(
            _path_root(target) in params
            for node in descendants(function.body, stop_at=_OWN_BODY_STOP, only=(cst.Call,))
            if isinstance(node, cst.Call)
            for target in _directory_targets(node, context)
        )
        if found:
            break
    context.memo[key] = found
    return found


def _path_steps(expression: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """`expression` and what it is built on, step by step, down to its root: through a
    join (`os.path.join(d, ...)`, `d / name`, `d.path_of(name)`), a method's receiver, a
    wrapper's first argument (`Path(d)`, `str(...)`), a subscript or an attribute."""
    node: cst.BaseExpression = expression
    while True:
        yield node
        joined = _directory_and_name(node)
        if joined is not None:
            node = joined[0]
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        elif isinstance(node, cst.Call) and node.args:
            node = node.args[0].value
        elif isinstance(node, (cst.Subscript, cst.Attribute)):
            node = node.value
        else:
            return


def _path_root(expression: cst.BaseExpression) -> str | None:
    """The name a path is built on (`model_dir` in `os.path.join(model_dir, "sub")`,
    `Path(model_dir) / "sub"`, `self.root`'s `self`)."""
    *_, root = _path_steps(expression)
    return root.value if isinstance(root, cst.Name) else None


def _receiver_attribute(expression: cst.BaseExpression, method: cst.FunctionDef) -> str | None:
    """The first attribute of the method's receiver `expression` is built on
    (`self.cache_dir` in `self.cache_dir / NAME`, `os.path.join(self.cache_dir, sub)`);
    None when it is built on anything else."""
    params = [*method.params.posonly_params, *method.params.params]
    if not params:
        return None
    receiver = params[0].name.value
    for node in _path_steps(expression):
        if (
            isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value == receiver
        ):
            return node.attr.value
    return None


def _value_brings_files(value: cst.BaseExpression, context: FileContext) -> bool:
    """A value that retrieves, reads the environment or calls a function of the file that
    brings files (`self.model_dir = self._download(repo)`)."""
    for node in (value, *descendants(value)):
        if _retrieves(node, context) or _environment_read(node, context):
            return True
        called = _called_name(node) if isinstance(node, cst.Call) else None
        if called is not None and any(
            _brings_files(f, context, 0) for f in _functions_named(called, context)
        ):
            return True
    return False


def _called_name(call: cst.Call) -> str | None:
    """The name a call looks its callee up by: `f(...)`, `obj.f(...)`."""
    func = call.func
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


def _retrieves(node: cst.CSTNode, context: FileContext) -> bool:
    """A call that may put files from elsewhere on disk: named like a download, fetch or
    upload, of an HTTP, hub or bucket client, an extraction or a copy."""
    if not isinstance(node, cst.Call):
        return False
    qualified = context.imports.call_name(node) or ""
    called = _called_name(node) or ""
    words = "" if called in _ROW_FETCHES else f"{qualified} {called}".lower()
    return (
        any(word in words for word in _RETRIEVAL_WORDS)
        or qualified.split(".", 1)[0] in _PROCESS_SPAWNING_MODULES
        or qualified in _PROCESS_SPAWNS
        or any(qualified == p or qualified.startswith(p + ".") for p in _RETRIEVAL_PACKAGES)
        or bool(_directory_targets(node, context))
        or _extracts_here(node, context)
    )


def _environment_read(node: cst.CSTNode, context: FileContext) -> bool:
    if isinstance(node, cst.Attribute):
        return context.imports.qualify(node) == "os.environ"
    return isinstance(node, cst.Call) and context.imports.call_name(node) in _ENVIRONMENT_READS


def _hands_environment(call: cst.Call, caller: cst.FunctionDef, context: FileContext) -> bool:
    """An argument of `call` reads the environment, directly or through a local of
    `caller` bound to such a read (`load(os.environ["MODEL_DIR"])`)."""
    values = assigned_values(caller, context)
    for arg in call.args:
        expressions: list[cst.BaseExpression] = [arg.value]
        for name in (arg.value, *descendants(arg.value)):
            if isinstance(name, cst.Name):
                expressions.extend(values.get(name.value, []))
        for expression in expressions:
            if any(_environment_read(n, context) for n in (expression, *descendants(expression))):
                return True
    return False


# How many calls back the functions of the file that call the load's function are read.
OWN_FORMAT_CALLER_DEPTH = 2


def _callers_bring_files(function: cst.FunctionDef, context: FileContext, depth: int) -> bool:
    """A function of the file that calls `function` by name (`load(d)`, `self.load(d)`),
    or one calling that, `depth` calls back, brings files from elsewhere: the directory
    it hands over may be one it downloaded (`load_model(uri)` downloading, then calling
    `_load_from_local_dir(local)`). The name read other than as a callee (handed over
    as a value), a call outside any function, or a caller `depth` calls back that is
    itself called in the file, leaves the callers unknown: True."""
    key = ("integrity_callers_bring_files", id(function), depth)
    cached = context.memo.get(key)
    if isinstance(cached, bool):
        return cached
    context.memo[key] = True  # recursion guard: a cycle of callers proves nothing
    name = function.name.value
    read_calls = _is_property(function, context)  # `obj.name` runs it
    method = any(
        any(statement is function for statement in klass.body.body)
        for klass in descendants(context.module, only=(cst.ClassDef,))
        if isinstance(klass, cst.ClassDef)
    )
    found = False
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        nonlocal found
        if found or len(stack) < 2:
            return
        parent = stack[-2]
        if isinstance(node, cst.Name) and node.value == name and node is not function.name:
            if not is_read(node, parent) or (isinstance(parent, cst.Attribute) != method):
                return  # a binding, a keyword; a method is reached as `obj.name` only
            caller = next((a for a in reversed(stack) if isinstance(a, cst.FunctionDef)), None)
            if not method and caller is not None and name in _own_names(caller, context):
                return  # a local or parameter of the reader by that name
            holder = stack[-3] if isinstance(parent, cst.Attribute) and len(stack) >= 3 else parent
            callee = parent if isinstance(parent, cst.Attribute) else node
            called = isinstance(holder, cst.Call) and holder.func is callee
            if not called and not (read_calls and isinstance(parent, cst.Attribute)):
                if isinstance(holder, (cst.FunctionDef, cst.ClassDef)):
                    return  # a definition's own name
                found = True  # handed over as a value: its callers are not seen
                return
            if caller is None or caller is function:
                found = caller is None
                return
            found = (
                any(
                    _retrieves(n, context) for n in descendants(caller.body, stop_at=_OWN_BODY_STOP)
                )
                or (isinstance(holder, cst.Call) and _hands_environment(holder, caller, context))
                # past the depth, a caller that is itself called hands over unseen values
                or (
                    _callers_bring_files(caller, context, depth - 1)
                    if depth > 1
                    else _named_elsewhere(caller, context)
                )
            )

    walk(context.module, visit, stack=stack)
    context.memo[key] = found
    return found


def _named_elsewhere(function: cst.FunctionDef, context: FileContext) -> bool:
    """The function's name is read somewhere in the file (called or handed over): it
    has callers whose arguments are not followed."""
    name = function.name.value
    stack: list[cst.CSTNode] = []
    found = False

    def visit(node: cst.CSTNode) -> None:
        nonlocal found
        if (
            not found
            and isinstance(node, cst.Name)
            and node.value == name
            and node is not function.name
            and len(stack) >= 2
            and is_read(node, stack[-2])
        ):
            found = True

    walk(context.module, visit, stack=stack)
    return found


# RPC servers whose handlers the run's request-handler facts do not know (a servicer's
# methods take the client's message): a file importing one is a service.
_RPC_SERVER_PACKAGES = frozenset({"grpc", "grpclib", "thriftpy2", "rpyc"})


def _serves_rpc(context: FileContext) -> bool:
    return any(
        target.split(".", 1)[0] in _RPC_SERVER_PACKAGES
        for target in context.imports.aliases.values()
    )


def _own_names(function: cst.FunctionDef, context: FileContext) -> set[str]:
    own = function_scope(function, context)
    return {*own.params, *own.locals}


def _is_property(function: cst.FunctionDef, context: FileContext) -> bool:
    """Decorated `@property` / `@cached_property`: reading the attribute calls it."""
    for decorator in function.decorators:
        target = decorator.decorator
        qualified = context.imports.qualify(target) or (
            target.value if isinstance(target, cst.Name) else ""
        )
        if qualified.rsplit(".", 1)[-1] in ("property", "cached_property"):
            return True
    return False


def _reached_by_request_handler(function: cst.FunctionDef, context: FileContext) -> bool:
    """A request handler of the run calls the function (its path may be the client's),
    or the run cannot tell that none does: without the run's facts, when the run does
    not hold the module's package (a file checked alone: the routes beside it are not
    seen, and a partial run must not prove silence), or when a function of another
    module calls it (what that caller hands over, a download, is not read)."""
    index = summary_index(context)
    startup = startup_index(context.project)
    qualname = handler_qualname(function, context)
    if index is None or startup is None or not startup.whole(context.module_name):
        return True
    if qualname is None:
        return False
    module = context.module_name
    fid = f"{module}:{qualname}"
    if any(not caller.startswith(module + ":") for caller in index.all_callers(fid)):
        return True
    return index.handler_chain(module, qualname) is not None


def _module_owned(file_name: str, constants: frozenset[str], context: FileContext) -> bool:
    """Every read of `constants` in the file builds the path of `file_name` that is
    written by the process's own serialization, read or tested (`_own_file_use`), and at
    least one such path is written."""
    key = ("integrity_module_owned", file_name, constants)
    cached = context.memo.get(key)
    if isinstance(cached, bool):
        return cached
    ok = True
    writes = 0
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        nonlocal ok, writes
        if not ok or not isinstance(node, cst.Name) or node.value not in constants:
            return
        if len(stack) < 2 or not is_read(node, stack[-2]):
            return
        if any(isinstance(a, cst.Lambda) for a in stack):
            ok = False
            return
        use = _own_file_use(file_name, stack, context)
        if use is None:
            ok = False
        elif use:
            writes += 1

    walk(context.module, visit, stack=stack)
    result = ok and writes > 0
    context.memo[key] = result
    return result


def _own_file_use(file_name: str, stack: list[cst.CSTNode], context: FileContext) -> bool | None:
    """How the constant read last in `stack` is used: True for the target of a
    serializing write of `file_name`, False for a read or test of it, None for anything
    else (another file, a download, an unknown call)."""
    position = len(stack) - 1
    # The file name: the constant, its f-string or `+` with other text.
    while position > 0 and isinstance(
        stack[position - 1],
        (cst.FormattedStringExpression, cst.FormattedString, cst.ConcatenatedString),
    ):
        position -= 1
    while position > 0 and _concatenation(stack[position - 1]):
        position -= 1
    name = stack[position]
    if not isinstance(name, cst.BaseExpression) or _file_name(name, context)[0] != file_name:
        return None
    # The path: the name joined to a directory, possibly wrapped (`str(...)`, `Path(...)`).
    path_position = position
    above = stack[position - 1] if position > 0 else None
    holder = stack[position - 2] if position > 1 else None
    if isinstance(above, cst.BinaryOperation) and above.right is name:
        path_position = position - 1
    elif isinstance(above, cst.Arg) and isinstance(holder, cst.Call):
        joined = _directory_and_name(holder)
        if joined is not None and joined[1] is name:
            path_position = position - 2
    while path_position > 1 and isinstance(stack[path_position - 1], cst.Arg):
        wrapper = stack[path_position - 2]
        if not isinstance(wrapper, cst.Call) or context.imports.call_name(wrapper) not in (
            _PATH_WRAPPERS
        ):
            break
        path_position -= 2
    scope = next(
        (a for a in reversed(stack[:path_position]) if isinstance(a, cst.FunctionDef)),
        context.module,
    )
    return _path_use(stack[: path_position + 1], scope, context, local_hops=1)


def _serializer_target(call: cst.Call, context: FileContext) -> cst.BaseExpression | None:
    """`_written_target` of a serializer resolved by name (`cloudpickle.dump(obj, f)`,
    `onnx.save(model, path)`) or of `path.write_bytes(pickle.dumps(x))`; not of a `.save`
    method of an unknown receiver, which may be an upload's (`file_storage.save(path)`)."""
    name = context.imports.call_name(call) or ""
    func = call.func
    if name in _WRITERS or (isinstance(func, cst.Attribute) and func.attr.value in _PATH_WRITERS):
        return _written_target(call, context)
    return None


def _concatenation(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add)


def _path_use(
    stack: list[cst.CSTNode], scope: cst.CSTNode, context: FileContext, local_hops: int
) -> bool | None:
    """`_own_file_use` of the path last in `stack` (its ancestors before it, in `scope`,
    the function or module whose body holds it)."""
    path = stack[-1]
    parent = stack[-2] if len(stack) >= 2 else None
    if isinstance(parent, cst.Assign) and parent.value is path and local_hops > 0:
        return _local_use(parent, path, scope, context, local_hops - 1)
    call = stack[-3] if isinstance(parent, cst.Arg) and len(stack) >= 3 else None
    if isinstance(parent, cst.Attribute) and parent.value is path and len(stack) >= 3:
        call = stack[-3]  # `path.open("wb")`, `path.exists()`
        if isinstance(call, cst.Call) and call.func is parent:
            if opens_file(call, context):
                return _opened_use(call, stack[:-3], scope, context, position=0)
            return False if parent.attr.value in _PATH_INSPECTORS else None
        return None
    if not isinstance(call, cst.Call) or not isinstance(parent, cst.Arg):
        return None
    if _serializer_target(call, context) is path:
        return True
    name = context.imports.call_name(call) or ""
    first = call.args[0] is parent and parent.keyword is None
    if opens_file(call, context) and first:
        return _opened_use(call, stack[:-3], scope, context, position=1)
    if first and (name in _PATH_TESTS or name in _FILE_READERS or name == "os.path.isdir"):
        return False
    return None


def _opened_use(
    call: cst.Call,
    above: list[cst.CSTNode],
    scope: cst.CSTNode,
    context: FileContext,
    position: int,
) -> bool | None:
    """`open(path, mode)` (`above` the ancestors of the call, in `scope`): False for
    reading, True when it is opened for writing into a `with ... as` handle every use of
    which is the target of a serializing write (`with open(p, "wb") as f:
    pickle.dump(obj, f)`), else None."""
    mode = next((a.value for a in call.args if a.keyword and a.keyword.value == "mode"), None)
    positional = [a.value for a in call.args if a.keyword is None]
    if mode is None and len(positional) > position:
        mode = positional[position]
    if mode is None:
        return False
    if not isinstance(mode, cst.SimpleString):
        return None
    text = mode.evaluated_value
    if not isinstance(text, str):
        return None
    if not _WRITE_MODE_LETTERS & set(text):
        return False
    holder = above[-1] if above else None
    if not isinstance(holder, cst.WithItem) or holder.item is not call or holder.asname is None:
        return None
    handle = holder.asname.name
    if not isinstance(handle, cst.Name):
        return None
    return _only_serialized_to(handle.value, scope, context)


def _only_serialized_to(handle: str, scope: cst.CSTNode, context: FileContext) -> bool | None:
    """Every read of `handle` in `scope` is the file a serializing write writes to, and
    there is one."""
    ok = True
    writes = 0
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        nonlocal ok, writes
        if not ok or not isinstance(node, cst.Name) or node.value != handle or len(stack) < 2:
            return
        if not is_read(node, stack[-2]):
            return
        call = stack[-3] if isinstance(stack[-2], cst.Arg) and len(stack) >= 3 else None
        if isinstance(call, cst.Call) and _serializer_target(call, context) is node:
            writes += 1
        else:
            ok = False

    walk(scope.body if isinstance(scope, cst.FunctionDef) else scope, visit, stack=stack)
    return True if ok and writes else None


def _local_use(
    assign: cst.Assign,
    path: cst.CSTNode,
    scope: cst.CSTNode,
    context: FileContext,
    local_hops: int,
) -> bool | None:
    """The path is bound to a local of a function: every read of it there is a use of
    the path (`model_path = d.path_of(NAME)` ... `onnx.load(model_path)`)."""
    if not isinstance(scope, cst.FunctionDef):
        return None  # a module-level name: any module may read it
    target = assign.targets[0].target if len(assign.targets) == 1 else None
    if not isinstance(target, cst.Name) or len(assigned_values(scope, context)[target.value]) > 1:
        return None
    reads = local_reads(assign, path, scope.body)
    if not reads:
        return None
    uses = [_path_use(read, scope, context, local_hops) for read in reads]
    if any(use is None for use in uses):
        return None
    return any(uses)
