//! `headroomctl`: administer a running headroomd over its control API.
//!
//! Human tables by default (colour on a terminal), `--json` for scripts.
//! Exit codes: 0 ok, 1 the daemon refused (e.g. invalid config on reload),
//! 2 usage error, 3 no daemon answering.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;
use tonic::transport::Channel;

use super::client::{connect, ControlAddr};
use super::pb;
use super::table::{self, Style, Table};
use super::ControlClient;

/// headroomctl — inspect and steer a running headroomd.
///
/// Finds the daemon through --socket, --tcp, $HEADROOM_CONTROL_SOCKET,
/// $HEADROOM_CONTROL_TCP, then ~/.headroom/control.sock (or
/// $HEADROOM_STATE_DIR/control.sock), then the abstract socket a
/// --stateless daemon uses.
#[derive(Debug, Parser)]
#[command(name = "headroomctl", version, about, long_about, max_term_width = 100)]
pub struct CtlArgs {
    /// Control socket of the daemon.
    #[arg(long, global = true, env = "HEADROOM_CONTROL_SOCKET")]
    pub socket: Option<PathBuf>,
    /// Loopback TCP address of the daemon's control API (--control-tcp).
    #[arg(
        long,
        global = true,
        env = "HEADROOM_CONTROL_TCP",
        conflicts_with = "socket"
    )]
    pub tcp: Option<String>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum BudgetCmd {
    /// Spent, reserved, cap, window reset time, per-model breakdown.
    Show,
    /// Change the cap (USD) and/or the period live.
    Set {
        /// New cap in USD, or `none` for no cap.
        cap: Option<String>,
        /// hourly | daily | monthly
        #[arg(long)]
        period: Option<String>,
    },
    /// Forget what was spent in every window.
    Reset,
    /// Print the budget every --interval ms until interrupted.
    Watch {
        #[arg(long, default_value_t = 1000)]
        interval: u32,
        /// Stop after this many updates (0 = until interrupted).
        #[arg(long, default_value_t = 0)]
        count: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Version, uptime, mode, config, per-provider counters, tokens saved.
    Status,
    /// Request and compression statistics; --watch streams live updates.
    Stats {
        /// Keep printing an update every --interval until interrupted.
        #[arg(long, short)]
        watch: bool,
        /// Milliseconds between updates with --watch.
        #[arg(long, default_value_t = 1000)]
        interval: u32,
        /// Stop after this many updates (0 = until interrupted).
        #[arg(long, default_value_t = 0)]
        count: u32,
    },
    /// Show the optimization mode, or switch it (token | cache).
    Mode {
        /// New mode; omit to show the current one.
        mode: Option<String>,
    },
    /// Re-read headroom.toml; an invalid file keeps the running config.
    Reload,
    /// Drain in-flight requests and stop the daemon; waits until it is
    /// gone, showing the requests still in flight.
    Shutdown {
        /// Return as soon as the daemon accepted the request.
        #[arg(long)]
        no_wait: bool,
    },
    /// Spend against the budget: show (default), set, reset, watch.
    Budget {
        #[command(subcommand)]
        action: Option<BudgetCmd>,
    },
    /// Print the original behind an omission marker (`hash=…`).
    Retrieve {
        /// The 16 hex digits after `hash=` in the marker.
        hash: String,
        /// Only the lines containing this text.
        #[arg(long, short)]
        query: Option<String>,
    },
}

fn default_addr() -> Vec<ControlAddr> {
    let mut out = Vec::new();
    let state = std::env::var_os("HEADROOM_STATE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".headroom")));
    if let Some(dir) = state {
        out.push(ControlAddr::Unix(dir.join("control.sock")));
    }
    let port = std::env::var("HEADROOM_PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(8787);
    out.push(ControlAddr::Abstract(crate::server::abstract_control_name(
        port,
    )));
    out
}

async fn open(args: &CtlArgs) -> Result<ControlClient<Channel>, String> {
    let candidates = if let Some(p) = &args.socket {
        vec![ControlAddr::Unix(p.clone())]
    } else if let Some(t) = &args.tcp {
        vec![ControlAddr::Tcp(t.clone())]
    } else {
        default_addr()
    };
    let mut tried = Vec::new();
    for addr in &candidates {
        match connect(addr).await {
            Ok(c) => return Ok(c),
            Err(_) => tried.push(addr.to_string()),
        }
    }
    Err(format!(
        "no headroomd is running (tried {}).\nStart one with `headroomd`, or point --socket / --tcp at a running daemon.",
        tried.join(", ")
    ))
}

/// Run one headroomctl command.
pub async fn run(args: CtlArgs) -> ExitCode {
    let style = Style::new(!args.json && table::colour_enabled());
    let mut client = match open(&args).await {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("headroomctl: {msg}");
            return ExitCode::from(3);
        }
    };
    let result = match &args.command {
        Cmd::Status => status(&mut client, args.json, style).await,
        Cmd::Stats {
            watch,
            interval,
            count,
        } => stats(&mut client, args.json, style, *watch, *interval, *count).await,
        Cmd::Mode { mode } => set_mode(&mut client, args.json, style, mode.as_deref()).await,
        Cmd::Reload => reload(&mut client, args.json, style).await,
        Cmd::Shutdown { no_wait } => shutdown(&mut client, args.json, style, !*no_wait).await,
        Cmd::Budget { action } => budget(&mut client, args.json, style, action.as_ref()).await,
        Cmd::Retrieve { hash, query } => {
            retrieve(&mut client, args.json, hash, query.as_deref()).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(status) => {
            let code = status.code();
            if matches!(code, tonic::Code::Unavailable | tonic::Code::Unknown)
                && status.message().contains("connect")
            {
                eprintln!("headroomctl: the daemon went away: {}", status.message());
                return ExitCode::from(3);
            }
            eprintln!("headroomctl: {}", status.message());
            ExitCode::from(1)
        }
    }
}

fn totals_json(t: &pb::Totals) -> serde_json::Value {
    json!({
        "requests": t.requests, "errors": t.errors, "tokens_before": t.tokens_before,
        "tokens_after": t.tokens_after, "tokens_saved": t.tokens_saved, "cost_usd": t.cost_usd,
        "in_flight": t.in_flight, "refused": t.refused, "fail_open": t.fail_open,
        "retries": t.retries, "dropped_records": t.dropped_records,
    })
}

fn providers_json(p: &[pb::ProviderStats]) -> serde_json::Value {
    p.iter()
        .map(|p| {
            (
                p.provider.clone(),
                json!({"requests": p.requests, "errors": p.errors, "streams": p.streams,
                       "tokens_before": p.tokens_before, "tokens_after": p.tokens_after,
                       "tokens_saved": p.tokens_saved, "cost_usd": p.cost_usd}),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn kinds_json(k: &[pb::KindStats]) -> serde_json::Value {
    k.iter()
        .map(|k| {
            (
                k.kind.clone(),
                json!({"blocks": k.blocks, "tokens_before": k.tokens_before,
                       "tokens_after": k.tokens_after, "seconds": k.seconds}),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn overhead_json(o: &pb::Overhead) -> serde_json::Value {
    json!({"p50_ms": o.p50_ms, "p99_ms": o.p99_ms, "mean_ms": o.mean_ms, "count": o.count})
}

fn providers_table(p: &[pb::ProviderStats], style: Style) -> String {
    let mut t = Table::new(&[
        "provider",
        "requests",
        "errors",
        "streams",
        "tokens in",
        "tokens out",
        "saved",
    ]);
    for p in p {
        t.row(vec![
            p.provider.clone(),
            table::thousands(p.requests),
            if p.errors > 0 {
                style.red(&table::thousands(p.errors))
            } else {
                "0".into()
            },
            table::thousands(p.streams),
            table::thousands(p.tokens_before),
            table::thousands(p.tokens_after),
            style.green(&table::saved_pct(p.tokens_before, p.tokens_after)),
        ]);
    }
    t.render(style)
}

fn kinds_table(k: &[pb::KindStats], style: Style) -> String {
    let mut t = Table::new(&[
        "content",
        "blocks",
        "tokens in",
        "tokens out",
        "saved",
        "time",
    ]);
    for k in k {
        t.row(vec![
            k.kind.clone(),
            table::thousands(k.blocks),
            table::thousands(k.tokens_before),
            table::thousands(k.tokens_after),
            style.green(&table::saved_pct(k.tokens_before, k.tokens_after)),
            format!("{:.1} ms", k.seconds * 1000.0),
        ]);
    }
    t.render(style)
}

async fn status(
    client: &mut ControlClient<Channel>,
    as_json: bool,
    style: Style,
) -> Result<(), tonic::Status> {
    let s = client.status(pb::StatusRequest {}).await?.into_inner();
    let totals = s.totals.unwrap_or_default();
    let overhead = s.overhead.unwrap_or_default();
    if as_json {
        let config: serde_json::Map<String, serde_json::Value> = s
            .config
            .iter()
            .map(|e| (e.key.clone(), json!({"value": e.value, "source": e.source})))
            .collect();
        let v = json!({
            "version": s.version, "uptime_seconds": s.uptime_seconds, "mode": s.mode,
            "optimize": s.optimize, "pid": s.pid, "listen": s.listen, "ready": s.ready,
            "config_path": s.config_path, "config": config, "inactive": s.inactive,
            "totals": totals_json(&totals), "providers": providers_json(&s.providers),
            "compression": kinds_json(&s.kinds), "overhead": overhead_json(&overhead),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(());
    }
    let state = if s.ready {
        style.green("ready")
    } else {
        style.yellow("starting")
    };
    println!(
        "{} {} — {} on http://{}, pid {}, up {}",
        style.bold("headroomd"),
        s.version,
        state,
        s.listen,
        s.pid,
        table::duration(s.uptime_seconds)
    );
    println!(
        "mode {}   compression {}   config {}",
        style.cyan(&s.mode),
        if s.optimize {
            style.green("on")
        } else {
            style.yellow("off (--no-optimize)")
        },
        s.config_path
    );
    println!(
        "requests {}   errors {}   in flight {}   tokens saved {} ({})   overhead p50 ≤{} ms p99 ≤{} ms",
        table::thousands(totals.requests),
        table::thousands(totals.errors),
        totals.in_flight,
        style.green(&table::thousands(totals.tokens_saved)),
        table::saved_pct(totals.tokens_before, totals.tokens_after),
        overhead.p50_ms,
        overhead.p99_ms
    );
    if !s.providers.is_empty() {
        println!();
        print!("{}", providers_table(&s.providers, style));
    }
    if !s.kinds.is_empty() {
        println!();
        print!("{}", kinds_table(&s.kinds, style));
    }
    if !s.inactive.is_empty() {
        println!();
        for line in &s.inactive {
            println!("{} {line}", style.yellow("!"));
        }
    }
    Ok(())
}

async fn stats(
    client: &mut ControlClient<Channel>,
    as_json: bool,
    style: Style,
    watch: bool,
    interval: u32,
    count: u32,
) -> Result<(), tonic::Status> {
    if !watch {
        let s = client.status(pb::StatusRequest {}).await?.into_inner();
        let update = pb::StatsUpdate {
            unix_ms: chrono::Utc::now().timestamp_millis(),
            totals: s.totals,
            providers: s.providers,
            kinds: s.kinds,
            overhead: s.overhead,
            requests_delta: 0,
        };
        print_update(&update, as_json, style, false);
        return Ok(());
    }
    let mut stream = client
        .watch_stats(pb::WatchStatsRequest {
            interval_ms: interval,
        })
        .await?
        .into_inner();
    let mut n = 0;
    while let Some(update) = stream.message().await? {
        print_update(&update, as_json, style, true);
        n += 1;
        if count > 0 && n >= count {
            break;
        }
    }
    Ok(())
}

fn print_update(u: &pb::StatsUpdate, as_json: bool, style: Style, live: bool) {
    let t = u.totals.unwrap_or_default();
    let o = u.overhead.unwrap_or_default();
    if as_json {
        let v = json!({
            "unix_ms": u.unix_ms, "totals": totals_json(&t), "providers": providers_json(&u.providers),
            "compression": kinds_json(&u.kinds), "overhead": overhead_json(&o), "requests_delta": u.requests_delta,
        });
        println!("{}", serde_json::to_string(&v).unwrap_or_default());
        return;
    }
    if live {
        let when = chrono::DateTime::from_timestamp_millis(u.unix_ms)
            .map(|d| {
                d.with_timezone(&chrono::Local)
                    .format("%H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default();
        println!(
            "{}  {} req (+{})  {} err  {} in flight  saved {} tok ({})  overhead p50 ≤{} ms",
            style.dim(&when),
            table::thousands(t.requests),
            u.requests_delta,
            t.errors,
            t.in_flight,
            style.green(&table::thousands(t.tokens_saved)),
            table::saved_pct(t.tokens_before, t.tokens_after),
            o.p50_ms
        );
        return;
    }
    println!(
        "requests {}   errors {}   in flight {}   retries {}   fail-open {}   dropped records {}",
        table::thousands(t.requests),
        t.errors,
        t.in_flight,
        t.retries,
        t.fail_open,
        t.dropped_records
    );
    println!(
        "tokens in {}   out {}   saved {} ({})   overhead p50 ≤{} ms  p99 ≤{} ms  mean {:.3} ms",
        table::thousands(t.tokens_before),
        table::thousands(t.tokens_after),
        style.green(&table::thousands(t.tokens_saved)),
        table::saved_pct(t.tokens_before, t.tokens_after),
        o.p50_ms,
        o.p99_ms,
        o.mean_ms
    );
    if !u.providers.is_empty() {
        println!();
        print!("{}", providers_table(&u.providers, style));
    }
    if !u.kinds.is_empty() {
        println!();
        print!("{}", kinds_table(&u.kinds, style));
    }
}

async fn set_mode(
    client: &mut ControlClient<Channel>,
    as_json: bool,
    style: Style,
    mode: Option<&str>,
) -> Result<(), tonic::Status> {
    let Some(mode) = mode else {
        let s = client.status(pb::StatusRequest {}).await?.into_inner();
        if as_json {
            println!("{}", json!({"mode": s.mode}));
        } else {
            println!("{}", s.mode);
        }
        return Ok(());
    };
    let r = client
        .set_mode(pb::SetModeRequest {
            mode: mode.to_string(),
        })
        .await?
        .into_inner();
    if as_json {
        println!("{}", json!({"previous": r.previous, "mode": r.mode}));
    } else {
        println!("mode {} → {}", r.previous, style.cyan(&r.mode));
    }
    Ok(())
}

async fn reload(
    client: &mut ControlClient<Channel>,
    as_json: bool,
    style: Style,
) -> Result<(), tonic::Status> {
    let r = client
        .reload_config(pb::ReloadConfigRequest {})
        .await?
        .into_inner();
    if as_json {
        println!(
            "{}",
            json!({"path": r.path, "changed": r.changed, "restart_required": r.restart_required})
        );
        return Ok(());
    }
    println!("{} {}", style.green("reloaded"), r.path);
    if r.changed.is_empty() {
        println!("no effective change");
    } else {
        println!("changed: {}", r.changed.join(", "));
    }
    if !r.restart_required.is_empty() {
        println!(
            "{} restart headroomd to apply: {}",
            style.yellow("!"),
            r.restart_required.join(", ")
        );
    }
    Ok(())
}

async fn shutdown(
    client: &mut ControlClient<Channel>,
    as_json: bool,
    style: Style,
    wait: bool,
) -> Result<(), tonic::Status> {
    let r = client.shutdown(pb::ShutdownRequest {}).await?.into_inner();
    if as_json {
        println!(
            "{}",
            json!({"accepted": r.accepted, "in_flight": r.in_flight})
        );
    } else if r.accepted {
        println!(
            "{} draining {} in-flight request(s), then stopping",
            style.yellow("shutting down:"),
            r.in_flight
        );
    } else {
        println!("already shutting down");
    }
    if !wait {
        return Ok(());
    }
    // Until the control API goes away: the requests still in flight, on one
    // updating line when a person is watching.
    let live = !as_json && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let started = std::time::Instant::now();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        match client.status(pb::StatusRequest {}).await {
            Ok(s) => {
                let n = s.into_inner().totals.map_or(0, |t| t.in_flight);
                if live {
                    use std::io::Write;
                    print!(
                        "\r  waiting for {n} request(s) to finish… {:.1}s",
                        started.elapsed().as_secs_f64()
                    );
                    let _ = std::io::stdout().flush();
                }
            }
            Err(_) => break,
        }
    }
    if live {
        println!();
    }
    if !as_json {
        println!(
            "{} after {:.1}s",
            style.green("stopped"),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

async fn retrieve(
    client: &mut ControlClient<Channel>,
    as_json: bool,
    hash: &str,
    query: Option<&str>,
) -> Result<(), tonic::Status> {
    let r = client
        .retrieve(pb::RetrieveRequest {
            hash: hash.to_string(),
            query: query.unwrap_or_default().to_string(),
        })
        .await?
        .into_inner();
    if as_json {
        println!(
            "{}",
            json!({"hash": r.hash, "content": r.content, "original_bytes": r.original_bytes})
        );
    } else {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(r.content.as_bytes());
        let _ = out.flush();
    }
    Ok(())
}

fn budget_json(b: &pb::Budget) -> serde_json::Value {
    json!({
        "cap_usd": b.cap_usd, "period": b.period, "spent_usd": b.spent_usd,
        "reserved_usd": b.reserved_usd, "open_reservations": b.open_reservations,
        "remaining_usd": b.cap_usd.map(|c| (c - b.spent_usd - b.reserved_usd).max(0.0)),
        "window_start": b.window_start, "resets_at": b.resets_at, "resets_in_seconds": b.resets_in_seconds,
        "per_model": b.per_model.iter().map(|m| json!({"model": m.model, "spent_usd": m.spent_usd})).collect::<Vec<_>>(),
    })
}

fn print_budget(b: &pb::Budget, style: Style) {
    let cap = match b.cap_usd {
        Some(c) => format!("${c:.4}"),
        None => "none".to_string(),
    };
    let used = b
        .cap_usd
        .filter(|c| *c > 0.0)
        .map(|c| (b.spent_usd + b.reserved_usd) / c);
    let bar = used.map(|u| {
        let filled = ((u.min(1.0)) * 30.0).round() as usize;
        let s = format!(
            "[{}{}] {:.0}%",
            "#".repeat(filled),
            "-".repeat(30 - filled),
            u * 100.0
        );
        if u >= 1.0 {
            style.red(&s)
        } else if u >= 0.8 {
            style.yellow(&s)
        } else {
            style.green(&s)
        }
    });
    println!(
        "budget {} per {}   spent {}   reserved ${:.4} ({} in flight)",
        style.bold(&cap),
        b.period.trim_end_matches("ly").replace("dai", "day"),
        style.bold(&format!("${:.4}", b.spent_usd)),
        b.reserved_usd,
        b.open_reservations
    );
    if let Some(bar) = bar {
        println!("{bar}");
    }
    println!(
        "window {} → resets {} (in {})",
        b.window_start,
        b.resets_at,
        table::duration(b.resets_in_seconds as f64)
    );
    if !b.per_model.is_empty() {
        println!();
        let mut t = Table::new(&["model", "spent"]);
        for m in &b.per_model {
            t.row(vec![m.model.clone(), format!("${:.4}", m.spent_usd)]);
        }
        print!("{}", t.render(style));
    }
}

async fn budget(
    client: &mut ControlClient<Channel>,
    as_json: bool,
    style: Style,
    action: Option<&BudgetCmd>,
) -> Result<(), tonic::Status> {
    let reply = match action {
        None | Some(BudgetCmd::Show) => client
            .get_budget(pb::GetBudgetRequest {})
            .await?
            .into_inner(),
        Some(BudgetCmd::Reset) => client
            .set_budget(pb::SetBudgetRequest {
                reset: true,
                ..Default::default()
            })
            .await?
            .into_inner(),
        Some(BudgetCmd::Set { cap, period }) => {
            let mut req = pb::SetBudgetRequest {
                period: period.clone().unwrap_or_default(),
                ..Default::default()
            };
            match cap.as_deref() {
                None => {}
                Some("none") | Some("off") => req.clear_cap = true,
                Some(c) => {
                    let usd: f64 = c.trim_start_matches('$').parse().map_err(|_| {
                        tonic::Status::invalid_argument(format!(
                            "`{c}` is not an amount in USD (or `none`)"
                        ))
                    })?;
                    req.cap_usd = usd;
                    req.set_cap = true;
                }
            }
            if !req.set_cap && !req.clear_cap && req.period.is_empty() {
                return Err(tonic::Status::invalid_argument(
                    "nothing to set: give a cap (e.g. `headroomctl budget set 20`) and/or --period",
                ));
            }
            client.set_budget(req).await?.into_inner()
        }
        Some(BudgetCmd::Watch { interval, count }) => {
            let mut stream = client
                .watch_budget(pb::WatchBudgetRequest {
                    interval_ms: *interval,
                })
                .await?
                .into_inner();
            let mut n = 0;
            while let Some(b) = stream.message().await? {
                if as_json {
                    println!("{}", budget_json(&b));
                } else {
                    print_budget(&b, style);
                    println!();
                }
                n += 1;
                if *count > 0 && n >= *count {
                    break;
                }
            }
            return Ok(());
        }
    };
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&budget_json(&reply)).unwrap_or_default()
        );
    } else {
        print_budget(&reply, style);
    }
    Ok(())
}
