//! Logins and team slugs as GitHub spells them.

/// Why `s` is not a valid GitHub login, or `None` when it is one.
///
/// GitHub logins: 1–39 characters, ASCII letters, digits and hyphens, no
/// leading, trailing or doubled hyphen.
pub fn login_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("a login cannot be empty".into());
    }
    if let Some(c) = s.chars().find(|c| !c.is_ascii()) {
        return Some(format!(
            "contains the non-ASCII character '{c}' (U+{:04X}); logins are ASCII letters, digits and hyphens (a look-alike letter?)",
            c as u32
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Some(format!(
            "contains '{}'; logins are ASCII letters, digits and hyphens",
            c.escape_default()
        ));
    }
    if s.len() > 39 {
        return Some(format!(
            "is {} characters long; logins have at most 39",
            s.len()
        ));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Some("starts or ends with a hyphen; GitHub logins cannot".into());
    }
    if s.contains("--") {
        return Some("has two hyphens in a row; GitHub logins cannot".into());
    }
    None
}

/// Why `s` is not a valid team slug, or `None` when it is one.
///
/// Org team slugs are lowercase `[a-z0-9_.-]+`; enterprise team slugs may
/// carry GitHub's `ent:` prefix.
pub fn slug_problem(s: &str, enterprise: bool) -> Option<String> {
    let body = if enterprise {
        s.strip_prefix("ent:").unwrap_or(s)
    } else {
        s
    };
    if body.is_empty() {
        return Some("a team slug cannot be empty".into());
    }
    if body.len() > 255 {
        return Some("is longer than 255 characters".into());
    }
    if let Some(c) = body
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-')))
    {
        let hint = if c.is_ascii_uppercase() {
            " (slugs are lowercase: use the team's slug, not its display name)"
        } else if c == ' ' {
            " (use the slug, e.g. `my-team`, not the display name)"
        } else {
            ""
        };
        return Some(format!(
            "contains '{}'; team slugs are lowercase letters, digits, '_', '.' and '-'{hint}",
            c.escape_default()
        ));
    }
    None
}

/// A value quoted in a message, cut to 60 characters: the caret line shows
/// where it is, and a 1 MiB value must not make a 1 MiB message.
pub(super) fn shorten(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]).into(),
        None => s.into(),
    }
}

/// Edit distance, for "did you mean" hints on unknown keys.
/// Levenshtein distance in characters (for "did you mean" hints).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
