"""This folder's kit on the path (the suite imports in importlib mode; the kit's module name is unique)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
