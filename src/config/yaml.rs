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

/// How deep seats.yaml may nest (it needs four levels: `policy:
/// inactivity: days:` in a mapping).
pub(super) const MAX_DEPTH: usize = 32;
/// Most values aliases may expand to.
const MAX_REPLAYED: usize = 10_000;

pub(super) fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    // seats.yaml is small and flat: tight limits reject alias bombs and deep
    // nesting fast, with memory bounded by these numbers, not by the input.
    budget.max_depth = MAX_DEPTH;
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
    opts.alias_limits.max_total_replayed_events = MAX_REPLAYED;
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
    // Tags are refused by `tags` before this parser runs (one rule for
    // every tag); should one get through, refuse it here too.
    opts.reject_unsupported_tags = true;
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
    // A limit broken is valid YAML, just more than seats.yaml allows: said
    // without "invalid YAML". The YAML parser's own recursion limit fires
    // before the budget's depth on flow collections: the same words.
    let limit = limit_message(e.without_snippet()).or_else(|| {
        if lower.contains("recursion limit") {
            Some(format!(
                "seats.yaml is nested deeper than {MAX_DEPTH} levels"
            ))
        } else if lower.contains("alias replay") || lower.contains("alias expansion") {
            // Reported through a wrapper that names the alias's position.
            Some(alias_limit())
        } else {
            None
        }
    });
    let message = if let Some(limit) = &limit {
        limit.clone()
    } else if lower.contains("merge key") {
        "merge keys (`<<`) are not allowed in seats.yaml: every key must stand where it applies, for the reviewer to read".to_string()
    } else if let Some(inner) = message
        .strip_prefix("unexpected character: `")
        .and_then(|m| m.strip_suffix('\''))
    {
        // The scanner quotes `like this' and escapes the Rust way (`\u{a0}`).
        format!("unexpected character {}", shown_char(inner))
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
    } else if ["budget", "alias", "depth", "recursion"]
        .iter()
        .any(|w| lower.contains(w))
    {
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
            message: if limit.is_some() {
                message
            } else {
                format!("invalid YAML: {message}")
            },
            help,
        }],
    )
}

/// A limit of seats.yaml's budget that the document broke, in words
/// (serde-saphyr reports it as a Rust value, e.g. `Depth { depth: 33 }`).
fn limit_message(e: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::budget::BudgetBreach as B;
    let message = match e {
        serde_saphyr::Error::Budget { breach, .. } => match breach {
            B::Depth { .. } => format!("seats.yaml is nested deeper than {MAX_DEPTH} levels"),
            B::Documents { .. } => {
                "seats.yaml holds more than one YAML document (a second `---`); keep one".into()
            }
            B::Aliases { aliases } => format!("seats.yaml uses too many aliases ({aliases})"),
            B::Anchors { anchors } => format!("seats.yaml defines too many anchors ({anchors})"),
            B::Nodes { nodes } => format!("seats.yaml holds too many values ({nodes})"),
            B::Events { events } => format!("seats.yaml holds too many values ({events})"),
            B::ScalarBytes { total_scalar_bytes } => {
                format!("seats.yaml's values add up to too much text ({total_scalar_bytes} bytes)")
            }
            _ => "seats.yaml expands past the parser's limits".into(),
        },
        serde_saphyr::Error::AliasReplayLimitExceeded { .. }
        | serde_saphyr::Error::AliasExpansionLimitExceeded { .. }
        | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. }
        | serde_saphyr::Error::AliasReplayCounterOverflow { .. } => alias_limit(),
        _ => return None,
    };
    Some(message)
}

fn alias_limit() -> String {
    format!("aliases (`*name`) in seats.yaml expand to more than {MAX_REPLAYED} values")
}

/// A character as the scanner escaped it (`@`, `\u{a0}`), for a reader.
fn shown_char(escaped: &str) -> String {
    let code = escaped
        .strip_prefix("\\u{")
        .and_then(|h| h.strip_suffix('}'))
        .and_then(|h| u32::from_str_radix(h, 16).ok());
    match code {
        Some(c) => format!("U+{c:04X}"),
        None => format!("`{escaped}`"),
    }
}

/// Control characters (other than tab, line feed and carriage return): a
/// NUL, a BEL, an escape sequence pasted from a terminal. Each run on a line
/// is one problem, shown escaped in the snippet.
pub(super) fn control_characters(text: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut c = 0;
        while c < chars.len() {
            if !is_forbidden_control(chars[c]) {
                c += 1;
                continue;
            }
            let start = c;
            while c < chars.len() && is_forbidden_control(chars[c]) {
                c += 1;
            }
            let run: Vec<char> = chars[start..c].to_vec();
            let mut names: Vec<String> = run.iter().map(|ch| control_name(*ch)).collect();
            names.dedup();
            let message = if run.len() == 1 {
                format!("control character {} in seats.yaml", names[0])
            } else {
                format!(
                    "{} control characters in seats.yaml: {}",
                    run.len(),
                    names.join(", ")
                )
            };
            out.push(Diagnostic {
                pos: Pos {
                    line: i as u32 + 1,
                    col: start as u32 + 1,
                },
                len: run.len() as u32,
                message,
                help: Some(format!(
                    "delete {}: invisible in most editors and in a pull request's diff",
                    if run.len() == 1 { "it" } else { "them" }
                )),
            });
        }
    }
    out
}

fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// `BEL (U+0007)`: a control character by its name and code point.
fn control_name(c: char) -> String {
    const C0: [&str; 32] = [
        "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
        "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB",
        "ESC", "FS", "GS", "RS", "US",
    ];
    let code = c as u32;
    match C0.get(code as usize) {
        Some(name) => format!("{name} (U+{code:04X})"),
        None if code == 0x7f => "DEL (U+007F)".into(),
        None => format!("U+{code:04X}"),
    }
}

/// One rule for tags: seats.yaml takes none but `!!str` on a scalar, which
/// only says what a plain value already is. Any other tag (`!!binary`,
/// `!!int`, `!login`, `!!map`) changes how a value is read, out of a
/// reviewer's sight: each is refused at its position. A syntax error stops
/// the scan; the parser proper reports it.
pub(super) fn tags(text: &str) -> Vec<Diagnostic> {
    use serde_saphyr::granit_parser::{Event, Parser};
    let mut out = Vec::new();
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { break };
        let (tag, scalar) = match &event {
            Event::Scalar(_, _, _, Some(tag)) => (tag, true),
            Event::SequenceStart(_, _, Some(tag)) | Event::MappingStart(_, _, Some(tag)) => {
                (tag, false)
            }
            _ => continue,
        };
        if scalar && tag.core_suffix() == Some("str") {
            continue;
        }
        let at = span.tag_start.unwrap_or(span.start);
        let written = tag.original();
        out.push(Diagnostic {
            pos: Pos {
                line: u32::try_from(at.line()).unwrap_or(u32::MAX).max(1),
                col: u32::try_from(at.col() + 1).unwrap_or(u32::MAX),
            },
            len: written.chars().count().max(1) as u32,
            message: format!(
                "the tag `{written}` is not allowed in seats.yaml: a tag changes how a value is read, out of a reviewer's sight"
            ),
            help: Some("delete the tag and write the value itself (quote it to keep it text: `\"0123\"`); `!!str` is the only tag accepted".into()),
        });
    }
    out
}
