"""gunicorn's logs as the console's: without password reset tokens, and one JSON object per line
with LOG_FORMAT=json (`--logger-class` in Procfile.production)."""

from __future__ import annotations

import os
from typing import Any

from gunicorn.glogging import Logger

from console.logjson import JsonLineFormatter, ResetTokensRedacted

# One instance, so that a configuration reload (setup() again) never adds it twice.
_REDACTED = ResetTokensRedacted()


class TokenFreeLogger(Logger):
    """gunicorn's logger whose access and error lines show `/accounts/reset/<uid>/[redacted]/`.

    The filter sees each finished line, so it holds whatever `--access-logformat` picks
    (request line, path, referrer, headers).
    """

    def setup(self, cfg: Any) -> None:
        """gunicorn's handlers, then the redacting filter on its two loggers (and JSON lines)."""
        super().setup(cfg)
        self.error_log.addFilter(_REDACTED)
        self.access_log.addFilter(_REDACTED)
        if os.environ.get("LOG_FORMAT", "plain").strip().lower() == "json":
            for handler in (*self.error_log.handlers, *self.access_log.handlers):
                handler.setFormatter(JsonLineFormatter())
