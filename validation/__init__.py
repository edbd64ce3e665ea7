"""Quality validation: expectation suites, personal-data scan, reports.

Imports none of datahamn's packages: it takes Arrow/Parquet in and gives reports out.
"""
