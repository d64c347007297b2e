"""LG1xx: memory retention and leaks."""
