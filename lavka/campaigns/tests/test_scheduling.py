from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

import pytest

from lavka.campaigns.scheduling import ScheduleError, next_occurrence, validate_cron

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def firings(
    periodicity: str, first: datetime, count: int, zone: str = "Europe/Berlin", **kw
) -> list[datetime]:
    out, after = [], first
    current = next_occurrence(
        periodicity=periodicity,
        first_send_at=first,
        time_zone=zone,
        after=after,
        inclusive=True,
        **kw,
    )
    while current is not None and len(out) < count:
        out.append(current)
        current = next_occurrence(
            periodicity=periodicity, first_send_at=first, time_zone=zone, after=current, **kw
        )
    return out


@pytest.mark.parametrize(
    ("first", "change_day"),
    [(local(2026, 3, 27, 9, 0), 29), (local(2026, 10, 23, 9, 0), 25)],
    ids=["spring-forward", "fall-back"],
)
def test_daily_nine_oclock_stays_nine_oclock_across_daylight_saving(first, change_day):
    result = firings("daily", first, 5)

    assert [f.astimezone(BERLIN).hour for f in result] == [9] * 5
    assert [f.astimezone(BERLIN).day for f in result] == [first.day + i for i in range(5)]
    assert len({f for f in result}) == 5
    assert any(f.astimezone(BERLIN).day == change_day for f in result)


def test_daily_in_the_fall_back_hour_fires_once():
    first = local(2026, 10, 24, 2, 30)

    result = firings("daily", first, 3)

    assert [f.astimezone(UTC).hour for f in result] == [
        0,
        0,
        1,
    ]  # 02:30 CEST, 02:30 CEST (first of two), 02:30 CET
    assert len(result) == len(set(result))


def test_daily_in_the_spring_forward_gap_moves_past_the_gap():
    first = local(2026, 3, 28, 2, 30)

    result = firings("daily", first, 3)

    assert result[1] == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST: 02:30 does not exist
    assert result[2].astimezone(BERLIN).hour == 2


def test_weekly_keeps_the_weekday():
    result = firings("weekly", local(2026, 1, 5, 18, 0), 4)

    assert {f.astimezone(BERLIN).weekday() for f in result} == {0}


def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months():
    result = firings("monthly", local(2026, 1, 31, 10, 0), 4)

    assert [f.astimezone(BERLIN).date().isoformat() for f in result] == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
    ]


def test_cron_expression_is_read_in_the_owners_time_zone():
    result = firings("cron", local(2026, 3, 20, 0, 0), 2, cron_expression="30 9 * * 1")

    assert [f.astimezone(BERLIN).strftime("%a %H:%M") for f in result] == ["Mon 09:30", "Mon 09:30"]
    assert result[1].astimezone(UTC).hour == 7  # after the change to summer time


def test_end_at_stops_the_schedule():
    first = local(2026, 5, 1, 9, 0)

    result = firings("daily", first, 10, end_at=local(2026, 5, 3, 12, 0))

    assert len(result) == 3


def test_a_one_off_fires_once():
    first = local(2026, 5, 1, 9, 0)

    assert firings("once", first, 5) == [first.astimezone(UTC)]


@pytest.mark.parametrize("expression", ["", "every day", "61 * * * *", "* * * *", "0 9 * * * *"])
def test_invalid_cron_expressions_are_refused(expression):
    with pytest.raises(ScheduleError):
        validate_cron(expression)
