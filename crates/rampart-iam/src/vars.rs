//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team, 'default'}`, and the
//! escapes `${*}`, `${?}`, `${$}` (literal characters). Only policies with `Version`
//! `2012-10-17` have variables; in older ones `${...}` is plain text.
//!
//! A variable whose key is absent from the request (and has no default), or has several
//! values, cannot be resolved: the policy element that uses it does not match.

use crate::context::Context;
use crate::glob::{push_lit, segments, Seg};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Policy text (its `*` and `?` are wildcards where the element allows them).
    Text(String),
    /// A variable: lower-cased key, optional default.
    Var {
        key: String,
        default: Option<String>,
    },
    /// `${*}`, `${?}`, `${$}`: one literal character.
    Char(char),
}

/// Text that may contain variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
}

/// A `${...}` that is not a valid variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarError(pub String);

impl Template {
    /// Parse text; `vars` false (old policy version) keeps everything literal.
    pub fn parse(text: &str, vars: bool) -> Result<Template, VarError> {
        if !vars || !text.contains("${") {
            return Ok(Template {
                parts: vec![Part::Text(text.to_string())],
            });
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| VarError(format!("unterminated policy variable in `{text}`")))?;
            let inner = after[..end].trim();
            parts.push(match inner {
                "*" => Part::Char('*'),
                "?" => Part::Char('?'),
                "$" => Part::Char('$'),
                _ => {
                    let (key, default) = match inner.split_once(',') {
                        Some((k, d)) => {
                            let d = d.trim();
                            let d = d
                                .strip_prefix('\'')
                                .and_then(|d| d.strip_suffix('\''))
                                .ok_or_else(|| {
                                    VarError(format!(
                                        "the default of `${{{inner}}}` must be in single quotes"
                                    ))
                                })?;
                            (k.trim(), Some(d.to_string()))
                        }
                        None => (inner, None),
                    };
                    if key.is_empty()
                        || !key.contains(':')
                        || key
                            .chars()
                            .any(|c| c.is_whitespace() || c == '$' || c == '{')
                    {
                        return Err(VarError(format!("`${{{inner}}}` is not a policy variable")));
                    }
                    Part::Var {
                        key: key.to_ascii_lowercase(),
                        default,
                    }
                }
            });
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// The whole text when there is no variable or escape.
    pub fn as_plain(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Text(t)] => Some(t),
            [] => Some(""),
            _ => None,
        }
    }

    pub fn has_vars(&self) -> bool {
        self.as_plain().is_none()
    }

    /// The variables used (lower-cased keys).
    pub fn var_keys(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var { key, .. } => Some(key.as_str()),
            _ => None,
        })
    }

    /// Resolve to plain text (`*` and `?` from the policy stay as they are).
    pub fn resolve(&self, ctx: &Context) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Char(c) => out.push(*c),
                Part::Var { key, default } => out.push_str(lookup(ctx, key, default)?),
            }
        }
        Some(out)
    }

    /// Resolve to wildcard segments: only the policy's own text has wildcards.
    pub fn resolve_segs(&self, ctx: &Context) -> Option<Vec<Seg>> {
        let mut out = Vec::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => segments(t, &mut out),
                Part::Char(c) => push_lit(&mut out, c.to_string()),
                Part::Var { key, default } => {
                    push_lit(&mut out, lookup(ctx, key, default)?.to_string())
                }
            }
        }
        Some(out)
    }
}

fn lookup<'a>(ctx: &'a Context, key: &str, default: &'a Option<String>) -> Option<&'a str> {
    match ctx.get(key).and_then(|v| v.single()) {
        Some(v) => Some(v),
        None => default.as_deref(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::glob::Glob;

    #[test]
    fn parse_and_resolve() {
        let mut ctx = Context::new();
        ctx.insert("aws:username", "alice");
        ctx.insert("aws:PrincipalTag/team", "red");
        let t = Template::parse("users/${aws:username}/*", true).unwrap();
        assert_eq!(t.resolve(&ctx).unwrap(), "users/alice/*");
        let t = Template::parse("${aws:principaltag/TEAM}", true).unwrap();
        assert_eq!(
            t.resolve(&ctx).as_deref(),
            Some("red"),
            "keys are case-insensitive"
        );
        let t = Template::parse("${aws:PrincipalTag/dept, 'all'}", true).unwrap();
        assert_eq!(t.resolve(&ctx).as_deref(), Some("all"));
        let t = Template::parse("${aws:PrincipalTag/dept}", true).unwrap();
        assert_eq!(t.resolve(&ctx), None);
        let t = Template::parse("a${*}b${?}c${$}d", true).unwrap();
        assert_eq!(t.resolve(&ctx).as_deref(), Some("a*b?c$d"));
        // Old version: literal.
        let t = Template::parse("${aws:username}", false).unwrap();
        assert_eq!(t.as_plain(), Some("${aws:username}"));
    }

    #[test]
    fn escapes_and_values_are_literal_in_patterns() {
        let mut ctx = Context::new();
        ctx.insert("aws:username", "a*");
        let t = Template::parse("x/${aws:username}/${*}/*", true).unwrap();
        let g = Glob::from_segs(t.resolve_segs(&ctx).unwrap());
        assert!(g.is_match("x/a*/*/anything"));
        assert!(
            !g.is_match("x/ab/*/anything"),
            "a substituted `*` is not a wildcard"
        );
        assert!(!g.is_match("x/a*/y/anything"), "${{*}} is not a wildcard");
    }

    #[test]
    fn errors() {
        assert!(Template::parse("${aws:username", true).is_err());
        assert!(Template::parse("${}", true).is_err());
        assert!(Template::parse("${aws:x, nodquotes}", true).is_err());
        assert!(Template::parse("${username}", true).is_err());
    }

    #[test]
    fn multivalued_keys_are_not_variables() {
        let mut ctx = Context::new();
        ctx.insert_many("aws:TagKeys", ["a", "b"]);
        let t = Template::parse("${aws:TagKeys}", true).unwrap();
        assert_eq!(t.resolve(&ctx), None);
    }
}
