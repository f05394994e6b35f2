//! CoT XML: one `<event>` read into the model, and written back.

use crate::element::{Element, escape_attribute};
use crate::event::{
    Contact, Detail, Event, Group, Point, PrecisionLocation, Status, Takv, Track, UNKNOWN,
};
use crate::times::{format_time, parse_time};
use crate::validate::validate_event;
use crate::{CotError, Limits};
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event as XmlEvent};
use std::fmt::Write as _;

/// Reads one CoT event from `bytes` (with or without an XML declaration before it).
///
/// Guarantees: on `Ok`, every field is within range (latitude, longitude, non-negative
/// errors, times from 1970 to 9999, non-empty `uid` and `type`) and every part within
/// `limits`; on `Err`, the error names the element or attribute at fault. Never panics, on
/// any input.
pub fn parse_event(bytes: &[u8], limits: &Limits) -> Result<Event, CotError> {
    let root = parse_element_tree(bytes, limits)?;
    let event = event_from_element(root)?;
    validate_event(&event, limits)?;
    Ok(event)
}

/// Reads the children of a `<detail>` element from XML text holding them without the
/// wrapper (the protobuf's `xmlDetail`), as [`Element`]s.
pub(crate) fn parse_detail_children(xml: &str, limits: &Limits) -> Result<Vec<Element>, CotError> {
    if xml.trim().is_empty() {
        return Ok(Vec::new());
    }
    let wrapped = format!("<detail>{xml}</detail>");
    let root = parse_tree(wrapped.as_bytes(), limits, "detail")?;
    Ok(root.children)
}

/// Parses `bytes` as one element tree whose root must be `<event>`.
fn parse_element_tree(bytes: &[u8], limits: &Limits) -> Result<Element, CotError> {
    parse_tree(bytes, limits, "event")
}

/// Parses `bytes` as one element tree whose root is `root_name`, within `limits` (size,
/// depth, names, attributes), with the errors CoT gets: for other XML read the same careful
/// way (truce's KML import).
pub fn parse_tree(bytes: &[u8], limits: &Limits, root_name: &str) -> Result<Element, CotError> {
    if bytes.len() > limits.message_bytes {
        return Err(CotError::too_large(
            "message",
            limits.message_bytes,
            "bytes",
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| CotError::Xml {
        at: "message".into(),
        position: e.valid_up_to() as u64,
        problem: "not UTF-8".into(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = quick_xml::Reader::from_str(text);
    let mut tree = TreeBuilder {
        limits,
        root_name,
        stack: Vec::new(),
        root: None,
        elements: 0,
    };
    loop {
        let event = reader.read_event().map_err(|e| CotError::Xml {
            at: tree.path(),
            position: reader.error_position(),
            problem: e.to_string(),
        })?;
        match event {
            XmlEvent::Decl(_) | XmlEvent::PI(_) | XmlEvent::Comment(_) => {}
            XmlEvent::DocType(_) => {
                return Err(CotError::invalid(
                    "message",
                    "a DOCTYPE is not accepted in CoT",
                ));
            }
            XmlEvent::Start(e) => tree.open(&e, false)?,
            XmlEvent::Empty(e) => tree.open(&e, true)?,
            XmlEvent::End(_) => tree.close(),
            XmlEvent::Text(t) => tree.text(&t.xml_content(XmlVersion::Implicit1_0))?,
            XmlEvent::CData(c) => tree.text(&c.xml_content(XmlVersion::Implicit1_0))?,
            XmlEvent::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.xml_content(XmlVersion::Implicit1_0);
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| {
                                CotError::invalid(tree.path(), format!("unknown entity &{name};"))
                            })?
                            .to_owned()
                    }
                    Err(e) => return Err(CotError::invalid(tree.path(), e.to_string())),
                };
                tree.text(&resolved)?;
            }
            XmlEvent::Eof => break,
        }
    }
    if !tree.stack.is_empty() {
        return Err(CotError::Xml {
            at: tree.path(),
            position: bytes.len() as u64,
            problem: "the message ends before this element is closed".into(),
        });
    }
    tree.root
        .ok_or_else(|| CotError::missing(format!("{root_name} (the message has no <{root_name}>)")))
}

/// Whether `name` is an XML 1.0 name (§2.3: a letter, `_` or `:`, then letters, digits, `-`,
/// `.`, `_`, `:`; letters and digits of any script). The reader does not check names itself,
/// and an element read under a name that is not one could not be written back.
fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_alphabetic() || first == '_' || first == ':')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | ':' | '\u{b7}'))
}

/// Builds the element tree while checking the limits.
struct TreeBuilder<'a> {
    limits: &'a Limits,
    root_name: &'a str,
    stack: Vec<Element>,
    root: Option<Element>,
    elements: usize,
}

impl TreeBuilder<'_> {
    /// The path of the innermost open element, e.g. `event/detail/remarks`.
    fn path(&self) -> String {
        if self.stack.is_empty() {
            return "message".into();
        }
        self.stack
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
            .join("/")
    }

    fn open(&mut self, start: &BytesStart<'_>, empty: bool) -> Result<(), CotError> {
        let name = start.name().as_ref().to_owned();
        let parent = self.path();
        let at = if self.stack.is_empty() {
            name.clone()
        } else {
            format!("{parent}/{name}")
        };
        if self.root.is_some() {
            return Err(CotError::invalid(
                "message",
                format!(
                    "<{name}> after </{}>: one event per message",
                    self.root_name
                ),
            ));
        }
        if self.stack.is_empty() && name != self.root_name {
            return Err(CotError::invalid(
                "message",
                format!(
                    "the root element is <{name}>, expected <{}>",
                    self.root_name
                ),
            ));
        }
        if !is_xml_name(&name) {
            return Err(CotError::invalid(
                &parent,
                format!("<{}…> is not an XML element name", truncate(&name, 16)),
            ));
        }
        if name.len() > self.limits.name_bytes {
            return Err(CotError::too_large(
                format!("the name of {parent}/{}…", truncate(&name, 16)),
                self.limits.name_bytes,
                "bytes",
            ));
        }
        if self.stack.len() >= self.limits.depth {
            return Err(CotError::too_large(at, self.limits.depth, "levels"));
        }
        self.elements += 1;
        if self.elements > self.limits.detail_elements + 3 {
            return Err(CotError::too_large(
                "event/detail",
                self.limits.detail_elements,
                "elements",
            ));
        }
        let mut element = Element {
            name,
            ..Element::default()
        };
        for attribute in start.attributes() {
            let attribute =
                attribute.map_err(|e| CotError::invalid(&at, format!("attributes: {e}")))?;
            let key = attribute.key.as_ref().to_owned();
            if !is_xml_name(&key) {
                return Err(CotError::invalid(
                    &at,
                    format!("{}… is not an XML attribute name", truncate(&key, 16)),
                ));
            }
            if key.len() > self.limits.name_bytes {
                return Err(CotError::too_large(
                    format!("an attribute name of {at}"),
                    self.limits.name_bytes,
                    "bytes",
                ));
            }
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| CotError::invalid(format!("{at}@{key}"), e.to_string()))?;
            if value.len() > self.limits.attribute_bytes {
                return Err(CotError::too_large(
                    format!("{at}@{key}"),
                    self.limits.attribute_bytes,
                    "bytes",
                ));
            }
            if element.attributes.len() >= self.limits.attributes {
                return Err(CotError::too_large(
                    at,
                    self.limits.attributes,
                    "attributes",
                ));
            }
            if element.attributes.iter().any(|(k, _)| *k == key) {
                return Err(CotError::invalid(format!("{at}@{key}"), "given twice"));
            }
            element.attributes.push((key, value.into_owned()));
        }
        self.stack.push(element);
        if empty {
            self.close();
        }
        Ok(())
    }

    fn close(&mut self) {
        let Some(mut done) = self.stack.pop() else {
            return;
        };
        if done.text.trim().is_empty() {
            done.text.clear();
        }
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(done),
            None => self.root = Some(done),
        }
    }

    fn text(&mut self, text: &str) -> Result<(), CotError> {
        let path = self.path();
        match self.stack.last_mut() {
            Some(open) => {
                if open.text.len() + text.len() > self.limits.text_bytes {
                    return Err(CotError::too_large(
                        format!("the text of {path}"),
                        self.limits.text_bytes,
                        "bytes",
                    ));
                }
                open.text.push_str(text);
                Ok(())
            }
            None if text.trim().is_empty() => Ok(()),
            None => Err(CotError::invalid(
                "message",
                format!(
                    "text outside <{}>: {:?}",
                    self.root_name,
                    truncate(text.trim(), 32)
                ),
            )),
        }
    }
}

fn truncate(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// Maps the `<event>` element onto the model (syntax of numbers and times; ranges are
/// checked by [`validate_event`]).
fn event_from_element(root: Element) -> Result<Event, CotError> {
    let attribute = |name: &str| root.attribute(name).map(str::to_owned);
    let required =
        |name: &str| attribute(name).ok_or_else(|| CotError::missing(format!("event@{name}")));
    let time_ms = parse_time(&required("time")?, "event@time")?;
    let start_ms = match root.attribute("start") {
        Some(s) => parse_time(s, "event@start")?,
        None => time_ms,
    };
    let stale_ms = parse_time(&required("stale")?, "event@stale")?;
    let point = root
        .child("point")
        .ok_or_else(|| CotError::missing("event/point"))?;
    let number = |name: &str, default: Option<f64>| -> Result<f64, CotError> {
        let at = format!("event/point@{name}");
        match (point.attribute(name), default) {
            (Some(v), _) => v
                .trim()
                .parse::<f64>()
                .map_err(|_| CotError::invalid(&at, format!("{v:?} is not a number"))),
            (None, Some(d)) => Ok(d),
            (None, None) => Err(CotError::missing(at)),
        }
    };
    let point = Point {
        lat: number("lat", None)?,
        lon: number("lon", None)?,
        hae: number("hae", Some(UNKNOWN))?,
        ce: number("ce", Some(UNKNOWN))?,
        le: number("le", Some(UNKNOWN))?,
    };
    let detail = match root.child("detail") {
        Some(d) => detail_from_children(d.children.clone()),
        None => Detail::default(),
    };
    Ok(Event {
        version: attribute("version").unwrap_or_else(|| "2.0".into()),
        uid: required("uid")?,
        kind: required("type")?,
        how: attribute("how").unwrap_or_default(),
        time_ms,
        start_ms,
        stale_ms,
        access: attribute("access"),
        qos: attribute("qos"),
        opex: attribute("opex"),
        point,
        detail,
    })
}

/// Sorts `<detail>`'s children into the typed fields and the rest (see [`Detail`]).
pub(crate) fn detail_from_children(children: Vec<Element>) -> Detail {
    let mut detail = Detail::default();
    sort_into(&mut detail, children);
    detail
}

/// Adds `children` to `detail`: into a typed field where it is free and the child fits it,
/// else to `others`.
pub(crate) fn sort_into(detail: &mut Detail, children: Vec<Element>) {
    for child in children {
        if !typed(detail, &child) {
            detail.others.push(child);
        }
    }
}

/// Puts `e` into its typed field if it is one of the six, not yet set, and carries only the
/// attributes that field holds (with parsable numbers). Returns whether it did.
fn typed(detail: &mut Detail, e: &Element) -> bool {
    let only = |names: &[&str]| {
        e.text.is_empty()
            && e.children.is_empty()
            && e.attributes
                .iter()
                .all(|(k, _)| names.contains(&k.as_str()))
    };
    let get = |name: &str| e.attribute(name).unwrap_or_default().to_owned();
    match e.name.as_str() {
        "contact" if detail.contact.is_none() && only(&["endpoint", "callsign"]) => {
            detail.contact = Some(Contact {
                endpoint: get("endpoint"),
                callsign: get("callsign"),
            });
        }
        "__group" if detail.group.is_none() && only(&["name", "role"]) => {
            detail.group = Some(Group {
                name: get("name"),
                role: get("role"),
            });
        }
        "precisionlocation"
            if detail.precision_location.is_none() && only(&["geopointsrc", "altsrc"]) =>
        {
            detail.precision_location = Some(PrecisionLocation {
                geopointsrc: get("geopointsrc"),
                altsrc: get("altsrc"),
            });
        }
        "status" if detail.status.is_none() && only(&["battery"]) => {
            let Ok(battery) = e.attribute("battery").unwrap_or("0").parse::<u32>() else {
                return false;
            };
            detail.status = Some(Status { battery });
        }
        "takv" if detail.takv.is_none() && only(&["device", "platform", "os", "version"]) => {
            detail.takv = Some(Takv {
                device: get("device"),
                platform: get("platform"),
                os: get("os"),
                version: get("version"),
            });
        }
        "track" if detail.track.is_none() && only(&["speed", "course"]) => {
            let parse = |name: &str| -> Option<f64> {
                let v: f64 = e.attribute(name).unwrap_or("0").parse().ok()?;
                v.is_finite().then_some(v)
            };
            let (Some(speed), Some(course)) = (parse("speed"), parse("course")) else {
                return false;
            };
            detail.track = Some(Track { speed, course });
        }
        _ => return false,
    }
    true
}

/// Writes `event` as one CoT XML event, without an XML declaration, attributes in double
/// quotes. Parsing the result with [`parse_event`] gives back `event` (for an event that
/// [`parse_event`] would accept).
pub fn write_event(event: &Event) -> String {
    let mut out = String::with_capacity(512);
    out.push_str("<event");
    let mut attributes: Vec<(&str, String)> = vec![
        ("version", event.version.clone()),
        ("uid", event.uid.clone()),
        ("type", event.kind.clone()),
        ("how", event.how.clone()),
        ("time", format_time(event.time_ms)),
        ("start", format_time(event.start_ms)),
        ("stale", format_time(event.stale_ms)),
    ];
    for (name, value) in [
        ("access", &event.access),
        ("qos", &event.qos),
        ("opex", &event.opex),
    ] {
        if let Some(v) = value {
            attributes.push((name, v.clone()));
        }
    }
    for (k, v) in &attributes {
        let _ = write!(out, " {k}=\"{}\"", escape_attribute(v));
    }
    let p = &event.point;
    let _ = write!(
        out,
        "><point lat=\"{}\" lon=\"{}\" hae=\"{}\" ce=\"{}\" le=\"{}\"/>",
        p.lat, p.lon, p.hae, p.ce, p.le
    );
    write_detail(&mut out, &event.detail);
    out.push_str("</event>");
    out
}

/// Writes the typed detail fields as elements (empty attributes left out).
pub(crate) fn typed_elements(detail: &Detail) -> Vec<Element> {
    let mut out = Vec::new();
    let mut push = |name: &str, attributes: &[(&str, String)]| {
        let mut e = Element {
            name: name.into(),
            ..Element::default()
        };
        for (k, v) in attributes {
            if !v.is_empty() {
                e.attributes.push(((*k).into(), v.clone()));
            }
        }
        out.push(e);
    };
    if let Some(c) = &detail.contact {
        push(
            "contact",
            &[
                ("endpoint", c.endpoint.clone()),
                ("callsign", c.callsign.clone()),
            ],
        );
    }
    if let Some(g) = &detail.group {
        push(
            "__group",
            &[("name", g.name.clone()), ("role", g.role.clone())],
        );
    }
    if let Some(p) = &detail.precision_location {
        push(
            "precisionlocation",
            &[
                ("geopointsrc", p.geopointsrc.clone()),
                ("altsrc", p.altsrc.clone()),
            ],
        );
    }
    if let Some(s) = &detail.status {
        push("status", &[("battery", s.battery.to_string())]);
    }
    if let Some(t) = &detail.takv {
        push(
            "takv",
            &[
                ("device", t.device.clone()),
                ("platform", t.platform.clone()),
                ("os", t.os.clone()),
                ("version", t.version.clone()),
            ],
        );
    }
    if let Some(t) = &detail.track {
        push(
            "track",
            &[
                ("speed", t.speed.to_string()),
                ("course", t.course.to_string()),
            ],
        );
    }
    out
}

fn write_detail(out: &mut String, detail: &Detail) {
    let typed = typed_elements(detail);
    if typed.is_empty() && detail.others.is_empty() {
        return;
    }
    out.push_str("<detail>");
    for e in typed.iter().chain(&detail.others) {
        e.write_to(out);
    }
    out.push_str("</detail>");
}

/// Writes elements one after another (the protobuf's `xmlDetail`).
pub(crate) fn write_elements(elements: &[Element]) -> String {
    let mut out = String::new();
    for e in elements {
        e.write_to(&mut out);
    }
    out
}
