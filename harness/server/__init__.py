"""The reference push server: publisher + ASGI app, served by hypercorn's trio worker."""

from gauntlet.server.app import PushApp, ServerOptions
from gauntlet.server.publisher import Publisher, PushEvent
from gauntlet.server.serve import serve_push_app

__all__ = ["PushApp", "Publisher", "PushEvent", "ServerOptions", "serve_push_app"]
