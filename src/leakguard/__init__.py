"""leakguard: static analysis for memory-leak and unsafe-ML-service patterns."""

# The one place the version is written: pyproject.toml reads it from here
# ([tool.hatch.version]), so the package never looks itself up in its installed metadata.
__version__ = "0.1.0"

__all__ = ["__version__"]
