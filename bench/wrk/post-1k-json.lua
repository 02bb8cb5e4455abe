-- wrk script for the WAF bench: POST of a realistic 1 KB JSON order (names, free text, an
-- email, a street called Union Street) with typical API headers, so every layer that
-- inspects bodies and headers has real work to do. Worded so that nginx + ModSecurity +
-- CRS PL1 lets it through (it blocks "Gift wrap, please; call first." as a command
-- injection), since blocked requests would not compare.
local SIZE = 1024
local items = {}
for i = 1, 4 do
   items[#items + 1] = string.format(
      '{"sku":"SKU-%05d","name":"Rock and roll T-shirt size %d","qty":%d,"price":%d.99,"notes":"Gift wrap, please. Call first."}',
      i * 7919 % 100000, i, i % 5 + 1, 10 + i)
end
local head = '{"orderId":"7d9c2f1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f","customer":{"name":"Siobhan OBrien","email":"siobhan.obrien@example.com","address":{"street":"12 Union Street","city":"Dublin"}},"items":['
   .. table.concat(items, ",") .. '],"pad":"'
local tail = '"}'
local fill = SIZE - #head - #tail
assert(fill >= 0, "JSON prefix longer than " .. SIZE .. " bytes")
wrk.method = "POST"
wrk.body = head .. string.rep("x", fill) .. tail
wrk.headers["Content-Type"] = "application/json"
-- A real host name: AWSManagedRulesKnownBadInputsRuleSet blocks Host: localhost / 127.0.0.1.
wrk.headers["Host"] = "api.example.test"
wrk.headers["Accept"] = "application/json"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
wrk.headers["Cookie"] = "session=8f14e45fceea167a5a36dedd4bea2543; theme=dark"
