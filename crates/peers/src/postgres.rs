//! A throw-away PostgreSQL server with PostGIS for the tests of one process: Debian's
//! `postgresql-15` and `postgresql-15-postgis-3` (installed by `.ci/run`), a fresh cluster in a
//! temporary folder, listening on a free loopback port.
//!
//! Guarantees: [`postgres`] returns a running server whose `postgres` database has the PostGIS
//! extension, or panics naming what is missing and how to install it (a test that needs the
//! database fails loudly rather than passing without it). The server is stopped (immediate
//! shutdown) when the test process exits, however it exits: a shell beside it waits on a pipe
//! only this process holds, and stops it when the pipe closes. As root the cluster runs as the
//! `postgres` user, as PostgreSQL requires.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running server.
#[derive(Debug)]
pub struct PgServer {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    /// Held open for the life of the process; closing it stops the server.
    _lifeline: Mutex<ChildStdin>,
}

static SERVER: OnceLock<PgServer> = OnceLock::new();
static SCHEMAS: AtomicU64 = AtomicU64::new(0);

/// The server of this test process, started on first use.
pub fn postgres() -> &'static PgServer {
    SERVER.get_or_init(start)
}

impl PgServer {
    /// The superuser's URL for database `postgres`.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A URL naming a schema no other caller in this process was given, for one test's record.
    pub fn fresh_url(&self) -> String {
        let n = SCHEMAS.fetch_add(1, Ordering::Relaxed);
        format!("{}?schema=t{n}_{}", self.admin_url(), std::process::id())
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs `sql` with `psql` as the superuser (stopping at the first error) and returns what
    /// it printed, unaligned and without headers; panics with psql's message when it fails.
    pub fn psql(&self, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .args(["-c", sql])
            .output()
            .unwrap_or_else(|e| panic!("could not run psql: {e}"));
        assert!(
            out.status.success(),
            "psql {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The folder holding the cluster (its `log` file tells what the server said).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The newest installed server's binaries.
fn server_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b).unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server is installed: apt-get install postgresql-15 \
             postgresql-15-postgis-3 (.ci/run does)"
        )
    })
}

/// The uid and gid of user `postgres` when this process is root (PostgreSQL refuses to run
/// as root), else `None`: the cluster runs as the current user.
fn run_as() -> Option<(u32, u32)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?;
    if uid != "0" {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("postgres:"))?;
    let mut fields = line.split(':').skip(2);
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

fn command(program: &Path, user: Option<(u32, u32)>) -> Command {
    let mut c = Command::new(program);
    if let Some((uid, gid)) = user {
        c.uid(uid).gid(gid);
    }
    c
}

fn run(c: &mut Command, what: &str) {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("could not run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start() -> PgServer {
    let bin = server_bin();
    let user = run_as();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("truce-pg-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating the cluster's folder");
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("giving postgres the folder");
    }
    let data = dir.join("data");
    run(
        command(&bin.join("initdb"), user)
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]),
        "initdb",
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("finding a free port");
    // The shell starts the server, then waits for its standard input to close (this process
    // exiting), and stops the server immediately.
    let script = r#"exec 3<&0
"$0" -D "$1" -k "$2" -p "$3" -c listen_addresses=127.0.0.1 -c max_connections=400 \
    -c shared_buffers=128MB >"$2/log" 2>&1 &
pid=$!
cat <&3 >/dev/null
kill -QUIT "$pid"
wait "$pid"
rm -rf "$2""#;
    let mut child = command(Path::new("/bin/sh"), user)
        .arg("-c")
        .arg(script)
        .arg(bin.join("postgres"))
        .arg(&data)
        .arg(&dir)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the PostgreSQL server");
    let lifeline = child.stdin.take().expect("the server's lifeline");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = Command::new(bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ready {
            break;
        }
        if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
            let mut log = String::new();
            let _ = std::fs::File::open(dir.join("log")).map(|mut f| f.read_to_string(&mut log));
            panic!("the PostgreSQL server did not start: {log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let server = PgServer {
        dir,
        port,
        bin,
        _lifeline: Mutex::new(lifeline),
    };
    let has_postgis = std::path::Path::new("/usr/share/postgresql")
        .read_dir()
        .into_iter()
        .flatten()
        .flatten()
        .any(|v| v.path().join("extension/postgis.control").exists());
    assert!(
        has_postgis,
        "PostGIS is not installed: apt-get install postgresql-15-postgis-3 (.ci/run does)"
    );
    server.psql("CREATE EXTENSION IF NOT EXISTS postgis");
    server
}
