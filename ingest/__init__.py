"""Ingestion: resumable uploads, format readers, normalisation to Parquet, atomic publish.

Built in the ingestion issue; imports `catalog` and `validation`.
"""
