//! Cross-site scripting detection: libinjection's XSS detector (via the
//! `libinjectionrs` port).

use std::panic::{catch_unwind, AssertUnwindSafe};

/// libinjection's `libinjection_xss`: the input is tokenised as HTML5 in five
/// contexts (text, and unquoted / single- / double- / back-quoted attribute
/// value) and flagged on a blacklisted tag (`script`, `svg…`, `xsl…`,
/// `iframe`, …), an event-handler or other dangerous attribute, a
/// `javascript:`/`vbscript:`/`data:` URL in a URL attribute, a `style`
/// attribute, a `DOCTYPE`, or an IE conditional / `<?import` / XML-entity
/// comment.
///
/// A panic inside the port (none is known; it is fuzzed in our tests) counts
/// as a detection: the WAF fails closed.
pub fn is_xss(input: &[u8]) -> bool {
    if input.is_empty() {
        return false;
    }
    catch_unwind(AssertUnwindSafe(|| {
        libinjectionrs::detect_xss(input).is_injection()
    }))
    .unwrap_or(true)
}
