"""The example endpoint (harness/examples/push_app.py) with a known fault on /sse: event 2
never goes out and event 3 goes out twice. A load run against it must count exactly one
loss and one duplicate per subscriber, whichever worker the subscriber ran in."""

from __future__ import annotations

import re

from gauntlet.examples.push_app import make_app

DROPPED, TWICE = 2, 3
_ID = re.compile(rb"id: (\d+)")


def lossy(inner):
    async def app(scope, receive, send):
        if scope["type"] != "http" or scope.get("path") != "/sse":
            await inner(scope, receive, send)
            return

        async def rewrite(message):
            if message["type"] == "http.response.body" and message.get("body"):
                frames = []
                for frame in message["body"].split(b"\n\n"):
                    found = _ID.search(frame)
                    event_id = int(found[1]) if found else None
                    if event_id != DROPPED:
                        frames += [frame] * (2 if event_id == TWICE else 1)
                message = {**message, "body": b"\n\n".join(frames)}
            await send(message)

        await inner(scope, receive, rewrite)

    return app


app = lossy(make_app())
