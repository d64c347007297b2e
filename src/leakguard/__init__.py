"""leakguard: static analysis for memory-leak and unsafe-ML-service patterns."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("leakguard")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
