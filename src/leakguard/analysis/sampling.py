"""Whether a request number is a sampler's cutoff (`top_k` of LLM decoding), not a size.

A sampler's `top_k` keeps the k most likely tokens of one decoding step: the sampler
clamps k to the candidates it has (the vocabulary), and a value above that means "all
tokens", which the default (`-1`, `0`, None) already allows. A huge `top_k` costs no
more than the default. The same name in a retrieval request is the number of documents
searched, returned or re-ranked, and does size the work. The two are told apart by facts
about the model and about where the value goes:

- the model is a set of sampling parameters: it has (itself or through its bases) at
  least `MIN_SAMPLING_PARAMETERS` of the configured sampling parameter names
  (`temperature`, `top_p`, `repetition_penalty`, ...);
- no request carrying it has a retrieval field (`query`, `collection_name`, `documents`,
  ...): not the model, not a subclass or a model holding it that a handler takes, not a
  model any of those reaches;
- where the handlers taking it size work with the field, each read hands it on under a
  cutoff's name together with a sampling parameter: a keyword of a call that also gets
  `temperature=` (`get_gen_params(..., temperature=request.temperature, top_k=
  request.top_k)`), or a key of a dict that also has `"top_p"` (`echoes.Bundle`; a
  function of the same file is followed to where it hands the value on). A slice, a
  loop, a positional argument, arithmetic, `search(k=request.top_k)` keep it a size.

Where the value goes unseen (the model handed on whole, dumped into `llama(**kwargs)` or
given to a provider of another file), the model's shape decides: a sampler's parameter
set with no retrieval field. The assumption is that such a model feeds a sampler.
"""

from __future__ import annotations

from dataclasses import dataclass

from leakguard.analysis.caller_trust import CallerTrust
from leakguard.analysis.pydantic_models import ModelIndex

# One sampling parameter beside `top_k` (`temperature` alone) may sit in any request (a
# RAG request choosing its answer's temperature); two make a sampler's parameter set.
MIN_SAMPLING_PARAMETERS = 2


@dataclass(frozen=True)
class SamplingNames:
    """The configured names: `cutoffs` (numbers that only cut a sampler's candidates),
    `parameters` (a sampler's other parameters), `retrieval` (fields of a search)."""

    cutoffs: frozenset[str]
    parameters: frozenset[str]
    retrieval: frozenset[str]


def sampling_cutoff(
    index: ModelIndex,
    model: str,
    field: str,
    names: SamplingNames,
    kinds: tuple[str, ...],
    skip_tests: bool = False,
    trust: CallerTrust | None = None,
) -> bool:
    """True when `field` of the request model `model` is a sampler's cutoff (see the
    module docstring): a cutoff's name in a sampling-parameter model no retrieval
    request carries, handed on (where seen) only under a cutoff's name with a sampling
    parameter."""
    if field not in names.cutoffs:
        return False
    if len(set(index.fields(model)) & names.parameters) < MIN_SAMPLING_PARAMETERS:
        return False
    if index.request_field_names(model, kinds, skip_tests, trust) & names.retrieval:
        return False
    bundles = index.sized_bundles(model, field, kinds, skip_tests, trust)
    return bundles is not None and all(
        label in names.cutoffs and others & names.parameters for label, others in bundles
    )
