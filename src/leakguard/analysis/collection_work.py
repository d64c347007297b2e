"""Evidence that the entries of a request collection drive work, across the run.

An unbounded list/dict/set of a request body costs more than the body-size limit allows
only when something does work per entry: a loop or comprehension over it whose body
makes a call that is not cheap (`analysis/cheap_calls.py`; a call into a function of the
run that does work, `SummaryIndex.cheap`, also a method of an object the function built
from a class of the run, `conv = Conversation(...)`: the class's method, and a method
called with no argument on an entry of a typed collection, `function.to_template_function()`
in `for function in body.functions`: the method of the pydantic models of the run the
field holds, `SummaryIndex.entry_method`, session 15) or awaits, a
fan-out (`gather(*items)`), an allocation sized by it (`[0] * len(items)`,
`range(len(items))`), a per-entry call (`executemany`, `add_all`, `bulk_*`,
`insert_many`), a model handed the whole list
(`encode`/`embed`/`generate`/`predict`), or a stop list / logit bias handed to a
generation call (`stop=`, `"logit_bias": ...`), which is scanned at every token. A field
that is only stored or forwarded (dumped whole into a row, returned) is capped by the
body-size limit like a string (LG301's `stored_collection_severity`).

Collected per file from CPython's `ast` (collector `collection_work`) for each
module-level function and method, what its body does with each *subject*:

- `a:NAME`: a read of an attribute or key named NAME (`form.ids`, `data["ids"]`,
  `data.get("ids")`) from a value of unknown type (or typed only by builtins, `ops:
  list[dict]`), evidence only in a function the model or its dump is known to reach
  (`WorkIndex._candidates`, `whole`): matched by name alone, it took a web-search
  response's `data` for a calendar form's (session 13); `a:NAME@Class,...`: a read
  through a parameter annotated with those classes (or a validator's `self`), matched
  only when one is the field's model, a subclass or a base (`FieldOwners`); a class is
  named qualified where its file's imports resolve it (`app.schemas.Payload`): an alias
  is its class, a protobuf message is no class of the run (session 14);
  `a:NAME@Class>f>g`: a read through a typed path, the fields `f`, `g` read from such a
  value (`spec.roles[i].env`, a loop variable `for role in spec.roles`, a local `roles =
  spec.roles or []`, an annotated local, a dump `form.model_dump()["tags"]`), typed when
  queried by the run's models (`ModelIndex.field_types`): `integration.injection.env` is
  `Injection.env`, not a request model's `env` (session 12: most wrong LG301 errors were
  such reads taken as untyped);
- `p:NAME`: a parameter, the whole value a caller hands on (a body parameter
  `targets: list[Target]`, a model handed whole to a helper);

and locals bound from a subject (`ids = form.ids or []`, `grants = filter(form.grants)`)
count as the subject. Each subject gets its direct evidence (`uses`) and the calls it
is handed to (`hands`), resolved when queried through the function summaries
(`analysis/summaries.py`, across files, `max_call_depth` deep): a function of the run
passes the question on to its parameter; a class of the run (a row or model built from
the value) stores it; a call the run cannot resolve (another package's function, a
method of an object it does not know) only forwards what it is handed (but a module of
the caller's own package missing from a partial run is possible work, `UNREAD`), unless a method
of the run of that name (`_dispatched`) or a function handed before it
(`add_task(process, ids)`) works per entry. A model handed whole (`whole`) is evidence
for its field only where the field is spread into a parameter of its name or the model
goes to a per-entry call: a loop over the model walks its fields, not the field's
entries (session 11: 98 of 222 wrong LG301 errors on the corpus were evidence of
another class's or package's field of that name, of a serializer walking the model, or
of a call the run cannot see).
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from leakguard.analysis.cheap_calls import PATTERN_MAKER, cheap_callee, made_object
from leakguard.analysis.imports import ast_import_bindings
from leakguard.analysis.project import FactCollector, module_identity, register_collector
from leakguard.analysis.summaries import (
    DEFAULT_MAX_CALL_DEPTH,
    FileSummaryCollector,
    SummaryIndex,
    summary_index,
)
from leakguard.context import FileContext
from leakguard.triage import TriageTree, parse_triage
from leakguard.triage import dotted as ast_dotted

# A value's type as far as the collector knows it: the classes its root is annotated
# with and the fields read from it since (resolved run-wide, `FieldOwners.may_read`).
TypePath = tuple[tuple[str, ...], tuple[str, ...]]
# The owner mark of an untyped read from a value the function fetched itself.
FETCHED = "~"
# The evidence phrase the rule reads to say "possible", not "found", per-entry work.
NO_FACTS = "no facts of the run"
UNREAD = "code of its own package the run did not read"
COLLECTOR = "collection_work"
TOKENS = ("def ",)
# The field name of a copy of every field of a model (`Row(**form.model_dump())`).
ANY_FIELD = "*"
# The key of a file's facts listing the top-level packages it imports (not a qualname).
IMPORTS = "<imports>"
# The kind of a loop's call reference naming a method of a typed entry (`_entry_method`).
ENTRY_METHOD = "e"

# Calls that do one unit of work per entry of the collection they are handed.
PER_ENTRY_METHODS = frozenset(
    {
        "executemany", "add_all", "insert_many", "bulk_create", "bulk_update",
        "bulk_write", "bulk_insert", "bulk_save_objects", "bulk_insert_mappings",
        "bulk_update_mappings", "upsert_many", "update_many", "delete_many",
        # a model given the whole list runs once per entry
        "encode", "embed", "embed_documents", "embed_query", "create_embedding",
        "generate", "predict", "predict_proba", "transform", "batch_encode_plus",
        "encode_batch", "tokenize",
    }
)  # fmt: skip
# Generation parameters scanned at every generated token (a stop list, a logit bias).
PER_TOKEN_KEYWORDS = frozenset(
    {"stop", "stop_sequences", "stop_token_ids", "stop_words", "logit_bias", "stop_str"}
)
# Wrappers whose value iterates what they are given (`for x in sorted(ids)`).
_ITERATION_WRAPPERS = frozenset(
    {"enumerate", "zip", "sorted", "list", "set", "tuple", "reversed", "frozenset"}
)
_DICT_VIEWS = frozenset({"items", "values", "keys"})
# The label of a use handing the value whole to a per-entry call.
_HANDED = "handed whole to"
# Builtins that call their first argument once per entry of the others.
_MAPPERS = frozenset({"map", "filter"})
# Methods of a pool or executor that call their first argument once per entry of the
# next (`ThreadPoolExecutor.map`, `multiprocessing.Pool.imap`): the pool is another
# package's object, but the function it is handed is the run's and runs per entry.
_POOL_MAPPERS = frozenset(
    {"map", "imap", "imap_unordered", "map_async", "starmap", "starmap_async"}
)
_DUMPS = frozenset({"model_dump", "dict", "json", "model_dump_json"})
# Annotation names that say nothing about whose field a value holds: builtin and
# `typing` containers and scalars (`ops: list[dict]`, `payload: dict[str, Any]`).
UNTYPED_NAMES = frozenset(
    {
        "dict", "list", "set", "tuple", "frozenset", "str", "bytes", "int", "float",
        "bool", "object", "None", "type", "Any", "Dict", "List", "Set", "Tuple",
        "FrozenSet", "Type", "Optional", "Union", "Sequence", "MutableSequence",
        "Mapping", "MutableMapping", "Iterable", "Iterator", "Collection", "Literal",
        "Annotated", "typing", "abc", "collections",
    }
)  # fmt: skip
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
# Validators run on the request's fields before the handler: a field validator's value
# parameter is the field; a model validator's `self` (or `values`) holds the fields.
_FIELD_VALIDATORS = frozenset({"field_validator", "validator"})
_MODEL_VALIDATORS = frozenset({"model_validator", "root_validator"})
# Defaults by which a framework injects a value into a handler or a dependency.
_INJECTORS = frozenset({"Depends", "Security", "Inject", "Provide"})


def possible_only(evidence: str) -> bool:
    """Evidence that per-entry work is possible (no facts of the run at all: a file
    checked alone), not found. A value handed where the run cannot see is no evidence
    (session 11): forwarded, unless something of the run walks it."""
    return evidence == NO_FACTS or UNREAD in evidence


def strongest(candidates: Iterable[str | None]) -> str | None:
    """The first evidence of found work among `candidates` (taken lazily, in the order
    given), else the first of possible work, else None.

    Which evidence a finding names must not depend on which one a search meets first
    when a stronger one exists further on: the message says "drive work" whenever the
    run shows work, every run, and names the first such evidence in a fixed order."""
    possible: str | None = None
    for evidence in candidates:
        if evidence is None:
            continue
        if not possible_only(evidence):
            return evidence
        if possible is None:
            possible = evidence
    return possible


def collect_source(text: str, display: str) -> dict[str, Any] | None:
    tree = parse_triage(text, display=display)
    return None if tree is None else collect_tree(tree, text, display)


def _record_imports(names: FileSummaryCollector, tree: TriageTree) -> None:
    """Imports at any depth (also those inside functions), as the summaries resolve them:
    a name bound by both an `import` and a `from` import is the later one's in `ast.walk`
    order, which the index keeps per node type only (the walk is the rare fallback)."""
    plain: dict[str, str] = {}
    for node in tree.of(ast.Import):
        plain.update(ast_import_bindings(node, names.module, names.package))
    froms: dict[str, str] = {}
    for source in tree.of(ast.ImportFrom):
        froms.update(ast_import_bindings(source, names.module, names.package))
    if plain.keys() & froms.keys():
        for walked in ast.walk(tree.tree):
            if isinstance(walked, (ast.ImportFrom, ast.Import)):
                names.record_import(walked)
        return
    names.aliases.update(plain)
    names.aliases.update(froms)


def collect_tree(tree: TriageTree, text: str, display: str) -> dict[str, Any] | None:
    """{qualname: {"params": [...], "uses": {subject: [label, line]}, "hands": {subject:
    [[reference, position, keyword, line, text], ...]}}} for the file's functions and
    methods that do something with a subject; None when none does."""
    from leakguard.analysis.asyncio_facts import is_test_file

    if is_test_file(display):
        return None
    module, package = module_identity(display)
    names = FileSummaryCollector(module, tree, package)
    for statement in tree.tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.globals.add(statement.name)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names.globals.update(t.id for t in targets if isinstance(t, ast.Name))
    _record_imports(names, tree)
    # `client = httpx.AsyncClient()`: its `get`/`post` reach a server, whatever the name.
    objects = frozenset(
        target.id
        for statement in tree.tree.body
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call)
        for target in statement.targets
        if isinstance(target, ast.Name)
        and made_object(names.qualify(ast_dotted(statement.value.func) or "") or "")
    )
    made = _Made(objects, _compiled_patterns(tree, names))
    found: dict[str, Any] = {}
    for statement in tree.tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _collect_function(statement, statement.name, None, names, made, found)
        elif isinstance(statement, ast.ClassDef):
            for member in statement.body:
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    qualname = f"{statement.name}.{member.name}"
                    _collect_function(member, qualname, statement.name, names, made, found)
    if found:
        # The packages this file imports from: whose models its reads may be reading.
        found[IMPORTS] = sorted({top_package(target) for target in names.aliases.values()})
    return found or None


@dataclass(frozen=True)
class _Made:
    """What made some of a file's module-level values, as far as the judgement of a call
    on them goes: `objects`, clients and sessions whose cheap-named methods reach a
    server; `patterns`, compiled patterns whose matching methods are cheap."""

    objects: frozenset[str] = frozenset()
    patterns: frozenset[str] = frozenset()


def _compiled_patterns(tree: TriageTree, names: FileSummaryCollector) -> frozenset[str]:
    """Module-level names bound once, to `re.compile(...)`, and never declared `global`
    in a function (which could rebind them): `KEY_RE.match(key)` only matches a string."""
    made: dict[str, list[bool]] = {}
    for statement in tree.tree.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            value = statement.value
            compiled = isinstance(value, ast.Call) and (
                names.qualify(ast_dotted(value.func) or "") == PATTERN_MAKER
            )
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        made.setdefault(name.id, []).append(compiled and name is target)
    rebound = {name for node in tree.of(ast.Global) for name in node.names}
    return frozenset(name for name, each in made.items() if each == [True] and name not in rebound)


def _collect_function(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    qualname: str,
    owner: str | None,
    names: FileSummaryCollector,
    made: _Made,
    found: dict[str, Any],
) -> None:
    record = _FunctionWork(function, owner, names, made).run()
    if not (record["uses"] or record["hands"] or "copies" in record):
        return
    earlier = found.get(qualname)
    if earlier is not None:
        # A name defined twice (two route handlers `create_chat_completion` of one
        # module, each registered by its decorator before the next rebinds the name):
        # both bodies run, so both bodies' evidence stands; the later's parameters.
        record = _merged(earlier, record)
    found[qualname] = record


class _FunctionWork:
    def __init__(
        self,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        owner: str | None,
        names: FileSummaryCollector,
        made: _Made = _Made(),
    ) -> None:
        self.function = function
        self.owner = owner
        self.names = names
        args = function.args
        static = any(ast_dotted(d) == "staticmethod" for d in function.decorator_list)
        positional = [a.arg for a in args.posonlyargs + args.args]
        self.receiver = positional[0] if owner is not None and positional and not static else ""
        self.positional = [name for name in positional if name != self.receiver]
        every = [*positional, *(a.arg for a in args.kwonlyargs)]
        self.params = [name for name in every if name != self.receiver]
        validated, self.receiver_is_model = self._validated_fields(function)
        self.types = self._annotated()
        self.locals: dict[str, set[str]] = {}
        if validated and self.params:
            # `@field_validator("ids") def check(cls, value)`: `value` is the field `ids`
            # of the validator's own class.
            self.locals[self.params[0]] = {_read(name, owner) for name in validated}
            self.params = self.params[1:]
        # The function's nodes in `ast.walk`'s order and each one's parent, from the
        # file's child index (a third of this collector's time through `ast.walk`):
        # it leaves out only the `Load`/`Store`/`Del` markers, which no pass reads.
        self.index = names.indexed
        self.nodes: list[ast.AST] = self.index.walk_order([function])
        self.parents: dict[int, ast.AST] = {}
        children = self.index.children_by_id
        for node in self.nodes:
            for child in children(id(node)) or ():
                self.parents[id(child)] = node
        self.objects = made.objects | self._local_objects()
        # a compiled pattern of the module, unless the function binds the name itself
        bound = {n.id for n in self.nodes if isinstance(n, ast.Name) and not _loaded(n)}
        self.patterns = made.patterns - bound - set(every)
        # locals and loop variables of a known type path (`for role in spec.roles`)
        self.typed_locals: dict[str, TypePath] = {}
        self.derived: frozenset[str] | None = None
        self.typed_locals = self._typed_locals()
        self.instances = self._constructed_locals()
        self.uses: dict[str, list[Any]] = {}
        self.hands: dict[str, list[list[Any]]] = {}

    @staticmethod
    def _validated_fields(
        function: ast.FunctionDef | ast.AsyncFunctionDef,
    ) -> tuple[set[str], bool]:
        """The fields a field validator is given (its decorator's names) and whether it
        is a validator at all (then `self.x` is the request's field `x`, not the state
        of a long-lived object)."""
        fields: set[str] = set()
        validator = False
        for decorator in function.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            name = (ast_dotted(call.func if call else decorator) or "").rsplit(".", 1)[-1]
            if name in _MODEL_VALIDATORS:
                validator = True
            elif name in _FIELD_VALIDATORS:
                validator = True
                fields.update(
                    arg.value
                    for arg in (call.args if call else [])
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                )
        return fields, validator

    def _local_objects(self) -> frozenset[str]:
        """Names whose cheap-named methods (`add`, `get`, `update`) may reach a server: a
        parameter annotated with a class from outside the run (`session: Session`), a
        name bound by `with ... as db` (a connection, a session) and a local made by
        such a class (`db = SessionLocal()` is judged by its maker's name)."""
        found: set[str] = set()
        args = self.function.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            annotation = ast_dotted(arg.annotation) if arg.annotation is not None else None
            if annotation and made_object(self.names.qualify(annotation) or ""):
                found.add(arg.arg)
        # `db=Depends(get_db)` without an annotation: what a dependency injects is a
        # session, a client or a repository as often as not.
        positional = [*args.posonlyargs, *args.args]
        defaults = [
            *zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True),
            *((a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d),
        ]
        for arg, default in defaults:
            if isinstance(default, ast.Call) and (
                (ast_dotted(default.func) or "").rsplit(".", 1)[-1] in _INJECTORS
            ):
                found.add(arg.arg)
        for node in self.nodes:
            if isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name):
                found.add(node.optional_vars.id)
            elif (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and made_object(self.names.qualify(ast_dotted(node.value.func) or "") or "")
            ):
                found.update(t.id for t in node.targets if isinstance(t, ast.Name))
        return frozenset(found)

    def run(self) -> dict[str, Any]:
        self._derive_locals()
        read: set[str] = set()
        for node in self.nodes:
            for subject in self._subjects(node):
                read.add(subject)
                self._judge(node, subject)
        record: dict[str, Any] = {"params": self.positional, "uses": self.uses, "hands": self.hands}
        if self.types:
            # by short names: a model handed whole is found by its holders' short names
            # (`WorkIndex.model_evidence`)
            record["annotated"] = {
                param: sorted({name.rpartition(".")[2] for name in names})
                for param, names in self.types.items()
            }
        copies = self._copies(read)
        if copies:
            record["copies"] = copies
        return record

    def _copies(self, read: set[str]) -> dict[str, list[str]]:
        """{read subject: [class names]}: the classes this function builds with a keyword
        named like a field it reads (`CreateCompletionRequest(stop=deduped_stop)` where it
        reads `body.stop`): the built value's field of that name holds the read field's
        entries, however the function reshaped them (a typed read of the built class's
        field is then the read field's, `WorkIndex._copied_into`)."""
        by_name: dict[str, list[str]] = {}
        for subject in sorted(read):
            if subject.startswith("a:"):
                by_name.setdefault(field_of(subject)[0], []).append(subject)
        found: dict[str, set[str]] = {}
        for node in self.nodes:
            if not isinstance(node, ast.Call) or not node.keywords:
                continue
            built = (ast_dotted(node.func) or "").rpartition(".")[2]
            if not built[:1].isupper():
                continue  # a class by its name (`Row(...)`), not a function
            for keyword in node.keywords:
                for subject in by_name.get(keyword.arg or "", ()):
                    found.setdefault(subject, set()).add(built)
                spread = self._spread_model(keyword)
                if spread is not None:
                    found.setdefault(spread, set()).add(built)
        return {subject: sorted(classes) for subject, classes in found.items()}

    def _spread_model(self, keyword: ast.keyword) -> str | None:
        """`Row(**form.model_dump())` with `form` typed: every field of the model goes
        into the built class under its own name, `a:*@Form` (`WorkIndex._copied_into`)."""
        value = keyword.value
        if not (
            keyword.arg is None
            and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and value.func.attr in _DUMPS
        ):
            return None
        subject = _typed_read(ANY_FIELD, self._type_path(value.func.value))
        return subject if typed(subject) else None

    def _annotated(self) -> dict[str, list[str]]:
        """The class names each parameter's annotation mentions (`form: NoteForm`,
        `items: list[Item] | None`): a model handed whole is found through them."""
        args = self.function.args
        found: dict[str, list[str]] = {}
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if arg.annotation is None or arg.arg == self.receiver:
                continue
            names = _annotation_names(arg.annotation, self._qualified)
            if names:
                found[arg.arg] = list(names)
        return found

    def _qualified(self, node: ast.expr) -> str | None:
        """The qualified name of a class an annotation names: through the file's imports
        (`P` of `from .schemas import Payload as P`), or a module-level name of the
        file itself; None for a name bound neither way (judged by its short name)."""
        dotted = ast_dotted(node)
        if dotted is None:
            return None
        qualified = self.names.qualify(dotted)
        if qualified is not None:
            return qualified
        if dotted.partition(".")[0] in self.names.globals:
            return f"{self.names.module}.{dotted}"
        return None

    # subjects --------------------------------------------------------------------------

    def _direct_subject(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            root = node.value.id if isinstance(node.value, ast.Name) else None
            if root is not None and root == self.receiver:
                if not self.receiver_is_model:
                    return None  # `self.items`: the object's own state, not a request's
                return _read(node.attr, self.owner)  # a validator's `self.ids`: its class's
            if root is not None and root in self.params and not self.types.get(root):
                return _read(node.attr)
            # `form.ids` with `form: NoteForm`: the field of the classes it names;
            # `spec.role.env`, `for role in spec.roles: role.env`: of the classes the
            # path's fields name, resolved when queried (`FieldOwners.may_read`)
            return self._read_through(node.attr, node.value)
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            return self._key_read(node.slice.value, node.value)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            return self._key_read(node.args[0].value, node.func.value)
        if (
            isinstance(node, ast.Call)
            and _named(node.func, "getattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            return f"a:{node.args[1].value}"  # `getattr(form, "ids")`: the field `ids`
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in self.params:
            return f"p:{node.id}"
        return None

    def _key_read(self, key: str, value: ast.AST) -> str:
        """A key read (`payload["ids"]`, `data.get("ids")`): of a parameter, whatever its
        annotation (`payload: dict[str, Any]` is a model dumped by a caller, as before);
        of anything else, as an attribute read (`form.model_dump()["ids"]` is typed)."""
        if isinstance(value, ast.Name) and value.id in self.params:
            return _read(key)
        return self._read_through(key, value)

    def _read_through(self, name: str, value: ast.AST) -> str:
        """The subject of a read of `name` from `value`: typed by its path when known;
        else untyped, marked `@~` (`FETCHED`) when the value does not derive from the
        function's parameters (a row it fetched itself, a module global): no caller
        handed it the request."""
        path = self._type_path(value)
        if path is None and not self._from_parameters(value):
            return f"a:{name}@{FETCHED}"
        return _typed_read(name, path)

    def _from_parameters(self, value: ast.AST) -> bool:
        """Whether `value` mentions a parameter (or the receiver, or a local bound from
        one): what a caller handed the function may be in it."""
        if self.derived is None:
            self.derived = self._derived_from_parameters()
        return any(
            isinstance(n, ast.Name) and (n.id in self.derived or n.id == self.receiver)
            for n in self.index.walk(value)
        )

    def _derived_from_parameters(self) -> frozenset[str]:
        """The parameters and the locals bound (to a fixpoint) from an expression that
        mentions one: `rows = conn.execute(...)` in a migration's `upgrade()` is not."""
        # (names bound, names the value mentions), each walked once, not per round
        bindings: list[tuple[set[str], set[str]]] = []
        for node in self.nodes:
            targets: list[ast.AST] = []
            value: ast.AST | None = None
            if isinstance(node, ast.Assign):
                targets, value = list(node.targets), node.value
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                targets, value = [node.target], node.value
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                targets, value = [node.target], node.iter
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                targets, value = [node.optional_vars], node.context_expr
            if value is None:
                continue
            walk = self.index.walk
            names = {n.id for t in targets for n in walk(t) if isinstance(n, ast.Name)}
            bindings.append((names, {n.id for n in walk(value) if isinstance(n, ast.Name)}))
        derived = set(self.params) | ({self.receiver} - {""})
        changed = True
        while changed:
            changed = False
            for names, mentioned in bindings:
                if names <= derived:
                    continue
                if not mentioned.isdisjoint(derived):
                    derived.update(names)
                    changed = True
        return frozenset(derived)

    def _type_path(self, value: ast.AST) -> TypePath | None:
        """The classes a value's root is annotated with and the fields read from it
        (`spec.roles[0]`, `(spec.roles or [])`, `form.model_dump()`: an entry, the
        collection, a dump keep the type the fields name); None when the root's type is
        not known (an unannotated parameter, a local bound from a call, a row)."""
        path: list[str] = []
        while True:
            if isinstance(value, ast.Attribute):
                path.append(value.attr)
                value = value.value
            elif isinstance(value, ast.Subscript) and not (
                isinstance(value.slice, ast.Constant) and isinstance(value.slice.value, str)
            ):
                value = value.value  # an entry (or a slice) of the collection
            elif isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Constant):
                path.append(str(value.slice.value))  # `form.model_dump()["ids"]`
                value = value.value
            elif (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and value.func.attr in _DUMPS
                and not value.args
            ):
                value = value.func.value  # a dump holds the model's fields by name
            elif isinstance(value, ast.BoolOp) and all(
                _empty_default(other) for other in value.values[1:]
            ):
                value = value.values[0]  # `spec.roles or []`
            elif isinstance(value, ast.Call) and _named(value.func, "list") and value.args:
                value = value.args[0]
            else:
                break
        built = self._built_from_parameters(value)
        if built is not None:
            return (built,), tuple(reversed(path))
        if not isinstance(value, ast.Name):
            return None
        if value.id in self.params:
            root: TypePath | None = (tuple(self.types.get(value.id, ())), ())
        else:
            root = self.typed_locals.get(value.id)
        if root is None or not root[0]:
            return None
        return root[0], root[1] + tuple(reversed(path))

    def _built_from_parameters(self, value: ast.AST) -> str | None:
        """The class a call builds from fields of what the function was handed, each
        under its own name (`Job(urls=form.urls)`, `Row(**form.model_dump())`: by its
        capitalized name): its attributes of those names hold the fields
        (`WorkIndex._copied_into`), read as that class's, not matched by name. None
        for another call (a fetched response, `PdfReader(path)`: its `metadata` is
        the reader's own)."""
        if not isinstance(value, ast.Call):
            return None
        built = (ast_dotted(value.func) or "").rpartition(".")[2]
        if not built[:1].isupper():
            return None
        for keyword in value.keywords:
            if self._spread_model(keyword) is not None:
                return built
            read = self._direct_subject(keyword.value)
            if keyword.arg and read is not None and read.startswith(f"a:{keyword.arg}@"):
                return built
        return None

    def _typed_locals(self) -> dict[str, TypePath]:
        """Locals of a known type path, bound once in the function (or every time to the
        same path): annotated (`spec: ModelSpec = ...`), a loop or comprehension
        variable over a typed collection (`for role in spec.roles`), or assigned from a
        typed read (`roles = spec.roles or []`). A name bound twice differently, or
        unpacked (`for key, value in ...`), is not typed."""
        bindings: dict[str, list[ast.AST | None]] = {}
        annotated: dict[str, tuple[str, ...]] = {}
        for node in self.nodes:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                annotated[node.target.id] = _annotation_names(node.annotation, self._qualified)
            targets: list[tuple[ast.AST, ast.AST | None]] = []
            if isinstance(node, ast.Assign):
                targets = [(t, node.value) for t in node.targets]
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                targets = [(node.target, node.iter)]
            elif isinstance(node, (ast.AugAssign, ast.NamedExpr)):
                targets = [(node.target, None)]
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                targets = [(node.optional_vars, None)]
            for target, value in targets:
                if isinstance(target, ast.Name):
                    bindings.setdefault(target.id, []).append(value)
                else:
                    for inner in self.index.walk_order([target]):
                        if isinstance(inner, ast.Name):
                            bindings.setdefault(inner.id, []).append(None)
        typed: dict[str, TypePath] = {
            name: (names, ()) for name, names in annotated.items() if names
        }
        # `_type_path` reads the locals typed so far through `self.typed_locals`: the
        # annotated ones type what derives from them from the first round on
        self.typed_locals = typed
        # to a fixpoint: a loop variable over a typed local's field, and so on
        changed = True
        while changed:
            changed = False
            for name, values in bindings.items():
                if name in self.params or name in annotated or name in typed:
                    continue
                paths = {None if v is None else self._type_path(v) for v in values}
                if len(paths) == 1 and (only := paths.pop()) is not None:
                    typed[name] = only
                    changed = True
        return typed

    def _constructed_locals(self) -> dict[str, tuple[ast.expr, int]]:
        """{name: (class, last line)}: locals last bound by a statement of the function's
        own body (not in a branch, a loop or a `try`) to a call of a capitalized name
        (`conv = Conversation(...)`), with no binding of the name after it: from the end
        of that statement on, the name holds an instance of that class, and a method
        called on it is the class's (`_instance_method`)."""
        last: dict[str, int] = {}
        for node in self.nodes:
            bound: list[tuple[str, int]] = []
            if isinstance(node, ast.Name) and not _loaded(node):
                bound = [(node.id, node.lineno)]
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bound = [(node.name, node.lineno)]
            elif isinstance(node, ast.alias):
                bound = [((node.asname or node.name).partition(".")[0], node.lineno)]
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                bound = [(name, sys.maxsize) for name in node.names]  # rebound elsewhere
            for name, line in bound:
                last[name] = max(last.get(name, 0), line)
        found: dict[str, tuple[ast.expr, int]] = {}
        for statement in self.function.body:
            if not (
                isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and isinstance(statement.value, ast.Call)
            ):
                continue
            name = statement.targets[0].id
            built = (ast_dotted(statement.value.func) or "").rpartition(".")[2]
            end = statement.end_lineno or statement.lineno
            if built[:1].isupper() and last.get(name, 0) <= end:
                found[name] = (statement.value.func, end)
        return found

    def _instance_method(self, func: ast.expr, line: int) -> list[str] | None:
        """The reference of `func`, a method called on `line` on a local holding an
        instance of a class the function built (`_constructed_locals`): the class's
        method of that name (`conv.append_message` of `conv = Conversation(...)`),
        judged by its summary when queried. A class the run does not define, or one
        inheriting the method, leaves it unresolved: work."""
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return None
        instance = self.instances.get(func.value.id)
        if instance is None or line <= instance[1]:
            return None
        shadowed = frozenset(self.locals)
        maker = self.names.reference(instance[0], self.owner, shadowed, self.receiver)
        if maker is None or maker[0] not in ("q", "l"):
            return None
        return [maker[0], f"{maker[1]}.{func.attr}"]

    def _entry_method(self, call: ast.Call) -> list[Any] | None:
        """`function.to_template_function()` on a local of a known type path (an entry
        of `for function in body.functions`, `body: ChatRequest`): [ENTRY_METHOD, root
        classes, fields, method], judged when queried by the method of the classes the
        path's last field holds (`SummaryIndex.entry_method`: data models of the run
        only). A call handing the method anything stays unresolved, hence work: the
        method may walk what it is handed (`span.overlaps(body.spans)`, a nested walk)."""
        func = call.func
        if call.args or call.keywords:
            return None
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return None
        path = self.typed_locals.get(func.value.id)
        if path is None:
            return None
        roots = sorted(set(path[0]) - UNTYPED_NAMES)
        if not roots or not all(step.isidentifier() for step in path[1]):
            return None
        return [ENTRY_METHOD, roots, list(path[1]), func.attr]

    def _subjects(self, node: ast.AST) -> set[str]:
        direct = self._direct_subject(node)
        if direct is not None:
            return {direct}
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            return self.locals.get(node.id, set())
        return set()

    def _derive_locals(self) -> None:
        """Locals bound from an expression reading a subject (`ids = form.ids or []`,
        `grants = check(form.grants)`, `for target in targets`: not the item), to a
        fixpoint: the order of statements in loops is not known."""
        assignments: list[tuple[list[str], ast.AST]] = []
        for node in self.nodes:
            if isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
                assignments.append((targets, node.value))
            elif (
                isinstance(node, (ast.AnnAssign, ast.NamedExpr))
                and node.value is not None
                and isinstance(node.target, ast.Name)
            ):
                assignments.append(([node.target.id], node.value))
        changed = True
        while changed:
            changed = False
            for targets, value in assignments:
                subjects = self._carried(value)
                for target in targets:
                    if target in self.params:
                        continue
                    known = self.locals.setdefault(target, set())
                    if not subjects <= known:
                        known |= subjects
                        changed = True

    def _carried(self, value: ast.AST) -> set[str]:
        """Subjects whose collection `value` may be: itself, through `or`/conditionals,
        or a call given it (a filter that returns what it kept); not an item or a length."""
        if isinstance(value, ast.Await):
            return self._carried(value.value)  # `users = await collect(form.user_ids)`
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Sub):
            return self._carried(value.left)  # `new_ids = requested - existing`
        if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Add, ast.BitOr)):
            return self._carried(value.left) | self._carried(value.right)  # `ids + extra`
        if isinstance(value, ast.BoolOp):
            return set().union(*(self._carried(v) for v in value.values))
        if isinstance(value, ast.IfExp):
            return self._carried(value.body) | self._carried(value.orelse)
        if isinstance(value, ast.Call):
            direct = self._direct_subject(value)
            if direct is not None:
                return {direct}
            if isinstance(value.func, ast.Name) and value.func.id == "len":
                return set()
            carried: set[str] = set()
            for arg in [*value.args, *(k.value for k in value.keywords)]:
                carried |= self._carried(arg.value if isinstance(arg, ast.Starred) else arg)
            if isinstance(value.func, ast.Attribute) and value.func.attr not in _DUMPS:
                carried |= self._carried(value.func.value)
            elif isinstance(value.func, ast.Attribute):
                # `updated = form.model_dump(exclude=...)`: a parameter's model, its
                # fields by name, handed on as the model is (`WorkIndex._candidates`,
                # `whole`); not a field's entries
                dumped = self._subjects(value.func.value)
                carried |= {subject for subject in dumped if subject.startswith("p:")}
            return carried
        if isinstance(value, ast.Dict):
            # `{**form.model_dump(), "user_id": uid}`: the spread model's fields
            spread = [v for k, v in zip(value.keys, value.values, strict=True) if k is None]
            return set().union(*(self._carried(v) for v in spread))
        if isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Slice):
            return self._carried(value.value)
        if isinstance(value, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            # `[g for g in grants if g.get("id")]`: what it keeps of the collection
            return set().union(*(self._carried(g.iter) for g in value.generators))
        return self._subjects(value)

    # evidence --------------------------------------------------------------------------

    def _use(self, subject: str, label: str, node: ast.AST) -> None:
        self.uses.setdefault(subject, [label, getattr(node, "lineno", 0)])

    def _judge(self, node: ast.AST, subject: str) -> None:
        parent = self.parents.get(id(node))
        # `x.items()`, `sorted(x)`, `enumerate(x)`: what a loop over the wrapper walks.
        walked: ast.AST = node
        while parent is not None:
            if (
                isinstance(parent, ast.Attribute)
                and parent.attr in _DICT_VIEWS
                and isinstance(self.parents.get(id(parent)), ast.Call)
            ):
                walked = self.parents[id(parent)]
            elif (
                isinstance(parent, ast.Call)
                and isinstance(parent.func, ast.Name)
                and parent.func.id in _ITERATION_WRAPPERS
                and walked in parent.args
            ):
                walked = parent
            elif isinstance(parent, ast.BoolOp) and isinstance(parent.op, ast.Or):
                walked = parent  # `for ref in form.ids or []`: the collection when set
            else:
                break
            parent = self.parents.get(id(walked))
        if parent is None:
            return
        if isinstance(parent, (ast.For, ast.AsyncFor)) and parent.iter is walked:
            work = self._work_in(parent.body)
            if work is not None:
                self._loop_work(subject, work, node)
            return
        if isinstance(parent, ast.comprehension) and parent.iter is walked:
            comprehension = self.parents.get(id(parent))
            parts: list[ast.AST] = []
            if isinstance(comprehension, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
                parts = [comprehension.elt]
            elif isinstance(comprehension, ast.DictComp):
                parts = [comprehension.key, comprehension.value]
            work = self._work_in(parts)
            if work is not None:
                self._loop_work(subject, work, node)
            return
        if isinstance(parent, ast.Call) and _maps_per_entry(parent) and walked in parent.args[1:]:
            # `map(read_file, form.paths)`, `pool.map(download, form.urls)`: a loop
            # calling its function per entry
            work = self._mapped_work(parent.args[0])
            if work is not None:
                self._loop_work(subject, work, node)
            return
        if isinstance(parent, ast.Starred):
            call = self.parents.get(id(parent))
            if isinstance(call, ast.Call) and not self._cheap(call):
                self._use(subject, f"fanned out to `{_short(call.func)}(*...)`", node)
            return
        if (
            isinstance(parent, ast.Call)
            and walked is node
            and node in parent.args
            and _named(parent.func, "len")
        ):
            holder = self.parents.get(id(parent))
            if (isinstance(holder, ast.BinOp) and isinstance(holder.op, ast.Mult)) or (
                isinstance(holder, ast.Call) and not _named(holder.func, "len")
            ):
                self._use(subject, "sizes an allocation with `len()`", node)
            return
        if isinstance(parent, ast.keyword) and parent.arg in PER_TOKEN_KEYWORDS:
            self._use(subject, f"handed as `{parent.arg}=` to a generation call", node)
            return
        if isinstance(parent, ast.Dict):
            for key, value in zip(parent.keys, parent.values, strict=True):
                if (
                    value is node
                    and isinstance(key, ast.Constant)
                    and key.value in PER_TOKEN_KEYWORDS
                ):
                    self._use(subject, f"handed as `{key.value}` to a generation call", node)
            return
        # `store(sorted(form.ids))`: what is handed on is the wrapped collection.
        call, position, keyword = self._argument_of(walked, parent)
        if call is None:
            return
        method = call.func.attr if isinstance(call.func, ast.Attribute) else None
        if method in PER_ENTRY_METHODS:
            self._use(subject, f"{_HANDED} `{_short(call.func)}` (work per entry)", node)
            return
        if self._cheap(call):
            return
        shadowed = frozenset(self.locals)
        reference = self.names.reference(call.func, self.owner, shadowed, self.receiver)
        line = getattr(node, "lineno", 0)
        hands = self.hands.setdefault(subject, [])
        hands.append([reference, position, keyword, line, _short(call.func)])
        # `background_tasks.add_task(process, form.ids)`, `to_thread(fn, ids)`: a function
        # handed before the collection is called with what follows it.
        before = call.args[:position] if position >= 0 else call.args
        for index, argument in enumerate(before):
            if not isinstance(argument, (ast.Name, ast.Attribute)):
                continue
            deferred = self.names.reference(argument, self.owner, shadowed, self.receiver)
            if deferred is not None:
                shifted = position - index - 1 if position >= 0 else -1
                hands.append([deferred, shifted, keyword, line, _short(argument)])

    def _argument_of(
        self, node: ast.AST, parent: ast.AST
    ) -> tuple[ast.Call | None, int, str | None]:
        """The call `node` is an argument of (also `**node.model_dump()`), its position
        among the positional arguments (-1 otherwise) and its keyword."""
        if isinstance(parent, ast.Call) and node in parent.args:
            return parent, parent.args.index(node), None
        if isinstance(parent, ast.keyword):
            call = self.parents.get(id(parent))
            if isinstance(call, ast.Call):
                return call, -1, parent.arg
        if (
            isinstance(parent, ast.Attribute)
            and parent.attr in _DUMPS
            and isinstance(self.parents.get(id(parent)), ast.Call)
        ):
            dumped = self.parents[id(parent)]
            holder = self.parents.get(id(dumped))
            if isinstance(holder, ast.keyword):
                call = self.parents.get(id(holder))
                if isinstance(call, ast.Call):
                    # `Row(**form.model_dump())`: handed on whole, spread; `grant_all(
                    # payload=form.model_dump())`: handed on whole, as a dict
                    return call, -1, "**" if holder.arg is None else holder.arg
            if isinstance(holder, ast.Call) and dumped in holder.args:
                return holder, holder.args.index(dumped), None  # `grant_all(form.model_dump())`
        return None, -1, None

    def _work_in(self, parts: Sequence[ast.AST]) -> list[Any] | None:
        """The first sign of work in a loop's body: ["await", "", line], ["call", text,
        line] for a call nothing shows cheap, or ["run", [references], [[text, line],
        ...]] for calls that are cheap unless the function of the run they reach works
        (judged when queried): each reference with the call naming it, so that the
        finding names the call judged to be work, not the loop's first call (session 14:
        "calling `from_proto`" for a loop whose work was another call)."""
        references: list[Any] = []
        calls: list[list[Any]] = []
        raised: set[int] = set()
        for part in parts:
            for node in ast.walk(part):
                if isinstance(node, ast.Raise) and node.exc is not None:
                    raised.add(id(node.exc))  # building the exception: an early exit
                if isinstance(node, ast.Await):
                    return ["await", "", node.lineno]
                if not isinstance(node, ast.Call) or id(node) in raised or self._cheap(node):
                    continue
                reference = (
                    self.names.reference(
                        node.func, self.owner, frozenset(self.locals), self.receiver
                    )
                    or self._instance_method(node.func, node.lineno)
                    or self._entry_method(node)
                )
                if reference is None:
                    return ["call", _short(node.func), node.lineno]
                references.append(reference)
                calls.append([_short(node.func), node.lineno])
        return ["run", references, calls] if references else None

    def _mapped_work(self, function: ast.expr) -> list[Any] | None:
        """The work of `map(function, ...)` per entry, as `_work_in` gives a loop's."""
        if isinstance(function, ast.Lambda):
            return self._work_in([function.body])
        if isinstance(function, ast.Constant):
            return None  # `filter(None, ids)`: a truth test
        call = ast.Call(func=function, args=[], keywords=[])
        if self._cheap(call):
            return None
        reference = self.names.reference(
            function, self.owner, frozenset(self.locals), self.receiver
        )
        if reference is None:
            return ["call", _short(function), function.lineno]
        return ["run", [reference], [[_short(function), function.lineno]]]

    def _loop_work(self, subject: str, work: list[Any], node: ast.AST) -> None:
        line = getattr(node, "lineno", 0)
        if work[0] == "run":
            # Judged when queried: work if a callee of the run is not cheap.
            self.hands.setdefault(subject, []).append(["loop", work[1], work[2], line, ""])
            return
        what = "awaiting" if work[0] == "await" else f"calling `{work[1]}`"
        self.uses.setdefault(subject, [f"a loop over it {what} (line {work[2]}) per entry", line])

    def _cheap(self, call: ast.Call) -> bool:
        func = call.func
        method = func.attr if isinstance(func, ast.Attribute) else None
        if (
            method is not None
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in self.objects
        ):
            return False  # `client.get(url)` on a module-level client
        if self._imported_value(func):
            return False  # `session.get(id)` on a session another module made
        return cheap_callee(ast_dotted(func), method, self.names.aliases, self.patterns)

    def _imported_value(self, func: ast.expr) -> bool:
        """`from app.db import session`: a value imported by name from a module outside
        the standard library (a session, a client, a cache another module made, or a
        module whose functions the summaries judge): its cheap-named methods are not
        `dict.get` on a local, whatever their name."""
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return False
        name = func.value.id
        if name in self.params or name in self.locals or name == self.receiver:
            return False
        target = self.names.aliases.get(name, "")
        return "." in target and target.partition(".")[0] not in sys.stdlib_module_names


def _loaded(name: ast.Name) -> bool:
    return isinstance(name.ctx, ast.Load)


def _merged(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """One record of two functions of one name (`_collect_function`): each subject's
    first use, every hand-off of either, the later one's parameters."""
    merged = dict(later)
    merged["uses"] = {**later["uses"], **earlier["uses"]}
    merged["hands"] = {
        subject: [*earlier["hands"].get(subject, []), *later["hands"].get(subject, [])]
        for subject in earlier["hands"].keys() | later["hands"].keys()
    }
    copies = {**earlier.get("copies", {}), **later.get("copies", {})}
    if copies:
        merged["copies"] = copies
    return merged


def _annotation_names(
    annotation: ast.expr, qualify: Callable[[ast.expr], str | None] | None = None
) -> tuple[str, ...]:
    """The names an annotation mentions, sorted (`list[Item] | None`): short, or, with
    `qualify`, the qualified name of a class as the file's imports (or its own
    definitions) name it (`pb2.LoggedModel`: `mlflow.protos.service_pb2.LoggedModel`),
    where they do; builtin and `typing` names stay short (`UNTYPED_NAMES`)."""
    found: set[str] = set()
    for node in ast.walk(annotation):
        if not isinstance(node, (ast.Name, ast.Attribute)):
            continue
        short = node.id if isinstance(node, ast.Name) else node.attr
        qualified = qualify(node) if qualify is not None and short not in UNTYPED_NAMES else None
        found.add(qualified or short)
    return tuple(sorted(found))


def _empty_default(value: ast.expr) -> bool:
    """`[]`, `{}`, `()`, `None`, `""`: the fallback of `x or []`, typeless."""
    if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        return not value.elts
    if isinstance(value, ast.Dict):
        return not value.keys
    return isinstance(value, ast.Constant)


def _typed_read(field_name: str, path: TypePath | None) -> str:
    """The subject of a read of `field_name` from a value of type path `path` (see
    `_read`): `a:env@ModelSpec>roles` for `role.env` in `for role in spec.roles` with
    `spec: ModelSpec`; a plain `a:env` when the value's type is not known, or is only
    a builtin or `typing` container (`for op in ops` with `ops: list[dict]`: a dict of
    any shape, no class's field)."""
    if path is None or not set(path[0]) - UNTYPED_NAMES:
        return _read(field_name)
    roots, fields = path
    if not all(step.isidentifier() for step in fields):
        return _read(field_name)
    return "".join([_read(field_name, *roots), *(f">{step}" for step in fields)])


def _read(field_name: str, *owners: str | None) -> str:
    """The subject of a read of `field_name`: `a:ids` from a value of unknown type (a
    dict, a local, an attribute chain), `a:ids@NoteForm,Optional` from a parameter
    annotated with those names or a validator's class (`WorkIndex.field_evidence`
    matches it only against the field's own class, its subclasses and its bases)."""
    named = sorted({owner for owner in owners if owner})
    return f"a:{field_name}@{','.join(named)}" if named else f"a:{field_name}"


def top_package(module: str) -> str:
    """The top-level package of a dotted module name as imports name it: below any
    component that cannot be imported (`gpustack-2.3.0`, a distribution's folder) and
    below a leading `src` layout folder (`src.app.routes` is `app`'s)."""
    parts = module.split(".")
    start = 0
    for index, part in enumerate(parts):
        if not part.isidentifier():
            start = index + 1
    if start == 0 and len(parts) > 1 and parts[0] == "src":
        start = 1
    return parts[start] if start < len(parts) else parts[-1]


def typed(subject: str) -> bool:
    """A read whose value is known to hold a model of the run's (`a:ids@NoteForm`, a
    typed path, a validator's class): by its owners, the field of one class only. An
    untyped read (`a:ids`, `a:ids@~`) matches every value with an attribute or key of
    that name, a web-search response's `data` as well as a calendar form's: it is
    evidence only where the model's value is known to arrive, a function the model
    is handed to (`WorkIndex._candidates`, `whole`)."""
    return bool(field_of(subject)[1] - {FETCHED})


def field_of(subject: str) -> tuple[str, frozenset[str], tuple[str, ...]]:
    """(field name, owner names, fields read from them) of an `a:` subject (see
    `_read`, `_typed_read`)."""
    name, _, typed = subject[2:].partition("@")
    owners, *path = typed.split(">")
    return name, frozenset(owners.split(",")) if owners else frozenset(), tuple(path)


def _maps_per_entry(call: ast.Call) -> bool:
    """`map(fn, xs)`, `filter(fn, xs)`, `pool.map(fn, xs)`: a call of `fn` per entry."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in _MAPPERS
    return isinstance(func, ast.Attribute) and func.attr in _POOL_MAPPERS and bool(call.args)


def _named(func: ast.expr, name: str) -> bool:
    return isinstance(func, ast.Name) and func.id == name


def _short(func: ast.expr, limit: int = 40) -> str:
    text = ast.unparse(func)
    return text if len(text) <= limit and "\n" not in text else f"….{text.rsplit('.', 1)[-1]}"


# -- the run-wide view --------------------------------------------------------------------


@dataclass(frozen=True)
class FieldOwners:
    """Whose field a typed read may be: `lineage`, the short names of the field's model,
    of the classes deriving from it and of its bases (a function taking the base may be
    handed the model); `known`, the short names of every class the
    run defines (`pydantic_models.ModelIndex`). A read through a parameter annotated
    only with other classes of the run (`spec.ids` with `spec: WorkerSpec`) is not the
    field's; one whose annotation names no class of the run (an alias, a protocol,
    another package's type) may be, and counts."""

    lineage: frozenset[str]
    known: frozenset[str]
    home: str  # the module defining the model
    # (classes, field) -> the classes that field's value may be, as
    # `ModelIndex.field_types` answers; None when only the root's type is followed
    field_types: Callable[[frozenset[str], str], frozenset[str] | None] | None = None
    # The run's class a qualified annotation names (`ModelIndex.run_class`): a typed
    # read names the class its annotation resolves to through its file's imports (`P`
    # of `from .schemas import Payload as P` is `Payload`). Unset: every annotation is
    # judged by its short name.
    run_class: Callable[[str], str | None] | None = None
    # Whether a qualified annotation names a module-level value another package made
    # (`LoggedModel = GeneratedProtocolMessageType(...)` of a protobuf module): no class
    # of the run, whatever its short name (session 14: mlflow's `proto: pb2.LoggedModel`
    # was read as the run's `LoggedModel`; `WorkIndex.field_evidence` sets it from the
    # function summaries).
    made_elsewhere: Callable[[str], bool] | None = None

    def classes_of(self, annotated: frozenset[str]) -> frozenset[str]:
        """The short names by which a read through a value annotated with `annotated`
        (short names, or qualified where the annotation's file resolves them) is judged:
        a class of the run by its own short name (an alias by the class's); a value
        another package made, none; a name the run cannot resolve by its short name, as
        before (evidence nothing disproves is kept). Another module's class of the
        model's short name still counts as the model: told apart, it silenced a right
        error (see RESULTS, session 14 second wave)."""
        found: set[str] = set()
        for token in annotated:
            _, dot, short = token.rpartition(".")
            if not dot or self.run_class is None:
                found.add(token)
                continue
            resolved = self.run_class(token)
            if resolved is not None:
                found.add(resolved.rpartition(".")[2])
            elif self.made_elsewhere is None or not self.made_elsewhere(token):
                found.add(short)
        return frozenset(found)

    def may_read(self, annotated: frozenset[str], path: Sequence[str] = ()) -> bool:
        """Whether a read through a value of the classes `annotated` (the root's
        annotation), after the fields `path`, may be this model's field. A step the run
        cannot type (a field of a class it does not know, a property, `Any`) leaves the
        value untyped: it may be. So does a step into a field of builtin types only (`data:
        dict`): a request model dumped and stored there is read back by key (open-webui's
        `feedback.data.get("sibling_model_ids")`). A root annotated with no class of
        the run (another package's `UserInfo`, `BaseModel`) is not: its `data` is that
        class's own (session 13: open-webui's OAuth `user_data.data` was taken for
        `CalendarForm.data`)."""
        annotated = self.classes_of(annotated)
        if not annotated & (self.known | self.lineage):
            return False
        classes = annotated
        for step in path:
            if self.field_types is None or not classes & self.known:
                return True  # the value's type is not known past this step
            following = self.field_types(classes & self.known, step)
            if not following:
                return True
            classes = following
        if not classes or classes & self.lineage:
            return True
        return not classes & self.known

    def holds(self, annotated: frozenset[str], path: Sequence[str]) -> bool:
        """Whether the value read through the classes `annotated` along the fields
        `path` is known to be a model of the lineage (`form.spec` with `form:
        InstanceForm`, whose `spec: Spec` holds the field): handed on, it carries the
        field to the callee. Unlike `may_read`, a step the run cannot type is no."""
        classes = self.classes_of(annotated)
        for step in path:
            if self.field_types is None or not classes & self.known:
                return False
            following = self.field_types(classes & self.known, step)
            if not following:
                return False
            classes = following
        return bool(classes & self.lineage)


@dataclass
class WorkIndex:
    """The run's collection-work facts, answering per field or parameter."""

    modules: Mapping[str, Mapping[str, Any]]
    # field name -> (module, qualname, subject) of the functions reading a field so named
    by_field: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    # class name -> (module, function, parameter) of the parameters annotated with it
    by_class: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    # method name -> (module, qualname) of the run's methods of that name: where a call
    # on an object the run cannot type (`store.create_version(...)`) may be dispatched
    by_method: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # module -> top-level packages it imports from
    imports: dict[str, frozenset[str]] = field(default_factory=dict)
    # (module, qualname, subject) of the typed reads handed to a call (`check(form.spec)`)
    handed_reads: list[tuple[str, str, str]] = field(default_factory=list)
    # field name -> (module, read subject, classes built with a keyword of its name there)
    copies: dict[str, list[tuple[str, str, tuple[str, ...]]]] = field(default_factory=dict)
    memo: dict[tuple[str, str, str, int, str | None, bool], str | None] = field(
        default_factory=dict
    )

    @classmethod
    def build(cls, facts: Mapping[str, Any]) -> WorkIndex:
        index = cls({m: f for m, f in facts.items() if f})
        for module, functions in index.modules.items():
            index.imports[module] = frozenset(functions.get(IMPORTS, ()))
            for qualname, record in functions.items():
                if qualname == IMPORTS:
                    continue
                owner, dot, method = qualname.rpartition(".")
                if dot and owner:
                    index.by_method.setdefault(method, []).append((module, qualname))
                for subject in (*record["uses"], *record["hands"]):
                    if subject.startswith("a:"):
                        name = field_of(subject)[0]
                        index.by_field.setdefault(name, []).append((module, qualname, subject))
                for subject, handed in record["hands"].items():
                    called = any(reference != "loop" for reference, *_ in handed)
                    if subject.startswith("a:") and typed(subject) and called:
                        index.handed_reads.append((module, qualname, subject))
                for param, names in record.get("annotated", {}).items():
                    for name in names:
                        index.by_class.setdefault(name, []).append((module, qualname, param))
                for subject, classes in record.get("copies", {}).items():
                    index.copies.setdefault(field_of(subject)[0], []).append(
                        (module, subject, tuple(classes))
                    )
        return index

    def field_evidence(
        self,
        name: str,
        summaries: SummaryIndex | None,
        depth: int,
        owners: FieldOwners | None = None,
    ) -> str | None:
        """Evidence that some function of the run works per entry of a field `name`: of
        the model `owners` describes, when given (a read typed with another class of
        the run is another class's field of that name). The strongest (`strongest`), in
        the order of the run's modules and functions."""
        if owners is not None:
            if summaries is not None and owners.run_class is not None:
                owners = dataclasses.replace(
                    owners, made_elsewhere=lambda token: _made_elsewhere(summaries, token)
                )
            owners = self._copied_into(name, owners)
        read = (
            self.subject_evidence(module, qualname, subject, summaries, depth)
            for module, qualname, subject in self.by_field.get(name, ())
            if typed(subject)
            and (
                owners is None
                or (owners.may_read(*field_of(subject)[1:]) and self.sees(module, owners.home))
            )
        )
        return strongest(
            itertools.chain(read, self._holder_evidence(name, summaries, depth, owners))
        )

    def _holder_evidence(
        self, name: str, summaries: SummaryIndex | None, depth: int, owners: FieldOwners | None
    ) -> Iterator[str | None]:
        """Evidence through a typed read of a model holding the field (`form.spec` of
        `spec: Spec`), handed whole to a function of the run that reads the field
        from its parameter (`check_keys(session, form.spec)`: `spec.key_ids`)."""
        if owners is None:
            return
        for module, qualname, subject in self.handed_reads:
            held, annotated, path = field_of(subject)
            if self.sees(module, owners.home) and owners.holds(annotated, (*path, held)):
                yield self.subject_evidence(
                    module, qualname, subject, summaries, depth, name, whole=True
                )

    def _copied_into(self, name: str, owners: FieldOwners) -> FieldOwners:
        """`owners` with the classes the field is copied into under its own name
        (`CreateCompletionRequest(stop=...)` by a function reading the chat request's
        `body.stop`: llama-cpp-python's server walks the stop list as
        `request.payload.stop`), to a fixpoint: a typed read of theirs reads it too."""
        lineage = set(owners.lineage)
        changed = True
        while changed:
            changed = False
            current = dataclasses.replace(owners, lineage=frozenset(lineage))
            for module, subject, classes in [
                *self.copies.get(name, ()),
                *self.copies.get(ANY_FIELD, ()),
            ]:
                if set(classes) <= lineage or not typed(subject):
                    continue  # an untyped read may be any value's: no copy of the field
                if not self.sees(module, owners.home):
                    continue
                if current.may_read(*field_of(subject)[1:]):
                    lineage.update(classes)
                    changed = True
        return dataclasses.replace(owners, lineage=frozenset(lineage))

    def sees(self, module: str, home: str) -> bool:
        """Whether code of `module` can hold a model of module `home`: it is of the same
        top-level package or imports from it. A field read by name in another package
        that never imports the model's (a second service of the run, a vendored tool)
        is that package's own field of the same name."""
        package = top_package(home)
        return top_package(module) == package or package in self.imports.get(module, ())

    def model_evidence(
        self,
        classes: Iterable[str],
        spread: str | None,
        summaries: SummaryIndex | None,
        depth: int,
        home: str | None = None,
    ) -> str | None:
        """Evidence that a parameter annotated with one of `classes` (short names), a
        model holding the field, is spread into a function of the run
        (`create(**form.model_dump())`) whose parameter named like the field `spread`
        drives work, directly or after being handed on whole. Work on the model itself
        (a serializer walking its fields) is no work per entry of the field. The
        strongest (`strongest`), in the order of `classes`, then of the run's modules."""

        def candidates() -> Iterator[str | None]:
            for name in classes:
                for module, qualname, param in self.by_class.get(name, ()):
                    if home is not None and not self.sees(module, home):
                        continue  # another package's class of that name
                    found = self.subject_evidence(
                        module, qualname, f"p:{param}", summaries, depth, spread, whole=True
                    )
                    yield None if found is None else f"{found} (reached through `{name}`)"

        return strongest(candidates())

    def subject_evidence(
        self,
        module: str,
        qualname: str,
        subject: str,
        summaries: SummaryIndex | None,
        depth: int,
        spread: str | None = None,
        whole: bool = False,
    ) -> str | None:
        """Evidence about `subject` of function `qualname`: the collection itself, or
        (`whole`) a model holding the field `spread`, whose own uses are not the field's."""
        key = (module, qualname, subject, depth, spread, whole)
        if key in self.memo:
            return self.memo[key]
        # Every step into a callee lowers `depth`, so a key never recurs while it is being
        # computed: the memo is a function of its key alone, whichever file of whichever
        # worker asked first. (The guard costs nothing if that ever changes.)
        self.memo[key] = None
        found = strongest(
            self._candidates(module, qualname, subject, summaries, depth, spread, whole)
        )
        self.memo[key] = found
        return found

    def _candidates(
        self,
        module: str,
        qualname: str,
        subject: str,
        summaries: SummaryIndex | None,
        depth: int,
        spread: str | None,
        whole: bool,
    ) -> Iterator[str | None]:
        """The evidence of one function, for `strongest`: its direct use of the subject,
        then what the calls it hands the subject to show, in source order."""
        record = self.modules.get(module, {}).get(qualname)
        if record is None:
            return
        where = f"`{qualname.rsplit('.', 1)[-1]}` ({module})"
        if whole and spread is not None:
            # A function the model reached (handed whole or dumped, `grant_all(
            # form.model_dump())`) reading a field of its name from a value of unknown
            # type (`payload["user_ids"]`) reads the model's field, in whichever package
            # it is: the call chain, not an import, shows it holds the model's data.
            # (A key without `whole` never asks for one with it: no recurrence at this depth.)
            read = f"a:{spread}"
            if read in record["uses"] or read in record["hands"]:
                yield self.subject_evidence(module, qualname, read, summaries, depth)
        use = record["uses"].get(subject)
        # a model handed whole to a model or per-entry call (`embed(form)`) still is
        # work on its inputs; a loop, fan-out or sizing of the model is about its fields
        if use is not None and (not whole or use[0].startswith(_HANDED)):
            yield f"{use[0]} in {where}, line {use[1]}"
        for reference, position, keyword, line, text in record["hands"].get(subject, ()):
            if reference == "loop":
                if whole:
                    continue  # a loop over the model's fields, not over the field's entries
                working = self._working_callee(module, position, summaries, depth)
                if working is not None:
                    # the call judged to be work, not the loop's first call
                    text, called = keyword[working]
                    yield (
                        f"a loop over it calling `{text}` (line {called}) per entry"
                        f" in {where}, line {line}"
                    )
                continue
            target = None
            if reference is not None and summaries is not None:
                target = summaries.resolve(module, reference)
            if target is None and self._unread(module, reference, summaries):
                # A partial run (some files of the package checked): what the unread
                # module does is unknown, which proves no silence.
                yield f"handed to `{text}` in {where}, line {line}, {UNREAD}"
                continue
            if target is None:
                # A call the run cannot resolve hands the collection on whole: storage
                # or forwarding, unless a method of the run of that name (the call's
                # receiver may be one of its objects) walks it with work.
                if depth > 0 and keyword != "**":
                    yield self._dispatched(
                        module, text, position, keyword, summaries, depth, spread, whole
                    )
                continue
            if depth <= 0:
                continue
            callee_module, _, callee_name = target.partition(":")
            if keyword == "**":
                # `create(**form.model_dump())`: the field arrives as the parameter of its
                # name; the model whole goes nowhere further.
                if spread is None:
                    continue
                param: str | None = spread
                spread_on, whole_on = None, False
            else:
                param = self._parameter(callee_module, callee_name, position, keyword)
                # the model handed whole: spread further on, maybe
                spread_on, whole_on = spread, whole
            if param is None:
                continue
            yield self.subject_evidence(
                callee_module, callee_name, f"p:{param}", summaries, depth - 1, spread_on, whole_on
            )

    @staticmethod
    def _unread(module: str, reference: Any, summaries: SummaryIndex | None) -> bool:
        """Whether a call names a module of the caller's own package that is not in the
        run (`from .commands import execute` with `commands.py` not checked): a partial
        run, not another package's function that only forwards."""
        if summaries is None or not isinstance(reference, list) or reference[0] != "q":
            return False
        name = str(reference[1])
        parts = name.lstrip(".").split(".")
        if any(
            summaries.module_named(".".join(parts[:cut])) is not None
            for cut in range(len(parts), 0, -1)
        ):
            return False  # a module of the run holds it: an object, a class, re-exported
        return name.startswith(".") or parts[0] == top_package(module)

    def _dispatched(
        self,
        caller: str,
        text: str,
        position: int,
        keyword: str | None,
        summaries: SummaryIndex | None,
        depth: int,
        spread: str | None,
        whole: bool,
    ) -> str | None:
        """Evidence in a method of the run named like the unresolved method call `text`
        (`store.create_version(ids=form.ids)`): an object the run cannot type may be
        one of its own, so each method of that name is asked about its parameter. The
        strongest (`strongest`), in the order of the run's modules. Only methods of
        classes the caller can hold an object of (`sees`: of its own top-level package
        or one it imports from): gpustack's `watcher.watch(...)` is no call of kserve's
        `watch`, nor open-webui's `x.add(...)` one of gradio's `ClearButton.add`
        (session 12: 14 wrong LG301 errors named another package's method)."""
        receiver, dot, method = text.rpartition(".")
        if not (dot and receiver):
            return None  # a plain function of another package: nothing of the run
        return strongest(
            self.subject_evidence(
                module, qualname, f"p:{param}", summaries, depth - 1, spread, whole
            )
            for module, qualname in self.by_method.get(method, ())
            if self.sees(caller, module)
            and (param := self._parameter(module, qualname, position, keyword)) is not None
        )

    def _working_callee(
        self, module: str, references: Sequence[Any], summaries: SummaryIndex | None, depth: int
    ) -> int | None:
        """The index of the first of a loop's calls judged to be work (`_work_in`): a
        call of the run whose callee is not cheap, or one the run cannot resolve that
        is no class of the run; None when every call is cheap."""
        for index, reference in enumerate(references):
            if summaries is None:
                return index
            if reference[0] == ENTRY_METHOD:
                # a method of the entry's own class: work unless every class the entry
                # may be is a data model of the run whose method is cheap
                methods = summaries.entry_method(module, *reference[1:])
                if methods is None or not all(summaries.cheap(m, depth) for m in methods):
                    return index
                continue
            target = summaries.resolve(module, reference)
            if target is None:
                if summaries.class_named(module, reference) is None:
                    return index
                continue
            if not summaries.cheap(target, depth):
                return index
        return None

    def _parameter(
        self, module: str, qualname: str, position: int, keyword: str | None
    ) -> str | None:
        record = self.modules.get(module, {}).get(qualname)
        if record is None:
            return None  # the callee does nothing with any subject
        params: list[str] = record["params"]
        if keyword is not None:
            return keyword
        return params[position] if 0 <= position < len(params) else None


def _made_elsewhere(summaries: SummaryIndex, qualified: str) -> bool:
    """Whether `qualified` (`mlflow.protos.service_pb2.LoggedModel`) names a module-level
    value of a module of the run made by a call of another package's class
    (`GeneratedProtocolMessageType(...)`): a protobuf message or the like, never a class
    the run defines, whatever its short name."""
    module, _, name = qualified.rpartition(".")
    target = summaries.module_named(module) if module else None
    if target is None or name in summaries.classes.get(target, {}):
        return False
    maker = summaries.instances.get(target, {}).get(name)
    if maker is None or maker[0] != "q":
        return False
    maker_module = str(maker[1]).rpartition(".")[0]
    return (
        summaries.resolve(target, maker) is None
        and summaries.class_named(target, maker) is None
        and summaries.module_named(maker_module) is None
    )


def work_index(context: FileContext) -> WorkIndex | None:
    """The run's view; None without project facts (a single file checked alone, as the
    flake8 plugin does): then nothing shows a field is only stored. A run whose files
    have no facts of this kind at all has an empty view."""
    project = context.project
    if project is None:
        return None
    view = project.view(COLLECTOR, WorkIndex.build)
    if view is None:
        view = project.derived.setdefault(COLLECTOR, WorkIndex.build({}))
    return view


def field_work_evidence(
    context: FileContext,
    name: str,
    owners: FieldOwners | None = None,
    depth: int = DEFAULT_MAX_CALL_DEPTH,
) -> str | None:
    """Evidence that the entries of a request field named `name` (of the model `owners`
    describes) drive work somewhere in the run (see the module's docstring), or None:
    only stored or forwarded."""
    index = work_index(context)
    if index is None:
        return NO_FACTS  # nothing shows it is only stored
    return index.field_evidence(name, summary_index(context), depth, owners)


def model_work_evidence(
    context: FileContext,
    classes: Iterable[str],
    spread: str | None,
    depth: int = DEFAULT_MAX_CALL_DEPTH,
) -> str | None:
    """Evidence that a model of `classes` (short names), holding the field in question
    (itself, a model nesting it, a subclass), is handed on whole to work, by code that
    can see this file's models (`WorkIndex.sees`)."""
    index = work_index(context)
    if index is None:
        return NO_FACTS
    return index.model_evidence(classes, spread, summary_index(context), depth, context.module_name)


def parameter_work_evidence(
    context: FileContext, qualname: str, param: str, depth: int = DEFAULT_MAX_CALL_DEPTH
) -> str | None:
    """Evidence that function `qualname` of this file works per entry of `param`."""
    index = work_index(context)
    if index is None:
        return NO_FACTS
    return index.subject_evidence(
        context.module_name, qualname, f"p:{param}", summary_index(context), depth
    )


register_collector(
    FactCollector(
        COLLECTOR,
        TOKENS,
        from_source=collect_source,
        from_tree=collect_tree,
        # only LG301 asks, of request models' fields and handlers' parameters
        gated_by_readers=True,
    )
)
