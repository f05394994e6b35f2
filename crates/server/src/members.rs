//! Members and what they record: verdicts (officers), notes (analysts), membership (admins).

use crate::AppState;
use crate::auth::require_role;
use crate::blocking;
use crate::error::AppError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use truce_core::access::{Role, Verdict};
use truce_core::{IncidentId, Kind, Timestamp};
use truce_engine::{Caller, MemberWrite};
use truce_store::IntakeRequest;

/// Largest body of these endpoints, bytes: room for the largest body the API document allows
/// (a split: 10,000 observation ids and a 4,096-byte reason, JSON-escaped).
const MAX_BODY: usize = 512 * 1024;

/// The body as a JSON object with only `allowed` keys.
fn object(body: &Bytes, allowed: &[&str]) -> Result<Map<String, Value>, AppError> {
    if body.len() > MAX_BODY {
        return Err(AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("body is over {MAX_BODY} bytes"),
        ));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("not JSON: {e}"),
        )
    })?;
    let Value::Object(map) = value else {
        return Err(AppError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            "expected a JSON object",
        ));
    };
    if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(AppError::invalid(
            k,
            format!("unknown field; expected {}", allowed.join(", ")),
        ));
    }
    Ok(map)
}

fn text<'a>(map: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, AppError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(AppError::invalid(field, "must be a string")),
    }
}

fn required<'a>(map: &'a Map<String, Value>, field: &str) -> Result<&'a str, AppError> {
    text(map, field)?.ok_or_else(|| AppError::invalid(field, "is required"))
}

fn incident_id(id: &str) -> Result<IncidentId, AppError> {
    id.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(IncidentId)
        .ok_or_else(|| AppError::invalid("id", format!("{id:?} is not an incident number")))
}

/// `POST /api/incidents/{id}/assessments`: the calling officer's verdict for their monitor,
/// `{"verdict": "confirm" | "dispute" | "undetermined", "reason": …, "signed_note"?: …}`.
pub async fn assess(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    require_role(&caller, &[Role::Officer], "assessing")?;
    let id = incident_id(&id)?;
    let map = object(&body, &["verdict", "reason", "signed_note"])?;
    let verdict_name = required(&map, "verdict")?;
    let verdict = Verdict::from_name(verdict_name).ok_or_else(|| {
        AppError::invalid(
            "verdict",
            format!("{verdict_name:?} is not confirm, dispute or undetermined"),
        )
    })?;
    let reason = required(&map, "reason")?.to_string();
    let signed_note = text(&map, "signed_note")?.map(str::to_string);
    let write = MemberWrite::Assess {
        incident: id,
        verdict,
        reason,
        signed_note,
    };
    perform(&state, caller, write).await
}

/// `POST /api/incidents/{id}/annotations`: an analyst's note, `{"text": …,
/// "corrected_kind"?: …}`.
pub async fn annotate(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    require_role(&caller, &[Role::Analyst], "annotating")?;
    let id = incident_id(&id)?;
    let map = object(&body, &["text", "corrected_kind"])?;
    let note = required(&map, "text")?.to_string();
    let kind = match text(&map, "corrected_kind")? {
        None => None,
        Some(name) => Some(Kind::from_name(name).ok_or_else(|| {
            AppError::invalid("corrected_kind", format!("{name:?} is not a kind"))
        })?),
    };
    let write = MemberWrite::Annotate {
        incident: id,
        text: note,
        corrected_kind: kind,
    };
    perform(&state, caller, write).await
}

/// `GET /api/me`: who the token belongs to.
pub async fn me(Extension(caller): Extension<Caller>) -> Response {
    Json(json!({
        "user": caller.user,
        "monitor": caller.monitor,
        "role": caller.role.as_str(),
    }))
    .into_response()
}

/// `GET /api/users`: an admin sees their monitor's members, an auditor everyone's.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, AppError> {
    require_role(&caller, &[Role::Admin, Role::Auditor], "listing members")?;
    let engine = state.engine.clone();
    let monitor = (caller.role == Role::Admin).then(|| caller.monitor.clone());
    let members =
        blocking(move || engine.members(monitor.as_deref()).map_err(AppError::from)).await?;
    let list: Vec<Value> = members
        .into_iter()
        .map(|m| {
            json!({"user": m.user, "monitor": m.monitor, "role": m.role.as_str(),
                   "active": m.active, "entry_index": m.entry})
        })
        .collect();
    Ok(Json(json!({ "members": list })).into_response())
}

/// `POST /api/users`: an admin adds a member to their own monitor, `{"user": …, "role": …}`;
/// the answer carries the token, shown this once.
pub async fn add(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, AppError> {
    require_role(&caller, &[Role::Admin], "adding members")?;
    let map = object(&body, &["user", "role", "monitor"])?;
    let user = required(&map, "user")?.to_string();
    let role_name = required(&map, "role")?;
    let role = Role::from_name(role_name).ok_or_else(|| {
        AppError::invalid(
            "role",
            format!("{role_name:?} is not observer, analyst, officer, admin or auditor"),
        )
    })?;
    if let Some(monitor) = text(&map, "monitor")?
        && monitor != caller.monitor
    {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "{} administers {}, not {monitor}",
                caller.user, caller.monitor
            ),
        ));
    }
    // The token is made here, where it is shown; only its hash goes to the record.
    let made = user.clone();
    let (token, token_hash) =
        blocking(move || truce_engine::new_credential(&made).map_err(AppError::from)).await?;
    let write = MemberWrite::AddMember {
        user,
        role,
        token_hash,
    };
    Ok(match answer_of(&state, caller, write).await? {
        // The answer names the member; the token is added to it here, once.
        Answered::Done(StatusCode::CREATED, mut body) => {
            body["token"] = Value::String(token);
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Answered::Done(status, body) => (status, Json(body)).into_response(),
        // Shown now or never: the admin learns it here even if the sequencer is slow.
        Answered::Queued(_) => {
            return Err(AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the sequencer did not answer within 10 s; the member may be added without a \
                 token anyone holds: revoke them and add them again once it answers"
                    .to_string(),
            ));
        }
    })
}

/// `POST /api/users/{user}/revoke`: an admin revokes a member of their own monitor.
pub async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user): Path<String>,
) -> Result<Response, AppError> {
    require_role(&caller, &[Role::Admin], "revoking members")?;
    perform(&state, caller, MemberWrite::Revoke { user }).await
}

fn reason_of(map: &Map<String, Value>) -> Result<String, AppError> {
    Ok(required(map, "reason")?.to_string())
}

/// `POST /api/incidents/{id}/merge`: an analyst folds incident `id` into `{"into": N}` (they
/// are one event), with a `reason`.
pub async fn merge(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    require_role(&caller, &[Role::Analyst], "merging incidents")?;
    let fold = incident_id(&id)?;
    let map = object(&body, &["into", "reason"])?;
    let keep = match map.get("into") {
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|n| *n > 0)
            .map(IncidentId)
            .ok_or_else(|| AppError::invalid("into", "must be an incident number"))?,
        Some(_) => return Err(AppError::invalid("into", "must be an incident number")),
        None => return Err(AppError::invalid("into", "is required")),
    };
    let reason = reason_of(&map)?;
    perform(
        &state,
        caller,
        MemberWrite::Merge {
            fold,
            into: keep,
            reason,
        },
    )
    .await
}

/// `POST /api/incidents/{id}/split`: an analyst moves `{"observation_ids": […]}` out of incident
/// `id` into a new incident (they are another event), with a `reason`.
pub async fn split(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    require_role(&caller, &[Role::Analyst], "splitting incidents")?;
    let id = incident_id(&id)?;
    let map = object(&body, &["observation_ids", "reason"])?;
    let ids: Vec<truce_core::ObservationId> = match map.get("observation_ids") {
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= 10_000 => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_u64()
                    .filter(|n| *n > 0)
                    .map(truce_core::ObservationId)
                    .ok_or_else(|| {
                        AppError::invalid(
                            &format!("observation_ids[{i}]"),
                            "must be an observation number",
                        )
                    })
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(AppError::invalid(
                "observation_ids",
                "must be a non-empty array of at most 10,000 observation numbers",
            ));
        }
    };
    let reason = reason_of(&map)?;
    let write = MemberWrite::Split {
        incident: id,
        observation_ids: ids,
        reason,
    };
    perform(&state, caller, write).await
}

/// Records `write` by `caller` and answers it: here, when this process is the one sequencer; on
/// a node of several, through the intake queue (committed there, then the sequencer's answer,
/// or 202 if it takes longer than [`crate::intake::ANSWER_WAIT`]).
pub(crate) async fn perform(
    state: &AppState,
    caller: Caller,
    write: MemberWrite,
) -> Result<Response, AppError> {
    Ok(match answer_of(state, caller, write).await? {
        Answered::Done(status, _) if status == StatusCode::NO_CONTENT => status.into_response(),
        Answered::Done(status, body) => (status, Json(body)).into_response(),
        Answered::Queued(response) => response,
    })
}

/// The answer to a write, before it becomes a response.
enum Answered {
    /// Recorded or refused (by the sequencer's own checks): status and JSON body.
    Done(StatusCode, Value),
    /// Committed to the intake queue, not yet answered: the 202 response.
    Queued(Response),
}

/// [`perform`]'s answer, its body still a value.
async fn answer_of(
    state: &AppState,
    caller: Caller,
    write: MemberWrite,
) -> Result<Answered, AppError> {
    if let Some(node) = state.node.clone() {
        let queue = node.intake.clone();
        let id = blocking(move || {
            let body = serde_json::to_vec(&write).map_err(|e| {
                AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            })?;
            Ok(queue.put(IntakeRequest::Write, &caller.user, &body, Timestamp::now())?)
        })
        .await?;
        return Ok(match crate::intake::await_outcome(&node, id).await {
            Some((status, answer)) => Answered::Done(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                serde_json::from_str(&answer).unwrap_or(Value::Null),
            ),
            None => {
                let (status, answer) = crate::intake::queued(id, IntakeRequest::Write);
                Answered::Queued((status, Json(answer)).into_response())
            }
        });
    }
    let engine = state.engine.clone();
    let written = blocking(move || {
        engine
            .perform(&caller, &write, Timestamp::now(), None)
            .map_err(AppError::from)
    })
    .await?;
    let status = StatusCode::from_u16(written.status).unwrap_or(StatusCode::CREATED);
    Ok(Answered::Done(status, written.body))
}
