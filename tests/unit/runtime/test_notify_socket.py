"""systemd's notify protocol: where NOTIFY_SOCKET points, when WATCHDOG_USEC applies to
this process, and the datagrams a real socket receives."""

from __future__ import annotations

import os
import socket

import pytest

from liveai.runtime.systemd import Notifier, socket_address, watchdog_interval


def test_the_socket_is_a_path_or_an_abstract_name():
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("@/org/freedesktop/systemd1/notify/123") == "\0/org/freedesktop/systemd1/notify/123"
    assert socket_address("") is None
    assert socket_address("vsock:2:1234") is None  # a virtual machine's: not spoken


@pytest.mark.parametrize(
    ("environ", "interval"),
    [
        ({"WATCHDOG_USEC": "20000000"}, 20.0),  # no WATCHDOG_PID: ours
        ({"WATCHDOG_USEC": "1500000", "WATCHDOG_PID": "42"}, 1.5),
        ({"WATCHDOG_USEC": "1500000", "WATCHDOG_PID": "43"}, None),  # a parent's, inherited
        ({}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "me"}, None),
    ],
)
def test_the_watchdog_interval_is_read_as_systemd_says(environ, interval):
    assert watchdog_interval(environ, pid=42) == interval


@pytest.fixture(params=["path", "abstract"])
def systemd(request, tmp_path):
    """A datagram socket where systemd would listen, and the NOTIFY_SOCKET naming it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if request.param == "path":
        name = str(tmp_path / "notify")
        sock.bind(name)
    else:
        name = f"@liveai-test-{os.getpid()}-{id(sock)}"
        sock.bind("\0" + name[1:])
    sock.settimeout(2.0)
    yield sock, name
    sock.close()


def test_each_send_is_one_datagram_and_a_status_is_sent_when_it_changes(systemd):
    sock, name = systemd
    notifier = Notifier.from_env({"NOTIFY_SOCKET": name})
    assert notifier.enabled
    notifier.status("loading the models")
    notifier.status("loading the models")  # unchanged: not sent again
    notifier.status("serving: mode thru", "READY=1")
    assert notifier.send("WATCHDOG=1")
    notifier.status("stopping", "STOPPING=1")
    notifier.close()
    got = []
    sock.settimeout(0.2)
    while True:
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            break
    assert got == [
        "STATUS=loading the models",
        "READY=1\nSTATUS=serving: mode thru",
        "WATCHDOG=1",
        "STOPPING=1\nSTATUS=stopping",
    ]


def test_with_no_socket_nothing_is_sent():
    notifier = Notifier.from_env({})
    assert not notifier.enabled and not notifier.send("READY=1") and notifier.errors == 0


def test_a_vanished_socket_is_counted_never_raised(tmp_path, caplog):
    notifier = Notifier(str(tmp_path / "gone"))
    assert not notifier.send("READY=1")
    assert not notifier.send("WATCHDOG=1")
    notifier.close()
    assert notifier.errors == 2
    assert len([r for r in caplog.records if "cannot tell systemd" in r.getMessage()]) == 1
