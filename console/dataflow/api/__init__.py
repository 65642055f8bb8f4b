"""The JSON API: the pages' own rules and pipeline, for scripts, with per-person tokens."""
