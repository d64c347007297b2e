"""Request validation: strict finite floats, shape and size caps, cost budgets."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from ml_service.estimators import OperationRejected, check_cost, dbscan_cost, kmeans_cost
from ml_service.limits import Limits
from ml_service.prescreen import MIN_BODY_BYTES, prescreen
from ml_service.schemas import BATCH_REQUEST, CLUSTER_REQUEST, DBSCANParams, KMeansParams


def kmeans_body(data: object, **extra: object) -> bytes:
    return json.dumps({"algorithm": "kmeans", "data": data, **extra}).encode()


def error_types(error: ValidationError) -> set[str]:
    return {item["type"] for item in error.errors()}


def test_valid_request_parses() -> None:
    parsed = CLUSTER_REQUEST.validate_json(kmeans_body([[1, 2.5], [3, 4]], n_clusters=2))
    assert isinstance(parsed, KMeansParams)
    assert parsed.data == [[1.0, 2.5], [3.0, 4.0]]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"algorithm":"kmeans","data":[[NaN]]}', "finite_number"),
        (b'{"algorithm":"kmeans","data":[[Infinity]]}', "finite_number"),
        (b'{"algorithm":"kmeans","data":[[1e400]]}', "finite_number"),
        (b'{"algorithm":"kmeans","data":[["1.5"]]}', "float_type"),
        (b'{"algorithm":"kmeans","data":[[true]]}', "float_type"),
        (b'{"algorithm":"kmeans","data":[[1],[2,3]]}', "ragged_rows"),
        (b'{"algorithm":"kmeans","data":[]}', "too_short"),
        (b'{"algorithm":"kmeans","data":[[]]}', "too_short"),
        (b'{"algorithm":"kmeans","data":[[1]],"n_clusters":101}', "less_than_equal"),
        (b'{"algorithm":"kmeans","data":[[1]],"n_clusters":"3"}', "int_type"),
        (b'{"algorithm":"kmeans","data":[[1]],"extra":1}', "extra_forbidden"),
        (b'{"algorithm":"svm","data":[[1]]}', "union_tag_invalid"),
        (b'{"algorithm":"dbscan","data":[[1]],"eps":0}', "greater_than"),
        (b"not json", "json_invalid"),
    ],
)
def test_invalid_input_is_rejected(raw: bytes, expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CLUSTER_REQUEST.validate_json(raw, context=Limits())
    assert expected in error_types(caught.value)


def test_more_than_1000_dimensions_is_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        CLUSTER_REQUEST.validate_json(kmeans_body([[0.0] * 1001]))
    assert "too_long" in error_types(caught.value)


def test_batch_of_101_operations_is_rejected_by_the_model() -> None:
    operation = {"algorithm": "kmeans", "data": [[1.0]], "n_clusters": 1}
    body = json.dumps({"operations": [operation] * 101}).encode()
    with pytest.raises(ValidationError) as caught:
        BATCH_REQUEST.validate_json(body)
    assert "too_long" in error_types(caught.value)
    assert (
        len(BATCH_REQUEST.validate_json(json.dumps({"operations": [operation] * 100})).operations)
        == 100
    )


def test_settings_limits_tighten_the_schema() -> None:
    tight = Limits(max_rows=2, max_dims=2, max_clusters=2, max_batch_operations=1)
    with pytest.raises(ValidationError) as rows:
        CLUSTER_REQUEST.validate_json(kmeans_body([[1], [2], [3]], n_clusters=1), context=tight)
    assert "too_many_rows" in error_types(rows.value)
    with pytest.raises(ValidationError) as dims:
        CLUSTER_REQUEST.validate_json(kmeans_body([[1, 2, 3]], n_clusters=1), context=tight)
    assert "too_many_dimensions" in error_types(dims.value)
    with pytest.raises(ValidationError) as clusters:
        CLUSTER_REQUEST.validate_json(kmeans_body([[1]], n_clusters=3), context=tight)
    assert "too_many_clusters" in error_types(clusters.value)
    operation = {"algorithm": "kmeans", "data": [[1.0]], "n_clusters": 1}
    with pytest.raises(ValidationError) as batch:
        BATCH_REQUEST.validate_json(json.dumps({"operations": [operation] * 2}), context=tight)
    assert "too_many_operations" in error_types(batch.value)


def test_dbscan_cost_budget_refuses_quadratic_inputs() -> None:
    params = DBSCANParams(algorithm="dbscan", data=[[0.0, 0.0]] * 2000)
    assert dbscan_cost(params) == 2000 * 2000 * (2 + 8)
    check_cost(params, Limits(dbscan_max_cost=dbscan_cost(params)))
    with pytest.raises(OperationRejected) as caught:
        check_cost(params, Limits(dbscan_max_cost=dbscan_cost(params) - 1))
    assert caught.value.code == "input_too_costly"


def test_kmeans_cost_counts_every_iteration_and_restart() -> None:
    # The seed's cost ignored max_iter: n_init=20, max_iter=1000 ran for many seconds
    # inside the budget. Worst-case time is proportional to all of these factors.
    data = [[0.0] * 6] * 5000
    cheap = KMeansParams(algorithm="kmeans", data=data, n_clusters=50, max_iter=10)
    dear = KMeansParams(algorithm="kmeans", data=data, n_clusters=50, n_init=20, max_iter=1000)
    assert kmeans_cost(dear) == kmeans_cost(cheap) * 20 * 100
    check_cost(cheap, Limits())
    with pytest.raises(OperationRejected) as caught:
        check_cost(dear, Limits())
    assert caught.value.code == "input_too_costly"


def test_dbscan_row_cap_is_separate_from_the_general_one() -> None:
    body = json.dumps({"algorithm": "dbscan", "data": [[0.0]] * 11}).encode()
    with pytest.raises(ValidationError) as caught:
        CLUSTER_REQUEST.validate_json(body, context=Limits(dbscan_max_rows=10))
    assert "too_many_rows" in error_types(caught.value)


def test_kmeans_with_more_clusters_than_rows_is_refused() -> None:
    params = KMeansParams(algorithm="kmeans", data=[[1.0], [2.0]], n_clusters=3)
    with pytest.raises(OperationRejected) as caught:
        check_cost(params, Limits())
    assert caught.value.code == "too_few_rows"


def big_kmeans(rows: int = 4_000, dims: int = 10, **fields: object) -> dict:
    return {"algorithm": "kmeans", "data": [[0.123456] * dims] * rows, **fields}


PRESCREEN_CASES = [
    (big_kmeans(n_clusters=101), False, (("n_clusters",), "too_many_clusters")),
    (big_kmeans(rows=300, dims=1001), False, (("data",), "too_many_dimensions")),
    (
        {**big_kmeans(), "data": [[0.123456] * 10] * 3999 + [[0.5]]},
        False,
        (("data",), "ragged_rows"),
    ),
    (big_kmeans(rows=60_000, dims=1), False, (("data",), "too_many_rows")),
    (
        {"operations": [{"algorithm": "kmeans", "data": [[0.1, 0.2]] * 300}] * 101},
        True,
        (("operations",), "too_long"),
    ),
]


@pytest.mark.parametrize(("payload", "batch", "expected"), PRESCREEN_CASES)
def test_prescreen_refuses_only_what_validation_refuses(
    payload: dict, batch: bool, expected: tuple
) -> None:
    body = json.dumps(payload).encode()
    assert len(body) >= MIN_BODY_BYTES
    assert prescreen(body, Limits(), batch) == expected
    adapter = BATCH_REQUEST if batch else CLUSTER_REQUEST
    with pytest.raises(ValidationError):
        adapter.validate_json(body, context=Limits())


def test_prescreen_passes_valid_and_uncertain_bodies_to_full_validation() -> None:
    valid = json.dumps(big_kmeans(n_clusters=100)).encode()
    assert prescreen(valid, Limits(), batch=False) is None
    CLUSTER_REQUEST.validate_json(valid, context=Limits())
    # An escaped key is still the same key to a JSON parser; the pass does not guess.
    escaped = valid.replace(b'"n_clusters": 100', b'"n_clust\\u0065rs": 101')
    assert prescreen(escaped, Limits(), batch=False) is None
    # "n_clusters" as a string value, not a key: not a cluster count.
    as_value = json.dumps({**big_kmeans(), "algorithm": '"n_clusters": 500'}).encode()
    assert prescreen(as_value, Limits(), batch=False) is None
    batch = json.dumps({"operations": [big_kmeans(rows=500)] * 100}).encode()
    assert prescreen(batch, Limits(), batch=True) is None
