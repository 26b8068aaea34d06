//! `validate`, `plan`, `apply` and `import`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::out::{out, outln};
use super::progress::Line;
use super::{
    ApplyArgs, CHANGES, ERROR, GUARDED, ImportArgs, OK, PlanArgs, ReportFormat, ValidateArgs,
};
use seatkeeper::config::{ConfigError, Scope, SeatsFile};
use seatkeeper::github::SeatListResponse;
use seatkeeper::plan::{Desired, Plan};
use seatkeeper::reconcile::{self, ChangeHook, Mode, Options, Outcome};
use seatkeeper::render::{self, Format};
use seatkeeper::source::Loaded;

/// Load seats.yaml; a problem prints its message once and exits 1.
pub(super) fn load(path: &Path) -> Result<Loaded, ExitCode> {
    match Loaded::from_path(path) {
        Ok(l) => Ok(l),
        Err(seatkeeper::Error::Config(e)) => {
            eprintln!("{e}");
            Err(ExitCode::from(ERROR))
        }
        Err(seatkeeper::Error::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            eprintln!(
                "error: {} does not exist. To start from the seats an organization has today: seatkeeper import --org ORG > {}",
                path.display(),
                path.display()
            );
            Err(ExitCode::from(ERROR))
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(ERROR))
        }
    }
}

fn exit(code: u8) -> ExitCode {
    ExitCode::from(code)
}

pub(super) async fn validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let path = args.path.display().to_string();
    let parsed = match Loaded::from_path(&args.path) {
        Ok(l) => Ok(l),
        Err(seatkeeper::Error::Config(e)) => Err(e),
        Err(_) => return Ok(load(&args.path).err().unwrap_or(exit(ERROR))),
    };
    let problems: Result<Loaded, ConfigError> = match parsed {
        Ok(loaded) if args.online => {
            let client = args.github.client().await?;
            let found = reconcile::check_online(&client, &loaded, 8).await?;
            if found.diagnostics.is_empty() {
                Ok(loaded)
            } else {
                Err(found)
            }
        }
        other => other,
    };
    match (args.format, &problems) {
        (ReportFormat::Json, _) => {
            let (file, diags) = match &problems {
                Ok(l) => (Some(&l.file), Vec::new()),
                Err(e) => (None, e.diagnostics.clone()),
            };
            let doc = serde_json::json!({
                "path": path,
                "valid": problems.is_ok(),
                "online": args.online,
                "scope": file.map(|f| serde_json::json!({"kind": f.scope.kind(), "name": f.scope.name()})),
                "users": file.map(|f| f.users.len()),
                "teams": file.map(|f| f.teams.len()),
                "diagnostics": diags.iter().map(|d| serde_json::json!({
                    "line": d.pos.line, "col": d.pos.col, "message": d.message, "help": d.help,
                })).collect::<Vec<_>>(),
            });
            outln!("{}", serde_json::to_string_pretty(&doc)?);
        }
        (ReportFormat::Text, Ok(loaded)) => {
            let file = &loaded.file;
            outln!(
                "{path}: valid ({} users, {} teams, {} {}{})",
                file.users.len(),
                file.teams.len(),
                file.scope.kind(),
                file.scope.name(),
                if args.online {
                    ", checked with GitHub"
                } else {
                    ""
                }
            );
        }
        (ReportFormat::Text, Err(e)) => eprintln!("{e}"),
    }
    Ok(exit(if problems.is_ok() { OK } else { ERROR }))
}

/// Options with a progress line on a terminal.
fn options(mode: Mode, today: Option<chrono::NaiveDate>, line: &Option<Line>) -> Options {
    Options {
        mode,
        today,
        progress: line.as_ref().map(Line::reporter).unwrap_or_default(),
        ..Options::default()
    }
}

pub(super) async fn plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    // A `github:OWNER/REPO/PATH@REF` source is read from the repository, so
    // a saved plan records (and apply checks) the file there.
    let loaded = match super::saved::load_github(&args.path, &args.github).await {
        Some(Ok(l)) => l,
        Some(Err(e)) => {
            eprintln!("error: {e:#}");
            return Ok(exit(ERROR));
        }
        None => match load(&args.path) {
            Ok(l) => l,
            Err(code) => return Ok(code),
        },
    };
    let base = match &args.base {
        Some(r) => Some(base_file(r, &args.path)?),
        None => None,
    };
    let color = render::use_color() && args.format == Format::Text;
    let bounds = args.bounds.bounds();
    let today = args
        .today
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let (plan, ineligible, digest) = match &args.live_state {
        Some(file) => {
            bounds.check_file(&loaded.file)?;
            let shown = file.display().to_string();
            let bytes =
                seatkeeper::config::read_capped(file, seatkeeper::config::MAX_LISTING_BYTES)
                    .with_context(|| format!("cannot read {shown}"))?;
            let text = String::from_utf8(bytes).with_context(|| format!("{shown} is not UTF-8"))?;
            let live = SeatListResponse::from_json(&shown, &text)?
                .into_live_state(&shown, &loaded.file.scope)?;
            let mut desired = Desired::from_file(&loaded.file);
            desired.limits = desired
                .limits
                .bounded_by(bounds.max_removals, bounds.max_seats);
            let digest = reconcile::digest(&loaded, &live, today);
            let mut plan = seatkeeper::plan::plan(&desired, &live, today);
            reconcile::cost::attach(&mut plan, &live, today, args.prices.prices());
            if let Some(c) = plan.cost.as_mut() {
                c.usage_note = (!c.billed_to_cycle_end.is_empty())
                    .then(|| "AI-credit use is not read with --live-state".to_string());
            }
            (plan, Vec::new(), Some(digest))
        }
        None => {
            let line = Line::on_terminal();
            let progress = line.as_ref().map(Line::reporter).unwrap_or_default();
            let client = args
                .github
                .client_with(|c| c.progress = progress.clone())
                .await?;
            let mut opts = options(Mode::Plan, Some(today), &line);
            opts.bounds = bounds;
            opts.digest = args.out.is_some();
            // --strict: every listed login must be eligible, seated ones too.
            opts.report_listed_ineligible = args.strict;
            opts.seat_prices = args.prices.prices();
            let mut outcome = reconcile::reconcile(&client, &loaded, &opts).await?;
            reconcile::cost::read_usage(&client, &outcome.scope, &mut outcome.plan, today).await;
            drop(line);
            (outcome.plan, outcome.ineligible, outcome.inputs_digest)
        }
    };
    match &base {
        Some(base) if args.format == Format::Markdown => {
            out!("{}", render::pr_markdown(&plan, base, &loaded.file));
        }
        Some(base) => {
            out!(
                "{}",
                render::desired_diff(base, &loaded.file, args.format, color)
            );
            out!("{}", render::render(&plan, args.format, color));
        }
        None => out!("{}", render::render(&plan, args.format, color)),
    }
    if let Some(path) = &args.out {
        super::saved::save(path, &loaded, &plan, today, digest.as_deref().unwrap_or(""))?;
        eprintln!(
            "Saved the plan to {}. Apply exactly it with: seatkeeper apply {} --confirm",
            path.display(),
            super::saved::quote(&path.display().to_string())
        );
    }
    held_diagnostics(&loaded, &plan);
    if args.strict && !ineligible.is_empty() {
        for i in &ineligible {
            eprintln!(
                "{}:{}: {} is not eligible: {}",
                loaded.path, i.pos, i.login, i.reason
            );
        }
        return Ok(exit(ERROR));
    }
    if plan.guard.tripped {
        guard_diagnostics(&plan, "the plan is guarded and must not be applied");
        return Ok(exit(GUARDED));
    }
    // Removals held by the typo guard or by an incomplete listing.
    if plan.is_guarded() {
        return Ok(exit(GUARDED));
    }
    Ok(exit(if plan.is_empty() { OK } else { CHANGES }))
}

/// rustc-style notes for removals the typo guard held, at the line of the
/// listed login.
fn held_diagnostics(loaded: &Loaded, plan: &Plan) {
    for h in &plan.held {
        let pos = loaded
            .file
            .user(&h.listed)
            .map(|u| u.pos.to_string())
            .unwrap_or_else(|| "1:1".into());
        let what = match h.code {
            seatkeeper::plan::SkipCode::NoSuchUser => "is not a GitHub user",
            _ => "is not a member",
        };
        eprintln!(
            "{}:{pos}: `{}` {what}; did you mean `{}`? The removal of {}'s seat is held until seats.yaml says which.",
            loaded.path, h.listed, h.login, h.login
        );
    }
}

fn guard_diagnostics(plan: &Plan, head: &str) {
    eprintln!("error: {head}:");
    for r in &plan.guard.reasons {
        eprintln!("  - {}", render::guard_message(r, str::to_string));
        eprintln!("    to go ahead: {}", render::guard_next_step(r));
    }
}

/// seats.yaml as it is at a git ref, for the PR view.
fn base_file(reference: &str, path: &Path) -> anyhow::Result<SeatsFile> {
    // `git show REF:./PATH` resolves PATH relative to the current directory.
    let spec = format!("{reference}:./{}", path.display());
    let out = std::process::Command::new("git")
        .args(["show", &spec])
        .output()
        .context("cannot run git to read the base version of seats.yaml")?;
    if !out.status.success() {
        anyhow::bail!(
            "cannot read {spec} with git show: {} (fetch the base branch first, e.g. `git fetch origin main`)",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let shown = format!("{reference}:{}", path.display());
    match SeatsFile::parse(&shown, &out.stdout) {
        Ok(f) => Ok(f),
        Err(e) => anyhow::bail!("the base version of seats.yaml does not validate:\n{e}"),
    }
}

pub(super) async fn apply(args: ApplyArgs) -> anyhow::Result<ExitCode> {
    if let Some(saved) = super::saved::read(&args.path)? {
        return super::saved::apply(args, saved).await;
    }
    let loaded = match load(&args.path) {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let line = Line::on_terminal();
    let progress = line.as_ref().map(Line::reporter).unwrap_or_default();
    let batch = args.write.batch_size.max(1);
    let client = args
        .github
        .client_with(|c| {
            c.progress = progress.clone();
            c.batch_size = batch;
        })
        .await?;
    let mut opts = options(Mode::Apply, args.today, &line);
    opts.bounds = args.bounds.bounds();
    opts.seat_prices = args.prices.prices();
    opts.batch_size = batch;
    let mut outcome = reconcile::prepare(&client, &loaded, &opts).await?;
    drop(line);
    run_apply(&args, &client, &loaded, &mut opts, &mut outcome).await
}

/// Show the plan; without --confirm say how to apply it; with it, apply,
/// printing each change as it lands (the record a killed apply leaves).
pub(super) async fn run_apply(
    args: &ApplyArgs,
    client: &seatkeeper::github::client::GitHubClient,
    loaded: &Loaded,
    opts: &mut Options,
    outcome: &mut Outcome,
) -> anyhow::Result<ExitCode> {
    let json = args.format == ReportFormat::Json;
    if !json {
        out!("{}", render::text(&outcome.plan, render::use_color()));
    }
    held_diagnostics(loaded, &outcome.plan);
    let report = |outcome: &Outcome, code: u8| -> anyhow::Result<ExitCode> {
        if json {
            let plan: serde_json::Value = serde_json::from_str(&render::json(&outcome.plan))?;
            let doc = serde_json::json!({
                "plan": plan,
                "status": outcome.status,
                "results": outcome.results,
            });
            outln!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Ok(exit(code))
    };
    if outcome.plan.guard.tripped {
        guard_diagnostics(&outcome.plan, "the plan is guarded; nothing was applied");
        return report(outcome, GUARDED);
    }
    if outcome.plan.is_empty() {
        return report(
            outcome,
            if outcome.plan.is_guarded() {
                GUARDED
            } else {
                OK
            },
        );
    }
    if !args.confirm {
        if !json {
            outln!(
                "\nNothing was applied. To apply this plan, run:\n  {}",
                confirm_command()
            );
        }
        return report(outcome, CHANGES);
    }
    if loaded.file.policy.suspend {
        if !json {
            outln!(
                "\nNothing was applied: policy.suspend is true in {}.",
                loaded.path
            );
        }
        return report(outcome, OK);
    }
    if !json {
        outln!();
        opts.on_change = ChangeHook::new(|r| out!("{}", render::result_line(r)))
            .on_budget(|r| out!("{}", render::budget_result_line(r)));
    }
    reconcile::apply(client, loaded, opts, outcome).await?;
    if !json {
        out!("{}", render::results_summary(&outcome.results));
    }
    // A failed budget write fails the command as a failed seat write does.
    let code = if outcome.failed().next().is_some() || outcome.budgets_failed().next().is_some() {
        ERROR
    } else if outcome.plan.is_guarded() {
        GUARDED
    } else {
        OK
    };
    report(outcome, code)
}

/// The command line as given, with `--confirm`: every connection flag the
/// user gave is repeated, so pasting it applies to the same GitHub.
fn confirm_command() -> String {
    let mut words: Vec<String> = std::env::args().collect();
    if let Some(first) = words.first_mut() {
        *first = "seatkeeper".to_string();
    }
    words.push("--confirm".into());
    words
        .iter()
        .map(|w| super::saved::quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) async fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let scope = match (args.scope.org, args.scope.enterprise) {
        (Some(o), _) => Scope::Org(o),
        (None, Some(e)) => Scope::Enterprise(e),
        (None, None) => anyhow::bail!("give --org ORG or --enterprise NAME"),
    };
    let line = Line::on_terminal();
    let progress = line.as_ref().map(Line::reporter).unwrap_or_default();
    let client = args
        .github
        .client_with(|c| c.progress = progress.clone())
        .await?;
    let live = seatkeeper::github::SeatApi::list_seats(&client, &scope).await?;
    drop(line);
    match args.format {
        ReportFormat::Text => out!("{}", render::seats_yaml(&scope, &live)),
        ReportFormat::Json => {
            let doc = serde_json::json!({
                "scope": {"kind": scope.kind(), "name": scope.name()},
                "users": live.users,
            });
            outln!("{}", serde_json::to_string_pretty(&doc)?);
        }
    }
    Ok(exit(OK))
}
