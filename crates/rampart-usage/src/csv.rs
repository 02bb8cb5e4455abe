//! API Gateway's API-key import file (CSV).
//!
//! Format (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-key-file-format.html>):
//! the first non-blank line is a header naming the columns, case-insensitively, in any order,
//! surrounding whitespace ignored. `Name` and `Key` are required; `Description`, `Enabled`
//! (`true`/`false`, any case, default `true`) and `UsagePlanIds` (comma-separated plan ids in
//! one quoted field, e.g. `"c7y23b,glvrsr"`) are optional; other columns are ignored.
//!
//! Quoting follows RFC 4180: a field in double quotes may contain commas, line breaks and
//! `""` (one quote). Lines end with CRLF or LF; a UTF-8 BOM is skipped; blank lines are
//! skipped. Field values are trimmed of surrounding whitespace.
//!
//! Every bad row is reported (not just the first), by the physical line (1-based) on which
//! the row starts. Error messages never contain a key value.

use crate::keys::validate_key_value;
use crate::model::validate_name;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;

/// One valid row of an import file.
#[derive(Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// The physical line (1-based) on which the row starts.
    pub line: usize,
    /// The key's name.
    pub name: String,
    /// The key value (secret; `Debug` shows only its prefix).
    pub key: String,
    /// The description (empty when the column is absent).
    pub description: String,
    /// Whether the key is enabled.
    pub enabled: bool,
    /// The usage plans to add the key to (trimmed, without empties and duplicates).
    pub usage_plan_ids: Vec<String>,
}

impl fmt::Debug for ImportRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportRow")
            .field("line", &self.line)
            .field("name", &self.name)
            .field(
                "key",
                &format_args!("{}…", crate::keys::key_prefix(&self.key)),
            )
            .field("description", &self.description)
            .field("enabled", &self.enabled)
            .field("usage_plan_ids", &self.usage_plan_ids)
            .finish()
    }
}

/// A rejected row (or header / file problem).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based physical line on which the row starts.
    pub line: usize,
    /// What is wrong (never contains the key value).
    pub message: String,
}

impl RowError {
    /// A new row error.
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for RowError {}

struct Field {
    text: String,
    quoted: bool,
}

struct Record {
    line: usize,
    fields: Vec<Field>,
    error: Option<&'static str>,
}

impl Record {
    fn is_blank(&self) -> bool {
        self.error.is_none()
            && self.fields.len() == 1
            && self
                .fields
                .first()
                .is_some_and(|f| !f.quoted && f.text.trim().is_empty())
    }
}

/// Splits `text` (CRLF already turned into LF) into RFC 4180 records.
fn records(text: &str) -> Vec<Record> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1usize;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut error: Option<&'static str> = None;
        loop {
            let mut text = String::new();
            let quoted = chars.peek() == Some(&'"');
            if quoted {
                chars.next();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '"' if chars.peek() == Some(&'"') => {
                            chars.next();
                            text.push('"');
                        }
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\n' => {
                            line += 1;
                            text.push('\n');
                        }
                        c => text.push(c),
                    }
                }
                if !closed {
                    fields.push(Field { text, quoted });
                    out.push(Record {
                        line: start,
                        fields,
                        error: Some("unterminated quoted field (a '\"' is missing)"),
                    });
                    return out;
                }
                // Only a separator or the end of the line may follow the closing quote.
                while let Some(&c) = chars.peek() {
                    if c == ',' || c == '\n' {
                        break;
                    }
                    error.get_or_insert("unexpected characters after a closing quote");
                    chars.next();
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' || c == '\n' {
                        break;
                    }
                    if c == '"' {
                        error.get_or_insert(
                            "a '\"' inside an unquoted field (quote the whole field and double the quote)",
                        );
                    }
                    text.push(c);
                    chars.next();
                }
            }
            fields.push(Field { text, quoted });
            match chars.next() {
                Some(',') => continue,
                Some('\n') => {
                    line += 1;
                    break;
                }
                _ => break,
            }
        }
        out.push(Record {
            line: start,
            fields,
            error,
        });
    }
    out
}

#[derive(Default)]
struct Columns {
    name: Option<usize>,
    key: Option<usize>,
    description: Option<usize>,
    enabled: Option<usize>,
    usage_plan_ids: Option<usize>,
    count: usize,
}

fn header(rec: &Record) -> Result<Columns, RowError> {
    if let Some(e) = rec.error {
        return Err(RowError::new(rec.line, format!("header: {e}")));
    }
    let mut cols = Columns {
        count: rec.fields.len(),
        ..Columns::default()
    };
    let mut problems = Vec::new();
    for (i, f) in rec.fields.iter().enumerate() {
        let name = f.text.trim();
        let slot = match name.to_ascii_lowercase().as_str() {
            "name" => &mut cols.name,
            "key" => &mut cols.key,
            "description" => &mut cols.description,
            "enabled" => &mut cols.enabled,
            "usageplanids" => &mut cols.usage_plan_ids,
            _ => continue,
        };
        if slot.is_some() {
            problems.push(format!("duplicate column {name:?}"));
        }
        *slot = Some(i);
    }
    let mut missing = Vec::new();
    if cols.name.is_none() {
        missing.push("Name");
    }
    if cols.key.is_none() {
        missing.push("Key");
    }
    if !missing.is_empty() {
        problems.push(format!(
            "the header lacks the required column(s) {}",
            missing.join(", ")
        ));
    }
    if problems.is_empty() {
        Ok(cols)
    } else {
        Err(RowError::new(rec.line, problems.join("; ")))
    }
}

fn field(rec: &Record, idx: Option<usize>) -> &str {
    idx.and_then(|i| rec.fields.get(i))
        .map_or("", |f| f.text.trim())
}

/// Parses an import file. Returns every valid row, or every problem (at least one per bad
/// row, in line order) if any row is bad.
pub fn parse_import(text: &str) -> Result<Vec<ImportRow>, Vec<RowError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let normalized = text.replace("\r\n", "\n");
    let recs = records(&normalized);
    let mut iter = recs.iter().filter(|r| !r.is_blank());
    let Some(head) = iter.next() else {
        return Err(vec![RowError::new(
            1,
            "the file is empty (expected a header line such as \"Name,Key\")",
        )]);
    };
    let cols = header(head).map_err(|e| vec![e])?;

    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for rec in iter {
        if let Some(e) = rec.error {
            errors.push(RowError::new(rec.line, e));
            continue;
        }
        if rec.fields.len() != cols.count {
            errors.push(RowError::new(
                rec.line,
                format!(
                    "expected {} fields (as in the header), found {}",
                    cols.count,
                    rec.fields.len()
                ),
            ));
            continue;
        }
        let mut problems = Vec::new();
        let name = field(rec, cols.name);
        if let Err(e) = validate_name(name) {
            problems.push(format!("Name: {e}"));
        }
        let key = field(rec, cols.key);
        match validate_key_value(key) {
            Err(e) => problems.push(format!("Key: {e}")),
            Ok(()) => {
                if let Some(first) = seen.get(key) {
                    problems.push(format!("Key: the same key is already on line {first}"));
                } else {
                    seen.insert(key, rec.line);
                }
            }
        }
        let enabled = match field(rec, cols.enabled).to_ascii_lowercase().as_str() {
            "" | "true" => true,
            "false" => false,
            _ => {
                problems.push("Enabled: must be true or false".to_owned());
                true
            }
        };
        let mut usage_plan_ids: Vec<String> = Vec::new();
        for id in field(rec, cols.usage_plan_ids).split(',') {
            let id = id.trim();
            if !id.is_empty() && !usage_plan_ids.iter().any(|x| x == id) {
                usage_plan_ids.push(id.to_owned());
            }
        }
        if problems.is_empty() {
            rows.push(ImportRow {
                line: rec.line,
                name: name.to_owned(),
                key: key.to_owned(),
                description: field(rec, cols.description).to_owned(),
                enabled,
                usage_plan_ids,
            });
        } else {
            errors.push(RowError::new(rec.line, problems.join("; ")));
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}
