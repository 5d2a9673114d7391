"""Answer an error status itself instead of forwarding: to the first N requests, or to all.

A gateway whose origin is slow or down answers 502/503/504 on its own (nginx
`proxy_read_timeout` -> 504, an AWS ALB with no healthy target -> 503). An EventSource that
gets any status but 200 fails for good and never reconnects (WHATWG HTML "fail the
connection"), while polling clients retry; the first N requests model a brief outage.
Imitates: nginx / AWS ALB / Cloudflare answering 503 or 504 themselves. Source: WHATWG HTML
§9.2 (EventSource processing model); nginx ngx_http_proxy_module (proxy_read_timeout);
AWS ALB docs "HTTP 503: Service unavailable", "HTTP 504: Gateway timeout".
"""

from __future__ import annotations

from mitmproxy import ctx, exceptions, http


class ErrorStatus:
    def __init__(self) -> None:
        self.answered = 0

    def load(self, loader) -> None:
        loader.add_option("error_status_code", int, 503, "Status the hop answers itself.")
        loader.add_option(
            "error_status_first_n",
            int,
            0,
            "Answer the error to the first N requests only; 0: to every request.",
        )
        loader.add_option(
            "error_status_paths",
            str,
            "/",
            "Comma-separated path prefixes that get the error (a gateway's "
            "location block for the slow upstream); others are forwarded.",
        )

    def configure(self, updates) -> None:
        if "error_status_code" in updates and not 400 <= ctx.options.error_status_code <= 599:
            raise exceptions.OptionsError("error_status_code must be a 4xx or 5xx status")
        if "error_status_first_n" in updates and ctx.options.error_status_first_n < 0:
            raise exceptions.OptionsError("error_status_first_n must be >= 0")

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        prefixes = tuple(p.strip() for p in ctx.options.error_status_paths.split(",") if p.strip())
        if not flow.request.path.startswith(prefixes):
            return
        first_n = ctx.options.error_status_first_n
        if first_n and self.answered >= first_n:
            return
        self.answered += 1
        code = ctx.options.error_status_code
        flow.response = http.Response.make(
            code, f"{code} answered by the gateway\n".encode(), {"content-type": "text/plain"}
        )


addons = [ErrorStatus()]
