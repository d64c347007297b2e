"""LG4xx: unsafe deserialization and model files."""
