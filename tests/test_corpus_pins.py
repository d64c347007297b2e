"""The precision corpus's pins (`bench/corpus/run.py`): every package has a version and
a sha256, and an archive that is not the pinned one is refused before it is unpacked."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def corpus(load_bench_script: Callable[[str, str], ModuleType]) -> ModuleType:
    return load_bench_script("bench/corpus/run.py", "bench_corpus_run")


def test_every_shipped_pin_has_a_version_and_a_digest(corpus: ModuleType) -> None:
    packages = corpus.read_packages()
    assert len(packages) >= 19
    assert all(len(p.sha256) == 64 and int(p.sha256, 16) >= 0 for p in packages)
    assert len({p.name for p in packages}) == len(packages)


@pytest.mark.parametrize(
    "line", ["demo==1.0", "demo sha256=" + "0" * 64, "demo==1.0 sha256=1 sha256=2"]
)
def test_a_line_without_exactly_one_pin_and_digest_is_refused(
    corpus: ModuleType, tmp_path: Path, line: str
) -> None:
    listing = tmp_path / "packages.txt"
    listing.write_text(f"# comment\n{line}\n")
    with pytest.raises(SystemExit, match="not pinned"):
        corpus.read_packages(listing)


def test_only_the_pinned_archive_is_accepted(corpus: ModuleType, tmp_path: Path) -> None:
    archive = tmp_path / "downloads" / "demo-1.0" / "demo-1.0.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"the published archive")
    digest = hashlib.sha256(b"the published archive").hexdigest()
    listing = tmp_path / "packages.txt"
    listing.write_text(f"demo==1.0 sdist sha256={digest}\n")
    (package,) = corpus.read_packages(listing)
    assert package.sdist
    assert corpus.download(package, tmp_path) == archive

    archive.write_bytes(b"a re-published archive")
    with pytest.raises(SystemExit, match="sha256"):
        corpus.download(package, tmp_path)
