import os
import sys

# tests run against the in-place build (make build) of this checkout
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
