"""The local PostgreSQL server: a throwaway cluster (:mod:`.cluster`) and the project's own database
that ``omc-data db up/down/status`` manage (:mod:`.project`).

Used by the cli, the api and the pytest plugin; the loaders restore snapshots into any server and do not
need this one.
"""
