//! Connecting to a daemon's control API: over its Unix socket (a path, or
//! on Linux an abstract name `@name`) or loopback TCP. Used by
//! `headroomctl` and the tests.

use std::path::PathBuf;

use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};

use super::ControlClient;

/// Where a daemon's control API listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlAddr {
    /// A Unix socket path.
    Unix(PathBuf),
    /// A Linux abstract Unix socket name (no filesystem entry).
    Abstract(String),
    /// `host:port` on loopback.
    Tcp(String),
}

impl std::fmt::Display for ControlAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            ControlAddr::Abstract(n) => write!(f, "unix:@{n}"),
            ControlAddr::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

/// Why a connection failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no headroomd is answering at {addr}: {reason}")]
    NotRunning { addr: ControlAddr, reason: String },
}

#[cfg(target_os = "linux")]
fn connect_abstract(name: &str) -> std::io::Result<tokio::net::UnixStream> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    let std_stream = std::os::unix::net::UnixStream::connect_addr(&addr)?;
    std_stream.set_nonblocking(true)?;
    tokio::net::UnixStream::from_std(std_stream)
}

#[cfg(not(target_os = "linux"))]
fn connect_abstract(_name: &str) -> std::io::Result<tokio::net::UnixStream> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "abstract sockets need Linux",
    ))
}

/// Connect a control client to `addr`.
pub async fn connect(addr: &ControlAddr) -> Result<ControlClient<Channel>, ConnectError> {
    let not_running = |reason: String| ConnectError::NotRunning {
        addr: addr.clone(),
        reason,
    };
    let channel = match addr {
        ControlAddr::Tcp(a) => Endpoint::from_shared(format!("http://{a}"))
            .map_err(|e| not_running(e.to_string()))?
            .connect()
            .await
            .map_err(|e| not_running(e.to_string()))?,
        ControlAddr::Unix(path) => {
            let path = path.clone();
            Endpoint::from_static("http://headroomd.local")
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move {
                        tokio::net::UnixStream::connect(path)
                            .await
                            .map(TokioIo::new)
                    }
                }))
                .await
                .map_err(|e| not_running(source_chain(&e)))?
        }
        ControlAddr::Abstract(name) => {
            let name = name.clone();
            Endpoint::from_static("http://headroomd.local")
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let name = name.clone();
                    async move { connect_abstract(&name).map(TokioIo::new) }
                }))
                .await
                .map_err(|e| not_running(source_chain(&e)))?
        }
    };
    Ok(ControlClient::new(channel))
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}
