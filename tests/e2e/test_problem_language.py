"""Problems in Chinese for a client that prefers `zh`, in English otherwise; the `type`
and the members a client branches on are the same in both."""

import importlib
import pkgutil

import pytest
from flask.testing import FlaskClient

from api.problem_language import ZH
from api.problems import HTTP_CODES
from domain.errors import DomainError
from tests.e2e.conftest import assert_problem
from tests.support import Harness, Signer
from tests.support.http import submit

PACKAGES = ("domain", "service", "projections", "api", "bootstrap", "entrypoints")


def import_everything() -> None:
    """Every module of the packages, so that every DomainError subclass is defined."""
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            importlib.import_module(module.name)


def every_code() -> set[str]:
    kinds, seen = [DomainError], set()
    while kinds:
        kind = kinds.pop()
        seen.add(kind.code)
        kinds += kind.__subclasses__()
    return (seen - {DomainError.code}) | set(HTTP_CODES.values())


def test_every_problem_code_has_a_chinese_title_and_sentence() -> None:
    import_everything()
    missing = every_code() - set(ZH)
    assert not missing, f"no Chinese text for {sorted(missing)}"
    assert all(title and sentence for title, sentence in ZH.values())


@pytest.mark.parametrize(
    ("accept", "chinese"),
    [
        ("zh-CN", True),
        ("zh-Hans-CN,zh;q=0.9,en;q=0.8", True),
        ("zh-TW", True),
        ("en-US,en;q=0.9,zh-CN;q=0.8", False),
        ("zh;q=0.4, en;q=0.8", False),
        ("fr", False),
        (None, False),
    ],
)
def test_a_refusal_speaks_the_clients_language(
    harness: Harness, client: FlaskClient, accept: str | None, chinese: bool
) -> None:
    stranger = Signer()
    envelope = stranger.envelope(
        "actor.register", actor_id=stranger.actor_id, name="某人", roles=[], public_key="x"
    )
    headers = {} if accept is None else {"Accept-Language": accept}
    response = client.post("/api/v1/commands", json=envelope, headers=headers)
    body = assert_problem(response, 401, "unknown-key")
    assert "Accept-Language" in response.headers["Vary"]
    english = assert_problem(submit(client, envelope), 401, "unknown-key")
    if chinese:
        assert response.headers["Content-Language"] == "zh"
        assert (body["title"], body["detail"]) == (
            "密钥未登记",
            f"{ZH['unknown-key'][1]}（{english['detail']}）",
        )
    else:
        assert response.headers["Content-Language"] == "en"
        assert (body["title"], body["detail"]) == (english["title"], english["detail"])
    assert {k: v for k, v in body.items() if k not in ("title", "detail", "request_id")} == {
        k: v for k, v in english.items() if k not in ("title", "detail", "request_id")
    }


def test_http_failures_and_reads_are_translated_too(client: FlaskClient) -> None:
    zh = {"Accept-Language": "zh-CN"}
    missing = assert_problem(client.get("/api/v1/nowhere", headers=zh), 404, "not-found")
    assert missing["title"] == "未找到"
    anonymous = client.get("/api/v1/actors", headers=zh)
    assert assert_problem(anonymous, 401, "unauthorized")["title"] == "需要登录"
