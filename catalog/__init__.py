"""The catalog kernel: settings, metadata database, object stores, and the catalog domain.

`catalog` imports none of datahamn's other packages; they build on it.
"""
