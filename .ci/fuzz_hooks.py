"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) in `.ci/fuzz`: one AST parse at a time.

On CPython 3.11 the C code that turns a parse tree into `ast` objects keeps its recursion depth
in interpreter-wide state, not per thread. schemathesis runs its workers as threads, and
hypothesis parses source files (`ast.parse`) to describe the lambdas in its strategies; two
workers parsing at once corrupt that counter and one of them fails with "SystemError: AST
constructor recursion depth mismatch" (python/cpython#106905, fixed in 3.12). That error is the
fuzzer's, not the API's, so the parses take turns. Nothing here changes what is generated or
checked.
"""

from __future__ import annotations

import ast
import sys
import threading
from typing import Any

if sys.version_info < (3, 12):
    _parse = ast.parse
    _lock = threading.Lock()

    def _serialised_parse(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return _parse(*args, **kwargs)

    ast.parse = _serialised_parse  # type: ignore[assignment]
