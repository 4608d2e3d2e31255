"""Loaders: restore a snapshot into PostgreSQL (COPY), capture a database into one, read its schema."""
