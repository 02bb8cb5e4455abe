-- wrk script for the 2 KB JSON POST scenario: a 2048-byte JSON document (an array of
-- order lines, padded to the exact size) with Content-Type: application/json.
-- Optional pacing: BENCH_DELAY_MS=<n> (see get.lua).
local SIZE = 2048

local items = {}
for i = 1, 12 do
   items[#items + 1] = string.format(
      '{"sku":"SKU-%05d","name":"item number %d","qty":%d,"price":%d.%02d,"tags":["a","b"]}',
      i * 7919 % 100000, i, i % 5 + 1, i * 3, i % 100)
end
local head = '{"order":"bench-0001","customer":{"id":42,"name":"Bench Customer"},"items":['
   .. table.concat(items, ",") .. '],"pad":"'
local tail = '"}'
local fill = SIZE - #head - #tail
assert(fill >= 0, "JSON prefix longer than " .. SIZE .. " bytes")
local body = head .. string.rep("x", fill) .. tail
assert(#body == SIZE)

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"

local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pause and pause > 0 then
   function delay()
      return pause
   end
end
