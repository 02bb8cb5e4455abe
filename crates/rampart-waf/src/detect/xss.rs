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
    if !could_be_xss(input) {
        return false;
    }
    catch_unwind(AssertUnwindSafe(|| {
        libinjectionrs::detect_xss(input).is_injection()
    }))
    .unwrap_or(true)
}

/// False only for input that libinjection's XSS detector cannot flag: input without `<`
/// and without `=`. Its tokeniser reaches every flagged token either through the tag-open
/// state, entered only from the data state at a `<` (tags, comments, doctypes), or as an
/// attribute value right after an attribute name, which only the before-attribute-value
/// state produces, entered only at a `=`; the attribute value a quoted context begins
/// with follows no attribute name. Most field values (JSON strings, names, headers) have
/// neither byte, so they skip the five tokeniser passes. `tests/detect.rs` checks it
/// against the detector itself.
pub fn could_be_xss(input: &[u8]) -> bool {
    input.iter().any(|&b| b == b'<' || b == b'=')
}
