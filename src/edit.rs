//! Format-preserving edits of seats.yaml: add one `users` entry, remove one
//! or several (pure: text in, text out, no I/O).
//!
//! Only the edited entry's lines change. Everything else (comments, blank
//! lines, key order, quoting, indentation, CRLF line ends, a byte-order mark,
//! a missing final newline) is kept byte for byte. The editor finds the
//! `users` list with the YAML event parser serde-saphyr is built on (its spans
//! say exactly where each entry is written), splices the text, and then
//! re-parses the result with [`SeatsFile::parse`]: unless the new file means
//! exactly the old users plus or minus the login, with everything else the
//! same, it returns an [`EditError`] instead of a wrong file.
//!
//! Layouts it will not change safely are refused with a message saying what
//! to change by hand ([`EditError::Layout`]): anchors, aliases or tags in
//! `users`, a file that is one flow mapping, comments inside a multi-line
//! flow list, an entry that does not start on its `- ` line, lone carriage
//! returns as line breaks.

use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate};
use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, Span, StructureStyle};

use crate::config::{ConfigError, Pos, SeatsFile, login_problem};

/// A `users` entry to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewUser<'a> {
    /// The GitHub login.
    pub login: &'a str,
    /// Free text for reviewers (`note:`).
    pub note: Option<&'a str>,
    /// The last day the seat is wanted (`expires:`).
    pub expires: Option<NaiveDate>,
}

/// What an edit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// The file changed.
    Changed {
        /// The whole new file.
        text: String,
        /// 1-based lines the edit touched: for an addition, the lines of the
        /// new text that are new or changed; for a removal, the lines of the
        /// original text that were removed or changed.
        lines: RangeInclusive<u32>,
    },
    /// The login is already listed (in any letter case); nothing changed.
    AlreadyListed {
        /// Where the existing entry's login is written.
        pos: Pos,
    },
    /// None of the logins to remove is listed; nothing changed.
    NotListed,
}

/// Why seats.yaml was not edited.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The file does not parse or validate; it must be fixed first.
    #[error("{0}")]
    Invalid(#[from] ConfigError),
    /// The entry to add is not valid.
    #[error("{path}: cannot add `{login}`: {problem}")]
    InvalidEntry {
        /// The path shown in messages.
        path: String,
        /// The login asked for.
        login: String,
        /// What is wrong with the entry.
        problem: String,
    },
    /// The file is written in a way the editor will not change safely.
    #[error("{path}:{line}: cannot edit `users` automatically: {message}")]
    Layout {
        /// The path shown in messages.
        path: String,
        /// The 1-based line of the construct.
        line: u32,
        /// What the construct is and what to change by hand.
        message: String,
    },
    /// The edited text did not mean what it should; no edit is returned.
    #[error(
        "{path}: edit not applied: {message}; this is a bug in seatkeeper's editor, please report it and edit the file by hand"
    )]
    Unverified {
        /// The path shown in messages.
        path: String,
        /// How the edited text differed from what was intended.
        message: String,
    },
}

/// Add `user` to the `users` list of seats.yaml `text`.
///
/// The entry goes where a reviewer expects it: in sorted position when the
/// existing users are sorted case-insensitively (above any comment lines
/// directly over the entry it precedes), else after the last entry. It is
/// written in the file's own style: indentation, quoting of neighbouring
/// entries, layout and key order of existing mapping entries. A flow list
/// (`users: [a, b]`) is edited in place, next to its neighbouring entry;
/// without a `users` key, a `users:` block is appended at the end.
pub fn add_user(path: &str, text: &str, user: &NewUser<'_>) -> Result<Edit, EditError> {
    let old = SeatsFile::parse(path, text.as_bytes())?;
    let invalid = |problem: String| EditError::InvalidEntry {
        path: path.to_string(),
        login: user.login.to_string(),
        problem,
    };
    if let Some(problem) = login_problem(user.login) {
        return Err(invalid(format!("the login {problem}")));
    }
    if let Some(d) = user.expires
        && !(0..=9999).contains(&d.year())
    {
        return Err(invalid(format!(
            "expires {d} is not a date seats.yaml can hold (YYYY-MM-DD)"
        )));
    }
    if let Some(u) = old.user(user.login) {
        return Ok(Edit::AlreadyListed { pos: u.pos });
    }
    let (bom, body) = split_bom(text);
    let doc = Doc::analyse(body, old.users.len()).map_err(|p| p.into_error(path, body))?;
    let (k, splice) = doc.add(&old, user).map_err(|p| p.into_error(path, body))?;
    let new_body =
        apply(body, std::slice::from_ref(&splice)).map_err(|p| p.into_error(path, body))?;
    let mut expected: Vec<UserData> = old.users.iter().map(user_data).collect();
    expected.insert(
        k,
        (
            user.login.to_string(),
            user.expires,
            user.note.map(str::to_string),
        ),
    );
    let new_text = format!("{bom}{new_body}");
    verify(path, &old, &new_text, &expected)?;
    let first = line_number(&new_body, splice.start);
    let last = line_number(
        &new_body,
        (splice.start + splice.text.len()).saturating_sub(1),
    );
    Ok(Edit::Changed {
        text: new_text,
        lines: first..=last.max(first),
    })
}

/// Remove `login` (case-insensitive) from the `users` list of seats.yaml
/// `text`: all lines of its entry go, comment lines above it stay. Removing
/// the last entry of a block list leaves `users: []`.
pub fn remove_user(path: &str, text: &str, login: &str) -> Result<Edit, EditError> {
    remove_users(path, text, &[login])
}

/// Remove several logins (case-insensitive) in one edit, e.g. for a reclaim
/// pull request. Logins that are not listed are ignored; when none is listed
/// the answer is [`Edit::NotListed`].
pub fn remove_users<S: AsRef<str>>(
    path: &str,
    text: &str,
    logins: &[S],
) -> Result<Edit, EditError> {
    let old = SeatsFile::parse(path, text.as_bytes())?;
    let wanted: std::collections::HashSet<String> = logins
        .iter()
        .map(|l| l.as_ref().to_ascii_lowercase())
        .collect();
    let remove: Vec<bool> = old
        .users
        .iter()
        .map(|u| wanted.contains(&u.login.to_ascii_lowercase()))
        .collect();
    if !remove.contains(&true) {
        return Ok(Edit::NotListed);
    }
    let (bom, body) = split_bom(text);
    let doc = Doc::analyse(body, old.users.len()).map_err(|p| p.into_error(path, body))?;
    let splices = doc.remove(&remove).map_err(|p| p.into_error(path, body))?;
    let new_body = apply(body, &splices).map_err(|p| p.into_error(path, body))?;
    let expected: Vec<UserData> = old
        .users
        .iter()
        .zip(&remove)
        .filter(|(_, r)| !**r)
        .map(|(u, _)| user_data(u))
        .collect();
    let new_text = format!("{bom}{new_body}");
    verify(path, &old, &new_text, &expected)?;
    // Lines of the original text, found by binary search: a reclaim may
    // remove many entries from a large file.
    let line = |offset: usize| u32::try_from(doc.lines.line_of(offset) + 1).unwrap_or(u32::MAX);
    let first = splices.iter().map(|s| line(s.start)).min().unwrap_or(1);
    let last = splices
        .iter()
        .map(|s| line(s.end.max(s.start + 1) - 1))
        .max()
        .unwrap_or(first);
    Ok(Edit::Changed {
        text: new_text,
        lines: first..=last.max(first),
    })
}

// ---------------------------------------------------------------------------
// Checking the result.

type UserData = (String, Option<NaiveDate>, Option<String>);

fn user_data(u: &crate::config::UserEntry) -> UserData {
    (u.login.clone(), u.expires, u.note.clone())
}

/// The edited text must parse and mean the old file with only `users`
/// changed, to exactly `expected`.
fn verify(
    path: &str,
    old: &SeatsFile,
    new_text: &str,
    expected: &[UserData],
) -> Result<(), EditError> {
    let unverified = |message: String| EditError::Unverified {
        path: path.to_string(),
        message,
    };
    let new = SeatsFile::parse(path, new_text.as_bytes())
        .map_err(|e| unverified(format!("the edited file does not parse:\n{e}")))?;
    let slugs = |f: &SeatsFile| f.teams.iter().map(|t| t.slug.clone()).collect::<Vec<_>>();
    if new.scope != old.scope || new.policy != old.policy || slugs(&new) != slugs(old) {
        return Err(unverified(
            "the edited file changes more than `users`".into(),
        ));
    }
    let got: Vec<UserData> = new.users.iter().map(user_data).collect();
    if got != expected {
        return Err(unverified(format!(
            "the edited file lists {} users, not the {} expected (or not the same ones)",
            got.len(),
            expected.len()
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Text splicing.

/// Replace `body[start..end]` with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Splice {
    start: usize,
    end: usize,
    text: String,
}

fn apply(body: &str, splices: &[Splice]) -> Result<String, Problem> {
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
fn line_number(text: &str, offset: usize) -> u32 {
    let end = offset.min(text.len());
    let n = text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(n + 1).unwrap_or(u32::MAX)
}

fn split_bom(text: &str) -> (&str, &str) {
    match text.strip_prefix('\u{feff}') {
        Some(body) => ("\u{feff}", body),
        None => ("", text),
    }
}

/// A layout problem at a byte offset, turned into [`EditError::Layout`].
#[derive(Debug)]
struct Problem {
    offset: usize,
    message: String,
}

impl Problem {
    fn new(offset: usize, message: impl Into<String>) -> Problem {
        Problem {
            offset,
            message: message.into(),
        }
    }

    fn into_error(self, path: &str, body: &str) -> EditError {
        EditError::Layout {
            path: path.to_string(),
            line: line_number(body, self.offset),
            message: self.message,
        }
    }
}

/// The text split into lines (each with its line break, `\n` or `\r\n`).
struct Lines<'a> {
    body: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(body: &'a str) -> Lines<'a> {
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

    fn count(&self) -> usize {
        self.starts.len()
    }

    /// 0-based line holding byte `offset` (the last line for offsets past it).
    fn line_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    fn start(&self, line: usize) -> usize {
        self.starts.get(line).copied().unwrap_or(self.body.len())
    }

    /// End of the line including its line break.
    fn end(&self, line: usize) -> usize {
        self.starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.body.len())
    }

    fn full(&self, line: usize) -> &'a str {
        self.body
            .get(self.start(line)..self.end(line))
            .unwrap_or_default()
    }

    fn eol(&self, line: usize) -> &'a str {
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
    fn content(&self, line: usize) -> &'a str {
        let full = self.full(line);
        &full[..full.len() - self.eol(line).len()]
    }

    fn content_end(&self, line: usize) -> usize {
        self.start(line) + self.content(line).len()
    }

    fn is_blank(&self, line: usize) -> bool {
        self.content(line).trim().is_empty()
    }

    fn is_comment(&self, line: usize) -> bool {
        self.content(line).trim_start().starts_with('#')
    }

    fn indent(&self, line: usize) -> usize {
        let c = self.content(line);
        c.len() - c.trim_start_matches(' ').len()
    }
}

// ---------------------------------------------------------------------------
// Where things are written.

/// The keys of a mapping entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Login,
    Expires,
    Note,
}

const DEFAULT_ORDER: [Key; 3] = [Key::Login, Key::Expires, Key::Note];

/// How an entry is written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// A bare login.
    Bare,
    /// A mapping; `flow` for `{login: x}`.
    Map { flow: bool, keys: Vec<Key> },
}

/// One entry of `users`.
#[derive(Debug, Clone)]
struct Item {
    /// Byte where the node starts (after `- ` in a block list).
    start: usize,
    /// Byte after its last content.
    end: usize,
    first_line: usize,
    last_line: usize,
    shape: Shape,
    login_style: Option<ScalarStyle>,
    /// Block lists: the column of `-` and the spaces after it.
    dash: (usize, usize),
}

/// How a list is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListStyle {
    Block { dash_col: usize, sp: usize },
    Flow,
}

/// The `users` value.
#[derive(Debug)]
struct Users {
    /// Byte where the `users` key starts, and its line.
    key_start: usize,
    key_line: usize,
    /// The `:` after the key, when it is on the key's line.
    colon: Option<usize>,
    flow: bool,
    /// Flow lists: just after `[` and at `]`.
    open_end: usize,
    close_start: usize,
    items: Vec<Item>,
}

/// A seats.yaml body (no BOM) and where its parts are.
struct Doc<'a> {
    lines: Lines<'a>,
    eol: &'static str,
    root_col: usize,
    /// Byte after the root mapping's last content.
    root_end: usize,
    users: Option<Users>,
    teams: Option<ListStyle>,
}

type Ev<'a> = (Event<'a>, Span);

fn off(m: Marker) -> Result<usize, Problem> {
    m.byte_offset()
        .ok_or_else(|| Problem::new(0, "internal: the YAML parser gave no byte offset"))
}

const NO_ANCHORS: &str = "the `users` list uses anchors (`&`), aliases (`*`) or tags (`!`); write the entries out plainly (`- login`) and edit again";

impl<'a> Doc<'a> {
    /// Locate the root mapping, `users` and `teams`. `n_users` is how many
    /// users the validated file has; the list must hold exactly that many.
    fn analyse(body: &'a str, n_users: usize) -> Result<Doc<'a>, Problem> {
        if let Some(i) = body
            .bytes()
            .enumerate()
            .find(|&(i, b)| b == b'\r' && body.as_bytes().get(i + 1) != Some(&b'\n'))
            .map(|(i, _)| i)
        {
            return Err(Problem::new(
                i,
                "the file has a line break that is a lone carriage return (old Mac style); re-save it with LF or CRLF line ends",
            ));
        }
        let lines = Lines::new(body);
        let crlf = body.matches("\r\n").count();
        let lf = body.matches('\n').count() - crlf;
        let eol = if crlf > lf { "\r\n" } else { "\n" };
        let mut evs: Vec<Ev<'a>> = Vec::new();
        for ev in Parser::new_from_str(body) {
            match ev {
                Ok(ev) => evs.push(ev),
                Err(e) => {
                    return Err(Problem::new(
                        0,
                        format!("internal: the YAML parser disagrees with the validator: {e}"),
                    ));
                }
            }
        }
        let mut w = Walk {
            evs: &evs,
            i: 0,
            lines: &lines,
        };
        // StreamStart, DocumentStart, then the root mapping.
        while matches!(
            w.peek(),
            Some(Event::StreamStart | Event::DocumentStart(..))
        ) {
            w.i += 1;
        }
        let Some((Event::MappingStart(style, ..), span)) = w.evs.get(w.i) else {
            return Err(Problem::new(0, "internal: no root mapping"));
        };
        if *style == StructureStyle::Flow {
            return Err(Problem::new(
                off(span.start)?,
                "the file is one flow mapping (`{...}`); write it as block YAML (`org: acme` and `users:` on lines of their own)",
            ));
        }
        w.i += 1;
        let mut root_col = None;
        let mut root_end = 0;
        let mut users = None;
        let mut teams = None;
        loop {
            let Some((ev, span)) = w.evs.get(w.i) else {
                return Err(Problem::new(
                    body.len(),
                    "internal: the root mapping never ends",
                ));
            };
            if matches!(ev, Event::MappingEnd) {
                break;
            }
            let key_start = off(span.start)?;
            root_col.get_or_insert(key_start - lines.start(lines.line_of(key_start)));
            let name = match ev {
                Event::Scalar(v, ..) => v.to_string(),
                _ => String::new(),
            };
            let key = w.node()?;
            root_end = root_end.max(key.end);
            match name.as_str() {
                "users" => {
                    let (u, end) = w.users(key_start, key.end, n_users)?;
                    root_end = root_end.max(end);
                    users = Some(u);
                }
                "teams" => {
                    let at = w.i;
                    let value = w.node()?;
                    root_end = root_end.max(value.end);
                    teams = list_style(&w, at);
                }
                _ => root_end = root_end.max(w.node()?.end),
            }
        }
        Ok(Doc {
            lines,
            eol,
            root_col: root_col.unwrap_or(0),
            root_end,
            users,
            teams,
        })
    }

    /// Where and how to add `user`: its index in `users` and the splice.
    fn add(&self, old: &SeatsFile, user: &NewUser<'_>) -> Result<(usize, Splice), Problem> {
        let lines = &self.lines;
        let Some(users) = &self.users else {
            return Ok((0, self.add_users_key(user)));
        };
        let logins: Vec<String> = old
            .users
            .iter()
            .map(|u| u.login.to_ascii_lowercase())
            .collect();
        let n = logins.len();
        let sorted = logins.windows(2).all(|w| w[0] <= w[1]);
        let new = user.login.to_ascii_lowercase();
        let k = if sorted {
            logins.partition_point(|l| *l < new)
        } else {
            n
        };
        // Neighbours, nearest first, the one before the insertion point first.
        let near: Vec<&Item> = (0..n)
            .map(|d| [k.checked_sub(d + 1), Some(k + d)])
            .flat_map(|pair| pair.into_iter().flatten())
            .filter_map(|i| users.items.get(i))
            .collect();
        let login_style = near.first().and_then(|i| i.login_style);
        let login = format_login(user.login, login_style);
        let needs_map = user.note.is_some() || user.expires.is_some();
        let template = near
            .iter()
            .find(|i| matches!(i.shape, Shape::Map { .. }))
            .copied();
        let keys = key_order(template, user);
        if users.flow {
            let entry = if needs_map {
                flow_map(&login, &keys, user)
            } else {
                login
            };
            let items = &users.items;
            let splice = if items.is_empty() {
                Splice {
                    start: users.open_end,
                    end: users.close_start,
                    text: entry,
                }
            } else {
                let sep = self.flow_separator(users, k);
                if k < n {
                    Splice {
                        start: items[k].start,
                        end: items[k].start,
                        text: format!("{entry}{sep}"),
                    }
                } else {
                    Splice {
                        start: items[n - 1].end,
                        end: items[n - 1].end,
                        text: format!("{sep}{entry}"),
                    }
                }
            };
            return Ok((k, splice));
        }
        let style_from = if needs_map {
            template.or(near.first().copied())
        } else {
            near.iter()
                .find(|i| i.shape == Shape::Bare)
                .or(near.first())
                .copied()
        };
        let Some(style_from) = style_from else {
            return Err(Problem::new(users.key_start, "internal: empty block list"));
        };
        let (dash_col, sp) = style_from.dash;
        let flow_entries = matches!(
            template,
            Some(Item {
                shape: Shape::Map { flow: true, .. },
                ..
            })
        );
        let entry = if !needs_map {
            vec![format!("{}{login}", dash(dash_col, sp))]
        } else if flow_entries {
            vec![format!(
                "{}{}",
                dash(dash_col, sp),
                flow_map(&login, &keys, user)
            )]
        } else {
            block_map(&login, &keys, user, dash_col, sp)
        };
        let eol = self.eol;
        let splice = if k < n {
            // Comment lines directly above the next entry belong to it.
            let bound = if k == 0 {
                users.key_line
            } else {
                users.items[k - 1].last_line
            };
            let mut l = users.items[k].first_line;
            while l > bound + 1 && lines.is_comment(l - 1) {
                l -= 1;
            }
            Splice {
                start: lines.start(l),
                end: lines.start(l),
                text: entry.iter().map(|e| format!("{e}{eol}")).collect(),
            }
        } else {
            self.append_after(users.items[n - 1].last_line, &entry)
        };
        Ok((k, splice))
    }

    /// Insert whole lines after `line`, keeping a missing final newline missing.
    fn append_after(&self, line: usize, entry: &[String]) -> Splice {
        let eol = self.eol;
        let at = self.lines.end(line);
        let text = if self.lines.eol(line).is_empty() {
            entry.iter().map(|e| format!("{eol}{e}")).collect()
        } else {
            entry.iter().map(|e| format!("{e}{eol}")).collect()
        };
        Splice {
            start: at,
            end: at,
            text,
        }
    }

    /// No `users` key: append a `users:` block in the style of `teams`.
    fn add_users_key(&self, user: &NewUser<'_>) -> Splice {
        let lines = &self.lines;
        let pad = " ".repeat(self.root_col);
        let login = format_login(user.login, None);
        let keys = key_order(None, user);
        let needs_map = user.note.is_some() || user.expires.is_some();
        let block = match self.teams {
            Some(ListStyle::Flow) => {
                let entry = if needs_map {
                    flow_map(&login, &keys, user)
                } else {
                    login
                };
                vec![format!("{pad}users: [{entry}]")]
            }
            style => {
                let (dash_col, sp) = match style {
                    Some(ListStyle::Block { dash_col, sp }) => (dash_col, sp),
                    _ => (self.root_col + 2, 1),
                };
                let mut block = vec![format!("{pad}users:")];
                if needs_map {
                    block.extend(block_map(&login, &keys, user, dash_col, sp));
                } else {
                    block.push(format!("{}{login}", dash(dash_col, sp)));
                }
                block
            }
        };
        // At the very end, unless something other than comments follows the
        // root mapping (a `...` end marker): then right after its content.
        let last = lines.line_of(self.root_end.saturating_sub(1));
        let only_comments_after =
            (last + 1..lines.count()).all(|l| lines.is_blank(l) || lines.is_comment(l));
        if only_comments_after {
            self.append_after(lines.count().saturating_sub(1), &block)
        } else {
            self.append_after(last, &block)
        }
    }

    /// The text between two entries of a flow list, next to entry `k`.
    /// (Only commas and white space, checked by `check_flow_gaps`.)
    fn flow_separator(&self, users: &Users, k: usize) -> String {
        let items = &users.items;
        if items.len() < 2 {
            return ", ".into();
        }
        let i = k.clamp(1, items.len() - 1) - 1;
        let gap = self
            .lines
            .body
            .get(items[i].end..items[i + 1].start)
            .unwrap_or_default();
        gap.to_string()
    }

    /// Splices removing the entries flagged in `remove`.
    fn remove(&self, remove: &[bool]) -> Result<Vec<Splice>, Problem> {
        let lines = &self.lines;
        let Some(users) = &self.users else {
            return Err(Problem::new(0, "internal: no `users` list"));
        };
        let items = &users.items;
        let all = remove.iter().all(|r| *r);
        let mut out = Vec::new();
        if users.flow {
            if all {
                out.push(Splice {
                    start: users.open_end,
                    end: users.close_start,
                    text: String::new(),
                });
                return Ok(out);
            }
            // Each run of removed entries goes with the comma after it, or
            // for a run at the end, with the comma before it.
            let mut i = 0;
            while i < items.len() {
                if !remove[i] {
                    i += 1;
                    continue;
                }
                let mut j = i;
                while j + 1 < items.len() && remove[j + 1] {
                    j += 1;
                }
                let (start, end) = match items.get(j + 1) {
                    Some(next) => (items[i].start, next.start),
                    None => (items[i - 1].end, items[j].end),
                };
                out.push(Splice {
                    start,
                    end,
                    text: String::new(),
                });
                i = j + 1;
            }
            return Ok(out);
        }
        // Block list: whole lines, runs of adjacent entries together.
        let mut i = 0;
        while i < items.len() {
            if !remove[i] {
                i += 1;
                continue;
            }
            let mut j = i;
            while j + 1 < items.len()
                && remove[j + 1]
                && items[j + 1].first_line == items[j].last_line + 1
            {
                j += 1;
            }
            let first = items[i].first_line;
            let last = items[j].last_line;
            let mut start = lines.start(first);
            let end = lines.end(last);
            if lines.eol(last).is_empty() && first > 0 {
                // The file ends without a newline: keep it that way.
                start = lines.content_end(first - 1);
            }
            out.push(Splice {
                start,
                end,
                text: String::new(),
            });
            i = j + 1;
        }
        if all {
            let Some(colon) = users.colon else {
                return Err(Problem::new(
                    users.key_start,
                    "removing the last entry leaves `users: []`, but the `:` after `users` is not on its line; write `users:` on one line",
                ));
            };
            let rest = lines
                .body
                .get(colon + 1..lines.content_end(users.key_line))
                .unwrap_or_default();
            let ws = rest.len() - rest.trim_start().len();
            let comment = rest.trim_start();
            let text = if comment.is_empty() {
                " []".to_string()
            } else {
                // Keep a trailing comment in its column where there is room.
                format!(" []{}{comment}", " ".repeat(ws.saturating_sub(3).max(1)))
            };
            out.push(Splice {
                start: colon + 1,
                end: colon + 1 + rest.len(),
                text,
            });
        }
        Ok(out)
    }
}

/// The style of the list whose start event is at `at`.
fn list_style(w: &Walk<'_, '_>, at: usize) -> Option<ListStyle> {
    match w.evs.get(at)? {
        (Event::SequenceStart(StructureStyle::Flow, ..), _) => Some(ListStyle::Flow),
        (Event::SequenceStart(StructureStyle::Block, ..), _) => {
            let (_, span) = w.evs.get(at + 1)?;
            let start = span.start.byte_offset()?;
            dash_prefix(w.lines, start).map(|(dash_col, sp)| ListStyle::Block { dash_col, sp })
        }
        _ => None,
    }
}

/// For a block list entry whose node starts at `start`: the column of its
/// `-` and the number of spaces after it, when the line is `<spaces>-<ws>node`.
fn dash_prefix(lines: &Lines<'_>, start: usize) -> Option<(usize, usize)> {
    let line = lines.line_of(start);
    let prefix = lines.body.get(lines.start(line)..start)?;
    let dash_col = prefix.len() - prefix.trim_start_matches(' ').len();
    let after = prefix[dash_col..].strip_prefix('-')?;
    if after.is_empty() || !after.chars().all(|c| c == ' ' || c == '\t') {
        return None;
    }
    // A tab after `-` is legal YAML; new entries use one space instead.
    let sp = if after.contains('\t') { 1 } else { after.len() };
    Some((dash_col, sp))
}

/// A node's extent.
struct NodeInfo {
    start: usize,
    /// Byte after its last content.
    end: usize,
    /// It or something in it has an anchor, alias or tag.
    properties: bool,
}

/// A cursor over the parser's events.
struct Walk<'e, 'a> {
    evs: &'e [Ev<'a>],
    i: usize,
    lines: &'e Lines<'a>,
}

impl<'a> Walk<'_, 'a> {
    fn peek(&self) -> Option<&Event<'a>> {
        self.evs.get(self.i).map(|(e, _)| e)
    }

    /// Consume one node, with everything in it.
    fn node(&mut self) -> Result<NodeInfo, Problem> {
        let Some((ev, span)) = self.evs.get(self.i) else {
            return Err(Problem::new(
                self.lines.body.len(),
                "internal: events end early",
            ));
        };
        self.i += 1;
        let start = off(span.start)?;
        match ev {
            Event::Scalar(v, style, anchor, tag) => Ok(NodeInfo {
                start,
                end: self.scalar_end(v, *style, span)?,
                properties: *anchor != 0 || tag.is_some(),
            }),
            Event::Alias(_) => Ok(NodeInfo {
                start,
                end: off(span.end)?,
                properties: true,
            }),
            Event::SequenceStart(style, anchor, tag) | Event::MappingStart(style, anchor, tag) => {
                let style = *style;
                let mut info = NodeInfo {
                    start,
                    end: if style == StructureStyle::Flow {
                        off(span.end)?
                    } else {
                        start
                    },
                    properties: *anchor != 0 || tag.is_some(),
                };
                loop {
                    match self.evs.get(self.i) {
                        Some((Event::SequenceEnd | Event::MappingEnd, span)) => {
                            self.i += 1;
                            if style == StructureStyle::Flow {
                                info.end = info.end.max(off(span.end)?);
                            }
                            return Ok(info);
                        }
                        Some(_) => {
                            let child = self.node()?;
                            info.end = info.end.max(child.end);
                            info.properties |= child.properties;
                        }
                        None => {
                            return Err(Problem::new(start, "internal: a collection never ends"));
                        }
                    }
                }
            }
            _ => Err(Problem::new(start, "internal: unexpected YAML event")),
        }
    }

    /// Byte after a scalar's last content. A block scalar's span runs on to
    /// the next token; its content is the lines from its start that are
    /// blank or indented at least as far as its content (a less indented
    /// line is a comment and ends it), without trailing blank lines unless
    /// it keeps them (`|+`).
    fn scalar_end(&self, value: &str, style: ScalarStyle, span: &Span) -> Result<usize, Problem> {
        let start = off(span.start)?;
        let end = off(span.end)?;
        if !matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
            return Ok(end);
        }
        if value.trim().is_empty() {
            // Nothing but the indicator, which sits on its key's line; the
            // span may start at the next token, so it adds no extent.
            return Ok(0);
        }
        let lines = self.lines;
        let ind = span.indent.unwrap_or(0);
        let first = lines.line_of(start);
        let mut limit = lines.line_of(end);
        let before_end = lines.body.get(lines.start(limit)..end).unwrap_or_default();
        // The span ends at the next token: nothing of that token's line is
        // the scalar's (unless the span ends with the text itself).
        if end < lines.end(limit) && before_end.trim().is_empty() && limit > first {
            limit -= 1;
        }
        let mut last = first;
        for l in first..=limit {
            if !lines.is_blank(l) {
                if lines.indent(l) < ind {
                    break;
                }
                last = l;
            }
        }
        let kept = value.len() - value.trim_end_matches('\n').len();
        for _ in 1..kept {
            if last < limit && lines.is_blank(last + 1) {
                last += 1;
            }
        }
        // A kept blank line has no content: count its line break, so the
        // line is the scalar's.
        let at = if lines.is_blank(last) {
            lines.end(last)
        } else {
            lines.content_end(last)
        };
        Ok(at.max(start))
    }

    /// The `users` value: a block or flow list of entries.
    fn users(
        &mut self,
        key_start: usize,
        key_end: usize,
        n_users: usize,
    ) -> Result<(Users, usize), Problem> {
        let lines = self.lines;
        let key_line = lines.line_of(key_start);
        let after_key = lines
            .body
            .get(key_end..lines.content_end(key_line))
            .unwrap_or_default();
        let colon = after_key
            .trim_start()
            .starts_with(':')
            .then(|| key_end + (after_key.len() - after_key.trim_start().len()));
        let Some((ev, span)) = self.evs.get(self.i) else {
            return Err(Problem::new(key_start, "internal: `users` has no value"));
        };
        let (flow, anchored) = match ev {
            Event::SequenceStart(style, anchor, tag) => (
                *style == StructureStyle::Flow,
                *anchor != 0 || tag.is_some(),
            ),
            _ => (false, true),
        };
        if anchored {
            return Err(Problem::new(key_start, NO_ANCHORS));
        }
        let open_end = off(span.end)?;
        self.i += 1;
        let mut items = Vec::new();
        let close;
        loop {
            match self.evs.get(self.i) {
                Some((Event::SequenceEnd, span)) => {
                    self.i += 1;
                    close = (off(span.start)?, off(span.end)?);
                    break;
                }
                Some(_) => items.push(self.item(flow)?),
                None => return Err(Problem::new(key_start, "internal: `users` never ends")),
            }
        }
        if items.len() != n_users {
            return Err(Problem::new(
                key_start,
                format!(
                    "internal: `users` holds {} entries but the file lists {n_users} users",
                    items.len()
                ),
            ));
        }
        let mut end = items.last().map_or(key_end, |i| i.end);
        if flow {
            end = close.1;
            self.check_flow_gaps(open_end, close.0, &items)?;
        } else {
            for pair in items.windows(2) {
                if pair[1].first_line <= pair[0].last_line {
                    return Err(Problem::new(
                        pair[1].start,
                        "two entries share a line; put each `- entry` on a line of its own",
                    ));
                }
            }
            if let Some(first) = items.first()
                && first.first_line <= key_line
            {
                return Err(Problem::new(
                    first.start,
                    "internal: entry on the `users` line",
                ));
            }
        }
        let users = Users {
            key_start,
            key_line,
            colon,
            flow,
            open_end,
            close_start: close.0,
            items,
        };
        Ok((users, end))
    }

    /// Between the entries of a flow list there may only be commas and
    /// white space: a comment there would be cut or moved by an edit.
    fn check_flow_gaps(
        &self,
        open_end: usize,
        close_start: usize,
        items: &[Item],
    ) -> Result<(), Problem> {
        let body = self.lines.body;
        let mut bounds = vec![open_end];
        for i in items {
            bounds.push(i.start);
            bounds.push(i.end);
        }
        bounds.push(close_start);
        for (n, pair) in bounds.chunks(2).enumerate() {
            let gap = body.get(pair[0]..pair[1]).unwrap_or_default();
            if let Some(h) = gap.find('#') {
                return Err(Problem::new(
                    pair[0] + h,
                    "the `users` flow list (`[...]`) has comments inside it; move the comments out of the brackets, or write the list as a block (`users:` then one `- login` per line)",
                ));
            }
            let inner = gap.trim();
            // A trailing comma (`[a, b,]`) is legal YAML.
            let ok = if n == 0 {
                inner.is_empty()
            } else if n == items.len() {
                inner.is_empty() || inner == ","
            } else {
                inner == ","
            };
            if !ok {
                return Err(Problem::new(
                    pair[0],
                    "internal: unexpected text in the `users` flow list",
                ));
            }
        }
        Ok(())
    }

    /// One entry of `users`.
    fn item(&mut self, flow: bool) -> Result<Item, Problem> {
        let lines = self.lines;
        let Some((ev, _)) = self.evs.get(self.i) else {
            return Err(Problem::new(lines.body.len(), "internal: events end early"));
        };
        let (shape, login_style) = match ev {
            Event::Scalar(_, style, ..) => (Shape::Bare, Some(*style)),
            Event::MappingStart(style, ..) => {
                let map_flow = *style == StructureStyle::Flow;
                let mut keys = Vec::new();
                let mut login_style = None;
                let mut j = self.i + 1;
                // Keys and values alternate; the values are scalars in a valid file.
                while let Some((Event::Scalar(k, ..), _)) = self.evs.get(j) {
                    let key = match k.as_ref() {
                        "login" => Key::Login,
                        "expires" => Key::Expires,
                        _ => Key::Note,
                    };
                    keys.push(key);
                    if let Some((Event::Scalar(_, style, ..), _)) = self.evs.get(j + 1)
                        && key == Key::Login
                    {
                        login_style = Some(*style);
                    }
                    j += 2;
                }
                (
                    Shape::Map {
                        flow: map_flow,
                        keys,
                    },
                    login_style,
                )
            }
            _ => (Shape::Bare, None),
        };
        let node = self.node()?;
        if node.properties {
            return Err(Problem::new(node.start, NO_ANCHORS));
        }
        let first_line = lines.line_of(node.start);
        let last_line = lines.line_of(node.end.saturating_sub(1).max(node.start));
        let dash = if flow {
            (0, 0)
        } else {
            dash_prefix(lines, node.start).ok_or_else(|| {
                Problem::new(
                    node.start,
                    "an entry does not start on its `- ` line; write `- login` (or `- login: x`) on one line",
                )
            })?
        };
        Ok(Item {
            start: node.start,
            end: node.end,
            first_line,
            last_line,
            shape,
            login_style,
            dash,
        })
    }
}

// ---------------------------------------------------------------------------
// Writing new entries.

/// The start of a block list entry's line: indentation, `-`, spaces.
fn dash(dash_col: usize, sp: usize) -> String {
    format!("{}-{}", " ".repeat(dash_col), " ".repeat(sp))
}

/// Key order for a new mapping entry: the template's, with keys it lacks in
/// their default place; only the keys `user` needs.
fn key_order(template: Option<&Item>, user: &NewUser<'_>) -> Vec<Key> {
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

fn value(key: Key, login: &str, user: &NewUser<'_>, flow: bool) -> (&'static str, String) {
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

fn flow_map(login: &str, keys: &[Key], user: &NewUser<'_>) -> String {
    let pairs: Vec<String> = keys
        .iter()
        .map(|&k| {
            let (name, v) = value(k, login, user, true);
            format!("{name}: {v}")
        })
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

fn block_map(
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
fn format_login(login: &str, style: Option<ScalarStyle>) -> String {
    match style {
        Some(ScalarStyle::SingleQuoted) => format!("'{login}'"),
        Some(ScalarStyle::DoubleQuoted) => format!("\"{login}\""),
        _ if yaml11_non_text(login) => format!("\"{login}\""),
        _ => login.to_string(),
    }
}

/// True when a YAML 1.1 or 1.2 reader would resolve the plain scalar `s` to
/// a null, boolean, number or timestamp rather than a string.
fn yaml11_non_text(s: &str) -> bool {
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
fn plain_char(c: char) -> bool {
    matches!(c, ' ' | '\u{21}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fefe}' | '\u{ff00}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
        && !matches!(c, '\u{2028}' | '\u{2029}')
}

/// A note as a plain scalar when that reads back as the same text, else quoted.
fn format_note(s: &str, flow: bool) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An edit to try.
    #[derive(Debug, Clone, Copy)]
    enum Op<'a> {
        Add(&'a str),
        AddWith(&'a str, Option<&'a str>, Option<&'a str>),
        Remove(&'a [&'a str]),
    }

    fn run(text: &str, op: Op<'_>) -> Result<Edit, EditError> {
        match op {
            Op::Add(login) => add_user(
                "seats.yaml",
                text,
                &NewUser {
                    login,
                    note: None,
                    expires: None,
                },
            ),
            Op::AddWith(login, note, expires) => add_user(
                "seats.yaml",
                text,
                &NewUser {
                    login,
                    note,
                    expires: expires.map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()),
                },
            ),
            Op::Remove(logins) => remove_users("seats.yaml", text, logins),
        }
    }

    #[test]
    fn edits_produce_exact_text() {
        #[rustfmt::skip]
        let cases: &[(&str, &str, Op, &str)] = &[
            // --- block lists: sorted insertion, comments above belong to the next entry
            ("sorted middle", "org: acme\nusers:\n  - alice\n  # bob's trial\n  - carol\n",
             Op::Add("bob"), "org: acme\nusers:\n  - alice\n  - bob\n  # bob's trial\n  - carol\n"),
            ("sorted first, comment under key", "org: acme\nusers:\n  # people\n  - bob\n",
             Op::Add("Al"), "org: acme\nusers:\n  - Al\n  # people\n  - bob\n"),
            ("sorted last", "org: acme\nusers:\n  - a\n  - b  # two\nteams: [x]\n",
             Op::Add("c"), "org: acme\nusers:\n  - a\n  - b  # two\n  - c\nteams: [x]\n"),
            ("sorted case-insensitively", "org: acme\nusers:\n  - Alice\n  - bob\n  - Dave\n",
             Op::Add("carol"), "org: acme\nusers:\n  - Alice\n  - bob\n  - carol\n  - Dave\n"),
            ("unsorted appends after last entry, before trailing comments", "org: acme\nusers:\n- mona\n- carol\n# - old\n\nteams:\n- t\n",
             Op::Add("bob"), "org: acme\nusers:\n- mona\n- carol\n- bob\n# - old\n\nteams:\n- t\n"),
            ("indentation and spacing follow the file", "org: acme\nusers:\n    -   b\n    -   c\n",
             Op::Add("a"), "org: acme\nusers:\n    -   a\n    -   b\n    -   c\n"),
            // --- quoting
            ("double-quoted neighbours", "org: acme\nusers:\n  - \"b\"\n  - \"d\"\n",
             Op::Add("c"), "org: acme\nusers:\n  - \"b\"\n  - \"c\"\n  - \"d\"\n"),
            ("single-quoted neighbours", "org: acme\nusers:\n  - 'b'\n",
             Op::Add("c"), "org: acme\nusers:\n  - 'b'\n  - 'c'\n"),
            ("numeric login quoted", "org: acme\nusers:\n  - b\n  - a\n",
             Op::Add("012"), "org: acme\nusers:\n  - b\n  - a\n  - \"012\"\n"),
            ("hex login quoted", "org: acme\nusers: [b, a]\n", Op::Add("0x1F"), "org: acme\nusers: [b, a, \"0x1F\"]\n"),
            ("exponent login quoted", "org: acme\nusers: [b, a]\n", Op::Add("1e3"), "org: acme\nusers: [b, a, \"1e3\"]\n"),
            ("boolean words quoted", "org: acme\nusers: [b, a]\n", Op::Add("No"), "org: acme\nusers: [b, a, \"No\"]\n"),
            ("on quoted", "org: acme\nusers: [b, a]\n", Op::Add("on"), "org: acme\nusers: [b, a, \"on\"]\n"),
            ("null quoted", "org: acme\nusers: [b, a]\n", Op::Add("null"), "org: acme\nusers: [b, a, \"null\"]\n"),
            ("date-like login quoted", "org: acme\nusers: [b, a]\n", Op::Add("2024-01-02"), "org: acme\nusers: [b, a, \"2024-01-02\"]\n"),
            ("ordinary login not quoted", "org: acme\nusers: [b, a]\n", Op::Add("1abc-x"), "org: acme\nusers: [b, a, 1abc-x]\n"),
            // --- mapping entries
            ("default layout login, expires, note", "org: acme\nusers:\n  - a\n",
             Op::AddWith("b", Some("trial"), Some("2027-01-31")),
             "org: acme\nusers:\n  - a\n  - login: b\n    expires: 2027-01-31\n    note: trial\n"),
            ("layout and key order of existing mapping entries", "org: acme\nusers:\n- login: a\n  note: x\n  expires: 2027-01-01\n- c\n",
             Op::AddWith("b", Some("y"), Some("2027-02-01")),
             "org: acme\nusers:\n- login: a\n  note: x\n  expires: 2027-01-01\n- login: b\n  note: \"y\"\n  expires: 2027-02-01\n- c\n"),
            ("missing key goes to its default place", "org: acme\nusers:\n  -   note: x\n      login: a\n",
             Op::AddWith("b", Some("y"), Some("2027-02-01")),
             "org: acme\nusers:\n  -   note: x\n      login: a\n  -   note: \"y\"\n      login: b\n      expires: 2027-02-01\n"),
            ("flow mapping entries in a block list", "org: acme\nusers:\n  - {login: a, note: x}\n",
             Op::AddWith("b", None, Some("2027-02-01")),
             "org: acme\nusers:\n  - {login: a, note: x}\n  - {login: b, expires: 2027-02-01}\n"),
            ("insert after a block scalar note, above the next entry's comment", "org: acme\nusers:\n  - login: a\n    note: |\n      # not a comment\n      line two\n\n  # about c\n  - c\n",
             Op::Add("b"), "org: acme\nusers:\n  - login: a\n    note: |\n      # not a comment\n      line two\n\n  - b\n  # about c\n  - c\n"),
            ("append after a note that keeps its blank lines", "org: acme\nusers:\n  - login: a\n    note: |+\n      x\n\n",
             Op::Add("b"), "org: acme\nusers:\n  - login: a\n    note: |+\n      x\n\n  - b\n"),
            ("kept blank lines, then a comment", "org: acme\nusers:\n  - login: a\n    note: >+\n      x\n\n  # c\n  - c\n",
             Op::Add("b"), "org: acme\nusers:\n  - login: a\n    note: >+\n      x\n\n  - b\n  # c\n  - c\n"),
            ("multi-line flow mapping entry", "org: acme\nusers:\n  - {login: a,\n     note: x}\n  - c\n",
             Op::Add("b"), "org: acme\nusers:\n  - {login: a,\n     note: x}\n  - b\n  - c\n"),
            ("indented root mapping", "  org: acme\n  teams: [t]\n", Op::Add("a"), "  org: acme\n  teams: [t]\n  users: [a]\n"),
            ("indented root mapping, block", "  org: acme\n", Op::Add("a"), "  org: acme\n  users:\n    - a\n"),
            ("quoted key and document start", "---\norg: acme\n\"users\":\n- b\n", Op::Add("a"), "---\norg: acme\n\"users\":\n- a\n- b\n"),
            // --- notes: quoted only when needed
            ("plain note in a flow mapping", "org: acme\nusers: [a]\n", Op::AddWith("b", Some("it's a trial (Q3)"), None),
             "org: acme\nusers: [a, {login: b, note: it's a trial (Q3)}]\n"),
            // --- flow lists, edited in place
            ("flow sorted", "org: acme\nusers: [a, c]  # people\n", Op::Add("b"), "org: acme\nusers: [a, b, c]  # people\n"),
            ("flow first", "org: acme\nusers: [ b,c ]\n", Op::Add("a"), "org: acme\nusers: [ a,b,c ]\n"),
            ("flow empty", "org: acme\nusers: []\n", Op::Add("a"), "org: acme\nusers: [a]\n"),
            ("flow mapping entry", "org: acme\nusers: []\n", Op::AddWith("a", Some("x, y"), Some("2027-01-31")),
             "org: acme\nusers: [{login: a, expires: 2027-01-31, note: \"x, y\"}]\n"),
            ("flow trailing comma", "org: acme\nusers: [b, a,]\n", Op::Add("c"), "org: acme\nusers: [b, a, c,]\n"),
            ("multi-line flow, one per line", "org: acme\nusers: [\n  a,\n  b\n]\n", Op::Add("c"), "org: acme\nusers: [\n  a,\n  b,\n  c\n]\n"),
            // --- no users key
            ("no users: block in the style of teams", "org: acme\nteams:\n    - t\n", Op::Add("a"), "org: acme\nteams:\n    - t\nusers:\n    - a\n"),
            ("no users: flow teams", "org: acme\nteams: [t]\n# end\n", Op::Add("a"), "org: acme\nteams: [t]\n# end\nusers: [a]\n"),
            ("no users, no teams", "org: acme", Op::AddWith("a", Some("n"), None), "org: acme\nusers:\n  - login: a\n    note: \"n\""),
            ("no users before a document end marker", "org: acme\n...\n", Op::Add("a"), "org: acme\nusers:\n  - a\n...\n"),
            // --- line ends, BOM
            ("CRLF stays CRLF", "org: acme\r\nusers:\r\n  - a\r\n  - c\r\n", Op::Add("b"), "org: acme\r\nusers:\r\n  - a\r\n  - b\r\n  - c\r\n"),
            ("no final newline, appended at the end", "org: acme\nusers:\n  - a", Op::Add("b"), "org: acme\nusers:\n  - a\n  - b"),
            ("no final newline, inserted inside", "org: acme\nusers:\n  - b\nteams: [t]", Op::Add("a"), "org: acme\nusers:\n  - a\n  - b\nteams: [t]"),
            ("BOM stays", "\u{feff}org: acme\nusers:\n  - b\n", Op::Add("a"), "\u{feff}org: acme\nusers:\n  - a\n  - b\n"),
            // --- removals
            ("remove bare entry with its own comment", "org: acme\nusers:\n  - a\n  # above b\n  - b   # b's line\n  - c\n",
             Op::Remove(&["B"]), "org: acme\nusers:\n  - a\n  # above b\n  - c\n"),
            ("remove mapping entry, all its lines", "org: acme\nusers:\n  - a\n  - login: b\n    # why\n    expires: 2027-01-01\n    note: >\n      folded\n      text\n  # c\n  - c\n",
             Op::Remove(&["b"]), "org: acme\nusers:\n  - a\n  # c\n  - c\n"),
            ("remove the last entry leaves []", "org: acme\nusers:                 # direct seats\n  # only\n  - a  # x\nteams: [t]\n",
             Op::Remove(&["a"]), "org: acme\nusers: []              # direct seats\n  # only\nteams: [t]\n"),
            ("remove among identical lines", "org: acme\nusers:\n- note: \"\"\n  login: alice\n- note: \"\"\n  login: Bob", Op::Remove(&["alice"]),
             "org: acme\nusers:\n- note: \"\"\n  login: Bob"),
            ("remove several", "org: acme\nusers:\n  - a\n  - b\n  - c\n  - d\n", Op::Remove(&["a", "c", "D", "zz"]), "org: acme\nusers:\n  - b\n"),
            ("remove at the end, no final newline", "org: acme\nusers:\n  - a\n  - b", Op::Remove(&["b"]), "org: acme\nusers:\n  - a"),
            ("remove all, no final newline", "org: acme\nusers:\n  - a\n  - b", Op::Remove(&["b", "a"]), "org: acme\nusers: []"),
            ("remove CRLF", "org: acme\r\nusers:\r\n  - a\r\n  - b\r\n", Op::Remove(&["a"]), "org: acme\r\nusers:\r\n  - b\r\n"),
            ("flow remove middle", "org: acme\nusers: [a, b, c]\n", Op::Remove(&["b"]), "org: acme\nusers: [a, c]\n"),
            ("flow remove first", "org: acme\nusers: [ a, b ]\n", Op::Remove(&["a"]), "org: acme\nusers: [ b ]\n"),
            ("flow remove last", "org: acme\nusers: [a, {login: b, note: x}]\n", Op::Remove(&["b"]), "org: acme\nusers: [a]\n"),
            ("flow remove last two", "org: acme\nusers: [a, b, c]\n", Op::Remove(&["b", "c"]), "org: acme\nusers: [a]\n"),
            ("flow remove only", "org: acme\nusers: [ a, ]\n", Op::Remove(&["a"]), "org: acme\nusers: []\n"),
            ("remove a note that keeps its blank lines", "org: acme\nusers:\n  - a\n  - login: b\n    note: |+\n      x\n\n",
             Op::Remove(&["b"]), "org: acme\nusers:\n  - a\n"),
            ("remove all under a quoted key", "org: acme\n\"users\":  # c\n- b\n", Op::Remove(&["b"]), "org: acme\n\"users\": [] # c\n"),
            ("multi-line flow remove", "org: acme\nusers: [\n  a,\n  b,\n  c\n]\n", Op::Remove(&["b"]), "org: acme\nusers: [\n  a,\n  c\n]\n"),
        ];
        let mut failures = Vec::new();
        for (name, input, op, want) in cases {
            match run(input, *op) {
                Ok(Edit::Changed { text, .. }) if text == *want => {}
                other => failures.push(format!(
                    "{name}: {op:?}\n  input: {input:?}\n  want:  {want:?}\n  got:   {other:?}"
                )),
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn no_ops_and_refusals() {
        let pos = |line, col| Edit::AlreadyListed {
            pos: Pos { line, col },
        };
        #[rustfmt::skip]
        let cases: &[(&str, &str, Op, Result<Edit, &str>)] = &[
            ("already listed, other case", "org: acme\nusers:\n  - a\n  - Mona\n", Op::Add("mONA"), Ok(pos(4, 5))),
            ("already listed in a mapping", "org: acme\nusers: [{login: hubot}]\n", Op::AddWith("HUBOT", Some("x"), None), Ok(pos(2, 17))),
            ("remove absent", "org: acme\nusers: [a]\n", Op::Remove(&["b"]), Ok(Edit::NotListed)),
            ("remove without users", "org: acme\n", Op::Remove(&["b"]), Ok(Edit::NotListed)),
            ("input does not parse", "org: acme\nusers: [a, a]\n", Op::Add("b"), Err("listed twice")),
            ("invalid login", "org: acme\n", Op::Add("bad_login"), Err("cannot add `bad_login`: the login contains '_'")),
            ("anchored list", "org: acme\nusers: &u [a]\n", Op::Add("b"), Err("seats.yaml:2: cannot edit `users` automatically: the `users` list uses anchors")),
            ("aliased list", "org: acme\npolicy:\n  protected: &p [a]\nusers: *p\n", Op::Remove(&["a"]), Err(":4: cannot edit `users` automatically: the `users` list uses anchors")),
            ("anchored entry", "org: acme\nusers:\n  - &x a\n  - b\n", Op::Remove(&["a"]), Err(":3: cannot edit")),
            ("tagged entry", "org: acme\nusers:\n  - !!str a\n", Op::Add("b"), Err("tags (`!`)")),
            ("multi-line flow with comments", "org: acme\nusers: [\n  a,  # first\n  b\n]\n", Op::Add("c"), Err(":3: cannot edit `users` automatically: the `users` flow list (`[...]`) has comments inside it")),
            ("flow root", "{org: acme, users: [a]}\n", Op::Add("b"), Err("one flow mapping")),
            ("entry below its dash", "org: acme\nusers:\n  -\n    login: a\n", Op::Add("b"), Err(":4: cannot edit `users` automatically: an entry does not start on its `- ` line")),
            ("lone carriage return", "org: acme\rusers: [a]\n", Op::Add("b"), Err("lone carriage return")),
            ("expires beyond year 9999", "org: acme\n", Op::AddWith("b", None, Some("+10000-01-01")), Err("expires")),
        ];
        for (name, input, op, want) in cases {
            let got = match op {
                // chrono cannot parse a 5-digit year with the helper's format.
                Op::AddWith(login, None, Some("+10000-01-01")) => add_user(
                    "seats.yaml",
                    input,
                    &NewUser {
                        login,
                        note: None,
                        expires: NaiveDate::from_ymd_opt(10000, 1, 1),
                    },
                ),
                _ => run(input, *op),
            };
            match (&got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{name}"),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{name}: {e}"),
                _ => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn notes_are_quoted_only_when_needed() {
        #[rustfmt::skip]
        let cases: &[(&str, &str, &str)] = &[
            // note, block context, flow context
            ("trial for the data team", "trial for the data team", "trial for the data team"),
            ("it's fine, really", "it's fine, really", "\"it's fine, really\""),
            ("a: b", "\"a: b\"", "\"a: b\""),
            ("ends with colon:", "\"ends with colon:\"", "\"ends with colon:\""),
            ("x #y", "\"x #y\"", "\"x #y\""),
            ("x#y", "x#y", "x#y"),
            ("#lead", "\"#lead\"", "\"#lead\""),
            ("- dash", "\"- dash\"", "\"- dash\""),
            ("[x]", "\"[x]\"", "\"[x]\""),
            ("@team", "\"@team\"", "\"@team\""),
            ("'q'", "\"'q'\"", "\"'q'\""),
            ("say \"hi\"", "say \"hi\"", "say \"hi\""),
            ("\"q\" it's", "'\"q\" it''s'", "'\"q\" it''s'"),
            ("back\\slash", "back\\slash", "back\\slash"),
            ("\\lead", "\\lead", "\\lead"),
            ("\"\\\"", "'\"\\\"'", "'\"\\\"'"),
            (" padded", "\" padded\"", "\" padded\""),
            ("", "\"\"", "\"\""),
            ("yes", "\"yes\"", "\"yes\""),
            ("123", "\"123\"", "\"123\""),
            ("1.5", "\"1.5\"", "\"1.5\""),
            ("2027-01-31", "\"2027-01-31\"", "\"2027-01-31\""),
            ("~", "\"~\"", "\"~\""),
            ("two\nlines\tand \u{7}", "\"two\\nlines\\tand \\x07\"", "\"two\\nlines\\tand \\x07\""),
            ("sep\u{2028}bom\u{feff}", "\"sep\\Lbom\\uFEFF\"", "\"sep\\Lbom\\uFEFF\""),
            ("café ünïcode", "café ünïcode", "café ünïcode"),
        ];
        for (note, block, flow) in cases {
            assert_eq!(format_note(note, false), *block, "block {note:?}");
            assert_eq!(format_note(note, true), *flow, "flow {note:?}");
            // And it reads back as the same note.
            for (list, want) in [("users:\n  - a\n", block), ("users: [a]\n", flow)] {
                let text = format!("org: acme\n{list}");
                let user = NewUser {
                    login: "b",
                    note: Some(note),
                    expires: None,
                };
                let Ok(Edit::Changed { text, .. }) = add_user("seats.yaml", &text, &user) else {
                    panic!("{note:?} in {list:?}");
                };
                assert!(text.contains(*want), "{note:?}: {text}");
                let f = SeatsFile::parse("seats.yaml", text.as_bytes()).unwrap();
                assert_eq!(f.users[1].note.as_deref(), Some(*note));
            }
        }
    }

    #[test]
    fn large_files_stay_fast() {
        let logins: Vec<String> = (0..20_000).map(|i| format!("user-{i:05}")).collect();
        let mut text = String::from("org: acme\nusers:\n");
        for l in &logins {
            text.push_str(&format!("  - {l}\n"));
        }
        let started = std::time::Instant::now();
        let user = NewUser {
            login: "user-10000a",
            note: None,
            expires: None,
        };
        let Ok(Edit::Changed { lines, .. }) = add_user("f", &text, &user) else {
            panic!("add")
        };
        assert_eq!(lines, 10_004..=10_004);
        let reclaim: Vec<&str> = logins.iter().step_by(20).map(String::as_str).collect();
        let Ok(Edit::Changed { text: new, lines }) = remove_users("f", &text, &reclaim) else {
            panic!("remove")
        };
        assert_eq!(lines, 3..=19_983);
        assert_eq!(new.lines().count(), 2 + 20_000 - 1_000);
        // Generous for debug builds on a busy machine; quadratic work takes minutes.
        assert!(
            started.elapsed().as_secs() < 30,
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn reports_the_lines_it_touched() {
        #[rustfmt::skip]
        let cases: &[(&str, Op, RangeInclusive<u32>)] = &[
            ("org: acme\nusers:\n  - a\n  - c\n", Op::Add("b"), 4..=4),
            ("org: acme\nusers:\n  - a\n", Op::AddWith("b", Some("n"), Some("2027-01-01")), 4..=6),
            ("org: acme\nusers:\n  - a", Op::Add("b"), 3..=4),
            ("org: acme\nusers: [a]\n", Op::Add("b"), 2..=2),
            ("org: acme\nusers:\n  - a\n  - login: b\n    note: x\n  - c\n", Op::Remove(&["b"]), 4..=5),
            ("org: acme\nusers:\n  - a\n  - b\n  - c\n", Op::Remove(&["a", "c"]), 3..=5),
            ("org: acme\nusers:\n  - a\n", Op::Remove(&["a"]), 2..=3),
            ("org: acme\nusers:\n  - a\n  - b", Op::Remove(&["b"]), 3..=4),
        ];
        for (input, op, want) in cases {
            match run(input, *op) {
                Ok(Edit::Changed { lines, .. }) => assert_eq!(lines, *want, "{input:?} {op:?}"),
                other => panic!("{input:?} {op:?}: {other:?}"),
            }
        }
    }

    /// Every valid seats.yaml the repository holds, plus CRLF, no-final-newline
    /// and BOM variants of each.
    fn fixtures() -> Vec<(String, String)> {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "yaml") {
                    out.push(p);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut paths = vec![root.join("seats.yaml")];
        walk(&root.join("tests/fixtures"), &mut paths);
        walk(&root.join("examples"), &mut paths);
        paths.sort();
        let mut out = Vec::new();
        for p in paths {
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            if SeatsFile::parse("f", text.as_bytes()).is_err() {
                continue;
            }
            let name = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            let lf = text.replace("\r\n", "\n");
            out.push((format!("{name} (CRLF)"), lf.replace('\n', "\r\n")));
            out.push((
                format!("{name} (no final newline)"),
                lf.trim_end_matches('\n').to_string(),
            ));
            out.push((format!("{name} (BOM)"), format!("\u{feff}{text}")));
            out.push((name, text));
        }
        out
    }

    /// Checks that an edit changed only `lines`: of the new text for an
    /// addition (`added`), of the old text for a removal. Outside them both
    /// texts hold the same lines; inside, the other text has at most
    /// `inside` lines (a flow list's line, a key line becoming `users: []`,
    /// a last line gaining or losing its line break; any number for a
    /// removal of several entries, whose kept lines lie between). `similar`'s
    /// line diff must agree on the counts (not on positions: with repeated
    /// lines such as `- note: x` several alignments are equally right).
    fn confined(
        old: &str,
        new: &str,
        lines: &RangeInclusive<u32>,
        added: bool,
        inside: usize,
    ) -> Result<(), String> {
        let diff = similar::TextDiff::from_lines(old, new);
        let (mut old_changed, mut new_changed) = (0, 0);
        for op in diff.ops() {
            if op.tag() != similar::DiffTag::Equal {
                old_changed += op.old_range().len();
                new_changed += op.new_range().len();
            }
        }
        let (edited, other, edited_changed, other_changed) = if added {
            (new, old, new_changed, old_changed)
        } else {
            (old, new, old_changed, new_changed)
        };
        let e: Vec<&str> = edited.split_inclusive('\n').collect();
        let t: Vec<&str> = other.split_inclusive('\n').collect();
        let (first, last) = (*lines.start() as usize, *lines.end() as usize);
        if first == 0 || last > e.len() || first > last {
            return Err(format!(
                "lines {lines:?} outside a text of {} lines",
                e.len()
            ));
        }
        let (before, after) = (&e[..first - 1], &e[last..]);
        let kept = before.len() + after.len();
        if !(t.starts_with(before)
            && t.ends_with(after)
            && t.len() >= kept
            && t.len() - kept <= inside)
        {
            return Err(format!(
                "text outside lines {lines:?} changed:\n{old:?}\n->\n{new:?}"
            ));
        }
        if edited_changed > last - first + 1 || other_changed > inside {
            return Err(format!(
                "diff changes {old_changed} old and {new_changed} new lines, reported {lines:?}"
            ));
        }
        Ok(())
    }

    fn users_of(text: &str) -> Vec<UserData> {
        SeatsFile::parse("f", text.as_bytes())
            .expect("edited file parses")
            .users
            .iter()
            .map(user_data)
            .collect()
    }

    #[test]
    fn fixtures_change_only_the_entry_lines_and_round_trip() {
        let fixtures = fixtures();
        assert!(
            fixtures.len() >= 16,
            "found only {} valid fixtures",
            fixtures.len()
        );
        let d = NaiveDate::from_ymd_opt(2027, 1, 31);
        let adds = [
            NewUser {
                login: "zz-new",
                note: None,
                expires: None,
            },
            NewUser {
                login: "aaa-first",
                note: None,
                expires: None,
            },
            NewUser {
                login: "mm-mapped",
                note: Some("trial: data team #3"),
                expires: d,
            },
            NewUser {
                login: "0123",
                note: None,
                expires: d,
            },
        ];
        for (name, text) in &fixtures {
            let before = users_of(text);
            for user in &adds {
                let Ok(Edit::Changed { text: new, lines }) = add_user("f", text, user) else {
                    panic!("{name}: add {user:?} did not change the file");
                };
                if let Err(e) = confined(text, &new, &lines, true, 1) {
                    panic!("{name}: add {}: {e}", user.login);
                }
                let after = users_of(&new);
                assert_eq!(after.len(), before.len() + 1, "{name}");
                assert!(after.iter().any(|u| u.0 == user.login
                    && u.1 == user.expires
                    && u.2.as_deref() == user.note));
                // Removing it again gives the original, byte for byte.
                match remove_user("f", &new, user.login) {
                    Ok(Edit::Changed { text: back, .. }) => {
                        assert_eq!(&back, text, "{name}: round trip of {}", user.login)
                    }
                    other => panic!("{name}: remove {}: {other:?}", user.login),
                }
            }
            for u in &before {
                let Ok(Edit::Changed { text: new, lines }) = remove_user("f", text, &u.0) else {
                    panic!("{name}: remove {} did not change the file", u.0);
                };
                if let Err(e) = confined(text, &new, &lines, false, 2) {
                    panic!("{name}: remove {}: {e}", u.0);
                }
                let want: Vec<UserData> = before.iter().filter(|b| b.0 != u.0).cloned().collect();
                assert_eq!(users_of(&new), want, "{name}: remove {}", u.0);
            }
            if !before.is_empty() {
                let all: Vec<&str> = before.iter().map(|u| u.0.as_str()).collect();
                let Ok(Edit::Changed { text: new, .. }) = remove_users("f", text, &all) else {
                    panic!("{name}: remove all");
                };
                assert!(users_of(&new).is_empty(), "{name}");
                assert!(new.contains("users: []"), "{name}: {new}");
            }
        }
    }

    /// Small edits of every fixture (lines dropped, doubled, characters
    /// inserted): whatever still parses is edited correctly or refused
    /// cleanly, never a panic and never a file that means something else.
    #[test]
    fn mutated_fixtures_edit_correctly_or_refuse() {
        const SNIPPETS: &[&str] = &[
            "  - x1\n",
            "# c\n",
            "  ",
            "\n",
            "[",
            "]",
            ",",
            "users: []\n",
            "- login: q\n  note: |\n    t\n",
            "&a ",
            "*a",
            "\t",
            "\r",
            "{",
            "}",
            "'",
            "\"",
            "- ",
            ": ",
            " #",
            "\u{feff}",
            "...\n",
            "---\n",
        ];
        let started = std::time::Instant::now();
        let mut inputs = Vec::new();
        for (_, text) in fixtures() {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            for i in 0..lines.len() {
                let mut drop = lines.clone();
                drop.remove(i);
                inputs.push(drop.concat());
                let mut dup = lines.clone();
                dup.insert(i, lines[i]);
                inputs.push(dup.concat());
            }
            let cuts: Vec<usize> = text.char_indices().map(|(i, _)| i).step_by(5).collect();
            for (n, at) in cuts.iter().enumerate() {
                let snippet = SNIPPETS[n % SNIPPETS.len()];
                inputs.push(format!("{}{snippet}{}", &text[..*at], &text[*at..]));
            }
        }
        let mut edited = 0;
        for (n, input) in inputs.iter().enumerate() {
            assert!(
                started.elapsed().as_secs() < 120,
                "stopped after {n} inputs"
            );
            let Ok(file) = SeatsFile::parse("f", input.as_bytes()) else {
                continue;
            };
            let before: Vec<UserData> = file.users.iter().map(user_data).collect();
            let add = NewUser {
                login: "fz-new",
                note: Some("n: #1"),
                expires: NaiveDate::from_ymd_opt(2030, 5, 6),
            };
            match add_user("f", input, &add) {
                Ok(Edit::Changed { text, lines }) => {
                    edited += 1;
                    if let Err(e) = confined(input, &text, &lines, true, 1) {
                        panic!("add: {e}");
                    }
                    let after = users_of(&text);
                    let mut want = before.clone();
                    let at = after.iter().position(|u| u.0 == "fz-new").expect("added");
                    want.insert(at, ("fz-new".into(), add.expires, Some("n: #1".into())));
                    assert_eq!(after, want, "{input:?}\n->\n{text:?}");
                }
                Ok(Edit::AlreadyListed { .. }) => {
                    assert!(before.iter().any(|u| u.0.eq_ignore_ascii_case("fz-new")))
                }
                Ok(Edit::NotListed) => panic!("add answered NotListed"),
                Err(EditError::Layout { .. }) => {}
                Err(e) => panic!("{input:?}: {e}"),
            }
            let Some(first) = before.first() else {
                continue;
            };
            match remove_user("f", input, &first.0) {
                Ok(Edit::Changed { text, lines }) => {
                    if let Err(e) = confined(input, &text, &lines, false, 2) {
                        panic!("remove: {e}");
                    }
                    assert_eq!(users_of(&text), before[1..].to_vec(), "{input:?}");
                }
                Err(EditError::Layout { .. }) => {}
                other => panic!("{input:?}: {other:?}"),
            }
        }
        assert!(
            edited > 100,
            "only {edited} of {} mutated inputs were edited",
            inputs.len()
        );
    }

    /// A generated seats.yaml in one of the layouts the editor supports.
    #[derive(Debug, Clone)]
    struct Gen {
        entries: Vec<GenEntry>,
        flow: bool,
        dash_col: usize,
        sp: usize,
        crlf: bool,
        final_newline: bool,
        bom: bool,
        teams_after: bool,
        key_comment: bool,
    }

    #[derive(Debug, Clone)]
    struct GenEntry {
        login: String,
        /// 0 plain, 1 single, 2 double quotes.
        quote: u8,
        /// (expires, note, note before login)
        map: Option<(bool, Option<String>, bool)>,
        comment_above: bool,
        blank_above: bool,
        trailing_comment: bool,
    }

    const POOL: &[&str] = &[
        "alice", "Bob", "carol", "dave-x", "e1", "0x1F", "012", "yes", "mona", "Zed", "hubot", "n",
    ];

    impl Gen {
        fn render(&self) -> String {
            let q = |e: &GenEntry| match e.quote {
                1 => format!("'{}'", e.login),
                2 => format!("\"{}\"", e.login),
                _ if yaml11_non_text(&e.login) => format!("\"{}\"", e.login),
                _ => e.login.clone(),
            };
            let note = |n: &str| format!("\"{}\"", n.replace('\\', "\\\\").replace('"', "\\\""));
            let mut out = vec!["# generated".to_string(), "org: acme".to_string()];
            if !self.teams_after {
                out.push("teams: [t]".into());
            }
            let key = if self.key_comment {
                "users:   # direct"
            } else {
                "users:"
            };
            if self.flow {
                let items: Vec<String> = self
                    .entries
                    .iter()
                    .map(|e| match &e.map {
                        None => q(e),
                        Some((exp, n, _)) => {
                            let mut parts = vec![format!("login: {}", q(e))];
                            if *exp {
                                parts.push("expires: 2027-03-31".into());
                            }
                            if let Some(n) = n {
                                parts.push(format!("note: {}", note(n)));
                            }
                            format!("{{{}}}", parts.join(", "))
                        }
                    })
                    .collect();
                out.push(format!("{} [{}]{}", &key[..6], items.join(", "), &key[6..]));
            } else {
                out.push(key.into());
                let lead = format!("{}-{}", " ".repeat(self.dash_col), " ".repeat(self.sp));
                let inner = " ".repeat(self.dash_col + 1 + self.sp);
                for e in &self.entries {
                    if e.blank_above {
                        out.push(String::new());
                    }
                    if e.comment_above {
                        out.push(format!("{}# about {}", " ".repeat(self.dash_col), e.login));
                    }
                    let tail = if e.trailing_comment { "  # mine" } else { "" };
                    match &e.map {
                        None => out.push(format!("{lead}{}{tail}", q(e))),
                        Some((exp, n, note_first)) => {
                            let mut keys = vec![format!("login: {}", q(e))];
                            if *exp {
                                keys.push("expires: 2027-03-31".into());
                            }
                            if let Some(n) = n {
                                let line = format!("note: {}", note(n));
                                if *note_first {
                                    keys.insert(0, line)
                                } else {
                                    keys.push(line)
                                }
                            }
                            for (i, k) in keys.iter().enumerate() {
                                let l = if i == 0 { &lead } else { &inner };
                                out.push(format!("{l}{k}{}", if i == 0 { tail } else { "" }));
                            }
                        }
                    }
                }
            }
            if self.teams_after {
                out.push("teams:".into());
                out.push("  - t".into());
            }
            let eol = if self.crlf { "\r\n" } else { "\n" };
            let mut text = out.join(eol);
            if self.final_newline {
                text.push_str(eol);
            }
            if self.bom {
                text.insert(0, '\u{feff}');
            }
            text
        }
    }

    fn gen_file() -> impl proptest::strategy::Strategy<Value = Gen> {
        use proptest::prelude::*;
        let entry = (
            0..POOL.len(),
            0u8..3,
            proptest::option::of((
                any::<bool>(),
                proptest::option::of("[a-z :#,'\"\\\\-]{0,8}"),
                any::<bool>(),
            )),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        );
        (
            proptest::collection::vec(entry, 0..6),
            any::<bool>(),
            0usize..3,
            1usize..3,
            any::<(bool, bool, bool, bool, bool)>(),
        )
            .prop_map(
                |(raw, flow, dash, sp, (crlf, final_newline, bom, teams_after, key_comment))| {
                    let mut seen = std::collections::HashSet::new();
                    let entries: Vec<GenEntry> = raw
                        .into_iter()
                        .filter(|(i, ..)| seen.insert(POOL[*i].to_ascii_lowercase()))
                        .map(
                            |(i, quote, map, comment_above, blank_above, trailing_comment)| {
                                GenEntry {
                                    login: POOL[i].to_string(),
                                    quote,
                                    map,
                                    comment_above,
                                    blank_above,
                                    trailing_comment,
                                }
                            },
                        )
                        .collect();
                    // An empty block list is `null`, not a list: write `[]` then.
                    let flow = flow || entries.is_empty();
                    Gen {
                        entries,
                        flow,
                        dash_col: dash * 2,
                        sp,
                        crlf,
                        final_newline,
                        bom,
                        teams_after,
                        key_comment,
                    }
                },
            )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 300,
            // Failures print their input; the test writes no files.
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// In every supported layout, adding a login and removing it again
        /// gives the original text back, and each edit means what it says.
        #[test]
        fn generated_files_edit_and_round_trip(
            g in gen_file(),
            login in 0..POOL.len(),
            note in proptest::option::of("[ -~\u{e9}\u{2028}\t\n]{0,10}"),
            expires in proptest::bool::ANY,
            drop in proptest::collection::vec(proptest::bool::ANY, 6),
        ) {
            let text = g.render();
            let before = users_of(&text);
            let user = NewUser {
                login: POOL[login],
                note: note.as_deref(),
                expires: expires.then(|| NaiveDate::from_ymd_opt(2028, 2, 29)).flatten(),
            };
            match add_user("f", &text, &user).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}\n{text:?}")))? {
                Edit::AlreadyListed { .. } => {
                    proptest::prop_assert!(before.iter().any(|u| u.0.eq_ignore_ascii_case(user.login)));
                }
                Edit::Changed { text: new, lines } => {
                    let after = users_of(&new);
                    proptest::prop_assert_eq!(after.len(), before.len() + 1);
                    confined(&text, &new, &lines, true, 1).map_err(proptest::test_runner::TestCaseError::fail)?;
                    match remove_user("f", &new, user.login).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}\n{text:?}")))? {
                        Edit::Changed { text: back, .. } => proptest::prop_assert_eq!(back, text.clone()),
                        other => proptest::prop_assert!(false, "round trip: {:?}", other),
                    }
                }
                Edit::NotListed => proptest::prop_assert!(false, "add answered NotListed"),
            }
            let gone: Vec<&str> = before.iter().zip(&drop).filter(|(_, d)| **d).map(|(u, _)| u.0.as_str()).collect();
            match remove_users("f", &text, &gone).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}\n{text:?}")))? {
                Edit::Changed { text: new, lines } => {
                    let want: Vec<UserData> = before.iter().filter(|u| !gone.contains(&u.0.as_str())).cloned().collect();
                    proptest::prop_assert_eq!(users_of(&new), want);
                    confined(&text, &new, &lines, false, usize::MAX).map_err(proptest::test_runner::TestCaseError::fail)?;
                }
                Edit::NotListed => proptest::prop_assert!(gone.is_empty()),
                Edit::AlreadyListed { .. } => proptest::prop_assert!(false, "remove answered AlreadyListed"),
            }
        }
    }
}
