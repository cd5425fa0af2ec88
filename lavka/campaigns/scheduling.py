"""When a mailing fires next: wall-clock times in the owner's zone, stored in UTC.

Occurrences are computed on naive local times (09:00 every day stays 09:00 across a
daylight-saving change) and only then placed in the zone. A local time that does not
exist (skipped by a spring-forward) is moved forward by the gap; one that exists twice
(autumn) fires at its first occurrence.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

from croniter import CroniterBadDateError, croniter
from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule

from lavka.campaigns.models import Mailing, Periodicity


class ScheduleError(ValueError):
    pass


def validate_cron(expression: str) -> None:
    if not expression.strip() or not croniter.is_valid(expression.strip()):
        raise ScheduleError(expression)
    if len(expression.split()) != 5:
        raise ScheduleError(expression)


def _to_local_naive(moment: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def _to_utc(local_naive: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """Place a wall-clock time in the zone (PEP 495 fold=0): a time inside a
    spring-forward gap moves forward by the gap, an ambiguous one takes its first
    occurrence."""
    return local_naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _rule(periodicity: str, start_local: datetime) -> rrule:
    if periodicity == Periodicity.DAILY:
        return rrule(DAILY, dtstart=start_local)
    if periodicity == Periodicity.WEEKLY:
        return rrule(WEEKLY, dtstart=start_local)
    if periodicity == Periodicity.MONTHLY:
        day = start_local.day
        if day <= 28:
            return rrule(MONTHLY, dtstart=start_local, bymonthday=day)
        # The 29th-31st fall on the month's last day when the month is shorter.
        return rrule(MONTHLY, dtstart=start_local, bymonthday=(day, -1), bysetpos=1)
    raise ScheduleError(periodicity)


def next_occurrence(
    *,
    periodicity: str,
    first_send_at: datetime,
    time_zone: str,
    after: datetime,
    cron_expression: str = "",
    end_at: datetime | None = None,
    inclusive: bool = False,
) -> datetime | None:
    """The first firing strictly after `after` (or at it, with `inclusive`), in UTC.

    None when the schedule has ended (a one-off already past, or past `end_at`).
    """
    zone = zoneinfo.ZoneInfo(time_zone)
    first_send_at = first_send_at.replace(microsecond=0)  # rrule works in whole seconds
    if periodicity == Periodicity.ONCE:
        candidate: datetime | None = first_send_at.astimezone(UTC)
        if candidate is not None and (candidate < after or (candidate == after and not inclusive)):
            candidate = None
    elif periodicity == Periodicity.CRON:
        validate_cron(cron_expression)
        start = max(after, first_send_at - timedelta(microseconds=1))
        local_start = _to_local_naive(start, zone)
        if inclusive and start == after:
            local_start -= timedelta(microseconds=1)
        candidate = _next_cron_firing(
            croniter(cron_expression.strip(), local_start), zone, after, inclusive=inclusive
        )
    else:
        first_local = _to_local_naive(first_send_at, zone)
        rule = _rule(periodicity, first_local)
        local_after = _to_local_naive(max(after, first_send_at - timedelta(microseconds=1)), zone)
        candidate = None
        moment = rule.after(local_after - timedelta(hours=3), inc=True)
        while moment is not None:
            utc_moment = _to_utc(moment, zone)
            due = utc_moment > after or (inclusive and utc_moment == after)
            if due and utc_moment >= first_send_at.astimezone(UTC):
                candidate = utc_moment
                break
            moment = rule.after(moment, inc=False)
    if candidate is not None and end_at is not None and candidate > end_at:
        return None
    return candidate


def _next_cron_firing(
    iterator: croniter, zone: zoneinfo.ZoneInfo, after: datetime, *, inclusive: bool
) -> datetime | None:
    """The iterator's first firing after `after` in UTC; None for an expression that
    never fires (February 30th), which croniter reports by giving up.

    Local times of the repeated autumn hour map to their first occurrence, so up to an
    hour of firings may land at or before `after`: they are skipped.
    """
    for _attempt in range(MAX_FIRINGS_IN_AN_HOUR):
        try:
            candidate = _to_utc(iterator.get_next(datetime), zone)
        except (CroniterBadDateError, OverflowError):
            return None
        if candidate > after or (inclusive and candidate == after):
            return candidate
    return None


# A five-field cron fires at most once a minute.
MAX_FIRINGS_IN_AN_HOUR = 61


def first_firing(
    *,
    periodicity: str,
    first_send_at: datetime,
    time_zone: str,
    cron_expression: str = "",
    end_at: datetime | None = None,
) -> datetime | None:
    """When the schedule fires first, ignoring today's date; None when it never fires."""
    return next_occurrence(
        periodicity=periodicity,
        first_send_at=first_send_at,
        time_zone=time_zone,
        after=first_send_at.replace(microsecond=0),
        cron_expression=cron_expression,
        end_at=end_at,
        inclusive=True,
    )


def next_slot(mailing: Mailing, *, after: datetime, inclusive: bool = False) -> datetime | None:
    """The mailing's next firing after `after` (or at it, with `inclusive`), in UTC."""
    return next_occurrence(
        periodicity=mailing.periodicity,
        first_send_at=mailing.first_send_at,
        time_zone=mailing.time_zone,
        after=after,
        cron_expression=mailing.cron_expression,
        end_at=mailing.end_at,
        inclusive=inclusive,
    )
