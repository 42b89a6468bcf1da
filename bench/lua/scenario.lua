-- wrk script for DBConnector's benchmark: one script, the scenario named by its first argument.
-- wrk -s scenario.lua URL -- MODE AUTH CONNTOKEN TABLE ROWS PAIRS_FILE
--   MODE: select_pk | select_page | select_1000 | insert_one | refresh | job_page | get
--   (job_page: GET URL?offset=&limit=1000, URL being a finished job's /results/0)
-- Counts as errors every non-2xx answer, every empty body and every body that is an {"error": ...}
-- (the flood answer is HTTP 200 {"error": "No Data"}), and prints one BENCH_JSON line for
-- bench/wrk.py to parse.

local threads = {}
local created = 0

function setup(thread)
  thread:set("id", created)
  created = created + 1
  table.insert(threads, thread)
end

local mode, auth, conntoken, tbl, rows
local queue = {}
errors = 0

function init(args)
  mode, auth, conntoken, tbl = args[1], args[2], args[3], args[4]
  rows = tonumber(args[5] or "0") or 0
  math.randomseed(os.time() + id * 7919)
  if mode == "refresh" then
    -- Each refresh token works once: every thread keeps a queue of (authToken, refreshToken)
    -- pairs, takes one per request and puts back the pair each answer brings.
    local n, i = tonumber(args[7]), 0
    for line in io.lines(args[6]) do
      if i % n == id then
        local a, r = line:match("^(%S+)%s+(%S+)$")
        table.insert(queue, { a, r })
      end
      i = i + 1
    end
  end
end

local function post(body, bearer)
  local headers = { ["Content-Type"] = "application/json" }
  if bearer then headers["Authorization"] = "Bearer " .. bearer end
  return wrk.format("POST", nil, headers, body)
end

-- A sorted page of `size` rows, page P at random.
local function page_body(size)
  return string.format('{"token":"%s","table":"%s","sort":["id"],"limit":%d,"page":%d}',
    conntoken, tbl, size, math.random(0, math.floor(rows / size) - 1))
end

function request()
  if mode == "select_pk" then
    return post(string.format('{"token":"%s","table":"%s","filter":[{"id":%d}]}',
      conntoken, tbl, math.random(rows)), auth)
  elseif mode == "select_page" then
    return post(page_body(100), auth)
  elseif mode == "select_1000" then
    return post(page_body(1000), auth)
  elseif mode == "job_page" then
    -- The same 1,000 rows select_1000 reads as page P, from the job's stored result.
    return wrk.format("GET", string.format("%s?offset=%d&limit=1000", wrk.path,
      1000 * math.random(0, math.floor(rows / 1000) - 1)), { ["Authorization"] = "Bearer " .. auth })
  elseif mode == "insert_one" then
    local n = math.random(1000000)
    return post(string.format('{"token":"%s","table":"%s","fields":["name","score"],"values":[["bench %d",%d]]}',
      conntoken, tbl, n, n), auth)
  elseif mode == "refresh" then
    local pair = table.remove(queue)
    if pair == nil then return post("{}", nil) end -- a lost pair: counted as an error
    return post(string.format('{"refresh_token":"%s"}', pair[2]), pair[1])
  end
  return wrk.format("GET")
end

function response(status, headers, body)
  if status >= 300 or body == "" or body:sub(1, 9) == '{"error":' then
    errors = errors + 1
  end
  if mode == "refresh" then
    local a = body:match('"authToken":"([^"]+)"')
    local r = body:match('"refreshToken":"([^"]+)"')
    if a and r then table.insert(queue, { a, r }) end
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("errors") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"bad_responses":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), bad,
    e.connect + e.read + e.write + e.timeout))
end
