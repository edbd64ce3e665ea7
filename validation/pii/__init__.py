"""Internals of the personal-data scan; the public API is :mod:`validation.personal_data`."""
