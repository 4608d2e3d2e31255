"""What collecting real data costs a default ``omc-data build``: against a local server at real sizes.

``bench/real_server.py`` (started in ``setup``, stopped in ``teardown``) serves Coinspot (400 coins),
DeFiLlama (7,000 protocols, ~10 MB of JSON, gzip on the wire as the real API) and CryptoPanic (5 pages of
20 posts) from responses generated once, seeded. The thing is a default build, exactly as a user runs it
(``omc-data -q --store S build --tag T``: real data from the three sources, default counts, bcrypt cost
12), its endpoints pointed at the server through ``OMC_DATA_*_URL`` and ``CRYPTOPANIC_API_KEY``.

Baselines, both offline, both with the default counts and bcrypt cost:

- ``--no-real-data --as-of <fixed>`` (the target's baseline): the same build, every source synthetic.
- ``--replay`` of a snapshot built with real data in ``setup`` (informative): the same real rows, read
  back from the gzipped ``raw/`` responses instead of the network.

Target: real data adds at most 50% to a default build (``max_ratio=1.5``). Every store is wiped untimed
before its run (tags are immutable). A degraded source would make the thing cheaper and the benchmark
meaningless, so ``setup`` fails unless its real-data build collected all three sources, and every timed
run of the thing is checked the same way (its manifest, read untimed before the next run and at the end).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from bench.harness import BenchContext, Benchmark, BenchmarkError, Contender

NAME = "build-real-data"
AS_OF = "2026-11-01T00:00:00Z"
TOKEN = "bench-token"
SOURCES = ("coinspot", "defillama", "cryptopanic")
TIMEOUT = 300.0
SERVER_START_TIMEOUT = 60.0


def _check_collected(snapshot: Path, outcome: str = "collected") -> None:
    """BenchmarkError unless every source of ``snapshot``'s manifest has ``outcome``."""
    manifest = snapshot / "manifest.json"
    try:
        sources = json.loads(manifest.read_text())["sources"]
    except (OSError, ValueError, KeyError) as exc:
        raise BenchmarkError(f"{NAME}: cannot read the sources of {manifest}: {exc}") from None
    wrong = {
        s: f"{sources.get(s, {}).get('outcome')} ({sources.get(s, {}).get('reason', 'no reason given')})"
        for s in SOURCES
        if sources.get(s, {}).get("outcome") != outcome
    }
    if wrong:
        said = "; ".join(f"{s}: {w}" for s, w in wrong.items())
        raise BenchmarkError(
            f"{NAME}: {snapshot.name} did not collect every source ({said}); "
            "a degraded build is not what this benchmark measures"
        )


class _Server:
    """``bench/real_server.py`` as a subprocess, and the environment that points a build at it."""

    def __init__(self, ctx: BenchContext) -> None:
        self.ctx = ctx
        self.proc: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}  # filled in by start(): the Contender holds this very dict

    def start(self, directory: Path) -> None:
        url_file, log = directory / "server.url", directory / "server.log"
        script = self.ctx.root / "bench" / "real_server.py"
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                [self.ctx.python, str(script), str(url_file)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not url_file.exists():
            if self.proc.poll() is not None:
                raise BenchmarkError(
                    f"{NAME}: real_server.py exited {self.proc.returncode}:\n{log.read_text()}"
                )
            if time.monotonic() > deadline:
                raise BenchmarkError(f"{NAME}: real_server.py wrote no URL in {SERVER_START_TIMEOUT:.0f} s")
            time.sleep(0.05)
        base = url_file.read_text().strip()
        self.env.update(
            OMC_DATA_COINSPOT_URL=f"{base}/pubapi/v2/latest",
            OMC_DATA_DEFILLAMA_URL=f"{base}/protocols",
            OMC_DATA_CRYPTOPANIC_URL=f"{base}/api/developer/v2/posts/?public=true&kind=news",
            CRYPTOPANIC_API_KEY=TOKEN,
            NO_PROXY="127.0.0.1,localhost",  # a proxy in the environment must not sit in between
            no_proxy="127.0.0.1,localhost",
        )

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def benchmarks(ctx: BenchContext) -> list[Benchmark]:
    data = ctx.data_dir(NAME)
    server = _Server(ctx)
    tags = itertools.count(1)
    real_store, offline_store = data / "real", data / "offline"
    replay_store, replay_source = data / "replay", data / "replay-source"
    last_real: list[Path] = []  # the thing's last snapshot, checked before the next run and at the end

    def check_last_real(*, published_only: bool = False) -> None:
        while last_real:
            snapshot = last_real.pop()
            if not published_only or (snapshot / "manifest.json").exists():
                _check_collected(snapshot)

    def setup(directory: Path) -> None:
        server.start(directory)
        # one real-data build, untimed: the replay's source, and the proof that the server is collected from
        argv = ctx.omc_data_argv("-q", "--store", str(replay_source), "build", "--tag", "source")
        done = subprocess.run(
            argv,
            env={**os.environ, **server.env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise BenchmarkError(
                f"{NAME}: the setup build failed ({done.returncode}):\n{done.stderr[-3000:]}"
            )
        _check_collected(replay_source / "source")

    def teardown(directory: Path) -> None:
        server.stop()
        # teardown also runs after a failed run: an unpublished snapshot is that failure, already reported
        check_last_real(published_only=True)

    def real_before() -> None:
        check_last_real()
        shutil.rmtree(real_store, ignore_errors=True)

    def real_argv() -> list[str]:
        tag = f"real-{next(tags)}"
        last_real.append(real_store / tag)
        return ctx.omc_data_argv("-q", "--store", str(real_store), "build", "--tag", tag)

    def offline_argv() -> list[str]:
        tag = f"offline-{next(tags)}"
        return ctx.omc_data_argv(
            "-q", "--store", str(offline_store), "build", "--tag", tag, "--no-real-data", "--as-of", AS_OF
        )

    def replay_before() -> None:
        shutil.rmtree(replay_store, ignore_errors=True)
        shutil.copytree(replay_source, replay_store)  # the source snapshot alone, as after setup

    def replay_argv() -> list[str]:
        tag = f"replay-{next(tags)}"
        return ctx.omc_data_argv(
            "-q", "--store", str(replay_store), "build", "--tag", tag, "--replay", "source"
        )

    return [
        Benchmark(
            name=NAME,
            description=(
                "default omc-data build collecting real data from a local server at real sizes "
                "(Coinspot 400 coins, DeFiLlama 7,000 protocols ~10 MB, CryptoPanic 5x20 posts) "
                "vs the same build offline (--no-real-data), and vs --replay of its raw/ responses"
            ),
            thing=Contender(
                "build real data", real_argv, env=server.env, before=real_before, timeout=TIMEOUT
            ),
            baselines=[
                Contender(
                    "build --no-real-data",
                    offline_argv,
                    before=lambda: shutil.rmtree(offline_store, ignore_errors=True),
                    timeout=TIMEOUT,
                ),
                Contender("build --replay", replay_argv, before=replay_before, timeout=TIMEOUT),
            ],
            setup=setup,
            teardown=teardown,
            repeat=5,
            quick_repeat=1,
            warmup=1,
            max_ratio=1.5,  # real data adds at most 50% to a default build
        )
    ]
