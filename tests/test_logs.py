import logging

from neurocards.logs import SecretsFilter, scrub

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_scrub_masks_tokens_bearers_and_url_passwords():
    text = (
        f"GET https://api.telegram.org/bot{TOKEN}/getMe "
        "Authorization: Bearer sk-abcdef123456 postgresql://app:s3cret@db:5432/x"
    )
    cleaned = scrub(text)
    assert TOKEN not in cleaned
    assert "sk-abcdef123456" not in cleaned
    assert "s3cret" not in cleaned
    assert "api.telegram.org/bot***/getMe" in cleaned


def test_filter_scrubs_arguments_and_tracebacks(caplog):
    logger = logging.getLogger("test.secrets")
    caplog.handler.addFilter(SecretsFilter(("kie-key-12345",)))
    try:
        raise RuntimeError(f"failed with kie-key-12345 and {TOKEN}")
    except RuntimeError:
        logger.exception("call with %s failed", "kie-key-12345")
    assert "kie-key-12345" not in caplog.text
    assert TOKEN not in caplog.text
    assert "call with *** failed" in caplog.text


def test_one_line_per_event_with_the_job_id(capsys):
    import io

    from neurocards.logs import configure_handler, job_logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    configure_handler(handler, secrets=("kie-key-12345",))
    logger = logging.getLogger("test.oneline")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        try:
            raise RuntimeError("boom with kie-key-12345")
        except RuntimeError:
            job_logger("6f1f6a9e", "test.oneline").exception("download failed\nafter 3 tries")
        logger.info("no job here")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "level=ERROR" in lines[0] and "job=6f1f6a9e" in lines[0]
    assert "download failed\\nafter 3 tries" in lines[0] and "RuntimeError" in lines[0]
    assert "kie-key-12345" not in lines[0]
    assert "job=- no job here" in lines[1]
