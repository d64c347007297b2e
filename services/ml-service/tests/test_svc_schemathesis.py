"""Property-based run of the OpenAPI schema against a real uvicorn (bounded examples).

Every response must use a declared status code and content type, match its schema, never
be a 5xx, and never carry a traceback, file path or exception class name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ml_service.testing import ServiceProcess

pytestmark = pytest.mark.server

MAX_EXAMPLES = 30

INTERNAL_DETAIL = re.compile(r'Traceback|File "|\b[A-Z]\w*(?:Error|Exception)\b|/site-packages/')


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with ServiceProcess(
        Path(tmp_path_factory.mktemp("schemathesis")),
        {"ML_SERVICE_QUEUE_SIZE": "8", "ML_SERVICE_QUEUE_WAIT_SECONDS": "30"},
    ) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(service: ServiceProcess) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{service.base_url}/openapi.json", timeout=10)


# schemathesis' own pytest plugin (``from_fixture(...).parametrize()``) reads a private
# pytest attribute that pytest 9 removed, so operations are driven through hypothesis here.
OPERATIONS = [
    ("GET", "/livez"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/v1/cluster"),
    ("POST", "/v1/anomaly"),
    ("POST", "/v1/batch"),
    ("POST", "/v1/models"),
    ("POST", "/v1/models/{model_id}/score"),
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def no_internal_details(response: schemathesis.Response) -> None:
    found = INTERNAL_DETAIL.search(response.text)
    if found is not None:
        raise AssertionError(f"response leaks internal detail: {found.group(0)!r}")


def test_schema_lists_every_operation(api_schema: schemathesis.BaseSchema) -> None:
    listed = {
        (result.ok().method.upper(), result.ok().path) for result in api_schema.get_all_operations()
    }
    assert listed == set(OPERATIONS)


CASES = [(method, path, GenerationMode.POSITIVE) for method, path in OPERATIONS] + [
    # Parameterless GETs have no invalid input to generate.
    (method, path, GenerationMode.NEGATIVE)
    for method, path in OPERATIONS
    if method == "POST"
]


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_operation_conforms_to_schema(
    api_schema: schemathesis.BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def exercise(case: schemathesis.Case) -> None:
        response = case.call_and_validate(timeout=30, checks=CHECKS)
        no_internal_details(response)

    exercise()
