"""Backup benchmark: `domus backup` and `domus restore` of a large database, timed and
checked row by row.

    python -m bench.backup [--cases 100000] [--database sqlite|postgresql|both]
                           [--letters 2000] [--scratch DIR] [--postgres-url URL] [--json]

A fresh database (a SQLite file in a temporary folder, or a PostgreSQL database of its own
on 127.0.0.1:5432, dropped afterwards) is filled by bench/web.py's bulk builder (`--cases`
cases, 30% open, each with its notice and raw receipt, 4-8 tasks, contacts and their
history, some flags, letters and referrals), and `--letters` of its registered letters get
a file of 20-60 KB of random bytes (incompressible, like a .docx) under the data directory.
Then: the content of every table is hashed row by row in primary-key order and every file's
sha256 taken; `services.backup.backup` writes the archive (timed); the database and the
data directory are wiped (the SQLite files deleted; PostgreSQL's schema dropped); the
archive is restored (timed, its own checks included: every member's sha256, the row counts)
and the tables and files are hashed again and compared.

Baselines, named in the output: for SQLite, copying the database file (`shutil.copyfile`,
what a backup of a stopped database costs); for PostgreSQL, `pg_dump --format=custom`
alone (what the backup wraps). Printed: build time, database size, archive size, backup
and restore time, their ratio to the baseline, rows per second restored.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, select, text
from sqlalchemy.engine import make_url

from bench.scratch import scratch_database
from domus.bootstrap import secret_key
from domus.settings import Settings
from services.backup import _pg_env, backup, restore, sha256_of
from store.db import create_database_engine

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def table_digests(url: str) -> dict[str, tuple[int, str]]:
    """(rows, sha256 of every row in primary-key order) per table, read from the database."""
    engine = create_engine(url)
    found = {}
    try:
        schema = MetaData()
        schema.reflect(engine)
        with engine.connect() as connection:
            for table in schema.sorted_tables:
                digest, count = hashlib.sha256(), 0
                order = list(table.primary_key.columns) or list(table.columns)
                for row in connection.execute(select(table).order_by(*order)
                                              .execution_options(yield_per=20000)):
                    digest.update(repr(tuple(row)).encode())
                    count += 1
                found[table.name] = (count, digest.hexdigest())
    finally:
        engine.dispose()
    return found


def file_digests(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): sha256_of(path)
            for path in sorted(root.rglob("*")) if path.is_file()}


def write_letters(engine: Engine, data_dir: Path, limit: int) -> int:
    rng = random.Random(5)
    with engine.connect() as connection:
        paths = connection.scalars(text(f"SELECT path FROM letters ORDER BY id LIMIT {limit}"))
        written = 0
        for stored in paths:
            target = data_dir / stored
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(rng.randbytes(rng.randint(20_000, 60_000)))
            written += 1
    return written


def database_bytes(url: str) -> int:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return sum(Path(f"{parsed.database}{s}").stat().st_size for s in ("", "-wal")
                   if Path(f"{parsed.database}{s}").exists())
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT pg_database_size(current_database())"))
    finally:
        engine.dispose()


def baseline(url: str, folder: Path) -> float:
    """Seconds of the plain copy a backup is compared with (see the module's docstring)."""
    parsed = make_url(url)
    started = time.perf_counter()
    if parsed.get_backend_name() == "sqlite":
        shutil.copyfile(parsed.database, folder / "baseline.db")
        elapsed = time.perf_counter() - started
        (folder / "baseline.db").unlink()
        return elapsed
    subprocess.run(["pg_dump", "--format=custom", f"--file={folder / 'baseline.dump'}"],
                   env=_pg_env(parsed), check=True)
    elapsed = time.perf_counter() - started
    (folder / "baseline.dump").unlink()
    return elapsed


def wipe(url: str, data_dir: Path) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm", ".secret"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
    else:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    shutil.rmtree(data_dir)


def run(kind: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from bench.web import build

    with scratch_database(kind, folder / "bench.db", args.postgres_url) as url:
        data_dir = folder / "data"
        settings = Settings(database_url=url, data_dir=data_dir, secret_key=None)
        engine = create_database_engine(url)
        say(f"{kind}: building {args.cases} cases")
        built = build(engine, args.cases, 0, 0.3)
        letters = write_letters(engine, data_dir, args.letters)
        secret_key(settings)  # the generated key, as bootstrap makes it
        engine.dispose()
        say(f"{kind}: built in {built['build_seconds']:.1f} s; hashing every row")
        rows_before, files_before = table_digests(url), file_digests(data_dir)
        size = database_bytes(url)
        base = baseline(url, folder)
        archive = folder / "domus-backup.tar"
        started = time.perf_counter()
        manifest = backup(settings, archive, now=datetime.now().replace(microsecond=0))
        backup_seconds = time.perf_counter() - started
        say(f"{kind}: backup {backup_seconds:.1f} s; wiping and restoring")
        wipe(url, data_dir)
        started = time.perf_counter()
        restored = restore(settings, archive)
        restore_seconds = time.perf_counter() - started
        rows_after, files_after = table_digests(url), file_digests(data_dir)
        total_rows = sum(count for count, _ in rows_before.values())
        differing = sorted(name for name in set(rows_before) | set(rows_after)
                           if rows_before.get(name) != rows_after.get(name))
        result = {
            "database": kind, "cases": built["cases"], "tasks": built["tasks"],
            "rows": total_rows, "tables": len(rows_before), "letter_files": letters,
            "build_seconds": round(built["build_seconds"], 1),
            "database_mb": round(size / 1e6, 1),
            "archive_mb": round(manifest["size"] / 1e6, 1),
            "backup_seconds": round(backup_seconds, 2),
            "baseline_seconds": round(base, 2),
            "backup_vs_baseline": round(backup_seconds / base, 2) if base else None,
            "restore_seconds": round(restore_seconds, 2),
            "restored_rows_per_second": round(total_rows / restore_seconds),
            "tables_equal": not differing, "differing_tables": differing,
            "files_equal": files_after == files_before,
            "restore_rows_match_manifest": restored["rows"] == manifest["rows"],
        }
        archive.unlink()
        shutil.rmtree(data_dir, ignore_errors=True)
        return result


def report(result: dict[str, Any]) -> bool:
    baseline_name = ("shutil.copyfile of the database file" if result["database"] == "sqlite"
                     else "pg_dump --format=custom alone")
    print(f"\n{result['database']}: {result['cases']} cases, {result['rows']} rows in "
          f"{result['tables']} tables, {result['letter_files']} letter files "
          f"(built in {result['build_seconds']} s)")
    print(f"  database {result['database_mb']} MB -> archive {result['archive_mb']} MB")
    print(f"  backup   {result['backup_seconds']} s  (baseline, {baseline_name}: "
          f"{result['baseline_seconds']} s; ratio {result['backup_vs_baseline']})")
    print(f"  restore  {result['restore_seconds']} s  "
          f"({result['restored_rows_per_second']} rows/s, checks included)")
    ok = result["tables_equal"] and result["files_equal"] and \
        result["restore_rows_match_manifest"]
    print(f"  every row and file equal after wipe and restore: {'yes' if ok else 'NO'}"
          + (f" (differing: {', '.join(result['differing_tables'])})"
             if result["differing_tables"] else ""))
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--letters", type=int, default=2000,
                        help="registered letters that get a file under the data directory")
    parser.add_argument("--scratch", type=Path, help="a folder for the files (default: a "
                                                     "temporary one, removed afterwards)")
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results, passed = [], True
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix="domus-bench-backup-",
                                         dir=args.scratch) as folder:
            result = run(kind, args, Path(folder))
        passed = report(result) and passed
        results.append(result)
    print(f"\nmachine: {os.cpu_count()} cores; figures are wall-clock seconds")
    if args.json:
        print(json.dumps(results))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
