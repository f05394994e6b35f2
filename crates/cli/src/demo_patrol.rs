//! The demo's simulated patrol: a vehicle of monitor m1 driving a loop in its area of
//! responsibility, reporting its position over the demo's own CoT listener every 5 s as an
//! ATAK device would. What it shows: situational awareness relayed to connected TAK clients,
//! and the patrol's track kept in the record at a bounded rate (`GET /api/tracks`).

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use truce_core::Timestamp;

/// The loop, (latitude, longitude) in degrees: illustrative, inside monitor m1's area.
const ROUTE: [(f64, f64); 5] = [
    (40.40, 46.10),
    (40.40, 46.30),
    (40.30, 46.30),
    (40.30, 46.10),
    (40.40, 46.10),
];
/// The vehicle's speed, metres per second.
const SPEED_MPS: f64 = 10.0;
/// How often it reports, as ATAK does while moving.
const EVERY: Duration = Duration::from_secs(5);

fn leg_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let mid = ((a.0 + b.0) / 2.0).to_radians();
    let dy = (b.0 - a.0).to_radians() * 6_371_000.0;
    let dx = (b.1 - a.1).to_radians() * 6_371_000.0 * mid.cos();
    dx.hypot(dy)
}

/// Where the patrol is at `t`, and its course in degrees true: it drives the loop for ever,
/// so a restarted demo finds it where it would have been.
fn position(t: Timestamp) -> (f64, f64, f64) {
    let total: f64 = ROUTE.windows(2).map(|w| leg_m(w[0], w[1])).sum();
    let mut along = (t.unix_seconds() * SPEED_MPS).rem_euclid(total);
    for w in ROUTE.windows(2) {
        let leg = leg_m(w[0], w[1]);
        if along <= leg {
            let f = along / leg;
            let lat = w[0].0 + f * (w[1].0 - w[0].0);
            let lon = w[0].1 + f * (w[1].1 - w[0].1);
            let east = (w[1].1 - w[0].1).to_radians() * lat.to_radians().cos();
            let north = (w[1].0 - w[0].0).to_radians();
            let course = east.atan2(north).to_degrees().rem_euclid(360.0);
            return (lat, lon, course);
        }
        along -= leg;
    }
    (ROUTE[0].0, ROUTE[0].1, 0.0)
}

fn event(t: Timestamp) -> String {
    let (lat, lon, course) = position(t);
    let time = truce_cot::format_time(t.unix_millis());
    let stale = truce_cot::format_time(t.plus_seconds(60.0).unix_millis());
    format!(
        "<event version=\"2.0\" uid=\"demo-patrol-1\" type=\"a-f-G-U-C\" how=\"m-g\" \
         time=\"{time}\" start=\"{time}\" stale=\"{stale}\"><point lat=\"{lat:.6}\" \
         lon=\"{lon:.6}\" hae=\"9999999\" ce=\"8\" le=\"9999999\"/><detail>\
         <contact callsign=\"Patrol 1 (simulated)\" endpoint=\"*:-1:stcp\"/>\
         <__group name=\"Cyan\" role=\"Team Lead\"/><takv device=\"simulated\" \
         platform=\"truce demo\" os=\"-\" version=\"1\"/><track course=\"{course:.1}\" \
         speed=\"{SPEED_MPS}\"/></detail></event>"
    )
}

/// Drives the patrol through the CoT listener at `listener` until `stop` turns true,
/// reconnecting after a failure. What the listener sends back is read and dropped.
pub async fn run(listener: SocketAddr, mut stop: watch::Receiver<bool>) {
    loop {
        if let Ok(stream) = TcpStream::connect(listener).await {
            let (mut reader, mut writer) = stream.into_split();
            let drain = tokio::spawn(async move {
                let mut sink = vec![0u8; 16 * 1024];
                while matches!(reader.read(&mut sink).await, Ok(n) if n > 0) {}
            });
            loop {
                if writer
                    .write_all(event(Timestamp::now()).as_bytes())
                    .await
                    .is_err()
                {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(EVERY) => {}
                    _ = stop.changed() => {
                        drain.abort();
                        return;
                    }
                }
            }
            drain.abort();
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patrol_drives_its_loop_at_its_speed() {
        let t0 = Timestamp::parse("2026-12-05T10:00:00Z").unwrap();
        let (a_lat, a_lon, _) = position(t0);
        let (b_lat, b_lon, course) = position(t0.plus_seconds(30.0));
        let moved = leg_m((a_lat, a_lon), (b_lat, b_lon));
        assert!((moved - 300.0).abs() < 5.0, "{moved}");
        assert!((0.0..360.0).contains(&course));
        for s in (0..20_000).step_by(97) {
            let (lat, lon, _) = position(t0.plus_seconds(f64::from(s)));
            assert!((40.29..=40.41).contains(&lat) && (46.09..=46.31).contains(&lon));
        }
    }
}
