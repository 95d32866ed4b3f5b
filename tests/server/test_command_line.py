"""The command line reports bad configuration without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent


def test_an_invalid_setting_stops_the_service_with_a_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server", "seed"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PORT": "not-a-port", "ENVIRONMENT": "development"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "Invalid configuration" in result.stderr
    assert "port" in result.stderr
    assert "Traceback" not in result.stderr
