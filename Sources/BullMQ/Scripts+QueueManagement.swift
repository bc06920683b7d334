import RedisClient

/// The scripts that manage a queue's jobs rather than run them: remove, reprocess, clean, pause, obliterate, cancel.
extension Scripts {
    /// Removes a job in any state unless it is locked. KEYS: job, events, meta. ARGV: jobId, prefix (base key).
    static let removeJob = RedisScript(name: "removeJob", source: prelude + #"""
    local jobId, jobKey, base = ARGV[1], KEYS[1], ARGV[2]
    if rcall("EXISTS", jobKey .. ":lock") == 1 then return 0 end
    local prev = "unknown"
    for _, state in ipairs({"completed", "waiting-children", "delayed", "failed", "prioritized"}) do
      if rcall("ZREM", base .. state, jobId) == 1 then prev = state break end
    end
    if prev == "unknown" then
      for _, state in ipairs({"wait", "paused", "active"}) do
        if rcall("LREM", base .. state, 0, jobId) > 0 then prev = state break end
      end
    end
    if prev == "unknown" and rcall("EXISTS", jobKey) == 0 then return 0 end
    removeJobKeys(jobKey)
    rcall("XADD", KEYS[2], "MAXLEN", "~", getMaxEvents(KEYS[3]), "*", "event", "removed", "jobId", jobId, "prev", prev)
    return 1
    """#)

    /// Moves a finished job back to the queue.
    /// KEYS: job, events, state set, wait, meta, active, marker, prioritized, pc.
    /// ARGV: jobId, pushCmd, field to clear, state, resetAttempts "1"/"0".
    static let reprocessJob = RedisScript(name: "reprocessJob", source: prelude + #"""
    local jobId, jobKey = ARGV[1], KEYS[1]
    if rcall("EXISTS", jobKey) == 0 then return -1 end
    if rcall("ZREM", KEYS[3], jobId) == 0 then return -3 end
    rcall("HDEL", jobKey, "finishedOn", "processedOn", ARGV[3], "defa")
    if ARGV[5] == "1" then rcall("HDEL", jobKey, "atm", "ats", "stc") end
    local priority = tonumber(rcall("HGET", jobKey, "priority")) or 0
    pushToQueue(KEYS[4], KEYS[8], KEYS[9], jobId, priority, ARGV[2])
    addBaseMarker(KEYS[7], isPausedOrMaxed(KEYS[5], KEYS[6]))
    rcall("XADD", KEYS[2], "MAXLEN", "~", getMaxEvents(KEYS[5]), "*", "event", "waiting", "jobId", jobId, "prev", ARGV[4])
    return 1
    """#)

    /// Removes jobs of one state older than a cut-off. KEYS: state set or list, events.
    /// ARGV: prefix, cutoff ms, limit (0 = no limit), state.
    static let cleanJobsInSet = RedisScript(name: "cleanJobsInSet", source: prelude + #"""
    local prefix, cutoff, limit, state = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
    local removed = {}
    local function timeOf(jobKey)
      local fields = rcall("HMGET", jobKey, "finishedOn", "processedOn", "timestamp")
      return tonumber(fields[1] or fields[2] or fields[3] or 0)
    end
    if state == "completed" or state == "failed" then
      local ids
      if limit > 0 then ids = rcall("ZRANGEBYSCORE", KEYS[1], 0, cutoff, "LIMIT", 0, limit)
      else ids = rcall("ZRANGEBYSCORE", KEYS[1], 0, cutoff) end
      for _, jobId in ipairs(ids) do
        removeJobKeys(prefix .. jobId)
        rcall("ZREM", KEYS[1], jobId)
        table.insert(removed, jobId)
      end
    elseif state == "delayed" or state == "prioritized" or state == "waiting-children" then
      for _, jobId in ipairs(rcall("ZRANGE", KEYS[1], 0, -1)) do
        if limit > 0 and #removed >= limit then break end
        if timeOf(prefix .. jobId) <= cutoff then
          removeJobKeys(prefix .. jobId)
          rcall("ZREM", KEYS[1], jobId)
          table.insert(removed, jobId)
        end
      end
    else
      for _, jobId in ipairs(rcall("LRANGE", KEYS[1], 0, -1)) do
        if limit > 0 and #removed >= limit then break end
        local jobKey = prefix .. jobId
        if timeOf(jobKey) <= cutoff and (state ~= "active" or rcall("EXISTS", jobKey .. ":lock") == 0) then
          removeJobKeys(jobKey)
          rcall("LREM", KEYS[1], 0, jobId)
          table.insert(removed, jobId)
        end
      end
    end
    rcall("XADD", KEYS[2], "*", "event", "cleaned", "count", #removed)
    return removed
    """#)

    /// Pauses or resumes. KEYS: meta, marker, events, wait, prioritized, delayed. ARGV: "pause"|"resume".
    static let pause = RedisScript(name: "pause", source: prelude + #"""
    if ARGV[1] == "pause" then
      rcall("HSET", KEYS[1], "paused", 1)
      rcall("DEL", KEYS[2])
      rcall("XADD", KEYS[3], "*", "event", "paused")
    else
      rcall("HDEL", KEYS[1], "paused")
      if rcall("LLEN", KEYS[4]) + rcall("ZCARD", KEYS[5]) > 0 then
        rcall("ZADD", KEYS[2], 0, "0")
      else
        addDelayMarker(KEYS[2], KEYS[6])
      end
      rcall("XADD", KEYS[3], "*", "event", "resumed")
    end
    return 0
    """#)

    /// Deletes up to `count` jobs of a paused queue per call, then its keys.
    /// KEYS: meta, base key. ARGV: count, force "1"/"0".
    /// Returns -1 when not paused, -2 when jobs are active and not forced, 1 while more remain, 0 when done.
    static let obliterate = RedisScript(name: "obliterate", source: prelude + #"""
    local base, budget = KEYS[2], tonumber(ARGV[1])
    if rcall("HEXISTS", KEYS[1], "paused") == 0 then return -1 end
    if ARGV[2] ~= "1" and rcall("LLEN", base .. "active") > 0 then return -2 end
    for _, state in ipairs({"active", "wait", "paused"}) do
      local ids = rcall("LRANGE", base .. state, 0, budget - 1)
      for _, jobId in ipairs(ids) do removeJobKeys(base .. jobId) end
      if #ids > 0 then rcall("LTRIM", base .. state, #ids, -1) end
      budget = budget - #ids
      if budget <= 0 then return 1 end
    end
    for _, state in ipairs({"prioritized", "delayed", "completed", "failed", "waiting-children"}) do
      local ids = rcall("ZRANGE", base .. state, 0, budget - 1)
      for _, jobId in ipairs(ids) do removeJobKeys(base .. jobId) end
      if #ids > 0 then rcall("ZREM", base .. state, unpack(ids)) end
      budget = budget - #ids
      if budget <= 0 then return 1 end
    end
    rcall("DEL", base .. "events", base .. "delay", base .. "stalled-check", base .. "stalled", base .. "id",
      base .. "pc", base .. "marker", base .. "meta", base .. "limiter", base .. "metrics:completed",
      base .. "metrics:failed", base .. "metrics:completed:data", base .. "metrics:failed:data")
    return 0
    """#)

    /// Cancels a job in any unfinished state: it moves to failed with `reason`, and an active job's
    /// lock is deleted so that its worker notices at the next renewal.
    /// KEYS: job, events, meta, active, wait, prioritized, delayed, failed, paused. ARGV: jobId, reason, now.
    /// Returns 1 (was waiting or delayed), 2 (was active) or 0 (finished or missing).
    static let cancelJob = RedisScript(name: "cancelJob", source: prelude + #"""
    local jobId, jobKey, reason, now = ARGV[1], KEYS[1], ARGV[2], ARGV[3]
    if rcall("EXISTS", jobKey) == 0 then return 0 end
    local result = 0
    if rcall("ZREM", KEYS[6], jobId) == 1 or rcall("ZREM", KEYS[7], jobId) == 1
      or rcall("LREM", KEYS[5], 0, jobId) > 0 or rcall("LREM", KEYS[9], 0, jobId) > 0 then
      result = 1
    elseif rcall("LREM", KEYS[4], 0, jobId) > 0 then
      rcall("DEL", jobKey .. ":lock")
      rcall("HINCRBY", jobKey, "atm", 1)
      result = 2
    end
    if result == 0 then return 0 end
    rcall("HSET", jobKey, "failedReason", reason, "finishedOn", now)
    rcall("ZADD", KEYS[8], now, jobId)
    rcall("XADD", KEYS[2], "MAXLEN", "~", getMaxEvents(KEYS[3]), "*", "event", "failed", "jobId", jobId, "failedReason", reason, "prev", "active")
    return result
    """#)
}
