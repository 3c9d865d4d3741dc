"""Leaderboards: the materialised standings read from SQL, or in production from Redis sorted sets.

A board is one stage and category, nationally or in one region, in one of three columns: `public`
(live), `frozen` (what participants see from freeze time until publication) and `private` (the final
ranking, once published). Ties: whoever reached their points first ranks higher (to the second; within one second the later
registration, as Redis orders equal scores by member, and members are zero-padded ids).

Redis holds one sorted set per board. A member's score packs the points and the moment reached into one
number whose order is the leaderboard's order, so rank and top-N are single O(log N) calls. The sets
are a cache: built from SQL when missing (Redis restarted or flushed), updated after each commit that
changes standings, and compared with SQL in the tests.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, false, func
from sqlmodel import Session, col, select

from gennation.platform.accounts.models import User
from gennation.platform.institutions.assignments import as_utc
from gennation.tournament.models import Participant, Stage, StageStatus, Standing

log = logging.getLogger("gennation.tournament")
PAGE_SIZE = 50
NATIONAL = "*"
_UNITS = 10_000  # points kept to 4 decimals
_TIME_BITS = 26  # seconds since the epoch below: about two years of a season
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # moved forward with a new scheme version, never back
SCHEME = 1
NAMES_TTL = 24 * 3600  # names and regions cached beside the boards


def column_for(stage: Stage, organiser: bool) -> str:
    if stage.status == StageStatus.published:
        return "private"
    if organiser:
        return "public"
    if stage.status in (StageStatus.frozen, StageStatus.closed, StageStatus.locked):
        return "frozen"
    return "public"


def _columns(column: str):
    if column == "private":
        return Standing.private_points, Standing.reached_at
    if column == "frozen":
        return Standing.frozen_points, Standing.frozen_reached_at
    return Standing.public_points, Standing.reached_at


def packed(points: float, reached: datetime) -> float:
    """One number in the board's order: more points first, then the earlier moment."""
    seconds = max(0, min((1 << _TIME_BITS) - 1, int((as_utc(reached) - _EPOCH).total_seconds())))
    return float(round(points * _UNITS) * (1 << _TIME_BITS) + ((1 << _TIME_BITS) - 1 - seconds))


def member(participant_id: int) -> str:
    return f"{participant_id:012d}"


def unpacked_points(score: float) -> float:
    return int(score) // (1 << _TIME_BITS) / _UNITS


@dataclass
class Row:
    rank: int
    participant_id: int
    name: str
    region: str
    points: float
    mine: bool = False


@dataclass
class Board:
    stage_id: int
    category_id: int
    region: str
    column: str
    page: int
    pages: int
    total: int
    rows: list[Row]
    me: Row | None
    neighbours: list[Row]
    source: str  # "redis" | "sql"


def _filters(stage_id: int, category_id: int, region: str):
    # `excluded = false`, written as the board indexes' predicate is, so that the planner uses them.
    conditions = [Standing.stage_id == stage_id, Standing.category_id == category_id, Standing.excluded == false()]
    if region != NATIONAL:
        conditions.append(Standing.region == region)
    return conditions


# ---------------------------------------------------------------- SQL

def sql_total(session: Session, stage_id: int, category_id: int, region: str) -> int:
    return session.exec(select(func.count()).select_from(Standing).where(*_filters(stage_id, category_id, region))).one()


def sql_slice(session: Session, stage_id: int, category_id: int, region: str, column: str, offset: int,
              limit: int) -> list[tuple[int, float]]:
    points, reached = _columns(column)
    return list(session.exec(select(Standing.participant_id, points).where(*_filters(stage_id, category_id, region))
                             .order_by(points.desc(), reached, col(Standing.participant_id).desc()).offset(offset).limit(limit)))


def sql_rank(session: Session, stage_id: int, category_id: int, region: str, column: str,
             participant_id: int) -> int | None:
    """1-based place: how many rank above, plus one. Three counts of index ranges (more points; as many,
    reached earlier; as many at the same second, registered later) rather than one OR that no index serves."""
    points, reached = _columns(column)
    mine = session.exec(select(points, reached).where(*_filters(stage_id, category_id, region),
                                                      Standing.participant_id == participant_id)).first()
    if mine is None:
        return None
    ranges = (points > mine[0],
              and_(points == mine[0], reached < mine[1]),
              and_(points == mine[0], reached == mine[1], Standing.participant_id > participant_id))
    counts = [select(func.count()).select_from(Standing).where(*_filters(stage_id, category_id, region), condition)
              .scalar_subquery() for condition in ranges]
    return session.exec(select(counts[0] + counts[1] + counts[2])).one() + 1  # one round trip


def sql_members(session: Session, stage_id: int, column: str):
    """Everyone on the stage's boards, with the name the boards show."""
    points, reached = _columns(column)
    return session.exec(select(Standing.participant_id, Standing.category_id, Standing.region, points, reached,
                               User.display_name)
                        .join(Participant, Participant.id == Standing.participant_id)
                        .join(User, User.id == Participant.user_id)
                        .where(Standing.stage_id == stage_id, Standing.excluded == false()))


# ---------------------------------------------------------------- Redis

class Rebuilding(Exception):
    """Another process is rebuilding a stage's boards from SQL: read SQL until it is done."""


class RedisBoards:
    """The production leaderboards. Every call may fail (Redis down): callers fall back to SQL."""

    def __init__(self, client):
        self.redis = client
        self._view = client.register_script(self._VIEW)  # sent with EVALSHA, loaded on first use

    @staticmethod
    def key(stage_id: int, category_id: int, region: str, column: str) -> str:
        return f"gn:lb:{SCHEME}:{stage_id}:{column}:{category_id}:{region}"

    @staticmethod
    def built_key(stage_id: int, column: str) -> str:
        return f"gn:lb:{SCHEME}:{stage_id}:{column}:built"

    @staticmethod
    def touched_key(stage_id: int, column: str) -> str:
        """Who `put` moved lately: a rebuild puts them again after its swap."""
        return f"gn:lb:{SCHEME}:{stage_id}:{column}:touched"

    def rebuild(self, session: Session, stage_id: int, column: str) -> int:
        """Every board of a stage and column from SQL, swapped in at once (readers never see half). One
        process at a time rebuilds (the others read SQL meanwhile: `Rebuilding`); scores that came in while
        it read are put again after the swap, so none is lost to the older copy."""
        lock, mark = f"{self.built_key(stage_id, column)}:lock", secrets.token_hex(4)
        if not self.redis.set(lock, mark, nx=True, ex=600):
            raise Rebuilding(stage_id)
        try:
            touched = self.touched_key(stage_id, column)
            self.redis.delete(touched)  # from now on `put` notes whom it moves
            count = self._rebuild(session, stage_id, column, mark)
            again = [int(pid) for pid in self.redis.smembers(touched)]
            if again:  # moved while SQL was read: their new standings, put on the new boards
                for standing in session.exec(select(Standing).where(Standing.stage_id == stage_id,
                                                                    col(Standing.participant_id).in_(again))):
                    self.put(standing)
            return count
        finally:
            if self.redis.get(lock) == mark.encode():
                self.redis.delete(lock)

    def _rebuild(self, session: Session, stage_id: int, column: str, mark: str) -> int:
        boards: dict[str, dict[str, float]] = {}
        names: dict[str, str] = {}
        for participant_id, category_id, region, points, reached, name in sql_members(session, stage_id, column):
            score = packed(points, reached)
            boards.setdefault(self.key(stage_id, category_id, NATIONAL, column), {})[member(participant_id)] = score
            boards.setdefault(self.key(stage_id, category_id, region, column), {})[member(participant_id)] = score
            names[str(participant_id)] = f"{name}\t{region}"
        pattern = f"gn:lb:{SCHEME}:{stage_id}:{column}:*"
        stale = {key for key in self.redis.scan_iter(match=pattern, count=1000)
                 if b":new:" not in key and not key.endswith((b":built", b":lock", b":touched"))} - {k.encode() for k in boards}
        # Filled under temporary names, 10,000 members per round trip, so that Redis keeps serving everyone
        # else meanwhile; then swapped in by one short transaction. A crash leaves only expiring leftovers.
        names_key = self.names_key(stage_id)
        for key, values in [*boards.items(), (names_key, names)]:
            items = list(values.items())
            for start in range(0, len(items), 10_000):
                pipe = self.redis.pipeline(transaction=False)
                if key == names_key:
                    pipe.hset(f"{key}:new:{mark}", mapping=dict(items[start:start + 10_000]))
                else:
                    pipe.zadd(f"{key}:new:{mark}", dict(items[start:start + 10_000]))
                pipe.expire(f"{key}:new:{mark}", 3600)
                pipe.execute()
        swap = self.redis.pipeline(transaction=True)
        for key in stale:
            swap.delete(key)
        for key in boards:
            swap.rename(f"{key}:new:{mark}", key)
            swap.persist(key)
        if names:  # every name at hand: a page never waits on SQL for one
            swap.rename(f"{names_key}:new:{mark}", names_key)
            swap.expire(names_key, NAMES_TTL)
        swap.set(self.built_key(stage_id, column), "1")
        swap.execute()
        return len(names)

    def put(self, standing: Standing) -> None:
        """One participant's new standing, on every board and column it shows in."""
        pipe = self.redis.pipeline(transaction=False)
        values = {"public": (standing.public_points, standing.reached_at),
                  "private": (standing.private_points, standing.reached_at),
                  "frozen": (standing.frozen_points, standing.frozen_reached_at)}
        for column, (points, reached) in values.items():
            pipe.sadd(self.touched_key(standing.stage_id, column), standing.participant_id)
            pipe.expire(self.touched_key(standing.stage_id, column), 3600)
            for region in (NATIONAL, standing.region):
                key = self.key(standing.stage_id, standing.category_id, region, column)
                if standing.excluded:
                    pipe.zrem(key, member(standing.participant_id))
                else:
                    pipe.zadd(key, {member(standing.participant_id): packed(points, reached)})
        pipe.execute()

    # One round trip for a whole page: is the board built, its size, the slice, my rank, my neighbours (two
    # above, two below), and the cached names of everyone shown. Members are zero-padded ids; names are
    # keyed by the plain id.
    _VIEW = """
    local top = redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES')
    local rank = redis.call('ZREVRANK', KEYS[1], ARGV[3])
    local near = {}
    if rank then near = redis.call('ZREVRANGE', KEYS[1], math.max(0, rank - 2), rank + 2, 'WITHSCORES') end
    local ids = {}
    for i = 1, #top, 2 do ids[#ids + 1] = tostring(tonumber(top[i])) end
    for i = 1, #near, 2 do ids[#ids + 1] = tostring(tonumber(near[i])) end
    local names = {}
    if #ids > 0 then names = redis.call('HMGET', KEYS[3], unpack(ids)) end
    return {redis.call('EXISTS', KEYS[2]), redis.call('ZCARD', KEYS[1]), top, rank or -1, near, ids, names}
    """

    def view(self, stage_id: int, category_id: int, region: str, column: str, offset: int, limit: int,
             participant_id: int | None):
        """(built, total, the slice, my rank, my neighbours, {participant: (name, region)} of those found)."""
        built, total, top, rank, near, ids, names = self._view(
            keys=[self.key(stage_id, category_id, region, column), self.built_key(stage_id, column),
                  self.names_key(stage_id)],
            args=[offset, offset + limit - 1, member(participant_id or 0)])
        pairs = lambda flat: [(int(flat[i]), unpacked_points(float(flat[i + 1]))) for i in range(0, len(flat), 2)]  # noqa: E731
        found = {}
        for pid, value in zip(ids, names):
            if value is not None:
                name, _, where = value.decode().partition("\t")
                found[int(pid)] = (name, where)
        mine = rank + 1 if rank >= 0 and participant_id else None
        return bool(built), total, pairs(top), mine, pairs(near) if mine else [], found

    @staticmethod
    def names_key(stage_id: int) -> str:
        return f"gn:lb:{SCHEME}:{stage_id}:names"

    def names(self, session: Session, stage_id: int, participant_ids: list[int]) -> dict[int, tuple[str, str]]:
        """Names and regions for a page, from the hash the rebuild filled; a name missing there (a newcomer
        since) is read from SQL and added. A renamed person shows after the next rebuild or within a day."""
        if not participant_ids:
            return {}
        key = self.names_key(stage_id)
        found = {}
        missing = []
        for pid, value in zip(participant_ids, self.redis.hmget(key, [str(p) for p in participant_ids])):
            if value is None:
                missing.append(pid)
            else:
                name, _, where = value.decode().partition("\t")
                found[pid] = (name, where)
        if missing:
            fresh = _names(session, missing)
            if fresh:
                pipe = self.redis.pipeline(transaction=False)
                pipe.hset(key, mapping={str(pid): f"{name}\t{where}" for pid, (name, where) in fresh.items()})
                pipe.expire(key, NAMES_TTL)
                pipe.execute()
            found.update(fresh)
        return found

    def rank(self, stage_id: int, category_id: int, region: str, column: str, participant_id: int) -> int | None:
        found = self.redis.zrevrank(self.key(stage_id, category_id, region, column), member(participant_id))
        return None if found is None else found + 1


def _names(session: Session, participant_ids: list[int]) -> dict[int, tuple[str, str]]:
    if not participant_ids:
        return {}
    rows = session.exec(select(Participant.id, User.display_name, Participant.region)
                        .join(User, User.id == Participant.user_id).where(col(Participant.id).in_(participant_ids)))
    return {pid: (name, region) for pid, name, region in rows}


def board(session: Session, stage: Stage, category_id: int, region: str = NATIONAL, page: int = 1,
          participant_id: int | None = None, organiser: bool = False, redis_boards: RedisBoards | None = None,
          size: int = PAGE_SIZE) -> Board:
    """A page of a leaderboard, with the viewer's place and neighbours (two above, two below)."""
    column = column_for(stage, organiser)
    source, lookup = "sql", _names
    if redis_boards is not None:
        try:
            view = redis_boards.view(stage.id, category_id, region, column, (page - 1) * size, size, participant_id)
            if not view[0]:  # Redis restarted or was flushed: rebuilt from the database, then read again
                redis_boards.rebuild(session, stage.id, column)
                view = redis_boards.view(stage.id, category_id, region, column, (page - 1) * size, size, participant_id)
            pages = max(1, -(-view[1] // size))
            if page > pages:
                page = pages
                view = redis_boards.view(stage.id, category_id, region, column, (page - 1) * size, size, participant_id)
            _built, total, top, rank, near, cached = view
            lookup = lambda s, ids: {**cached, **redis_boards.names(s, stage.id, [i for i in ids if i not in cached])}  # noqa: E731
            source = "redis"
        except Rebuilding:  # another process is filling the boards again: the database answers meanwhile
            source, lookup = "sql", _names
        except Exception:  # noqa: BLE001 - Redis down or flushed mid-call: the database answers
            log.warning("leaderboard from SQL: Redis failed", exc_info=True)
            source, lookup = "sql", _names
    if source == "sql":
        total = sql_total(session, stage.id, category_id, region)
        pages = max(1, -(-total // size))
        page = max(1, min(page, pages))
        top = sql_slice(session, stage.id, category_id, region, column, (page - 1) * size, size)
        rank = sql_rank(session, stage.id, category_id, region, column, participant_id) if participant_id else None
        near = sql_slice(session, stage.id, category_id, region, column, max(0, rank - 3), 5) if rank else []
    names = lookup(session, list(dict.fromkeys([pid for pid, _ in top] + [pid for pid, _ in near])))
    first = (page - 1) * size + 1

    def row(at: int, pid: int, points: float) -> Row:
        name, where = names.get(pid, ("", ""))
        return Row(at, pid, name, where, round(points, 4), pid == participant_id)

    rows = [row(first + n, pid, points) for n, (pid, points) in enumerate(top)]
    neighbours = [row(max(1, rank - 2) + n, pid, points) for n, (pid, points) in enumerate(near)] if rank else []
    me = next((r for r in neighbours if r.mine), None)
    return Board(stage.id, category_id, region, column, page, pages, total, rows, me, neighbours, source)
