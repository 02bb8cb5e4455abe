//! The typical API request of the WAF benchmarks: its headers and a JSON order body.
//! Shared by `benches/waf.rs` and `examples/rule_costs.rs`.

/// A realistic JSON body of about `size` bytes: an order with line items and free text.
pub fn json_body(size: usize) -> Vec<u8> {
    let mut items = Vec::new();
    let mut i = 0;
    loop {
        items.push(format!(
            r#"{{"sku":"SKU-{i:05}","name":"Rock 'n' roll T-shirt size {i}","qty":{q},"price":{p}.99,"notes":"Gift wrap, please. Deliver to O'Brien at the back door; call 555-01{i:02} first."}}"#,
            q = i % 5 + 1,
            p = 10 + i
        ));
        i += 1;
        let body = format!(
            r#"{{"orderId":"7d9c2f1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f","customer":{{"name":"Siobhán O'Brien","email":"siobhan.obrien@example.com","address":{{"street":"12 Union Street","city":"Dublin","country":"IE"}}}},"items":[{}],"coupon":"SPRING-2026","createdAt":"2026-11-21T10:15:00Z"}}"#,
            items.join(",")
        );
        if body.len() >= size {
            return body.into_bytes();
        }
    }
}

/// A machine-to-machine JSON body of about `size` bytes: identifiers, enums, numbers and
/// timestamps, no free text (the easy case for the SQLi detector; `json_body` is the hard one).
pub fn plain_json_body(size: usize) -> Vec<u8> {
    let mut items = Vec::new();
    let mut i = 0;
    loop {
        items.push(format!(
            r#"{{"sku":"SKU-{i:05}","qty":{q},"unitPrice":{p}.99,"currency":"EUR","warehouse":"dub{w}","giftWrap":false}}"#,
            q = i % 5 + 1,
            p = 10 + i,
            w = i % 3 + 1
        ));
        i += 1;
        let body = format!(
            r#"{{"orderId":"7d9c2f1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f","customerId":"cus_8f14e45fceea167a","status":"pending","channel":"mobile","items":[{}],"shipping":{{"method":"express","country":"IE","postcode":"D02X285"}},"createdAt":"2026-11-21T10:15:00Z"}}"#,
            items.join(",")
        );
        if body.len() >= size {
            return body.into_bytes();
        }
    }
}

/// The headers of a typical authenticated JSON API call from a browser.
pub fn headers() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("host", b"api.example.com"),
        ("user-agent", b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"),
        ("accept", b"application/json"),
        ("accept-language", b"en-IE,en;q=0.9"),
        ("content-type", b"application/json"),
        ("authorization", b"Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.c2lnbmF0dXJl"),
        ("cookie", b"session=8f14e45fceea167a5a36dedd4bea2543; theme=dark"),
        ("x-request-id", b"5b1f0c2e-3d4a-4e5f-8a9b-0c1d2e3f4a5b"),
    ]
}
