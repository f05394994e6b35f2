//! Joint verification over HTTP: who may call what (every role of both monitors against every
//! endpoint, each answer's exact status), failed sign-ins held off, officers' verdicts and the
//! incident's status, analysts' notes, membership, and the audit naming the signers.

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use common::places::{CORRIDOR, SIDE_A, SIDE_B};
use common::{Api, Reply, at, observation, position, request};
use serde_json::{Value, json};
use tower::ServiceExt;
use truce_core::access::Role;

/// Every member of the fixture: one per role per monitor.
fn members() -> Vec<(String, &'static str, Role)> {
    let mut out = Vec::new();
    for monitor in ["m1", "m2"] {
        for role in Role::ALL {
            out.push((format!("{monitor}-{}", role.as_str()), monitor, role));
        }
    }
    out
}

/// `method path` with `body`, as `token` (none when `None`).
async fn call(
    api: &Api,
    method: Method,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = vec![(header::CONTENT_TYPE.as_str(), "application/json")];
    if let Some(a) = &auth {
        headers.push((header::AUTHORIZATION.as_str(), a));
    }
    let body = body
        .map(|b| Body::from(b.to_string()))
        .unwrap_or_else(Body::empty);
    api.send_raw(request(method, path, &headers, body)).await
}

/// An incident to act on: one shot in Side A's area (incident 1).
async fn with_an_incident(api: &Api) {
    api.accept_one(&observation("shot", &at(0.0), position(SIDE_A, 30.0)))
        .await;
}

#[tokio::test]
async fn every_role_gets_exactly_its_rights_on_every_endpoint() {
    let api = Api::new();
    with_an_incident(&api).await;
    let mut n = 0;
    for (user, monitor, role) in members() {
        let token = api.token(&user).to_string();
        let t = Some(token.as_str());
        let is = |r: Role| {
            if role == r {
                StatusCode::CREATED
            } else {
                StatusCode::FORBIDDEN
            }
        };
        // Reads: every member.
        for path in [
            "/api/agreement",
            "/api/observations/1",
            "/api/incidents",
            "/api/incidents/1",
            "/api/me",
            "/api/status",
        ] {
            let reply = call(&api, Method::GET, path, None, t).await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{user} GET {path}: {}",
                reply.text()
            );
        }
        // Submitting: observers only.
        n += 1;
        let obs = observation("shot", &at(f64::from(n)), position(SIDE_B, 30.0));
        let reply = call(&api, Method::POST, "/api/observations", Some(&obs), t).await;
        assert_eq!(
            reply.status,
            is(Role::Observer),
            "{user} submits: {}",
            reply.text()
        );
        // Assessing: officers, for their own monitor.
        let verdict = json!({"verdict": "confirm", "reason": format!("seen by {user}")});
        let reply = call(
            &api,
            Method::POST,
            "/api/incidents/1/assessments",
            Some(&verdict),
            t,
        )
        .await;
        assert_eq!(
            reply.status,
            is(Role::Officer),
            "{user} assesses: {}",
            reply.text()
        );
        // Annotating: analysts.
        let note = json!({"text": format!("note by {user}")});
        let reply = call(
            &api,
            Method::POST,
            "/api/incidents/1/annotations",
            Some(&note),
            t,
        )
        .await;
        assert_eq!(
            reply.status,
            is(Role::Analyst),
            "{user} annotates: {}",
            reply.text()
        );
        // Merging and splitting: analysts (here refused on its merits: 1 into itself, 1's only
        // observation), everyone else forbidden.
        let regroup = |r: Role| {
            if r == Role::Analyst {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::FORBIDDEN
            }
        };
        let merge = json!({"into": 1, "reason": "same blast"});
        let reply = call(
            &api,
            Method::POST,
            "/api/incidents/1/merge",
            Some(&merge),
            t,
        )
        .await;
        assert_eq!(
            reply.status,
            regroup(role),
            "{user} merges: {}",
            reply.text()
        );
        let split = json!({"observation_ids": [1], "reason": "another blast"});
        let reply = call(
            &api,
            Method::POST,
            "/api/incidents/1/split",
            Some(&split),
            t,
        )
        .await;
        assert_eq!(
            reply.status,
            regroup(role),
            "{user} splits: {}",
            reply.text()
        );
        // Listing members: admins (their monitor) and auditors (everyone).
        let reply = call(&api, Method::GET, "/api/users", None, t).await;
        let expected = match role {
            Role::Admin | Role::Auditor => StatusCode::OK,
            _ => StatusCode::FORBIDDEN,
        };
        assert_eq!(
            reply.status,
            expected,
            "{user} lists members: {}",
            reply.text()
        );
        if role == Role::Admin {
            let listed = reply.json()["members"].as_array().unwrap().clone();
            assert!(listed.iter().all(|m| m["monitor"] == monitor), "{listed:?}");
        }
        if role == Role::Auditor {
            assert!(reply.json()["members"].as_array().unwrap().len() >= 10);
        }
        // Adding members: admins, to their own monitor only.
        let new_user = json!({"user": format!("new-{user}"), "role": "observer"});
        let reply = call(&api, Method::POST, "/api/users", Some(&new_user), t).await;
        assert_eq!(
            reply.status,
            is(Role::Admin),
            "{user} adds: {}",
            reply.text()
        );
        let other = if monitor == "m1" { "m2" } else { "m1" };
        let elsewhere = json!({"user": format!("x-{user}"), "role": "observer", "monitor": other});
        let reply = call(&api, Method::POST, "/api/users", Some(&elsewhere), t).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{user} adds to {other}: {}",
            reply.text()
        );
        // Revoking: an admin of the same monitor only.
        let own = format!("/api/users/{monitor}-observer/revoke");
        let foreign = format!("/api/users/{other}-observer/revoke");
        let reply = call(&api, Method::POST, &foreign, None, t).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{user} revokes in {other}: {}",
            reply.text()
        );
        if role != Role::Admin {
            let reply = call(&api, Method::POST, &own, None, t).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{user} revokes: {}",
                reply.text()
            );
        }
    }
    // Without a token, or with a wrong one: 401 on every members' endpoint.
    for (i, (method, path)) in [
        (Method::GET, "/api/agreement"),
        (Method::GET, "/api/incidents"),
        (Method::GET, "/api/incidents/1"),
        (Method::GET, "/api/observations/1"),
        (Method::POST, "/api/observations"),
        (Method::POST, "/api/incidents/1/assessments"),
        (Method::POST, "/api/incidents/1/annotations"),
        (Method::POST, "/api/incidents/1/merge"),
        (Method::POST, "/api/incidents/1/split"),
        (Method::GET, "/api/users"),
        (Method::POST, "/api/users"),
        (Method::POST, "/api/users/m1-observer/revoke"),
        (Method::GET, "/api/me"),
        (Method::GET, "/api/status"),
        (Method::GET, "/api/events"),
    ]
    .into_iter()
    .enumerate()
    {
        let reply = call(&api, method.clone(), path, None, None).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} without a token"
        );
        let error = &reply.json()["error"];
        assert_eq!(error["code"], "unauthorized", "{}", reply.text());
        // Forged tokens count as failed sign-ins: stay under the limit here (tested below).
        if i < truce_server::MAX_FAILURES / 2 {
            let reply = call(&api, method.clone(), path, None, Some("m1-admin.forged")).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with a forged token"
            );
        }
    }
    // Public: health, the description, the ledger.
    for path in [
        "/healthz",
        "/api/openapi.json",
        "/api/ledger",
        "/api/ledger/keys",
    ] {
        let reply = call(&api, Method::GET, path, None, None).await;
        assert_eq!(reply.status, StatusCode::OK, "GET {path} is public");
    }
}

#[tokio::test]
async fn an_admin_revokes_a_member_of_their_monitor_and_the_token_stops_working() {
    let api = Api::new();
    let admin = api.token("m1-admin").to_string();
    let added = call(
        &api,
        Method::POST,
        "/api/users",
        Some(&json!({"user": "op-7", "role": "observer"})),
        Some(&admin),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    let token = added.json()["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("op-7."));
    let me = call(&api, Method::GET, "/api/me", None, Some(&token)).await;
    assert_eq!(
        me.json(),
        json!({"user": "op-7", "monitor": "m1", "role": "observer"})
    );
    let again = call(
        &api,
        Method::POST,
        "/api/users",
        Some(&json!({"user": "op-7", "role": "analyst"})),
        Some(&admin),
    )
    .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.json()["error"]["field"], "user");
    let m2_admin = api.token("m2-admin").to_string();
    let foreign = call(
        &api,
        Method::POST,
        "/api/users/op-7/revoke",
        None,
        Some(&m2_admin),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let revoked = call(
        &api,
        Method::POST,
        "/api/users/op-7/revoke",
        None,
        Some(&admin),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.text());
    let me = call(&api, Method::GET, "/api/me", None, Some(&token)).await;
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "a revoked token is refused at once"
    );
    let listed = call(&api, Method::GET, "/api/users", None, Some(&admin)).await;
    let op7 = listed.json()["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"] == "op-7")
        .cloned()
        .unwrap();
    assert_eq!(op7["active"], false, "kept, revoked, not deleted");
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_held_off() {
    let api = Api::new();
    for i in 0..truce_server::MAX_FAILURES {
        let reply = call(
            &api,
            Method::GET,
            "/api/me",
            None,
            Some(&format!("m1-admin.wrong{i}")),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = call(
        &api,
        Method::GET,
        "/api/me",
        None,
        Some(api.token("m1-admin")),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.text()
    );
    assert_eq!(reply.json()["error"]["code"], "too_many_attempts");
    assert_eq!(reply.header("retry-after"), Some("60"));
    // A request without a token guesses nothing: it is still told it needs one.
    let bare = call(&api, Method::GET, "/api/me", None, None).await;
    assert_eq!(bare.status, StatusCode::UNAUTHORIZED, "{}", bare.text());
}

#[tokio::test]
async fn the_event_stream_takes_the_token_as_a_query_parameter() {
    let api = Api::new();
    let path = format!("/api/events?access_token={}", api.token("m2-auditor"));
    let response = api
        .app
        .clone()
        .oneshot(request(Method::GET, &path, &[], Body::empty()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn assess(api: &Api, user: &str, incident: u64, verdict: &str, reason: &str) -> Reply {
    let body = json!({"verdict": verdict, "reason": reason});
    call(
        api,
        Method::POST,
        &format!("/api/incidents/{incident}/assessments"),
        Some(&body),
        Some(api.token(user)),
    )
    .await
}

#[tokio::test]
async fn both_monitors_confirm_then_one_disputes_and_both_voices_stay() {
    let api = Api::new();
    with_an_incident(&api).await;
    assert_eq!(api.incident(1).await["status"], "reported");
    let reply = assess(&api, "m1-officer", 1, "confirm", "heard from OP-4").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(reply.json()["status"], "under_review");
    assert_eq!(api.incident(1).await["status"], "under_review");
    let reply = assess(&api, "m2-officer", 1, "confirm", "our patrol saw it").await;
    assert_eq!(reply.json()["status"], "jointly_confirmed");
    assert_eq!(api.listed("status=jointly_confirmed").await, [1]);
    let reply = assess(
        &api,
        "m2-officer",
        1,
        "dispute",
        "the patrol's time is an hour off",
    )
    .await;
    assert_eq!(reply.json()["status"], "disputed");
    let shown = api.incident(1).await;
    assert_eq!(shown["status"], "disputed");
    let verdicts: Vec<(String, String, bool)> = shown["assessments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["monitor"].as_str().unwrap().to_string(),
                a["verdict"].as_str().unwrap().to_string(),
                a["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("m1".into(), "confirm".into(), true),
            ("m2".into(), "confirm".into(), false),
            ("m2".into(), "dispute".into(), true)
        ],
        "dissent and what it superseded are both shown"
    );
    assert_eq!(
        shown["assessments"][2]["reason"],
        "the patrol's time is an hour off"
    );
    assert_eq!(shown["assessments"][2]["user"], "m2-officer");
    // A new report joining the incident does not reset its status.
    api.accept_one(&observation("shot", &at(5.0), position(SIDE_A, 30.0)))
        .await;
    assert_eq!(api.incident(1).await["status"], "disputed");
    // The record proves who said what.
    let report = truce_engine::audit(api.engine.store().as_ref(), api.engine.agreement()).unwrap();
    assert_eq!(report.signed_assessments.get("m1"), Some(&1));
    assert_eq!(report.signed_assessments.get("m2"), Some(&2));
    // And it survives a restart.
    let api = api.reopen();
    assert_eq!(api.incident(1).await["status"], "disputed");
    api.accept_one(&observation("shot", &at(9.0), position(SIDE_A, 30.0)))
        .await;
    assert_eq!(api.incident(1).await["status"], "disputed");
}

#[tokio::test]
async fn bad_assessments_are_refused_naming_the_field_and_record_nothing() {
    let api = Api::new();
    with_an_incident(&api).await;
    let size = api.record_size().await;
    let officer = api.token("m1-officer").to_string();
    for (body, field) in [
        (json!({"verdict": "maybe", "reason": "x"}), "verdict"),
        (json!({"reason": "x"}), "verdict"),
        (json!({"verdict": "confirm"}), "reason"),
        (json!({"verdict": "confirm", "reason": "   "}), "reason"),
        (
            json!({"verdict": "confirm", "reason": "x".repeat(5000)}),
            "reason",
        ),
        (
            json!({"verdict": "confirm", "reason": "x", "monitor": "m2"}),
            "monitor",
        ),
        (
            json!({"verdict": "confirm", "reason": "x", "signed_note": "not a note"}),
            "signed_note",
        ),
    ] {
        let reply = call(
            &api,
            Method::POST,
            "/api/incidents/1/assessments",
            Some(&body),
            Some(&officer),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.text()
        );
        assert_eq!(reply.json()["error"]["field"], field, "{body}");
    }
    let reply = assess(&api, "m1-officer", 99, "confirm", "x").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(api.record_size().await, size, "nothing recorded");
}

#[tokio::test]
async fn an_access_denial_is_an_incident_assessed_like_any_other() {
    let api = Api::new();
    let (_, id) = api
        .accept_one(&observation(
            "access_denial",
            &at(0.0),
            position(SIDE_B, 50.0),
        ))
        .await;
    assert!(api.listed("kind=access_denial").await.contains(&id));
    let reply = assess(
        &api,
        "m2-officer",
        id,
        "confirm",
        "our team was turned back",
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(api.incident(id).await["status"], "under_review");
}

#[tokio::test]
async fn an_analyst_corrects_a_kind_and_the_note_stays_with_its_author() {
    let api = Api::new();
    with_an_incident(&api).await;
    let note =
        json!({"text": "the sound was a burst, not single shots", "corrected_kind": "burst"});
    let reply = call(
        &api,
        Method::POST,
        "/api/incidents/1/annotations",
        Some(&note),
        Some(api.token("m2-analyst")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let shown = api.incident(1).await;
    assert_eq!(shown["kind"], "burst");
    assert_eq!(shown["annotations"][0]["user"], "m2-analyst");
    assert_eq!(api.listed("kind=burst").await, [1]);
    let bad = json!({"text": "x", "corrected_kind": "earthquake"});
    let reply = call(
        &api,
        Method::POST,
        "/api/incidents/1/annotations",
        Some(&bad),
        Some(api.token("m2-analyst")),
    )
    .await;
    assert_eq!(reply.json()["error"]["field"], "corrected_kind");
    let report = truce_engine::audit(api.engine.store().as_ref(), api.engine.agreement()).unwrap();
    assert!(report.entries > 0);
}

#[tokio::test]
async fn an_analyst_merges_two_incidents_and_splits_one_off_again_by_explicit_revisions() {
    let api = Api::new();
    // Two reports of one blast that association kept apart (each too precise to overlap).
    let (_, a) = api
        .accept_one(&observation("explosion", &at(0.0), position(SIDE_B, 20.0)))
        .await;
    let near = common::offset(SIDE_B, 400.0, 0.0);
    let (_, b) = api
        .accept_one(&observation("explosion", &at(5.0), position(near, 20.0)))
        .await;
    assert_ne!(a, b);
    let analyst = api.token("m1-analyst").to_string();
    let merge = json!({"into": a, "reason": "one crater, two posts"});
    let reply = call(
        &api,
        Method::POST,
        &format!("/api/incidents/{b}/merge"),
        Some(&merge),
        Some(&analyst),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let kept = api.incident(a).await;
    assert_eq!(kept["observation_ids"], json!([1, 2]));
    let folded = api.incident(b).await;
    assert_eq!(folded["status"], "merged");
    assert_eq!(folded["merged_into"], json!(a));
    assert_eq!(folded["observation_ids"], json!([]));
    assert!(
        !api.listed("").await.contains(&b),
        "a merged incident leaves the default list"
    );
    assert_eq!(api.listed("status=merged").await, [b]);
    // A reason must be text: one with a NUL in it is refused, naming the field, as a note's is.
    let nul = json!({"into": a, "reason": "one crater\u{0}"});
    let reply = call(
        &api,
        Method::POST,
        &format!("/api/incidents/{b}/merge"),
        Some(&nul),
        Some(&analyst),
    )
    .await;
    reply.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_value",
        Some("reason"),
        None,
    );
    // Merging into a merged incident is refused, naming the field.
    let again = json!({"into": b, "reason": "x"});
    let reply = call(
        &api,
        Method::POST,
        &format!("/api/incidents/{a}/merge"),
        Some(&again),
        Some(&analyst),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text()
    );
    // Split the second report off again.
    let split = json!({"observation_ids": [2], "reason": "the second post saw another blast"});
    let reply = call(
        &api,
        Method::POST,
        &format!("/api/incidents/{a}/split"),
        Some(&split),
        Some(&analyst),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let new = reply.json()["incident_id"].as_u64().unwrap();
    assert_eq!(api.incident(a).await["observation_ids"], json!([1]));
    assert_eq!(api.incident(new).await["observation_ids"], json!([2]));
    // The revisions name the analyst and the reason; the record still proves every table.
    let entries = api.engine.store().entries(0, 1000).unwrap();
    let by: Vec<(String, String)> = entries
        .iter()
        .filter_map(
            |e| match truce_core::entry::EntryBody::decode(&e.bytes).ok()? {
                truce_core::entry::EntryBody::IncidentRevision {
                    by: Some(by),
                    reason: Some(r),
                    ..
                } => Some((by, r)),
                _ => None,
            },
        )
        .collect();
    assert!(
        by.contains(&("m1-analyst".into(), "one crater, two posts".into())),
        "{by:?}"
    );
    assert!(
        by.contains(&(
            "m1-analyst".into(),
            "the second post saw another blast".into()
        )),
        "{by:?}"
    );
    truce_engine::audit(api.engine.store().as_ref(), api.engine.agreement()).unwrap();
}

#[tokio::test]
async fn a_monitor_may_sign_its_statement_itself() {
    let api = Api::new();
    with_an_incident(&api).await;
    let now = truce_core::Timestamp::now();
    let statement = |verdict| {
        truce_core::access::assessment_statement(
            "test.truce.invalid/log",
            truce_core::IncidentId(1),
            "m2",
            verdict,
            "signed at our own post",
            "m2-officer",
            now,
        )
    };
    let key = api.assessment_key("m2");
    let officer = api.token("m2-officer").to_string();
    // A note over another verdict than the one sent is refused.
    let wrong = truce_ledger::note::sign_note(
        key,
        statement(truce_core::access::Verdict::Dispute).as_bytes(),
    );
    let body =
        json!({"verdict": "confirm", "reason": "signed at our own post", "signed_note": wrong});
    let reply = call(
        &api,
        Method::POST,
        "/api/incidents/1/assessments",
        Some(&body),
        Some(&officer),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text()
    );
    assert_eq!(reply.json()["error"]["field"], "signed_note");
    // A note by another monitor's key is refused.
    let foreign = truce_ledger::note::sign_note(
        api.assessment_key("m1"),
        statement(truce_core::access::Verdict::Confirm).as_bytes(),
    );
    let body =
        json!({"verdict": "confirm", "reason": "signed at our own post", "signed_note": foreign});
    let reply = call(
        &api,
        Method::POST,
        "/api/incidents/1/assessments",
        Some(&body),
        Some(&officer),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text()
    );
    // The right note is recorded as signed, verbatim.
    let note = truce_ledger::note::sign_note(
        key,
        statement(truce_core::access::Verdict::Confirm).as_bytes(),
    );
    let body =
        json!({"verdict": "confirm", "reason": "signed at our own post", "signed_note": note});
    let reply = call(
        &api,
        Method::POST,
        "/api/incidents/1/assessments",
        Some(&body),
        Some(&officer),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let report = truce_engine::audit(api.engine.store().as_ref(), api.engine.agreement()).unwrap();
    assert_eq!(report.signed_assessments.get("m2"), Some(&1));
}

#[tokio::test]
async fn a_page_of_incidents_reads_the_same_as_each_incident_alone() {
    let api = Api::new();
    with_an_incident(&api).await;
    api.accept_one(&observation("explosion", &at(0.0), position(SIDE_B, 50.0)))
        .await;
    api.accept_one(&observation("burst", &at(0.0), position(CORRIDOR, 50.0)))
        .await;
    assert!(
        assess(&api, "m1-officer", 1, "confirm", "heard it")
            .await
            .status
            .is_success()
    );
    assert!(
        assess(&api, "m1-officer", 1, "dispute", "on reflection")
            .await
            .status
            .is_success()
    );
    assert!(
        assess(&api, "m2-officer", 2, "confirm", "seen")
            .await
            .status
            .is_success()
    );
    let note = json!({"text": "a louder one", "corrected_kind": "explosion"});
    let reply = call(
        &api,
        Method::POST,
        "/api/incidents/3/annotations",
        Some(&note),
        Some(api.token("m1-analyst")),
    )
    .await;
    assert!(reply.status.is_success(), "{}", reply.text());
    let store = api.engine.store();
    let page = store
        .incidents_by_id(&truce_store::IncidentFilter::default(), 0, 100)
        .unwrap();
    assert_eq!(page.len(), 3);
    for incident in &page {
        let alone = store.incident(incident.id).unwrap().unwrap();
        assert_eq!(incident, &alone, "incident {} read in a page", incident.id);
    }
    assert!(page[0].assessments.iter().filter(|a| a.current).count() == 1);
    assert_eq!(
        page[2].estimate.kind.as_str(),
        "explosion",
        "the analyst's correction"
    );
}

#[tokio::test]
async fn the_incident_list_takes_the_token_as_a_query_parameter_too() {
    let api = Api::new();
    let path = format!(
        "/api/incidents?limit=1&access_token={}",
        api.token("m1-auditor")
    );
    let reply = api
        .send_raw(request(Method::GET, &path, &[], Body::empty()))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn a_cosignature_field_over_its_limit_is_refused_naming_it() {
    let api = Api::new();
    for (body, field) in [
        (
            json!({"monitor": "m1", "size": 1, "line": "x".repeat(1025)}),
            "line",
        ),
        (
            json!({"monitor": "m".repeat(129), "size": 1, "line": "x"}),
            "monitor",
        ),
    ] {
        let reply = call(
            &api,
            Method::POST,
            "/api/ledger/cosignatures",
            Some(&body),
            None,
        )
        .await;
        reply.assert_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
            Some(field),
            None,
        );
    }
}

#[tokio::test]
async fn a_cosignature_of_more_than_one_line_is_refused_and_nothing_kept() {
    let api = Api::new();
    // A witness's line with a second, unverified line after it would be stored with it and
    // break every later check of the checkpoint with all the witnesses' keys.
    let body = json!({"monitor": "m1", "size": 1,
        "line": "\u{2014} w1 AAAA\n\u{2014} w2 BBBB"});
    let reply = call(
        &api,
        Method::POST,
        "/api/ledger/cosignatures",
        Some(&body),
        None,
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text()
    );
    assert!(
        reply.text().contains("one signature line"),
        "{}",
        reply.text()
    );
    assert!(
        api.engine
            .store()
            .checkpoints()
            .unwrap()
            .iter()
            .all(|c| c.cosignatures.is_empty())
    );
}
