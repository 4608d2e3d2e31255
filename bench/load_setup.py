"""The untimed setup the load benchmarks share (``bench/bench_load.py``), made once per ``python -m bench``.

One :class:`LoadFixture` per work directory holds:

- a snapshot (``omc-data build --no-real-data``, tag ``bench-load`` unless ``tag`` says otherwise) in
  ``<root>/store``; with ``derive``, the build is tagged ``<tag>-base`` and ``derive(store, base, tag)``
  writes the snapshot the benchmarks load from it (``bench/bench_load_wide.py`` widens a text column);
- a throwaway PostgreSQL cluster (``init_cluster(fast=True)``: fsync off, as every contender uses it;
  autovacuum off so that no contender pays for vacuuming another's rows) in ``<root>/pgdata``;
- one database per contender (``databases``, by default ``DATABASES``), each a copy of a template
  holding the app-like schema ``tests/loaders/sql/omc_current.sql`` (dataset tables with the app's
  indexes, app tables with foreign keys into them, materialized views);
- CSV files of every dataset table (DuckDB from the snapshot's Parquet, timestamps in UTC, arrays as
  PostgreSQL array literals) readable by the server's OS user, for server-side ``COPY ... FROM 'file'``;
- the psql scripts of the baselines (``<root>/sql``), all ending with the same ``finish`` statements as
  ``omc-data load``: sequences past the loaded ids, the dependent materialized views refreshed in
  dependency order, ANALYZE of the loaded tables;
- on demand (``ensure(dump=True)``) a custom-format data-only dump of the dataset tables, made from a
  database loaded by the CSV script (the same rows: ``verify`` checks every end state against omc-data's).

Each benchmark's ``setup`` calls :meth:`LoadFixture.ensure` (builds what is missing, starts the cluster),
each contender's ``before`` hook :meth:`LoadFixture.reset` (empties its database's dataset tables and
views, then CHECKPOINT), and the ``teardown`` :meth:`LoadFixture.verify` then :meth:`LoadFixture.stop`.
Everything lives under the harness's work directory, removed at the end unless ``--keep``.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from omc_data.localdb import cluster

log = logging.getLogger(__name__)

TAG = "bench-load"
AS_OF = "2026-11-01T00:00:00Z"
PRICE = "price_data_5min"
SCHEMA_SQL = Path("tests/loaders/sql/omc_current.sql")
TEMPLATE_DB = "bench_template"
# one database per contender, so that no contender's leftovers (dead tuples, a bigger file) meet another
DATABASES = ("omc_data", "copy_indexed", "pg_restore", "sqlalchemy", "floor")
CLUSTER_SETTINGS = {"autovacuum": "off"}
T = TypeVar("T")


def ident(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A single-quoted SQL string literal (standard_conforming_strings is on)."""
    return "'" + text.replace("'", "''") + "'"


def _topo(nodes: Sequence[T], edges: Iterable[tuple[T, T]]) -> list[T]:
    """``nodes`` ordered so that for each edge (before, after) ``before`` comes first; stable otherwise."""
    after: dict[T, set[T]] = {n: set() for n in nodes}
    needs: dict[T, int] = dict.fromkeys(nodes, 0)
    for first, then in set(edges):
        if first in after and then in after and first != then and then not in after[first]:
            after[first].add(then)
            needs[then] += 1
    out: list[T] = []
    ready = [n for n in nodes if needs[n] == 0]
    while ready:
        node = ready.pop(0)
        out.append(node)
        for nxt in sorted(after[node], key=nodes.index):
            needs[nxt] -= 1
            if needs[nxt] == 0:
                ready.append(nxt)
        ready.sort(key=nodes.index)
    if len(out) != len(nodes):
        raise RuntimeError(f"dependency cycle among {[n for n in nodes if n not in out]}")
    return out


@dataclass
class TableInfo:
    name: str
    rows: int
    columns: list[str]  # the Parquet (and CSV header) order
    list_columns: set[str]
    parts: list[Path]


@dataclass
class LoadFixture:
    """The cluster, snapshot, databases, CSV files, dump and scripts shared by the load benchmarks."""

    root: Path
    repo: Path
    python: str
    days: int
    coins: int
    sample_rows: int  # price rows the SQLAlchemy baseline inserts
    quick: bool = False
    tag: str = TAG  # the snapshot the benchmarks load
    build_args: Sequence[str] = ()  # more ``omc-data build`` options (e.g. ``--agent-sessions``)
    # (store, built tag, tag): makes snapshot ``tag`` from the build, which is then tagged ``<tag>-base``
    derive: Callable[[Path, str, str], None] | None = None
    databases: Sequence[str] = DATABASES
    tables: list[TableInfo] = field(default_factory=list)  # in load order: parents first
    views: list[str] = field(default_factory=list)  # dependent materialized views, refresh order
    _cluster: cluster.LocalCluster | None = None
    _binaries: cluster.PgBinaries | None = None
    _built: bool = False
    _reset_counts: dict[str, int] = field(default_factory=dict)
    _t0: float = field(default_factory=time.perf_counter)

    # -- paths ------------------------------------------------------------------------------------------

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def snapshot(self) -> Path:
        return self.store / self.tag

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def csv_dir(self) -> Path:
        return self.root / "csv"

    @property
    def sql_dir(self) -> Path:
        return self.root / "sql"

    @property
    def dump(self) -> Path:
        return self.root / "dataset.dump"

    def script(self, name: str) -> Path:
        return self.sql_dir / f"{name}.sql"

    @property
    def price_rows(self) -> int:
        return next(t.rows for t in self.tables if t.name == PRICE)

    def url(self, db: str) -> str:
        if self._cluster is None:
            raise RuntimeError("the benchmark cluster is not running (LoadFixture.ensure first)")
        return self._cluster.url(db)

    # -- life cycle -------------------------------------------------------------------------------------

    def ensure(self, *, dump: bool = False) -> None:
        """Make whatever is still missing, and start the cluster if it is stopped."""
        if not self._built:
            self._build()
        self._start()
        if dump and not self.dump.exists():
            self._make_dump()

    def stop(self) -> None:
        if self._binaries is not None and (self.pgdata / "PG_VERSION").exists():
            cluster.stop_cluster(self.pgdata, self._binaries, mode="fast")
        self._cluster = None

    def _start(self) -> None:
        assert self._binaries is not None
        self._cluster = cluster.start_cluster(self.pgdata, self._binaries)

    def _build(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._open_for_server(self.root)
        self._say(f"building the snapshot ({self.days} days x {self.coins} coins)")
        built = self.tag if self.derive is None else f"{self.tag}-base"
        argv = [self.python, "-m", "omc_data", "-q", "--store", str(self.store), "build", "--tag", built]
        argv += ["--no-real-data", "--as-of", AS_OF, "--days", str(self.days), "--coins", str(self.coins)]
        if self.quick and "--bcrypt-rounds" not in self.build_args:
            argv += ["--bcrypt-rounds", "4"]  # hashes only: the rows to load are the same
        argv += list(self.build_args)
        subprocess.run(argv, check=True, cwd=self.repo, stdout=subprocess.DEVNULL)
        if self.derive is not None:
            self._say(f"deriving snapshot {self.tag} from {built}")
            self.derive(self.store, built, self.tag)
        manifest = json.loads((self.snapshot / "manifest.json").read_text())
        infos = self._table_infos(manifest)

        self._say("starting a throwaway PostgreSQL cluster")
        self._binaries = cluster.find_binaries()
        cluster.init_cluster(self.pgdata, self._binaries, fast=True)
        self._start()
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            for key, value in CLUSTER_SETTINGS.items():
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(key), value))
            conn.execute("SELECT pg_reload_conf()")
        schema = self.repo / SCHEMA_SQL
        if not schema.is_file():
            raise RuntimeError(f"the app-like schema {schema} is missing")
        cluster.create_database(self.url("postgres"), TEMPLATE_DB)
        with psycopg.connect(self.url(TEMPLATE_DB), autocommit=True) as conn:
            conn.execute(schema.read_text())  # a trusted fixture file
            order, views, sequences = self._read_schema(conn, list(infos))
            price_ddl = self._price_index_ddl(conn)
        self.tables = [infos[name] for name in order]
        self.views = views
        for db in self.databases:
            cluster.create_database(self.url("postgres"), db, template=TEMPLATE_DB)

        self._say("exporting CSV files")
        self._export_csv()
        self._write_scripts(sequences, price_ddl)
        self._built = True
        self._say("ready")

    def _say(self, text: str) -> None:
        print(f"[load setup {time.perf_counter() - self._t0:6.1f}s] {text}", file=sys.stderr, flush=True)

    def _open_for_server(self, root: Path) -> None:
        """Let the server's OS user reach ``root``: the harness's work dir is private (mkdtemp)."""
        if os.geteuid() != 0:
            return
        for folder in (root.parent, root):
            mode = stat.S_IMODE(folder.stat().st_mode)
            folder.chmod(mode | 0o055 if folder == root else mode | 0o011)  # the work dir: traverse only
        if not _server_user_can_enter(root):
            raise RuntimeError(
                f"the postgres OS user cannot reach {root}: a parent folder is private "
                "(pass --tmpdir /tmp/somewhere)"
            )

    def _table_infos(self, manifest: dict[str, Any]) -> dict[str, TableInfo]:
        import pyarrow.parquet as pq

        infos: dict[str, TableInfo] = {}
        for name, entry in manifest["tables"].items():
            parts = [self.snapshot / part["path"] for part in entry["parts"]]
            arrow = pq.read_schema(parts[0])
            lists = {f.name for f in arrow if str(f.type).startswith(("list<", "large_list<"))}
            infos[name] = TableInfo(name, int(entry["rows"]), [f.name for f in arrow], lists, parts)
        return infos

    def _read_schema(
        self, conn: psycopg.Connection[Any], names: list[str]
    ) -> tuple[list[str], list[str], list[tuple[str, str, str]]]:
        """The load order (foreign keys), the dependent materialized views and the owned sequences."""
        rows = conn.execute(
            "SELECT c.oid::int8, c.relname::text FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' "
            "WHERE c.relkind IN ('r', 'p') AND c.relname = ANY(%s)",
            (names,),
        ).fetchall()
        table_of = {int(oid): name for oid, name in rows}
        # tables newer than the app-like schema (the head tables) are skipped by the load too: compare
        # the tables both sides write
        names = [n for n in names if n in table_of.values()]
        if not names:
            raise RuntimeError("the app-like schema has none of the snapshot's tables")
        fks = conn.execute("SELECT confrelid::int8, conrelid::int8 FROM pg_constraint WHERE contype = 'f'")
        order = _topo(names, [(table_of[a], table_of[b]) for a, b in fks if a in table_of and b in table_of])

        deps = conn.execute(
            "SELECT DISTINCT v.oid::int8, v.oid::regclass::text, v.relkind::text, d.refobjid::int8 "
            "FROM pg_class v JOIN pg_rewrite r ON r.ev_class = v.oid "
            "JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid "
            "AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> v.oid "
            "WHERE v.relkind IN ('m', 'v')"
        ).fetchall()
        view_name = {int(oid): (name, kind) for oid, name, kind, _ in deps}
        edges = [(int(ref), int(oid)) for oid, _, _, ref in deps]
        affected: set[int] = set()
        changed = True
        while changed:  # the views that read a dataset table, directly or through another view
            changed = False
            for ref, view in edges:
                if (ref in table_of or ref in affected) and view not in affected:
                    affected.add(view)
                    changed = True
        nodes = sorted(affected, key=lambda oid: view_name[oid][0])
        views = [view_name[v][0] for v in _topo(nodes, edges) if view_name[v][1] == "m"]

        sequences = conn.execute(
            "SELECT t.relname::text, a.attname::text, s.oid::regclass::text FROM pg_depend d "
            "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
            "JOIN pg_class t ON t.oid = d.refobjid "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
            "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
            "AND d.deptype IN ('a', 'i') AND t.oid = ANY(%s) ORDER BY 1, 2",
            (list(table_of),),
        ).fetchall()
        return order, views, [(t, c, s) for t, c, s in sequences]

    def _price_index_ddl(self, conn: psycopg.Connection[Any]) -> tuple[list[str], list[str]]:
        """The floor's statements: drop price's indexes and key constraints, then make them again as
        they were (definitions, comments, the CLUSTER ON mark)."""
        rows = conn.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), i.indisclustered, "
            "obj_description(i.indexrelid, 'pg_class'), c.conname::text, pg_get_constraintdef(c.oid), "
            "obj_description(c.oid, 'pg_constraint') "
            "FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid "
            "AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x') "
            "WHERE i.indrelid = %s::regclass ORDER BY i.indisprimary DESC, 1",
            (PRICE,),
        ).fetchall()
        drop: list[str] = []
        make: list[str] = []
        table = ident(PRICE)
        for index, indexdef, clustered, comment, conname, condef, concomment in rows:
            if conname is not None:
                drop.append(f"ALTER TABLE {table} DROP CONSTRAINT {ident(conname)};")
                make.append(f"ALTER TABLE {table} ADD CONSTRAINT {ident(conname)} {condef};")
                if concomment is not None:
                    make.append(
                        f"COMMENT ON CONSTRAINT {ident(conname)} ON {table} IS {literal(concomment)};"
                    )
            else:
                drop.append(f"DROP INDEX {index};")
                make.append(f"{indexdef};")
            if comment is not None:
                make.append(f"COMMENT ON INDEX {index} IS {literal(comment)};")
            if clustered:
                make.append(f"ALTER TABLE {table} CLUSTER ON {index};")
        return drop, make

    def _export_csv(self) -> None:
        import duckdb

        self.csv_dir.mkdir(exist_ok=True)
        self.csv_dir.chmod(0o755)
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            for t in self.tables:
                exprs = []
                for c in t.columns:
                    q = ident(c)
                    if c in t.list_columns:  # DuckDB writes [a, b]; PostgreSQL wants {"a","b"}
                        element = (
                            "CASE WHEN e IS NULL THEN 'NULL' ELSE "
                            "'\"' || replace(replace(e, '\\', '\\\\'), '\"', '\\\"') || '\"' END"
                        )
                        items = f"array_to_string(list_transform({q}, lambda e: {element}), ',')"
                        exprs.append(
                            f"CASE WHEN {q} IS NULL THEN NULL ELSE '{{' || {items} || '}}' END AS {q}"
                        )
                    else:
                        exprs.append(q)
                files = ", ".join(literal(str(p)) for p in t.parts)
                out = self.csv_path(t.name)
                con.execute(
                    f"COPY (SELECT {', '.join(exprs)} FROM read_parquet([{files}])) "
                    f"TO {literal(str(out))} (FORMAT csv, HEADER true)"
                )
                out.chmod(0o644)
        finally:
            con.close()
        probe = self.csv_path(self.tables[0].name)
        if os.geteuid() == 0 and not _server_user_can_read(probe):
            raise RuntimeError(f"the postgres OS user cannot read {probe} (pass --tmpdir /tmp/somewhere)")

    def csv_path(self, table: str) -> Path:
        return self.csv_dir / f"{table}.csv"

    # -- the baselines' SQL ---------------------------------------------------------------------------

    def _copy(self, t: TableInfo) -> str:
        columns = ", ".join(ident(c) for c in t.columns)
        path = literal(str(self.csv_path(t.name)))
        return f"COPY {ident(t.name)} ({columns}) FROM {path} WITH (FORMAT csv, HEADER true);"

    def _write_scripts(
        self, sequences: list[tuple[str, str, str]], price_ddl: tuple[list[str], list[str]]
    ) -> None:
        finish = [
            f"SELECT setval({literal(seq)}, coalesce(max({ident(col)}), 0) + 1, false) FROM {ident(tab)};"
            for tab, col, seq in sequences
        ]
        finish += [f"REFRESH MATERIALIZED VIEW {view};" for view in self.views]
        finish += [f"ANALYZE {ident(t.name)};" for t in self.tables]
        head = ["\\set ON_ERROR_STOP on", "BEGIN;"]
        copy_indexed = [*head, *(self._copy(t) for t in self.tables), *finish, "COMMIT;"]
        drop, make = price_ddl
        floor = [*head]
        for t in self.tables:
            floor += [*drop, self._copy(t), *make] if t.name == PRICE else [self._copy(t)]
        floor += [*finish, "COMMIT;"]
        self.sql_dir.mkdir(exist_ok=True)
        self.script("copy_indexed").write_text("\n".join(copy_indexed) + "\n")
        self.script("floor").write_text("\n".join(floor) + "\n")
        self.script("finish").write_text("\n".join([*head, *finish, "COMMIT;"]) + "\n")
        # one statement a line, for the SQLAlchemy baseline (no psql meta-commands)
        self.script("finish_statements").write_text("\n".join(s.rstrip(";") for s in finish) + "\n")

    def psql_argv(self, db: str, script: str) -> list[str]:
        return [
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            self.url(db),
            "-f",
            str(self.script(script)),
        ]

    def pg_restore_argv(self, db: str) -> list[str]:
        """One process: pg_restore in one transaction, then the same finish statements with psql."""
        return [
            "/bin/sh",
            "-ec",
            'pg_restore --data-only --single-transaction --exit-on-error -d "$1" "$2"\n'
            'exec psql -X -q -v ON_ERROR_STOP=1 -d "$1" -f "$3"',
            "pg_restore+psql",
            self.url(db),
            str(self.dump),
            str(self.script("finish")),
        ]

    def sqlalchemy_argv(self, db: str) -> list[str]:
        script = self.repo / "bench" / "load_sqlalchemy.py"
        return [
            self.python,
            str(script),
            self.url(db),
            str(self.snapshot),
            "--price-rows",
            str(self.sample_rows),
            "--finish",
            str(self.script("finish_statements")),
        ]

    def _make_dump(self) -> None:
        self._say("making the custom-format dump")
        db = "pg_restore"
        self.reset(db, count=False)
        _run(self.psql_argv(db, "copy_indexed"))  # the same rows as the snapshot: verify checks it
        argv = ["pg_dump", "-Fc", "--data-only", "-f", str(self.dump), "-d", self.url(db)]
        for t in self.tables:
            argv += ["-t", f"public.{ident(t.name)}"]
        _run(argv)
        self.reset(db, count=False)

    # -- before and after the runs --------------------------------------------------------------------

    def reset(self, db: str, *, count: bool = True) -> None:
        """Empty ``db``'s dataset tables (and what references them) and its views, then CHECKPOINT, so
        that every run starts from the same state with no dirty buffers of an earlier run to write."""
        names = ", ".join(ident(t.name) for t in self.tables)
        with psycopg.connect(self.url(db), autocommit=True) as conn:
            conn.execute(f"TRUNCATE {names} CASCADE")
            for view in self.views:
                conn.execute(f"REFRESH MATERIALIZED VIEW {view}")
            conn.execute("CHECKPOINT")
        if count:
            self._reset_counts[db] = self._reset_counts.get(db, 0) + 1

    def fingerprint(self, db: str) -> dict[str, Any]:
        """Rows and an order-independent hash of every dataset table and view, and price's indexes."""
        out: dict[str, Any] = {}
        with psycopg.connect(self.url(db), options="-c TimeZone=UTC") as conn:
            for rel in [ident(t.name) for t in self.tables] + self.views:
                row = conn.execute(
                    f"SELECT count(*), coalesce(sum(hashtext(x::text)::bigint), 0) FROM {rel} x"
                ).fetchone()
                assert row is not None
                out[rel] = (int(row[0]), int(row[1]))
            out["indexes"] = conn.execute(
                "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                "AND tablename = %s ORDER BY 1",
                (PRICE,),
            ).fetchall()
            out["index comments"] = conn.execute(
                "SELECT i.indexrelid::regclass::text, obj_description(i.indexrelid, 'pg_class'), "
                "i.indisclustered FROM pg_index i WHERE i.indrelid = %s::regclass ORDER BY 1",
                (PRICE,),
            ).fetchall()
        return out

    def verify(self, reference: str, others: Sequence[str], *, sampled: Sequence[str] = ()) -> None:
        """Check that each database holds what the reference (omc-data's) holds after its last run: the
        same rows in every table and view, price's indexes as the schema made them. A sampled database
        holds ``sample_rows`` price rows (its views are not compared)."""
        ran = [db for db in (reference, *others) if self._reset_counts.get(db)]
        if len(ran) < 1 + len(others):
            return  # not every contender ran: nothing to compare
        expected = self.fingerprint(reference)
        problems: list[str] = []
        for t in self.tables:
            got = expected[ident(t.name)][0]
            if got != t.rows:
                problems.append(f"{reference}: {t.name} has {got:,} rows, the snapshot {t.rows:,}")
        for db in others:
            got = self.fingerprint(db)
            for key, value in expected.items():
                if db in sampled and (key in self.views or key == ident(PRICE)):
                    if key == ident(PRICE) and got[key][0] != self.sample_rows:
                        problems.append(f"{db}: {PRICE} has {got[key][0]:,} rows, not {self.sample_rows:,}")
                    continue
                if got[key] != value:
                    problems.append(f"{db}: {key} differs from {reference}'s: {got[key]} != {value}")
        if problems:
            raise RuntimeError("the contenders' end states differ:\n  " + "\n  ".join(problems))
        self._say(f"end state of {', '.join(others)} matches {reference}'s")


def _server_user_can_enter(path: Path) -> bool:
    return _as_server_user_ok(["test", "-x", str(path)])


def _server_user_can_read(path: Path) -> bool:
    return _as_server_user_ok(["test", "-r", str(path)])


def _as_server_user_ok(argv: list[str]) -> bool:
    full = ["runuser", "-u", cluster.SERVER_OS_USER, "--", *argv]
    return subprocess.run(full, capture_output=True, cwd="/", check=False, timeout=30).returncode == 0


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-10:])
        raise RuntimeError(f"{argv[0]} failed (exit {result.returncode}):\n{tail}")


_FIXTURES: dict[Path, LoadFixture] = {}


def fixture(root: Path, **kwargs: Any) -> LoadFixture:
    """The one fixture of ``root`` (made on first call; later calls ignore ``kwargs``)."""
    if root not in _FIXTURES:
        _FIXTURES[root] = LoadFixture(root=root, **kwargs)
    return _FIXTURES[root]
