//! `truce submit --server URL FILE.jsonl`: one observation per line, in batches, with a progress
//! bar and a summary that names every rejected line and why.
//!
//! Lines without a `client_id` get one derived from the line's content and number (UUID v5), so
//! running the same file again — after a dropped connection, say — never records a line twice.
//! A batch the server refuses because of one line is sent again without that line (the server
//! records a batch all or nothing, so the retry cannot duplicate anything).

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use uuid::Uuid;

/// Namespace of the client ids `submit` derives (a fixed random UUID).
const CLIENT_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6a1f_9c2e_4b7d_4e0a_9f3c_1d2e_8b5a_7c61);
/// Largest line accepted, bytes (the server's limit on one observation is far smaller).
const MAX_LINE_BYTES: usize = 1 << 20;
/// Largest request body sent, bytes (under the server's 16 MiB).
const MAX_BODY_BYTES: usize = 8 << 20;
/// Attempts for a request that fails for network reasons or a 5xx.
const ATTEMPTS: u32 = 4;

struct Line {
    number: usize,
    value: Value,
}

#[derive(Default)]
struct Tally {
    new: usize,
    repeated: usize,
    rejected: Vec<(usize, String)>,
}

/// Sends `file` to `server`.
pub fn run(server: &str, token: &str, file: &Path, batch: usize) -> Result<ExitCode> {
    if batch == 0 || batch > 10_000 {
        bail!("--batch must be from 1 to 10000, got {batch}");
    }
    let url = Target {
        url: format!("{}/api/observations", server.trim_end_matches('/')),
        authorization: format!("Bearer {token}"),
    };
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let agent = crate::http_client::agent(Duration::from_secs(120))?;
    let mut tally = Tally::default();
    let mut pending: Vec<Line> = Vec::new();
    let mut pending_bytes = 0;
    let reader = BufReader::new(f);
    for (i, line) in reader.split(b'\n').enumerate() {
        let number = i + 1;
        let raw = line.with_context(|| format!("reading line {number}"))?;
        bar.inc(raw.len() as u64 + 1);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(&raw, number) {
            Ok(value) => {
                pending_bytes += raw.len();
                pending.push(Line { number, value });
            }
            Err(reason) => tally.rejected.push((number, reason)),
        }
        if pending.len() >= batch || pending_bytes >= MAX_BODY_BYTES {
            send(&agent, &url, std::mem::take(&mut pending), &mut tally)?;
            pending_bytes = 0;
            bar.set_message(format!(
                "{} accepted, {} rejected",
                tally.new + tally.repeated,
                tally.rejected.len()
            ));
        }
    }
    if !pending.is_empty() {
        send(&agent, &url, pending, &mut tally)?;
    }
    bar.finish_and_clear();
    tally.rejected.sort();
    println!(
        "accepted {} ({} new, {} already recorded), rejected {}",
        tally.new + tally.repeated,
        tally.new,
        tally.repeated,
        tally.rejected.len()
    );
    for (line, reason) in &tally.rejected {
        println!("  line {line}: {reason}");
    }
    Ok(if tally.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Parses one line into a JSON object and gives it a client id if it has none.
fn parse_line(raw: &[u8], number: usize) -> Result<Value, String> {
    if raw.len() > MAX_LINE_BYTES {
        return Err(format!(
            "line is {} bytes; at most {MAX_LINE_BYTES}",
            raw.len()
        ));
    }
    let mut value: Value = serde_json::from_slice(raw).map_err(|e| format!("not JSON: {e}"))?;
    let Some(map) = value.as_object_mut() else {
        return Err("not a JSON object".into());
    };
    if !map.contains_key("client_id") {
        let mut name = raw.to_vec();
        name.extend_from_slice(format!("\n{number}").as_bytes());
        let id = Uuid::new_v5(&CLIENT_ID_NAMESPACE, &name);
        map.insert("client_id".into(), Value::String(id.to_string()));
    }
    Ok(value)
}

/// Sends `lines` as one batch; on a refusal naming one item, records that line as rejected and
/// sends the rest again.
/// Where batches go, and the member's credential.
struct Target {
    url: String,
    authorization: String,
}

fn send(agent: &ureq::Agent, url: &Target, mut lines: Vec<Line>, tally: &mut Tally) -> Result<()> {
    while !lines.is_empty() {
        let body = Value::Array(lines.iter().map(|l| l.value.clone()).collect());
        let (status, answer) = post(agent, url, &body)?;
        match status {
            200 | 201 => {
                let accepted = answer["accepted"].as_array().map(Vec::len).unwrap_or(0);
                if accepted != lines.len() {
                    bail!(
                        "the server acknowledged {accepted} of {} items",
                        lines.len()
                    );
                }
                if status == 201 {
                    // 201: at least one new; the count of repeats is not in the answer.
                    tally.new += lines.len();
                } else {
                    tally.repeated += lines.len();
                }
                return Ok(());
            }
            400 | 413 | 422 => {
                let err = &answer["error"];
                let message = err["message"].as_str().unwrap_or("refused").to_string();
                let field = err["field"].as_str().filter(|f| !f.is_empty());
                let reason = match field {
                    Some(f) => format!("{f}: {message}"),
                    None => message,
                };
                match err["index"].as_u64().map(|i| i as usize) {
                    Some(i) if i < lines.len() => {
                        let line = lines.remove(i);
                        tally.rejected.push((line.number, reason));
                    }
                    _ if lines.len() == 1 => {
                        tally.rejected.push((lines[0].number, reason));
                        return Ok(());
                    }
                    _ => {
                        // The refusal names no item (too large, say): split and try the halves.
                        let half = lines.split_off(lines.len() / 2);
                        send(agent, url, half, tally)?;
                    }
                }
            }
            401 | 403 => bail!(
                "the server refused the token ({}): {}",
                status,
                answer["error"]["message"].as_str().unwrap_or("")
            ),
            other => bail!("the server answered {other}: {answer}"),
        }
    }
    Ok(())
}

/// POSTs `body`, retrying network failures and 5xx answers with back-off.
fn post(agent: &ureq::Agent, url: &Target, body: &Value) -> Result<(u16, Value)> {
    let mut wait = Duration::from_millis(250);
    let mut last_error = String::new();
    for attempt in 1..=ATTEMPTS {
        match agent
            .post(&url.url)
            .header("authorization", &url.authorization)
            .send_json(body)
        {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let answer: Value = response
                    .body_mut()
                    .with_config()
                    .limit(64 << 20)
                    .read_json()
                    .unwrap_or(Value::Null);
                if status < 500 {
                    return Ok((status, answer));
                }
                last_error = format!("{status}: {answer}");
            }
            Err(e) => last_error = e.to_string(),
        }
        if attempt < ATTEMPTS {
            std::thread::sleep(wait);
            wait *= 2;
        }
    }
    bail!("{}: {last_error} (after {ATTEMPTS} attempts)", url.url)
}
