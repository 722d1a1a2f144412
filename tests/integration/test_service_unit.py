"""The systemd unit of scripts/: never root, hardened, and systemd's own analysis agrees."""

from __future__ import annotations

import configparser
import re
import subprocess
from pathlib import Path

from conftest import need

UNIT = Path(__file__).parents[2] / "scripts" / "liveai.service"
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK",  # interfaces: mDNS, Link
    "CapabilityBoundingSet": "",
}


def test_the_unit_never_runs_as_root_and_is_hardened():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # keys are case sensitive
    unit.read(UNIT)
    service = unit["Service"]
    assert service.get("DynamicUser") == "yes" or service.get("User", "root") != "root"
    for key, value in HARDENING.items():
        assert service.get(key) == value, key
    assert service.get("Restart") == "always"
    # the config's relative paths (morph.folder) must land where the unit may write
    assert service.get("WorkingDirectory") == f"%S/{service.get('StateDirectory')}"
    # the synth's render process may ask for SCHED_FIFO at its priority, never root
    from liveai.audio.render_process import REALTIME_PRIORITY

    assert service.get("RestrictRealtime") == "no" and int(service.get("LimitRTPRIO", 0)) >= REALTIME_PRIORITY


def test_the_unit_waits_for_ready_and_watches_liveai():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(UNIT)
    service = unit["Service"]
    # liveai's own process says READY=1 and pings (tests/integration/test_systemd.py)
    assert service.get("Type") == "notify" and service.get("NotifyAccess") == "main"
    assert int(service.get("WatchdogSec", "0")) > 0
    assert "AF_UNIX" in service.get("RestrictAddressFamilies", "")  # the notify socket


def test_systemd_rates_its_exposure_ok(tmp_path):
    need("systemd-analyze")
    copy = tmp_path / "liveai.service"
    copy.write_text(UNIT.read_text())
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(copy)], capture_output=True, text=True
    )
    level = re.search(r"Overall exposure level for liveai.service: ([\d.]+)", done.stdout)
    assert level, done.stdout + done.stderr
    # "OK" in systemd's words (the default unit: 9.6, UNSAFE)
    assert float(level.group(1)) <= 4.0, done.stdout
