"""Taking a query's cost from a client's bucket, as Lua: the bucket's own script
(`cost_bucket.py`) and the query cache's read of a cached answer (`query_cache/entries.py`) both
call it, the latter in the same round trip as the read. A leaf module: both import it."""

from __future__ import annotations

from dataclasses import dataclass

# The draw as a Lua function, so that another script (the query cache's read of a cached answer)
# can take a cost in the same round trip. `key` is the bucket; a missing bucket is full. Refused
# (nothing taken) when `cost` is more than the bucket holds, unless `force` (settling a query that
# ran); otherwise `charge` is taken (a cached answer is checked against its requested cost and
# charged its actual one, as a query that ran is once settled). Returns {taken (0/1), points
# available afterwards}.
DRAW_FUNCTION = """
local function draw(key, size, rate, now, cost, force, charge)
  local state = redis.call('HMGET', key, 'level', 'at')
  local available = size
  if state[1] then
    local elapsed = math.max(0, now - tonumber(state[2]))
    available = math.min(size, tonumber(state[1]) + elapsed * rate)
  end
  if cost > available and not force then
    return {0, tostring(available)}
  end
  available = math.min(size, available - charge)
  redis.call('HSET', key, 'level', tostring(available), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((size - available) / rate * 1000) + 1000)
  return {1, tostring(available)}
end
"""


@dataclass(frozen=True)
class BucketCharge:
    """What another script needs to call `DRAW_FUNCTION` on a client's bucket: its key, and
    the bucket's size, restore rate and the time now (ARGV for `draw`)."""

    key: str
    arguments: tuple[str, str, str]
