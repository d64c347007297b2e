"""Console script ``ml-service``: validate settings, set up JSON logging, run uvicorn."""

from __future__ import annotations

import json
import signal
import sys
from types import FrameType

import uvicorn
from pydantic import ValidationError

from ml_service.logging_setup import configure_logging
from ml_service.settings import Settings

UVICORN_SHUTDOWN_SECONDS = 5
STARTUP_FAILURE = 3


def main() -> None:
    try:
        settings = Settings()
    except ValidationError as error:
        # Without input values: a rejected setting may be a secret.
        problems = error.errors(include_input=False, include_url=False, include_context=False)
        print(
            json.dumps({"level": "ERROR", "message": "invalid settings", "errors": problems}),
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    configure_logging(settings.log_level)
    config = uvicorn.Config(
        "ml_service.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=1,
        log_config=None,
        access_log=False,
        server_header=False,
        # Our SIGTERM drain has already waited for in-flight work (up to the grace period)
        # before uvicorn starts its own shutdown, so uvicorn only needs a short wait.
        timeout_graceful_shutdown=UVICORN_SHUTDOWN_SECONDS,
    )
    server = DrainingServer(config)
    server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)
    # Returning normally: a SIGTERM that was drained is a clean exit (status 0).


class DrainingServer(uvicorn.Server):
    """uvicorn's server, minus re-raising SIGTERM after a graceful shutdown.

    uvicorn records the signals it handled and raises them again on exit, so a drained
    SIGTERM ended with status 143, which orchestrators report as a failure. SIGINT keeps
    uvicorn's behaviour (KeyboardInterrupt).
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM:
            self._captured_signals = [
                captured for captured in self._captured_signals if captured != signal.SIGTERM
            ]


if __name__ == "__main__":
    main()
