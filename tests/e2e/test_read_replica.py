"""Reads from a PostgreSQL streaming replica (APPRAISAL_READ_DATABASE_URL).

The test builds a real primary and a real hot standby on this machine — `initdb`,
`pg_basebackup -R`, two `pg_ctl start`s on free loopback ports, run as the
`postgres` user — and stops both at the end. The API writes to the primary; its
queries, and their `min_position` waits, read the replica; so a client still reads
its own write, and a paused replica makes the same read wait and answer 503.
"""

import json
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask.testing import FlaskClient

from api import create_app
from api.config import ApiOptions
from service.settings import Settings
from tests.e2e.conftest import assert_problem, runtime
from tests.support import Harness, Signer
from tests.support.http import bearer, login, submit

BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
OPTIONS = ApiOptions(checkpointer=False, inprocess_projections=True, projection_poll_seconds=0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """One PostgreSQL server of our own, in a directory the `postgres` user owns."""

    def __init__(self, root: Path, name: str) -> None:
        self.data = root / name
        self.port = free_port()
        self.sockets = root

    def run(self, tool: str, *args: str) -> None:
        binary = str(BINARIES[-1] / tool)
        subprocess.run(
            ["runuser", "-u", "postgres", "--", binary, *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
        self.run(
            "pg_ctl", "-D", str(self.data), "-l", f"{self.data}.log", "-o", options, "-w", "start"
        )

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []


@pytest.fixture(scope="module")
def clusters() -> Iterator[tuple[Cluster, Cluster]]:
    if not BINARIES or shutil.which("runuser") is None:
        pytest.fail("the replica test needs PostgreSQL's server binaries and runuser")
    root = Path(tempfile.mkdtemp(prefix="appraisal-replica-"))
    shutil.chown(root, "postgres", "postgres")
    primary, replica = Cluster(root, "primary"), Cluster(root, "replica")
    started: list[Cluster] = []
    try:
        primary.run("initdb", "-D", str(primary.data), "-A", "trust", "-U", "postgres")
        primary.start()
        started.append(primary)
        primary.run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
            *("-D", str(replica.data), "-R", "-X", "stream", "-c", "fast"),
        )
        replica.start()
        started.append(replica)
        yield primary, replica
    finally:
        for cluster in reversed(started):
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def replicated(clusters: tuple[Cluster, Cluster], tmp_path: Path) -> Iterator[Harness]:
    primary, replica = clusters
    schema = f"t_{uuid.uuid4().hex[:12]}"
    primary.execute(f'CREATE SCHEMA "{schema}"')
    settings = Settings.from_env(
        {
            "APPRAISAL_DATA_DIR": str(tmp_path / "data"),
            "APPRAISAL_DATABASE_URL": f"{primary.url()}?schema={schema}",
            "APPRAISAL_READ_DATABASE_URL": replica.url(),
        }
    )
    with Harness.initialised(settings) as harness:
        yield harness


@pytest.fixture
def replica_client(replicated: Harness) -> Iterator[FlaskClient]:
    app = create_app(system=replicated.system, options=OPTIONS)
    yield app.test_client()
    runtime(app).close()


def test_the_replica_is_a_hot_standby_and_the_read_side_queries_it(
    clusters: tuple[Cluster, Cluster], replicated: Harness
) -> None:
    primary, replica = clusters
    assert replica.execute("SELECT pg_is_in_recovery()") == [(True,)]
    assert primary.execute("SELECT pg_is_in_recovery()") == [(False,)]
    read = replicated.read
    assert read.replica is not None and read.queried is read.replica
    assert read.replica.datastore is not read.views.datastore


def test_a_client_reads_its_own_write_through_the_replica(
    replicated: Harness, replica_client: FlaskClient
) -> None:
    auditor = replicated.register("auditor", name="审计员")
    token = login(replica_client, auditor)["token"]
    organizer_id = str(uuid.uuid4())
    answer = submit(
        replica_client,
        replicated.admin.envelope(
            "actor.register",
            actor_id=organizer_id,
            name="组织者",
            roles=["organizer"],
            public_key=Signer().public_key,
        ),
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    position = answer.get_json()["position"]
    read = replica_client.get(
        f"/api/v1/actors?role=organizer&min_position={position}", headers=bearer(token)
    )
    assert read.status_code == 200, read.get_data(as_text=True)
    assert [a["actor_id"] for a in read.get_json()["items"]] == [organizer_id]


def test_a_paused_replica_makes_the_read_wait_and_answer_503(
    clusters: tuple[Cluster, Cluster], replicated: Harness, replica_client: FlaskClient
) -> None:
    _, replica = clusters
    auditor = replicated.register("auditor")
    token = login(replica_client, auditor)["token"]
    replica.execute("SELECT pg_wal_replay_pause()")
    try:
        answer = submit(
            replica_client,
            replicated.admin.envelope(
                "actor.register",
                actor_id=str(uuid.uuid4()),
                name="新人",
                roles=["teller"],
                public_key=Signer().public_key,
            ),
        )
        position = answer.get_json()["position"]
        # The primary's views include the write; the replica's cannot until replay resumes.
        replicated.read.views.wait_for(position, timeout=10)
        behind = replica_client.get(
            f"/api/v1/actors?role=teller&min_position={position}", headers=bearer(token)
        )
        assert_problem(behind, 503, "projection-behind")
    finally:
        replica.execute("SELECT pg_wal_replay_resume()")
    caught_up = replica_client.get(
        f"/api/v1/actors?role=teller&min_position={position}", headers=bearer(token)
    )
    assert caught_up.status_code == 200, caught_up.get_data(as_text=True)
    assert len(caught_up.get_json()["items"]) == 1
    assert json.loads(caught_up.get_data(as_text=True))["items"][0]["name"] == "新人"
