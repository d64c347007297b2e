"""Rules about leakguard's own directives (suppression comments)."""
