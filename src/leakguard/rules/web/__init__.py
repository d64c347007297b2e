"""LG5xx: web exposure."""
