//! The gRPC control plane (`proto/headroom/control/v1/control.proto`): the
//! only place the generated code is included.
//!
//! Served by `server::run` on a Unix socket (mode 0600) and optionally on
//! loopback TCP, on the actix System's tokio runtime. Each RPC reads or
//! changes daemon state through `Services` (actor addresses and the live
//! config); errors map to gRPC status codes here, once.

pub mod client;
pub mod ctl;
pub mod table;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use tonic::{Request, Response, Status};

use crate::actors::messages::{GetBudget, GetIngress, GetStats, ResetBudget, SetBudget};
use crate::budget::ledger::BudgetSnapshot;
use crate::config::{self, Mode};
use crate::server::{Services, ShutdownReason};
use crate::stats::Stats;

/// Generated protobuf types and service stubs.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    tonic::include_proto!("headroom.control.v1");
}

pub use pb::control_client::ControlClient;
pub use pb::control_server::{Control, ControlServer};

/// The control service implementation.
#[derive(Clone)]
pub struct ControlService {
    services: Services,
}

impl ControlService {
    pub fn new(services: Services) -> ControlService {
        ControlService { services }
    }

    pub fn into_server(self) -> ControlServer<ControlService> {
        ControlServer::new(self)
    }

    async fn snapshot(&self) -> Result<(Stats, crate::actors::messages::IngressSnapshot), Status> {
        let stats = self
            .services
            .stats
            .send(GetStats)
            .await
            .map_err(|e| Status::unavailable(format!("stats actor unavailable: {e}")))?;
        let ingress = self
            .services
            .ingress
            .send(GetIngress)
            .await
            .map_err(|e| Status::unavailable(format!("ingress actor unavailable: {e}")))?;
        Ok((stats, ingress))
    }
}

fn totals(stats: &Stats, ingress: &crate::actors::messages::IngressSnapshot) -> pb::Totals {
    let t = stats.totals();
    pb::Totals {
        requests: t.requests,
        errors: t.errors,
        tokens_before: t.tokens_before,
        tokens_after: t.tokens_after,
        tokens_saved: t.tokens_saved(),
        cost_usd: t.cost_usd,
        in_flight: ingress.in_flight as u64,
        refused: ingress.refused,
        fail_open: stats.fail_open,
        retries: stats.retries,
        dropped_records: stats.dropped_records,
    }
}

fn providers(stats: &Stats) -> Vec<pb::ProviderStats> {
    stats
        .providers
        .iter()
        .map(|(name, c)| pb::ProviderStats {
            provider: name.to_string(),
            requests: c.requests,
            errors: c.errors,
            streams: c.streams,
            tokens_before: c.tokens_before,
            tokens_after: c.tokens_after,
            tokens_saved: c.tokens_saved(),
            cost_usd: c.cost_usd,
        })
        .collect()
}

fn kinds(stats: &Stats) -> Vec<pb::KindStats> {
    stats
        .kinds
        .iter()
        .map(|(name, k)| pb::KindStats {
            kind: name.to_string(),
            blocks: k.blocks,
            tokens_before: k.tokens_before,
            tokens_after: k.tokens_after,
            seconds: k.micros as f64 / 1e6,
        })
        .collect()
}

fn overhead(stats: &Stats) -> pb::Overhead {
    let h = &stats.overhead_ms;
    pb::Overhead {
        p50_ms: h.quantile(0.5),
        p99_ms: h.quantile(0.99),
        mean_ms: if h.count == 0 {
            0.0
        } else {
            h.sum / h.count as f64
        },
        count: h.count,
    }
}

fn config_entries(c: &config::Config) -> Vec<pb::ConfigEntry> {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(c) else {
        return Vec::new();
    };
    let mut out: Vec<pb::ConfigEntry> = map
        .into_iter()
        .map(|(key, v)| {
            let value = match v {
                serde_json::Value::Null => "(unset)".to_string(),
                serde_json::Value::String(s) => config::mask_url(&s),
                other => other.to_string(),
            };
            let source = c
                .sources
                .get(key.as_str())
                .map(|s| format!("{s:?}").to_ascii_lowercase())
                .unwrap_or_else(|| "derived".into());
            pb::ConfigEntry { key, value, source }
        })
        .collect();
    out.push(pb::ConfigEntry {
        key: "proxy_token".into(),
        value: if c.proxy_token.is_some() {
            "****".into()
        } else {
            "(unset)".into()
        },
        source: "env".into(),
    });
    out
}

type StatsStream = Pin<Box<dyn Stream<Item = Result<pb::StatsUpdate, Status>> + Send>>;
type BudgetStream = Pin<Box<dyn Stream<Item = Result<pb::Budget, Status>> + Send>>;

fn budget_reply(b: BudgetSnapshot) -> pb::Budget {
    let resets_in = (b.resets_at - chrono::Utc::now()).num_seconds().max(0) as u64;
    pb::Budget {
        cap_usd: b.cap_usd,
        period: b.period.as_str().to_string(),
        spent_usd: b.spent_usd,
        reserved_usd: b.reserved_usd,
        open_reservations: b.open_reservations as u64,
        window_start: b.window_start.to_rfc3339(),
        resets_at: b.resets_at.to_rfc3339(),
        per_model: b
            .per_model
            .into_iter()
            .map(|(model, spent_usd)| pb::ModelSpend { model, spent_usd })
            .collect(),
        resets_in_seconds: resets_in,
    }
}

impl ControlService {
    async fn budget(&self) -> Result<pb::Budget, Status> {
        self.services
            .budget
            .send(GetBudget)
            .await
            .map(budget_reply)
            .map_err(|e| Status::unavailable(format!("budget actor unavailable: {e}")))
    }
}

#[tonic::async_trait]
impl Control for ControlService {
    async fn status(
        &self,
        _: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusReply>, Status> {
        let (stats, ingress) = self.snapshot().await?;
        let c = self.services.config.load_full();
        Ok(Response::new(pb::StatusReply {
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_seconds: self.services.started.elapsed().as_secs_f64(),
            mode: c.mode.as_str().to_string(),
            optimize: c.optimize,
            pid: std::process::id(),
            listen: self.services.listen.clone(),
            ready: self.services.is_ready(),
            config: config_entries(&c),
            inactive: config::features::describe(&c),
            totals: Some(totals(&stats, &ingress)),
            providers: providers(&stats),
            kinds: kinds(&stats),
            overhead: Some(overhead(&stats)),
            config_path: config::describe_path(c.config_path.as_deref()),
        }))
    }

    type WatchStatsStream = StatsStream;

    async fn watch_stats(
        &self,
        request: Request<pb::WatchStatsRequest>,
    ) -> Result<Response<Self::WatchStatsStream>, Status> {
        let interval_ms = match request.get_ref().interval_ms {
            0 => 1000,
            n => n.max(50),
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::StatsUpdate, Status>>(4);
        let this = self.clone();
        tokio::spawn(async move {
            let mut last_requests: Option<u64> = None;
            let mut tick = tokio::time::interval(Duration::from_millis(interval_ms as u64));
            loop {
                tick.tick().await;
                let update = match this.snapshot().await {
                    Ok((stats, ingress)) => {
                        let t = totals(&stats, &ingress);
                        let delta = last_requests.map_or(0, |l| t.requests.saturating_sub(l));
                        last_requests = Some(t.requests);
                        Ok(pb::StatsUpdate {
                            unix_ms: chrono::Utc::now().timestamp_millis(),
                            totals: Some(t),
                            providers: providers(&stats),
                            kinds: kinds(&stats),
                            overhead: Some(overhead(&stats)),
                            requests_delta: delta,
                        })
                    }
                    Err(status) => Err(status),
                };
                let stop = update.is_err();
                if tx.send(update).await.is_err() || stop {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn set_mode(
        &self,
        request: Request<pb::SetModeRequest>,
    ) -> Result<Response<pb::SetModeReply>, Status> {
        let wanted = &request.get_ref().mode;
        let mode = Mode::parse(wanted).ok_or_else(|| {
            Status::invalid_argument(format!("`{wanted}` is not a mode; use `token` or `cache`"))
        })?;
        let previous = self.services.config.load_full();
        let mut next = (*previous).clone();
        next.mode = mode;
        next.sources.insert("mode", config::Source::Flag);
        self.services.config.store(Arc::new(next));
        tracing::info!(from = %previous.mode, to = %mode, "mode changed via control API");
        Ok(Response::new(pb::SetModeReply {
            previous: previous.mode.as_str().to_string(),
            mode: mode.as_str().to_string(),
        }))
    }

    async fn reload_config(
        &self,
        _: Request<pb::ReloadConfigRequest>,
    ) -> Result<Response<pb::ReloadConfigReply>, Status> {
        match self.services.reload_config() {
            Ok(outcome) => Ok(Response::new(pb::ReloadConfigReply {
                path: outcome.path,
                changed: outcome.changed,
                restart_required: outcome.restart_required,
            })),
            Err(e) => Err(Status::invalid_argument(format!(
                "config not reloaded, the running config stays: {e}"
            ))),
        }
    }

    async fn retrieve(
        &self,
        request: Request<pb::RetrieveRequest>,
    ) -> Result<Response<pb::RetrieveReply>, Status> {
        let req = request.into_inner();
        let hash = req
            .hash
            .trim()
            .trim_start_matches("hash=")
            .to_ascii_lowercase();
        let query = Some(req.query.as_str()).filter(|q| !q.trim().is_empty());
        match self.services.store.get(&hash) {
            Some(original) => Ok(Response::new(pb::RetrieveReply {
                content: crate::ccr::filter(&original, query),
                original_bytes: original.len() as u64,
                hash,
            })),
            None => Err(Status::not_found(format!(
                "nothing is stored under hash={hash}: it expired or was never stored; re-run the tool that produced the original"
            ))),
        }
    }

    async fn get_budget(
        &self,
        _: Request<pb::GetBudgetRequest>,
    ) -> Result<Response<pb::Budget>, Status> {
        Ok(Response::new(self.budget().await?))
    }

    async fn set_budget(
        &self,
        request: Request<pb::SetBudgetRequest>,
    ) -> Result<Response<pb::Budget>, Status> {
        let req = request.into_inner();
        let unavailable =
            |e: actix::MailboxError| Status::unavailable(format!("budget actor unavailable: {e}"));
        if req.reset {
            self.services
                .budget
                .send(ResetBudget)
                .await
                .map_err(unavailable)?;
        }
        let cap = if req.clear_cap {
            Some(None)
        } else if req.set_cap {
            if !(req.cap_usd >= 0.0 && req.cap_usd.is_finite()) {
                return Err(Status::invalid_argument(format!(
                    "{} is not a cap in USD",
                    req.cap_usd
                )));
            }
            Some(Some(req.cap_usd))
        } else {
            None
        };
        let period = match req.period.trim() {
            "" => None,
            p => Some(config::BudgetPeriod::parse(p).ok_or_else(|| {
                Status::invalid_argument(format!(
                    "`{p}` is not a period; use hourly, daily or monthly"
                ))
            })?),
        };
        let snapshot = self
            .services
            .budget
            .send(SetBudget {
                cap_usd: cap,
                period,
            })
            .await
            .map_err(unavailable)?;
        // Keep the live config in step (status, reload).
        let current = self.services.config.load_full();
        let mut next = (*current).clone();
        if let Some(c) = cap {
            next.budget = c;
            next.sources.insert("budget", config::Source::Flag);
        }
        if let Some(p) = period {
            next.budget_period = p;
            next.sources.insert("budget_period", config::Source::Flag);
        }
        self.services.config.store(Arc::new(next));
        Ok(Response::new(budget_reply(snapshot)))
    }

    type WatchBudgetStream = BudgetStream;

    async fn watch_budget(
        &self,
        request: Request<pb::WatchBudgetRequest>,
    ) -> Result<Response<Self::WatchBudgetStream>, Status> {
        let interval_ms = match request.get_ref().interval_ms {
            0 => 1000,
            n => n.max(50),
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::Budget, Status>>(4);
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(interval_ms as u64));
            loop {
                tick.tick().await;
                let update = this.budget().await;
                let stop = update.is_err();
                if tx.send(update).await.is_err() || stop {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn shutdown(
        &self,
        _: Request<pb::ShutdownRequest>,
    ) -> Result<Response<pb::ShutdownReply>, Status> {
        let in_flight = self
            .services
            .ingress
            .send(GetIngress)
            .await
            .map(|i| i.in_flight as u64)
            .unwrap_or(0);
        let accepted = self.services.request_shutdown(ShutdownReason::ControlApi);
        Ok(Response::new(pb::ShutdownReply {
            accepted,
            in_flight,
        }))
    }
}
