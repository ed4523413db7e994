# Run by `dify plugin test` (as `python -c <this file> <results.json> [unittest args...]`) when pytest
# is not installed: `python -m unittest discover -s tests` with its usual output, which also
# writes each test's outcome to <results.json> for the JUnit report.
import json
import sys
import time
import unittest


def junit_names(test):
    """A test's class and name for the JUnit report (unittest's id cut at its last dot would cut
    a subtest's "(x=1.5)" or "setUpClass (module.Class)"): a subtest is its test's method with
    the subtest's parameters; an error in setUpClass or setUpModule (reported as
    "setUpClass (module.Class)") is named for the hook, in that class or module."""
    case = getattr(test, "test_case", test)
    if not isinstance(case, unittest.TestCase):
        hook, _, where = str(test).partition(" (")
        return (where[:-1] if where.endswith(")") else str(test)), hook
    classname, _, name = case.id().rpartition(".")
    # A subtest's id is its test's id, a space, then its parameters: "(x=1.5)".
    return classname or name, name + test.id()[len(case.id()) :]


class RecordingResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.records = []
        self._started = {}

    def startTest(self, test):
        self._started[test.id()] = time.perf_counter()
        super().startTest(test)

    def _record(self, test, outcome, err=None, reason=None):
        began = self._started.pop(test.id(), None)
        classname, name = junit_names(test)
        record = {
            "classname": classname,
            "name": name,
            "outcome": outcome,
            "seconds": 0.0 if began is None else time.perf_counter() - began,
        }
        if err is not None:
            record["details"] = self._exc_info_to_string(err, test)
            record["message"] = "".join(str(err[1]).splitlines()[:1]) or err[0].__name__
        if reason is not None:
            record["message"] = str(reason)
        self.records.append(record)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failed", err)

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "error", err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped", reason=reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, "skipped", reason="expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, "failed", reason="unexpected success")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._record(subtest, "failed" if failed else "error", err)


class RecordingRunner(unittest.TextTestRunner):
    resultclass = RecordingResult


results_file = sys.argv[1]
program = unittest.main(
    module=None,
    argv=["python -m unittest", "discover", "-s", "tests", *sys.argv[2:]],
    testRunner=RecordingRunner,
    exit=False,
)
with open(results_file, "w", encoding="utf-8") as out:
    json.dump(program.result.records, out)
sys.exit(0 if program.result.wasSuccessful() else 1)
