"""`python -m tests.bench`: run the benchmarks, print a table, write var/bench/results.json.

Everything runs on throwaway state: a temporary var folder (SQLite file, filesystem broker,
simulator state), or, when DATABASE_URL names PostgreSQL, a database of its own created and
dropped on that server (never the database the URL names). CELERY_BROKER_URL is honoured, on a
queue of the run's own.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Before anything loads Django: the test settings, over a var folder of this run's own.
_VAR_DIR = Path(tempfile.mkdtemp(prefix="console-bench-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
os.environ["CONSOLE_VAR_DIR"] = str(_VAR_DIR)
os.environ.setdefault("LOG_LEVEL", "WARNING")  # one INFO line per SCP call would bury the table
# The simulators here have no edge limit (but in the "paced" group, which sets its own): the
# request budget is set above anything they can answer, so it measures the console alone.
os.environ.setdefault("SCP_REQUESTS_PER_MINUTE", "1000000")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

from tests.bench.bench_stats import TARGET_STAT, Result, table  # noqa: E402
from tests.bench.readme import groups_merge, readme_rewrite, readme_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RESULTS_PATH = ROOT / "var" / "bench" / "results.json"
README_PATH = ROOT / "README.md"
GROUPS = (
    "sign",
    "configdiff",
    "client",
    "pages",
    "pipeline",
    "sync",
    "paced",
    "scale",
    "history",
    "burst",
    "memory",
    "browser",
    "share",
)
# Everything: about 15 minutes on 2 cores at PostgreSQL and Redis (the history and its million
# changes, the burst, the memory group's 10,000-service sync, the share's polled changes).
DEFAULT_GROUPS = GROUPS
_POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")


class BenchDatabase:
    """Where the run's rows live: a temporary SQLite file, or a PostgreSQL database of its own."""

    def __init__(self) -> None:
        """Read DATABASE_URL; a PostgreSQL URL gets a sibling database, anything else SQLite."""
        url = os.environ.get("DATABASE_URL", "").strip()
        self.server_url = url if urlsplit(url).scheme in _POSTGRES_SCHEMES else ""
        self.name = f"bench_console_{os.getpid()}"
        self.ignored = bool(url) and not self.server_url
        self.created = False

    @property
    def shown(self) -> str:
        """What the report says about the database."""
        if not self.server_url:
            note = " (DATABASE_URL is not PostgreSQL: ignored)" if self.ignored else ""
            return f"SQLite, throwaway file{note}"
        parts = urlsplit(self.server_url)
        return f"PostgreSQL {parts.hostname}:{parts.port or 5432}/{self.name} (created for the run)"

    def create(self) -> None:
        """Point DATABASE_URL at the run's own database, creating it on a PostgreSQL server."""
        if not self.server_url:
            os.environ.pop("DATABASE_URL", None)  # the settings' default: a file in _VAR_DIR
            return
        from psycopg import sql

        with self._server() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(self.name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        self.created = True
        parts = urlsplit(self.server_url)
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{self.name}"))

    def drop(self) -> None:
        """Drop the run's PostgreSQL database, whoever still holds a connection to it."""
        if not self.created:
            return
        from django.db import connections
        from psycopg import sql

        connections.close_all()
        with self._server() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )
        self.created = False

    def _server(self):
        import psycopg

        # Connected to the database the URL names, only to create and drop the run's own.
        return psycopg.connect(self.server_url, autocommit=True, connect_timeout=10)


def _database_version() -> str:
    """The database and its version, as the README names it: "PostgreSQL 15.2", "SQLite 3.40"."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]}"
    return connection.display_name


def _load_average() -> float | None:
    """The one-minute load average, where the platform has one."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _run(results: list[Result], group: str, name: str, bench: Callable[[], list[Result]]) -> None:
    """Run one benchmark; a crash becomes an ERROR line instead of ending the run."""
    print(f"  {name}…", file=sys.stderr, flush=True)
    try:
        results.extend(bench())
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        results.append(
            Result(group=group, name=name, unit="", error=f"{type(exc).__name__}: {exc}")
        )


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks; 1 on an error, or on a missed target with --strict."""
    try:
        return _main(argv)
    finally:
        shutil.rmtree(_VAR_DIR, ignore_errors=True)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument(
        "--strict", action="store_true", help="exit non-zero when a target is missed"
    )
    parser.add_argument(
        "--only",
        default=",".join(DEFAULT_GROUPS),
        help=f"comma-separated benchmarks to run, of {', '.join(GROUPS)} (default: all)",
    )
    parser.add_argument(
        "--readme",
        action="store_true",
        help="after the run, rewrite README.md's table from var/bench/results.json",
    )
    parser.add_argument(
        "--readme-only",
        action="store_true",
        help="run nothing: rewrite README.md's table from the stored var/bench/results.json",
    )
    args = parser.parse_args(argv)
    if args.readme_only:
        return _readme()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(GROUPS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")

    # Celery warns that DEBUG leaks memory in a long-lived worker; this one lives a minute.
    warnings.filterwarnings("ignore", message=".*settings.DEBUG.*")
    started = time.perf_counter()
    load_before = _load_average()
    database = BenchDatabase()
    simulator = None
    results: list[Result] = []
    runs: dict[str, list[Result]] = {}
    try:
        database.create()
        import django
        from django.conf import settings
        from django.core.management import call_command

        django.setup()
        # Pages are measured as production serves them (DEBUG off): no query log kept per
        # statement, templates compiled without debug positions. Set before the first render,
        # so the template engine is made with it.
        settings.DEBUG = False
        print(f"Preparing: {database.shown}", file=sys.stderr, flush=True)
        call_command("migrate", verbosity=0, interactive=False)
        database_version = _database_version()

        from console.simulator.server import start_in_thread
        from tests.bench.bench_browser import bench_browser
        from tests.bench.bench_burst import bench_pipeline_burst
        from tests.bench.bench_configdiff import bench_configdiff
        from tests.bench.bench_history import bench_history
        from tests.bench.bench_memory import bench_memory
        from tests.bench.bench_pages import bench_pages
        from tests.bench.bench_pipeline import bench_pipeline, broker_shown
        from tests.bench.bench_scale import bench_pages_scale, bench_sync, bench_sync_paced
        from tests.bench.bench_scp import bench_client, bench_sign
        from tests.bench.bench_share import bench_share

        # update_delay 0: an accepted update is RUNNING again at SCP's next answer.
        simulator = start_in_thread(
            state_path=_VAR_DIR / "simulator" / "state.json", update_delay=0.0
        )
        broker = broker_shown(settings.CELERY_BROKER_URL)
        print(f"Running on broker {broker}:", file=sys.stderr, flush=True)
        plan: list[tuple[str, str, Callable[[], list[Result]]]] = [
            ("sign", "sign()", bench_sign),
            ("configdiff", "config_diff / config_apply", bench_configdiff),
            ("client", "SCP client round trips", lambda: bench_client(simulator)),
            ("pages", "page renders", bench_pages),
            ("pipeline", "change pipeline", lambda: bench_pipeline(simulator)),
            ("sync", "sync at 1,000 services", bench_sync),
            ("paced", "sync at 1,000 services behind a 600/min edge", bench_sync_paced),
            ("scale", "service list at 1,000 / 10,000 services", bench_pages_scale),
            ("history", "history at 1,000,000 changes (100,000 on SQLite)", bench_history),
            ("burst", "500 changes at once through workers", bench_pipeline_burst),
            ("memory", "gunicorn and Celery worker memory at 10,000 services", bench_memory),
            ("browser", "the service list at 10,000 services in Chromium", bench_browser),
            ("share", "the console's share of one change, production polling", bench_share),
        ]
        for key, name, bench in plan:
            if key in chosen:
                before = len(results)
                _run(results, key, name, bench)
                runs[key] = results[before:]
    finally:
        if simulator is not None:
            simulator.stop()
        database.drop()

    meta = {
        "finished_at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "django": django.get_version(),
        "cpus": os.cpu_count(),
        "load_average": {"before": load_before, "after": _load_average()},
        "database": database.shown,
        "database_version": database_version,
        "broker": broker,
        "targets_apply_to": TARGET_STAT,
        "seconds": round(time.perf_counter() - started, 1),
    }
    _report(meta, results, runs)
    if args.readme:
        _readme()
    misses = [r for r in results if r.passed is False]
    errors = [r for r in results if r.error]
    if errors or (args.strict and misses):
        return 1
    return 0


def _readme() -> int:
    """Rewrite the README's table from results.json; 1 when there is nothing to write."""
    if not RESULTS_PATH.exists():
        print(f"No {RESULTS_PATH.relative_to(ROOT)} yet: run the benchmarks first.")
        return 1
    groups = json.loads(RESULTS_PATH.read_text()).get("groups") or {}
    if not readme_rewrite(README_PATH, readme_table(groups, GROUPS)):
        print("README.md has no <!-- bench:start --> / <!-- bench:end --> markers.")
        return 1
    print(f"README.md's table rewritten from {RESULTS_PATH.relative_to(ROOT)}")
    return 0


def _report(meta: dict, results: list[Result], runs: dict[str, list[Result]]) -> None:
    """Print the table and write results.json."""
    print()
    print(
        f"Data Flow Console benchmarks: Python {meta['python']}, Django {meta['django']}, "
        f"{meta['database']}, broker {meta['broker']}"
    )
    load = meta["load_average"]
    print(
        f"{meta['cpus']} CPUs, load average {load['before']} before and {load['after']} after "
        "(on a busy machine the p95 figures rise first)."
    )
    print(table(results))
    print()
    for result in results:
        if result.error:
            print(f"ERROR in {result.name}: {result.error}")
    met = sum(r.passed is True for r in results)
    missed = sum(r.passed is False for r in results)
    errors = sum(bool(r.error) for r in results)
    print(
        f"Targets met: {met}, missed: {missed}, errors: {errors} "
        f"(a target applies to the {TARGET_STAT}); {meta['seconds']:.0f} s."
    )
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS_PATH.read_text()) if RESULTS_PATH.exists() else {}
    by_group = {key: [r.to_dict() for r in done] for key, done in runs.items()}
    payload = {
        "meta": meta,
        "results": [r.to_dict() for r in results],
        # Each group's last run, whichever run that was: the README's table reads these.
        "groups": groups_merge(previous, meta, by_group),
    }
    RESULTS_PATH.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    print(f"Written to {RESULTS_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
