import os
import sys
import tempfile

# tests run against the in-place build (make build) of this checkout
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# the engine's configuration file goes to a scratch folder, not ~/.ckeras
os.environ.setdefault("CKERAS_HOME", tempfile.mkdtemp(prefix="ckeras-home-"))
