"""Adapters at the edge: HTTP fetching, the database, notifications. Only ``watcher.app``
(and the CLI's composition) import them; the core never does."""
