//! The OpenAPI document served at `/api/openapi.json` (`truce_server::OPENAPI`), checked against
//! the code it describes: it parses as OpenAPI 3; every route the router registers — read from
//! `src/lib.rs` itself, so a route added without documentation fails here — is documented with
//! its methods, and nothing else is; every `$ref` resolves; the observation's geometry forms and
//! the enums of kinds, subkinds, weapons, sources and statuses are exactly those of `truce-core`.
//!
//! Whether the document is valid OpenAPI is checked by `.ci/validate_openapi.py`.

use serde_json::Value;
use std::collections::BTreeSet;
use truce_core::incident::Status;
use truce_core::{Kind, Source, Subkind, Weapon};
use truce_server::OPENAPI;

/// The router's source, from which the registered routes are read.
const LIB_RS: &str = include_str!("../src/lib.rs");

/// The routes of the interface contract, with their methods.
const EXPECTED_ROUTES: &[(&str, &str)] = &[
    ("/", "get"),
    ("/healthz", "get"),
    ("/api/openapi.json", "get"),
    ("/api/agreement", "get"),
    ("/api/observations", "post"),
    ("/api/observations/{id}", "get"),
    ("/api/incidents", "get"),
    ("/api/incidents/{id}", "get"),
    ("/api/events", "get"),
    ("/api/ledger", "get"),
    ("/api/ledger/proof", "get"),
    ("/api/ledger/consistency", "get"),
    ("/api/ledger/cosignatures", "post"),
    ("/checkpoint", "get"),
    ("/tile/{path}", "get"),
];

/// The query parameters `GET /api/incidents` accepts (`src/query.rs`).
const INCIDENT_PARAMETERS: &[&str] = &[
    "bbox", "since", "until", "kind", "status", "clause", "side", "limit",
];

/// The method routers of axum (`axum::routing::get`, …), as OpenAPI names them.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn doc() -> Value {
    serde_json::from_str(OPENAPI).expect("crates/server/openapi.json is not JSON")
}

/// `value`, following `$ref`s (local JSON pointers) until it is not a reference.
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..32 {
        let Some(target) = value.get("$ref").and_then(Value::as_str) else {
            return value;
        };
        value = target
            .strip_prefix('#')
            .and_then(|pointer| doc.pointer(pointer))
            .unwrap_or_else(|| panic!("$ref {target:?} does not resolve"));
    }
    panic!("$ref chain too long (a cycle?)");
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc.pointer(&format!("/components/schemas/{name}"))
        .unwrap_or_else(|| panic!("components/schemas/{name} is missing"))
}

/// The strings of a schema's `enum`, in order.
fn enum_names(schema: &Value) -> Vec<&str> {
    schema["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("no enum in {schema}"))
        .iter()
        .map(|v| v.as_str().expect("enum values are strings"))
        .collect()
}

/// The wire names (serde) of `values`.
fn wire_names<T: serde::Serialize>(values: &[T]) -> Vec<String> {
    values
        .iter()
        .map(|v| match serde_json::to_value(v).expect("serializable") {
            Value::String(name) => name,
            other => panic!("{other} is not a unit variant's name"),
        })
        .collect()
}

/// Every `.route("path", method(…)…)` in `source`, with the methods it registers. Line comments
/// are skipped.
fn routes_in(source: &str) -> Vec<(String, BTreeSet<String>)> {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut routes = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let literal = rest.trim_start();
        let path = literal
            .strip_prefix('"')
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| {
                panic!("a .route( whose path is not a string literal: {literal:.60}")
            });
        // The arguments run to the parenthesis that closes `.route(`.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find_map(|(i, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                (depth == 0).then_some(i)
            })
            .expect("unbalanced parentheses after .route(");
        let args = &rest[..end];
        let methods = called_identifiers(args)
            .into_iter()
            .filter(|name| METHODS.contains(&name.as_str()))
            .collect::<BTreeSet<_>>();
        assert!(
            !methods.is_empty(),
            "cannot tell the methods of route {path:?} from {args:?}; teach this test"
        );
        // axum's catch-all `{*path}` is an ordinary `{path}` template in OpenAPI.
        routes.push((path.replace("{*", "{"), methods));
        rest = &rest[end..];
    }
    routes
}

/// Identifiers directly followed by `(` in `code` (`get(handlers::x).post(y)` gives `get`, `post`).
fn called_identifiers(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphanumeric() || chars[i] == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            if chars.get(j) == Some(&'(') {
                out.push(chars[start..i].iter().collect());
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The HTTP methods documented under `paths[path]`.
fn documented_methods(doc: &Value, path: &str) -> BTreeSet<String> {
    doc["paths"][path]
        .as_object()
        .map(|item| {
            item.keys()
                .filter(|k| METHODS.contains(&k.as_str()))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Every `$ref` in `value`, with the JSON pointer of where it stands.
fn refs<'a>(value: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    out.push((at.clone(), v.as_str().unwrap_or("<not a string>")));
                } else {
                    refs(v, format!("{at}/{key}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                refs(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_about_truce() {
    let doc = doc();
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "openapi is {:?}", doc["openapi"]);
    assert_eq!(doc["info"]["title"], "truce");
    assert!(
        doc["info"]["version"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "info.version is required"
    );
    assert!(doc["paths"].is_object(), "no paths");
    assert!(
        doc["components"]["schemas"].is_object(),
        "no components/schemas"
    );
}

#[test]
fn the_contract_routes_are_documented_with_their_methods() {
    let doc = doc();
    for (path, method) in EXPECTED_ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "{} {path} is not documented",
            method.to_uppercase()
        );
    }
}

#[test]
fn every_route_of_the_router_is_documented_and_nothing_else() {
    let doc = doc();
    // `.merge(` is fine: the public and the members' routers are both built in lib.rs, so
    // every `.route(` is read below.
    assert_eq!(
        LIB_RS.matches(".merge(").count(),
        1,
        "one merge, of the members' router"
    );
    for construct in [".nest(", ".route_service(", ".nest_service("] {
        assert!(
            !LIB_RS.contains(construct),
            "src/lib.rs uses {construct}; teach this test to read the routes it adds"
        );
    }
    let routes = routes_in(LIB_RS);
    let in_router: BTreeSet<(&str, &str)> = routes
        .iter()
        .flat_map(|(path, methods)| methods.iter().map(move |m| (path.as_str(), m.as_str())))
        .collect();
    for expected in EXPECTED_ROUTES {
        assert!(
            in_router.contains(expected),
            "{expected:?} was not found in src/lib.rs (found {in_router:?})"
        );
    }
    for (path, methods) in &routes {
        assert_eq!(
            &documented_methods(&doc, path),
            methods,
            "methods of {path} in the router (right) and the document (left) differ"
        );
    }
    let routed: BTreeSet<&str> = routes.iter().map(|(p, _)| p.as_str()).collect();
    let documented: BTreeSet<&str> = doc["paths"]
        .as_object()
        .expect("paths is an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        documented, routed,
        "documented paths (left) differ from routes (right)"
    );
}

#[test]
fn path_parameters_are_declared() {
    let doc = doc();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        let names: BTreeSet<&str> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for method in documented_methods(&doc, path) {
            let declared: BTreeSet<&str> = item[&method]["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| resolve(&doc, p))
                .filter(|p| p["in"] == "path")
                .map(|p| {
                    assert_eq!(p["required"], true, "path parameters are required");
                    p["name"].as_str().expect("a parameter has a name")
                })
                .collect();
            assert_eq!(declared, names, "path parameters of {method} {path}");
        }
    }
}

#[test]
fn every_ref_resolves_to_a_component() {
    let doc = doc();
    let mut found = Vec::new();
    refs(&doc, String::new(), &mut found);
    assert!(!found.is_empty(), "the document uses no $ref at all");
    for (at, target) in &found {
        let resolved = target
            .strip_prefix("#/components/")
            .and_then(|_| doc.pointer(&target[1..]));
        assert!(
            resolved.is_some(),
            "$ref {target:?} at {at} does not resolve to a component"
        );
    }
    // Discriminator mappings are references too.
    let mut stack = vec![&doc];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if let Some(mapping) = map
                    .get("discriminator")
                    .and_then(|d| d.get("mapping"))
                    .and_then(Value::as_object)
                {
                    for target in mapping.values() {
                        let target = target.as_str().expect("a mapping value is a string");
                        assert!(
                            doc.pointer(target.trim_start_matches('#')).is_some(),
                            "discriminator mapping {target:?} does not resolve"
                        );
                    }
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
}

#[test]
fn observation_geometry_is_one_of_the_four_forms_tagged_by_type() {
    let doc = doc();
    let observation = schema(&doc, "Observation");
    assert_eq!(
        observation["additionalProperties"], false,
        "unknown fields are refused"
    );
    let geometry = resolve(&doc, &observation["properties"]["geometry"]);
    assert_eq!(geometry["discriminator"]["propertyName"], "type");
    let mapping = geometry["discriminator"]["mapping"]
        .as_object()
        .expect("the discriminator maps every type");
    let mut forms = BTreeSet::new();
    for variant in geometry["oneOf"].as_array().expect("geometry is a oneOf") {
        let target = variant["$ref"].as_str().expect("each form is a $ref");
        let form = resolve(&doc, variant);
        let name = form["properties"]["type"]["const"]
            .as_str()
            .unwrap_or_else(|| panic!("{target} has no const type"));
        assert_eq!(
            mapping.get(name).and_then(Value::as_str),
            Some(target),
            "the discriminator maps {name:?} elsewhere"
        );
        assert!(
            form["required"]
                .as_array()
                .is_some_and(|r| r.contains(&Value::from("type"))),
            "{target}: type is required"
        );
        assert_eq!(
            form["additionalProperties"], false,
            "{target} refuses unknown fields"
        );
        assert!(forms.insert(name), "{name:?} appears twice");
    }
    let expected: BTreeSet<&str> = ["position", "bearing", "arrival", "uav"].into();
    assert_eq!(forms, expected);
    assert_eq!(
        mapping.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        expected
    );
}

#[test]
fn observation_kind_enum_is_every_kind_in_contract_order() {
    let doc = doc();
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    let observation = schema(&doc, "Observation");
    assert_eq!(
        enum_names(resolve(&doc, &observation["properties"]["kind"])),
        kinds
    );
    assert_eq!(wire_names(&Kind::ALL), kinds, "as_str and serde agree");
}

#[test]
fn the_other_enums_match_the_core_types() {
    // Exhaustive matches: a new variant fails to compile here until it is listed (and then
    // documented).
    let subkinds = [
        Subkind::Impact,
        Subkind::Airburst,
        Subkind::Undetermined,
        Subkind::Outgoing,
        Subkind::Incoming,
    ];
    for s in subkinds {
        match s {
            Subkind::Impact
            | Subkind::Airburst
            | Subkind::Undetermined
            | Subkind::Outgoing
            | Subkind::Incoming => {}
        }
    }
    let weapons = [
        Weapon::SmallArms,
        Weapon::HeavyMg,
        Weapon::GrenadeLauncher,
        Weapon::Mortar,
        Weapon::Artillery,
        Weapon::Tank,
        Weapon::Mlrs,
        Weapon::AirDefence,
        Weapon::Uav,
        Weapon::Unknown,
    ];
    for w in weapons {
        match w {
            Weapon::SmallArms
            | Weapon::HeavyMg
            | Weapon::GrenadeLauncher
            | Weapon::Mortar
            | Weapon::Artillery
            | Weapon::Tank
            | Weapon::Mlrs
            | Weapon::AirDefence
            | Weapon::Uav
            | Weapon::Unknown => {}
        }
    }
    let sources = [
        Source::Observer,
        Source::Patrol,
        Source::Uav,
        Source::Sensor,
        Source::Camera,
        Source::Import,
    ];
    for s in sources {
        match s {
            Source::Observer
            | Source::Patrol
            | Source::Uav
            | Source::Sensor
            | Source::Camera
            | Source::Import => {}
        }
    }
    let statuses = [
        Status::Reported,
        Status::UnderReview,
        Status::JointlyConfirmed,
        Status::Disputed,
        Status::Undetermined,
        Status::Merged,
    ];
    for s in statuses {
        match s {
            Status::Reported
            | Status::UnderReview
            | Status::JointlyConfirmed
            | Status::Disputed
            | Status::Undetermined
            | Status::Merged => {}
        }
    }
    let doc = doc();
    let observation = &schema(&doc, "Observation")["properties"];
    assert_eq!(
        enum_names(resolve(&doc, &observation["subkind"])),
        wire_names(&subkinds)
    );
    assert_eq!(
        enum_names(resolve(&doc, &observation["weapon"])),
        wire_names(&weapons)
    );
    assert_eq!(
        enum_names(resolve(&doc, &observation["source"])),
        wire_names(&sources)
    );
    let incident = schema(&doc, "IncidentEstimate");
    assert_eq!(
        enum_names(resolve(&doc, &incident["properties"]["status"])),
        wire_names(&statuses)
    );
    assert_eq!(
        wire_names(&statuses),
        statuses.map(Status::as_str).to_vec(),
        "as_str and serde agree"
    );
}

#[test]
fn the_incident_list_documents_every_filter_and_geojson() {
    let doc = doc();
    let list = &doc["paths"]["/api/incidents"]["get"];
    let names: Vec<&str> = list["parameters"]
        .as_array()
        .expect("the list has parameters")
        .iter()
        .map(|p| resolve(&doc, p))
        .inspect(|p| assert_eq!(p["in"], "query"))
        .map(|p| p["name"].as_str().expect("a parameter has a name"))
        .collect();
    assert_eq!(names, INCIDENT_PARAMETERS);
    for path in ["/api/incidents", "/api/incidents/{id}"] {
        let content = &doc["paths"][path]["get"]["responses"]["200"]["content"];
        for media in ["application/json", "application/geo+json"] {
            assert!(content[media].is_object(), "{path}: no {media} answer");
        }
    }
    assert!(
        doc["paths"]["/api/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
            .is_object(),
        "/api/events is a text/event-stream"
    );
}

#[test]
fn a_stored_observation_has_every_observation_field() {
    let doc = doc();
    let submitted = schema(&doc, "Observation")["properties"]
        .as_object()
        .expect("Observation has properties");
    let stored = &schema(&doc, "StoredObservation")["properties"];
    for (name, field) in submitted {
        assert_eq!(&stored[name], field, "StoredObservation.{name} differs");
    }
    for added in ["id", "incident_id", "entry_index", "recorded_at"] {
        assert!(stored[added].is_object(), "StoredObservation lacks {added}");
    }
}

#[test]
fn errors_have_the_contract_body_and_codes() {
    let doc = doc();
    let error = &schema(&doc, "Error")["properties"]["error"];
    let required: BTreeSet<&str> = error["required"]
        .as_array()
        .expect("error fields are required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, ["code", "message", "field", "index"].into());
    let codes = enum_names(&error["properties"]["code"]);
    for code in [
        "malformed",
        "too_large",
        "invalid_value",
        "not_found",
        "internal",
    ] {
        assert!(codes.contains(&code), "error code {code} is not documented");
    }
    let submit = &doc["paths"]["/api/observations"]["post"]["responses"];
    for status in ["200", "201", "400", "413", "422"] {
        assert!(
            submit[status].is_object(),
            "POST /api/observations: {status}"
        );
    }
}

#[test]
fn the_route_reader_reads_chained_methods() {
    let routes = routes_in(
        r#"Router::new()
        // .route("/commented", get(x))
        .route("/a/{id}", get(handlers::a).post(handlers::b))
        .route(
            "/b",
            axum::routing::delete(f(g(1))),
        )"#,
    );
    let methods = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        routes,
        vec![
            ("/a/{id}".to_string(), methods(&["get", "post"])),
            ("/b".to_string(), methods(&["delete"])),
        ]
    );
}
