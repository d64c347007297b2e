"""Rule modules, one per rule, grouped by family:

- `memory`: LG1xx memory retention and leaks
- `eventloop`: LG2xx async and the event loop
- `input_limits`: LG3xx input size and denial of service
- `serialization`: LG4xx unsafe deserialization and model files
- `web`: LG5xx web exposure

`leakguard.registry` discovers them; nothing needs to be listed here.
"""
