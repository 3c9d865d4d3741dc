"""ASGI entry point for uvicorn: `gennation.platform.asgi:app`."""
from gennation.platform.app import create_app

app = create_app()
