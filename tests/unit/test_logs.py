from __future__ import annotations

import io
import json

from loguru import logger

from retrain.entrypoints import logs


def test_secrets_are_masked_and_lines_carry_run_and_model(capsys):
    logs.configure("INFO", "json", ["xoxb-very-secret"])
    sink = io.StringIO()
    logger.add(sink, format="{extra[run_id]} {extra[model]} {message}")
    with logger.contextualize(run_id="r1", model="TOY"):
        logger.info("connecting with xoxb-very-secret")
    assert sink.getvalue().strip() == "r1 TOY connecting with ***"
    assert "xoxb-very-secret" not in capsys.readouterr().err


def test_tracebacks_do_not_show_local_variables(capsys):
    logs.configure("INFO", "text", [])
    password = "pw-in-a-local-variable"
    try:
        raise RuntimeError("boom" if password else "")
    except RuntimeError:
        logger.exception("failed")
    err = capsys.readouterr().err
    assert "RuntimeError: boom" in err
    assert password not in err


def test_text_lines_name_the_model_and_the_run(capsys):
    logs.configure("INFO", "text", [])
    logger.info("before any run")
    with logger.contextualize(run_id="20261123T150211Z-TOY-1a2b3c4d", model="TOY"):
        logger.info("stage fit")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].endswith("INFO    before any run")
    assert lines[1].endswith("INFO    TOY 20261123T150211Z-TOY-1a2b3c4d stage fit")


def test_json_lines_are_compact_and_carry_context_and_extra_fields(capsys):
    logs.configure("INFO", "json", ["s3cr3t-value"], environment="PROD")
    logger.info("outside")
    with logger.contextualize(run_id="r1", model="TOY", stage="fit"):
        logger.bind(rows=1000).warning("token s3cr3t-value dropped")
        try:
            raise ValueError("bad s3cr3t-value")
        except ValueError:
            logger.exception("failed")
    lines = capsys.readouterr().err.splitlines()
    outside, warning, failed = (json.loads(line) for line in lines)
    assert list(outside) == ["time", "level", "message", "run_id", "model", "stage", "environment"]
    assert outside["run_id"] is None and outside["time"].endswith("Z")
    assert warning == {
        "time": warning["time"],
        "level": "WARNING",
        "message": "token *** dropped",
        "run_id": "r1",
        "model": "TOY",
        "stage": "fit",
        "environment": "PROD",
        "rows": 1000,
    }
    assert failed["exception"].endswith("ValueError: bad ***")
    assert max(len(line) for line in lines[:2]) < 200  # not loguru's ~900-character record
    assert "s3cr3t-value" not in "".join(lines)


def test_slack_sdks_own_warnings_are_json_debug_lines_with_secrets_masked(capsys):
    """slack_sdk logs a failed request itself; with no handler of its own Python printed it
    as bare text beside LOG_FORMAT=json's lines. The notifier's own warning says what
    failed: the SDK's line is a DEBUG one."""
    import io
    import json as jsonlib

    from retrain.adapters.slack_notifier import _sdk_logger

    out = io.StringIO()
    logs.configure("DEBUG", "json", ["xoxb-secret-1"], stream=out)
    _sdk_logger(["xoxb-secret-1"]).warning("Failed to send a request: %s", "xoxb-secret-1")
    (line,) = out.getvalue().splitlines()
    record = jsonlib.loads(line)
    assert record["level"] == "DEBUG" and "Failed to send a request" in record["message"]
    assert "xoxb-secret-1" not in line and capsys.readouterr().err == ""
