"""The config file: validation and its messages."""
