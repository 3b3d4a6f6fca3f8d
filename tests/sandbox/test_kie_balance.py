"""KIE contract: the account's balance (``GET /api/v1/chat/credit``), each task taking its
price, a create the balance can't cover answered 402, and the credits a market task
consumed read from its record; and the breaker's reading of a balance (closed tiers,
stale reads closing nothing)."""

from __future__ import annotations

import pytest

from neurocards.clients.kie import KieApiError
from neurocards.limits import kie_balance
from neurocards.sandbox.kie_state import TASK_PRICES, UNLIMITED_BALANCE
from neurocards.settings import load_settings
from tests.sandbox.kie_support import (  # noqa: F401  (fixtures)
    KLING,
    VEO,
    clean_kie,
    client,
    configure,
    kie,
    new_task,
    settle,
)


def test_the_balance_is_read_and_each_task_takes_its_price(kie, client):
    assert client.get_credit() == UNLIMITED_BALANCE
    configure(kie, balance=100)
    new_task(client, VEO)
    assert client.get_credit() == 100 - TASK_PRICES[VEO]


def test_a_create_the_balance_cannot_cover_is_a_402_and_takes_nothing(kie, client):
    configure(kie, balance=TASK_PRICES[VEO] - 1)
    with pytest.raises(KieApiError) as refused:
        new_task(client, VEO)
    assert refused.value.code == 402
    assert client.get_credit() == TASK_PRICES[VEO] - 1


def test_a_market_task_reports_the_credits_it_consumed(kie, client):
    task_id = new_task(client, KLING)
    [*_, done] = settle(client, task_id, KLING)
    assert done.state == "success" and done.cost_credits == 100.0  # the stand-in's price for models off its list


def test_a_veo_record_without_a_figure_reads_as_none(kie, client):
    task_id = new_task(client, VEO)
    [*_, done] = settle(client, task_id, VEO)
    assert done.state == "success" and done.cost_credits is None


def test_a_tier_is_closed_only_when_a_fresh_balance_cannot_pay_its_task(redis_server):
    settings, redis = load_settings(), redis_server.client()
    redis.delete(kie_balance.KEY)
    assert kie_balance.read(redis, settings) is None  # never read
    kie_balance.record(redis, 100, now=1000.0)
    assert kie_balance.read(redis, settings, now=1000.0 + settings.kie.balance_period_s) == 100
    assert kie_balance.read(redis, settings, now=1000.0 + 4 * settings.kie.balance_period_s) is None  # stale
    assert not kie_balance.closed(100, settings, "veo3_fast") and kie_balance.closed(100, settings, "veo3")
    assert not kie_balance.closed(None, settings, "veo3")  # unknown: closes nothing
    assert not kie_balance.closed(0, settings, "a-model-off-the-price-list")
