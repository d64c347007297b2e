"""Property-based run of the OpenAPI schema against a real uvicorn (bounded examples).

Every built-in schemathesis check runs (declared status codes, content types, response
schemas and headers, no 5xx, negative data rejected, positive data accepted, auth not
ignored, 405s with ``Allow``...), plus one of ours: no traceback, file path or exception
class name in any body.

Positive data may also get a 422: JSON Schema cannot say that rows have equal length,
that values stay within +/-1e150, or that an input fits the cost budget, so the service
checks those after the schema and answers with a documented 422.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from ml_service.testing import TEST_API_KEY, ServiceProcess

pytestmark = pytest.mark.server

MAX_EXAMPLES = 25
CONFIG = SchemathesisConfig.from_str(
    """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "404", "409", "422"]
"""
)

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
    return schemathesis.openapi.from_url(
        f"{service.base_url}/openapi.json", config=CONFIG, timeout=10
    )


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
    ("DELETE", "/v1/models/{model_id}"),
]


@schemathesis.check
def no_internal_details(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
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
    if method != "GET"
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
        case.call_and_validate(
            timeout=30,
            headers={"X-API-Key": TEST_API_KEY},
            additional_checks=[no_internal_details],
        )

    exercise()
