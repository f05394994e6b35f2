//! `truce`: the joint ceasefire monitoring center's command line.
//!
//! Argument parsing, tracing set-up and wiring only; every capability lives in a library crate.
//! Exit codes: 0 success, 1 failure, 2 finished but some input was rejected (submit) or the
//! record failed verification (verify).

// The binary's job is to print for its user.
#![allow(clippy::print_stdout)]

mod bundle;
mod cmd;
mod cot;
mod data_dir;
mod demo_files;
mod demo_patrol;
mod evaluate;
mod evaluate_ceiling;
mod evaluate_rounds;
mod http_client;
mod https;
mod keys;
mod mqtt;
mod node;
mod peer_fit;
mod serve;
mod witness;

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Default HTTP address of `serve` and `demo`.
const DEFAULT_HTTP: &str = "127.0.0.1:8080";

#[derive(Parser)]
#[command(name = "truce", version, about = "Joint ceasefire monitoring center")]
struct Cli {
    /// Keep the record in PostgreSQL (with PostGIS) instead of the data folder's SQLite file:
    /// `postgres://USER@HOST/DB?schema=truce` (`&app_role=ROLE` grants a server role its rights
    /// when migrating). Evidence files are kept there too; keys stay in the data folder.
    #[arg(
        long,
        global = true,
        env = "TRUCE_STORE",
        value_name = "URL",
        hide_env_values = true
    )]
    store: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the demo: an illustrative agreement, a live API and a simulated stream of reports.
    Demo {
        /// Data folder (created with the illustrative agreement when absent).
        #[arg(long, default_value = "./truce-demo")]
        data: PathBuf,
        /// Address to serve HTTP on.
        #[arg(long, default_value = DEFAULT_HTTP)]
        http: SocketAddr,
        /// Seconds between simulated events, on average.
        #[arg(long, default_value_t = 1.5)]
        interval: f64,
        /// The sign-in limit.
        #[command(flatten)]
        sign_in: https::SignInFlags,
        /// TAK listeners (by default CoT over TCP on 127.0.0.1:8087 as m1-observer).
        #[command(flatten)]
        cot: cot::CotFlags,
        /// MQTT subscription (none by default; its member defaults to m2-observer).
        #[command(flatten)]
        mqtt: mqtt::MqttFlags,
    },
    /// Create a data folder for an agreement.
    Init {
        /// Data folder to create.
        #[arg(long)]
        data: PathBuf,
        /// The agreement's TOML file.
        #[arg(long)]
        agreement: PathBuf,
        /// The center's checkpoint key (from `truce keygen`), kept in the data folder.
        #[arg(long)]
        log_key: Option<PathBuf>,
    },
    /// Serve a data folder: the HTTP API and live events.
    Serve {
        /// Data folder made by `truce init`.
        #[arg(long)]
        data: PathBuf,
        /// Address to serve HTTP on.
        #[arg(long, default_value = DEFAULT_HTTP)]
        http: SocketAddr,
        /// Seconds between checkpoints; one is signed only when the record grew.
        #[arg(long, default_value_t = 1.0)]
        checkpoint_interval: f64,
        /// Serve as one of several nodes on the PostgreSQL record `--store` names: submissions
        /// are committed to its intake queue, and whichever node holds the sequencer's role
        /// records them (another takes over within a second or so when it stops).
        #[arg(long)]
        node: bool,
        /// HTTPS and the sign-in limit.
        #[command(flatten)]
        https: https::HttpFlags,
        /// TAK listeners.
        #[command(flatten)]
        cot: cot::CotFlags,
        /// MQTT subscription.
        #[command(flatten)]
        mqtt: mqtt::MqttFlags,
    },
    /// Copy a data folder's record into PostgreSQL (stop its server first) and check it there:
    /// same size, same root, same checkpoints. Keys and evidence stay in the folder.
    Migrate {
        /// The data folder whose record is copied.
        #[arg(long)]
        from: PathBuf,
        /// The empty PostgreSQL schema to copy it into: `postgres://USER@HOST/DB?schema=NAME`.
        #[arg(long, env = "TRUCE_MIGRATE_TO", hide_env_values = true)]
        to: String,
    },
    /// Send a file of observations (one JSON object per line) to a server.
    Submit {
        /// The server's base URL.
        #[arg(long)]
        server: String,
        /// An observer's token (from `truce user add`).
        #[arg(long, env = "TRUCE_TOKEN", hide_env_values = true)]
        token: String,
        /// The JSON Lines file.
        file: PathBuf,
        /// Lines per request (at most 10,000).
        #[arg(long, default_value_t = 500)]
        batch: usize,
    },
    /// Audit a record from its entries alone, trusting no party: an exported bundle (BUNDLE)
    /// or a data folder (--data). Exit 0 with a summary, 1 naming the first discrepancy.
    Verify {
        /// A bundle made by `truce ledger export`.
        bundle: Option<PathBuf>,
        /// A data folder instead of a bundle.
        #[arg(long, conflicts_with = "bundle")]
        data: Option<PathBuf>,
        /// With --data: also make every issued report again from the record as it stood
        /// when it was issued, and compare it with the SHA-256 its entry holds.
        #[arg(long, requires = "data")]
        reports: bool,
    },
    /// Export incidents (with their 95% ellipses), their observations and the zones for GIS
    /// tools and spreadsheets: geojson, kml, csv, acled-csv, gpkg (GeoPackage, QGIS) or cot.
    Export {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        /// geojson, kml, csv, acled-csv, gpkg or cot.
        #[arg(long)]
        format: String,
        /// Incidents last seen at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Incidents first seen at or before this time (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// Incidents located in this box: W,S,E,N in degrees.
        #[arg(long, allow_hyphen_values = true)]
        bbox: Option<String>,
        /// The file to write (replaced when it exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Import an outside file's rows as observations (source `import`, the file's SHA-256 in
    /// their `via`): acled-csv, geojson, kml or cot. All or nothing; every bad row is named; the
    /// same file twice adds nothing.
    Import {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        /// acled-csv, geojson, kml or cot.
        #[arg(long)]
        format: String,
        /// The observer the rows are recorded as.
        #[arg(long)]
        member: String,
        /// The file.
        file: PathBuf,
    },
    /// Reports for the mission's readers.
    Report {
        #[command(subcommand)]
        what: ReportCommand,
    },
    /// The shared record: export it for an outside auditor.
    Ledger {
        #[command(subcommand)]
        what: LedgerCommand,
    },
    /// Make a signed-note key pair: the center's checkpoint key, or a monitor's witness key.
    Keygen {
        /// The key's name (for the center, the log's origin).
        #[arg(long)]
        name: String,
        /// Private key file; the public key goes to FILE.pub.
        #[arg(long)]
        out: PathBuf,
        /// A witness (cosignature) key instead of the center's.
        #[arg(long)]
        witness: bool,
    },
    /// Run one monitor's witness: mirror the log, check it, cosign its checkpoints.
    Witness {
        /// This monitor's witness private key.
        #[arg(long)]
        key: PathBuf,
        /// The center's base URL.
        #[arg(long)]
        log: String,
        /// Folder for the witness's state and mirror.
        #[arg(long)]
        state: PathBuf,
        /// Seconds between looks at the log.
        #[arg(long, default_value_t = 1.0)]
        interval: f64,
    },
    /// Show where the record stands: size, latest and agreed checkpoints, lagging witnesses.
    Status {
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
    },
    /// Simulate a scenario with ground truth: events, and what observers, acoustic sensors,
    /// UAVs and patrols report of them.
    Simulate {
        /// The scenario's TOML (the demo's when absent).
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// The agreement whose sides' areas say who acted (the demo's when absent).
        #[arg(long)]
        agreement: Option<PathBuf>,
        /// Seed: the same seed gives the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Events to simulate.
        #[arg(long, default_value_t = 1000)]
        events: u64,
        /// Time of the first event (RFC 3339); by default early enough that every report lies
        /// in the past (the server refuses reports from the future).
        #[arg(long)]
        start: Option<String>,
        /// Mean seconds between events.
        #[arg(long, default_value_t = 60.0)]
        interval: f64,
        /// Where the reports go (JSON Lines, in time order; `truce submit` sends them).
        #[arg(long)]
        observations: PathBuf,
        /// Where the truth goes (JSON Lines, one event per line).
        #[arg(long)]
        truth: PathBuf,
    },
    /// Score a data folder's incidents against a simulation's truth: RMSE against the
    /// Cramér–Rao bound, 95% coverage, association F1, wrong attributions.
    Eval {
        /// The truth file from `truce simulate`.
        #[arg(long, requires = "data", conflicts_with = "scenario")]
        truth: Option<PathBuf>,
        /// The data folder the observations were submitted to.
        #[arg(long, requires = "truth")]
        data: Option<PathBuf>,
        /// Instead: simulate these scenarios, submit each into a scratch record through the
        /// engine and score them, one row per scenario (repeat the flag).
        #[arg(long, required_unless_present = "truth")]
        scenario: Vec<PathBuf>,
        /// With --scenario: the agreement (the demo's when absent).
        #[arg(long)]
        agreement: Option<PathBuf>,
        /// With --scenario: the first scenario's seed (each next one adds one).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// With --scenario: run every scenario with this many seeds, from --seed up (the same
        /// seeds for each), one row per run and one summary row per scenario (mean and worst).
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        /// With --scenario: events per scenario.
        #[arg(long, default_value_t = 200)]
        events: u64,
        /// With --scenario: mean seconds between events.
        #[arg(long, default_value_t = 120.0)]
        interval: f64,
    },
    /// Members of the monitors: add one (its token is printed once), revoke one, list them.
    User {
        #[command(subcommand)]
        what: UserCommand,
    },
    /// Measure performance.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// The daily report: violations by area against the previous period, attribution, each
    /// monitor's verdicts, access denials, running totals, the incident annex and a map,
    /// anchored to the record's checkpoint. HTML, English or Russian.
    Daily {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        /// The day the period ends (YYYY-MM-DD).
        #[arg(long)]
        date: String,
        /// The cut-off, UTC (HH:MM; default 19:30): the period runs from the previous day's.
        #[arg(long)]
        cutoff: Option<String>,
        /// en or ru.
        #[arg(long, default_value = "en")]
        lang: String,
        /// The file to write (.html).
        #[arg(long)]
        out: PathBuf,
        /// Issue it as this officer: a `report` entry with the file's SHA-256 and the record
        /// it was computed from goes on the record.
        #[arg(long, value_name = "OFFICER")]
        issue_as: Option<String>,
    },
    /// Check a report file against the record: exit 0 naming the entry that issued exactly
    /// this file, 1 when the record issued no such file.
    Verify {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        /// The report file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a member to a monitor with a role; prints their token, which is stored only hashed.
    Add {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        /// The member's monitor (an id from the agreement).
        #[arg(long)]
        monitor: String,
        /// observer, analyst, officer, admin or auditor.
        #[arg(long)]
        role: String,
        /// The client certificate (PEM or DER) the member's TAK device presents over CoT/TLS
        /// (`truce serve --cot-tls`); its SHA-256 is written into the membership entry.
        #[arg(long, value_name = "FILE")]
        cert: Option<PathBuf>,
        /// The member's name (letters, digits, - and _).
        name: String,
    },
    /// Revoke a member: their token stops working; the record keeps that they were one.
    Revoke {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        /// The member's name.
        name: String,
    },
    /// List the members of every monitor.
    List {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Write entries, tiles, every checkpoint with its cosignatures, and the derived tables to
    /// a new folder that `truce verify BUNDLE` checks.
    Export {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        /// The bundle folder to create.
        #[arg(long)]
        out: PathBuf,
        /// Copy the evidence files too (each checked against its hash), so the bundle's
        /// auditor can check them.
        #[arg(long)]
        with_evidence: bool,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Acoustic pulses under rapid fire: pulses per second and the cost of one pulse as the
    /// density of fire in one network grows.
    Pulses {
        /// Bursts at each density.
        #[arg(long, default_value_t = 40)]
        events: u64,
        /// Seconds between bursts at 1x.
        #[arg(long, default_value_t = 120.0)]
        interval: f64,
        /// Density factors (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
        density: Vec<f64>,
    },
    /// Sustained intake on a fresh store (SQLite, or PostgreSQL with --store): in-process and
    /// through the HTTP API, against the store's own bare speed.
    Intake {
        /// Observations to submit.
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
        /// Observations per batch.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Skip the HTTP measurement.
        #[arg(long)]
        no_http: bool,
        /// Let commits skip the disk flush (survives a process crash, not power loss).
        #[arg(long)]
        relaxed: bool,
        /// Also run the full path at 1x, 10x and 100x the default density of events.
        #[arg(long)]
        sweep: bool,
        /// Submitters at once in process, as concurrent clients are (one batch fuses while the
        /// one before it commits).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
        clients: u16,
    },
    /// Exports: reading N incidents and writing each format (the goal: 100,000 in 5 s).
    Export {
        /// Simulated incidents in the scratch record.
        #[arg(long, default_value_t = 100_000)]
        incidents: usize,
    },
    /// HTTP intake through one node and through several on one PostgreSQL record (needs
    /// --store; the goal: 3 nodes at least 1.5x one).
    Nodes {
        /// Nodes in the second run.
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// Observations to submit in each run.
        #[arg(long, default_value_t = 20_000)]
        count: usize,
        /// Observations per batch.
        #[arg(long, default_value_t = 100)]
        batch: usize,
    },
    /// Incidents by bounding box and time over N rows on PostGIS (needs --store; the goal: p99
    /// within 5 ms over 10 million).
    Gis {
        /// Incidents in the scratch schema.
        #[arg(long, default_value_t = 10_000_000)]
        rows: u64,
    },
    /// The daily report of a day of N simulated events, as HTML and PDF, made twice (the goal:
    /// a demo day's report in 1 s, the same bytes each time).
    Report {
        /// Simulated events in the reporting period.
        #[arg(long, default_value_t = 300)]
        events: usize,
    },
    /// Imports: N ACLED rows parsed, validated and appended (the goal: 100,000 in 10 s).
    Import {
        /// Rows in the generated ACLED file.
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
    },
    /// The ledger: node-hash rate, tree appends, proof latency, audit time.
    Ledger {
        /// Leaves of the tree proofs are measured on.
        #[arg(long, default_value_t = 10_000_000)]
        proof_entries: u64,
        /// Entries of the record the audit is measured on.
        #[arg(long, default_value_t = 1_000_000)]
        audit_entries: u64,
        /// Records the audit's record in this folder and keeps it. A record already there is
        /// topped up to --audit-entries and audited against its own agreement (to measure the
        /// audit again without recording anew).
        #[arg(long, value_name = "DIR")]
        record_in: Option<std::path::PathBuf>,
    },
}

/// mimalloc: glibc's allocator took about 15% of the audit's CPU, much of it freeing on one
/// thread what another had allocated (ARCHITECTURE.md, Decisions).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Some(url) = &cli.store
        && let Err(e) = data_dir::use_postgres(url)
    {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Demo {
            data,
            http,
            interval,
            sign_in,
            cot,
            mqtt,
        } => cmd::demo::run(&data, http, interval, &sign_in, cot, mqtt),
        Command::Init {
            data,
            agreement,
            log_key,
        } => cmd::init::run(&data, &agreement, log_key.as_deref()),
        Command::Keygen { name, out, witness } => cmd::keygen::run(&name, &out, witness),
        Command::Witness {
            key,
            log,
            state,
            interval,
        } => cmd::witness::run(&key, &log, &state, interval),
        Command::Status { server } => cmd::status::run(&server),
        Command::Simulate {
            scenario,
            agreement,
            seed,
            events,
            start,
            interval,
            observations,
            truth,
        } => start
            .map(|text| {
                truce_core::Timestamp::parse(&text)
                    .map_err(|e| anyhow::anyhow!("--start {text:?} is not an RFC 3339 time: {e}"))
            })
            .unwrap_or_else(|| {
                // Exponential spacing: the whole run ends before now with room to spare.
                let span = events as f64 * interval * 1.5 + 3_600.0;
                Ok(truce_core::Timestamp::now().plus_seconds(-span))
            })
            .and_then(|start| {
                cmd::simulate::run(&cmd::simulate::SimulateArgs {
                    scenario: scenario.as_deref(),
                    agreement: agreement.as_deref(),
                    seed,
                    events,
                    start,
                    interval_s: interval,
                    observations: &observations,
                    truth: &truth,
                })
            }),
        Command::Eval {
            truth,
            data,
            scenario,
            agreement,
            seed,
            seeds,
            events,
            interval,
        } => match (truth, data) {
            (Some(truth), Some(data)) => cmd::eval::run(&truth, &data),
            _ => cmd::eval::run_scenarios(&cmd::eval::ScenarioRuns {
                scenarios: &scenario,
                agreement: agreement.as_deref(),
                seed,
                seeds,
                events,
                interval_s: interval,
            }),
        },
        Command::Serve {
            data,
            http,
            checkpoint_interval,
            node,
            https,
            cot,
            mqtt,
        } => cmd::serve::run(&data, http, checkpoint_interval, node, &https, &cot, &mqtt),
        Command::Migrate { from, to } => cmd::migrate::run(&from, &to),
        Command::Submit {
            server,
            token,
            file,
            batch,
        } => cmd::submit::run(&server, &token, &file, batch),
        Command::User { what } => match what {
            UserCommand::Add {
                data,
                monitor,
                role,
                cert,
                name,
            } => cmd::user::add(&data, &monitor, &role, cert.as_deref(), &name),
            UserCommand::Revoke { data, name } => cmd::user::revoke(&data, &name),
            UserCommand::List { data } => cmd::user::list(&data),
        },
        Command::Export {
            data,
            format,
            since,
            until,
            bbox,
            out,
        } => cmd::export::run(&cmd::export::Args {
            data: &data,
            format: &format,
            since: since.as_deref(),
            until: until.as_deref(),
            bbox: bbox.as_deref(),
            out: &out,
        }),
        Command::Report {
            what:
                ReportCommand::Daily {
                    data,
                    date,
                    cutoff,
                    lang,
                    out,
                    issue_as,
                },
        } => cmd::report::daily(
            &data,
            &date,
            cutoff.as_deref(),
            &lang,
            &out,
            issue_as.as_deref(),
        ),
        Command::Import {
            data,
            format,
            member,
            file,
        } => cmd::import::run(&data, &format, &member, &file),
        Command::Report {
            what: ReportCommand::Verify { data, file },
        } => cmd::report::verify(&data, &file),
        Command::Verify {
            bundle,
            data,
            reports,
        } => cmd::verify::run(bundle.as_deref(), data.as_deref(), reports),
        Command::Ledger {
            what:
                LedgerCommand::Export {
                    data,
                    out,
                    with_evidence,
                },
        } => cmd::verify::export(&data, &out, with_evidence),
        Command::Bench {
            what:
                BenchCommand::Intake {
                    count,
                    batch,
                    no_http,
                    relaxed,
                    sweep,
                    clients,
                },
        } => cmd::bench::intake(count, batch, !no_http, relaxed, sweep, clients.into()),
        Command::Bench {
            what:
                BenchCommand::Pulses {
                    events,
                    interval,
                    density,
                },
        } => cmd::bench_pulses::run(events, interval, &density),
        Command::Bench {
            what: BenchCommand::Import { rows },
        } => cmd::bench_import::run(rows.max(1)),
        Command::Bench {
            what: BenchCommand::Export { incidents },
        } => cmd::bench_export::run(incidents.max(1)),
        Command::Bench {
            what:
                BenchCommand::Nodes {
                    nodes,
                    count,
                    batch,
                },
        } => cmd::bench_nodes::run(nodes, count, batch),
        Command::Bench {
            what: BenchCommand::Gis { rows },
        } => cmd::bench_gis::run(rows.max(1)),
        Command::Bench {
            what: BenchCommand::Report { events },
        } => cmd::bench_report::run(events.max(1)),
        Command::Bench {
            what:
                BenchCommand::Ledger {
                    proof_entries,
                    audit_entries,
                    record_in,
                },
        } => cmd::bench_ledger::run(proof_entries.max(2), audit_entries, record_in.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
