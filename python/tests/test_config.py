from __future__ import annotations

import os

import pytest

from pipemon._config import (
    authorization_of,
    default_service_name,
    default_spool_root,
    destination_key,
    normalize_endpoint,
    parse_key_value_list,
    resolve_config,
)
from pipemon.vocabulary import ATTR


def test_defaults_are_the_node_sdk_s() -> None:
    config = resolve_config({}, {})
    assert config.endpoint == "http://127.0.0.1:4318"
    assert config.headers == {}
    assert (config.spool_max_bytes, config.spool_fsync) == (256 * 1024 * 1024, False)
    assert (config.buffer_ms, config.max_queue, config.max_batch, config.flush_ms) == (10, 8192, 512, 1000)
    assert (config.export_timeout_ms, config.heartbeat_seconds, config.shutdown_ms) == (5000, 60, 5000)
    assert (config.local_output, config.export, config.handle_exit) == (None, True, True)


def test_options_win_over_pipemon_variables_which_win_over_otel_ones() -> None:
    env = {"PIPEMON_ENDPOINT": "http://pipemon:1", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:2"}
    assert resolve_config({"endpoint": "http://option:3"}, env).endpoint == "http://option:3"
    assert resolve_config({}, env).endpoint == "http://pipemon:1"
    assert resolve_config({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:2/"}).endpoint == "http://otel:2"
    assert resolve_config({"flush_ms": 5}, {"PIPEMON_FLUSH_MS": "7"}).flush_ms == 5
    assert resolve_config({}, {"PIPEMON_FLUSH_MS": "7"}).flush_ms == 7


def test_headers_merge_under_options_and_the_api_key_becomes_a_bearer_token() -> None:
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "x-a=1,x-b=a%20b%2Cc", "PIPEMON_API_KEY": "env-key"}
    config = resolve_config({"headers": {"x-a": "2"}}, env)
    assert config.headers == {"x-a": "2", "x-b": "a b,c", "Authorization": "Bearer env-key"}
    assert resolve_config({"api_key": "opt"}, env).headers["Authorization"] == "Bearer opt"
    assert authorization_of({"authorization": "Bearer x"}) == "Bearer x"


def test_resource_attributes_service_name_and_environment() -> None:
    env = {"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-resource,team=data%2Fops", "PIPEMON_ENVIRONMENT": "prod"}
    config = resolve_config({}, env)
    assert config.resource["service.name"] == "from-resource"
    assert config.resource["team"] == "data/ops"
    assert config.resource[ATTR.ENVIRONMENT] == "prod"
    assert resolve_config({}, {**env, "OTEL_SERVICE_NAME": "otel-name"}).resource["service.name"] == "otel-name"
    assert resolve_config({"service_name": "opt"}, env).resource["service.name"] == "opt"


def test_every_instance_has_its_own_instance_id_unless_given() -> None:
    first, second = resolve_config({}, {}), resolve_config({}, {})
    assert first.resource[ATTR.SERVICE_INSTANCE_ID] != second.resource[ATTR.SERVICE_INSTANCE_ID]
    given = resolve_config({"resource_attributes": {ATTR.SERVICE_INSTANCE_ID: "i-1"}}, {})
    assert given.resource[ATTR.SERVICE_INSTANCE_ID] == "i-1"


@pytest.mark.parametrize(("text", "expected"), [("0", False), ("false", False), ("OFF", False), ("no", False)])
def test_flags_read_off_words_as_false(text: str, expected: bool) -> None:
    assert resolve_config({}, {"PIPEMON_EXPORT": text}).export is expected
    assert resolve_config({}, {"PIPEMON_SPOOL_FSYNC": "1"}).spool_fsync is True
    assert resolve_config({}, {"PIPEMON_EXPORT": ""}).export is True


# The Node SDK's normalization and spool key of each endpoint and Authorization header, from
#   node -e 'const {createHash}=require("crypto"); const e=new URL(RAW).toString().replace(/\/+$/,"");
#            console.log(e, createHash("sha256").update(`${e}\n${AUTH}`).digest("hex").slice(0,16))'
NODE_ENDPOINTS = [
    ("http://127.0.0.1:4318", "", "http://127.0.0.1:4318", "47df2c3c72ccaacf"),
    ("HTTP://LocalHost:80/", "", "http://localhost", "4a094c8da5230be9"),
    ("https://Receiver.Example.com:443/otlp//", "Bearer k1", "https://receiver.example.com/otlp", "4ffd0de45f817630"),
    ("http://127.0.0.1:4318/v1/", "", "http://127.0.0.1:4318/v1", "932c90183cabe583"),
    ("http://[::1]:4318", "Bearer abc", "http://[::1]:4318", "57c796f50c38a2b7"),
    ("http://h:8080/a/../b/./c/", "Bearer x y", "http://h:8080/b/c", "af62ae2ac3db51a0"),
    ("http://host/with space/", "", "http://host/with%20space", "45c2d7baa661ee5d"),
    ("http://h:04318", "", "http://h:4318", "e662882d39bdc74b"),
]


@pytest.mark.parametrize(("raw", "authorization", "endpoint", "key"), NODE_ENDPOINTS)
def test_endpoint_and_spool_key_are_the_node_sdk_s(raw: str, authorization: str, endpoint: str, key: str) -> None:
    assert normalize_endpoint(raw) == endpoint
    headers = {"Authorization": authorization} if authorization else {}
    assert destination_key(endpoint, headers) == key


def test_the_default_spool_directory_is_the_node_sdk_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", "/var/tmp/x/")
    config = resolve_config({}, {"PIPEMON_API_KEY": "abc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://[::1]:4318"})
    assert default_spool_root() == f"/var/tmp/x/pipemon-spool-{os.getuid()}"
    assert config.spool_dir == f"/var/tmp/x/pipemon-spool-{os.getuid()}/57c796f50c38a2b7"
    assert resolve_config({"spool_dir": "rel"}, {}).spool_dir == os.path.abspath("rel")


@pytest.mark.parametrize(
    ("options", "env", "words"),
    [
        ({"endpoint": "127.0.0.1:4318"}, {}, "is not an http:// or https:// URL"),
        ({"endpoint": "http://h:99999"}, {}, "invalid port"),
        ({"endpoint": "http://[::1"}, {}, "is not a URL"),
        ({}, {"PIPEMON_BUFFER_MS": "soon"}, 'PIPEMON_BUFFER_MS must be a non-negative number, got "soon"'),
        ({"flush_ms": -1}, {}, "flush_ms must be a non-negative number"),
        ({"max_batch": float("inf")}, {}, "max_batch must be a non-negative number"),
        ({}, {"OTEL_EXPORTER_OTLP_HEADERS": "novalue"}, 'OTEL_EXPORTER_OTLP_HEADERS: "novalue" is not key=value'),
        ({}, {"OTEL_RESOURCE_ATTRIBUTES": "a=%ff"}, "is not valid percent-encoding"),
        ({"flsuh_ms": 1}, {}, "unknown option flsuh_ms"),
        ({"headers": {"a": 1}}, {}, "headers must be a dict of str to str"),
    ],
)
def test_bad_configuration_raises_a_value_error_saying_what(options: dict, env: dict, words: str) -> None:
    with pytest.raises(ValueError) as raised:
        resolve_config(options, env)
    assert words in str(raised.value)


def test_key_value_lists_skip_empty_parts() -> None:
    assert parse_key_value_list(" a = 1 ,, b=2=3 ", "X") == {"a": "1", "b": "2=3"}
    assert parse_key_value_list(None, "X") == {}


@pytest.mark.parametrize(
    ("argv", "env", "name"),
    [
        (["/jobs/load_orders.py"], {}, "pipeline:load_orders"),
        (["/jobs/orders_etl/__main__.py"], {}, "pipeline:orders_etl"),
        (["-c"], {}, "unknown_service:python"),
        ([""], {}, "unknown_service:python"),
        ([], {}, "unknown_service:python"),
        (["/venv/lib/site-packages/ipykernel_launcher.py"], {}, "unknown_service:python"),
        (
            ["/venv/lib/site-packages/ipykernel_launcher.py"],
            {"JPY_SESSION_NAME": "/nb/Daily Load.ipynb"},
            "pipeline:Daily Load",
        ),
    ],
)
def test_default_service_name(argv: list[str], env: dict, name: str) -> None:
    assert default_service_name(argv, env) == name
