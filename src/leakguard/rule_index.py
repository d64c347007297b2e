"""Rule code -> (module, project-fact collectors it reads), for every rule shipped.

What the run's parent process needs to know about the rules without importing them (and
with them LibCST). Generated after adding a rule or changing its `PROJECT_FACTS`:
`python -m leakguard.registry > src/leakguard/rule_index.py`, then `ruff format` it;
tests/test_startup.py fails while this file and the rule classes disagree.
"""

from __future__ import annotations

RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "LG001": ("leakguard.rules.meta.lg001_unused_suppression", ()),
    "LG101": ("leakguard.rules.memory.lg101_shared_fitted_state", ()),
    "LG102": ("leakguard.rules.memory.lg102_loop_accumulation", ()),
    "LG103": ("leakguard.rules.memory.lg103_large_allocation_retained", ()),
    "LG104": ("leakguard.rules.memory.lg104_unstopped_tracemalloc", ("summaries",)),
    "LG105": ("leakguard.rules.memory.lg105_unenforced_memory_measurement", ()),
    "LG106": ("leakguard.rules.memory.lg106_closure_state_accumulation", ()),
    "LG107": ("leakguard.rules.memory.lg107_context_manager_retention", ()),
    "LG108": (
        "leakguard.rules.memory.lg108_unbounded_cache",
        ("singletons", "lifetimes", "summaries"),
    ),
    "LG109": ("leakguard.rules.memory.lg109_cyclic_retention", ()),
    "LG110": ("leakguard.rules.memory.lg110_model_load_per_request", ("summaries",)),
    "LG201": (
        "leakguard.rules.eventloop.lg201_blocking_call_in_async",
        ("summaries", "startup", "modules"),
    ),
    "LG202": (
        "leakguard.rules.eventloop.lg202_false_async",
        ("async_interfaces", "summaries", "pydantic_models", "startup", "modules"),
    ),
    "LG203": ("leakguard.rules.eventloop.lg203_deprecated_get_event_loop", ()),
    "LG204": ("leakguard.rules.eventloop.lg204_offload_without_timeout", ("summaries",)),
    "LG205": (
        "leakguard.rules.eventloop.lg205_unbounded_concurrency",
        ("pydantic_models", "summaries", "caller_trust"),
    ),
    "LG206": ("leakguard.rules.eventloop.lg206_per_call_executor", ()),
    "LG301": (
        "leakguard.rules.input_limits.lg301_unbounded_request_collection",
        ("pydantic_models", "length_refusers", "caller_trust", "collection_work", "summaries"),
    ),
    "LG302": (
        "leakguard.rules.input_limits.lg302_unbounded_resource_parameter",
        ("pydantic_models", "clamped_params", "caller_trust"),
    ),
    "LG303": (
        "leakguard.rules.input_limits.lg303_unbounded_batch_iteration",
        ("pydantic_models", "summaries", "caller_trust"),
    ),
    "LG401": (
        "leakguard.rules.serialization.lg401_unsafe_deserialization",
        ("summaries", "startup"),
    ),
    "LG402": ("leakguard.rules.serialization.lg402_pickle_model_persistence", ()),
    "LG403": (
        "leakguard.rules.serialization.lg403_unverified_model_load",
        ("summaries", "startup"),
    ),
    "LG501": ("leakguard.rules.web.lg501_wildcard_cors", ("summaries",)),
    "LG502": (
        "leakguard.rules.web.lg502_exception_detail_leak",
        (
            "constant_callables",
            "exception_texts",
            "pydantic_models",
            "summaries",
            "caller_trust",
            "modules",
            "request_state",
        ),
    ),
    "LG503": ("leakguard.rules.web.lg503_debug_mode_enabled", ()),
}

# Collectors with `gated_by_readers` (`analysis/project.py`): the facts pass collects
# them only in a run where some file may be analysed by a rule that reads them.
GATED_BY_READERS: frozenset[str] = frozenset(
    {
        "caller_trust",
        "clamped_params",
        "class_table_uses",
        "collection_work",
        "exception_texts",
        "length_refusers",
        "request_state",
        "startup",
    }
)
