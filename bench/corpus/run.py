"""Real-world precision corpus: download a pinned set of PyPI packages, run leakguard.

    python bench/corpus/run.py                  # download (once), unpack, check, count
    python bench/corpus/run.py --select LG3     # only some rules
    python bench/corpus/run.py --only fastapi   # only some packages
    python bench/corpus/run.py --cache DIR      # another cache (e.g. a private copy)

Archives and unpacked sources live in `bench/corpus/.cache/` (gitignored); the JSON
report is written to `bench/corpus/.cache/findings.json`, which
`bench/precision/precision.py` reads to compute precision against the ledger.
Each archive is checked against its pinned sha256 before it is unpacked.
Needs network access to PyPI for the first run only. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGES = HERE / "packages.txt"
CACHE = HERE / ".cache"
FINDINGS = CACHE / "findings.json"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sdist: bool
    sha256: str

    @property
    def folder(self) -> str:
        return f"{self.name}-{self.version}"


def read_packages(path: Path = PACKAGES) -> list[Package]:
    packages = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        pin, *flags = line.split()
        name, _, version = pin.partition("==")
        hashes = [f.removeprefix("sha256=") for f in flags if f.startswith("sha256=")]
        if not version or len(hashes) != 1:
            raise SystemExit(f"{path}: {raw!r} is not pinned (name==version sha256=HEX)")
        packages.append(Package(name, version, "sdist" in flags, hashes[0]))
    return packages


def download(package: Package, cache: Path) -> Path:
    target = cache / "downloads" / package.folder
    archives = sorted(target.glob("*")) if target.is_dir() else []
    if archives:
        return verified(package, archives[0])
    target.mkdir(parents=True, exist_ok=True)
    pin = f"{package.name}=={package.version}"
    if package.sdist:
        kind = ["--no-binary", ":all:"]
    else:
        # Any platform's wheel holds the same Python sources; pin one so the choice
        # does not depend on the machine running the benchmark.
        kind = ["--only-binary", ":all:", "--python-version", "3.12"]
        kind += ["--platform", "manylinux2014_x86_64", "--platform", "any"]
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", *kind]
    subprocess.run([*command, "-d", str(target), pin], check=True)
    archives = sorted(target.glob("*"))
    if not archives:
        raise SystemExit(f"pip downloaded nothing for {pin}")
    return verified(package, archives[0])


def verified(package: Package, archive: Path) -> Path:
    """The archive, if it is the one pinned: a re-published or tampered file would
    silently change the ledger's findings."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != package.sha256:
        raise SystemExit(f"{archive}: sha256 {digest}, pinned {package.sha256}")
    return archive


def unpack(package: Package, archive: Path, cache: Path) -> Path:
    """Extract the package's `.py` files into `<cache>/src/<name>-<version>/`."""
    target = cache / "src" / package.folder
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=cache, prefix=".unpack-"))
    if archive.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.namelist():
                if member.endswith(".py") and _safe(member):
                    zipped.extract(member, partial)
    else:
        with tarfile.open(archive) as tarred:
            members = [
                m
                for m in tarred.getmembers()
                if m.isfile() and m.name.endswith(".py") and _safe(m.name)
            ]
            tarred.extractall(partial, members=members, filter="data")
    partial.rename(target)
    return target


def _safe(member: str) -> bool:
    return not member.startswith("/") and ".." not in Path(member).parts


def package_of(path: str) -> str:
    """The package folder of a reported path (reported relative to `.cache/`)."""
    parts = Path(path).parts
    return parts[1] if len(parts) > 1 and parts[0] == "src" else parts[0]


def check(folders: list[str], select: str | None, jobs: int, cache: Path) -> dict[str, object]:
    config = cache / "leakguard.yaml"
    # The cache is gitignored, and the packages' own vendored code is what we measure.
    # Precision, not speed, is measured here: on a loaded machine the per-file time
    # budget would drop the largest files' findings.
    config.write_text("respect-gitignore: false\nfile-timeout: 600\n")
    command = [sys.executable, "-m", "leakguard", "check", "--format", "json", "--exit-zero"]
    command += ["--no-cache", "--jobs", str(jobs), "--config", str(config)]
    if select:
        command += ["--select", select]
    done = subprocess.run(
        [*command, *folders], cwd=cache / "src", capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"leakguard failed ({done.returncode}):\n{done.stderr}")
    report: dict[str, object] = json.loads(done.stdout)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="package names to check (default: all)")
    parser.add_argument("--select", help="rule codes or prefixes passed to leakguard")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--cache",
        type=Path,
        default=CACHE,
        help="downloads and unpacked sources (default: bench/corpus/.cache)",
    )
    parser.add_argument("--output", type=Path, help="JSON report (default: CACHE/findings.json)")
    args = parser.parse_args(argv)
    cache: Path = args.cache.resolve()
    if args.output is None:
        args.output = cache / FINDINGS.name

    cache.mkdir(parents=True, exist_ok=True)
    packages = read_packages()
    if args.only:
        packages = [p for p in packages if p.name in set(args.only)]
    for package in packages:
        unpack(package, download(package, cache), cache)
    report = check([p.folder for p in packages], args.select, args.jobs, cache)
    args.output.write_text(json.dumps(report, indent=1) + "\n")

    findings = [f for f in report["findings"] if not f["suppressed"]]  # type: ignore[union-attr,index]
    by_rule = Counter(f["rule"] for f in findings)
    by_package = Counter(package_of(f["path"]) for f in findings)
    stats = report.get("stats", {})
    print(
        f"{len(packages)} packages, {stats.get('files')} files, {stats.get('lines')} lines, "  # type: ignore[union-attr]
        f"{len(findings)} findings, {len(report.get('errors', []))} file errors"
    )  # type: ignore[arg-type]
    print("\nper rule:")
    for rule, count in sorted(by_rule.items()):
        print(f"  {rule}  {count:5d}")
    print("\nper package:")
    for package in packages:
        print(f"  {package.folder:32s} {by_package.get(package.folder, 0):5d}")
    print(f"\nreport: {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
