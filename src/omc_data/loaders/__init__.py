"""Loaders: restore a snapshot into PostgreSQL (COPY), and manage a local throwaway server."""
