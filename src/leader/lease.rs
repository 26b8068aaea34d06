//! The `coordination.k8s.io/v1` Lease object (the fields leader election
//! uses, everything else kept as read) and [`LeaseApi`], the three verbs on
//! one Lease that election and fencing need.
//!
//! Field names and formats from the Kubernetes API reference ("Lease v1
//! coordination.k8s.io"): `spec.holderIdentity`, `spec.leaseDurationSeconds`,
//! `spec.acquireTime` and `spec.renewTime` (MicroTime: RFC 3339 with
//! microseconds), `spec.leaseTransitions`; a `PUT` carrying
//! `metadata.resourceVersion` is refused with 409 Conflict when the object
//! changed since that version.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// The annotation holding the apply generation: bumped (with a
/// `resourceVersion` precondition) before every write batch, so a write
/// batch is only ever sent under the newest generation.
pub const GENERATION_ANNOTATION: &str = "seatkeeper.dev/apply-generation";

/// A Lease as read from or sent to the API server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    /// `coordination.k8s.io/v1`.
    #[serde(rename = "apiVersion", default = "api_version")]
    pub api_version: String,
    /// `Lease`.
    #[serde(default = "kind")]
    pub kind: String,
    /// Name, namespace, resourceVersion, annotations (and whatever else the
    /// server sent, sent back unchanged).
    pub metadata: LeaseMeta,
    /// The election record.
    #[serde(default)]
    pub spec: LeaseSpec,
}

fn api_version() -> String {
    "coordination.k8s.io/v1".into()
}

fn kind() -> String {
    "Lease".into()
}

/// `metadata` of a Lease.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeaseMeta {
    /// The Lease's name.
    pub name: String,
    /// Its namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The version a replace is conditional on (absent on create).
    #[serde(
        rename = "resourceVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_version: Option<String>,
    /// Annotations; [`GENERATION_ANNOTATION`] lives here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// uid, creationTimestamp, managedFields...: kept and sent back.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// `spec` of a Lease.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseSpec {
    /// Who holds it; empty or absent: nobody (released).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_identity: Option<String>,
    /// How long a holder's renewal counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_duration_seconds: Option<i64>,
    /// When the current holder acquired it (MicroTime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquire_time: Option<String>,
    /// When the holder last renewed it (MicroTime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_time: Option<String>,
    /// How many times the holder changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_transitions: Option<i64>,
    /// Fields of newer API versions, kept and sent back.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Lease {
    /// A new Lease object (for create).
    pub fn new(name: &str, namespace: &str) -> Lease {
        Lease {
            api_version: api_version(),
            kind: kind(),
            metadata: LeaseMeta {
                name: name.to_string(),
                namespace: Some(namespace.to_string()),
                ..LeaseMeta::default()
            },
            spec: LeaseSpec::default(),
        }
    }

    /// The holder, `None` when empty or absent (released or never held).
    pub fn holder(&self) -> Option<&str> {
        self.spec
            .holder_identity
            .as_deref()
            .filter(|h| !h.is_empty())
    }

    /// The apply generation recorded on the Lease (0 when absent or not a
    /// number).
    pub fn generation(&self) -> u64 {
        self.metadata
            .annotations
            .get(GENERATION_ANNOTATION)
            .and_then(|g| g.parse().ok())
            .unwrap_or(0)
    }

    /// Record `generation` on the Lease.
    pub fn set_generation(&mut self, generation: u64) {
        self.metadata
            .annotations
            .insert(GENERATION_ANNOTATION.to_string(), generation.to_string());
    }

    /// `spec.renewTime`, when present and well-formed.
    pub fn renew_time(&self) -> Option<DateTime<Utc>> {
        let t = self.spec.renew_time.as_deref()?;
        DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The part of the object whose change means "the holder did
    /// something": the spec and the generation (not managedFields, which the
    /// server rewrites).
    pub fn record(&self) -> (LeaseSpec, u64) {
        (self.spec.clone(), self.generation())
    }
}

/// A MicroTime: RFC 3339 in UTC with microseconds, as the API server writes it.
pub fn micro_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// What went wrong talking to the Lease API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    /// 409: the Lease changed since the version the request was conditional
    /// on, or (create) it already exists.
    #[error("the Lease changed under us (409 Conflict: {0})")]
    Conflict(String),
    /// Any other answer that is not a success (5xx, 403...).
    #[error("the Lease API answered {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The `Status` object's message, or the body.
        message: String,
    },
    /// No answer (connection refused, reset, timed out).
    #[error("cannot reach the Lease API at {url}: {message}")]
    Unreachable {
        /// Where.
        url: String,
        /// What failed.
        message: String,
    },
    /// An answer that is not a Lease.
    #[error("the Lease API answered something that is not a Lease: {0}")]
    Decode(String),
    /// Bad flags or in-cluster configuration.
    #[error("{0}")]
    Config(String),
}

impl LeaseError {
    /// A short fixed word, for logging each kind of failure once.
    pub fn kind(&self) -> &'static str {
        match self {
            LeaseError::Conflict(_) => "conflict",
            LeaseError::Status { status, .. } if *status >= 500 => "server_error",
            LeaseError::Status { .. } => "refused",
            LeaseError::Unreachable { .. } => "unreachable",
            LeaseError::Decode(_) => "decode",
            LeaseError::Config(_) => "config",
        }
    }
}

/// The three verbs on one Lease (`GET`, `POST` create, `PUT` replace with a
/// `resourceVersion` precondition). The Kubernetes client in
/// [`super::kube`] implements it; tests may swap in their own.
#[async_trait]
pub trait LeaseApi: Send + Sync {
    /// The Lease, or `None` when it does not exist (404).
    async fn get(&self) -> Result<Option<Lease>, LeaseError>;
    /// Create it; [`LeaseError::Conflict`] when it already exists.
    async fn create(&self, lease: &Lease) -> Result<Lease, LeaseError>;
    /// Replace it, conditional on `lease.metadata.resourceVersion`;
    /// [`LeaseError::Conflict`] when it changed since.
    async fn replace(&self, lease: &Lease) -> Result<Lease, LeaseError>;
    /// Where the Lease is, for logs (`namespace/name at URL`).
    fn describe(&self) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_what_it_does_not_know_and_reads_micro_time() {
        let text = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease",
          "metadata":{"name":"seatkeeper","namespace":"ops","resourceVersion":"42",
            "uid":"u-1","annotations":{"seatkeeper.dev/apply-generation":"7"}},
          "spec":{"holderIdentity":"a","leaseDurationSeconds":35,
            "acquireTime":"2026-12-05T01:00:00.000000Z","renewTime":"2026-12-05T01:00:05.123456Z",
            "leaseTransitions":3,"strategy":"OldestEmulationVersion"}}"#;
        let lease: Lease = serde_json::from_str(text).unwrap();
        assert_eq!(lease.holder(), Some("a"));
        assert_eq!(lease.generation(), 7);
        assert_eq!(lease.metadata.resource_version.as_deref(), Some("42"));
        let renew = lease.renew_time().unwrap();
        assert_eq!(micro_time(renew), "2026-12-05T01:00:05.123456Z");
        let back = serde_json::to_value(&lease).unwrap();
        assert_eq!(back["metadata"]["uid"], "u-1");
        assert_eq!(back["spec"]["strategy"], "OldestEmulationVersion");
        assert_eq!(back["spec"]["leaseTransitions"], 3);
        let released = Lease {
            spec: LeaseSpec {
                holder_identity: Some(String::new()),
                ..LeaseSpec::default()
            },
            ..lease
        };
        assert_eq!(released.holder(), None);
    }
}
