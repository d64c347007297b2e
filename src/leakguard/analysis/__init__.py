"""Shared analysis used by several rules: imports, constants, scopes, frameworks."""
