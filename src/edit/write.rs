//! Writing new entries in the style of the ones already there.

use super::*;

/// The start of a block list entry's line: indentation, `-`, spaces.
pub(super) fn dash(dash_col: usize, sp: usize) -> String {
    format!("{}-{}", " ".repeat(dash_col), " ".repeat(sp))
}

/// Key order for a new mapping entry: the template's, with keys it lacks in
/// their default place; only the keys `user` needs.
pub(super) fn key_order(template: Option<&Item>, user: &NewUser<'_>) -> Vec<Key> {
    let mut order: Vec<Key> = match template.map(|t| &t.shape) {
        Some(Shape::Map { keys, .. }) => keys.clone(),
        _ => Vec::new(),
    };
    order.dedup();
    for (d, key) in DEFAULT_ORDER.iter().enumerate() {
        if order.contains(key) {
            continue;
        }
        let at = order
            .iter()
            .rposition(|k| DEFAULT_ORDER[..d].contains(k))
            .map_or(0, |p| p + 1);
        order.insert(at, *key);
    }
    order.retain(|k| match k {
        Key::Login => true,
        Key::Expires => user.expires.is_some(),
        Key::Note => user.note.is_some(),
    });
    order
}

pub(super) fn value(
    key: Key,
    login: &str,
    user: &NewUser<'_>,
    flow: bool,
) -> (&'static str, String) {
    match key {
        Key::Login => ("login", login.to_string()),
        Key::Expires => (
            "expires",
            user.expires
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        ),
        Key::Note => ("note", format_note(user.note.unwrap_or_default(), flow)),
    }
}

pub(super) fn flow_map(login: &str, keys: &[Key], user: &NewUser<'_>) -> String {
    let pairs: Vec<String> = keys
        .iter()
        .map(|&k| {
            let (name, v) = value(k, login, user, true);
            format!("{name}: {v}")
        })
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

pub(super) fn block_map(
    login: &str,
    keys: &[Key],
    user: &NewUser<'_>,
    dash_col: usize,
    sp: usize,
) -> Vec<String> {
    keys.iter()
        .enumerate()
        .map(|(i, &k)| {
            let (name, v) = value(k, login, user, false);
            let lead = if i == 0 {
                dash(dash_col, sp)
            } else {
                " ".repeat(dash_col + 1 + sp)
            };
            format!("{lead}{name}: {v}")
        })
        .collect()
}

/// A login in the neighbours' quoting; quoted whenever YAML 1.1 tools would
/// read it as something other than text.
pub(super) fn format_login(login: &str, style: Option<ScalarStyle>) -> String {
    match style {
        Some(ScalarStyle::SingleQuoted) => format!("'{login}'"),
        Some(ScalarStyle::DoubleQuoted) => format!("\"{login}\""),
        _ if yaml11_non_text(login) => format!("\"{login}\""),
        _ => login.to_string(),
    }
}

/// True when a YAML 1.1 or 1.2 reader would resolve the plain scalar `s` to
/// a null, boolean, number or timestamp rather than a string.
pub(super) fn yaml11_non_text(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "", "~", "null", "true", "false", "yes", "no", "y", "n", "on", "off", "=", "<<",
    ];
    let lower = s.to_ascii_lowercase();
    if WORDS.contains(&lower.as_str()) {
        return true;
    }
    let t = lower.trim_start_matches(['+', '-']);
    if matches!(t, ".inf" | ".nan") {
        return true;
    }
    for prefix in ["0x", "0o", "0b"] {
        if let Some(rest) = t.strip_prefix(prefix)
            && !rest.is_empty()
            && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return true;
        }
    }
    if lower.replace('_', "").parse::<f64>().is_ok() {
        return true;
    }
    // Sexagesimal (`1:20`) and plain digit runs with dots or underscores.
    if !t.is_empty()
        && t.starts_with(|c: char| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ':' | '_' | '.'))
    {
        return true;
    }
    // Dates and timestamps: `2024-01-02`, `2024-1-2 10:00`.
    let b = s.as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// YAML's printable characters, minus those that are line breaks or a BOM.
pub(super) fn plain_char(c: char) -> bool {
    matches!(c, ' ' | '\u{21}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fefe}' | '\u{ff00}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
        && !matches!(c, '\u{2028}' | '\u{2029}')
}

/// A note as a plain scalar when that reads back as the same text, else quoted.
pub(super) fn format_note(s: &str, flow: bool) -> String {
    let plain = !s.is_empty()
        && s.chars().all(plain_char)
        && !s.starts_with(|c: char| c == ' ' || "-?:,[]{}#&*!|>'\"%@`".contains(c))
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && !(flow && s.contains([',', '[', ']', '{', '}']))
        && !yaml11_non_text(s);
    if plain {
        return s.to_string();
    }
    if s.chars().all(|c| c == '\t' || plain_char(c)) && s.contains(['"', '\\']) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02X}", c as u32));
            }
            c if !plain_char(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
