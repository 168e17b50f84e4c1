"""Parsing: feed bytes in, entries out, checked against feedparser and golden files."""
