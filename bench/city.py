"""A seeded city (DESIGN §8, seed 001: 621 communities) for the audit and read workloads.

Why real commands: W3–W5 and W8 measure the audit and the read side on what a city's
year leaves in the ledger, so every step goes through the command bus as a client's
would — signed envelopes, one-time credentials for the anonymous groups, a teller's
paper ballot — using `entrypoints.demo`'s actors and helpers. A meeting's ballots go in
one `CommandBus.handle_batch` (each still verified, recorded and a leaf on its own),
which keeps a full city within a few minutes.

Shape, per community: five cadres (seed 000's 书记, 副书记, 主任, 副主任 and a 委员), one
述职评议大会 with ~40 evaluators: the district's leading group (3, named, 德能勤绩廉
scores), its city leader (1), the five cadres' self-ratings, 5–7 unit representatives
and 20–28 resident representatives holding credentials (one resident ballot on
paper), so residents are well over the 40 % quorum. Some credentials go unused, some
rows abstain and about one resident ballot in 25 is invalid (too many 优秀). Then
the campaign is closed, proposed, approved, published and finalised.
"""

import atexit
import base64
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench import progress, stores
from domain.canonical import b64url_encode
from domain.envelope import parse_timestamp
from domain.errors import DomainError
from entrypoints.demo import SURNAMES, THREE, Driver, Meeting, choice_rows, load_rules, open_meeting
from entrypoints.signing import DemoClock, Signer, new_id, new_key, reproducible
from service.commands import Accepted
from service.settings import Settings
from service.system import System, initialise

SEED = 621
SIZES = {"reduced": 40, "full": 621}
# The cities whose measurements are compared for scaling (W8, W9): their ratios come
# from the same run; `full` adds the 160-community city and the 2,484 of a province's
# largest (DESIGN §8).
SCALES = {"reduced": (40, 160), "full": (40, 160, 621, 2484)}
COMMUNITIES_PER_DISTRICT = 20  # each district has its own leading group and city leader
POSITIONS = (
    "社区党支部书记",
    "社区党支部副书记",
    "社区居委会主任",
    "社区居委会副主任",
    "社区居委会委员",
)
UNIT_REPS = (5, 7)
RESIDENT_REPS = (20, 28)
INVALID_SHARE = 0.04  # representatives' ballots with every cadre 优秀: over the 30 % limit
ABSTAINING = 0.25  # representatives' ballots that abstain on one cadre (still valid)
WINDOW_DAYS = 5


@dataclass(frozen=True)
class City:
    """Where a generated city lives and what it holds."""

    settings: Settings
    campaign_id: str
    log_public_key: str  # base64url, as `appraisal audit verify --log-key` takes it
    communities: int
    appraisees: int
    issued: int
    ballots: int
    commands: int
    ledger_size: int
    proposal_hash: str
    status: str
    seconds: float
    officials: dict[str, Signer]  # by role: admin, organizer, committee, inspector, teller
    latency: dict[str, list[float]]  # seconds per campaign command, in the order sent

    @property
    def env(self) -> dict[str, str]:
        """The environment that points the `appraisal` CLI at this city's store."""
        return {
            "APPRAISAL_DATA_DIR": str(self.settings.data_dir),
            "APPRAISAL_DATABASE_URL": self.settings.database_url,
        }

    def cli(self, workdir: Path, *args: str, store: bool = True) -> "CliRun":
        """`appraisal ARGS` as a separate process, as an operator runs it; with
        `store=False` the process gets no store settings at all (an offline auditor)."""
        return run_cli(workdir, list(args), self.env if store else {})

    def kept(self) -> dict[str, Any]:
        """Everything but the settings, to be read back by `from_kept` (`_cached`)."""
        return {
            **{name: getattr(self, name) for name in _KEPT_FIELDS},
            "officials": {
                role: [
                    who.name,
                    base64.b64encode(who.key.private_bytes_raw()).decode(),
                    who.actor_id,
                ]
                for role, who in self.officials.items()
            },
        }

    @classmethod
    def from_kept(cls, kept: dict[str, Any], settings: Settings) -> "City":
        officials = {
            role: Signer(name, Ed25519PrivateKey.from_private_bytes(base64.b64decode(key)), actor)
            for role, (name, key, actor) in kept["officials"].items()
        }
        fields = {name: kept[name] for name in _KEPT_FIELDS}
        return cls(settings=settings, officials=officials, **fields)

    def to_json(self) -> dict[str, Any]:
        return {
            "communities": self.communities,
            "appraisees": self.appraisees,
            "ballots_issued": self.issued,
            "ballots_cast": self.ballots,
            "commands": self.commands,
            "ledger_entries": self.ledger_size,
            "generated_in_s": round(self.seconds, 1),
        }


_KEPT_FIELDS = (
    "campaign_id",
    "log_public_key",
    "communities",
    "appraisees",
    "issued",
    "ballots",
    "commands",
    "ledger_size",
    "proposal_hash",
    "status",
    "seconds",
    "latency",
)


@dataclass
class _District:
    leaders: list[Signer]
    city_leader: Signer


@dataclass
class _Community:
    name: str
    district: _District
    cadres: dict[str, Signer]  # appraisee id -> the cadre's actor
    merit: dict[str, int] = field(default_factory=dict)


# When `CityDriver.keep_statistics` analyzes: autovacuum_analyze_scale_factor, and a floor.
ANALYZE_GROWTH = 0.02
ANALYZE_FROM = 5_000

# The commands that load and change the campaign while its meetings run: their latency
# must not grow with the campaign (bench/w9_campaign_commands.py).
CAMPAIGN_COMMANDS = ("balloting.open", "balloting.close")


class CityDriver(Driver):
    """The demo's driver, able to seal a command without sending it, for batches; it
    times each campaign command it sends (`CAMPAIGN_COMMANDS`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.latency: dict[str, list[float]] = {name: [] for name in CAMPAIGN_COMMANDS}
        self._analyzed_at = 0  # ledger size at the last `keep_statistics` analyze

    def keep_statistics(self) -> None:
        """What autovacuum does on a deployed primary (deploy/postgresql/appraisal.conf:
        analyze after 2 % growth), which this machine's server may have turned off.
        Why: without statistics PostgreSQL's estimates grow with the table, so its plans
        for a batched read got worse and costlier to make (JIT) as the city grew: at
        2,484 communities a read of 40 streams took 68 ms instead of 1. Not timed."""
        if not self.system.settings.is_postgres:
            return
        size = self.system.ledger.size()
        if size > max(ANALYZE_FROM, self._analyzed_at * (1 + ANALYZE_GROWTH)):
            stores.postgres_analyze(self.system.settings.database_url.split("?")[0])
            self._analyzed_at = size

    def sealed(
        self, who: Signer, command_type: str, issued_at: datetime | None = None, **fields: Any
    ) -> dict[str, Any]:
        self.commands += 1
        return who.envelope(command_type, issued_at=issued_at or self.clock(), **fields)

    def send(
        self, who: Signer, command_type: str, issued_at: datetime | None = None, **fields: Any
    ) -> Accepted:
        envelope = self.sealed(who, command_type, issued_at, **fields)
        start = time.perf_counter()
        accepted = self.system.bus.handle(envelope)
        if command_type in self.latency:
            self.latency[command_type].append(time.perf_counter() - start)
        return accepted

    def send_batch(self, envelopes: list[dict[str, Any]]) -> list[Accepted]:
        """One transaction; any refusal is a bug in the generator, so it stops here."""
        answers = self.system.bus.handle_batch(envelopes)
        refused = [a for a in answers if isinstance(a, DomainError)]
        if refused:
            raise RuntimeError(f"city generator: {len(refused)} command(s) refused: {refused[0]}")
        return [a for a in answers if isinstance(a, Accepted)]

    def register_many(self, names: list[str], role: str) -> list[Signer]:
        people = [Signer(name) for name in names]
        self.send_batch(
            [
                self.sealed(
                    self.admin,
                    "actor.register",
                    actor_id=p.actor_id,
                    name=p.name,
                    roles=[role],
                    public_key=p.public_key,
                )
                for p in people
            ]
        )
        return people


def generate(settings: Settings, communities: int, seed: int = SEED) -> City:
    """Initialise the store and run one city's campaign to finalisation on it.

    The same seed gives the same keys, ids, ballots and so the same proposal hash.
    """
    start = time.perf_counter()
    with reproducible(seed):
        admin = Signer("admin")
        initialise(settings, admin.public_key)
        system = System.open(settings)
        clock = DemoClock()
        system.bus.clock = clock
        try:
            driver = CityDriver(system, admin, clock, lambda _: None)
            city = _campaign(driver, random.Random(seed), communities)
            system.ledger.checkpoint_now()
            return City(
                settings=settings,
                log_public_key=b64url_encode(system.ledger.log_public_key),
                commands=driver.commands,
                latency=driver.latency,
                ledger_size=system.ledger.size(),
                seconds=time.perf_counter() - start,
                **city,
            )
        finally:
            system.close()


def _campaign(d: CityDriver, rng: random.Random, count: int) -> dict[str, Any]:
    rules = load_rules("seed000_city.json")
    officials = {
        "admin": d.admin,
        "organizer": d.register("市委组织部", "organizer"),
        "committee": d.register("市委组织部部务会", "committee"),
        "inspector": d.register("市纪委监委派驻组", "inspector"),
        "teller": d.register("计票员", "teller"),
    }
    organizer, teller = officials["organizer"], officials["teller"]
    campaign_id = new_id()
    d.send(
        organizer,
        "campaign.create",
        campaign_id=campaign_id,
        year=2025,
        rules=rules,
        title="2025年度社区干部述职评议",
        jurisdiction="某市",
    )
    communities = _roster(d, rng, organizer, campaign_id, count)
    d.send(
        organizer,
        "campaign.name_committee",
        campaign_id=campaign_id,
        actor_ids=[officials["committee"].actor_id],
    )
    d.send(organizer, "campaign.publish", campaign_id=campaign_id)
    issued = cast = 0
    dimensions = [dim["code"] for dim in rules["dimensions"]]
    with progress.task(f"city: {count} community meetings", count) as advance:
        for community in communities:
            meeting = _meeting(community, rng)
            open_meeting(d, organizer, campaign_id, meeting)
            ballots = _ballots(d, rng, campaign_id, meeting, community, teller, dimensions)
            d.send_batch(ballots)
            d.send(
                organizer, "balloting.close", campaign_id=campaign_id, meeting_id=meeting.meeting_id
            )
            d.keep_statistics()
            issued += sum(
                len(holders)
                for holders in (
                    *meeting.named.values(),
                    *meeting.credentials.values(),
                    *meeting.paper.values(),
                )
            )
            cast += len(ballots)
            advance(1)
    proposal_hash = _settle(d, campaign_id, organizer, officials["committee"])
    return {
        "officials": officials,
        "campaign_id": campaign_id,
        "communities": count,
        "appraisees": count * len(POSITIONS),
        "issued": issued,
        "ballots": cast,
        "proposal_hash": proposal_hash,
        "status": d.system.app.find(UUID(campaign_id)).status,
    }


def _roster(
    d: CityDriver, rng: random.Random, organizer: Signer, campaign_id: str, count: int
) -> list[_Community]:
    """Districts with their leaders, communities with their cadres, all registered, and
    the roster added to the campaign one district at a time."""
    communities: list[_Community] = []
    for first in range(0, count, COMMUNITIES_PER_DISTRICT):
        number = first // COMMUNITIES_PER_DISTRICT + 1
        leaders = d.register_many([f"第{number}考核组{role}" for role in "长副员"], "evaluator")
        (city_leader,) = d.register_many([f"第{number}片包片市级领导"], "evaluator")
        district = _District(leaders, city_leader)
        roster = []
        for index in range(first, min(first + COMMUNITIES_PER_DISTRICT, count)):
            name = f"第{index + 1:03d}社区"
            people = d.register_many(
                [rng.choice(SURNAMES) + rng.choice("志国海燕文丽明华") for _ in POSITIONS], "cadre"
            )
            community = _Community(name, district, {new_id(): p for p in people})
            for (appraisee, person), position in zip(
                community.cadres.items(), POSITIONS, strict=True
            ):
                community.merit[appraisee] = rng.randint(35, 95)
                roster.append(
                    {
                        "appraisee_id": appraisee,
                        "name": person.name,
                        "position": position,
                        "unit": name,
                        "category": "cadre",
                        "actor_id": person.actor_id,
                    }
                )
            communities.append(community)
        d.send(organizer, "campaign.add_appraisees", campaign_id=campaign_id, appraisees=roster)
    return communities


def _meeting(community: _Community, rng: random.Random) -> Meeting:
    district = community.district
    return Meeting(
        new_id(),
        list(community.cadres),
        {
            "leading_group": district.leaders,
            "city_leaders": [district.city_leader],
            "self": list(community.cadres.values()),
        },
        {
            "unit_rep": [new_key() for _ in range(rng.randint(*UNIT_REPS))],
            "resident_rep": [new_key() for _ in range(rng.randint(*RESIDENT_REPS) - 1)],
        },
        {"resident_rep": [f"{community.name}-R-001"]},
    )


def _ballots(
    d: CityDriver,
    rng: random.Random,
    campaign_id: str,
    meeting: Meeting,
    community: _Community,
    teller: Signer,
    dimensions: list[str],
) -> list[dict[str, Any]]:
    """Every ballot of one meeting, signed: named ballots, then credential ballots with
    the last credential of each group left unused, then the teller's paper ballot."""
    appraisees, merit = meeting.appraisees, community.merit

    def ballot(who: Signer, group: str, rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return d.sealed(
            who,
            "ballot.cast",
            campaign_id=campaign_id,
            meeting_id=meeting.meeting_id,
            ballot_id=new_id(),
            group=group,
            rows=rows,
            **extra,
        )

    def representative() -> list[dict[str, Any]]:
        if rng.random() < INVALID_SHARE:
            return [{"appraisee_id": a, "choice": THREE[0]} for a in appraisees]
        rows = choice_rows(appraisees, merit, rng, THREE, 1)
        if rng.random() < ABSTAINING:
            i = rng.randrange(len(rows))
            rows[i] = {"appraisee_id": rows[i]["appraisee_id"], "abstain": True}
        return rows

    envelopes = [
        ballot(
            leader,
            "leading_group",
            [
                {
                    "appraisee_id": a,
                    "scores": {dim: min(100, merit[a] + rng.randint(0, 15)) for dim in dimensions},
                }
                for a in appraisees
            ],
        )
        for leader in meeting.named["leading_group"]
    ]
    envelopes.append(
        ballot(
            meeting.named["city_leaders"][0],
            "city_leaders",
            choice_rows(appraisees, merit, rng, THREE, 2),
        )
    )
    envelopes += [
        ballot(
            cadre,
            "self",
            [{"appraisee_id": a, "choice": THREE[0] if merit[a] > 80 else THREE[1]}],
        )
        for a, cadre in community.cadres.items()
    ]
    opened_at = parse_timestamp(d.system.opened_at(meeting.meeting_id))
    for group, keys in meeting.credentials.items():
        envelopes += [
            ballot(Signer("", key), group, representative(), issued_at=opened_at)
            for key in keys[:-1]
        ]
    envelopes.append(
        ballot(
            teller,
            "resident_rep",
            representative(),
            paper_serial=meeting.paper["resident_rep"][0],
        )
    )
    return envelopes


def _settle(d: CityDriver, campaign_id: str, organizer: Signer, committee: Signer) -> str:
    """Propose, approve as proposed, publish for the 公示 window, finalise after it."""
    proposal_hash = d.send(organizer, "results.propose", campaign_id=campaign_id).result[
        "proposal_hash"
    ]
    d.send(
        committee,
        "results.approve",
        campaign_id=campaign_id,
        proposal_hash=proposal_hash,
        adjustments=[],
    )
    d.send(d.admin, "results.publish", campaign_id=campaign_id, window_days=WINDOW_DAYS)
    d.clock.now += timedelta(days=WINDOW_DAYS + 1)
    d.send(d.admin, "results.finalize", campaign_id=campaign_id)
    return proposal_hash


# --- the CLI, measured ---------------------------------------------------------------------


@dataclass(frozen=True)
class CliRun:
    """One CLI process: wall time, its own CPU time and peak resident memory, its output."""

    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    stdout: str

    def json(self) -> Any:
        """The output of a `--json` command."""
        return json.loads(self.stdout)


# Spawns the CLI, waits for it with wait4 and writes what wait4 told, from a process of
# its own (see run_cli).
_MEASURER = """
import json, os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(report, "w") as out:
    json.dump({"code": os.waitstatus_to_exitcode(status), "seconds": seconds,
               "cpu_seconds": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss}, out)
"""


def run_cli(workdir: Path, args: list[str], env: dict[str, str]) -> CliRun:
    """Run the installed `appraisal` entry point and measure it with `wait4`: its wall
    time, its CPU time and its peak resident set, with those of the helpers it waited
    for.

    Why through a small measuring process: Linux carries a process's peak resident set
    over `exec` from the memory it had before, and a process spawned by the harness
    starts out sharing the harness's (hundreds of MiB, with its cities); spawned by a
    bare interpreter, the CLI's peak is its own (the bare interpreter's ~10 MiB is
    below any CLI's). RUSAGE_CHILDREN would be the maximum over every child the harness
    ever waited for.
    """
    executable = Path(sys.executable).with_name("appraisal")
    if not executable.exists():
        raise RuntimeError(f"{executable} is missing: install the project (`make bench` does)")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("APPRAISAL_")}
    workdir.mkdir(parents=True, exist_ok=True)
    out, err, report = workdir / "cli.stdout", workdir / "cli.stderr", workdir / "cli.rusage"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        measurer = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _MEASURER, str(report), str(executable), *args],
            env=environment | env,
            stdout=stdout,
            stderr=stderr,
            check=False,
        )
    if measurer.returncode != 0:
        raise RuntimeError(f"measuring `appraisal {' '.join(args)}` failed: {err.read_text()}")
    measured = json.loads(report.read_text())
    if measured["code"] != 0:
        raise RuntimeError(
            f"`appraisal {' '.join(args)}` exited {measured['code']}: {err.read_text()[-2000:]}"
            f"{out.read_text()[-2000:]}"
        )
    return CliRun(
        seconds=measured["seconds"],
        cpu_seconds=measured["cpu_seconds"],
        peak_rss_bytes=measured["maxrss_kb"] * 1024,  # kilobytes on Linux
        stdout=out.read_text(),
    )


# --- one city per run ----------------------------------------------------------------------

_cities: dict[tuple[int, str], City] = {}
_owned = ExitStack()
atexit.register(_owned.close)


def shared(size: str, store: str = "postgresql") -> City:
    """The city of this harness size (`SIZES`) on this store."""
    return of(SIZES[size], store)


def of(communities: int, store: str = "postgresql") -> City:
    """The city of this many communities on this store, generated once per harness run.

    Why not in a workload's directory: the harness gives each workload a scratch
    directory of its own and removes it afterwards, while W3, W4, W5, W8 and W9 all
    read the same cities. Each lives in a directory (and PostgreSQL database) of its
    own, removed when the process exits.
    """
    key = (communities, store)
    if key not in _cities and communities >= KEPT_FROM and store == "postgresql":
        _cities[key] = _cached(communities)
    if key not in _cities:
        workdir = Path(_owned.enter_context(tempfile.TemporaryDirectory(prefix="bench-city-")))
        if store == "postgresql":
            url = _owned.enter_context(stores.postgres_database())
        else:
            url = f"sqlite:///{workdir / 'city.sqlite3'}"
        settings = Settings.from_env(
            {"APPRAISAL_DATA_DIR": str(workdir / "data"), "APPRAISAL_DATABASE_URL": url}
        )
        _cities[key] = generate(settings, communities)
    return _cities[key]


# Cities this large are kept between runs (`make bench-full` generates 2,484 communities
# once, not every run): under KEPT_DIR and a PostgreSQL database of their own, both named
# by the fingerprint of the code that generates and reads them, so a code change makes a
# new one (and removes the old).
KEPT_FROM = 621
KEPT_DIR = Path(os.environ.get("APPRAISAL_BENCH_CITIES", "var/bench-cities"))
FINGERPRINTED = ("domain", "service", "projections", "entrypoints", "bench/city.py")


def _cached(communities: int) -> City:
    fingerprint = _code_fingerprint()
    prefix = f"bench_city_{communities}_"
    root = KEPT_DIR / f"{communities}-{fingerprint}"
    database = prefix + fingerprint
    settings = Settings.from_env(
        {
            "APPRAISAL_DATA_DIR": str(root / "data"),
            "APPRAISAL_DATABASE_URL": stores.database_url(database),
        }
    )
    meta = root / "city.json"
    if meta.exists() and stores.database_exists(database):
        kept = City.from_kept(json.loads(meta.read_text(encoding="utf-8")), settings)
        system = System.open(settings)
        try:
            unchanged = system.ledger.size() == kept.ledger_size
        finally:
            system.close()
        if unchanged:
            with progress.task(f"city of {communities:,} communities: kept in {root}", 1) as done:
                done(1)
            return kept
    for old in KEPT_DIR.glob(f"{communities}-*"):
        shutil.rmtree(old)
    stores.drop_kept_databases(prefix)
    stores.create_database(database)
    made = generate(settings, communities)
    meta.write_text(json.dumps(made.kept()), encoding="utf-8")
    return made


def _code_fingerprint() -> str:
    """SHA-256 over the source of everything that writes or reads a city's store."""
    digest = hashlib.sha256()
    project = Path(__file__).resolve().parent.parent
    for name in FINGERPRINTED:
        path = project / name
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(source.relative_to(project)).encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()[:12]
