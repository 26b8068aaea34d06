//! `seatkeeper run`'s leader-election flags, their timings, and building
//! the [`Elector`] they ask for.

use std::sync::Arc;
use std::time::Duration;

use super::lease::{LeaseApi, LeaseError};
use super::{Elector, LeaderMetrics, kube};

/// `seatkeeper run` leader-election flags.
#[derive(Debug, Clone, clap::Args)]
pub struct LeaderArgs {
    /// Run as one of several replicas: only the holder of a coordination.k8s.io/v1 Lease reconciles and writes; the others serve probes, metrics and /status.
    #[arg(long)]
    pub leader_elect: bool,
    /// The Lease's name.
    #[arg(long, default_value = "seatkeeper", value_name = "NAME")]
    pub lease_name: String,
    /// The Lease's namespace; default: the pod's own (from its service account).
    #[arg(long, value_name = "NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// How long a renewal holds the Lease; a follower takes over a Lease unchanged this long.
    #[arg(long, default_value = "35s", value_name = "DURATION", value_parser = parse_duration)]
    pub lease_duration: Duration,
    /// The leader steps down when it has not renewed for this long.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = parse_duration)]
    pub renew_deadline: Duration,
    /// How often the leader renews and followers try to acquire.
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = parse_duration)]
    pub retry_period: Duration,
    /// How far replicas' clocks may disagree: the leader stops writing this long before its lease would end, and a renewTime further off than this is logged as clock skew.
    #[arg(long, default_value = "2s", value_name = "DURATION", value_parser = parse_duration)]
    pub clock_skew_tolerance: Duration,
    /// This replica's identity on the Lease; default: $HOSTNAME (the pod name) and a random suffix.
    #[arg(long, value_name = "ID")]
    pub lease_identity: Option<String>,
    /// Talk to the Lease API at this http:// loopback URL (tests, `kubectl proxy`) instead of the in-cluster API server.
    #[arg(long, value_name = "URL")]
    pub lease_api_url: Option<String>,
}

impl Default for LeaderArgs {
    /// Off, with the flags' defaults.
    fn default() -> Self {
        LeaderArgs {
            leader_elect: false,
            lease_name: "seatkeeper".into(),
            lease_namespace: None,
            lease_duration: Duration::from_secs(35),
            renew_deadline: Duration::from_secs(30),
            retry_period: Duration::from_secs(5),
            clock_skew_tolerance: Duration::from_secs(2),
            lease_identity: None,
            lease_api_url: None,
        }
    }
}

/// Parse `35s`, `1.5s`, `300ms`, `2m` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write e.g. 35s, 1.5s or 300ms"))?;
    if !value.is_finite() || value < 0.0 || value * scale > 86_400.0 {
        return Err(format!("`{text}`: a duration between 0 and 24h"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

/// The election's timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// `--lease-duration`.
    pub lease_duration: Duration,
    /// `--renew-deadline`.
    pub renew_deadline: Duration,
    /// `--retry-period`.
    pub retry_period: Duration,
    /// `--clock-skew-tolerance`.
    pub skew_tolerance: Duration,
}

impl Timing {
    /// The flags' timings, refused unless retry < renew deadline < lease
    /// duration and the tolerance fits between the deadline and the lease
    /// (else a leader would stop writing before it stops renewing, or never
    /// write at all).
    pub fn new(args: &LeaderArgs) -> Result<Timing, LeaseError> {
        let t = Timing {
            lease_duration: args.lease_duration,
            renew_deadline: args.renew_deadline,
            retry_period: args.retry_period,
            skew_tolerance: args.clock_skew_tolerance,
        };
        if t.retry_period.is_zero()
            || t.retry_period >= t.renew_deadline
            || t.renew_deadline >= t.lease_duration
        {
            return Err(LeaseError::Config(format!(
                "leader election needs 0 < --retry-period ({:?}) < --renew-deadline ({:?}) < --lease-duration ({:?})",
                t.retry_period, t.renew_deadline, t.lease_duration
            )));
        }
        if t.skew_tolerance >= t.lease_duration - t.renew_deadline {
            return Err(LeaseError::Config(format!(
                "--clock-skew-tolerance ({:?}) must be less than --lease-duration minus --renew-deadline ({:?})",
                t.skew_tolerance,
                t.lease_duration - t.renew_deadline
            )));
        }
        Ok(t)
    }

    /// `leaseDurationSeconds` as written on the Lease (whole seconds, at
    /// least 1, rounded up).
    pub(super) fn lease_seconds(&self) -> i64 {
        (self.lease_duration.as_secs_f64().ceil() as i64).max(1)
    }
}

impl LeaderArgs {
    /// With `--leader-elect`: the elector (not yet running); `None` without.
    pub fn elector(&self, metrics: LeaderMetrics) -> Result<Option<Arc<Elector>>, LeaseError> {
        if !self.leader_elect {
            return Ok(None);
        }
        let timing = Timing::new(self)?;
        let namespace = match &self.lease_namespace {
            Some(ns) => ns.clone(),
            None => std::fs::read_to_string(
                std::path::Path::new(kube::SERVICE_ACCOUNT_DIR).join("namespace"),
            )
            .map(|s| s.trim().to_string())
            .map_err(|e| {
                LeaseError::Config(format!(
                    "--lease-namespace not given and the pod's namespace is unreadable ({e})"
                ))
            })?,
        };
        // Each request is bounded so a hung API server cannot hold a
        // renewal past the renew deadline.
        let timeout = timing.retry_period.max(Duration::from_millis(500));
        let api: Arc<dyn LeaseApi> = match &self.lease_api_url {
            Some(url) => Arc::new(kube::KubeLeases::loopback(
                url,
                &namespace,
                &self.lease_name,
                timeout,
            )?),
            None => Arc::new(kube::KubeLeases::in_cluster(
                &namespace,
                &self.lease_name,
                timeout,
            )?),
        };
        let identity = match &self.lease_identity {
            Some(id) if !id.trim().is_empty() => id.trim().to_string(),
            _ => {
                // A restarted pod keeps its name; the suffix makes it a new
                // candidate rather than the holder of its predecessor's term.
                let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "seatkeeper".into());
                format!("{host}_{:08x}", rand::random::<u32>())
            }
        };
        Ok(Some(Elector::new(api, timing, identity, metrics)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("35s"), Ok(Duration::from_secs(35)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        for bad in ["", "s", "-1s", "1h", "nan", "1e9s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timings_must_nest() {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            a: LeaderArgs,
        }
        let t = |args: &[&str]| {
            let mut all = vec!["x"];
            all.extend_from_slice(args);
            Timing::new(&Cli::try_parse_from(all).unwrap().a)
        };
        let defaults = t(&[]).unwrap();
        assert_eq!(defaults, Timing::new(&LeaderArgs::default()).unwrap());
        assert_eq!(defaults.lease_duration, Duration::from_secs(35));
        assert_eq!(defaults.lease_seconds(), 35);
        assert!(t(&["--renew-deadline", "40s"]).is_err());
        assert!(t(&["--retry-period", "30s"]).is_err());
        assert!(t(&["--clock-skew-tolerance", "5s"]).is_err());
        let short = t(&[
            "--lease-duration",
            "2s",
            "--renew-deadline",
            "1.5s",
            "--retry-period",
            "0.3s",
            "--clock-skew-tolerance",
            "0.3s",
        ])
        .unwrap();
        assert_eq!(short.lease_seconds(), 2);
    }
}
