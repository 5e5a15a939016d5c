"""A small Python client of the HTTP API: signs and sends commands, reads with a session.

For scripts of an office or an integrator: no dependency beyond the standard library
and this package's own signing (`entrypoints.signing.Signer`, which seals with
`domain.envelope.seal`: RFC 8785 canonical JSON, the `appraisal-command/v1` prefix,
Ed25519). A refusal raises `Refused` carrying the problem+json document.

    client = AppraisalClient("http://127.0.0.1:8000", Signer(key=my_key, actor_id=my_id))
    answer = client.send("results.propose", campaign_id=campaign)
    results = client.get(f"/api/v1/campaigns/{campaign}/results")
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from domain import keys
from domain.envelope import SESSION_PREFIX
from entrypoints.signing import Signer

JSON = "application/json"


class Refused(Exception):
    """The server answered 4xx/5xx; `problem` is its problem+json body (or {})."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('code', '')}: {problem.get('detail', '')}")
        self.status = status
        self.problem = problem


class AppraisalClient:
    """One signer talking to one deployment; logs in on the first read that needs it."""

    def __init__(
        self,
        base_url: str,
        signer: Signer,
        *,
        timeout: float = 30.0,
        language: str | None = None,
    ) -> None:
        """`language` is sent as `Accept-Language` (`zh`: problems in Chinese)."""
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.timeout = timeout
        self.language = language
        self._token: str | None = None

    def send(self, command_type: str, **fields: Any) -> dict[str, Any]:
        """Sign the command with this client's key and submit it; the answer (201 or 200)."""
        return self.submit(self.signer.envelope(command_type, **fields))

    def submit(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """Submit an envelope signed elsewhere."""
        return self._request("POST", "/api/v1/commands", envelope)

    def login(self) -> str:
        """A bearer token: the server's challenge signed with this client's key."""
        challenge = self._request("POST", "/api/v1/sessions/challenge")["challenge"]
        signature = keys.sign(self.signer.key, SESSION_PREFIX + challenge.encode())
        session = self._request(
            "POST",
            "/api/v1/sessions",
            {"key_id": self.signer.key_id, "challenge": challenge, "signature": signature},
        )
        self._token = str(session["token"])
        return self._token

    def get_public(self, path: str, **params: Any) -> Any:
        """A read that needs no session (the ballot definition, receipts)."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return self._request("GET", path + query)

    def get(self, path: str, **params: Any) -> Any:
        """A read under this signer's session (started on first use)."""
        token = self._token or self.login()
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return self._request("GET", path + query, token=token)

    def _request(
        self, method: str, path: str, body: Any = None, *, token: str | None = None
    ) -> Any:
        headers = {"Accept": JSON}
        if self.language is not None:
            headers["Accept-Language"] = self.language
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = JSON
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                problem = json.loads(raw) if raw else {}
            except ValueError:
                problem = {}
            raise Refused(exc.code, problem if isinstance(problem, dict) else {}) from None
