"""How a cached result is kept in Redis, and the one script that reads it back.

An entry is a hash: the tags its result depends on and the version each had when it was stored,
the public answer's bytes (`{"data": ...}`, and gzipped when it is large enough to be), the
ETag digest of those bytes, and what the operation cost (requested and actual). A hit can then be
sent as it was stored, without parsing or serializing anything (`schema/fast_hits.py`).

`READ_ENTRY` checks an entry against the current version of each of its tags and reads the epoch
in one round trip (two the first time a process reads the entry, or after the entry was stored
again with other tags: it learns them from the first); for a hit that must be paid for, it also draws the cost from the client's
query-cost bucket (`resolvers/cost_bucket.py`), when that bucket lives on the same Redis.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from redis.typing import EncodableT, FieldT

from resolvers.cost_draw import DRAW_FUNCTION

# Tags and versions are stored joined by this; tags (collection:field:value, slugs and ids) never
# hold one.
SEPARATOR = "\n"

# KEYS[1]: the entry, KEYS[2]: the epoch, KEYS[3 .. 2+n]: the keys of the tags the caller
# expects the entry to depend on (ARGV[1]), KEYS[3+n] (optional): the client's cost bucket.
# ARGV[1]: those tags as the entry stores them (joined by SEPARATOR); ARGV[2]: '1' for the gzipped
# body when there is one; ARGV[3]: n; with a bucket, ARGV[4..6]: its size, restore rate and the
# time now.
# Returns {outcome, epoch, gzipped (0/1), body, etag digest, requested cost, actual cost, points
# available after the draw} (see `Outcome`), or {TAGS_DIFFER, epoch, the entry's tags}.
# Every key it touches is passed in KEYS, as a Redis Cluster needs to route the call (all of them
# share one hash tag there): the caller names the tag keys from what it learnt of the entry
# before, and an entry that depends on other tags answers with them, to be asked again.
# An entry of another type (left by an older version) reads as a miss and is replaced by the
# next store.
READ_ENTRY = (
    DRAW_FUNCTION
    + r"""
local epoch = redis.call('GET', KEYS[2])
local entry = redis.pcall('HMGET', KEYS[1], 'tags', 'versions', 'etag', 'requested', 'actual')
if entry.err or not entry[1] then
  return {0, epoch}
end
if entry[1] ~= ARGV[1] then
  return {4, epoch, entry[1]}
end
local count = tonumber(ARGV[3])
if count > 0 then
  local current = redis.call('MGET', unpack(KEYS, 3, 2 + count))
  for i = 1, count do
    if not current[i] then
      return {0, epoch}
    end
  end
  if table.concat(current, '\n') ~= entry[2] then
    return {0, epoch}
  end
end
local gzipped, body = 0, false
if ARGV[2] == '1' then
  body = redis.call('HGET', KEYS[1], 'gzip')
end
if body and body ~= '' then
  gzipped = 1
else
  body = redis.call('HGET', KEYS[1], 'body')
end
local bucket = KEYS[3 + count]
if not bucket then
  return {1, epoch, gzipped, body, entry[3], entry[4], entry[5]}
end
local requested, actual = tonumber(entry[4]), tonumber(entry[5])
if not requested or not actual then
  return {3, epoch, gzipped, body, entry[3], entry[4], entry[5]}
end
local drawn = draw(bucket, tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]),
                   requested, false, actual)
if drawn[1] == 0 then
  return {2, epoch, 0, false, entry[3], entry[4], entry[5], drawn[2]}
end
return {1, epoch, gzipped, body, entry[3], entry[4], entry[5], drawn[2]}
"""
)


class Outcome(enum.IntEnum):
    """What `READ_ENTRY` found."""

    MISS = 0  # no entry, or one that read a tag that has changed (or was lost) since
    HIT = 1  # and its cost taken from the bucket, if one was given
    THROTTLED = 2  # a hit, but the bucket holds less than it costs: nothing taken, no body
    UNPRICED = 3  # a hit with no cost stored to charge: nothing taken
    TAGS_DIFFER = 4  # the entry depends on other tags than the caller named: nothing read


@dataclass(frozen=True)
class StoredAnswer:
    """A result as the HTTP layer sends it, kept with the entry."""

    body: bytes  # the public answer, `{"data": ...}` as orjson writes it
    gzip: bytes = b""  # the body gzipped as the HTTP layer would, or b"" when it is too small
    etag: str = ""  # digest of `body` the ETag is made of
    requested_cost: int | None = None
    actual_cost: int | None = None

    @property
    def data(self) -> Any:
        return orjson.loads(self.body)["data"]

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzip)

    def fields(self, tags: Sequence[str], versions: Sequence[str]) -> dict[FieldT, EncodableT]:
        """The entry's hash fields, with the version each of `tags` has now."""
        return {
            "tags": SEPARATOR.join(tags),
            "versions": SEPARATOR.join(versions),
            "body": self.body,
            "gzip": self.gzip,
            "etag": self.etag,
            "requested": "" if self.requested_cost is None else str(self.requested_cost),
            "actual": "" if self.actual_cost is None else str(self.actual_cost),
        }


@dataclass(frozen=True)
class EntryRead:
    """`READ_ENTRY`'s answer."""

    outcome: Outcome
    epoch: str | None
    gzipped: bool = False
    body: bytes | None = None
    etag: str = ""
    requested_cost: int | None = None
    actual_cost: int | None = None
    # The points left in the bucket after the draw.
    available: float | None = None

    @classmethod
    def parse(cls, reply: list[Any]) -> EntryRead:
        padded: list[Any] = [*reply, *[None] * (8 - len(reply))]
        outcome, epoch, gzipped, body, etag, requested, actual, available = padded
        return cls(
            outcome=Outcome(int(outcome)),
            epoch=_text(epoch),
            gzipped=bool(gzipped),
            body=body,
            etag=_text(etag) or "",
            requested_cost=_integer(requested),
            actual_cost=_integer(actual),
            available=None if available is None else float(available),
        )


def _integer(value: bytes | None) -> int | None:
    return int(value) if value else None


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
