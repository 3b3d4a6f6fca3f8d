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
