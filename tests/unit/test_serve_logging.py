"""`appraisal serve` logs each request once, as the app's JSON line: gunicorn builds none."""

from unittest import mock

import pytest
from gunicorn import glogging

from entrypoints.serve import AppRequestLog, gunicorn_options


def _access(logger_class: type[glogging.Logger]) -> None:
    logger = object.__new__(logger_class)
    logger._access_log_enabled = True  # what gunicorn computes for a logconfig_dict
    with mock.patch.object(glogging.Logger, "atoms", side_effect=AssertionError("built")):
        logger.access(mock.Mock(), mock.Mock(), {}, mock.Mock())


def test_served_workers_use_the_logger_without_an_access_line() -> None:
    assert gunicorn_options("127.0.0.1", 8000, 2, 4)["logger_class"] is AppRequestLog
    _access(AppRequestLog)


def test_gunicorns_own_logger_would_build_the_access_fields() -> None:
    with pytest.raises(AssertionError, match="built"):
        _access(glogging.Logger)
