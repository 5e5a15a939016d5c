"""The shipped nginx site keeps anonymous ballots out of its logs (docs/PRIVACY.md)."""

import re
from pathlib import Path

NGINX = Path(__file__).parents[2] / "deploy/nginx/appraisal.conf"
ADDRESSES = ("$remote_addr", "$binary_remote_addr", "$http_x_forwarded_for", "$realip")


def locations(text: str) -> dict[str, str]:
    return dict(re.findall(r"location\s+(?:\^~\s+|=\s+)?(\S+)\s*\{([^}]*)\}", text))


def test_ballot_and_receipt_locations_log_nothing() -> None:
    found = locations(NGINX.read_text())
    for prefix in ("/api/v1/commands", "/api/v1/ballots/"):
        assert "access_log off;" in found[prefix], prefix


def test_no_log_format_records_a_client_address() -> None:
    text = NGINX.read_text()
    formats = re.findall(r"log_format\s+\S+\s+([^;]*);", text)
    assert formats
    assert not any(address in fmt for fmt in formats for address in ADDRESSES)
    assert re.search(r"access_log\s+\S+\s+appraisal_noaddr;", text)


def test_the_client_address_is_not_forwarded_for_ballots() -> None:
    """A proxy_set_header inside a location would silently drop the server-level ones."""
    text = NGINX.read_text()
    assert not any("proxy_set_header" in body for body in locations(text).values())
    mapping = re.search(r"map \$uri \$appraisal_forwarded_for \{([^}]*)\}", text)
    assert mapping and '~^/api/v1/(commands|ballots/) "";' in mapping.group(1)
    assert "proxy_set_header X-Forwarded-For $appraisal_forwarded_for;" in text
