//! [`LeaseApi`] over the Kubernetes REST API, with the HTTP stack already in
//! the tree (hyper-util's client, rustls with the cluster's CA).
//!
//! Why not `kube` + `k8s-openapi` (+ `kube-lease-manager`): election needs
//! three verbs on one object, and those crates would be the largest
//! compiles in the tree (k8s-openapi 0.29 builds ~118,000 lines of generated
//! types for the one Kubernetes version a feature selects, out of 610,000
//! in its 3.1 MB crate, before kube-client's own stack; CI is already at
//! 9:20 of its 10-minute target); and no lease crate fences a
//! deposed leader, which is the part that matters here. This file is the
//! whole client: in-cluster configuration, the service-account token re-read
//! before each request (kubelet rotates projected tokens), and the
//! Kubernetes `Status` body's message on errors.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::lease::{Lease, LeaseApi, LeaseError};

/// Where a pod finds its service account.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Largest Lease answer read (a Lease is well under 2 KiB; managedFields
/// can add a few).
const MAX_BODY: usize = 256 * 1024;

/// The Lease API of one cluster, for one Lease.
pub struct KubeLeases {
    base: String,
    namespace: String,
    name: String,
    /// The bearer token's file, re-read before each request; `None` for a
    /// loopback test server.
    token_file: Option<PathBuf>,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for KubeLeases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl KubeLeases {
    /// In a pod: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`,
    /// trusting only the service account's `ca.crt`, with its token.
    pub fn in_cluster(
        namespace: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<KubeLeases, LeaseError> {
        let env = |k: &str| {
            std::env::var(k).ok().filter(|v| !v.is_empty()).ok_or_else(|| {
                LeaseError::Config(format!(
                    "--leader-elect outside a pod: {k} is not set (the Lease API is found from the in-cluster service environment)"
                ))
            })
        };
        let host = env("KUBERNETES_SERVICE_HOST")?;
        let port = env("KUBERNETES_SERVICE_PORT")?;
        // An IPv6 service address needs brackets in a URL.
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        let dir = Path::new(SERVICE_ACCOUNT_DIR);
        let ca = std::fs::read(dir.join("ca.crt")).map_err(|e| {
            LeaseError::Config(format!(
                "cannot read the cluster CA {}/ca.crt: {e} (does the pod mount its service account token?)",
                dir.display()
            ))
        })?;
        let tls = tls_config(&ca)?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .build();
        Ok(KubeLeases {
            base: format!("https://{host}:{port}"),
            namespace: namespace.to_string(),
            name: name.to_string(),
            token_file: Some(dir.join("token")),
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        })
    }

    /// A Lease API served over plain HTTP on a loopback address (tests,
    /// `kubectl proxy`); anything else is refused, so a token can never be
    /// sent in clear text over a network.
    pub fn loopback(
        url: &str,
        namespace: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<KubeLeases, LeaseError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| LeaseError::Config(format!("--lease-api-url `{url}`: {e}")))?;
        let loopback = uri.host().is_some_and(|h| {
            let h = h.trim_start_matches('[').trim_end_matches(']');
            h == "localhost"
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
        if uri.scheme_str() != Some("http") || !loopback {
            return Err(LeaseError::Config(format!(
                "--lease-api-url `{url}` must be http:// on a loopback address (tests, `kubectl proxy`); in a pod leave it out: the in-cluster API server is used, over TLS"
            )));
        }
        let tls = tls_config(&[])?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(KubeLeases {
            base: url.trim_end_matches('/').to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            token_file: None,
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        })
    }

    fn collection(&self) -> String {
        format!(
            "{}/apis/coordination.k8s.io/v1/namespaces/{}/leases",
            self.base, self.namespace
        )
    }

    fn object(&self) -> String {
        format!("{}/{}", self.collection(), self.name)
    }

    async fn send(
        &self,
        method: Method,
        url: String,
        body: Option<&Lease>,
    ) -> Result<(StatusCode, Bytes), LeaseError> {
        let unreachable = |message: String| LeaseError::Unreachable {
            url: url.clone(),
            message,
        };
        let mut req = Request::builder()
            .method(method)
            .uri(&url)
            .header(header::ACCEPT, "application/json");
        if let Some(path) = &self.token_file {
            // Re-read every time: projected tokens rotate under the pod.
            let token = std::fs::read_to_string(path).map_err(|e| {
                LeaseError::Config(format!(
                    "cannot read the service account token {}: {e}",
                    path.display()
                ))
            })?;
            req = req.header(header::AUTHORIZATION, format!("Bearer {}", token.trim()));
        }
        let bytes = match body {
            Some(lease) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                serde_json::to_vec(lease).map_err(|e| LeaseError::Decode(e.to_string()))?
            }
            None => Vec::new(),
        };
        let req = req
            .body(Full::new(Bytes::from(bytes)))
            .map_err(|e| LeaseError::Config(e.to_string()))?;
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| unreachable(error_chain(&e)))?;
            let status = resp.status();
            let body = http_body_util::Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| unreachable(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| unreachable(format!("no answer within {:?}", self.timeout)))?
    }
}

/// rustls trusting exactly `ca_pem`'s certificates (none for plain HTTP).
fn tls_config(ca_pem: &[u8]) -> Result<rustls::ClientConfig, LeaseError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| LeaseError::Config(format!("the cluster CA: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| LeaseError::Config(format!("the cluster CA: {e}")))?;
    }
    if !ca_pem.is_empty() && roots.is_empty() {
        return Err(LeaseError::Config(
            "the cluster CA file holds no PEM certificate".into(),
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LeaseError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The `message` of a Kubernetes `Status` body, else the body itself.
fn status_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned())
}

fn decode(status: StatusCode, body: &[u8]) -> Result<Lease, LeaseError> {
    match status {
        s if s.is_success() => {
            serde_json::from_slice(body).map_err(|e| LeaseError::Decode(e.to_string()))
        }
        StatusCode::CONFLICT => Err(LeaseError::Conflict(status_message(body))),
        s => Err(LeaseError::Status {
            status: s.as_u16(),
            message: status_message(body),
        }),
    }
}

#[async_trait]
impl LeaseApi for KubeLeases {
    async fn get(&self) -> Result<Option<Lease>, LeaseError> {
        let (status, body) = self.send(Method::GET, self.object(), None).await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        decode(status, &body).map(Some)
    }

    async fn create(&self, lease: &Lease) -> Result<Lease, LeaseError> {
        let mut lease = lease.clone();
        lease.metadata.name = self.name.clone();
        lease.metadata.namespace = Some(self.namespace.clone());
        let (status, body) = self
            .send(Method::POST, self.collection(), Some(&lease))
            .await?;
        decode(status, &body)
    }

    async fn replace(&self, lease: &Lease) -> Result<Lease, LeaseError> {
        let (status, body) = self.send(Method::PUT, self.object(), Some(lease)).await?;
        decode(status, &body)
    }

    fn describe(&self) -> String {
        format!("Lease {}/{} at {}", self.namespace, self.name, self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback() {
        let t = Duration::from_secs(1);
        assert!(KubeLeases::loopback("http://127.0.0.1:8001", "ns", "l", t).is_ok());
        assert!(KubeLeases::loopback("http://[::1]:8001", "ns", "l", t).is_ok());
        assert!(KubeLeases::loopback("http://localhost:8001", "ns", "l", t).is_ok());
        for bad in [
            "http://10.0.0.1:8001",
            "https://127.0.0.1:6443",
            "http://kubernetes.default.svc",
        ] {
            let e = KubeLeases::loopback(bad, "ns", "l", t).unwrap_err();
            assert!(e.to_string().contains("loopback"), "{bad}: {e}");
        }
    }

    #[test]
    fn errors_carry_the_status_message() {
        let body = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Operation cannot be fulfilled on leases.coordination.k8s.io \"seatkeeper\": the object has been modified; please apply your changes to the latest version and try again","reason":"Conflict","code":409}"#;
        match decode(StatusCode::CONFLICT, body) {
            Err(LeaseError::Conflict(m)) => assert!(m.contains("has been modified"), "{m}"),
            other => panic!("{other:?}"),
        }
        match decode(StatusCode::SERVICE_UNAVAILABLE, b"upstream down") {
            Err(e @ LeaseError::Status { status: 503, .. }) => {
                assert_eq!(e.kind(), "server_error")
            }
            other => panic!("{other:?}"),
        }
    }
}
