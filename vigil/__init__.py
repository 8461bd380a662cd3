"""Vigil core: settings, the DuckDB store, the engine, sources and the CLI."""

__version__ = "0.1.0"
