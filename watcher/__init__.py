"""feed-watcher: watch news feeds for the stories you care about, and be told once."""

__version__ = "0.1.0"
