"""Adapters at the edge: HTTP fetching, the database, notifications, systemd, the listener.
Only ``watcher.app`` builds them; the core, the service and the CLI never import them."""
