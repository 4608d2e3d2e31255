"""The snapshot store: immutable, tagged, checksummed Parquet datasets (format_version 1).

A snapshot is the contract between the builder (which writes it) and the loaders (which read it):
neither imports the other.
"""
