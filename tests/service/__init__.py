"""The service: cycles, fetching, stories and memory, over real adapters."""
