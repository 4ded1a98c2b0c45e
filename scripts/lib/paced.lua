-- wrk script: each connection waits PACE_MS (default 20) after an answer before its next
-- request, so the offered load stays well below what the machine can serve and latency
-- measures the hop, not a queue.
local pause = tonumber(os.getenv("PACE_MS") or "20")

function delay()
  return pause
end
