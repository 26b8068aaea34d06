//! Saved plans (`plan --out PLAN.json`, then `apply PLAN.json --confirm`),
//! as terraform's `plan -out`: what a reviewer approved is what is applied,
//! or nothing is.
//!
//! The file holds the plan (the JSON contract), the seats.yaml it was
//! computed from (bytes as text, so apply needs nothing else), that file's
//! git blob SHA, the date it was planned for, and the SHA-256 of those
//! inputs with the live listing. `apply` first reads seats.yaml where the
//! plan read it (the file on disk, or the repository at its ref) and
//! refuses when it changed since: a reviewed plan of a file that has moved
//! on is not what the file now asks for. Then it reads the live seats again,
//! plans the saved seats.yaml for the saved date, and applies only when the
//! new plan is the saved one.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::commands::run_apply;
use super::out::outln;
use super::progress::Line;
use super::{ApplyArgs, ERROR};
use seatkeeper::github::client::GitHubClient;
use seatkeeper::plan::Plan;
use seatkeeper::reconcile::{self, Mode, Options};
use seatkeeper::render;
use seatkeeper::source::{Loaded, Source, SourceSpec, git_blob_sha};

/// The version of the saved-plan file format (2 added `seats_sha`).
const SAVED_PLAN_VERSION: u32 = 2;

/// Largest saved plan read, in bytes (a 100,000-change plan is ~10 MB).
const MAX_SAVED_BYTES: usize = 64 * 1024 * 1024;

/// A saved plan.
#[derive(Debug, Serialize, Deserialize)]
pub struct Saved {
    /// The format version; the key marks the file as a saved plan.
    seatkeeper_saved_plan: u32,
    /// The seatkeeper version that wrote it.
    version: String,
    /// When it was written.
    created_at: chrono::DateTime<chrono::Utc>,
    /// The date it was planned for.
    today: chrono::NaiveDate,
    /// Where seats.yaml was read from.
    seats_path: String,
    /// seats.yaml's text, as planned.
    seats_yaml: String,
    /// The git blob SHA of seats.yaml as planned (`git hash-object`), to
    /// tell at apply whether the file changed since.
    seats_sha: String,
    /// SHA-256 of seats.yaml, the live listing and the date.
    inputs_sha256: String,
    /// The plan, in the `--format json` contract.
    plan: serde_json::Value,
}

/// Write `plan` and its inputs to `path`.
pub fn save(
    path: &Path,
    loaded: &Loaded,
    plan: &Plan,
    today: chrono::NaiveDate,
    digest: &str,
) -> anyhow::Result<()> {
    let saved = Saved {
        seatkeeper_saved_plan: SAVED_PLAN_VERSION,
        version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: chrono::Utc::now(),
        today,
        seats_path: loaded.path.clone(),
        seats_yaml: loaded.text.clone(),
        seats_sha: loaded
            .sha
            .clone()
            .unwrap_or_else(|| git_blob_sha(loaded.text.as_bytes())),
        inputs_sha256: digest.to_string(),
        plan: serde_json::from_str(&render::json(plan))?,
    };
    let text = serde_json::to_string_pretty(&saved)? + "\n";
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The saved plan at `path`, or `None` when the file is not one (then it is
/// a seats.yaml).
pub fn read(path: &Path) -> anyhow::Result<Option<Saved>> {
    let Ok(bytes) = seatkeeper::config::read_capped(path, MAX_SAVED_BYTES) else {
        return Ok(None);
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Ok(None);
    };
    if value.get("seatkeeper_saved_plan").is_none() {
        return Ok(None);
    }
    let saved: Saved = serde_json::from_value(value)
        .with_context(|| format!("{} is not a saved plan seatkeeper can read", path.display()))?;
    if saved.seatkeeper_saved_plan != SAVED_PLAN_VERSION {
        anyhow::bail!(
            "{} is a saved plan of format {}, this seatkeeper reads format {SAVED_PLAN_VERSION}: plan again with this version",
            path.display(),
            saved.seatkeeper_saved_plan
        );
    }
    Ok(Some(saved))
}

/// `apply PLAN.json`: plan the saved seats.yaml against the live seats for
/// the saved date; apply only if the plan is the saved one.
pub async fn apply(args: ApplyArgs, saved: Saved) -> anyhow::Result<ExitCode> {
    let shown = format!("{} (saved in {})", saved.seats_path, args.path.display());
    let loaded = match Loaded::parse(&shown, saved.seats_yaml.as_bytes(), None) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "error: the seats.yaml saved in {} no longer parses: {e}",
                args.path.display()
            );
            return Ok(ExitCode::from(ERROR));
        }
    };
    if args.today.is_some_and(|t| t != saved.today) {
        anyhow::bail!(
            "--today differs from the date the plan was saved for ({}): a saved plan is applied for its own date",
            saved.today
        );
    }
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
    if let Err(why) = unchanged_source(&saved, &client).await {
        drop(line);
        eprintln!(
            "error: {why}, so nothing was applied: the saved plan is of the file as it was. Plan again ({}) and apply that plan.",
            format_args!(
                "seatkeeper plan {} --out {}",
                quote(&saved.seats_path),
                quote(&args.path.display().to_string())
            )
        );
        return Ok(ExitCode::from(ERROR));
    }
    let mut opts = Options {
        mode: Mode::Apply,
        today: Some(saved.today),
        bounds: args.bounds.bounds(),
        seat_prices: args.prices.prices(),
        batch_size: batch,
        progress: line.as_ref().map(Line::reporter).unwrap_or_default(),
        digest: true,
        ..Options::default()
    };
    let mut outcome = reconcile::prepare(&client, &loaded, &opts).await?;
    drop(line);
    let now: serde_json::Value = serde_json::from_str(&render::json(&outcome.plan))?;
    // The cost preview informs, it is not what was approved: AI-credit use
    // grows by the minute and `apply` does not read it.
    let without_cost = |v: &serde_json::Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("cost");
        }
        v
    };
    if without_cost(&now) != without_cost(&saved.plan) {
        let a = serde_json::to_string_pretty(&saved.plan)? + "\n";
        let b = serde_json::to_string_pretty(&now)? + "\n";
        let diff = similar::TextDiff::from_lines(&a, &b)
            .unified_diff()
            .header("saved plan", "plan now")
            .to_string();
        eprintln!(
            "error: the live seats changed since the plan was saved: planning {} again gives a different plan, so nothing was applied. Review the new plan (seatkeeper plan ... --out PLAN.json) and apply that.\n{diff}",
            saved.seats_path
        );
        return Ok(ExitCode::from(ERROR));
    }
    if outcome.inputs_digest.as_deref() != Some(saved.inputs_sha256.as_str()) {
        // Same plan from changed inputs (activity timestamps move): fine.
        tracing::info!("the listing changed since the plan was saved, but the plan is the same");
    }
    if args.confirm {
        outln!("The saved plan is still what GitHub needs: applying it.");
    }
    run_apply(&args, &client, &loaded, &mut opts, &mut outcome).await
}

/// Ok when seats.yaml, read again where the plan read it, is still the
/// file that was planned (same git blob SHA); else what changed.
async fn unchanged_source(saved: &Saved, client: &GitHubClient) -> Result<(), String> {
    let spec: SourceSpec = saved
        .seats_path
        .parse()
        .map_err(|e: String| format!("cannot read {} again: {e}", saved.seats_path))?;
    let (now, place) = match &spec {
        SourceSpec::Path(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                format!(
                    "cannot read {} to check it is the file that was planned ({e}; run apply from the directory plan ran in)",
                    path.display()
                )
            })?;
            (git_blob_sha(&bytes), "on disk")
        }
        SourceSpec::GitHub { .. } => {
            let raw = Source::new(spec.clone())
                .read(client)
                .await
                .map_err(|e| format!("cannot read {} again: {e}", saved.seats_path))?;
            (raw.sha, "in the repository")
        }
    };
    if now == saved.seats_sha {
        return Ok(());
    }
    let short = |s: &str| s.chars().take(12).collect::<String>();
    Err(format!(
        "{} changed {place} since the plan was saved (git blob {} when planned, {} now)",
        saved.seats_path,
        short(&saved.seats_sha),
        short(&now)
    ))
}

/// seats.yaml from a `github:OWNER/REPO/PATH@REF` source, read through the
/// Contents API; `None` when `path` is a local file.
pub async fn load_github(
    path: &Path,
    github: &seatkeeper::github::args::GitHubArgs,
) -> Option<anyhow::Result<Loaded>> {
    let shown = path.to_str()?;
    if !shown.starts_with("github:") {
        return None;
    }
    Some(
        async {
            let spec: SourceSpec = shown.parse().map_err(anyhow::Error::msg)?;
            let client = github.client().await?;
            Ok(Source::new(spec).fetch(&client).await?)
        }
        .await,
    )
}

/// A word for a POSIX shell: as is when safe, else single-quoted.
pub fn quote(w: &str) -> String {
    let safe = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if safe {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_for_a_shell() {
        #[rustfmt::skip]
        let cases = [
            ("apply", "apply"),
            ("--github-url=http://127.0.0.1:8080", "--github-url=http://127.0.0.1:8080"),
            ("my seats.yaml", "'my seats.yaml'"),
            ("it's", r"'it'\''s'"),
            ("", "''"),
        ];
        for (w, want) in cases {
            assert_eq!(quote(w), want);
        }
    }
}
