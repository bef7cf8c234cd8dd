"""Benchmarks for safeshare (not part of the installed package).

Run ``python -m benchmarks.run --help``; see ``benchmarks/README.md``.
"""
