//! Reading a configuration file: YAML or JSON text to a generic value, remembering where
//! every node sits in the file so that every later error can name its line and column.
//!
//! Both formats go through one YAML 1.2 parser (JSON is YAML's flow style), so positions
//! are found the same way for both. `${env:NAME}` and `${env:NAME:-default}` are replaced
//! in string values *after* parsing, so an environment value can never inject structure.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};
use yaml_rust2::Yaml;

/// A line and column, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// Positions of every node by its field path (`apis[0].routes[3].integration.url`).
#[derive(Debug, Default, Clone)]
pub struct Positions {
    map: HashMap<String, Pos>,
}

impl Positions {
    /// Position of `path`, or of its nearest ancestor that has one.
    pub fn find(&self, path: &str) -> Pos {
        let mut p = path;
        loop {
            if let Some(pos) = self.map.get(p) {
                return *pos;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return self.map.get("").copied().unwrap_or(Pos { line: 1, col: 1 }),
            }
        }
    }
}

/// An error in the text itself (syntax), with its position.
#[derive(Debug)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

enum Frame {
    Seq(Vec<Value>, String),
    Map(Map<String, Value>, String, Option<String>),
}

struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    positions: Positions,
    anchors: HashMap<usize, Value>,
    error: Option<SyntaxError>,
    pending_anchor: Vec<usize>,
}

fn pos_of(m: &Marker) -> Pos {
    // yaml-rust2 markers: line is 1-based, col is 0-based.
    Pos {
        line: m.line(),
        col: m.col() + 1,
    }
}

impl Builder {
    /// The path the next value will get, recording its position.
    fn next_path(&mut self, mark: &Marker) -> Option<String> {
        let path = match self.stack.last() {
            None => String::new(),
            Some(Frame::Seq(items, base)) => format!("{base}[{}]", items.len()),
            Some(Frame::Map(_, base, Some(key))) => {
                if base.is_empty() {
                    key.clone()
                } else {
                    format!("{base}.{key}")
                }
            }
            Some(Frame::Map(_, _, None)) => return None, // this scalar is a key
        };
        self.positions
            .map
            .entry(path.clone())
            .or_insert(pos_of(mark));
        Some(path)
    }

    fn push_value(&mut self, v: Value, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, v.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(v),
            Some(Frame::Seq(items, _)) => items.push(v),
            Some(Frame::Map(map, _, key)) => {
                if let Some(k) = key.take() {
                    map.insert(k, v);
                }
            }
        }
    }

    fn fail(&mut self, mark: &Marker, message: String) {
        if self.error.is_none() {
            self.error = Some(SyntaxError {
                pos: pos_of(mark),
                message,
            });
        }
    }
}

fn scalar(s: String, style: TScalarStyle) -> Value {
    if style != TScalarStyle::Plain {
        return Value::String(s);
    }
    match Yaml::from_str(&s) {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(i) => Value::Number(i.into()),
        Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::String(s)),
        _ => Value::String(s),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Scalar(s, style, anchor, _tag) => {
                // A scalar in key position of a mapping is the key.
                if let Some(Frame::Map(map, base, key @ None)) = self.stack.last_mut() {
                    if map.contains_key(&s) {
                        let msg = format!("duplicate key `{s}`");
                        let _ = base;
                        self.fail(&mark, msg);
                        return;
                    }
                    let path = if base.is_empty() {
                        s.clone()
                    } else {
                        format!("{base}.{s}")
                    };
                    let kpos = pos_of(&mark);
                    self.positions.map.entry(path).or_insert(kpos);
                    // A block mapping's own position is that of its first key.
                    if let Some(p) = self.positions.map.get_mut(base.as_str()) {
                        if (kpos.line, kpos.col) < (p.line, p.col) {
                            *p = kpos;
                        }
                    }
                    *key = Some(s);
                    return;
                }
                self.next_path(&mark);
                self.push_value(scalar(s, style), anchor);
            }
            Event::SequenceStart(anchor, _) => {
                let path = self.next_path(&mark).unwrap_or_default();
                self.pending_anchor.push(anchor);
                self.stack.push(Frame::Seq(Vec::new(), path));
            }
            Event::MappingStart(anchor, _) => {
                if let Some(Frame::Map(_, _, None)) = self.stack.last() {
                    self.fail(&mark, "complex mapping keys are not supported".into());
                    return;
                }
                let path = self.next_path(&mark).unwrap_or_default();
                self.pending_anchor.push(anchor);
                self.stack.push(Frame::Map(Map::new(), path, None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let anchor = self.pending_anchor.pop().unwrap_or(0);
                let v = match self.stack.pop() {
                    Some(Frame::Seq(items, _)) => Value::Array(items),
                    Some(Frame::Map(map, _, _)) => Value::Object(map),
                    None => return,
                };
                self.push_value(v, anchor);
            }
            Event::Alias(id) => {
                if let Some(Frame::Map(_, _, None)) = self.stack.last() {
                    self.fail(&mark, "aliases as mapping keys are not supported".into());
                    return;
                }
                self.next_path(&mark);
                match self.anchors.get(&id).cloned() {
                    Some(v) => self.push_value(v, 0),
                    None => self.fail(&mark, "unknown alias".into()),
                }
            }
            Event::DocumentStart if self.root.is_some() => {
                self.fail(&mark, "only one YAML document is allowed".into());
            }
            _ => {}
        }
    }
}

/// Parse YAML or JSON text into a value and the positions of its nodes.
pub fn parse(text: &str) -> Result<(Value, Positions), SyntaxError> {
    let mut b = Builder {
        stack: Vec::new(),
        root: None,
        positions: Positions::default(),
        anchors: HashMap::new(),
        error: None,
        pending_anchor: Vec::new(),
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut b, true) {
        let m = e.marker();
        return Err(SyntaxError {
            pos: pos_of(m),
            message: e.info().to_string(),
        });
    }
    if let Some(e) = b.error {
        return Err(e);
    }
    Ok((b.root.unwrap_or(Value::Null), b.positions))
}

/// A `${env:NAME}` that could not be resolved.
#[derive(Debug)]
pub struct EnvError {
    pub path: String,
    pub message: String,
}

/// Replace `${env:NAME}` and `${env:NAME:-default}` in every string value, using `lookup`.
/// `$${` escapes a literal `${`.
pub fn substitute_env(
    v: &mut Value,
    lookup: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<EnvError>,
) {
    fn walk(
        v: &mut Value,
        path: &mut String,
        lookup: &dyn Fn(&str) -> Option<String>,
        errors: &mut Vec<EnvError>,
    ) {
        match v {
            Value::String(s) if s.contains("${") => match expand(s, lookup) {
                Ok(n) => *s = n,
                Err(message) => errors.push(EnvError {
                    path: path.clone(),
                    message,
                }),
            },
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(item, path, lookup, errors);
                    path.truncate(len);
                }
            }
            Value::Object(map) => {
                for (k, item) in map.iter_mut() {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    walk(item, path, lookup, errors);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    walk(v, &mut String::new(), lookup, errors);
}

fn expand(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('$') {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "unterminated `${` in value".to_string())?;
        let expr = &after[..end];
        let Some(spec) = expr.strip_prefix("env:") else {
            return Err(format!(
                "unknown substitution `${{{expr}}}` (only `${{env:NAME}}` is supported)"
            ));
        };
        let (name, default) = match spec.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (spec, None),
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("invalid environment variable name `{name}`"));
        }
        match (lookup(name), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(format!("environment variable `{name}` is not set"));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn yaml_positions_and_types() {
        let text = "a: 1\nb:\n  - x: true\n    y: \"2\"\n  - z: 1.5\n";
        let (v, pos) = parse(text).unwrap();
        assert_eq!(v["a"], 1);
        assert_eq!(v["b"][0]["x"], true);
        assert_eq!(v["b"][0]["y"], "2");
        assert_eq!(v["b"][1]["z"], 1.5);
        assert_eq!(pos.find("b[0].y"), Pos { line: 4, col: 5 });
        assert_eq!(pos.find("b[1].z"), Pos { line: 5, col: 5 });
        assert_eq!(pos.find("b[1].z.nothing"), Pos { line: 5, col: 5 });
    }

    #[test]
    fn json_positions() {
        let text = "{\n  \"apis\": [\n    {\"name\": \"x\",\t\"routes\": []}\n  ]\n}\n";
        let (v, pos) = parse(text).unwrap();
        assert_eq!(v["apis"][0]["name"], "x");
        assert_eq!(pos.find("apis[0].routes").line, 3);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.pos.line, 2);
    }

    #[test]
    fn env_substitution() {
        let mut v = serde_json::json!({"a": "x${env:FOO}y", "b": ["${env:MISSING:-dflt}", "$${env:FOO}"], "c": "${env:NOPE}"});
        let mut errors = Vec::new();
        let lookup = |n: &str| (n == "FOO").then(|| "{not: structure}".to_string());
        substitute_env(&mut v, &lookup, &mut errors);
        assert_eq!(v["a"], "x{not: structure}y");
        assert_eq!(v["b"][0], "dflt");
        assert_eq!(v["b"][1], "${env:FOO}");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "c");
    }
}
