-- wrk script for `make bench`: POST /v1/contacts with distinct synthetic
-- contacts (one JSON body per line of a file), and keep the contact_id of
-- every 202 so the bench can check each was recorded exactly once.
--
--   wrk -s post_contacts.lua URL -- <bodies file> <API key or -> <ids file or ->
--
-- At the end the ids go to <ids file>, one per line, and one line
-- "bench-status <code> <count>" per HTTP status goes to stdout.

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("thread_id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   local bodies_file, api_key = args[1], args[2]
   ids_file = args[3] or "-"
   local headers = { ["Content-Type"] = "application/json" }
   if api_key and api_key ~= "-" then
      headers["Authorization"] = "Bearer " .. api_key
   end
   prepared = {}
   for line in io.lines(bodies_file) do
      if #line > 0 then
         prepared[#prepared + 1] = wrk.format("POST", nil, headers, line)
      end
   end
   -- each thread starts at a different place in the bodies
   cursor = ((thread_id - 1) * 7919) % #prepared + 1
   accepted = {}
   statuses = {}
end

function request()
   local req = prepared[cursor]
   cursor = cursor % #prepared + 1
   return req
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status == 202 then
      accepted[#accepted + 1] = string.match(body, '"contact_id"%s*:%s*"([%x%-]+)"') or "?"
   end
end

function done(summary, latency, requests)
   local path = threads[1]:get("ids_file")
   local out = nil
   if path and path ~= "-" then
      out = assert(io.open(path, "w"))
   end
   local totals = {}
   for _, thread in ipairs(threads) do
      for code, count in pairs(thread:get("statuses")) do
         totals[code] = (totals[code] or 0) + count
      end
      if out then
         for _, id in ipairs(thread:get("accepted")) do
            out:write(id, "\n")
         end
      end
   end
   if out then
      out:close()
   end
   for code, count in pairs(totals) do
      io.write(string.format("bench-status %d %d\n", code, count))
   end
end
