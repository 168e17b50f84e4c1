"""Adapters against real servers: HTTP on 127.0.0.1, SQLite files and PostgreSQL, SMTP."""
