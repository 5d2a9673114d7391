vcl 4.1;
# Varnish as Debian ships it (/etc/varnish/default.vcl: one backend, every subroutine left to
# the builtin VCL): https://varnish-cache.org/docs/7.1/users-guide/vcl-built-in-subs.html .
# So a GET without Cache-Control is cached for default_ttl (120 s) and the object is streamed
# to the client while it is fetched (beresp.do_stream, on by default since 4.0); a request
# for the same URL meanwhile may be served from that object.
# The backend's first_byte_timeout and between_bytes_timeout (60 s each, varnishd's
# parameters: https://varnish-cache.org/docs/7.1/reference/varnishd.html) are written here
# scaled by the matrix's time scale; timeout_idle (5 s) is passed scaled on the command line.
backend default {
    .host = "@upstream_host@";
    .port = "@upstream_port@";
    .first_byte_timeout = @first_byte_timeout@;
    .between_bytes_timeout = @between_bytes_timeout@;
}
