"""open_stream()'s keywords against the options table (src/option_table.cc): the same
names, defaults and help as C++'s StreamOptions and the CLI's flags."""

from __future__ import annotations

import inspect
import subprocess

import pgcdc
from pgcdc import _core

CALLBACKS = {"on_checkpoint", "on_snapshot_progress"}


def table() -> list:
    return _core.stream_option_table()


def test_every_option_is_a_keyword_and_every_keyword_an_option() -> None:
    parameters = inspect.signature(pgcdc.open_stream).parameters
    assert sorted(o["name"] for o in table()) == sorted(set(parameters) - CALLBACKS)
    assert len(table()) >= 25


def test_keyword_defaults_are_the_tables() -> None:
    parameters = inspect.signature(pgcdc.open_stream).parameters
    for o in table():
        default = parameters[o["name"]].default
        if default is inspect.Parameter.empty:  # dsn, slot, publications: required
            assert o["default"] in ("", []), o["name"]
            continue
        # None stands for the empty string or list (the C++ default) in Python.
        if default is None and o["default"] in ("", []):
            continue
        assert default == o["default"], (o["name"], default, o["default"])
        assert type(default) is type(o["default"]) or o["type"] == "optional_duration", o


def test_the_docstring_is_the_tables() -> None:
    doc = pgcdc.open_stream.__doc__
    flat = " ".join(doc.split())
    for o in table():
        assert "%s (" % o["name"] in doc, o["name"]
        assert " ".join(o["help"].split()) in flat, o["name"]


def test_the_cli_help_lists_every_flag(pgcdc_cli: str) -> None:
    r = subprocess.run([pgcdc_cli, "stream", "--help"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    for o in table():
        switch = o["type"] in ("bool", "optional_bool")
        assert ("--[no-]%s\n" if switch else "--%s ") % o["flag"] in r.stdout, o["flag"]


def test_a_value_of_the_wrong_type_is_a_configuration_error() -> None:
    for keyword, value, message in [
            ("max_buffered_bytes", "64MB", "max_buffered_bytes must be an int"),
            ("streaming", "yes", "streaming must be True, False or None"),
            ("snapshot", 1, "snapshot must be a str"),
            ("snapshot", "sometimes", "snapshot takes one of never, initial, initial_only"),
            ("receive_timeout", None, "receive_timeout takes a number of seconds"),
            ("reconnect_max_backoff", 0.01, "0 < initial_backoff <= max_backoff"),
            ("connect_timeout", 0, "connect_timeout and create_slot_timeout must be positive"),
            ("snapshot_readers", 0, "snapshot_readers is 0; use 1 to 64")]:
        try:
            pgcdc.open_stream("host=127.0.0.1 port=1", slot="s", publications=["p"],
                              **{keyword: value})
        except pgcdc.ConfigurationError as e:
            assert message in str(e), (keyword, str(e))
        else:
            raise AssertionError("%s=%r was accepted" % (keyword, value))
