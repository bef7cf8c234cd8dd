"""The ``safeshare`` command line (entry point: :func:`safeshare.cli.main.main`)."""
