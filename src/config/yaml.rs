//! Layer 1: YAML text to a spanned node tree (serde-saphyr does the YAML).

use super::{ConfigError, Diagnostic, MAX_FILE_BYTES, Pos};

/// A YAML node with the position it was written at.
#[derive(Debug, Clone)]
pub(super) struct Node {
    pub(super) pos: Pos,
    pub(super) len: u32,
    pub(super) kind: Kind,
    /// Byte range of the node in the source, when known: a plain scalar's
    /// text as written (`0x1F`, `1e3`, `true`), which YAML would otherwise
    /// read as a number or a boolean.
    pub(super) bytes: Option<(usize, usize)>,
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
    Null,
    Bool(bool),
    Int(i128),
    Float,
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Kind {
    pub(super) fn describe(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

struct KindVisitor;

impl<'de> serde::de::Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Kind, E> {
        Ok(Kind::Int(i128::try_from(v).unwrap_or(i128::MAX)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Kind, E> {
        {
            let _ = v;
            Ok(Kind::Float)
        }
    }
    fn visit_str<E>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Kind, E> {
        // `!!binary` would let a pull request hide a login from its reviewer
        // behind base64; seats.yaml is plain text.
        Err(E::custom(
            "binary (`!!binary`) values are not allowed in seats.yaml: write the text itself",
        ))
    }
    fn visit_unit<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        d.deserialize_any(KindVisitor)
    }
    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        d.deserialize_any(KindVisitor)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Kind::Seq(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Kind::Map(entries))
    }
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        let spanned = serde_saphyr::Spanned::<Kind>::deserialize(d)?;
        let loc = spanned.referenced;
        Ok(Node {
            pos: Pos {
                line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
                col: u32::try_from(loc.column()).unwrap_or(u32::MAX),
            },
            len: u32::try_from(loc.span().len()).unwrap_or(1).max(1),
            bytes: loc
                .span()
                .byte_offset()
                .zip(loc.span().byte_len())
                .and_then(|(o, l)| Some((usize::try_from(o).ok()?, usize::try_from(l).ok()?))),
            kind: spanned.value,
        })
    }
}

pub(super) fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    // seats.yaml is small and flat: tight limits reject alias bombs and deep
    // nesting fast, with memory bounded by these numbers, not by the input.
    budget.max_depth = 32;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_nodes = 300_000;
    budget.max_events = 1_000_000;
    budget.max_documents = 1;
    budget.max_total_scalar_bytes = 4 * MAX_FILE_BYTES;
    let mut opts = serde_saphyr::Options::default();
    opts.budget = Some(budget);
    // Anchors are legal but a roster never needs to replay much: cap the
    // expansion so a billion-laughs file fails in microseconds.
    opts.alias_limits.max_total_replayed_events = 10_000;
    opts.alias_limits.max_alias_expansions_per_anchor = 100;
    opts.alias_limits.max_replay_stack_depth = 8;
    // Our walker reports duplicate keys with both positions, alongside every
    // other problem, instead of stopping at the first one.
    opts.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::PassThrough;
    // A merge key (`<<: {policy: {removals: additive}}`) changes keys where a
    // reviewer does not read them: refused at its line.
    opts.merge_keys = serde_saphyr::MergeKeyPolicy::Error;
    opts.strict_booleans = true;
    opts.leading_zero_numbers_as_strings = true;
    opts.underscored_numbers_as_strings = true;
    opts.with_snippet = false;
    // Application tags (`!foo`) mean nothing to seatkeeper: refuse them
    // rather than silently read the value under them.
    opts.reject_unsupported_tags = true;
    // `!!binary` would let a pull request hide a login from its reviewer
    // behind base64: read such a value as the text it is written as, which
    // then fails validation where it stands.
    opts.ignore_binary_tag_for_string = true;
    opts
}

/// A YAML syntax or limit error from serde-saphyr, as one diagnostic.
pub(super) fn yaml_error(path: &str, text: &str, e: &serde_saphyr::Error) -> ConfigError {
    let pos = e
        .location()
        .filter(|l| l.line() > 0)
        .map(|l| Pos {
            line: u32::try_from(l.line()).unwrap_or(u32::MAX),
            col: u32::try_from(l.column()).unwrap_or(1).max(1),
        })
        .unwrap_or(Pos { line: 1, col: 1 });
    let raw = e.without_snippet().to_string();
    // serde-saphyr appends " at line N, column M"; we print the position ourselves.
    let message = raw
        .split(" at line ")
        .next()
        .unwrap_or(&raw)
        .trim()
        .to_string();
    let lower = message.to_lowercase();
    let message = if lower.contains("merge key") {
        "merge keys (`<<`) are not allowed in seats.yaml: every key must stand where it applies, for the reviewer to read".to_string()
    } else if lower.contains("budget breached") && lower.contains("documents") {
        "seats.yaml holds more than one YAML document (a second `---`); keep one".to_string()
    } else if lower.contains("budget breached") || lower.contains("alias replay") {
        format!("the document expands to too much data ({message})")
    } else {
        message
    };
    // The scanner reports a tab where the token it was reading began, often
    // the line before; point at the tab itself.
    let pos = if lower.contains("tab") {
        text.lines()
            .enumerate()
            .skip(pos.line.saturating_sub(1) as usize)
            .find_map(|(i, l)| {
                l.find('\t').map(|c| Pos {
                    line: i as u32 + 1,
                    col: l[..c].chars().count() as u32 + 1,
                })
            })
            .unwrap_or(pos)
    } else {
        pos
    };
    let help = if lower.contains("documents") {
        Some("merge the documents into one mapping with a single `org:`".into())
    } else if lower.contains("budget") || lower.contains("alias") || lower.contains("depth") {
        Some("seats.yaml needs no anchors, aliases or deep nesting; write the values out".into())
    } else if text.contains('\t') && lower.contains("tab") {
        Some("YAML indents with spaces, not tabs".into())
    } else {
        None
    };
    ConfigError::new(
        path,
        text,
        vec![Diagnostic {
            pos,
            len: 1,
            message: format!("invalid YAML: {message}"),
            help,
        }],
    )
}
