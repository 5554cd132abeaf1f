"""start() options merged with the environment. Options win over PIPEMON_* variables, which win over the
standard OTEL_* ones, so the same pipeline code runs unchanged under a scheduler that only sets env. Bad
configuration raises ValueError here, once, at start: the data path never raises. The twin is sdk/delivery/config.ts:
same names (in snake_case), same defaults, and the same default spool directory for the same endpoint and key.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import os
import re
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from .vocabulary import ATTR

DEFAULT_ENDPOINT = "http://127.0.0.1:4318"

# Every keyword start() takes; anything else is a typo the user should hear about at once.
OPTIONS = (
    "endpoint",
    "api_key",
    "headers",
    "service_name",
    "environment",
    "resource_attributes",
    "spool_dir",
    "spool_max_bytes",
    "spool_fsync",
    "buffer_ms",
    "max_queue",
    "max_batch",
    "flush_ms",
    "export_timeout_ms",
    "heartbeat_seconds",
    "shutdown_ms",
    "local_output",
    "export",
    "handle_exit",
)


@dataclass(frozen=True)
class Config:
    # OTLP/HTTP base URL, normalized; /v1/logs and /v1/traces are appended.
    endpoint: str
    headers: dict[str, str]
    resource: dict[str, str]
    # The write-ahead spool's directory (absolute).
    spool_dir: str
    # The spool's bound; error and run/stage records may exceed it.
    spool_max_bytes: int
    # fsync every append: survives a power cut too, at the cost of a disk flush per write.
    spool_fsync: bool
    # Longest time an ordinary record waits in memory before it is appended to the spool.
    buffer_ms: float
    # Ordinary records buffered per signal before they are appended on the caller's thread.
    max_queue: int
    # Records per appended frame.
    max_batch: int
    # Longest wait before a spooled ordinary record is exported; errors and run records go at once.
    flush_ms: float
    # Per-request export deadline.
    export_timeout_ms: float
    # Seconds between heartbeats of a running run (0 disables).
    heartbeat_seconds: float
    # Deadline for flushing at exit and on shutdown() without an argument.
    shutdown_ms: float
    # One JSON object per line for every log record: "stdout", "stderr" or a file path.
    local_output: str | None
    # Send to a receiver at all (PIPEMON_EXPORT=off for local output only).
    export: bool
    # Flush and report at interpreter exit.
    handle_exit: bool


def resolve_config(options: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """The configuration of start(**options) under `env` (default os.environ). Raises ValueError when it is bad."""
    env = os.environ if env is None else env
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"pipemon.start(): unknown option {', '.join(unknown)}; the options are {', '.join(OPTIONS)}")
    opt = {name: value for name, value in options.items() if value is not None}

    endpoint = normalize_endpoint(
        _first(opt.get("endpoint"), env.get("PIPEMON_ENDPOINT"), env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
        or DEFAULT_ENDPOINT
    )
    headers = {
        **parse_key_value_list(env.get("OTEL_EXPORTER_OTLP_HEADERS"), "OTEL_EXPORTER_OTLP_HEADERS"),
        **_strings(opt.get("headers"), "headers"),
    }
    api_key = _first(opt.get("api_key"), env.get("PIPEMON_API_KEY"))
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"

    return Config(
        endpoint=endpoint,
        headers=headers,
        resource=_resource(opt, env),
        spool_dir=os.path.abspath(
            _first(opt.get("spool_dir"), env.get("PIPEMON_SPOOL_DIR"))
            or os.path.join(default_spool_root(), destination_key(endpoint, headers))
        ),
        spool_max_bytes=int(_number(opt, env, "spool_max_bytes", "PIPEMON_SPOOL_MAX_BYTES", 256 * 1024 * 1024)),
        spool_fsync=_flag(opt, env, "spool_fsync", "PIPEMON_SPOOL_FSYNC", False),
        buffer_ms=_number(opt, env, "buffer_ms", "PIPEMON_BUFFER_MS", 10),
        max_queue=max(1, int(_number(opt, env, "max_queue", "PIPEMON_MAX_QUEUE", 8192))),
        max_batch=max(1, int(_number(opt, env, "max_batch", None, 512))),
        flush_ms=_number(opt, env, "flush_ms", "PIPEMON_FLUSH_MS", 1000),
        export_timeout_ms=_number(opt, env, "export_timeout_ms", "PIPEMON_EXPORT_TIMEOUT_MS", 5000),
        heartbeat_seconds=_number(opt, env, "heartbeat_seconds", "PIPEMON_HEARTBEAT_SECONDS", 60),
        shutdown_ms=_number(opt, env, "shutdown_ms", None, 5000),
        local_output=_first(opt.get("local_output"), env.get("PIPEMON_LOCAL_OUTPUT")),
        export=_flag(opt, env, "export", "PIPEMON_EXPORT", True),
        handle_exit=bool(opt.get("handle_exit", True)),
    )


def parse_key_value_list(text: str | None, name: str) -> dict[str, str]:
    """`k=v,k2=v2`, percent-encoded: the format of OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if part.strip() == "":
            continue
        key, eq, value = part.partition("=")
        if not eq or key == "":
            raise ValueError(f'{name}: "{part.strip()}" is not key=value (separate pairs with commas: k=v,k2=v2)')
        out[_percent_decoded(key.strip(), part, name)] = _percent_decoded(value.strip(), part, name)
    return out


def normalize_endpoint(raw: str) -> str:
    """The endpoint as Node's `new URL(raw).toString().replace(/\\/+$/, '')` writes it, for http and https URLs:
    the spool directory is named after it, and both SDKs must pick the same one."""
    try:
        parts = urlsplit(raw.strip())
    except ValueError:
        raise ValueError(f'pipemon: endpoint "{raw}" is not a URL (such as {DEFAULT_ENDPOINT})') from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f'pipemon: endpoint "{raw}" is not an http:// or https:// URL (such as {DEFAULT_ENDPOINT})')
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f'pipemon: endpoint "{raw}" has an invalid port (such as {DEFAULT_ENDPOINT})') from None
    host = f"[{_ipv6(parts.hostname, raw)}]" if ":" in parts.hostname else _ascii_host(parts.hostname, raw)
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    authority = f"{userinfo}@{host}" if userinfo else host
    url = f"{scheme}://{authority}{_path(parts.path)}"
    if parts.query:
        url += f"?{quote(parts.query, safe=_QUERY_SAFE)}"
    if parts.fragment:
        url += f"#{quote(parts.fragment, safe=_QUERY_SAFE)}"
    return re.sub(r"/+$", "", url)


def default_spool_root() -> str:
    """Where the default spools of this user live, one folder per destination and key."""
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return os.path.join(_node_tmpdir(), f"pipemon-spool-{uid}")


def destination_key(endpoint: str, headers: Mapping[str, str]) -> str:
    """Every process replays the whole spool with its own endpoint and key at start. A spool shared by all
    pipelines of a user would let one misconfigured process send others' records to the wrong receiver or
    tenant, so the default spool is one directory per destination and credentials. Hashed: the key itself
    must not appear in a path."""
    return hashlib.sha256(f"{endpoint}\n{authorization_of(headers) or ''}".encode()).hexdigest()[:16]


def authorization_of(headers: Mapping[str, str]) -> str | None:
    """The Authorization header sent (PIPEMON_API_KEY, OTEL_EXPORTER_OTLP_HEADERS or `headers`), whatever its case."""
    return next((value for name, value in headers.items() if name.lower() == "authorization"), None)


def default_service_name(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> str:
    """`pipeline:<script>` for `python script.py` and `python -m package`, else `unknown_service:python`.

    A Jupyter kernel's argv[0] is ipykernel's launcher, the same for every notebook: the notebook's own name
    is used when the server says it (JPY_SESSION_NAME, set by jupyter_server 2), else none is guessed, so
    that two notebooks never report as one pipeline."""
    argv = sys.argv if argv is None else argv
    env = os.environ if env is None else env
    script = argv[0] if argv else ""
    if os.path.basename(script) in ("ipykernel_launcher.py", "__main__.py") and "ipykernel" in script:
        notebook = env.get("JPY_SESSION_NAME", "")
        return f"pipeline:{_stem(notebook)}" if notebook.endswith(".ipynb") else "unknown_service:python"
    if script in ("", "-c", "-"):
        return "unknown_service:python"
    if os.path.basename(script) == "__main__.py":
        # `python -m package`: the package's name, not __main__.
        script = os.path.dirname(os.path.abspath(script))
    return f"pipeline:{_stem(script)}"


# Helpers, in the order resolve_config uses them.


def _first(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def _strings(value: Any, name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError(f"pipemon.start(): {name} must be a dict of str to str, got {value!r}")
    return dict(value)


def _resource(opt: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    resource = {
        **parse_key_value_list(env.get("OTEL_RESOURCE_ATTRIBUTES"), "OTEL_RESOURCE_ATTRIBUTES"),
        **_strings(opt.get("resource_attributes"), "resource_attributes"),
    }
    resource[ATTR.SERVICE_NAME] = (
        _first(opt.get("service_name"), env.get("OTEL_SERVICE_NAME"), resource.get(ATTR.SERVICE_NAME))
        or default_service_name()
    )
    environment = _first(opt.get("environment"), env.get("PIPEMON_ENVIRONMENT"))
    if environment:
        resource[ATTR.ENVIRONMENT] = environment
    # Two processes of one service must not look like one: resent records are deduplicated by content.
    resource.setdefault(ATTR.SERVICE_INSTANCE_ID, str(uuid.uuid4()))
    return resource


def _number(opt: Mapping[str, Any], env: Mapping[str, str], name: str, variable: str | None, fallback: float) -> float:
    value = opt.get(name)
    source = name
    if value is None and variable is not None and env.get(variable, "") != "":
        value, source = env[variable], variable
    if value is None:
        return fallback
    try:
        n = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        n = math.nan
    if not math.isfinite(n) or n < 0:
        raise ValueError(f'pipemon: {source} must be a non-negative number, got "{value}"')
    return n


def _flag(opt: Mapping[str, Any], env: Mapping[str, str], name: str, variable: str, fallback: bool) -> bool:
    if name in opt:
        return bool(opt[name])
    value = env.get(variable, "")
    if value == "":
        return fallback
    return value.lower() not in ("0", "false", "off", "no")


def _percent_decoded(text: str, part: str, name: str) -> str:
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise ValueError(f'{name}: "{part.strip()}" is not valid percent-encoding') from None


# What the URL standard leaves unescaped in a path, a query and a fragment (it escapes space, ", <, >, and
# in a path also `, { and }); quote() never escapes letters, digits and _.-~.
_PATH_SAFE = "!$%&'()*+,/:;=@[\\]^|"
_QUERY_SAFE = _PATH_SAFE + "?`{}"


def _path(path: str) -> str:
    # The URL standard's dot segments: "." is dropped and ".." drops the segment before it.
    out: list[str] = []
    segments = quote(path or "/", safe=_PATH_SAFE).split("/")[1:]
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        dots = segment.lower().replace("%2e", ".")
        if dots == "..":
            if out:
                out.pop()
        elif dots != ".":
            out.append(segment)
            continue
        if last:
            out.append("")
    return "/" + "/".join(out)


def _ipv6(host: str, raw: str) -> str:
    try:
        return ipaddress.IPv6Address(host).compressed
    except ValueError:
        raise ValueError(f'pipemon: endpoint "{raw}" has an invalid IPv6 address (such as http://[::1]:4318)') from None


def _ascii_host(host: str, raw: str) -> str:
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(f'pipemon: endpoint "{raw}" has an invalid host name') from None


def _node_tmpdir() -> str:
    # Node's os.tmpdir(), not tempfile.gettempdir(): both SDKs must name the same spool directory.
    if os.name == "nt":
        import tempfile

        return tempfile.gettempdir()
    path = os.environ.get("TMPDIR") or os.environ.get("TMP") or os.environ.get("TEMP") or "/tmp"
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


def _stem(path: str) -> str:
    return re.sub(r"\.(pyw?|ipynb)$", "", os.path.basename(path.rstrip("/")))
