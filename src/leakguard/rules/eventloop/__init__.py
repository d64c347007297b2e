"""LG2xx: async and the event loop."""
