//! `truce status --server URL`: the record's size, checkpoints, agreed size and witnesses.

use anyhow::{Context, Result};
use serde_json::Value;
use std::process::ExitCode;

/// Prints the ledger's status; exit 2 when some witness lags the latest checkpoint.
pub fn run(server: &str) -> Result<ExitCode> {
    let url = format!("{}/api/ledger", server.trim_end_matches('/'));
    let mut answer = crate::http_client::agent(std::time::Duration::from_secs(30))?
        .get(&url)
        .call()
        .with_context(|| format!("GET {url}"))?;
    anyhow::ensure!(
        answer.status().is_success(),
        "GET {url}: {}",
        answer.status()
    );
    let status: Value = answer
        .body_mut()
        .read_json()
        .context("the answer is not JSON")?;
    let show = |v: &Value| v.as_u64().map_or("none".to_string(), |n| n.to_string());
    println!(
        "record:      {} entries, root {}",
        show(&status["size"]),
        status["root"].as_str().unwrap_or("?")
    );
    println!("checkpoint:  {}", show(&status["checkpoint_size"]));
    println!("agreed:      {}", show(&status["agreed_size"]));
    let mut lagging = false;
    for w in status["witnesses"].as_array().into_iter().flatten() {
        let lag = w["lag"].as_u64().unwrap_or(0);
        lagging |= lag > 0;
        println!(
            "witness {:<8} cosigned {:>10}  {}",
            w["monitor"].as_str().unwrap_or("?"),
            show(&w["cosigned_size"]),
            if lag > 0 {
                format!("lags by {lag} entries")
            } else {
                "up to date".into()
            }
        );
    }
    Ok(if lagging {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
