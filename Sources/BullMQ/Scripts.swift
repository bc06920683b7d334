import RedisClient

/// Our Lua scripts for BullMQ v5's data layout (see the protocol doc in shared/docs).
///
/// Each multi-key change is one script. Shared helpers live in `prelude` and are prepended
/// to each script, so every script is self-contained when sent with EVALSHA.
enum Scripts {
    /// Helpers every script may use.
    static let prelude = #"""
    local rcall = redis.call
    local function getMaxEvents(metaKey)
      local value = rcall("HGET", metaKey, "opts.maxLenEvents")
      if not value then
        value = 10000
        rcall("HSET", metaKey, "opts.maxLenEvents", value)
      end
      return value
    end
    local function isPausedOrMaxed(metaKey, activeKey)
      local meta = rcall("HMGET", metaKey, "paused", "concurrency")
      if meta[1] then return true end
      if meta[2] and rcall("LLEN", activeKey) >= tonumber(meta[2]) then return true end
      return false
    end
    local function addBaseMarker(markerKey, pausedOrMaxed)
      if not pausedOrMaxed then rcall("ZADD", markerKey, 0, "0") end
    end
    local function priorityScore(priority, pcKey)
      return priority * 0x100000000 + rcall("INCR", pcKey) % 0x100000000
    end
    local function pushToQueue(waitKey, prioritizedKey, pcKey, jobId, priority, pushCmd)
      if priority == 0 then
        rcall(pushCmd, waitKey, jobId)
      else
        rcall("ZADD", prioritizedKey, priorityScore(priority, pcKey), jobId)
      end
    end
    local function delayedScore(delayedKey, timestamp, delay)
      local due = tonumber(timestamp) + tonumber(delay)
      local low = due * 0x1000
      local high = low + 0xfff
      local last = rcall("ZREVRANGEBYSCORE", delayedKey, high, low, "WITHSCORES", "LIMIT", 0, 1)
      if #last > 0 then
        local score = tonumber(last[2]) + 1
        if score > high then score = high end
        return score, due
      end
      return low, due
    end
    local function addDelayMarker(markerKey, delayedKey)
      local first = rcall("ZRANGE", delayedKey, 0, 0, "WITHSCORES")
      if #first > 0 then rcall("ZADD", markerKey, math.floor(tonumber(first[2]) / 0x1000), "1") end
    end
    local function removeJobKeys(jobKey)
      rcall("DEL", jobKey, jobKey .. ":logs", jobKey .. ":lock", jobKey .. ":dependencies",
        jobKey .. ":processed", jobKey .. ":failed", jobKey .. ":unsuccessful")
    end
    local function checkAndRemoveLock(jobKey, stalledKey, jobId, token)
      if token == "0" then return 0 end
      local lockKey = jobKey .. ":lock"
      local held = rcall("GET", lockKey)
      if held == token then
        rcall("DEL", lockKey)
        rcall("SREM", stalledKey, jobId)
        return 0
      end
      if held then return -6 end
      return -2
    end
    -- keys: wait, active, prioritized, events, stalled, limiter, delayed, paused, meta, pc, marker
    local function promoteDelayed(k, prefix, now, pausedOrMaxed)
      local due = rcall("ZRANGEBYSCORE", k[7], 0, (now + 1) * 0x1000 - 1, "LIMIT", 0, 1000)
      if #due == 0 then return end
      rcall("ZREM", k[7], unpack(due))
      for _, jobId in ipairs(due) do
        local jobKey = prefix .. jobId
        local priority = tonumber(rcall("HGET", jobKey, "priority")) or 0
        pushToQueue(k[1], k[3], k[10], jobId, priority, "LPUSH")
        rcall("XADD", k[4], "*", "event", "waiting", "jobId", jobId, "prev", "delayed")
        rcall("HSET", jobKey, "delay", 0)
      end
      addBaseMarker(k[11], pausedOrMaxed)
    end
    local function takeNextJob(k, prefix, now, token, lockDuration)
      local pausedOrMaxed = isPausedOrMaxed(k[9], k[2])
      promoteDelayed(k, prefix, now, pausedOrMaxed)
      if pausedOrMaxed then return {0, 0, 0, 0} end
      local jobId = rcall("RPOPLPUSH", k[1], k[2])
      while jobId and string.sub(jobId, 1, 2) == "0:" do
        rcall("LREM", k[2], 1, jobId)
        jobId = rcall("RPOPLPUSH", k[1], k[2])
      end
      if not jobId then
        local popped = rcall("ZPOPMIN", k[3])
        if #popped > 0 then
          jobId = popped[1]
          rcall("LPUSH", k[2], jobId)
        else
          rcall("DEL", k[10])
        end
      end
      if jobId then
        local jobKey = prefix .. jobId
        if token ~= "0" then rcall("SET", jobKey .. ":lock", token, "PX", lockDuration) end
        rcall("XADD", k[4], "*", "event", "active", "jobId", jobId, "prev", "waiting")
        rcall("HSET", jobKey, "processedOn", now)
        rcall("HINCRBY", jobKey, "ats", 1)
        rcall("ZADD", k[11], 0, "0")
        return {rcall("HGETALL", jobKey), jobId, 0, 0}
      end
      local nextDelayed = rcall("ZRANGE", k[7], 0, 0, "WITHSCORES")
      if #nextDelayed > 0 then return {0, 0, 0, math.floor(tonumber(nextDelayed[2]) / 0x1000)} end
      return {0, 0, 0, 0}
    end

    """#

    /// Adds a job (standard, prioritized or delayed).
    /// KEYS: wait, meta, id, prioritized, delayed, events, marker, pc, active.
    /// ARGV: prefix, customId, name, data, opts JSON, timestamp, delay, priority, lifo "1"/"0".
    static let addJob = RedisScript(name: "addJob", source: prelude + #"""
    local prefix, customId = ARGV[1], ARGV[2]
    local delay, priority = tonumber(ARGV[7]), tonumber(ARGV[8])
    local counter = rcall("INCR", KEYS[3])
    local maxEvents = getMaxEvents(KEYS[2])
    local jobId = customId
    if customId == "" then
      jobId = tostring(counter)
    elseif rcall("EXISTS", prefix .. customId) == 1 then
      rcall("XADD", KEYS[6], "MAXLEN", "~", maxEvents, "*", "event", "duplicated", "jobId", customId)
      return customId
    end
    local jobKey = prefix .. jobId
    rcall("HMSET", jobKey, "name", ARGV[3], "data", ARGV[4], "opts", ARGV[5], "timestamp", ARGV[6],
      "delay", delay, "priority", priority)
    rcall("XADD", KEYS[6], "*", "event", "added", "jobId", jobId, "name", ARGV[3])
    if delay > 0 then
      local score, due = delayedScore(KEYS[5], ARGV[6], delay)
      rcall("ZADD", KEYS[5], score, jobId)
      rcall("XADD", KEYS[6], "MAXLEN", "~", maxEvents, "*", "event", "delayed", "jobId", jobId, "delay", due)
      addDelayMarker(KEYS[7], KEYS[5])
    else
      local pushCmd = "LPUSH"
      if ARGV[9] == "1" then pushCmd = "RPUSH" end
      pushToQueue(KEYS[1], KEYS[4], KEYS[8], jobId, priority, pushCmd)
      addBaseMarker(KEYS[7], isPausedOrMaxed(KEYS[2], KEYS[9]))
      rcall("XADD", KEYS[6], "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", jobId)
    end
    return jobId
    """#)

    /// Takes the next job for a worker.
    /// KEYS: wait, active, prioritized, events, stalled, limiter, delayed, paused, meta, pc, marker.
    /// ARGV: prefix, now, token, lockDuration.
    static let moveToActive = RedisScript(name: "moveToActive", source: prelude + #"""
    return takeNextJob(KEYS, ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4])
    """#)

    /// Completes or finally fails an active job, optionally taking the next one.
    /// KEYS: wait, active, prioritized, events, stalled, limiter, delayed, paused, meta, pc, marker, target set, job.
    /// ARGV: jobId, now, field, value, target, token, keepCount, keepAgeSeconds|"", attempts, stacktrace|"",
    ///       fetchNext "1"/"", prefix, lockDuration, nextToken.
    static let moveToFinished = RedisScript(name: "moveToFinished", source: prelude + #"""
    local jobId, now, jobKey, target = ARGV[1], tonumber(ARGV[2]), KEYS[13], ARGV[5]
    local prefix = ARGV[12]
    if rcall("EXISTS", jobKey) == 0 then return -1 end
    local lockResult = checkAndRemoveLock(jobKey, KEYS[5], jobId, ARGV[6])
    if lockResult < 0 then return lockResult end
    if ARGV[10] ~= "" then rcall("HSET", jobKey, "stacktrace", ARGV[10]) end
    if rcall("LREM", KEYS[2], -1, jobId) == 0 then return -3 end
    local maxEvents = getMaxEvents(KEYS[9])
    rcall("XTRIM", KEYS[4], "MAXLEN", "~", maxEvents)
    local attemptsMade = rcall("HINCRBY", jobKey, "atm", 1)
    local keep = tonumber(ARGV[7])
    if keep ~= 0 then
      rcall("ZADD", KEYS[12], now, jobId)
      rcall("HSET", jobKey, ARGV[3], ARGV[4], "finishedOn", now)
      if target == "failed" then rcall("HDEL", jobKey, "defa") end
      if ARGV[8] ~= "" then
        local old = rcall("ZRANGEBYSCORE", KEYS[12], 0, now - tonumber(ARGV[8]) * 1000, "LIMIT", 0, 1000)
        for _, id in ipairs(old) do removeJobKeys(prefix .. id) end
        if #old > 0 then rcall("ZREM", KEYS[12], unpack(old)) end
      end
      if keep > 0 then
        local extra = rcall("ZREVRANGE", KEYS[12], keep, -1)
        for _, id in ipairs(extra) do removeJobKeys(prefix .. id) end
        if #extra > 0 then rcall("ZREMRANGEBYRANK", KEYS[12], 0, -(keep + 1)) end
      end
    else
      removeJobKeys(jobKey)
    end
    rcall("XADD", KEYS[4], "*", "event", target, "jobId", jobId, ARGV[3], ARGV[4], "prev", "active")
    if target == "failed" and attemptsMade >= tonumber(ARGV[9]) then
      rcall("XADD", KEYS[4], "*", "event", "retries-exhausted", "jobId", jobId, "attemptsMade", attemptsMade)
    end
    local result = 0
    if ARGV[11] == "1" then result = takeNextJob(KEYS, prefix, now, ARGV[14], ARGV[13]) end
    if rcall("LLEN", KEYS[1]) == 0 and rcall("LLEN", KEYS[2]) == 0 and rcall("ZCARD", KEYS[3]) == 0 then
      rcall("XADD", KEYS[4], "*", "event", "drained")
    end
    return result
    """#)

    /// Puts a failed attempt back: delayed by its backoff, or straight into the queue.
    /// KEYS: wait, active, prioritized, events, stalled, limiter, delayed, paused, meta, pc, marker, job.
    /// ARGV: prefix, now, jobId, token, delay, failedReason, stacktrace|"", pushCmd.
    static let retryAttempt = RedisScript(name: "retryAttempt", source: prelude + #"""
    local prefix, now, jobId, jobKey = ARGV[1], tonumber(ARGV[2]), ARGV[3], KEYS[12]
    local delay = tonumber(ARGV[5])
    if rcall("EXISTS", jobKey) == 0 then return -1 end
    local lockResult = checkAndRemoveLock(jobKey, KEYS[5], jobId, ARGV[4])
    if lockResult < 0 then return lockResult end
    rcall("HSET", jobKey, "failedReason", ARGV[6])
    if ARGV[7] ~= "" then rcall("HSET", jobKey, "stacktrace", ARGV[7]) end
    if rcall("LREM", KEYS[2], -1, jobId) == 0 then return -3 end
    rcall("HINCRBY", jobKey, "atm", 1)
    local maxEvents = getMaxEvents(KEYS[9])
    if delay > 0 then
      local score, due = delayedScore(KEYS[7], now, delay)
      rcall("HSET", jobKey, "delay", delay)
      rcall("ZADD", KEYS[7], score, jobId)
      rcall("XADD", KEYS[4], "MAXLEN", "~", maxEvents, "*", "event", "delayed", "jobId", jobId, "delay", due)
      addDelayMarker(KEYS[11], KEYS[7])
    else
      local pausedOrMaxed = isPausedOrMaxed(KEYS[9], KEYS[2])
      promoteDelayed(KEYS, prefix, now, pausedOrMaxed)
      local priority = tonumber(rcall("HGET", jobKey, "priority")) or 0
      pushToQueue(KEYS[1], KEYS[3], KEYS[10], jobId, priority, ARGV[8])
      addBaseMarker(KEYS[11], pausedOrMaxed)
      rcall("XADD", KEYS[4], "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", jobId, "prev", "active")
    end
    return 0
    """#)

    /// Gives an active job back untouched, no attempt counted: to the front of the queue (graceful shutdown), or
    /// delayed by `delay` ms (a worker that cannot run it leaves it to one that can).
    /// KEYS: wait, active, prioritized, events, stalled, limiter, delayed, paused, meta, pc, marker, job.
    /// ARGV: jobId, token, now, delay.
    static let releaseJob = RedisScript(name: "releaseJob", source: prelude + #"""
    local jobId, jobKey, delay = ARGV[1], KEYS[12], tonumber(ARGV[4])
    if rcall("EXISTS", jobKey) == 0 then return -1 end
    local lockResult = checkAndRemoveLock(jobKey, KEYS[5], jobId, ARGV[2])
    if lockResult < 0 then return lockResult end
    if rcall("LREM", KEYS[2], -1, jobId) == 0 then return -3 end
    rcall("HINCRBY", jobKey, "ats", -1)
    local maxEvents = getMaxEvents(KEYS[9])
    if delay > 0 then
      local score, due = delayedScore(KEYS[7], tonumber(ARGV[3]), delay)
      rcall("HSET", jobKey, "delay", delay)
      rcall("ZADD", KEYS[7], score, jobId)
      rcall("XADD", KEYS[4], "MAXLEN", "~", maxEvents, "*", "event", "delayed", "jobId", jobId, "delay", due)
      addDelayMarker(KEYS[11], KEYS[7])
      return 0
    end
    rcall("RPUSH", KEYS[1], jobId)
    addBaseMarker(KEYS[11], isPausedOrMaxed(KEYS[9], KEYS[2]))
    rcall("XADD", KEYS[4], "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", jobId, "prev", "active")
    return 0
    """#)

    /// Extends a lock held with `token`. KEYS: lock, stalled. ARGV: token, durationMs, jobId.
    static let extendLock = RedisScript(name: "extendLock", source: #"""
    if redis.call("GET", KEYS[1]) == ARGV[1] then
      redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
      redis.call("SREM", KEYS[2], ARGV[3])
      return 1
    end
    return 0
    """#)

    /// Recovers jobs whose lock expired since the last sweep, then marks the active ones.
    /// KEYS: stalled, wait, active, stalled-check, meta, paused, marker, events.
    /// ARGV: maxStalledCount, prefix, now, stalledInterval.
    static let moveStalledJobsToWait = RedisScript(name: "moveStalledJobsToWait", source: prelude + #"""
    if rcall("EXISTS", KEYS[4]) == 1 then return {} end
    rcall("SET", KEYS[4], ARGV[3], "PX", ARGV[4])
    rcall("XTRIM", KEYS[8], "MAXLEN", "~", getMaxEvents(KEYS[5]))
    local recovered = {}
    local stalled = rcall("SMEMBERS", KEYS[1])
    if #stalled > 0 then
      rcall("DEL", KEYS[1])
      local pausedOrMaxed = isPausedOrMaxed(KEYS[5], KEYS[3])
      for _, jobId in ipairs(stalled) do
        local jobKey = ARGV[2] .. jobId
        if rcall("EXISTS", jobKey .. ":lock") == 0 and rcall("LREM", KEYS[3], 1, jobId) > 0 then
          local count = rcall("HINCRBY", jobKey, "stc", 1)
          if count > tonumber(ARGV[1]) then
            rcall("HSET", jobKey, "defa", "job stalled more than allowable limit")
          end
          rcall("RPUSH", KEYS[2], jobId)
          addBaseMarker(KEYS[7], pausedOrMaxed)
          rcall("XADD", KEYS[8], "*", "event", "waiting", "jobId", jobId, "prev", "active")
          rcall("XADD", KEYS[8], "*", "event", "stalled", "jobId", jobId)
          table.insert(recovered, jobId)
        end
      end
    end
    local active = rcall("LRANGE", KEYS[3], 0, -1)
    if #active > 0 then rcall("SADD", KEYS[1], unpack(active)) end
    return recovered
    """#)

    /// Records progress. KEYS: job, events, meta. ARGV: jobId, progress JSON.
    static let updateProgress = RedisScript(name: "updateProgress", source: prelude + #"""
    if rcall("EXISTS", KEYS[1]) == 0 then return -1 end
    rcall("HSET", KEYS[1], "progress", ARGV[2])
    rcall("XADD", KEYS[2], "MAXLEN", "~", getMaxEvents(KEYS[3]), "*", "event", "progress", "jobId", ARGV[1], "data", ARGV[2])
    return 0
    """#)

    /// Every script, for preloading.
    static let all = [
        addJob, moveToActive, moveToFinished, retryAttempt, releaseJob, extendLock, moveStalledJobsToWait,
        updateProgress, removeJob, reprocessJob, cleanJobsInSet, pause, obliterate, cancelJob,
    ]
}
