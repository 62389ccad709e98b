"""Data: resolve `--data` references to data sources (built-in, folders, named downloads, plugins)."""
