"""LG3xx: input size and denial of service."""
