import os
import sys
import tempfile
import threading

import pytest

# tests run against the in-place build (make build) of this checkout
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# the engine's configuration file goes to a scratch folder, not ~/.ckeras
os.environ.setdefault("CKERAS_HOME", tempfile.mkdtemp(prefix="ckeras-home-"))


@pytest.fixture
def no_new_threads():
    """Fails the test if it leaves threads running."""
    before = set(threading.enumerate())
    yield
    left = [t for t in threading.enumerate() if t not in before]
    assert not left, f"threads still running: {left}"
