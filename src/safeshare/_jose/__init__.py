"""Low-level JOSE codecs for safeshare's strict profile. Not public API."""
