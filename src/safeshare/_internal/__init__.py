"""Private building blocks. Nothing here is public API; names may change."""
