//! Who may do what: members of a monitor with roles, and each monitor's verdict on an incident.

use crate::incident::Status;
use serde::{Deserialize, Serialize};

/// A member's role. A member belongs to exactly one monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Submits observations.
    Observer,
    /// Merges, splits, annotates and corrects incidents.
    Analyst,
    /// Assesses incidents for their own monitor.
    Officer,
    /// Manages the members of their own monitor.
    Admin,
    /// Reads everything, the ledger included; changes nothing.
    Auditor,
}

impl Role {
    /// Every role, in the contract's order.
    pub const ALL: [Role; 5] = [
        Role::Observer,
        Role::Analyst,
        Role::Officer,
        Role::Admin,
        Role::Auditor,
    ];

    /// The contract's name (`officer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Observer => "observer",
            Role::Analyst => "analyst",
            Role::Officer => "officer",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    /// The role named `name`, if any.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// One monitor's verdict on an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The monitor confirms the incident happened as estimated.
    Confirm,
    /// The monitor disputes it.
    Dispute,
    /// The monitor cannot determine it.
    Undetermined,
}

impl Verdict {
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirm => "confirm",
            Verdict::Dispute => "dispute",
            Verdict::Undetermined => "undetermined",
        }
    }

    /// The verdict named `name`, if any.
    pub fn from_name(name: &str) -> Option<Verdict> {
        [Verdict::Confirm, Verdict::Dispute, Verdict::Undetermined]
            .into_iter()
            .find(|v| v.as_str() == name)
    }
}

/// The status an incident's current verdicts give it, with `monitors` monitors in the
/// agreement: `reported` with none; `disputed` when any monitor disputes; `jointly_confirmed`
/// when every monitor confirms; `undetermined` when every monitor has spoken and neither of
/// those holds; `under_review` otherwise. A merged incident stays `merged`.
pub fn derive_status(current: Status, monitors: usize, verdicts: &[Verdict]) -> Status {
    if current == Status::Merged {
        return Status::Merged;
    }
    if verdicts.is_empty() {
        Status::Reported
    } else if verdicts.contains(&Verdict::Dispute) {
        Status::Disputed
    } else if verdicts.len() >= monitors && verdicts.iter().all(|v| *v == Verdict::Confirm) {
        Status::JointlyConfirmed
    } else if verdicts.len() >= monitors {
        Status::Undetermined
    } else {
        Status::UnderReview
    }
}

/// The text an assessment's signed note signs: what was said, by which monitor, about which
/// incident, when, with the reason's SHA-256 (the reason itself is in the entry).
pub fn assessment_statement(
    origin: &str,
    incident: crate::IncidentId,
    monitor: &str,
    verdict: Verdict,
    reason: &str,
    user: &str,
    at: crate::Timestamp,
) -> String {
    use sha2::{Digest, Sha256};
    let digest: String = Sha256::digest(reason.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "truce assessment v1\n{origin}\nincident {incident}\nmonitor {monitor}\nverdict {}\nuser {user}\ntime {at}\nreason-sha256 {digest}\n",
        verdict.as_str()
    )
}

/// The time an assessment statement names (its `time` line), if it names one.
pub fn statement_time(statement: &[u8]) -> Option<crate::Timestamp> {
    String::from_utf8_lossy(statement)
        .lines()
        .find_map(|l| l.strip_prefix("time "))
        .and_then(|t| crate::Timestamp::parse(t).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_verdict() -> impl Strategy<Value = Verdict> {
        prop::sample::select(vec![
            Verdict::Confirm,
            Verdict::Dispute,
            Verdict::Undetermined,
        ])
    }

    proptest! {
        /// Dissent wins, unanimity is needed to confirm, and silence is `reported`.
        #[test]
        fn status_follows_the_verdicts(monitors in 1usize..5, verdicts in prop::collection::vec(any_verdict(), 0..5)) {
            let verdicts: Vec<Verdict> = verdicts.into_iter().take(monitors).collect();
            let s = derive_status(Status::Reported, monitors, &verdicts);
            let disputed = verdicts.contains(&Verdict::Dispute);
            prop_assert_eq!(s == Status::Disputed, disputed);
            prop_assert_eq!(
                s == Status::JointlyConfirmed,
                verdicts.len() == monitors && verdicts.iter().all(|v| *v == Verdict::Confirm)
            );
            prop_assert_eq!(s == Status::Reported, verdicts.is_empty());
            if !verdicts.is_empty() && verdicts.len() < monitors && !disputed {
                prop_assert_eq!(s, Status::UnderReview);
            }
            // One more confirmation never turns a dispute into anything else.
            if disputed {
                let mut more = verdicts.clone();
                more.push(Verdict::Confirm);
                prop_assert_eq!(derive_status(Status::Reported, monitors + 1, &more), Status::Disputed);
            }
            prop_assert_eq!(derive_status(Status::Merged, monitors, &verdicts), Status::Merged);
        }
    }

    #[test]
    fn two_monitors_walk_through_the_statuses() {
        use Verdict::*;
        assert_eq!(derive_status(Status::Reported, 2, &[]), Status::Reported);
        assert_eq!(
            derive_status(Status::Reported, 2, &[Confirm]),
            Status::UnderReview
        );
        assert_eq!(
            derive_status(Status::Reported, 2, &[Confirm, Confirm]),
            Status::JointlyConfirmed
        );
        assert_eq!(
            derive_status(Status::Reported, 2, &[Confirm, Dispute]),
            Status::Disputed
        );
        assert_eq!(
            derive_status(Status::Reported, 2, &[Confirm, Undetermined]),
            Status::Undetermined
        );
        assert_eq!(Role::from_name("officer"), Some(Role::Officer));
        assert_eq!(Role::from_name("root"), None);
    }
}
