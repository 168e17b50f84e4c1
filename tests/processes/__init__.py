"""Whole processes: the CLI and the daemon, as users and systemd run them."""
