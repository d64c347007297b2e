"""`analysis/locality`: which functions of a run are proven to do only local work (a
proof of absence: anything unknown is not proven)."""

from __future__ import annotations

import textwrap

import pytest

from leakguard.analysis.locality import proven_local
from leakguard.analysis.summaries import SummaryIndex, collect_source

MODULE = """
import hashlib
import logging
import subprocess
import socket
import threading
from pathlib import Path
from typing import List, Optional

import requests
import yaml
from pydantic import BaseModel, field_validator

logger = logging.getLogger(__name__)
CLIENTS = {}
session = requests.Session()
_client = None


def load_yaml(file_path: str) -> dict:
    with open(file_path) as f:
        return yaml.safe_load(f)


def file_sha256(path, chunk_size):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def list_logs(log_dir: Path) -> list:
    found = []
    for path in sorted(log_dir.glob("*.log")):
        found.append((path.name, path.stat().st_size))
    logger.info("%d logs", len(found))
    return found


def opened(paths: List[Path]) -> list:
    files = []
    for path in paths:
        files.append(open(path, "rb"))
    for file in files:
        file.seek(0)
    return files


class Entry(BaseModel):
    name: str
    size: Optional[int] = None


class Checked(BaseModel):
    url: str

    @field_validator("url")
    def reachable(cls, value):
        requests.head(value)
        return value


def entries(log_dir: Path) -> list:
    return [Entry(name=name, size=size) for name, size in list_logs(log_dir)]


def checked(url: str) -> Checked:
    return Checked.model_validate({"url": url})


def calls_http(path: str) -> dict:
    data = load_yaml(path)
    requests.post("http://collector", json=data)
    return data


def runs_tool(path: str) -> str:
    return subprocess.run(["tool", path], capture_output=True).stdout


def waits(q):
    return q.get()


def module_client(url: str):
    return session.get(url)


def rebound_client(url: str):
    return _client.get(url)


def connect() -> None:
    global _client
    _client = requests.Session()


def held_in_box(key: str):
    return CLIENTS[key].get("/")


def handed_out_by_box(key: str):
    return CLIENTS.get(key).get("/")


def held_in_local_box(url: str):
    clients = {}
    clients["a"] = session
    return clients["a"].get(url)


def star_args(*clients):
    return clients[0].get("/")


def passes_function(urls: List[str]) -> list:
    return list(map(requests.get, urls))


def in_lambda(urls: List[str]) -> list:
    return sorted(urls, key=lambda url: requests.head(url).status_code)


def calls_variable(handler, text: str):
    return handler(text)


class Store:
    def save(self, path: str) -> None: ...

    def write(self, path: str) -> None:
        Path(path).write_text("x")

    def run(self, path: str) -> None:
        self.write(path)


class RemoteStore(Store):
    def write(self, path: str) -> None:
        requests.put("http://store/" + path)


def stub(path: str) -> None:
    Store().save(path)


_lock = threading.Lock()


def under_global_lock(path: str) -> str:
    with _lock:
        return Path(path).read_text()


_busy_lock = threading.Lock()


def holds_lock_around_network(host: str) -> None:
    with _busy_lock:
        socket.create_connection((host, 80))


def under_busy_lock(path: str) -> str:
    with _busy_lock:
        return Path(path).read_text()


class Guarded:
    def read(self, path: str) -> str:
        with self._lock:
            return Path(path).read_text()


def quiet(x: int) -> int:
    return x + 1


def calls_quiet(x: int) -> int:
    return quiet(x) + quiet(x + 1)
"""

LOCAL = [
    "load_yaml",
    "file_sha256",
    "list_logs",
    "opened",
    "entries",
    "quiet",
    "calls_quiet",
    "under_global_lock",
]
NOT_PROVEN = [
    "checked",
    "calls_http",
    "runs_tool",
    "waits",
    "module_client",
    "rebound_client",
    "held_in_box",
    "handed_out_by_box",
    "held_in_local_box",
    "star_args",
    "passes_function",
    "in_lambda",
    "calls_variable",
    "stub",
    "Store.run",
    "under_busy_lock",
    "Guarded.read",
]


@pytest.fixture(scope="module")
def index() -> SummaryIndex:
    facts = collect_source(textwrap.dedent(MODULE), "app/helpers.py")
    assert facts is not None
    return SummaryIndex.build({"app.helpers": facts})


@pytest.mark.parametrize("name", LOCAL)
def test_local_work_is_proven(index: SummaryIndex, name: str) -> None:
    assert proven_local(index, f"app.helpers:{name}")


@pytest.mark.parametrize("name", NOT_PROVEN)
def test_anything_unknown_is_not_proven(index: SummaryIndex, name: str) -> None:
    assert not proven_local(index, f"app.helpers:{name}")


def test_configured_local_calls_extend_the_known_ones(index: SummaryIndex) -> None:
    assert proven_local(index, "app.helpers:runs_tool", ["subprocess.run"])


def test_depth_limits_the_proof(index: SummaryIndex) -> None:
    assert proven_local(index, "app.helpers:calls_quiet", depth=2)
    assert not proven_local(index, "app.helpers:calls_quiet", depth=1)


def test_a_container_of_unknown_values_has_local_methods_but_unknown_contents() -> None:
    source = """
def collect(items):
    found = []
    for item in items:
        found.append(item)
    found.sort()
    return found


def use_first(items):
    found = []
    for item in items:
        found.append(item)
    return found.pop().send("x")
"""
    facts = collect_source(textwrap.dedent(source), "app/c.py")
    assert facts is not None
    index = SummaryIndex.build({"app.c": facts})
    assert proven_local(index, "app.c:collect")
    assert not proven_local(index, "app.c:use_first")
