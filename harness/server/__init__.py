"""The reference push server: publisher + ASGI app, served by hypercorn's trio worker."""

from harness.server.app import PushApp, ServerOptions
from harness.server.publisher import Publisher, PushEvent
from harness.server.serve import serve_push_app

__all__ = ["PushApp", "Publisher", "PushEvent", "ServerOptions", "serve_push_app"]
