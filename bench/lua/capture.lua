-- Diagnostic wrapper around the shared lua/bao.lua: the same requests (same arguments), plus a
-- record of the answers that were not 2xx. Used by bench/run.sh only after a measured run saw
-- errors, in a separate short run, so that the measured runs stay on the unmodified script.
--   SHARED_BENCH=... wrk -t2 -c64 -d3s -s bench/lua/capture.lua URL -- <bao.lua arguments>
-- Prints, before bao.lua's JSON line, for every thread:
--   CAPTURE {"thread":N,"non2xx":COUNT,"by_status":{...},"first":[{"status":S,"request":"...","body":"..."}, ...]}
-- "request" is the last request this thread built before the failing answer arrived: exact at
-- -c1; at higher -c it is a request of the same shape (the key of a write may differ).
dofile(os.getenv("SHARED_BENCH") .. "/lua/bao.lua")

local shared_setup, shared_init, shared_request, shared_done = setup, init, request, done
local all = {}

function setup(thread)
  shared_setup(thread)
  table.insert(all, thread)
end

function init(args)
  shared_init(args)
  non2xx = 0
  by_status = ""
  first = ""
  nfirst = 0
  last = ""
  seen = {}
end

function request()
  last = shared_request()
  return last
end

local function jstr(s)
  s = string.gsub(s, '[%c"\\]', function(ch)
    if ch == '"' then return '\\"' elseif ch == '\\' then return '\\\\' end
    return string.format("\\u%04x", string.byte(ch))
  end)
  return '"' .. s .. '"'
end

function response(status, headers, body)
  if status >= 200 and status < 300 then return end
  non2xx = non2xx + 1
  seen[status] = (seen[status] or 0) + 1
  local parts = {}
  for k, v in pairs(seen) do table.insert(parts, '"' .. k .. '":' .. v) end
  by_status = table.concat(parts, ",")
  if nfirst < 3 then
    nfirst = nfirst + 1
    -- the request without the token header
    local req = string.gsub(last, "X%-Vault%-Token: [^\r\n]*", "X-Vault-Token: <token>")
    local entry = '{"status":' .. status .. ',"request":' .. jstr(req) .. ',"body":' .. jstr(string.sub(body or "", 1, 600)) .. '}'
    first = (first == "" and entry) or (first .. "," .. entry)
  end
end

function done(summary, latency, requests)
  for i, t in ipairs(all) do
    io.write(string.format('CAPTURE {"thread":%d,"non2xx":%d,"by_status":{%s},"first":[%s]}\n',
      i, t:get("non2xx") or 0, t:get("by_status") or "", t:get("first") or ""))
  end
  shared_done(summary, latency, requests)
end
