from __future__ import annotations

import io

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
