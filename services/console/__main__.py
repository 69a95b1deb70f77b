"""``python -m services.console``: serve the console on CONSOLE_HOST:CONSOLE_PORT."""
from __future__ import annotations

import logging

import uvicorn

from services.console.app import create_app
from services.console.settings import ConsoleSettings


def main() -> None:
    """Serve the console with the settings from the environment."""
    settings = ConsoleSettings()
    logging.basicConfig(level=settings.log_level)
    print(f"console: http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
