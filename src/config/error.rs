//! Problems found in a seats.yaml, rendered rustc-style.

use super::{MAX_FILE_BYTES, Pos};

/// One problem found in seats.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where it is.
    pub pos: Pos,
    /// How many characters the caret underlines (at least 1).
    pub len: u32,
    /// What is wrong.
    pub message: String,
    /// What to do about it, when there is something to say.
    pub help: Option<String>,
}

/// Every problem found in one seats.yaml, rendered rustc-style by `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The path shown in messages.
    pub path: String,
    /// The problems, in file order: the first [`MAX_DIAGNOSTICS`].
    pub diagnostics: Vec<Diagnostic>,
    /// Problems past the first [`MAX_DIAGNOSTICS`], counted, not kept.
    pub more: usize,
    /// The source lines each diagnostic points at (parallel to `diagnostics`).
    pub(super) lines: Vec<Option<String>>,
}

/// At most this many problems are kept and shown; the rest are counted
/// ("and N more"): 5,000 bad logins must not print 25,000 lines.
pub const MAX_DIAGNOSTICS: usize = 100;

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (d, line)) in self.diagnostics.iter().zip(&self.lines).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{}:{}: {}", self.path, d.pos, d.message)?;
            if let Some(line) = line {
                let num = d.pos.line.to_string();
                let pad = " ".repeat(num.len());
                let chars: Vec<char> = line.chars().collect();
                // Show at most a window of a very long line around the column.
                let start = (d.pos.col.max(1) as usize - 1)
                    .saturating_sub(60)
                    .min(chars.len());
                let end = (start + 120).min(chars.len());
                // Each character as a terminal shows it: control characters
                // escaped (a raw NUL or ESC would garble the terminal),
                // tabs as one space so the caret stays aligned.
                let cells: Vec<String> = chars[start..end].iter().map(|c| shown(*c)).collect();
                let width = |cs: &[String]| cs.iter().map(|c| c.chars().count()).sum::<usize>();
                let mut snippet = String::new();
                if start > 0 {
                    snippet.push('…');
                }
                snippet.extend(cells.iter().map(String::as_str));
                if end < chars.len() {
                    snippet.push('…');
                }
                // The caret, in displayed columns.
                let first = (d.pos.col.max(1) as usize - 1 - start).min(cells.len());
                let last = (first + d.len.max(1) as usize).min(cells.len());
                let before = width(&cells[..first]) + usize::from(start > 0);
                let under = width(&cells[first..last]).max(1);
                writeln!(f, "{pad} |")?;
                writeln!(f, "{num} | {snippet}")?;
                writeln!(f, "{pad} | {}{}", " ".repeat(before), "^".repeat(under))?;
            }
            if let Some(help) = &d.help {
                let pad = " ".repeat(d.pos.line.to_string().len());
                writeln!(f, "{pad} = help: {help}")?;
            }
        }
        if self.more > 0 {
            writeln!(
                f,
                "\n... and {} more error{} (the first {MAX_DIAGNOSTICS} are shown, in file order)",
                self.more,
                if self.more == 1 { "" } else { "s" }
            )?;
        }
        let n = self.diagnostics.len() + self.more;
        write!(
            f,
            "{}: {n} error{}",
            self.path,
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for ConfigError {}

/// A character of a source line as shown in a snippet: a tab as one space,
/// a NUL as `\0`, other control characters as `\xNN` (C0, DEL) or
/// `\u{NN}` (C1).
fn shown(c: char) -> String {
    match c {
        '\t' => " ".into(),
        '\0' => "\\0".into(),
        c if c.is_control() && (c as u32) < 0x80 => format!("\\x{:02X}", c as u32),
        c if c.is_control() => format!("\\u{{{:X}}}", c as u32),
        c => c.to_string(),
    }
}

impl ConfigError {
    /// Diagnostics found outside the parser (e.g. a team GitHub does not
    /// know), rendered against the file's text like parse errors.
    pub fn new(path: &str, text: &str, mut diagnostics: Vec<Diagnostic>) -> ConfigError {
        diagnostics.sort_by_key(|d| d.pos);
        diagnostics.dedup();
        let more = diagnostics.len().saturating_sub(MAX_DIAGNOSTICS);
        diagnostics.truncate(MAX_DIAGNOSTICS);
        let all: Vec<&str> = text.lines().collect();
        let lines = diagnostics
            .iter()
            .map(|d| {
                (d.pos.line as usize)
                    .checked_sub(1)
                    .and_then(|i| all.get(i))
                    .map(|l| l.trim_end_matches('\r').to_string())
            })
            .collect();
        ConfigError {
            path: path.to_string(),
            diagnostics,
            more,
            lines,
        }
    }

    /// The file is over [`MAX_FILE_BYTES`].
    pub fn too_large(path: &str, len: u64) -> ConfigError {
        let size = if len > MAX_FILE_BYTES as u64 + 1 {
            format!("file is {len} bytes")
        } else {
            "file is larger than that".to_string()
        };
        ConfigError::whole_file(
            path,
            format!("seats.yaml may be at most {MAX_FILE_BYTES} bytes (1 MiB); {size}"),
            Some("split very large rosters into teams: `teams:` grants every member".into()),
        )
    }

    /// A single problem at the start of the file (no source line shown).
    pub(super) fn whole_file(path: &str, message: String, help: Option<String>) -> ConfigError {
        ConfigError {
            path: path.to_string(),
            diagnostics: vec![Diagnostic {
                pos: Pos { line: 1, col: 1 },
                len: 1,
                message,
                help,
            }],
            more: 0,
            lines: vec![None],
        }
    }
}
