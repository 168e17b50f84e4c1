"""Core: pure decisions, tested with data cases."""
