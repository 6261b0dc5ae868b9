"""The engine, libponder, through its Python binding: `from ponder_train.binding import ponder`.

The binding is its own package (bindings/python), which the training environment does not
install; this library is installed from a clone (`pip install -e training`), so it takes the
binding from the same clone, which loads that clone's build (.build/release/libponder.so).
Without the clone's copy (this library installed on its own), an installed binding is used.
"""
import sys
from pathlib import Path

_CLONE_BINDING = Path(__file__).resolve().parents[2] / "bindings" / "python"

if (_CLONE_BINDING / "ponder" / "__init__.py").is_file() and str(_CLONE_BINDING) not in sys.path:
    sys.path.insert(0, str(_CLONE_BINDING))

import ponder  # noqa: E402

__all__ = ["ponder"]
