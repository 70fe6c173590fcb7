-- wrk script of bench/http_bench.py (issue 11, item 1). Run with as many threads as connections
-- (-t N -c N): a thread then drives one connection, so a request's answer can pick the next
-- request (a held emit and then its fulfil) and purchase ids are unique per connection.
--
-- Environment: BENCH_MODE (emit, held, reverse, customer, async, ceiling-emit, ceiling-customer),
-- BENCH_KEY (API key), BENCH_CUSTOMERS (customers bench-0 .. bench-N-1), BENCH_RUN (a tag making
-- purchase ids unique across runs on the same database).
--
-- done() prints one line, "BENCH {json}", that the Python side reads: requests, seconds, errors
-- (wrk's: connect, read, write, timeout, and answers with a status of 400 or more) and latency
-- percentiles in microseconds. A chained mode counts both requests of each pair.

local mode = os.getenv("BENCH_MODE") or "emit"
local key = os.getenv("BENCH_KEY")
local customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "10000")
local run = os.getenv("BENCH_RUN") or "r"
local headers = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local n = 0
local pending_id = nil -- the event whose fulfil or reverse this connection sends next

function init(args)
  math.randomseed(os.time() * 1000 + tid)
end

local function purchase(fulfilled)
  n = n + 1
  local customer = "bench-" .. math.random(0, customers - 1)
  return string.format(
    '{"customer_id":"%s","brand_id":"B1","type":"PURCHASE","fulfilled":%s,'
      .. '"order":{"purchase_id":"%s-%d-%d","value":120.00,"payment_method":"CREDIT","products":['
      .. '{"sku":"LATTE","amount":2,"value":60.00},{"sku":"MUFFIN","amount":1,"value":35.00},'
      .. '{"sku":"JUICE","amount":1,"value":25.00}]}}',
    customer, fulfilled and "true" or "false", run, tid, n)
end

function request()
  if mode == "customer" then
    return wrk.format("GET", "/api/v1/customers/bench-" .. math.random(0, customers - 1), headers)
  elseif mode == "ceiling-customer" then
    return wrk.format("GET", "/bench/ceiling/customers/bench-" .. math.random(0, customers - 1), headers)
  elseif mode == "ceiling-emit" then
    return wrk.format("POST", "/bench/ceiling/emit", headers, purchase(true))
  elseif mode == "async" then
    return wrk.format("POST", "/api/v1/behavior/events?async=true", headers, purchase(true))
  elseif mode == "held" and pending_id then
    return wrk.format("PATCH", "/api/v1/behavior/events/" .. pending_id .. "/fulfill", headers, "{}")
  elseif mode == "reverse" and pending_id then
    return wrk.format("POST", "/api/v1/behavior/events/" .. pending_id .. "/reverse", headers,
      '{"reason":"bench"}')
  end
  return wrk.format("POST", "/api/v1/behavior/events", headers, purchase(mode ~= "held"))
end

if mode == "held" or mode == "reverse" then
  -- Only the chained modes read answers (wrk parses bodies only when response() exists).
  function response(status, hdrs, body)
    if pending_id then
      pending_id = nil
    elseif status == 201 then
      pending_id = string.match(body, '"id":"([0-9a-f%-]+)"')
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"seconds":%.3f,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,'
      .. '"p50":%d,"p95":%d,"p99":%d,"max":%d}\n',
    summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
