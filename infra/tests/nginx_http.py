"""What both nginx.conf generators write alike: ingress_nginx.py (from the Ingresses, as
ingress-nginx does) and gateway_nginx.py (from the HTTPRoutes, as NGINX Gateway Fabric does)
differ in their locations only. nginx runs from a prefix directory (`nginx -p PREFIX`), as an
unprivileged process, logging each request's URI, status and what it sent to the app."""

from __future__ import annotations

from pathlib import Path

TEMP_KINDS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def upstream(name: str, server: str) -> str:
    """A pool of one server (host:port), with kept-alive connections as the controllers keep."""
    return f"    upstream {name} {{ server {server}; keepalive 8; }}"


def http_conf(prefix: Path, listen_port: int, upstreams: list[str], locations: list[str]) -> str:
    """A complete nginx.conf: one server on 127.0.0.1:`listen_port` with `locations`."""
    temp = "\n".join(f"    {kind}_temp_path {prefix}/tmp/{kind};" for kind in TEMP_KINDS)
    return f"""worker_processes 1;
pid {prefix}/nginx.pid;
error_log stderr notice;
events {{ worker_connections 256; }}
http {{
{temp}
    log_format probe '$request_uri $status upstream=$upstream_addr sent_to_app=$uri';
    access_log {prefix}/access.log probe;
{chr(10).join(upstreams)}
    server {{
        listen 127.0.0.1:{listen_port} default_server;
        server_name _;
{chr(10).join(locations)}
    }}
}}
"""
