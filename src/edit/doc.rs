//! Where things are written: the `users` list located with the YAML event parser.

use super::*;

/// The keys of a mapping entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    Login,
    Expires,
    Note,
}

pub(super) const DEFAULT_ORDER: [Key; 3] = [Key::Login, Key::Expires, Key::Note];

/// How an entry is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Shape {
    /// A bare login.
    Bare,
    /// A mapping; `flow` for `{login: x}`.
    Map { flow: bool, keys: Vec<Key> },
}

/// One entry of `users`.
#[derive(Debug, Clone)]
pub(super) struct Item {
    /// Byte where the node starts (after `- ` in a block list).
    pub(super) start: usize,
    /// Byte after its last content.
    pub(super) end: usize,
    pub(super) first_line: usize,
    pub(super) last_line: usize,
    pub(super) shape: Shape,
    pub(super) login_style: Option<ScalarStyle>,
    /// Block lists: the column of `-` and the spaces after it.
    pub(super) dash: (usize, usize),
}

/// How a list is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListStyle {
    Block { dash_col: usize, sp: usize },
    Flow,
}

/// The `users` value.
#[derive(Debug)]
pub(super) struct Users {
    /// Byte where the `users` key starts, and its line.
    pub(super) key_start: usize,
    pub(super) key_line: usize,
    /// The `:` after the key, when it is on the key's line.
    pub(super) colon: Option<usize>,
    pub(super) flow: bool,
    /// Flow lists: just after `[` and at `]`.
    pub(super) open_end: usize,
    pub(super) close_start: usize,
    pub(super) items: Vec<Item>,
}

/// A seats.yaml body (no BOM) and where its parts are.
pub(super) struct Doc<'a> {
    pub(super) lines: Lines<'a>,
    pub(super) eol: &'static str,
    pub(super) root_col: usize,
    /// Byte after the root mapping's last content.
    pub(super) root_end: usize,
    pub(super) users: Option<Users>,
    pub(super) teams: Option<ListStyle>,
}

pub(super) type Ev<'a> = (Event<'a>, Span);

pub(super) fn off(m: Marker) -> Result<usize, Problem> {
    m.byte_offset()
        .ok_or_else(|| Problem::new(0, "internal: the YAML parser gave no byte offset"))
}

pub(super) const NO_ANCHORS: &str = "the `users` list uses anchors (`&`), aliases (`*`) or tags (`!`); write the entries out plainly (`- login`) and edit again";

impl<'a> Doc<'a> {
    /// Locate the root mapping, `users` and `teams`. `n_users` is how many
    /// users the validated file has; the list must hold exactly that many.
    pub(super) fn analyse(body: &'a str, n_users: usize) -> Result<Doc<'a>, Problem> {
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
    pub(super) fn add(
        &self,
        old: &SeatsFile,
        user: &NewUser<'_>,
    ) -> Result<(usize, Splice), Problem> {
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
    pub(super) fn append_after(&self, line: usize, entry: &[String]) -> Splice {
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
    pub(super) fn add_users_key(&self, user: &NewUser<'_>) -> Splice {
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
    pub(super) fn flow_separator(&self, users: &Users, k: usize) -> String {
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
    pub(super) fn remove(&self, remove: &[bool]) -> Result<Vec<Splice>, Problem> {
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
pub(super) fn list_style(w: &Walk<'_, '_>, at: usize) -> Option<ListStyle> {
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
pub(super) fn dash_prefix(lines: &Lines<'_>, start: usize) -> Option<(usize, usize)> {
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
pub(super) struct NodeInfo {
    pub(super) start: usize,
    /// Byte after its last content.
    pub(super) end: usize,
    /// It or something in it has an anchor, alias or tag.
    pub(super) properties: bool,
}

/// A cursor over the parser's events.
pub(super) struct Walk<'e, 'a> {
    pub(super) evs: &'e [Ev<'a>],
    pub(super) i: usize,
    pub(super) lines: &'e Lines<'a>,
}

impl<'a> Walk<'_, 'a> {
    pub(super) fn peek(&self) -> Option<&Event<'a>> {
        self.evs.get(self.i).map(|(e, _)| e)
    }

    /// Consume one node, with everything in it.
    pub(super) fn node(&mut self) -> Result<NodeInfo, Problem> {
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
    pub(super) fn scalar_end(
        &self,
        value: &str,
        style: ScalarStyle,
        span: &Span,
    ) -> Result<usize, Problem> {
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
    pub(super) fn users(
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
    pub(super) fn check_flow_gaps(
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
    pub(super) fn item(&mut self, flow: bool) -> Result<Item, Problem> {
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
