//! The daemon as a process: configuration layers, `--stateless`, the
//! request log, live reload, headroomctl against a running daemon, and the
//! graceful drain.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::daemon::{headroomd_bin, DaemonBuilder, TempDir};
use common::http;
use common::mock::MockUpstream;

const BODY: &[u8] =
    br#"{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#;

fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.display().to_string());
            if p.is_dir() {
                out.extend(files_under(&p));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn stateless_writes_nothing_to_disk() {
    let mock = MockUpstream::start();
    let tmp = TempDir::new("stateless");
    let state = tmp.path().join("state");
    let log = tmp.path().join("requests.jsonl");
    let d = DaemonBuilder::new(&mock.url())
        .state_dir(&state)
        .args(&["--stateless", "--log-file", log.to_str().unwrap()])
        .start();
    for _ in 0..3 {
        assert_eq!(
            http::post_json(&d.addr(), "/v1/messages", &[], BODY)
                .unwrap()
                .status,
            200
        );
    }
    // headroomctl still reaches a stateless daemon (abstract socket).
    let out = Command::new(common::daemon::headroomctl_bin())
        .args(["--json", "status"])
        .env("HEADROOM_PORT", d.port.to_string())
        .env("HOME", tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["totals"]["requests"], 3);
    drop(d);
    assert!(
        !state.exists(),
        "state dir created: {:?}",
        files_under(&state)
    );
    assert!(!log.exists(), "log file written in --stateless mode");
    assert_eq!(files_under(tmp.path()), Vec::<String>::new());
}

#[test]
fn request_log_has_one_line_per_request_with_every_field() {
    let mock = MockUpstream::start();
    let tmp = TempDir::new("log");
    let log = tmp.path().join("logs/requests.jsonl");
    let mut d = DaemonBuilder::new(&mock.url())
        .args(&["--log-file", log.to_str().unwrap(), "--log-messages"])
        .start();
    let secret_body = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"my key is sk-proj-abcdefghijklmnopqrstuvwx ok"}]}"#;
    assert_eq!(
        http::post_json(&d.addr(), "/v1/chat/completions", &[], secret_body)
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        http::post_json(
            &d.addr(),
            "/v1/messages",
            &[],
            br#"{"model":"claude","stream":true,"messages":[]}"#
        )
        .unwrap()
        .status,
        200
    );
    assert_eq!(
        http::post_json(
            &d.addr(),
            "/v1/messages",
            &[("x-mock-status", "500"), ("x-mock-key", "l")],
            BODY
        )
        .unwrap()
        .status,
        500
    );
    d.stop();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    for l in &lines {
        for key in [
            "timestamp",
            "request_id",
            "provider",
            "model",
            "path",
            "status",
            "stream",
            "tokens_before",
            "tokens_after",
            "latency_ms",
            "overhead_ms",
            "upstream_ms",
            "error",
        ] {
            assert!(l.get(key).is_some(), "missing {key} in {l}");
        }
    }
    assert_eq!(lines[0]["provider"], "openai");
    assert_eq!(lines[0]["model"], "gpt-4o");
    assert_eq!(lines[1]["stream"], true);
    assert_eq!(lines[2]["status"], 500);
    assert!(lines[0]["messages"].to_string().contains("[REDACTED]"));
    assert!(
        !text.contains("abcdefghijklmnop"),
        "API key written to the log"
    );
}

#[test]
fn check_config_shows_layers_and_masks_secrets() {
    let tmp = TempDir::new("check");
    let file = tmp.path().join("headroom.toml");
    std::fs::write(&file, "port = 9999\nrpm = 5\nmode = \"cache\"\n").unwrap();
    let out = Command::new(headroomd_bin())
        .args([
            "--check-config",
            "--config",
            file.to_str().unwrap(),
            "--rpm",
            "7",
        ])
        .args(["--anthropic-api-url", "https://user:pw@proxy.example.com"])
        .env("HEADROOM_PROXY_TOKEN", "super-secret")
        .env("HEADROOM_TPM", "1234")
        .env("HEADROOM_MEMORY", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("port = 9999    # file"), "{s}");
    assert!(s.contains("rpm = 7    # flag"), "{s}");
    assert!(s.contains("tpm = 1234    # env"), "{s}");
    assert!(s.contains("mode = \"cache\"    # file"), "{s}");
    assert!(s.contains("host = \"127.0.0.1\"    # default"), "{s}");
    assert!(!s.contains("super-secret") && !s.contains("user:pw"), "{s}");
    assert!(s.contains("--memory not active yet"), "{s}");

    // A bad value is refused with the key named.
    std::fs::write(&file, "budget_period = \"weekly\"\n").unwrap();
    let out = Command::new(headroomd_bin())
        .args(["--check-config", "--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("budget_period"));
}

#[test]
fn reload_with_an_invalid_file_keeps_serving_the_old_config() {
    let mock = MockUpstream::start();
    let tmp = TempDir::new("reload");
    let file = tmp.path().join("headroom.toml");
    std::fs::write(&file, "mode = \"token\"\ntarget_ratio = 0.5\n").unwrap();
    let d = DaemonBuilder::new(&mock.url())
        .args(&["--config", file.to_str().unwrap()])
        .start();

    std::fs::write(&file, "mode = \"turbo\"\n").unwrap();
    let out = d.ctl(&["reload"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("running config stays") && err.contains("turbo"),
        "{err}"
    );
    assert_eq!(
        http::post_json(&d.addr(), "/v1/messages", &[], BODY)
            .unwrap()
            .status,
        200
    );

    std::fs::write(&file, "this is not toml [").unwrap();
    assert_eq!(d.ctl(&["reload"]).status.code(), Some(1));

    std::fs::write(&file, "mode = \"cache\"\ntarget_ratio = 0.3\nworkers = 3\n").unwrap();
    let out = d.ctl(&["--json", "reload"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let changed = v["changed"].to_string();
    assert!(
        changed.contains("mode") && changed.contains("target_ratio"),
        "{v}"
    );
    assert_eq!(v["restart_required"], serde_json::json!(["workers"]));
    let status: serde_json::Value =
        serde_json::from_slice(&d.ctl(&["--json", "status"]).stdout).unwrap();
    assert_eq!(status["mode"], "cache");
    assert_eq!(status["config"]["target_ratio"]["value"], "0.3");
    assert_eq!(
        http::post_json(&d.addr(), "/v1/messages", &[], BODY)
            .unwrap()
            .status,
        200
    );
}

#[test]
fn headroomctl_drives_a_running_daemon() {
    let mock = MockUpstream::start();
    let mut d = DaemonBuilder::new(&mock.url()).args(&["--memory"]).start();
    for _ in 0..2 {
        assert_eq!(
            http::post_json(&d.addr(), "/v1/messages", &[], BODY)
                .unwrap()
                .status,
            200
        );
    }
    assert_eq!(
        http::post_json(
            &d.addr(),
            "/v1/chat/completions",
            &[("x-mock-status", "500")],
            b"{}"
        )
        .unwrap()
        .status,
        500
    );

    let out = d.ctl(&["status"]);
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("headroomd") && s.contains("mode token"), "{s}");
    assert!(s.contains("anthropic") && s.contains("openai"), "{s}");
    assert!(s.contains("--memory not active yet"), "{s}");

    let v: serde_json::Value =
        serde_json::from_slice(&d.ctl(&["--json", "status"]).stdout).unwrap();
    assert_eq!(v["totals"]["requests"], 3);
    assert_eq!(v["providers"]["anthropic"]["requests"], 2);
    assert_eq!(v["providers"]["openai"]["errors"], 1);
    assert_eq!(v["ready"], true);

    let out = d.ctl(&[
        "--json",
        "stats",
        "--watch",
        "--count",
        "2",
        "--interval",
        "100",
    ]);
    assert!(out.status.success());
    let updates: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[1]["totals"]["requests"], 3);

    let out = d.ctl(&["mode", "cache"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("token → cache"));
    assert_eq!(
        String::from_utf8_lossy(&d.ctl(&["mode"]).stdout).trim(),
        "cache"
    );
    let out = d.ctl(&["mode", "fast"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a mode"));

    let out = d.ctl(&["shutdown"]);
    assert!(out.status.success());
    let status = d.stop().unwrap();
    assert!(status.success(), "daemon exit {status:?}");
    assert!(!d.control_socket().exists(), "control socket left behind");

    // Nothing answering: a clear message and exit code 3.
    let out = d.ctl(&["status"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no headroomd is running"));
}

#[test]
fn drain_lets_streams_finish_and_flushes_the_log() {
    let mock = MockUpstream::start();
    let tmp = TempDir::new("drain");
    let log = tmp.path().join("r.jsonl");
    let mut d = DaemonBuilder::new(&mock.url())
        .args(&["--log-file", log.to_str().unwrap()])
        .start();
    let addr = d.addr();
    let stream = std::thread::spawn(move || {
        http::post_json(
            &addr,
            "/v1/messages",
            &[
                ("x-mock-sse-interval-ms", "200"),
                ("x-mock-sse-events", "6"),
            ],
            br#"{"model":"claude","stream":true,"messages":[]}"#,
        )
        .unwrap()
    });
    std::thread::sleep(Duration::from_millis(300));
    let status = d.stop().unwrap();
    assert!(status.success());
    let r = stream.join().unwrap();
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("message_stop"),
        "stream cut by the drain:\n{}",
        r.text()
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("\"stream\":true"));
}

#[test]
fn non_loopback_without_token_warns() {
    let mock = MockUpstream::start();
    let d = DaemonBuilder::new(&mock.url())
        .args(&["--host", "0.0.0.0"])
        .start();
    assert!(
        d.log_text().contains("without HEADROOM_PROXY_TOKEN"),
        "{}",
        d.log_text()
    );
    let quiet = DaemonBuilder::new(&mock.url())
        .args(&["--host", "0.0.0.0"])
        .env("HEADROOM_PROXY_TOKEN", "t")
        .start();
    assert!(!quiet.log_text().contains("without HEADROOM_PROXY_TOKEN"));
}
