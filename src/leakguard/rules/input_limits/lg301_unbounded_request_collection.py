"""LG301 unbounded-request-collection: request-body model fields with no length bound."""

from __future__ import annotations

import ast
from functools import cached_property

import libcst as cst

from leakguard.analysis.caller_trust import COLLECTOR as CALLER_TRUST
from leakguard.analysis.caller_trust import OPTION as PRIVILEGED
from leakguard.analysis.caller_trust import CallerTrust, caller_trust, privileged_handler
from leakguard.analysis.collection_work import COLLECTOR as WORK
from leakguard.analysis.collection_work import (
    FieldOwners,
    field_work_evidence,
    model_work_evidence,
    parameter_work_evidence,
    possible_only,
    strongest,
)
from leakguard.analysis.frameworks import may_have_request_handlers
from leakguard.analysis.pydantic_models import (
    COLLECTOR,
    REFUSERS,
    Level,
    LevelOptions,
    bound,
    checked_before_use,
    fact_regions,
    field_statements,
    handler_params,
    holding_models,
    local_facts,
    model_index,
    own_qualified,
    request_handlers,
    run_param_use,
)
from leakguard.analysis.summaries import COLLECTOR as SUMMARIES
from leakguard.config import RuleSpec, bundled_rule_specs
from leakguard.finding import Severity
from leakguard.rule import LintRule
from leakguard.triage import TriageTree

_COLLECTION_IMPACT = (
    "one request can carry millions of items and exhaust memory and CPU before any limit applies."
)
_STRING_IMPACT = "one request can send a string of any size (gigabytes) and exhaust memory."
_STORED_IMPACT = (
    "a later change that works per entry inherits a collection only the body-size limit caps."
)


def _impact(only_strings: bool, evidence: str | None) -> str:
    if only_strings:
        return _STRING_IMPACT
    return _COLLECTION_IMPACT if evidence is not None else _STORED_IMPACT


_COLLECTION_FIX = (
    "Bound every level, e.g. `Annotated[list[float], Field(max_length=1000)]` or "
    "`conlist(float, max_length=1000)`; strings with `Field(max_length=...)`."
)
_STRING_FIX = (
    "Add `Field(max_length=...)`, `constr(max_length=...)` or "
    "`Annotated[str, StringConstraints(max_length=...)]`."
)


def _describe(levels: list[str]) -> tuple[str, str]:
    quoted = levels
    text = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
    return text, ("has" if len(quoted) == 1 else "have")


class UnboundedRequestCollection(LintRule):
    code = "LG301"
    PROJECT_FACTS = (COLLECTOR, REFUSERS, CALLER_TRUST, WORK, SUMMARIES)

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A function that may be a request handler, or a class named like something
        the run's handlers take from requests (a model, nested or as a base), or a
        module-level function of a FastAPI file named like a provider they depend on."""
        if may_have_request_handlers(tree):
            return True
        names = [klass.name for klass in tree.of(ast.ClassDef)]
        if "fastapi" in tree.text:
            names.extend(
                node.name
                for node in tree.tree.body
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            )
        return bool(names) and tree.in_run("request_models", names)

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Its reports sit in model fields (always kept) and in request handlers'
        parameters; the file's own model facts must stay those of the whole file
        (`pydantic_models.fact_regions`, handlers included)."""
        return fact_regions(tree)

    def _options(self) -> LevelOptions:
        return LevelOptions(
            strings=bool(self.option("check_strings")),
            dict_keys=bool(self.option("check_dict_keys")),
        )

    @cached_property
    def _skip_tests(self) -> bool:
        return bool(self.option("skip_tests"))

    @cached_property
    def _trust(self) -> CallerTrust | None:
        """Routes only privileged callers reach take nothing from an untrusted client."""
        return caller_trust(self.context, self.option(PRIVILEGED))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self.skips_file(self.context.path, self.spec):
            return
        if any(isinstance(a, (cst.FunctionDef, cst.ClassDef)) for a in self.context.ancestors()):
            return
        index = model_index(self.context)
        models = index.request_models(("body",), skip_tests=self._skip_tests, trust=self._trust)
        use = models.get(own_qualified(self.context, node.name.value))
        if use is None:
            return
        klass = local_facts(self.context).get("classes", {}).get(node.name.value)
        if klass is None:
            return
        fields = klass["fields"]
        options = self._options()
        reported: set[str] = set()
        for name, statement in field_statements(node):
            tree = fields.get(name)
            if tree is None or name in reported or name in use.shadowed:
                continue
            levels = index.unbounded_levels(tree, options)
            if levels:
                reported.add(name)
                subject = f"Field `{node.name.value}.{name}`"
                evidence = self._field_evidence(name, node.name.value, levels)
                self._report(statement, subject, use.how, levels, evidence)
        root = fields.get("root")
        if root is not None and "root" not in use.shadowed and node.bases:
            levels = index.unbounded_levels(root, options)
            if levels:
                evidence = self._field_evidence(None, node.name.value, levels)
                subject = f"Root model `{node.name.value}`"
                self._report(node.bases[0], subject, use.how, levels, evidence)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.skips_file(self.context.path, self.spec):
            return
        index = model_index(self.context)
        if id(node) in request_handlers(self.context):
            if privileged_handler(node, self.context, self.option(PRIVILEGED)):
                return
            how = f"the request body of route handler `{node.name.value}`"
        elif (provider := self._provider_name(node)) and index.is_provider(
            own_qualified(self.context, provider), skip_tests=self._skip_tests, trust=self._trust
        ):
            how = f"the request body of dependency `{provider}`"
        else:
            return
        options = self._options()
        for param in handler_params(node):
            use = run_param_use(param, self.context)
            if use is None or use[0] != "body":
                continue
            if not use[2] and not index.models_in(use[1]):
                continue  # `request: Request`, `tasks: BackgroundTasks`...
            tree = use[1]
            if checked_before_use(node, param.name.value, self.context):
                tree = bound(tree, True, False)  # refused before any work when too long
            levels = index.unbounded_levels(tree, options)
            if levels:
                evidence = None
                if not all(level.is_string for level in levels):
                    qualname = self._qualname(node)
                    evidence = parameter_work_evidence(self.context, qualname, param.name.value)
                self._report(param, f"Parameter `{param.name.value}`", how, levels, evidence)

    def _field_evidence(self, name: str | None, model: str, levels: list[Level]) -> str | None:
        """What works per entry of the field (`analysis/collection_work.py`): its entries
        looped over with work, fanned out, handed to a model...; or a model holding it
        handed on whole where the run cannot follow. None: only stored or forwarded.
        Found work wins over possible work, whichever of the two searches shows it."""
        if all(level.is_string for level in levels):
            return None
        index = model_index(self.context)
        qualified = own_qualified(self.context, model)
        found = None
        if name is not None:
            # this model's field: read through a value of its class (or a subclass or a
            # base) or of a type the run does not know, not another class's field
            owners = FieldOwners(
                index.lineage(qualified),
                index.class_names,
                self.context.module_name,
                index.field_types,
                index.run_class,
            )
            found = field_work_evidence(self.context, name, owners)
            if found is not None and not possible_only(found):
                return found
        holders = holding_models(index, qualified, self._skip_tests)
        return strongest((found, model_work_evidence(self.context, holders, name)))

    def _qualname(self, node: cst.FunctionDef) -> str:
        outer = [
            a.name.value
            for a in self.context.ancestors()
            if isinstance(a, (cst.FunctionDef, cst.ClassDef))
        ]
        return ".".join([*reversed(outer), node.name.value])

    def _provider_name(self, node: cst.FunctionDef) -> str | None:
        """The name under which a route handler of the run may depend on `node`
        (`Depends(provider)`): a module-level function's own, or its class's for the
        `__init__` of a module-level class (`Depends(Pager)`: FastAPI calls the class and
        reads the parameters of its `__init__` from the request too)."""
        outer = [
            a for a in self.context.ancestors() if isinstance(a, (cst.FunctionDef, cst.ClassDef))
        ]
        if not outer:
            return node.name.value
        if len(outer) == 1 and isinstance(outer[0], cst.ClassDef) and node.name.value == "__init__":
            return outer[0].name.value
        return None

    def _report(
        self,
        node: cst.CSTNode,
        subject: str,
        how: str,
        levels: list[Level],
        evidence: str | None,
    ) -> None:
        text, verb = _describe([level.text for level in levels])
        only_strings = all(level.is_string for level in levels)
        severity: Severity | None = None
        own_severity = self.spec.severity == bundled_rule_specs()[self.code].severity
        if only_strings:
            if own_severity:
                # The server's body-size limit caps a string, and it rarely drives work.
                severity = Severity.parse(str(self.option("string_severity")))
            work, why = "", ""
        elif evidence is not None:
            # Without the run's facts (a file checked alone) the finding keeps `error` on
            # the safe side: say it is possible, not found.
            unseen = possible_only(evidence)
            label = "Possible per-entry work" if unseen else "Per-entry work"
            work = "; its entries may drive work" if unseen else "; its entries drive work"
            why = f"{label}: {evidence}. "
        else:
            # Only stored or forwarded, as far as the run shows: the body-size limit
            # caps it as it caps a string; an unbounded level with work keeps `error`.
            if own_severity:
                severity = Severity.parse(str(self.option("stored_collection_severity")))
            work = "; no per-entry work found"
            why = (
                "No per-entry work found in the run (no loop doing work over it, fan-out, "
                "per-entry call or model handed it): the body-size limit caps what is only "
                "stored or forwarded (`stored_collection_severity`). "
            )
        self.report(
            node,
            severity=severity,
            subject=subject,
            how=how,
            levels=text,
            verb=verb,
            work=work,
            why=why,
            impact=_impact(only_strings, evidence),
            fix=_STRING_FIX if only_strings else _COLLECTION_FIX,
        )
