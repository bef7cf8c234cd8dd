"""Conformance suite: the adapter protocol of ``specs/conformance.md``, its built-in adapter and runner."""
