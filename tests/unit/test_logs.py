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
