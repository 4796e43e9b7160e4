"""Logging to stderr and to a rotating file in $VENOM_HOME/logs; never to stdout (stdio carries JSON-RPC)."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from .config import Settings

_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class _MaskSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        from .services.governance import mask

        message = record.getMessage()
        masked = mask(message, self._secrets)  # configured secrets, and any key=... in a URL
        if masked != message:
            record.msg, record.args = masked, None
        return True


def shutdown() -> None:
    """Detach and close the handlers `configure` added."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_venom", False):
            root.removeHandler(handler)
            handler.close()


def configure(settings: Settings, level: str = "INFO") -> None:
    shutdown()  # configuring twice replaces, and closes, the earlier handlers
    root = logging.getLogger()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    try:
        log_dir = settings.path("logs")
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_dir / "venom-mcp.log", maxBytes=5_000_000, backupCount=3, encoding="utf-8"
            )
        )
    except OSError:
        pass  # a read-only home still gets stderr logging
    from .observability import ClientLogHandler, RequestIdFilter

    handlers.append(ClientLogHandler())
    mask, ids = _MaskSecrets(settings.secrets()), RequestIdFilter()
    for handler in handlers:
        handler.setFormatter(logging.Formatter(_FORMAT if not isinstance(handler, ClientLogHandler) else
                                               "%(message)s"))
        handler.addFilter(ids)
        handler.addFilter(mask)
        handler._venom = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    # The SDK logs every request at INFO; that is noise in our log and a write per call.
    logging.getLogger("mcp").setLevel(max(logging.WARNING, root.level))

