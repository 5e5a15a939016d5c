"""`appraisal demo`: two complete campaigns as real signed commands on the configured store.

Campaign 1 follows seed 002 (大泽湖街道, four villages and communities with their
work groups); campaign 2 follows seed 000 (a city's community cadres, 德能勤绩廉).
Every step goes through the command bus exactly as an API client's would: keys,
envelopes, signatures, credentials for anonymous representatives, paper ballots
typed in by a teller, a dispute upheld, a committee adjustment with its reason,
the 公示 window, feedback and rectification.
"""

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from importlib import resources
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import balloting
from domain.campaign import Campaign
from domain.envelope import parse_timestamp
from domain.rules import Rules
from entrypoints.signing import DemoClock, Signer, new_id, new_key, reproducible
from service.commands import Accepted
from service.keyfiles import write_private_key
from service.settings import Settings
from service.system import System, initialise

SEED = 2021
FOUR = ("excellent", "competent", "basic", "incompetent")  # seed 002 choices, best first
THREE = ("excellent", "competent", "incompetent")  # seed 000 choices, best first
SURNAMES = "陈李张王刘杨黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅"


def load_rules(name: str) -> dict[str, Any]:
    return json.loads(resources.files("service.rulesets").joinpath(name).read_text("utf-8"))


class Driver:
    """Signs and submits commands, logging each step."""

    def __init__(
        self, system: System, admin: Signer, clock: DemoClock, log: Callable[[str], None]
    ) -> None:
        self.system = system
        self.admin = admin
        self.clock = clock
        self.log = log
        self.commands = 0

    def send(
        self, who: Signer, command_type: str, issued_at: datetime | None = None, **fields: Any
    ) -> Accepted:
        """Sign with the demo's clock, or at `issued_at` (a credential ballot's opening)."""
        self.commands += 1
        envelope = who.envelope(command_type, issued_at=issued_at or self.clock(), **fields)
        return self.system.bus.handle(envelope)

    def register(self, name: str, *roles: str) -> Signer:
        person = Signer(name)
        self.send(self.admin, "actor.register", **person.registration(name, roles))
        return person


@dataclass
class Meeting:
    """One 述职测评大会: who is appraised there and who holds a ballot."""

    meeting_id: str
    appraisees: list[str]
    named: dict[str, list[Signer]]
    credentials: dict[str, list[Ed25519PrivateKey]]
    paper: dict[str, list[str]] = field(default_factory=dict)


def open_meeting(
    d: Driver,
    organizer: Signer,
    campaign_id: str,
    meeting: Meeting,
    countersigner: Signer | None = None,
) -> None:
    """Open a meeting's balloting; `countersigner` is the second official the rules ask
    for (`credentials.countersign`), who puts the opening into effect."""
    d.send(
        organizer,
        "balloting.open",
        campaign_id=campaign_id,
        meeting_id=meeting.meeting_id,
        appraisee_ids=meeting.appraisees,
        credentials=[
            {"group": g, "public_keys": [Signer("", k).public_key for k in keys]}
            for g, keys in meeting.credentials.items()
        ],
        paper=[{"group": g, "serials": s} for g, s in meeting.paper.items()],
        evaluators=[
            {"group": g, "actor_ids": [p.actor_id for p in people]}
            for g, people in meeting.named.items()
        ],
    )
    if countersigner is not None:
        d.send(
            countersigner,
            "balloting.countersign",
            campaign_id=campaign_id,
            meeting_id=meeting.meeting_id,
        )


def cast(
    d: Driver,
    who: Signer,
    campaign_id: str,
    meeting: Meeting,
    group: str,
    rows: list[dict[str, Any]],
    **extra: Any,
) -> Accepted:
    credential = any(who.key in keys for keys in meeting.credentials.values())
    return d.send(
        who,
        "ballot.cast",
        issued_at=parse_timestamp(d.system.opened_at(meeting.meeting_id)) if credential else None,
        campaign_id=campaign_id,
        meeting_id=meeting.meeting_id,
        ballot_id=new_id(),
        group=group,
        rows=rows,
        **extra,
    )


def choice_rows(
    appraisees: list[str],
    merit: dict[str, int],
    rng: random.Random,
    codes: tuple[str, ...],
    max_excellent: int,
) -> list[dict[str, Any]]:
    """A representative's choices (codes best first), leaning on each appraisee's merit,
    with at most `max_excellent` rows of the best choice so the ballot stays valid."""
    rows = []
    for appraisee in appraisees:
        roll = rng.randint(0, 99) + merit[appraisee] - 50
        step = 0 if roll > 75 else 1 if roll > 35 else 2 if roll > 15 else 3
        code = codes[min(step, len(codes) - 1)]
        if code == codes[0]:
            if max_excellent <= 0:
                code = codes[1]
            max_excellent -= 1
        rows.append({"appraisee_id": appraisee, "choice": code})
    return rows


def awarded(points: str, merit: int, rng: random.Random) -> str:
    """Points a work group awards for one indicator, in tenths, as a decimal string."""
    tenths = int(points) * 10 * min(100, merit + rng.randint(20, 40)) // 100
    return f"{tenths // 10}.{tenths % 10}"


def run_demo(settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    """Run both campaigns; return what the caller prints (results and ids)."""
    with reproducible(SEED):
        admin = Signer("admin")
        write_private_key(settings.data_dir / "admin.key", admin.key)
        initialised = initialise(settings, admin.public_key)
        system = System.open(settings)
        clock = DemoClock()
        system.bus.clock = clock
        try:
            d = Driver(system, admin, clock, log)
            street = dazehu_campaign(d)
            city = city_campaign(d)
            system.ledger.checkpoint_now()
            return {"init": initialised, "campaigns": [street, city], "commands": d.commands}
        finally:
            system.close()


DAZEHU_UNITS = {
    "南塘村": ("朱浩", "胡波"),
    "回龙村": ("邓望", "王波"),
    "西塘村": ("易亿", "骆杰斌"),
    "东马社区": ("丁立", "龙珠"),
}


def dazehu_campaign(d: Driver) -> dict[str, Any]:
    rng = random.Random(SEED)
    rules = load_rules("seed002_dazehu.json")
    organizer = d.register("大泽湖街道党建办", "organizer")
    committee = [d.register(n, "committee") for n in ("刘海林", "任代伟")]
    inspector = d.register("街道纪工委", "inspector")
    teller = d.register("计票员 许茂", "teller")
    leaders = [d.register(n, "evaluator") for n in ("谭芝藩", "陈武", "周玉良")]
    campaign_id = new_id()
    d.log("评议活动一：大泽湖街道2021年度村(社区)年度考核暨书记“下述下评”（种子文件002）")
    d.send(
        organizer,
        "campaign.create",
        campaign_id=campaign_id,
        year=2021,
        rules=rules,
        title="大泽湖街道2021年度对村(社区)年度考核暨基层党组织书记“下述下评”",
        jurisdiction="大泽湖街道",
        period={"start": "2022-01-07", "end": "2022-01-17"},
    )
    roster, cadres, merit, meetings, liaisons = [], {}, {}, [], {}
    for unit, (_, liaison) in DAZEHU_UNITS.items():
        members = []
        for category, position in (
            ("secretary", "党组织书记"),
            ("cadre", "村(社区)委员"),
            ("cadre", "村(社区)委员"),
            ("unit", "村(社区)"),
        ):
            name = unit if category == "unit" else rng.choice(SURNAMES) + rng.choice("建华明红军平")
            appraisee = new_id()
            entry = {
                "appraisee_id": appraisee,
                "name": name,
                "position": position,
                "unit": unit,
                "category": category,
            }
            if category != "unit":
                cadres[appraisee] = d.register(name, "cadre")
                entry["actor_id"] = cadres[appraisee].actor_id
            roster.append(entry)
            members.append(appraisee)
            merit[appraisee] = rng.randint(30, 90)
        liaisons[unit] = d.register(f"{liaison}(联络员)", "evaluator")
        meetings.append(
            (
                unit,
                Meeting(
                    new_id(),
                    members,
                    {"work_group": [liaisons[unit]], "street_leaders": leaders[:2]},
                    {"member_reps": [new_key() for _ in range(11)]},
                    {"member_reps": [f"{unit}-纸质-{n:03d}" for n in range(1, 3)]},
                ),
            )
        )
    d.send(organizer, "campaign.add_appraisees", campaign_id=campaign_id, appraisees=roster)
    d.send(
        organizer,
        "campaign.set_work_groups",
        campaign_id=campaign_id,
        leading_group=[{"name": "刘海林", "role": "政委"}, {"name": "任代伟", "role": "组长"}],
        work_groups=[
            {
                "unit": unit,
                "members": [{"name": fr}, {"name": lia}],
                "first_responsible": fr,
                "liaison": lia,
            }
            for unit, (fr, lia) in DAZEHU_UNITS.items()
        ],
    )
    d.send(
        organizer,
        "campaign.name_committee",
        campaign_id=campaign_id,
        actor_ids=[member.actor_id for member in committee],
    )
    d.send(organizer, "campaign.publish", campaign_id=campaign_id)
    secretaries = [a["appraisee_id"] for a in roster if a["category"] == "secretary"]
    strongest = max(secretaries, key=merit.__getitem__)
    for n, appraisee in enumerate(secretaries):
        parts = [
            {
                "code": "party_building_duty",
                "text": "落实基层党建工作责任情况：坚持“三会一课”，"
                "规范党员发展，推进党务公开。" * 3,
            },
            {
                "code": "ideology_duty",
                "text": "落实意识形态责任情况：加强阵地管理，开展理论学习。" * 3,
            },
        ]
        d.send(
            cadres[appraisee],
            "report.submit",
            campaign_id=campaign_id,
            appraisee_id=appraisee,
            parts=parts,
        )
        if n == 0:
            d.send(
                organizer,
                "report.return",
                campaign_id=campaign_id,
                appraisee_id=appraisee,
                comments="请把自己摆进去，补充问题剖析和整改承诺",
            )
            d.send(
                cadres[appraisee],
                "report.submit",
                campaign_id=campaign_id,
                appraisee_id=appraisee,
                parts=[
                    {
                        **parts[0],
                        "text": parts[0]["text"]
                        + "存在问题：党员教育方式单一，整改承诺：每季度开展主题党日。",
                    },
                    parts[1],
                ],
            )
        d.send(organizer, "report.accept", campaign_id=campaign_id, appraisee_id=appraisee)
        d.send(
            committee[0],
            "assessment.record",
            campaign_id=campaign_id,
            appraisee_id=appraisee,
            assessment="party_building",
            value="fairly_good" if appraisee == strongest else "good",
        )
    indicators = rules["groups"][0]["indicators"]
    members_label = next(g["label"] for g in rules["groups"] if g["code"] == "member_reps")
    for unit, meeting in meetings:
        d.log(f"  述职测评大会 {unit}：测评{len(meeting.appraisees)}人")
        open_meeting(d, organizer, campaign_id, meeting, countersigner=inspector)
        cast(
            d,
            liaisons[unit],
            campaign_id,
            meeting,
            "work_group",
            [
                {
                    "appraisee_id": a,
                    "indicators": {
                        i["code"]: awarded(i["points"], merit[a], rng) for i in indicators
                    },
                }
                for a in meeting.appraisees
            ],
        )
        for leader in meeting.named["street_leaders"]:
            cast(
                d,
                leader,
                campaign_id,
                meeting,
                "street_leaders",
                choice_rows(meeting.appraisees, merit, rng, FOUR, 2),
            )
        keys = meeting.credentials["member_reps"]
        for n, key in enumerate(keys[:-1]):
            rows = choice_rows(meeting.appraisees, merit, rng, FOUR, 1)
            if n == 3:
                rows[-1] = {"appraisee_id": rows[-1]["appraisee_id"], "abstain": True}
            if n == 5 and unit == "西塘村":
                rows = [{"appraisee_id": r["appraisee_id"], "choice": "excellent"} for r in rows]
            cast(d, Signer("", key), campaign_id, meeting, "member_reps", rows)
        cast(
            d,
            teller,
            campaign_id,
            meeting,
            "member_reps",
            choice_rows(meeting.appraisees, merit, rng, FOUR, 1),
            paper_serial=meeting.paper["member_reps"][0],
        )
        closed = d.send(
            organizer, "balloting.close", campaign_id=campaign_id, meeting_id=meeting.meeting_id
        ).result
        reps = closed["reconciliation"]["member_reps"]
        d.log(
            f"    {members_label}：发出{reps['issued']}张 = 收回{reps['cast']} + "
            f"未用{reps['unused']}；有效{reps['valid']}，无效{reps['invalid']}"
        )
    return settle(d, campaign_id, organizer, committee, inspector, cadres, roster, meetings)


def settle(
    d: Driver,
    campaign_id: str,
    organizer: Signer,
    committee: list[Signer],
    inspector: Signer,
    cadres: dict[str, Signer],
    roster: list[dict[str, Any]],
    meetings: list[tuple[str, Meeting]],
) -> dict[str, Any]:
    """Proposal, dispute upheld, re-proposal, approval with an adjustment, 公示, finalisation."""
    first = d.send(organizer, "results.propose", campaign_id=campaign_id).result
    d.log(f"  结果已测算，提交审定（测算摘要 {first['proposal_hash'][:16]}…）")
    disputed = next(
        a
        for a in roster
        if (a["appraisee_id"] in cadres and "副" in a["position"]) or a["category"] == "cadre"
    )
    dispute_id = new_id()
    d.send(
        cadres[disputed["appraisee_id"]],
        "dispute.lodge",
        campaign_id=campaign_id,
        dispute_id=dispute_id,
        appraisee_id=disputed["appraisee_id"],
        grounds="会场有代表反映一张测评票系他人代填",
    )
    campaign = d.system.app.get(uuid.UUID(campaign_id), Campaign)
    _, meeting = next((u, m) for u, m in meetings if disputed["appraisee_id"] in m.appraisees)
    ballots = d.system.app.load_many(
        uuid.UUID(r)
        for r in d.system.app.get(uuid.UUID(meeting.meeting_id), balloting.Meeting).rights
    )
    largest = max(meeting.credentials, key=lambda g: len(meeting.credentials[g]))
    forged = next(
        r.ballot_id
        for r in ballots.values()
        if r.ballot_id and r.kind == "credential" and r.group == largest
    )
    d.send(
        inspector,
        "dispute.resolve",
        campaign_id=campaign_id,
        dispute_id=dispute_id,
        decision="upheld",
        reason="经纪工委核实，该票系代填，予以作废",
        void_ballots=[forged],
    )
    d.log(f"  争议成立：作废选票 {forged[:8]}…，结果重新测算")
    second = d.send(organizer, "results.propose", campaign_id=campaign_id).result
    proposal = d.system.app.get(uuid.UUID(campaign_id), Campaign).proposal
    if proposal is None:
        raise RuntimeError("the demo's second proposal was not recorded")
    adjusted, better = next(
        (r, better)
        for r in reversed(proposal["results"])
        if r["grade"] and r["appraisee_id"] in cadres and r["category"] != "secretary"
        for better in [_grade_above(campaign.rules, r)]
        if better is not None
    )
    adjustment = {
        "appraisee_id": adjusted["appraisee_id"],
        "grade": better,
        "reason": "经党委（工委）会议研究：结合平时考核和履职核实情况，上调一个等次",
    }
    needed = d.system.app.get(uuid.UUID(campaign_id), Campaign).rules.min_signatures
    for member in committee[:needed]:
        d.send(
            member,
            "results.approve",
            campaign_id=campaign_id,
            proposal_hash=second["proposal_hash"],
            adjustments=[adjustment],
        )
    d.send(d.admin, "results.publish", campaign_id=campaign_id, window_days=5)
    d.log("  党委审定结果（调整一人等次），公示5天")
    d.clock.now += timedelta(days=6)
    d.send(d.admin, "results.finalize", campaign_id=campaign_id)
    for appraisee, cadre in list(cadres.items())[:3]:
        d.send(cadre, "feedback.acknowledge", campaign_id=campaign_id, appraisee_id=appraisee)
    final = d.system.app.get(uuid.UUID(campaign_id), Campaign).final_grades()
    weakest = next(
        (
            a
            for a in roster
            if final.get(a["appraisee_id"]) in ("basic", "incompetent", "class_3")
            and a["appraisee_id"] in cadres
        ),
        None,
    )
    if weakest is not None:
        plan_id = new_id()
        deadline = (d.clock.now + timedelta(days=90)).date().isoformat()
        d.send(
            organizer,
            "rectification.create",
            plan_id=plan_id,
            campaign_id=campaign_id,
            appraisee_id=weakest["appraisee_id"],
            items=[
                {
                    "item_id": "1",
                    "description": "约谈后制定整改方案并公开承诺",
                    "measures": "对照测评意见逐条查摆问题，形成整改方案，在党员大会上公开承诺",
                    "responsible": weakest["name"],
                    "deadline": deadline,
                },
                {
                    "item_id": "2",
                    "description": "每月走访困难群众不少于20户",
                    "measures": "建立走访台账，每月向街道党建办报送走访记录",
                    "responsible": weakest["name"],
                    "deadline": deadline,
                },
            ],
        )
        d.send(
            cadres[weakest["appraisee_id"]],
            "rectification.progress",
            plan_id=plan_id,
            item_id="1",
            note="已制定整改方案并在村务公开栏公示",
            done=True,
        )
        d.send(
            inspector,
            "rectification.check",
            plan_id=plan_id,
            item_id="1",
            passed=True,
            note="回头看：方案已公示，群众知晓",
        )
        d.log(f"  {weakest['name']}的问题整改清单：2项，其中1项回头看通过")
    d.clock.now = datetime.now(UTC)
    return {"campaign_id": campaign_id, "roster": roster, "adjustment": adjustment}


CITY_COMMUNITIES = ("东湖社区", "西园社区", "南苑社区")


def _grade_above(rules: Rules, result: dict[str, Any]) -> str | None:
    """The grade one better than a result's, if its score meets that grade's threshold and
    its quota is advisory (an adjustment obeys both, DESIGN §5)."""
    grades = rules.grades_for(result["category"])
    index = next(i for i, g in enumerate(grades) if g.code == result["grade"])
    if index == 0:
        return None
    better = grades[index - 1]
    if better.min_score is not None and Fraction(result["score_exact"]) < better.min_score:
        return None
    return better.code if better.max_share is None or better.advisory else None


def city_campaign(d: Driver) -> dict[str, Any]:
    rng = random.Random(SEED + 1)
    rules = load_rules("seed000_city.json")
    organizer = d.register("市委组织部", "organizer")
    committee = [d.register("市委组织部部务会", "committee")]
    inspector = d.register("市纪委监委派驻组", "inspector")
    teller = d.register("计票员", "teller")
    leaders = [d.register(n, "evaluator") for n in ("考核组长", "考核副组长", "考核组员")]
    city_leader = d.register("包片市级领导", "evaluator")
    campaign_id = new_id()
    d.log("评议活动二：社区干部述职评议（种子文件000，德能勤绩廉）")
    d.send(
        organizer,
        "campaign.create",
        campaign_id=campaign_id,
        year=2025,
        rules=rules,
        title="2025年度社区干部述职评议",
        jurisdiction="某市",
    )
    roster, cadres, merit, meetings = [], {}, {}, []
    for community in CITY_COMMUNITIES:
        members = []
        for position in (
            "社区党支部书记",
            "社区党支部副书记",
            "社区居委会主任",
            "社区居委会副主任",
        ):
            appraisee = new_id()
            person = d.register(rng.choice(SURNAMES) + rng.choice("志国海燕文丽"), "cadre")
            cadres[appraisee] = person
            roster.append(
                {
                    "appraisee_id": appraisee,
                    "name": person.name,
                    "position": position,
                    "unit": community,
                    "category": "cadre",
                    "actor_id": person.actor_id,
                }
            )
            members.append(appraisee)
            merit[appraisee] = rng.randint(35, 95)
        meetings.append(
            (
                community,
                Meeting(
                    new_id(),
                    members,
                    {
                        "leading_group": leaders,
                        "city_leaders": [city_leader],
                        "self": [cadres[a] for a in members],
                    },
                    {
                        "unit_rep": [new_key() for _ in range(3)],
                        "resident_rep": [new_key() for _ in range(8)],
                    },
                    {"resident_rep": [f"{community}-R-{n:03d}" for n in (1, 2)]},
                ),
            )
        )
    d.send(organizer, "campaign.add_appraisees", campaign_id=campaign_id, appraisees=roster)
    d.send(
        organizer,
        "campaign.name_committee",
        campaign_id=campaign_id,
        actor_ids=[member.actor_id for member in committee],
    )
    d.send(organizer, "campaign.publish", campaign_id=campaign_id)
    dimensions = [dim["code"] for dim in rules["dimensions"]]
    for community, meeting in meetings:
        d.log(f"  述职评议大会 {community}")
        open_meeting(d, organizer, campaign_id, meeting)
        for leader in leaders:
            cast(
                d,
                leader,
                campaign_id,
                meeting,
                "leading_group",
                [
                    {
                        "appraisee_id": a,
                        "scores": {
                            dim: min(100, merit[a] + rng.randint(0, 15)) for dim in dimensions
                        },
                    }
                    for a in meeting.appraisees
                ],
            )
        cast(
            d,
            city_leader,
            campaign_id,
            meeting,
            "city_leaders",
            choice_rows(meeting.appraisees, merit, rng, THREE, 2),
        )
        for a in meeting.appraisees:
            cast(
                d,
                cadres[a],
                campaign_id,
                meeting,
                "self",
                [{"appraisee_id": a, "choice": "competent"}],
            )
        for key in meeting.credentials["unit_rep"]:
            cast(
                d,
                Signer("", key),
                campaign_id,
                meeting,
                "unit_rep",
                choice_rows(meeting.appraisees, merit, rng, THREE, 1),
            )
        for n, key in enumerate(meeting.credentials["resident_rep"]):
            rows = choice_rows(meeting.appraisees, merit, rng, THREE, 1)
            if n == 2:
                rows[0] = {"appraisee_id": rows[0]["appraisee_id"], "abstain": True}
            cast(d, Signer("", key), campaign_id, meeting, "resident_rep", rows)
        cast(
            d,
            teller,
            campaign_id,
            meeting,
            "resident_rep",
            choice_rows(meeting.appraisees, merit, rng, THREE, 1),
            paper_serial=meeting.paper["resident_rep"][0],
        )
        d.send(organizer, "balloting.close", campaign_id=campaign_id, meeting_id=meeting.meeting_id)
    return settle(d, campaign_id, organizer, committee, inspector, cadres, roster, meetings)
