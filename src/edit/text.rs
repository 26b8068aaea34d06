//! Text splicing: line and offset arithmetic over the original bytes.

use super::*;

/// Replace `body[start..end]` with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Splice {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) text: String,
}

pub(super) fn apply(body: &str, splices: &[Splice]) -> Result<String, Problem> {
    let mut sorted: Vec<&Splice> = splices.iter().collect();
    sorted.sort_by_key(|s| (s.start, s.end));
    let mut out = String::with_capacity(body.len() + 256);
    let mut at = 0;
    for s in sorted {
        let (Some(kept), true) = (body.get(at..s.start), s.start <= s.end) else {
            return Err(Problem::new(s.start, "internal: overlapping edits"));
        };
        if body.get(s.start..s.end).is_none() {
            return Err(Problem::new(
                s.start,
                "internal: edit off a character boundary",
            ));
        }
        out.push_str(kept);
        out.push_str(&s.text);
        at = s.end;
    }
    out.push_str(body.get(at..).unwrap_or_default());
    Ok(out)
}

/// 1-based line of byte `offset` in `text`.
pub(super) fn line_number(text: &str, offset: usize) -> u32 {
    let end = offset.min(text.len());
    let n = text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(n + 1).unwrap_or(u32::MAX)
}

pub(super) fn split_bom(text: &str) -> (&str, &str) {
    match text.strip_prefix('\u{feff}') {
        Some(body) => ("\u{feff}", body),
        None => ("", text),
    }
}

/// A layout problem at a byte offset, turned into [`EditError::Layout`].
#[derive(Debug)]
pub(super) struct Problem {
    pub(super) offset: usize,
    pub(super) message: String,
}

impl Problem {
    pub(super) fn new(offset: usize, message: impl Into<String>) -> Problem {
        Problem {
            offset,
            message: message.into(),
        }
    }

    pub(super) fn into_error(self, path: &str, body: &str) -> EditError {
        EditError::Layout {
            path: path.to_string(),
            line: line_number(body, self.offset),
            message: self.message,
        }
    }
}

/// The text split into lines (each with its line break, `\n` or `\r\n`).
pub(super) struct Lines<'a> {
    pub(super) body: &'a str,
    pub(super) starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(super) fn new(body: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(
            body.bytes()
                .enumerate()
                .filter(|&(i, b)| b == b'\n' && i + 1 < body.len())
                .map(|(i, _)| i + 1),
        );
        if body.is_empty() {
            starts.clear();
        }
        Lines { body, starts }
    }

    pub(super) fn count(&self) -> usize {
        self.starts.len()
    }

    /// 0-based line holding byte `offset` (the last line for offsets past it).
    pub(super) fn line_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    pub(super) fn start(&self, line: usize) -> usize {
        self.starts.get(line).copied().unwrap_or(self.body.len())
    }

    /// End of the line including its line break.
    pub(super) fn end(&self, line: usize) -> usize {
        self.starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.body.len())
    }

    pub(super) fn full(&self, line: usize) -> &'a str {
        self.body
            .get(self.start(line)..self.end(line))
            .unwrap_or_default()
    }

    pub(super) fn eol(&self, line: usize) -> &'a str {
        let full = self.full(line);
        if full.ends_with("\r\n") {
            "\r\n"
        } else if full.ends_with('\n') {
            "\n"
        } else {
            ""
        }
    }

    /// The line without its line break.
    pub(super) fn content(&self, line: usize) -> &'a str {
        let full = self.full(line);
        &full[..full.len() - self.eol(line).len()]
    }

    pub(super) fn content_end(&self, line: usize) -> usize {
        self.start(line) + self.content(line).len()
    }

    pub(super) fn is_blank(&self, line: usize) -> bool {
        self.content(line).trim().is_empty()
    }

    pub(super) fn is_comment(&self, line: usize) -> bool {
        self.content(line).trim_start().starts_with('#')
    }

    pub(super) fn indent(&self, line: usize) -> usize {
        let c = self.content(line);
        c.len() - c.trim_start_matches(' ').len()
    }
}
