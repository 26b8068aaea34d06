//! Layer 2: the node tree to a [`SeatsFile`], collecting every problem.

use super::names::shorten;
use super::spec::{self, Field, Range};
use super::yaml::{Kind, Node};
use super::*;

mod budgets;

pub(super) struct Walker<'s> {
    pub(super) diags: Vec<Diagnostic>,
    pub(super) enterprise: bool,
    /// The text parsed, for scalars as written.
    pub(super) src: &'s str,
}

impl Walker<'_> {
    fn error(&mut self, node: &Node, message: impl Into<String>, help: Option<String>) {
        self.diags.push(Diagnostic {
            pos: node.pos,
            len: node.len,
            message: message.into(),
            help,
        });
    }

    fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        let help = match node.kind {
            Kind::Null => Some(format!(
                "write `{what}: []` for an empty list, or remove the key"
            )),
            _ => None,
        };
        let help = if expected.contains("list") {
            help
        } else {
            None
        };
        self.error(
            node,
            format!(
                "`{what}` must be {expected}, found {}",
                node.kind.describe()
            ),
            help,
        );
    }

    /// Key/value pairs of a mapping, reporting non-string, unknown and
    /// duplicate keys. Returns (key, key node, value) for the known keys.
    fn entries<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        fields: &[Field],
    ) -> Vec<(&'n str, &'n Node, &'n Node)> {
        let Kind::Map(entries) = &node.kind else {
            self.wrong_type(node, what, "a mapping");
            return vec![];
        };
        // Indexed, not scanned: a 1 MiB mapping can hold 100,000 keys.
        let mut seen: std::collections::HashMap<&str, Pos> = std::collections::HashMap::new();
        let mut out = Vec::new();
        for (k, v) in entries {
            let Kind::Str(key) = &k.kind else {
                self.error(
                    k,
                    format!(
                        "keys of `{what}` must be strings, found {}",
                        k.kind.describe()
                    ),
                    None,
                );
                continue;
            };
            if let Some(first) = seen.get(key.as_str()) {
                let msg = format!("duplicate key `{key}` (first at line {})", first.line);
                self.error(k, msg, Some("keep one of them".into()));
                continue;
            }
            seen.insert(key, k.pos);
            if !fields.iter().any(|f| f.name == key) {
                let allowed = spec::names(fields);
                let near = allowed
                    .iter()
                    .filter(|a| edit_distance(a, key) <= 2)
                    .min_by_key(|a| edit_distance(a, key));
                let help = match near {
                    Some(a) => format!("did you mean `{a}`?"),
                    None => format!("expected one of: {}", allowed.join(", ")),
                };
                self.error(k, format!("unknown key `{key}` in `{what}`"), Some(help));
                continue;
            }
            out.push((key.as_str(), k, v));
        }
        out
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.kind {
            Kind::Str(s) => Some(s.clone()),
            _ => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.kind {
            Kind::Bool(b) => Some(b),
            _ => {
                self.error(
                    node,
                    format!(
                        "`{what}` must be true or false, found {}",
                        node.kind.describe()
                    ),
                    None,
                );
                None
            }
        }
    }

    /// One of an enum's values, as written in seats.yaml.
    fn value<T>(
        &mut self,
        node: &Node,
        what: &str,
        values: &[&str],
        parse: fn(&str) -> Option<T>,
    ) -> Option<T> {
        let s = self.string(node, what)?;
        let parsed = parse(&s);
        if parsed.is_none() {
            self.error(
                node,
                format!(
                    "`{what}` is `{}`; expected {}",
                    shorten(&s),
                    spec::one_of(values)
                ),
                None,
            );
        }
        parsed
    }

    /// A plain scalar's text exactly as the file spells it.
    fn as_written(&mut self, node: &Node) -> Option<String> {
        let text = node
            .bytes
            .and_then(|(o, l)| self.src.get(o..o + l))
            .map(|t| t.trim().to_string());
        if text.is_none() {
            self.error(
                node,
                "cannot tell how this value is written; quote it".to_string(),
                None,
            );
        }
        text
    }

    fn int(&mut self, node: &Node, what: &str, range: Range) -> Option<i128> {
        let (min, max) = (i128::from(range.min), i128::from(range.max));
        // What a reviewer reads is what is applied: `0x10`, `0o17`, `1_0`
        // and `!!int "7"` are numbers to YAML, not to a reviewer.
        if matches!(node.kind, Kind::Int(_)) {
            let written = self.as_written(node)?;
            // (Tags such as `!!int "7"` are refused before this, by the YAML layer.)
            if !is_plain_decimal(&written) {
                self.error(
                    node,
                    format!(
                        "`{what}` is written `{}`: write a plain decimal integer",
                        shorten(&written)
                    ),
                    Some("for example `10`: no base prefix, underscore, leading zero, `+`, tag or quotes".into()),
                );
                return None;
            }
        }
        match node.kind {
            Kind::Int(n) if (min..=max).contains(&n) => Some(n),
            Kind::Int(n) => {
                self.error(
                    node,
                    format!("`{what}` is {n}, out of range {min}..={max}"),
                    None,
                );
                None
            }
            _ => {
                self.error(
                    node,
                    format!(
                        "`{what}` must be an integer, found {}",
                        node.kind.describe()
                    ),
                    None,
                );
                None
            }
        }
    }

    /// A login written as a scalar. Numbers are logins too (`1234` is a valid
    /// GitHub login), as long as YAML kept their spelling.
    fn login(&mut self, node: &Node, what: &str) -> Option<String> {
        let s = match &node.kind {
            Kind::Str(s) => s.clone(),
            // What a reviewer reads is what is applied: `0x1F` is the login
            // `0x1F`, not 31.
            Kind::Int(_) | Kind::Float | Kind::Bool(_) => self.as_written(node)?,
            _ => {
                self.wrong_type(node, what, "a login (a string)");
                return None;
            }
        };
        if let Some(problem) = login_problem(&s) {
            self.error(
                node,
                format!("invalid login `{}`: {problem}", shorten(&s)),
                None,
            );
            return None;
        }
        Some(s)
    }

    fn slug(&mut self, node: &Node, what: &str) -> Option<String> {
        let s = match &node.kind {
            Kind::Str(s) => s.clone(),
            Kind::Int(_) | Kind::Float | Kind::Bool(_) => self.as_written(node)?,
            _ => {
                self.wrong_type(node, what, "a team slug (a string)");
                return None;
            }
        };
        if let Some(problem) = slug_problem(&s, self.enterprise) {
            self.error(
                node,
                format!("invalid team slug `{}`: {problem}", shorten(&s)),
                None,
            );
            return None;
        }
        Some(s)
    }

    fn list<'n>(&mut self, node: &'n Node, what: &str) -> &'n [Node] {
        match &node.kind {
            Kind::Seq(items) => items,
            _ => {
                self.wrong_type(node, what, "a list");
                &[]
            }
        }
    }

    /// A list of logins with case-insensitive duplicate detection.
    fn login_list(&mut self, node: &Node, what: &str) -> Vec<(String, Pos)> {
        let mut out = Seen::default();
        for item in self.list(node, what) {
            if let Some(login) = self.login(item, what) {
                self.check_dup(&out, &login, item, what);
                out.push(login, item.pos);
            }
        }
        out.names
    }

    fn check_dup(&mut self, seen: &Seen, name: &str, node: &Node, what: &str) -> bool {
        if let Some((first, pos)) = seen.first(name) {
            let msg = if first == name {
                format!("`{name}` is listed twice in `{what}` (first at {pos})")
            } else {
                format!(
                    "`{name}` is listed twice in `{what}`: `{first}` at {pos} is the same login (logins are case-insensitive)"
                )
            };
            self.error(node, msg, Some("remove one of them".into()));
            return true;
        }
        false
    }

    fn policy(&mut self, node: &Node) -> Policy {
        let mut p = Policy::default();
        for (key, _k, v) in self.entries(node, "policy", spec::POLICY) {
            match key {
                "removals" => {
                    if let Some(m) = self.value(
                        v,
                        "policy.removals",
                        RemovalMode::VALUES,
                        RemovalMode::from_value,
                    ) {
                        p.removals = m;
                    }
                }
                "max_removals" => p.max_removals = self.max_removals(v),
                "max_seats" => {
                    p.max_seats = self
                        .int(v, "policy.max_seats", spec::MAX_SEATS)
                        .map(|n| n as u64)
                }
                "protected" => {
                    p.protected = self
                        .login_list(v, "policy.protected")
                        .into_iter()
                        .map(|(l, _)| l)
                        .collect()
                }
                "eligible_teams" => {
                    let mut seen = Seen::default();
                    for item in self.list(v, "policy.eligible_teams") {
                        if let Some(s) = self.slug(item, "policy.eligible_teams")
                            && !self.check_dup(&seen, &s, item, "policy.eligible_teams")
                        {
                            seen.push(s, item.pos);
                        }
                    }
                    p.eligible_teams = seen.names.into_iter().map(|(s, _)| s).collect();
                }
                "remove_ineligible" => {
                    p.remove_ineligible = self.bool(v, "policy.remove_ineligible").unwrap_or(false)
                }
                "allow_empty" => {
                    p.allow_empty = self.bool(v, "policy.allow_empty").unwrap_or(false)
                }
                "suspend" => p.suspend = self.bool(v, "policy.suspend").unwrap_or(false),
                "inactivity" => p.inactivity = self.inactivity(v),
                "self_serve" => p.self_serve = self.self_serve(v),
                "assign_via_team" => {
                    if !self.enterprise {
                        self.error(
                            v,
                            "`policy.assign_via_team` needs `enterprise:`: it assigns seats through an enterprise team's membership",
                            Some("remove it, or manage the enterprise's seats with `enterprise: NAME`".into()),
                        );
                    } else {
                        p.assign_via_team = self.slug(v, "policy.assign_via_team");
                    }
                }
                _ => unreachable!("entries() only yields allowed keys"),
            }
        }
        p
    }

    fn max_removals(&mut self, v: &Node) -> Option<MaxRemovals> {
        match &v.kind {
            Kind::Int(_) => self
                .int(v, "policy.max_removals", spec::MAX_REMOVALS)
                .map(|n| MaxRemovals::Count(n as u64)),
            Kind::Str(s) => {
                let pct = s
                    .strip_suffix('%')
                    .and_then(|n| n.trim().parse::<f64>().ok())
                    .filter(|n| n.is_finite());
                match pct {
                    Some(p) if (0.0..=100.0).contains(&p) => Some(MaxRemovals::Percent(p)),
                    Some(p) => {
                        self.error(
                            v,
                            format!("`policy.max_removals` is {p}%, out of range 0%..=100%"),
                            None,
                        );
                        None
                    }
                    None => {
                        self.error(
                            v,
                            format!("`policy.max_removals` is `{}`; expected a number of seats (10) or a percentage of current seats (\"5%\")", shorten(s)),
                            None,
                        );
                        None
                    }
                }
            }
            _ => {
                self.wrong_type(
                    v,
                    "policy.max_removals",
                    "an integer or a percentage string",
                );
                None
            }
        }
    }

    fn self_serve(&mut self, node: &Node) -> SelfServe {
        let mut s = SelfServe::default();
        for (key, _k, v) in self.entries(node, "policy.self_serve", spec::SELF_SERVE) {
            match key {
                "mode" => {
                    if let Some(m) = self.value(
                        v,
                        "policy.self_serve.mode",
                        SelfServeMode::VALUES,
                        SelfServeMode::from_value,
                    ) {
                        s.mode = m;
                    }
                }
                "default_expiry_days" => {
                    s.default_expiry_days = self
                        .int(v, "policy.self_serve.default_expiry_days", spec::DAYS)
                        .map(|n| n as u32)
                }
                "allow_requests_for_others" => {
                    s.allow_requests_for_others = self
                        .bool(v, "policy.self_serve.allow_requests_for_others")
                        .unwrap_or(false)
                }
                "auto_merge" => {
                    s.auto_merge = self.bool(v, "policy.self_serve.auto_merge").unwrap_or(true)
                }
                "when_full" => {
                    if let Some(w) = self.value(
                        v,
                        "policy.self_serve.when_full",
                        WhenFull::VALUES,
                        WhenFull::from_value,
                    ) {
                        s.when_full = w;
                    }
                }
                _ => unreachable!("entries() only yields allowed keys"),
            }
        }
        s
    }

    fn inactivity(&mut self, node: &Node) -> Option<Inactivity> {
        let mut days = None;
        let mut remind_days = None;
        let mut act_before = None;
        let mut action = InactivityAction::Report;
        let mut ok = true;
        for (key, _k, v) in self.entries(node, "policy.inactivity", spec::INACTIVITY) {
            match key {
                "days" => {
                    days = self
                        .int(v, "policy.inactivity.days", spec::DAYS)
                        .map(|n| n as u32);
                    ok &= days.is_some();
                }
                "act_before_cycle_end_days" => {
                    act_before = self
                        .int(
                            v,
                            "policy.inactivity.act_before_cycle_end_days",
                            spec::CYCLE_DAYS,
                        )
                        .map(|n| n as u32);
                    ok &= act_before.is_some();
                }
                "remind_days" => {
                    remind_days = self
                        .int(v, "policy.inactivity.remind_days", spec::DAYS)
                        .map(|n| n as u32);
                    ok &= remind_days.is_some();
                }
                "action" => {
                    match self.value(
                        v,
                        "policy.inactivity.action",
                        InactivityAction::VALUES,
                        InactivityAction::from_value,
                    ) {
                        Some(a) => action = a,
                        None => ok = false,
                    }
                }
                _ => unreachable!("entries() only yields allowed keys"),
            }
        }
        if days.is_none() && ok && matches!(node.kind, Kind::Map(_)) {
            self.error(
                node,
                "`policy.inactivity` needs `days`",
                Some("for example `inactivity: {days: 60, action: report}`".into()),
            );
        }
        days.map(|days| Inactivity {
            days,
            action,
            remind_days,
            act_before_cycle_end_days: act_before,
        })
    }

    fn user(&mut self, item: &Node) -> Option<UserEntry> {
        match &item.kind {
            Kind::Str(_) | Kind::Int(_) | Kind::Float | Kind::Bool(_) => {
                self.login(item, "users").map(|login| UserEntry {
                    login,
                    expires: None,
                    note: None,
                    pos: item.pos,
                    budget: None,
                    budget_expires: None,
                    budget_pos: None,
                })
            }
            Kind::Map(_) => {
                let mut login = None;
                let mut login_node_seen = false;
                let mut expires = None;
                let mut note = None;
                let mut budget = None;
                let mut budget_pos = None;
                let mut budget_expires = None;
                let mut pos = item.pos;
                for (key, _k, v) in self.entries(item, "users[]", spec::USER) {
                    match key {
                        "login" => {
                            login_node_seen = true;
                            pos = v.pos;
                            login = self.login(v, "login");
                        }
                        "expires" => expires = self.date(v, "expires"),
                        "note" => note = self.string(v, "note"),
                        "budget" => {
                            budget_pos = Some(v.pos);
                            budget = self.budget_amount(v, "budget");
                        }
                        "budget_expires" => budget_expires = self.date(v, "budget_expires"),
                        _ => unreachable!("entries() only yields allowed keys"),
                    }
                }
                if !login_node_seen {
                    self.error(
                        item,
                        "a user entry needs `login`",
                        Some("for example `- login: octocat`".into()),
                    );
                }
                login.map(|login| UserEntry {
                    login,
                    expires,
                    note,
                    pos,
                    budget,
                    budget_expires,
                    budget_pos,
                })
            }
            _ => {
                self.wrong_type(item, "users[]", "a login or a mapping with `login`");
                None
            }
        }
    }

    fn date(&mut self, v: &Node, what: &str) -> Option<NaiveDate> {
        let s = match &v.kind {
            Kind::Str(s) => s.as_str(),
            _ => {
                self.error(
                    v,
                    format!(
                        "`{what}` must be a date YYYY-MM-DD, found {}",
                        v.kind.describe()
                    ),
                    None,
                );
                return None;
            }
        };
        let well_formed = s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) if well_formed => Some(d),
            _ => {
                self.error(
                    v,
                    format!(
                        "`{what}` is `{}`, not a calendar date in the form YYYY-MM-DD",
                        shorten(s)
                    ),
                    Some(format!("for example `{what}: 2027-03-31`")),
                );
                None
            }
        }
    }

    pub(super) fn file(&mut self, root: &Node) -> Option<SeatsFile> {
        if !matches!(root.kind, Kind::Map(_)) {
            self.error(
                root,
                format!(
                    "seats.yaml must be a mapping with `org:` (or `enterprise:`), found {}",
                    root.kind.describe()
                ),
                None,
            );
            return None;
        }
        let entries = self.entries(root, "seats.yaml", spec::TOP);
        // The scope decides how team slugs validate, so read it first.
        let mut org: Option<(String, &Node)> = None;
        let mut ent: Option<(String, &Node)> = None;
        for &(key, k, v) in &entries {
            match key {
                "org" => {
                    if let Some(s) = self.string(v, "org") {
                        if let Some(p) = login_problem(&s) {
                            self.error(
                                v,
                                format!("invalid organization name `{}`: {p}", shorten(&s)),
                                None,
                            );
                        }
                        org = Some((s, k));
                    }
                }
                "enterprise" => {
                    if let Some(s) = self.string(v, "enterprise") {
                        if let Some(p) = slug_problem(&s, false) {
                            self.error(
                                v,
                                format!("invalid enterprise slug `{}`: {p}", shorten(&s)),
                                None,
                            );
                        }
                        ent = Some((s, k));
                    }
                }
                "version" => {
                    self.int(
                        v,
                        "version",
                        Range {
                            min: spec::VERSION,
                            max: spec::VERSION,
                        },
                    );
                }
                _ => {}
            }
        }
        let scope = match (org, ent) {
            (Some((o, _)), None) => Some(Scope::Org(o)),
            (None, Some((e, _))) => {
                self.enterprise = true;
                Some(Scope::Enterprise(e))
            }
            (Some(_), Some((_, k))) => {
                self.error(
                    k,
                    "both `org` and `enterprise` are set; seats are managed by exactly one of them",
                    Some("keep `org:` for an organization's seats, or `enterprise:` for an enterprise that assigns seats itself".into()),
                );
                None
            }
            (None, None) => {
                let has_key = entries
                    .iter()
                    .any(|(key, _, _)| *key == "org" || *key == "enterprise");
                if !has_key {
                    self.diags.push(Diagnostic {
                        pos: Pos { line: 1, col: 1 },
                        len: 1,
                        message: "missing `org` (or `enterprise`): which organization's seats does this file manage?".into(),
                        help: Some("add a line like `org: acme`".into()),
                    });
                }
                None
            }
        };
        let mut policy = Policy::default();
        let mut teams: Vec<TeamEntry> = Vec::new();
        let mut users: Vec<UserEntry> = Vec::new();
        let mut budgets = None;
        for &(key, _k, v) in &entries {
            match key {
                "budgets" => budgets = self.budgets(v),
                "policy" => policy = self.policy(v),
                "teams" => {
                    let mut seen = Seen::default();
                    for item in self.list(v, "teams") {
                        // `platform` and `ent:platform` are one enterprise team.
                        if let Some(slug) = self.slug(item, "teams")
                            && !self.check_dup(&seen, &self.team_key(&slug), item, "teams")
                        {
                            seen.push(self.team_key(&slug), item.pos);
                            teams.push(TeamEntry {
                                slug,
                                pos: item.pos,
                            });
                        }
                    }
                }
                "users" => {
                    let mut seen = Seen::default();
                    let items = self.list(v, "users");
                    // Sized once: growing by doubling left up to half of a
                    // 50,000-entry list unused for the whole reconcile.
                    users.reserve_exact(items.len());
                    for item in items {
                        if let Some(u) = self.user(item) {
                            let node = Node {
                                pos: u.pos,
                                len: u.login.chars().count() as u32,
                                kind: Kind::Null,
                                bytes: None,
                            };
                            if !self.check_dup(&seen, &u.login, &node, "users") {
                                seen.push(u.login.clone(), u.pos);
                                users.push(u);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(via) = &policy.assign_via_team
            && let Some(t) = teams.iter().find(|t| {
                self.team_key(&t.slug)
                    .eq_ignore_ascii_case(&self.team_key(via))
            })
        {
            self.diags.push(Diagnostic {
                pos: t.pos,
                len: t.slug.chars().count() as u32,
                message: format!(
                    "team `{}` is `policy.assign_via_team`: its membership is `users`, so it cannot also be listed in `teams`",
                    t.slug
                ),
                help: Some("remove it from `teams`".into()),
            });
        }
        Some(SeatsFile {
            scope: scope?,
            policy,
            teams,
            users,
            budgets,
        })
    }

    /// A team slug as compared for duplicates: enterprise slugs with `ent:`.
    fn team_key(&self, slug: &str) -> String {
        if self.enterprise {
            format!("ent:{}", slug.strip_prefix("ent:").unwrap_or(slug))
        } else {
            slug.to_string()
        }
    }
}

/// Names listed so far, in order, with a case-insensitive index: each
/// duplicate check is one lookup, not a scan (a 1 MiB roster holds 80,000
/// logins; scanning made it quadratic, 8 s in release).
#[derive(Default)]
struct Seen {
    names: Vec<(String, Pos)>,
    index: std::collections::HashMap<String, usize>,
}

impl Seen {
    /// The first entry equal to `name` ignoring ASCII case.
    fn first(&self, name: &str) -> Option<&(String, Pos)> {
        self.index
            .get(&name.to_ascii_lowercase())
            .map(|&i| &self.names[i])
    }

    fn push(&mut self, name: String, pos: Pos) {
        self.index
            .entry(name.to_ascii_lowercase())
            .or_insert(self.names.len());
        self.names.push((name, pos));
    }
}

/// `0`, or digits without a leading zero (a `-` allowed, so a negative
/// number is reported as out of range): how an integer is written here.
fn is_plain_decimal(text: &str) -> bool {
    let b = text.strip_prefix('-').unwrap_or(text).as_bytes();
    !b.is_empty() && b.iter().all(u8::is_ascii_digit) && (b == b"0" || b[0] != b'0')
}
