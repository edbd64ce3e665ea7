"""Quality validation: expectation suites, personal-data scan, reports.

Imports none of datahamn's packages: it takes Arrow/Parquet in and gives reports out.
Great Expectations is imported only when a row-level expectation first runs.

The ingestion pipeline's calls, in order::

    suite = parse_suite(text)                       # on upload; SuiteError lists problems
    problems = check_suite(suite, schema)           # on upload, against the data's schema
    report = validate(path, suite, previous=prev_profile, key_columns=keys)
    report.decision                                 # "publish" | "publish-with-warnings" | "reject"
    report.to_json(); render_html(report); report.profile.to_json()  # stored with the version
"""

from validation.defaults import DriftTolerance, SchemaChange, default_suite, schema_change
from validation.metrics import ColumnProfile, KeyProfile, Profile, compute_profile, read_schema
from validation.regex_guard import UnsafeRegex, guard_regex, regex_problem
from validation.report import (
    Decision,
    ExpectationResult,
    Mask,
    Report,
    ReportError,
    Summary,
    mask_columns,
    render_html,
)
from validation.runner import validate
from validation.suite_forms import parse_suite
from validation.suites import (
    SPECS,
    Expectation,
    Severity,
    Suite,
    SuiteError,
    SuiteProblem,
    check_suite,
)

__all__ = [
    "SPECS",
    "ColumnProfile",
    "Decision",
    "DriftTolerance",
    "Expectation",
    "ExpectationResult",
    "KeyProfile",
    "Mask",
    "Profile",
    "Report",
    "ReportError",
    "SchemaChange",
    "Severity",
    "Suite",
    "SuiteError",
    "SuiteProblem",
    "Summary",
    "UnsafeRegex",
    "check_suite",
    "compute_profile",
    "default_suite",
    "guard_regex",
    "mask_columns",
    "parse_suite",
    "read_schema",
    "regex_problem",
    "render_html",
    "schema_change",
    "validate",
]
