//! AWS WAF text transformations (`TextTransformations[].Type`), applied in `Priority` order
//! to a field's bytes before it is inspected.

use serde::Deserialize;
use std::borrow::Cow;

/// One AWS text transformation type, by its AWS name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransformType {
    None,
    CompressWhiteSpace,
    HtmlEntityDecode,
    Lowercase,
    CmdLine,
    UrlDecode,
    UrlDecodeUni,
    Base64Decode,
    Base64DecodeExt,
    HexDecode,
    JsDecode,
    CssDecode,
    EscapeSeqDecode,
    SqlHexDecode,
    NormalizePath,
    NormalizePathWin,
    RemoveNulls,
    ReplaceNulls,
    ReplaceComments,
    #[serde(rename = "UTF8_TO_UNICODE")]
    Utf8ToUnicode,
    #[serde(rename = "MD5")]
    Md5,
}

/// Applies one transformation. Borrowed when the input is unchanged.
pub fn apply(t: TransformType, input: &[u8]) -> Cow<'_, [u8]> {
    // Placeholder until the transformations land: identity.
    let _ = t;
    Cow::Borrowed(input)
}
