"""Console script ``ml-service``: validate settings, set up JSON logging, run uvicorn."""

from __future__ import annotations

import json
import sys

import uvicorn
from pydantic import ValidationError

from ml_service.logging_setup import configure_logging
from ml_service.settings import Settings


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
    uvicorn.run(
        "ml_service.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=1,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds)),
    )


if __name__ == "__main__":
    main()
