"""What the client check scripts share: checks that go on when one fails, one line each
('ok   NAME', 'FAIL NAME: why', 'skip NAME: why'), and a closing
'N passed, M failed, K skipped' with the exit status (non-zero on any failure).

A script imports it from its own folder (Python puts a script's folder first on the path).
"""
import sys
import traceback

_outcomes = []
_skipped = 0


def record(name, ok, detail=""):
    """Records the check `name` as passed or failed."""
    _outcomes.append(ok)
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))


def check(name):
    """Runs the decorated function at once as the check `name`; an exception fails it."""
    def wrap(fn):
        try:
            fn()
            record(name, True)
        except Exception as e:  # a failed check must not stop the others
            traceback.print_exc()
            record(name, False, repr(e))
        return fn
    return wrap


def skip(count, why):
    """`count` checks this client's version cannot run: reported, never counted as passed."""
    global _skipped
    _skipped += count
    print(f"skip {why}")


def finish():
    """Prints the closing line and exits."""
    passed = sum(1 for ok in _outcomes if ok)
    failed = len(_outcomes) - passed
    print(f"{passed} passed, {failed} failed, {_skipped} skipped")
    sys.exit(1 if failed else 0)
