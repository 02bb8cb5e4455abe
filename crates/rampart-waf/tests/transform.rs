//! AWS WAF text transformations: exact output bytes per transformation, edge cases, chaining.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_waf::transform::{apply, apply_all, apply_all_with, TransformType as T};
use std::borrow::Cow;

const ALL: [T; 21] = [
    T::None,
    T::CompressWhiteSpace,
    T::HtmlEntityDecode,
    T::Lowercase,
    T::CmdLine,
    T::UrlDecode,
    T::UrlDecodeUni,
    T::Base64Decode,
    T::Base64DecodeExt,
    T::HexDecode,
    T::JsDecode,
    T::CssDecode,
    T::EscapeSeqDecode,
    T::SqlHexDecode,
    T::NormalizePath,
    T::NormalizePathWin,
    T::RemoveNulls,
    T::ReplaceNulls,
    T::ReplaceComments,
    T::Utf8ToUnicode,
    T::Md5,
];

fn show(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

/// Asserts the exact output; a borrowed result must be the input itself.
#[track_caller]
fn check(t: T, input: &[u8], expected: &[u8]) {
    let got = apply(t, input);
    assert_eq!(show(&got), show(expected), "{t:?} on \"{}\"", show(input));
    if let Cow::Borrowed(b) = got {
        assert!(
            std::ptr::eq(b, input),
            "{t:?} borrowed something other than its input"
        );
    }
}

/// Asserts the input comes back borrowed (unchanged, no allocation).
#[track_caller]
fn unchanged(t: T, input: &[u8]) {
    match apply(t, input) {
        Cow::Borrowed(b) => assert!(
            std::ptr::eq(b, input),
            "{t:?} borrowed something other than its input"
        ),
        Cow::Owned(v) => panic!(
            "{t:?} on \"{}\" returned owned \"{}\"",
            show(input),
            show(&v)
        ),
    }
}

#[track_caller]
fn check_all(ts: &[T], input: &[u8], expected: &[u8]) {
    assert_eq!(
        show(&apply_all(ts, input)),
        show(expected),
        "{ts:?} on \"{}\"",
        show(input)
    );
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn serde_names_are_the_aws_names() {
    let cases = [
        ("NONE", T::None),
        ("COMPRESS_WHITE_SPACE", T::CompressWhiteSpace),
        ("HTML_ENTITY_DECODE", T::HtmlEntityDecode),
        ("LOWERCASE", T::Lowercase),
        ("CMD_LINE", T::CmdLine),
        ("URL_DECODE", T::UrlDecode),
        ("URL_DECODE_UNI", T::UrlDecodeUni),
        ("BASE64_DECODE", T::Base64Decode),
        ("BASE64_DECODE_EXT", T::Base64DecodeExt),
        ("HEX_DECODE", T::HexDecode),
        ("JS_DECODE", T::JsDecode),
        ("CSS_DECODE", T::CssDecode),
        ("ESCAPE_SEQ_DECODE", T::EscapeSeqDecode),
        ("SQL_HEX_DECODE", T::SqlHexDecode),
        ("NORMALIZE_PATH", T::NormalizePath),
        ("NORMALIZE_PATH_WIN", T::NormalizePathWin),
        ("REMOVE_NULLS", T::RemoveNulls),
        ("REPLACE_NULLS", T::ReplaceNulls),
        ("REPLACE_COMMENTS", T::ReplaceComments),
        ("UTF8_TO_UNICODE", T::Utf8ToUnicode),
        ("MD5", T::Md5),
    ];
    for (name, t) in cases {
        let parsed: T = serde_json::from_str(&format!("\"{name}\"")).unwrap();
        assert_eq!(parsed, t, "{name}");
    }
    for bad in ["UTF_8_TO_UNICODE", "M_D5", "lowercase", "Url_Decode", ""] {
        assert!(
            serde_json::from_str::<T>(&format!("\"{bad}\"")).is_err(),
            "{bad} accepted"
        );
    }
}

#[test]
fn every_transformation_handles_empty_input() {
    for t in ALL {
        if t == T::Md5 {
            check(t, b"", &unhex("d41d8cd98f00b204e9800998ecf8427e"));
        } else {
            unchanged(t, b"");
        }
    }
}

#[test]
fn none_is_identity() {
    unchanged(T::None, b"%41 &lt; \\x41 /* */ ABC \0");
    unchanged(T::None, b"\xff\xfe");
}

// --- LOWERCASE --------------------------------------------------------------------------------

#[test]
fn lowercase() {
    check(T::Lowercase, b"HeLLo WORLD 123", b"hello world 123");
    check(T::Lowercase, b"SELECT", b"select");
    // ASCII only: UTF-8 and Latin-1 capitals are left alone.
    check(T::Lowercase, "ÀÉ-X".as_bytes(), "ÀÉ-x".as_bytes());
    unchanged(T::Lowercase, b"\xc0\xc9\xde");
    unchanged(T::Lowercase, b"already lower, 123 @[`{");
    let mut long = vec![b'a'; 40];
    long.push(b'Z');
    let mut want = vec![b'a'; 40];
    want.push(b'z');
    check(T::Lowercase, &long, &want);
}

// --- COMPRESS_WHITE_SPACE ---------------------------------------------------------------------

#[test]
fn compress_white_space() {
    check(T::CompressWhiteSpace, b"a \t\n\r\x0b\x0c\xa0b", b"a b");
    check(
        T::CompressWhiteSpace,
        b"  lead and  trail  ",
        b" lead and trail ",
    );
    check(T::CompressWhiteSpace, b"a\tb", b"a b");
    check(T::CompressWhiteSpace, b"a\xa0b", b"a b");
    // Byte-wise: the 0xA0 of a UTF-8 NBSP (C2 A0) is replaced, the C2 stays.
    check(T::CompressWhiteSpace, b"x\xc2\xa0y", b"x\xc2 y");
    check(T::CompressWhiteSpace, b"\n", b" ");
    // Single spaces are kept; a run starting with a space is folded wherever it appears.
    check(
        T::CompressWhiteSpace,
        b"one two three  four",
        b"one two three four",
    );
    check(T::CompressWhiteSpace, b"a b\tc", b"a b c");
    check(T::CompressWhiteSpace, b"a b \t", b"a b ");
    unchanged(T::CompressWhiteSpace, b"a b c");
    unchanged(T::CompressWhiteSpace, b"a b c ");
    unchanged(T::CompressWhiteSpace, b" a ");
    // Not whitespace for this transformation: NUL, 0x85, 0x1c.
    unchanged(T::CompressWhiteSpace, b"a\0b\x85c\x1cd");
}

// --- CMD_LINE ---------------------------------------------------------------------------------

#[test]
fn cmd_line() {
    check(
        T::CmdLine,
        br#"C:\WINDOWS\system32\cmd.exe /c "dir""#,
        b"c:windowssystem32cmd.exe/c dir",
    );
    check(T::CmdLine, b"w'h'o\"a\"m^i", b"whoami");
    check(T::CmdLine, b"c^a^t   /etc/passwd", b"cat/etc/passwd");
    check(T::CmdLine, b"ls,-la;id", b"ls -la id");
    check(T::CmdLine, b"ls , ; -la", b"ls -la");
    check(T::CmdLine, b"echo  ( x )", b"echo( x )");
    check(T::CmdLine, b"A\t\n\r\x0b\x0cB", b"a b");
    // Deleted characters do not end a run of spaces.
    check(T::CmdLine, b"a ^ b", b"a b");
    check(T::CmdLine, b"a \" /b", b"a/b");
    check(T::CmdLine, b"; ls", b" ls");
    check(T::CmdLine, b"cmd /", b"cmd/");
    check(T::CmdLine, b"\\\"'^", b"");
    check(T::CmdLine, b"ls -la /tmp", b"ls -la/tmp");
    // A single space is rewritten when what follows removes or extends it.
    check(T::CmdLine, b"a b ^/c", b"a b/c");
    check(T::CmdLine, b"x y (z)", b"x y(z)");
    check(T::CmdLine, b"x y Z", b"x y z");
    check(T::CmdLine, b"x y ,z", b"x y z");
    check(T::CmdLine, b"x y \t", b"x y ");
    unchanged(T::CmdLine, b"ls -la tmp");
    unchanged(T::CmdLine, b"cat/etc/passwd");
}

// --- URL_DECODE -------------------------------------------------------------------------------

#[test]
fn url_decode() {
    check(T::UrlDecode, b"%3Cscript%3E", b"<script>");
    check(T::UrlDecode, b"%3cscript%3e", b"<script>");
    check(T::UrlDecode, b"a+b%20c", b"a b c");
    check(T::UrlDecode, b"%00%ff%FF%7f", b"\0\xff\xff\x7f");
    check(T::UrlDecode, b"%%41", b"%A");
    check(T::UrlDecode, b"%+", b"% ");
    check(T::UrlDecode, b"%0g%20", b"%0g ");
    check(T::UrlDecode, b"%g%20", b"%g ");
    check(T::UrlDecode, b"%253C", b"%3C");
    let mut long = vec![b'a'; 40];
    long.extend_from_slice(b"%41");
    let mut want = vec![b'a'; 40];
    want.push(b'A');
    check(T::UrlDecode, &long, &want);
}

#[test]
fn url_decode_leaves_invalid_escapes() {
    for s in [
        &b"%"[..],
        b"%0",
        b"%0g",
        b"%gg",
        b"%%",
        b"100%",
        b"%0%1%a%f",
        b"%u0041",
        b"50% off",
    ] {
        unchanged(T::UrlDecode, s);
    }
}

// --- URL_DECODE_UNI ---------------------------------------------------------------------------

#[test]
fn url_decode_uni() {
    check(T::UrlDecodeUni, b"%u0041%U0042", b"AB");
    check(T::UrlDecodeUni, b"%uff1cscript%uFF1E", b"<script>");
    check(T::UrlDecodeUni, b"%uff01%uff5e", b"!~");
    // Outside the full-width range only the low byte survives.
    check(T::UrlDecodeUni, b"%u20ac", b"\xac");
    check(T::UrlDecodeUni, b"%u1100", b"\0");
    check(T::UrlDecodeUni, b"%uff00%uff5f%uff7f", b"\0\x5f\x7f");
    // Plain %XX and '+' still decode.
    check(T::UrlDecodeUni, b"%41+b", b"A b");
    // Truncated or invalid %u: the '%' stays and decoding resumes.
    check(T::UrlDecodeUni, b"%u%u0041", b"%uA");
    check(T::UrlDecodeUni, b"%u00%u0020", b"%u00 ");
    check(T::UrlDecodeUni, b"%u000g%20", b"%u000g ");
    unchanged(T::UrlDecodeUni, b"%u004");
    unchanged(T::UrlDecodeUni, b"%u00g1");
    unchanged(T::UrlDecodeUni, b"%u");
}

// --- HTML_ENTITY_DECODE -----------------------------------------------------------------------

#[test]
fn html_entity_decode() {
    check(T::HtmlEntityDecode, b"&lt;script&gt;", b"<script>");
    check(T::HtmlEntityDecode, b"&#x3C;&#X3c;&#60;", b"<<<");
    check(
        T::HtmlEntityDecode,
        b"&quot;&amp;&lt;&gt;&nbsp;",
        b"\"&<>\xa0",
    );
    // Semicolon-less forms.
    check(
        T::HtmlEntityDecode,
        b"&#x3C&#60&lt&gt&quot&amp&nbsp",
        b"<<<>\"&\xa0",
    );
    check(T::HtmlEntityDecode, b"&ltscript&gt", b"<script>");
    // Names are case-insensitive.
    check(T::HtmlEntityDecode, b"&LT;&Quot;&AMP;", b"<\"&");
    check(T::HtmlEntityDecode, b"&#0;&#x0;", b"\0\0");
    // One byte per entity: the code point's low byte.
    check(T::HtmlEntityDecode, b"&#x100;&#256;&#x263A;", b"\0\0\x3a");
    check(T::HtmlEntityDecode, b"&#00000060;", b"<");
    // Digits stop at the first non-digit; ';' only consumed right after the entity.
    check(T::HtmlEntityDecode, b"&#X2g;", b"\x02g;");
    check(T::HtmlEntityDecode, b"&#65x;", b"Ax;");
    check(T::HtmlEntityDecode, b"&#1a0;&#10a;", b"\x01a0;\x0aa;");
    // A single pass.
    check(T::HtmlEntityDecode, b"&amp;lt;", b"&lt;");
}

#[test]
fn html_entity_decode_leaves_invalid_entities() {
    for s in [
        &b"&#xg;"[..],
        b"&#;",
        b"&#x;",
        b"&#a;",
        b"&foo;",
        b"&",
        b"a & b",
        b"&#",
        b"&#x",
        b"&l",
        b"&apos;",
    ] {
        unchanged(T::HtmlEntityDecode, s);
    }
    check(T::HtmlEntityDecode, b"&&lt;", b"&<");
}

// --- BASE64_DECODE ----------------------------------------------------------------------------

#[test]
fn base64_decode() {
    check(T::Base64Decode, b"VGVzdENhc2U=", b"TestCase");
    check(T::Base64Decode, b"VGVzdENhc2Ux", b"TestCase1");
    check(T::Base64Decode, b"VGVzdENhc2UxMg==", b"TestCase12");
    check(T::Base64Decode, b"VGVzdABDYXNl", b"Test\0Case");
    check(T::Base64Decode, b"PHNjcmlwdD4=", b"<script>");
    // Unpadded tails decode to their whole bytes; a lone trailing character yields nothing.
    check(T::Base64Decode, b"YQ", b"a");
    check(T::Base64Decode, b"YWI", b"ab");
    check(T::Base64Decode, b"Y", b"");
    check(T::Base64Decode, b"YWJjY", b"abc");
}

#[test]
fn base64_decode_stops_at_first_invalid_byte() {
    check(T::Base64Decode, b"VGVzdENhc2U=\0VGVzdENhc2U=", b"TestCase");
    check(T::Base64Decode, b"PHNjcmlwdD4 trailing junk", b"<script>");
    check(T::Base64Decode, b"YWJj\nZGVm", b"abc");
    // URL-safe characters are not part of the standard alphabet.
    check(T::Base64Decode, b"YW-I", b"a");
    check(T::Base64Decode, b"!YWJj", b"");
    check(T::Base64Decode, b"=", b"");
}

// --- BASE64_DECODE_EXT ------------------------------------------------------------------------

#[test]
fn base64_decode_ext() {
    check(T::Base64DecodeExt, b"VGVzdENhc2U=", b"TestCase");
    check(T::Base64DecodeExt, b"VGVz dENh\nc2U=", b"TestCase");
    check(T::Base64DecodeExt, b"V.G.V.z", b"Tes");
    check(T::Base64DecodeExt, b"%P%H%N%j%c%m%l%w%d%D%4", b"<script>");
    // URL-safe alphabet (JWT segments).
    check(
        T::Base64DecodeExt,
        b"eyJwIjoieHh-IiwiYWxnIjoibm9uZSIsInR5cCI6IkpXVCJ9",
        br#"{"p":"xx~","alg":"none","typ":"JWT"}"#,
    );
    check(T::Base64DecodeExt, b"_w", b"\xff");
    check(T::Base64DecodeExt, b"/w", b"\xff");
    // '=' closes a quantum: padded chunks decode one after the other.
    check(T::Base64DecodeExt, b"YQ==Yg==", b"ab");
    check(T::Base64DecodeExt, b"Y=YWJj", b"abc");
    check(T::Base64DecodeExt, b"%%%", b"");
}

// --- HEX_DECODE -------------------------------------------------------------------------------

#[test]
fn hex_decode() {
    check(T::HexDecode, b"5465737443617365", b"TestCase");
    check(T::HexDecode, b"546573740043617365", b"Test\0Case");
    check(T::HexDecode, b"FFfe00", b"\xff\xfe\0");
    check(T::HexDecode, b"3c736372697074", b"<script");
    // Lenient: non-pairs are copied and decoding resumes at the next byte.
    check(T::HexDecode, b"41 42", b"A B");
    check(T::HexDecode, b"414", b"A4");
    check(T::HexDecode, b"0x41", b"0xA");
    check(T::HexDecode, b"4g41", b"4gA");
    unchanged(T::HexDecode, b"4");
    unchanged(T::HexDecode, b"zz");
    unchanged(T::HexDecode, b"hello");
    unchanged(T::HexDecode, b"a-b-c");
}

// --- SQL_HEX_DECODE ---------------------------------------------------------------------------

#[test]
fn sql_hex_decode() {
    check(T::SqlHexDecode, b"0x414243", b"ABC");
    check(T::SqlHexDecode, b"SELECT 0x61646d696e", b"SELECT admin");
    check(T::SqlHexDecode, b"0X4142", b"AB");
    check(T::SqlHexDecode, b"0x414", b"A4");
    check(T::SqlHexDecode, b"0x41 and 0x42", b"A and B");
    check(T::SqlHexDecode, b"a0x41b", b"aAb");
    check(T::SqlHexDecode, b"0x0x41", b"0xA");
    check(T::SqlHexDecode, b"0x4g", b"0x4g");
    for s in [
        &b"0x4"[..],
        b"0x",
        b"0xg1",
        b"x41",
        b"0 x41",
        b"xx",
        b"0x0x",
    ] {
        unchanged(T::SqlHexDecode, s);
    }
}

// --- JS_DECODE --------------------------------------------------------------------------------

#[test]
fn js_decode() {
    check(
        T::JsDecode,
        b"\\a\\b\\f\\n\\r\\t\\v\\?\\'\\\"\\0\\12\\123\\x00\\xff\\u0021\\uff01",
        b"\x07\x08\x0c\n\r\t\x0b?'\"\x00\x0a\x53\x00\xff\x21\x21",
    );
    check(T::JsDecode, b"\\u003cscript\\u003E", b"<script>");
    check(T::JsDecode, b"\\x3cimg\\x3E", b"<img>");
    check(T::JsDecode, b"\\u0100\\u20ac", b"\0\xac");
    check(T::JsDecode, b"\\\\", b"\\");
    check(T::JsDecode, b"\\\0", b"\0");
}

#[test]
fn js_decode_invalid_sequences() {
    // \8 \9 are not octal; \666 is \66 then '6'; bad hex drops only the backslash.
    check(
        T::JsDecode,
        b"\\8\\9\\666\\u00ag\\u00ga\\u0zaa\\uz0aa\\xag\\xga\\0123\\u00a",
        b"89\x366u00agu00gau0zaauz0aaxagxga\x0a3u00a",
    );
    check(T::JsDecode, b"\\x", b"x");
    check(T::JsDecode, b"\\x\\x0", b"xx0");
    check(T::JsDecode, b"\\u\\u0\\u01\\u012", b"uu0u01u012");
    check(T::JsDecode, b"\\X41", b"X41");
    check(T::JsDecode, b"\\377\\400", b"\xff\x200");
    unchanged(T::JsDecode, b"\\");
    unchanged(T::JsDecode, b"no escapes here");
}

// --- CSS_DECODE -------------------------------------------------------------------------------

#[test]
fn css_decode() {
    check(
        T::CssDecode,
        b"test\\a\\b\\f\\n\\r\\t\\v\\?\\'\\\"\\0\\12\\123\\1234\\12345\\123456\\ff01\\ff5e\\\n\\0  string",
        b"test\x0a\x0b\x0fnrtv?'\"\x00\x12\x23\x34\x45\x56\x21\x7e\x00 string",
    );
    check(T::CssDecode, b"ja\\vascript", b"javascript");
    check(T::CssDecode, b"\\6a\\61vascript", b"javascript");
    check(T::CssDecode, b"\\00ff01", b"!");
    check(T::CssDecode, b"\\3c\r\nx", b"<x");
    check(T::CssDecode, b"\\3c\tx", b"<x");
}

#[test]
fn css_decode_edges() {
    // At most six hex digits; one whitespace after the escape is part of it.
    check(
        T::CssDecode,
        b"\\1A\\1 A\\1234567\\123456 7\\1x\\1 x",
        b"\x1a\x01A\x567\x567\x01x\x01x",
    );
    check(T::CssDecode, b"\\41  b", b"A b");
    // Line continuations.
    check(T::CssDecode, b"a\\\nb", b"ab");
    check(T::CssDecode, b"a\\\r\nb", b"ab");
    check(T::CssDecode, b"a\\\rb", b"ab");
    check(T::CssDecode, b"a\\\x0cb", b"ab");
    // A trailing backslash is removed.
    check(T::CssDecode, b"test\\", b"test");
    check(T::CssDecode, b"\\", b"");
    check(T::CssDecode, b"\\\\", b"\\");
    unchanged(T::CssDecode, b"color: red");
}

// --- ESCAPE_SEQ_DECODE ------------------------------------------------------------------------

#[test]
fn escape_seq_decode() {
    check(
        T::EscapeSeqDecode,
        b"\\a\\b\\f\\n\\r\\t\\v\\?\\'\\\"\\0\\12\\123\\x00\\xff",
        b"\x07\x08\x0c\n\r\t\x0b?'\"\x00\x0a\x53\x00\xff",
    );
    check(T::EscapeSeqDecode, b"\\0", b"\0");
    check(T::EscapeSeqDecode, b"\\01", b"\x01");
    check(T::EscapeSeqDecode, b"\\012", b"\n");
    check(T::EscapeSeqDecode, b"\\X41\\x42", b"AB");
    check(T::EscapeSeqDecode, b"\\\\", b"\\");
    check(T::EscapeSeqDecode, b"\\\0", b"\0");
}

#[test]
fn escape_seq_decode_invalid_sequences() {
    // \666 overflows and is truncated to a byte; \0123 is \012 then '3'.
    check(
        T::EscapeSeqDecode,
        b"\\8\\9\\666\\xag\\xga\\0123",
        b"89\xb6xagxga\x0a3",
    );
    check(T::EscapeSeqDecode, b"\\x", b"x");
    check(T::EscapeSeqDecode, b"\\x\\x0", b"xx0");
    // No \u in C.
    check(T::EscapeSeqDecode, b"\\u0041", b"u0041");
    unchanged(T::EscapeSeqDecode, b"\\");
    unchanged(T::EscapeSeqDecode, b"plain");
}

// --- NORMALIZE_PATH ---------------------------------------------------------------------------

#[test]
fn normalize_path() {
    let cases: [(&[u8], &[u8]); 22] = [
        (b".", b""),
        (b"./", b""),
        (b"./..", b".."),
        (b"./../", b"../"),
        (b"../.", b".."),
        (b".././", b"../"),
        (b"//", b"/"),
        (b"/dir/foo//bar", b"/dir/foo/bar"),
        (b"dir/foo//bar/", b"dir/foo/bar/"),
        (b"dir/../foo", b"foo"),
        (b"dir/../../foo", b"../foo"),
        (b"dir/./.././../../foo/bar", b"../../foo/bar"),
        (b"dir/./.././../../foo/bar/.", b"../../foo/bar"),
        (b"dir/./.././../../foo/bar/./", b"../../foo/bar/"),
        (b"dir/./.././../../foo/bar/..", b"../../foo"),
        (b"dir/./.././../../foo/bar/../", b"../../foo/"),
        (b"dir//.//..//.//..//..//foo//bar//", b"../../foo/bar/"),
        (b"dir/subdir/subsubdir/subsubsubdir/../../..", b"dir"),
        (b"dir/./subdir/../subsubdir/../subsubsubdir/..", b"dir"),
        (b"/dir/./subdir/../subsubdir/../subsubsubdir/../", b"/dir/"),
        (
            b"/./.././../../../../../../../\0/../etc/./passwd",
            b"/etc/passwd",
        ),
        (b"/a/b/../../../../c", b"/c"),
    ];
    for (input, want) in cases {
        check(T::NormalizePath, input, want);
    }
}

#[test]
fn normalize_path_leaves_normal_paths() {
    for s in [
        &b"/foo/bar/baz"[..],
        b"/foo/bar\0/baz",
        b"/index.html",
        b"/a/b/",
        b"/",
        b"..",
        b"../",
        b"../..",
        b"../../x",
        b"/a/.../b",
        b"/a/.b/c.",
        b"/a\\..\\b",
    ] {
        unchanged(T::NormalizePath, s);
    }
}

#[test]
fn normalize_path_win() {
    let cases: [(&[u8], &[u8]); 12] = [
        (b"\\foo\\bar\\baz", b"/foo/bar/baz"),
        (b"\\foo\\bar\0\\baz", b"/foo/bar\0/baz"),
        (b"..\\", b"../"),
        (b".\\..", b".."),
        (b"..\\..", b"../.."),
        (b"\\dir\\foo\\\\bar", b"/dir/foo/bar"),
        (b"dir\\..\\..\\foo", b"../foo"),
        (b"C:\\a\\..\\windows\\win.ini", b"C:/windows/win.ini"),
        (b"a/b\\..\\c", b"a/c"),
        (
            b"dir\\\\.\\\\..\\\\.\\\\..\\\\..\\\\foo\\\\bar\\\\",
            b"../../foo/bar/",
        ),
        (
            b"\\.\\..\\.\\..\\..\\..\\..\\..\\..\\..\\\0\\..\\etc\\.\\passwd",
            b"/etc/passwd",
        ),
        (b"/a/./b", b"/a/b"),
    ];
    for (input, want) in cases {
        check(T::NormalizePathWin, input, want);
    }
    unchanged(T::NormalizePathWin, b"x");
    unchanged(T::NormalizePathWin, b"/a/b");
    unchanged(T::NormalizePathWin, b"..");
}

// --- REMOVE_NULLS / REPLACE_NULLS -------------------------------------------------------------

#[test]
fn remove_nulls() {
    check(T::RemoveNulls, b"a\0b\0\0c", b"abc");
    check(T::RemoveNulls, b"\0", b"");
    check(T::RemoveNulls, b"\0\0sel\0ect\0", b"select");
    unchanged(T::RemoveNulls, b"abc");
    unchanged(T::RemoveNulls, b"%00");
}

#[test]
fn replace_nulls() {
    check(T::ReplaceNulls, b"a\0b\0\0c", b"a b  c");
    check(T::ReplaceNulls, b"\0", b" ");
    unchanged(T::ReplaceNulls, b"abc");
    unchanged(T::ReplaceNulls, b"\\0");
}

// --- REPLACE_COMMENTS -------------------------------------------------------------------------

#[test]
fn replace_comments() {
    check(T::ReplaceComments, b"/* TestCase */", b" ");
    check(T::ReplaceComments, b"/*TestCase*/", b" ");
    check(
        T::ReplaceComments,
        b"Before/* TestCase */After",
        b"Before After",
    );
    check(
        T::ReplaceComments,
        b"Before /* TestCase */ After",
        b"Before   After",
    );
    check(T::ReplaceComments, b"/* Test\r\nCase */", b" ");
    check(T::ReplaceComments, b"UNION/**/SELECT", b"UNION SELECT");
    check(T::ReplaceComments, b"a/*1*/b/*2*/c", b"a b c");
    check(T::ReplaceComments, b"/*/", b" ");
    check(T::ReplaceComments, b"a/*b*/*/c", b"a */c");
    check(T::ReplaceComments, b"a/*/*b*/c", b"a c");
    // Unterminated: replaced to the end.
    check(T::ReplaceComments, b"Before/* Test\r\nCase ", b"Before ");
    check(T::ReplaceComments, b"x/*", b"x ");
    // A lone terminator is left alone.
    unchanged(T::ReplaceComments, b"Test\r\nCase */After");
    unchanged(T::ReplaceComments, b"a / * b");
    unchanged(T::ReplaceComments, b"TestCase");
}

// --- UTF8_TO_UNICODE --------------------------------------------------------------------------

#[test]
fn utf8_to_unicode() {
    check(T::Utf8ToUnicode, "é".as_bytes(), b"%u00e9");
    check(T::Utf8ToUnicode, "Ā ā".as_bytes(), b"%u0100 %u0101");
    check(T::Utf8ToUnicode, "a€b".as_bytes(), b"a%u20acb");
    check(T::Utf8ToUnicode, "😀".as_bytes(), b"%u1f600");
    check(T::Utf8ToUnicode, "\u{10FFFF}".as_bytes(), b"%u10ffff");
    check(T::Utf8ToUnicode, "＜".as_bytes(), b"%uff1c");
    unchanged(T::Utf8ToUnicode, b"plain ascii %u0041");
}

#[test]
fn utf8_to_unicode_invalid_and_overlong() {
    // Bytes that start no complete sequence are copied as they are.
    unchanged(T::Utf8ToUnicode, b"a\xffb");
    unchanged(T::Utf8ToUnicode, b"\x80\xbf");
    unchanged(T::Utf8ToUnicode, b"\xe2\x82");
    unchanged(T::Utf8ToUnicode, b"\xe2\x82x");
    unchanged(T::Utf8ToUnicode, b"\xf5\x80\x80\x80");
    check(T::Utf8ToUnicode, b"\xc3\xa9\xff\xc3", b"%u00e9\xff\xc3");
    check(T::Utf8ToUnicode, b"\xc3\xc3\xa9", b"\xc3%u00e9");
    // Overlong forms and surrogates are decoded structurally, exposing what they hide.
    check(T::Utf8ToUnicode, b"\xc0\xaf", b"%u002f");
    check(T::Utf8ToUnicode, b"\xe0\x80\xaf", b"%u002f");
    check(T::Utf8ToUnicode, b"\xc1\xbf", b"%u007f");
    check(T::Utf8ToUnicode, b"\xed\xa0\x80", b"%ud800");
}

// --- MD5 --------------------------------------------------------------------------------------

#[test]
fn md5_outputs_raw_digest_bytes() {
    check(T::Md5, b"abc", &unhex("900150983cd24fb0d6963f7d28e17f72"));
    check(
        T::Md5,
        b"The quick brown fox jumps over the lazy dog",
        &unhex("9e107d9d372bb6826bd81d3542a419d6"),
    );
    assert_eq!(apply(T::Md5, b"\0\xff").len(), 16);
    assert!(matches!(apply(T::Md5, b"x"), Cow::Owned(_)));
}

// --- apply_all --------------------------------------------------------------------------------

#[test]
fn apply_all_chains_in_order() {
    // Double URL encoding needs two passes.
    check_all(&[T::UrlDecode], b"%253Cscript%253E", b"%3Cscript%3E");
    check_all(
        &[T::UrlDecode, T::UrlDecode],
        b"%253Cscript%253E",
        b"<script>",
    );
    check_all(&[T::Lowercase, T::UrlDecode], b"%3CSCRIPT%3E", b"<script>");
    // Order matters.
    check_all(
        &[T::UrlDecode, T::HtmlEntityDecode],
        b"%26lt%3Bscript",
        b"<script",
    );
    check_all(
        &[T::HtmlEntityDecode, T::UrlDecode],
        b"%26lt%3Bscript",
        b"&lt;script",
    );
    check_all(
        &[T::HtmlEntityDecode, T::HtmlEntityDecode],
        b"&amp;lt;",
        b"<",
    );
    check_all(
        &[T::UrlDecode, T::CompressWhiteSpace, T::Lowercase],
        b"SELECT%20%20%0A*",
        b"select *",
    );
    check_all(
        &[T::Utf8ToUnicode, T::UrlDecodeUni],
        b"\xc0\xae\xc0\xae/etc",
        b"../etc",
    );
    check_all(
        &[T::UrlDecode, T::NormalizePath],
        b"/a/%2e%2e/%2e%2e/etc//passwd",
        b"/etc/passwd",
    );
    check_all(
        &[T::Base64Decode, T::UrlDecode],
        b"JTNDc2NyaXB0JTNF",
        b"<script>",
    );
    // The digest's bytes 0x50 'P' and 0x4F 'O' are lowercased too.
    check_all(
        &[T::Md5, T::Lowercase],
        b"abc",
        &unhex("900170983cd26fb0d6963f7d28e17f72"),
    );
    check_all(&[], b"ABC", b"ABC");
}

#[test]
fn apply_all_borrows_when_nothing_changes() {
    let input = b"already clean";
    for ts in [
        &[][..],
        &[
            T::None,
            T::Lowercase,
            T::UrlDecode,
            T::CompressWhiteSpace,
            T::RemoveNulls,
        ][..],
    ] {
        match apply_all(ts, input) {
            Cow::Borrowed(b) => assert!(std::ptr::eq(b, &input[..])),
            Cow::Owned(v) => panic!("{ts:?} returned owned \"{}\"", show(&v)),
        }
    }
    assert!(matches!(apply_all(&[T::None, T::Lowercase], b"ABC"), Cow::Owned(v) if v == b"abc"));
}

// --- Properties over many inputs --------------------------------------------------------------

/// Deterministic pseudo-random inputs over an alphabet rich in the bytes the decoders handle.
fn corpus() -> Vec<Vec<u8>> {
    const ALPHABET: &[u8] =
        b"%+&#;xXuU0123456789abcdefABCDEFgzZ \t\n\r\\/*.=-_'\"^,(\0\x80\xa0\xc0\xc3\xe2\xf0\xff";
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..3000)
        .map(|_| {
            let len = (next() % 80) as usize;
            (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect()
        })
        .collect()
}

#[test]
fn borrowed_results_are_the_unchanged_input() {
    for input in corpus() {
        for t in ALL {
            let out = apply(t, &input);
            if let Cow::Borrowed(b) = &out {
                assert!(
                    std::ptr::eq(*b, &input[..]),
                    "{t:?} on \"{}\"",
                    show(&input)
                );
            }
            // Owned results of a non-hashing transformation must differ from the input, except
            // the decoders that always allocate (base64, and hex/SQL hex once a pair is found).
            if let Cow::Owned(v) = &out {
                if !matches!(
                    t,
                    T::Md5 | T::Base64Decode | T::Base64DecodeExt | T::HexDecode | T::SqlHexDecode
                ) {
                    assert_ne!(
                        v,
                        &input,
                        "{t:?} returned an owned copy of \"{}\"",
                        show(&input)
                    );
                }
            }
        }
    }
}

#[test]
fn normalising_transformations_are_idempotent() {
    let idempotent = [
        T::Lowercase,
        T::CompressWhiteSpace,
        T::CmdLine,
        T::RemoveNulls,
        T::ReplaceNulls,
        T::NormalizePath,
        T::NormalizePathWin,
    ];
    for input in corpus() {
        for t in idempotent {
            let once = apply(t, &input).into_owned();
            let twice = apply(t, &once).into_owned();
            assert_eq!(show(&twice), show(&once), "{t:?} on \"{}\"", show(&input));
        }
    }
}

#[test]
fn decoders_never_grow_the_input() {
    let shrinking = [
        T::HtmlEntityDecode,
        T::UrlDecode,
        T::UrlDecodeUni,
        T::Base64Decode,
        T::Base64DecodeExt,
        T::HexDecode,
        T::JsDecode,
        T::CssDecode,
        T::EscapeSeqDecode,
        T::SqlHexDecode,
        T::NormalizePath,
        T::NormalizePathWin,
        T::RemoveNulls,
        T::ReplaceComments,
        T::CmdLine,
        T::CompressWhiteSpace,
    ];
    for input in corpus() {
        for t in shrinking {
            assert!(
                apply(t, &input).len() <= input.len(),
                "{t:?} grew \"{}\"",
                show(&input)
            );
        }
    }
}

/// Prefixing inert bytes must not change how the rest is transformed, wherever the payload
/// lands relative to the scanner's chunks (exercises the vectorised fast paths' boundaries).
#[test]
fn fast_paths_agree_at_every_offset() {
    let local = [
        (T::Lowercase, &b"Ab"[..]),
        (T::CompressWhiteSpace, b"a \t b"),
        (T::CmdLine, b"A ^ /b"),
        (T::UrlDecode, b"%41+"),
        (T::UrlDecodeUni, b"%uff01%41"),
        (T::HtmlEntityDecode, b"&lt;&#65;"),
        (T::HexDecode, b"4142"),
        (T::SqlHexDecode, b"0x4142"),
        (T::JsDecode, b"\\u0041\\x42"),
        (T::CssDecode, b"\\41 x"),
        (T::EscapeSeqDecode, b"\\x41\\n"),
        (T::RemoveNulls, b"a\0b"),
        (T::ReplaceNulls, b"a\0b"),
        (T::ReplaceComments, b"a/*x*/b"),
        (T::Utf8ToUnicode, "é".as_bytes()),
    ];
    for (t, payload) in local {
        let expected_tail = apply(t, payload).into_owned();
        assert_ne!(expected_tail, payload, "{t:?} payload must be transformed");
        for k in 0..100 {
            let mut input = vec![b'z'; k];
            input.extend_from_slice(payload);
            let mut want = vec![b'z'; k];
            want.extend_from_slice(&expected_tail);
            check(t, &input, &want);
            // And with inert bytes after it as well.
            input.extend(std::iter::repeat_n(b'z', 70 - k % 70));
            want.extend(std::iter::repeat_n(b'z', 70 - k % 70));
            check(t, &input, &want);
        }
    }
}

#[path = "support/rng.rs"]
mod rng;

/// Generated inputs, deterministic so failures reproduce.
struct Gen(rng::Rng);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0.next()
    }

    /// Bytes biased towards what the transformations react to, whole escapes among them,
    /// plus any byte at all.
    fn input(&mut self) -> Vec<u8> {
        const PICK: &[u8] = b"aAzZxX09fF%+&;#\\/*.-u \t\n\r\x0b\x0c\x00\"'^,()<>=";
        const ESCAPES: [&[u8]; 8] = [
            b"&lt;", b"&#65;", b"%41", b"%u0041", b"\\x41", b"/*c*/", b"0x4142", b"../",
        ];
        let len = (self.next() % 24) as usize;
        let mut v = Vec::with_capacity(len + 8);
        for _ in 0..len {
            let r = self.next();
            match r % 10 {
                0 => v.push((r >> 8) as u8),
                1 => v.push([0xA0, 0xC3, 0xA9, 0x80, 0xFF][(r >> 8) as usize % 5]),
                2 => v.extend_from_slice(ESCAPES[(r >> 8) as usize % ESCAPES.len()]),
                _ => v.push(PICK[(r >> 8) as usize % PICK.len()]),
            }
        }
        v
    }
}

/// A value's trigger classes are those of its bytes and of its adjacent byte pairs, at
/// every length: what the evaluator's "unchanged by this chain" answers rest on.
#[test]
fn a_values_classes_are_those_of_its_bytes_and_pairs() {
    use rampart_waf::transform::classes;
    let mut g = Gen(rng::Rng(0x2545_F491_4F6C_DD1D));
    // Inputs where a two-byte class (two spaces, `/*`, `//`) adds to the bytes' own.
    let mut with_pairs = 0;
    for _ in 0..50_000 {
        let mut input = g.input();
        input.extend(g.input());
        input.extend(g.input());
        let mut bytes = classes(b"");
        for b in input.chunks(1) {
            bytes |= classes(b);
        }
        let mut want = bytes;
        for w in input.windows(2) {
            want |= classes(w);
        }
        assert_eq!(classes(&input), want, "\"{}\"", show(&input));
        with_pairs += usize::from(want != bytes);
    }
    assert!(with_pairs > 5_000, "{with_pairs}");
}

/// `apply_all` skips a transformation when none of its trigger classes occur in the value:
/// each transformation must then return its input unchanged, and a chain must give exactly
/// what applying every step gives.
#[test]
fn a_transformation_without_its_trigger_classes_changes_nothing() {
    use rampart_waf::transform::{classes, triggers};
    let mut g = Gen(rng::Rng(0x9E37_79B9_7F4A_7C15));
    let mut skipped = [0usize; 21];
    let mut changed = [0usize; 21];
    for _ in 0..200_000 {
        let input = g.input();
        let present = classes(&input);
        for (i, t) in ALL.into_iter().enumerate() {
            let out = apply(t, &input);
            if matches!(out, Cow::Owned(_)) {
                changed[i] += 1;
            }
            if triggers(t) & present == 0 {
                skipped[i] += 1;
                assert!(
                    matches!(out, Cow::Borrowed(_)),
                    "{t:?} changed \"{}\", whose classes {present:#x} miss its triggers {:#x}",
                    show(&input),
                    triggers(t)
                );
            }
        }
        let chain: Vec<T> = (0..1 + g.next() % 5)
            .map(|_| ALL[(g.next() % 21) as usize])
            .collect();
        let mut step = input.clone();
        for &t in &chain {
            step = apply(t, &step).into_owned();
        }
        assert_eq!(
            show(&apply_all(&chain, &input)),
            show(&step),
            "{chain:?} on \"{}\"",
            show(&input)
        );
        // With the classes known beforehand (as the evaluator caches them per value), for
        // one-step chains too.
        for c in [&chain[..], &chain[..1]] {
            let mut want = input.clone();
            for &t in c {
                want = apply(t, &want).into_owned();
            }
            assert_eq!(
                show(&apply_all_with(c, &input, present)),
                show(&want),
                "{c:?} on \"{}\" with its classes",
                show(&input)
            );
        }
    }
    // Not vacuous: every transformation with a trigger was skipped on some inputs and
    // changed others.
    for (i, t) in ALL.into_iter().enumerate() {
        if !matches!(
            t,
            T::None | T::CmdLine | T::Base64Decode | T::Base64DecodeExt | T::HexDecode | T::Md5
        ) {
            assert!(
                skipped[i] > 1000 && changed[i] > 100,
                "{t:?}: {} skipped, {} changed",
                skipped[i],
                changed[i]
            );
        }
    }
}
