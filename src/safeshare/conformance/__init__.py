"""Conformance suite: the adapter protocol of ``specs/safeshare-v1.md`` section 14, its built-in adapter and runner."""
