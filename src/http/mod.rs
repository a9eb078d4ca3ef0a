//! The HTTP face of the daemon: [`app`] builds the actix-web service used
//! by the server and by tests (`actix_web::test::init_service`).
//!
//! Routes: `GET /health`, `GET /stats`, `GET /metrics` (ops, never proxied)
//! and everything else through [`proxy::proxy`].

pub mod errors;
pub mod ops;
pub mod proxy;
pub mod resolve;
pub mod tap;
pub mod upstream;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App, Error as ActixError};

use crate::server::Services;

/// Build the application for one HTTP worker.
pub fn app(
    services: Services,
    client: awc::Client,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse,
        Error = ActixError,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(services))
        .app_data(web::Data::new(client))
        .route("/health", web::get().to(ops::health))
        .route("/livez", web::get().to(ops::health))
        .route("/readyz", web::get().to(ops::ready))
        .route("/stats", web::get().to(ops::stats))
        .route("/metrics", web::get().to(ops::metrics))
        .route("/v1/retrieve", web::post().to(ops::retrieve))
        .default_service(web::to(proxy::proxy))
}

pub use crate::admission::Permit;

/// A process-unique, sortable request id: `hr_<start secs hex>_<counter>`.
pub fn next_request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static EPOCH: OnceLock<u64> = OnceLock::new();
    let epoch = EPOCH.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("hr_{epoch:x}_{n:06}")
}
