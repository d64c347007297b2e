"""LG204 offload-without-timeout: awaited thread offloads on a request path with no
timeout around them, whose work waits on something outside the process with no deadline
of its own or runs model code (catalog v1.1: fires on evidence, named in the message).
A request path starts at a request handler of the same file (`analysis/request_paths`)
or of another file of the run (the function summaries' call graph, `max_call_depth`
calls deep); a call its caller bounds with a timeout is not followed.

The evidence (`_evidence`): the offloaded callable, through the run's summaries
(`local_call_depth` functions deep), reaches a wait without a deadline
(`analysis/deadlines`: `requests.post` without `timeout=`, `subprocess.run` without one,
a client built without its deadline keyword, a deadline repeated per item of the
offloaded function's own loop or recursion, a lock held around a wait) or model work
(LG201's vocabulary: `predict` on a loaded model, `fit`); or the offloaded method is
one of a client the coroutine built without a deadline (`connection.bind` of an
`ldap3.Connection` without `receive_timeout`) or of a model (`model.predict`); or a
value handed to the thread comes from such a wait (a streamed response's body), or is a
generator of the run the thread drains. No evidence (an unresolved callee, local work,
waits that carry their own deadline, name lookups), no finding.

Silent before the evidence is looked for: offloading a callable proven to do only
local, bounded work (`analysis/locality`, with the `local_calls` option), a method of a
local file the function opened itself, a generator function (the offload only makes
the generator), or a `next()` step of an iterator every maker of which is a generator
of the run whose body is proven local with the values the coroutine handed it
(`analysis/locality`: `creates_generator`, `generator_steps_local`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property

import libcst as cst

from leakguard.analysis.asyncio_facts import (
    TIMEOUT_CONTEXTS,
    WAIT_FOR_FUNCTIONS,
    calls_with_timeout_state,
    coroutine_of,
    offload_call,
)
from leakguard.analysis.blocking import BlockingCalls, configured_options, describe_method
from leakguard.analysis.deadlines import (
    WAITING_MAKERS,
    cst_keywords,
    lock_wait,
    repeated_wait,
    untimed_client,
    untimed_client_locals,
    untimed_method,
    untimed_wait,
)
from leakguard.analysis.estimators import receiver_estimator
from leakguard.analysis.files import file_handles
from leakguard.analysis.imports import dotted_name, matches_any
from leakguard.analysis.locality import (
    LOCAL_CALLS,
    argument_calls,
    constructed_locals,
    creates_generator,
    generator_steps_local,
    handed_value,
    known_receiver,
    local_builtin_result,
    nested_function,
    own_names,
    reference_local,
    result_local,
    value_makers,
)
from leakguard.analysis.request_paths import qualified_name, request_path_regions, request_paths
from leakguard.analysis.summaries import COLLECTOR as SUMMARIES
from leakguard.analysis.summaries import clamp_depth, cst_reference, summary_index
from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.finding import Related
from leakguard.rule import LintRule
from leakguard.slicing import callee_regions
from leakguard.triage import TriageTree, enclosing_functions, last_names

# What the offloaded work must show to be reported (`analysis/summaries` facts): a wait
# without a deadline of its own, or model work.
_EVIDENCE_KINDS = ("waits", "cpu_heavy")
_LOCALS = re.compile(r"`[\w.]*<locals>\.")
# How the message names the evidence (what it lacks in full is in the related locations).
_WAIT = "has no deadline"
_MODEL_WORK = "runs a model"
# A finding's evidence: the text naming it, and the steps leading to it.
Evidence = tuple[str, tuple[Related, ...]]

_OFFLOAD_NAMES = frozenset({"run_in_executor", "to_thread", "run_sync", "run_in_threadpool"})
# Awaited wrappers that pass their awaitable arguments through (timeouts are judged apart).
_AWAITED_WRAPPERS = frozenset(
    {
        "asyncio.gather",
        "asyncio.tasks.gather",
        "asyncio.wait_for",
        "asyncio.tasks.wait_for",
        "asyncio.shield",
        "asyncio.tasks.shield",
    }
)


class OffloadWithoutTimeout(LintRule):
    code = "LG204"
    # Function summaries of the run: request handlers in other files that reach a
    # function of this one.
    PROJECT_FACTS = (SUMMARIES,)

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A call to an offloading function (perhaps renamed on import)."""
        return bool(tree.called & _OFFLOAD_NAMES)

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Each offloading call's function and the functions that may reach it from a
        request handler of the file (`request_paths`)."""
        if not tree.called & _OFFLOAD_NAMES:
            return []
        offloads = [
            call for call in tree.of(ast.Call) if last_names(tree, call.func) & _OFFLOAD_NAMES
        ]
        functions = enclosing_functions(tree, offloads)
        found = request_path_regions(tree, functions, int(spec.option("max_call_depth")))
        # The functions of the file an offload hands over: their names must resolve
        # (`cst_reference`) to judge whether they do only local work; for a `next` step,
        # those the stepping function calls (the generator functions making iterators).
        stepping = enclosing_functions(
            tree,
            [
                c
                for c in offloads
                if any(isinstance(a, ast.Name) and a.id == "next" for a in c.args)
            ],
        )
        callees = callee_regions(tree, [*offloads, *stepping])
        return [*found, *callees] if found else []

    @cached_property
    def _extra_timeouts(self) -> frozenset[str]:
        return frozenset(self.option("timeout_contexts"))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            last = func.attr.value
        elif isinstance(func, cst.Name):
            last = self.context.imports.aliases.get(func.value, "").rsplit(".", 1)[-1]
        else:
            return
        if last not in _OFFLOAD_NAMES:
            return
        offload = offload_call(node, self.context)
        if offload is None or not self._awaited(node):
            return
        function = coroutine_of(self.context)
        if function is None or _local_file_io(offload.target, function, self.context):
            return
        if self._creates_generator(offload.target, function):
            return
        if self._local_step(node, offload.target, function):
            return
        if self._proven_local(offload.target, function) and self._arguments_local(
            node, offload.target, function
        ):
            return
        extra = self._extra_timeouts
        paths = request_paths(
            self.context,
            int(self.option("max_call_depth")),
            lambda caller: _untimed_calls(caller, self.context, extra),
            key=("LG204", extra),
        )
        where = paths.reached.get(id(function))
        related: tuple[Related, ...] = ()
        if where is None:
            where, related = self._reached_from_other_file(function)
        if where is None or _timed(node, function, self.context, self._extra_timeouts):
            return
        evidence = self._evidence(node, offload.target, function)
        if evidence is None:
            return  # no wait without a deadline, no model work: nothing a timeout frees
        text, steps = evidence
        self.report(node, call=offload.name, where=where, evidence=text, related=(*related, *steps))

    # -- evidence: what the offloaded work waits on -----------------------------------

    @cached_property
    def _blocking(self) -> BlockingCalls:
        """LG201's vocabulary as the run configures it: which calls run model code."""
        return BlockingCalls(self.context, configured_options(self.context))

    def _evidence(
        self, node: cst.Call, target: cst.BaseExpression | None, function: cst.FunctionDef
    ) -> Evidence | None:
        """What makes the offloaded work worth a deadline: a wait on a peer or a child
        process carrying none of its own (`analysis/deadlines`), or model work (LG201's
        verdict), in the callable itself or, through the run's function summaries, in
        what it calls; or in a call an argument comes from (`requests.get(url,
        stream=True).raw`, read in the thread). None: no such evidence."""
        handed = self._offload_args(node, target) if target is not None else []
        found = self._callable_evidence(target, handed, function)
        if found is not None:
            return found
        for argument in self._handed_values(node, target):
            if isinstance(argument, cst.GeneratorExp):
                # `(requests.get(u) for u in urls)`: its calls run as the thread drains it
                for call in _calls_in(argument):
                    found = self._call_evidence(call, function)
                    if found is not None:
                        return found
            for made in argument_calls(argument, function, self.context) or ():
                for call in _calls_in(made):
                    found = self._handed_evidence(call, function)
                    if found is not None:
                        return found
            for made, awaited in value_makers(argument, function, self.context) or ():
                for call in () if awaited else _calls_in(made):
                    found = self._handed_evidence(call, function)
                    if found is not None:
                        return found
                offload = offload_call(made, self.context) if awaited else None
                if offload is not None and offload.target is not None:
                    # `await to_thread(sizes, urls)` made a generator this thread drains
                    found = self._generator_evidence(offload.target, function)
                    if found is not None:
                        return found
        return None

    def _generator_evidence(
        self, maker: cst.BaseExpression, function: cst.FunctionDef
    ) -> Evidence | None:
        """A generator function of the run `maker` names, whose body has evidence: the
        thread that consumes what it made runs that body."""
        if not isinstance(maker, (cst.Name, cst.Attribute)):
            return None
        reference = cst_reference(maker, self.context) or _nested_reference(
            maker, function, self.context
        )
        if not creates_generator(summary_index(self.context), self.context.module_name, reference):
            return None
        return self._summary_evidence(reference)

    def _handed_evidence(self, call: cst.Call, function: cst.FunctionDef) -> Evidence | None:
        """A call a value handed to the thread comes from: a wait without a deadline
        whose value the thread reads (`requests.get(url, stream=True).raw`, a socket's
        `makefile()`, a `requests.Session()` it sends with), or a generator of the run
        whose body the thread runs as it consumes it (`next(pages(url))`). Other calls
        ran on the loop before the offload: not the thread's work."""
        keywords = cst_keywords(call.args)
        made = self.context.imports.call_name(call)
        if made is not None:
            if made in WAITING_MAKERS:
                handed = "is handed to it: its requests carry no default timeout"
                return self._direct(f"`{made}()`", handed, call)
            what = untimed_wait(made, keywords) or untimed_client(made, keywords)
            if what is not None:
                return self._direct(f"`{made}`", f"{what}, and its value is read there", call)
        func = call.func
        if isinstance(func, cst.Attribute):
            found = self._method_evidence(func, keywords, function)
            if found is not None:
                return found
            what = untimed_method(func.attr.value, keywords, None)
            if what is not None:
                shown = dotted_name(func) or "…." + func.attr.value
                return self._direct(f"`{shown}`", f"{what}, and its value is read there", call)
        return self._generator_evidence(func, function)

    def _handed_values(
        self, node: cst.Call, target: cst.BaseExpression | None
    ) -> list[cst.BaseExpression]:
        """What the thread is handed: the offload's arguments, a `functools.partial`'s,
        and the names a lambda reads (`lambda: sum(rows)`)."""
        values = [a.value for a in node.args if a.value is not target]
        if isinstance(target, cst.Call):  # `functools.partial(f, stream)`
            values.extend(a.value for a in target.args[1:])
        if isinstance(target, cst.Lambda):
            parameters = {p.name.value for p in target.params.params}
            values.extend(name for name in _names_in(target.body) if name.value not in parameters)
        return values

    def _callable_evidence(
        self,
        target: cst.BaseExpression | None,
        handed: list[cst.Arg],
        function: cst.FunctionDef,
    ) -> Evidence | None:
        if isinstance(target, cst.Call):
            if self.context.imports.call_name(target) != "functools.partial" or not target.args:
                return None
            return self._callable_evidence(
                target.args[0].value, [*target.args[1:], *handed], function
            )
        if isinstance(target, cst.Lambda):
            for call in _calls_in(target.body):
                found = self._call_evidence(call, function)
                if found is not None:
                    return found
            return None
        if not isinstance(target, (cst.Name, cst.Attribute)):
            return None
        qualified = self.context.imports.qualify(target)
        shown = qualified or dotted_name(target) or "…"
        keywords = cst_keywords(handed)
        if qualified is not None:
            what = untimed_wait(qualified, keywords)
            if what is not None:
                return self._direct(f"`{shown}`", what, target)
        if isinstance(target, cst.Attribute):
            found = self._method_evidence(target, keywords, function)
            if found is not None:
                return found
        return self._summary_evidence(self._reference(target, function))

    def _method_evidence(
        self, target: cst.Attribute, keywords: dict[str, str], function: cst.FunctionDef
    ) -> Evidence | None:
        """`connection.bind` of a client the coroutine built without a deadline
        (`analysis/deadlines`), `session.get` of its `requests` session handed no
        `timeout=`, or `model.predict` of a value holding a model (LG201's verdict)."""
        method = target.attr.value
        shown = f"`{dotted_name(target) or '….' + method}`"
        receiver = target.value
        if isinstance(receiver, cst.Call):  # `requests.Session().get`
            what = untimed_method(method, keywords, self.context.imports.call_name(receiver))
            if what is not None:
                return self._direct(shown, what, target)
        if isinstance(receiver, cst.Name):
            client = untimed_client_locals(function, self.context).get(receiver.value)
            if client is not None:
                made, call, lacking = client
                if lacking is not None:
                    return self._direct(f"`{made}(...)`", lacking, call)
                what = untimed_method(method, keywords, made)
                if what is not None:
                    return self._direct(shown, what, target)
        if self._holds_model(target):
            return self._direct(shown, "runs CPU-bound model code", target, _MODEL_WORK)
        return None

    def _holds_model(self, target: cst.Attribute) -> bool:
        """`model.predict` on a value known to hold a model: by class or provenance
        (LG201's `estimator_methods`, `estimator_classes`; a loader's value,
        `app.state`), or a fitting method (`fit`)."""
        method = target.attr.value
        options = configured_options(self.context)
        if method in options["blocking_methods"]:
            return describe_method(method)[0] == "cpu_heavy"
        if method not in options["estimator_methods"]:
            return False
        classes = tuple(options["estimator_classes"])
        if receiver_estimator(target.value, self.context, classes) is not None:
            return True
        receiver = dotted_name(target.value) or ""
        if ".state." in f".{receiver}." and receiver.split(".")[0] in ("app", "request", "self"):
            return True  # `request.app.state.model`: put there at start-up
        index = summary_index(self.context)
        if index is not None:
            line = self.context.line_of(target)
            vocabulary = self._blocking.vocabulary
            if index.offloaded_model_at(self.context.module_name, line, method, vocabulary):
                return True  # `self.model` a loader filled, a registry, `get_model()`
        return self._loaded_model(target.value)

    def _loaded_model(self, receiver: cst.BaseExpression) -> bool:
        """A name the coroutine (or the module) bound only to a model loader's value
        (`joblib.load(path)`, `get_model()` of the run returning one)."""
        if not isinstance(receiver, cst.Name):
            return False
        function = coroutine_of(self.context)
        makers = value_makers(receiver, function, self.context) if function else None
        if not makers:
            return False
        vocabulary = self._blocking.vocabulary
        index = summary_index(self.context)
        for call, awaited in makers:
            made = self.context.imports.call_name(call)
            if made is not None and vocabulary.is_loader(made):
                continue
            if awaited:
                offload = offload_call(call, self.context)
                inner = offload.target if offload is not None else None
                made = self.context.imports.qualify(inner) if inner is not None else None
                if made is not None and vocabulary.is_loader(made):
                    continue
            reference = cst_reference(call.func, self.context)
            if index is None or reference is None:
                return False
            made_by = index.resolve(self.context.module_name, reference)
            if index.returns_model(made_by, vocabulary) is None:
                return False
        return True

    def _call_evidence(self, call: cst.Call, function: cst.FunctionDef) -> Evidence | None:
        """A call of a lambda or of an argument: a wait without a deadline itself
        (`requests.get(url)`, `session.get(url, stream=True)`), model work, or a
        function of the run whose summaries carry such evidence."""
        keywords = cst_keywords(call.args)
        qualified = self.context.imports.call_name(call)
        if qualified is not None:
            what = untimed_wait(qualified, keywords) or untimed_client(qualified, keywords)
            if what is not None:
                return self._direct(f"`{qualified}`", what, call)
        func = call.func
        if isinstance(func, cst.Attribute):
            found = self._method_evidence(func, keywords, function)
            if found is not None:
                return found
            what = untimed_method(func.attr.value, keywords, None)
            if what is not None:
                return self._direct(f"`{dotted_name(func) or '….' + func.attr.value}`", what, call)
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return None
        return self._summary_evidence(self._reference(func, function))

    def _reference(
        self, callee: cst.Name | cst.Attribute, function: cst.FunctionDef
    ) -> list[str] | None:
        """The function `callee` names, as the run's summaries name it: through imports,
        aliases and `self`, a class instantiated in place (`PasswordHasher().hash`), a
        local the coroutine bound to one class's instance, or a function defined in it."""
        return (
            cst_reference(callee, self.context)
            or self._instance_method(callee)
            or _constructed_method(callee, function, self.context)
            or _nested_reference(callee, function, self.context)
        )

    def _summary_evidence(self, reference: list[str] | None) -> Evidence | None:
        """Evidence in a function of the run (`reference`) or, transitively, in the
        functions it calls (`local_call_depth` deep): the summaries' `waits` fact or
        model work (`cpu_heavy`, classified with LG201's vocabulary)."""
        index = summary_index(self.context)
        if index is None or reference is None:
            return None
        fid = index.resolve(self.context.module_name, reference)
        depth = clamp_depth(int(self.option("local_call_depth")))
        chain = index.find(fid, self._blocking.vocabulary, _EVIDENCE_KINDS, depth)
        if chain is None:
            chain = repeated_wait(index, fid, depth)
        if chain is None:
            chain = lock_wait(index, fid, depth)
        if chain is None:
            return None
        here = self.context.path
        short = _MODEL_WORK if chain.kind == "cpu_heavy" else _WAIT
        # the message names the evidence itself and where it is (the message is one
        # short line); the calls leading to it are the related locations, a function
        # defined in the coroutine by its own name (`run_converter()`)
        evidence = chain.evidence
        where = (
            f"line {evidence.line}"
            if evidence.path == here
            else f"{evidence.path.rsplit('/', 1)[-1]}:{evidence.line}"
        )
        text = f"{evidence.label} ({where}) {short}"
        steps = tuple(replace(step, label=_LOCALS.sub("`", step.label)) for step in chain.steps)
        related = replace(chain, steps=steps).related()
        return text, tuple(Related(*step) for step in related)

    def _direct(self, shown: str, what: str, node: cst.CSTNode, short: str = _WAIT) -> Evidence:
        """Evidence seen at the offload itself: `shown` and a short word in the message,
        what it does in full at `node`."""
        line = self.context.line_of(node)
        return f"{shown} {short}", (Related(self.context.path, line, f"{shown} {what}"),)

    def _creates_generator(
        self, target: cst.BaseExpression | None, function: cst.FunctionDef
    ) -> bool:
        """The offloaded callable is a generator function (`analysis/locality`): the
        offload only makes the generator and returns at once, a timeout around it bounds
        nothing. Its steps are judged where they run (`to_thread(next, iterator)`)."""
        if isinstance(target, cst.Call):
            if self.context.imports.call_name(target) != "functools.partial" or not target.args:
                return False
            return self._creates_generator(target.args[0].value, function)
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Call):
            # `Feed().rows`: the method of a class instantiated in place
            made = cst_reference(target.value.func, self.context)
            if made is None or not made[1].rsplit(".", 1)[-1][:1].isupper():
                return False
            reference: list[str] | None = [made[0], f"{made[1]}.{target.attr.value}"]
        elif isinstance(target, (cst.Name, cst.Attribute)):
            reference = cst_reference(target, self.context) or _nested_reference(
                target, function, self.context
            )
        else:
            return False
        return creates_generator(summary_index(self.context), self.context.module_name, reference)

    def _local_step(
        self, node: cst.Call, target: cst.BaseExpression | None, function: cst.FunctionDef
    ) -> bool:
        """`to_thread(next, chunks, None)`: what one offload waits for is one step of the
        iterator, the body of the generator that made it (`analysis/locality`): proven
        local, with the values the coroutine handed it where it was made (a file it
        opened), for every generator the iterator may come from."""
        if not (isinstance(target, cst.Name) and target.value == "next"):
            return False
        if cst_reference(target, self.context) is not None or "next" in own_names(function):
            return False  # not the builtin
        arguments = self._handed_arguments(node, target)
        if arguments is None or not 1 <= len(arguments) <= 2:
            return False
        if len(arguments) == 2 and not self._value_local(arguments[1], function):
            return False  # the default: handed back, never stepped, but judged anyway
        makers = value_makers(arguments[0], function, self.context)
        if not makers:
            return False
        return all(self._steps_local(call, awaited, function) for call, awaited in makers)

    def _steps_local(self, call: cst.Call, awaited: bool, function: cst.FunctionDef) -> bool:
        """The iterator `call` makes (`rows(path, file=f)`, or the value of an awaited
        offload of a generator function) steps through local work only."""
        made_by: cst.BaseExpression | None = call.func
        handed: list[cst.Arg] = list(call.args)
        if awaited:
            offload = offload_call(call, self.context)
            if offload is None or offload.target is None:
                return False  # what a coroutine hands back: unknown
            made_by = offload.target
            handed = self._offload_args(call, offload.target)
        if not isinstance(made_by, (cst.Name, cst.Attribute)):
            return False
        reference = cst_reference(made_by, self.context) or _nested_reference(
            made_by, function, self.context
        )
        index = summary_index(self.context)
        if reference is None or index is None:
            return False
        if not creates_generator(index, self.context.module_name, reference):
            return False

        def handed_local(name: str, position: int | None) -> bool:
            value = handed_value(handed, name, position)
            return value is not None and self._value_local(value, function)

        depth = clamp_depth(int(self.option("local_call_depth")))
        return generator_steps_local(
            index, self.context.module_name, reference, handed_local, self._local_calls, depth
        )

    def _value_local(self, value: cst.BaseExpression, function: cst.FunctionDef) -> bool:
        """Every call `value` may come from (`value_makers`) hands back a local value: a
        known-local call's, a run function's proven local, or an awaited offload's whose
        callable's result is (`await to_thread(open_all, paths)`)."""
        makers = value_makers(value, function, self.context)
        if makers is None:
            return False
        for call, awaited in makers:
            if not awaited:
                if not self._call_result_local(call, function):
                    return False
                continue
            offload = offload_call(call, self.context)
            target = offload.target if offload is not None else None
            if not isinstance(target, (cst.Name, cst.Attribute)):
                return False
            reference = cst_reference(target, self.context)
            if reference is None or not self._judge(result_local, reference):
                return False
        return True

    def _handed_arguments(
        self, node: cst.Call, target: cst.BaseExpression
    ) -> list[cst.BaseExpression] | None:
        """The positional values an offload hands its callable (None: a keyword or a
        starred one, not followed)."""
        handed = self._offload_args(node, target)
        if any(a.keyword is not None or a.star for a in handed):
            return None
        return [a.value for a in handed]

    @staticmethod
    def _offload_args(node: cst.Call, target: cst.BaseExpression) -> list[cst.Arg]:
        """The arguments an offload call hands its callable `target` (those after it)."""
        for position, arg in enumerate(node.args):
            if arg.value is target:
                return list(node.args[position + 1 :])
        return []

    @cached_property
    def _local_calls(self) -> tuple[str, ...]:
        return tuple(str(name) for name in self.option("local_calls"))

    def _proven_local(self, target: cst.BaseExpression | None, function: cst.FunctionDef) -> bool:
        """The offloaded callable does only local, bounded work (`analysis/locality`):
        a known-local function, a function or method of the run proven local, a
        `functools.partial` of one, or a lambda whose every call is one."""
        if isinstance(target, cst.Call):
            if self.context.imports.call_name(target) != "functools.partial" or not target.args:
                return False
            return self._proven_local(target.args[0].value, function)
        if isinstance(target, cst.Lambda):
            # every call in it is local; a method of a call's value (`Path(p).read_text()`)
            # is local when that call hands back a local value (not `get_session()`'s
            # module-level client), as `analysis/locality` judges it
            return all(
                self._result_local(call.func.value)
                if isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Call)
                else self._proven_local(call.func, function)
                for call in _calls_in(target.body)
            )
        if not isinstance(target, (cst.Name, cst.Attribute)):
            return False
        reference = (
            cst_reference(target, self.context)
            or self._instance_method(target)
            or _constructed_method(target, function, self.context)
            or _nested_reference(target, function, self.context)
        )
        return reference is not None and self._judge(reference_local, reference)

    def _arguments_local(
        self, node: cst.Call, target: cst.BaseExpression | None, function: cst.FunctionDef
    ) -> bool:
        """What the offload hands the callable is no live stream or connection: a call
        an argument comes from (`requests.get(url).raw`: the request runs on the loop,
        the body is read in the thread) hands back a local value (`analysis/locality`)."""
        arguments = [a.value for a in node.args if a.value is not target]
        if isinstance(target, cst.Call):  # `functools.partial(f, stream)`
            arguments.extend(a.value for a in target.args[1:])
        executor = (
            isinstance(node.func, cst.Attribute) and node.func.attr.value == "run_in_executor"
        )
        if executor and node.args and node.args[0].value is not target:
            arguments = arguments[1:]  # the executor
        for argument in arguments:
            calls = argument_calls(argument, function, self.context)
            if calls is None or not all(self._call_result_local(c, function) for c in calls):
                return False
        return True

    def _call_result_local(self, call: cst.Call, function: cst.FunctionDef) -> bool:
        """`call` hands back a value with only local methods (`Path(p)`, `str(x)`,
        `json.dumps(d)`; not a response, a socket, a value of unknown type)."""
        func = call.func
        if isinstance(func, cst.Name) and local_builtin_result(func.value):
            return True
        reference = cst_reference(func, self.context) or _constructed_method(
            func, function, self.context
        )
        if reference is None and isinstance(func, cst.Attribute):
            reference = self._instance_method(func)
            if reference is None:
                # `password.encode()`, `text.strip()`: a method of a value of known origin
                # (its sources are judged too) hands back a value as local as it is
                return known_receiver(func.value, function, self.context)
        return reference is not None and self._judge(result_local, reference)

    def _result_local(self, call: cst.Call) -> bool:
        """What `call` hands back has only local methods (the call itself is judged
        as one of the lambda's calls)."""
        reference = cst_reference(call.func, self.context)
        if reference is None:
            # `open(p).read()`, `str(x).strip()`: a builtin's own value, not one it was
            # handed (`getattr(holder, "client")`)
            return isinstance(call.func, cst.Name) and local_builtin_result(call.func.value)
        return self._judge(result_local, reference)

    def _judge(self, query: Callable[..., bool], reference: list[str]) -> bool:
        """`query` (`reference_local` or `result_local`) over the run's summaries; without
        them, only a known-local qualified name."""
        index = summary_index(self.context)
        if index is None:
            names = LOCAL_CALLS + self._local_calls
            return reference[0] == "q" and matches_any(reference[1], names)
        depth = clamp_depth(int(self.option("local_call_depth")))
        return query(index, self.context.module_name, reference, self._local_calls, depth)

    def _instance_method(self, target: cst.BaseExpression) -> list[str] | None:
        """`PasswordHasher().hash`: the method of a class instantiated in place, by the
        class's qualified name (`argon2.PasswordHasher.hash`), as `analysis/locality`
        judges it in the run's functions."""
        if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Call)):
            return None
        made = self.context.imports.call_name(target.value)
        if made is None or not made.rsplit(".", 1)[-1][:1].isupper():
            return None
        return ["q", f"{made}.{target.attr.value}"]

    def _reached_from_other_file(
        self, function: cst.FunctionDef
    ) -> tuple[str | None, tuple[Related, ...]]:
        """How a request handler of another file of the run reaches `function` (through
        the run's call graph, not through calls its callers bound with a timeout), and
        the calls on the way as related locations."""
        index = summary_index(self.context)
        if index is None:
            return None, ()
        module = self.context.module_name
        bounded = TIMEOUT_CONTEXTS | WAIT_FOR_FUNCTIONS | self._extra_timeouts
        depth = int(self.option("max_call_depth"))
        path = index.handler_path(module, qualified_name(function, self.context), depth, bounded)
        if path is None or path[0][0].split(":", 1)[0] == module:
            return None, ()  # unreached, or from this file's own handlers (followed above)
        handler = index.functions[path[0][0]]
        steps = [index.functions[fid] for fid, _ in path]
        related = tuple(
            Related(caller.path, line, f"{caller.label} calls {callee.label}")
            for caller, callee, (_, line) in zip(steps, steps[1:], path[1:], strict=False)
        )
        file = handler.path.rsplit("/", 1)[-1]
        shown = function.name.value
        return f"`{shown}` (reached from request handler `{handler.qualname}` in {file})", related

    def _awaited(self, node: cst.Call) -> bool:
        """`await offload(...)`, or an argument of an awaited `asyncio.gather/wait_for/shield`."""
        stack = self.context.stack
        parent = stack[-2] if len(stack) >= 2 else None
        if isinstance(parent, cst.Await):
            return True
        if isinstance(parent, cst.Arg) and len(stack) >= 4:
            outer, awaiting = stack[-3], stack[-4]
            return (
                isinstance(outer, cst.Call)
                and isinstance(awaiting, cst.Await)
                and self.context.imports.call_name(outer) in _AWAITED_WRAPPERS
            )
        return False


def _constructed_method(
    target: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> list[str] | None:
    """`download = Path(p); await asyncio.to_thread(download.exists)`: the method of a
    local the function bound only to an instance of one class, by that class's
    reference (`pathlib.Path.exists`; `Store.save` for a class of the file)."""
    if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)):
        return None
    made = constructed_locals(function, context).get(target.value.value)
    return None if made is None else [made[0], f"{made[1]}.{target.attr.value}"]


def _nested_reference(
    target: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> list[str] | None:
    """`def run_command(): ...` in the coroutine, then `to_thread(run_command)`: the
    nested function, as the run's summaries name it."""
    if not isinstance(target, cst.Name) or not nested_function(function, target.value, context):
        return None
    return ["l", f"{qualified_name(function, context)}.<locals>.{target.value}"]


def _calls_in(node: cst.CSTNode) -> list[cst.Call]:
    """Every call in `node` (nested lambdas included)."""
    found: list[cst.Call] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Call):
            found.append(current)
        stack.extend(current.children)
    return found


def _names_in(node: cst.CSTNode) -> list[cst.Name]:
    """Every name read in `node` (not a call's callee, nor an attribute's name)."""
    found: list[cst.Name] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            found.append(current)
        elif isinstance(current, cst.Call):
            stack.extend(a.value for a in current.args)
            if isinstance(current.func, cst.Attribute):
                stack.append(current.func.value)
        elif isinstance(current, cst.Attribute):
            stack.append(current.value)
        else:
            stack.extend(current.children)
    return found


def _local_file_io(
    target: cst.BaseExpression | None, function: cst.FunctionDef, context: FileContext
) -> bool:
    """The offloaded callable is a method of a file `function` opened (`f.write`)."""
    return (
        isinstance(target, cst.Attribute)
        and isinstance(target.value, cst.Name)
        and target.value.value in file_handles(function, context)
    )


def _timed(
    call: cst.Call, function: cst.FunctionDef, context: FileContext, extra: frozenset[str]
) -> bool:
    for found, timed in _timeout_states(function, context, extra):
        if found is call:
            return timed
    return False


def _untimed_calls(
    function: cst.FunctionDef, context: FileContext, extra: frozenset[str]
) -> list[cst.Call]:
    """Calls a request path follows: one made under a timeout is bounded in time."""
    return [call for call, timed in _timeout_states(function, context, extra) if not timed]


def _timeout_states(
    function: cst.FunctionDef, context: FileContext, extra: frozenset[str]
) -> list[tuple[cst.Call, bool]]:
    key = ("LG204.timeouts", id(function))
    cached: list[tuple[cst.Call, bool]] | None = context.memo.get(key)
    if cached is None:
        cached = list(calls_with_timeout_state(function, context, extra))
        context.memo[key] = cached
    return cached
