//! EPCIS 2.0 events as the portal accepts them: the raw input, its
//! validation and normalisation into a `ValidEvent` (typed members, the
//! devices it touches, and one field per member with its visibility class).
//! Pure: the rules that need stored state (known products and devices,
//! custody, links) live in `services::capture`.

use std::collections::HashSet;

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Map, Value, json};

use super::cbv::{BizStep, Disposition, is_full_uri};
use super::error_declaration::validate_declaration;
pub use super::error_declaration::{
    ERROR_REASON, ErrorDeclaration, MAX_CORRECTIVE_EVENTS, RawErrorDeclaration,
};
pub use super::event_kind::{Action, EventType};
use super::visibility::{Visibility, is_reserved_name, standard_class};
use super::{DeviceKey, DigitalLink, DlParseOptions, Lot, parse_digital_link};

/// At most this much JSON per event, so that its ledger leaf stays under
/// the 65,535-byte tile entry limit.
pub const MAX_EVENT_JSON_BYTES: usize = 64 * 1024;
pub const MAX_EVENT_FIELDS: usize = 256;
/// At most this many devices in `epcList`, `parentID` and `childEPCs`
/// together, checked before any is parsed. No event over it could fit
/// [`MAX_EVENT_JSON_BYTES`]: the shortest canonical Digital Link takes 44
/// bytes in the stored JSON.
pub const MAX_EVENT_DEVICES: usize = 1_500;
/// How far in the future an `eventTime` may be (clock skew).
pub const MAX_FUTURE_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
/// The Digital Link host stored EPCs are normalised to.
pub const CANONICAL_DL_BASE: &str = "https://id.gs1.org";

/// A source or destination (EPCIS `sourceList` / `destinationList` entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    /// e.g. `owning_party`, `possessing_party`, `location`
    pub kind: String,
    /// An organisation slug of this portal, or a URI.
    pub id: String,
}

#[derive(Clone, Debug)]
pub struct RawExtension {
    pub name: String,
    pub value: Value,
    pub visibility: Option<Visibility>,
}

/// An event as a client sends it; nothing checked yet.
#[derive(Clone, Debug)]
pub struct RawEvent {
    pub event_id: String,
    pub event_type: EventType,
    pub action: Option<Action>,
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    pub event_time: String,
    pub event_time_zone_offset: String,
    pub epc_list: Vec<String>,
    pub parent_id: Option<String>,
    pub child_epcs: Vec<String>,
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    pub source_list: Vec<Party>,
    pub destination_list: Vec<Party>,
    pub sensor_element_list: Option<Value>,
    pub ilmd: Option<Value>,
    pub extensions: Vec<RawExtension>,
    pub error_declaration: Option<RawErrorDeclaration>,
}

/// A device an event names, with the lot its URI carried, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRef {
    pub key: DeviceKey,
    pub lot: Option<Lot>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub value: Value,
    pub class: Visibility,
}

/// A validated, normalised event.
#[derive(Clone, Debug)]
pub struct ValidEvent {
    pub event_id: String,
    pub event_type: EventType,
    pub action: Option<Action>,
    pub biz_step: Option<BizStep>,
    pub disposition: Option<Disposition>,
    pub event_time: DateTime<Utc>,
    pub event_time_zone_offset: String,
    pub epcs: Vec<DeviceRef>,
    pub parent: Option<DeviceRef>,
    pub children: Vec<DeviceRef>,
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    pub destinations: Vec<Party>,
    pub revision: Option<String>,
    /// Every member, normalised, with its class (extensions included).
    pub fields: Vec<Field>,
    pub error_declaration: Option<ErrorDeclaration>,
}

impl ValidEvent {
    /// Every device the event touches, each once, in order: parent, epcList,
    /// children.
    pub fn devices(&self) -> Vec<&DeviceRef> {
        let mut seen: HashSet<&DeviceKey> = HashSet::new();
        self.parent
            .iter()
            .chain(&self.epcs)
            .chain(&self.children)
            .filter(|d| seen.insert(&d.key))
            .collect()
    }

    /// The normalised input as one JSON object (member name → value), whose
    /// RFC 8785 form decides whether a replay is the same event.
    pub fn normalised_json(&self) -> Value {
        let map: Map<String, Value> = self
            .fields
            .iter()
            .map(|f| {
                let v = if standard_class(&f.name).is_some() {
                    f.value.clone()
                } else {
                    json!({ "value": f.value, "class": f.class.as_str() })
                };
                (f.name.clone(), v)
            })
            .collect();
        Value::Object(map)
    }

    pub fn is_biz_step(&self, step: &BizStep) -> bool {
        self.biz_step.as_ref() == Some(step)
    }

    /// The step's stored form.
    pub fn biz_step_str(&self) -> Option<&str> {
        self.biz_step.as_ref().map(BizStep::as_str)
    }

    /// The disposition's stored form.
    pub fn disposition_str(&self) -> Option<&str> {
        self.disposition.as_ref().map(Disposition::as_str)
    }
}

/// What is wrong, and with which member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &str, reason: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The device a stored `epcList`, `parentID` or `childEPCs` member names
/// (a Digital Link of a serialized GTIN), if it names one.
pub fn device_key_of(uri: &str) -> Option<DeviceKey> {
    device_ref("", uri).ok().map(|d| d.key)
}

fn device_ref(field: &str, uri: &str) -> Result<DeviceRef, FieldError> {
    match parse_digital_link(uri, &DlParseOptions::portal()) {
        Ok(DigitalLink::Serialized(link)) => Ok(DeviceRef {
            key: link.device_key().clone(),
            lot: link.lot().cloned(),
        }),
        Ok(DigitalLink::NotOurs(_)) => Err(FieldError::new(
            field,
            format!("{uri:?} is a Digital Link but not of a serialized GTIN (01 + 21)"),
        )),
        Err(e) => Err(FieldError::new(
            field,
            format!("{uri:?} is not a valid Digital Link URI: {e}"),
        )),
    }
}

fn canonical_epc(d: &DeviceRef) -> String {
    super::canonical_uri_with_lot(CANONICAL_DL_BASE, &d.key, d.lot.as_ref())
}

fn parse_offset(s: &str) -> Result<FixedOffset, String> {
    let bytes = s.as_bytes();
    let ok = bytes.len() == 6
        && (bytes[0] == b'+' || bytes[0] == b'-')
        && bytes[3] == b':'
        && [1, 2, 4, 5].iter().all(|&i| bytes[i].is_ascii_digit());
    if !ok {
        return Err(format!("{s:?} is not an offset of the form +HH:MM"));
    }
    let h: i32 = s[1..3].parse().map_err(|_| "bad hours".to_string())?;
    let m: i32 = s[4..6].parse().map_err(|_| "bad minutes".to_string())?;
    if h > 14 || m > 59 {
        return Err(format!("{s:?} is out of range"));
    }
    let secs = (h * 3600 + m * 60) * if bytes[0] == b'-' { -1 } else { 1 };
    FixedOffset::east_opt(secs).ok_or_else(|| format!("{s:?} is out of range"))
}

fn valid_extension_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn optional_uri(field: &str, value: &Option<String>) -> Result<Option<String>, FieldError> {
    match value {
        None => Ok(None),
        Some(v) if is_full_uri(v) => Ok(Some(v.clone())),
        Some(v) => Err(FieldError::new(field, format!("{v:?} must be a full URI"))),
    }
}

fn parties(field: &str, list: &[Party]) -> Result<Value, FieldError> {
    let mut out = Vec::with_capacity(list.len());
    for p in list {
        if p.kind.is_empty() || p.kind.len() > 512 || p.id.is_empty() || p.id.len() > 512 {
            return Err(FieldError::new(
                field,
                "each entry needs a type and an id of at most 512 characters",
            ));
        }
        out.push(json!({ "type": p.kind, field.trim_end_matches("List"): p.id }));
    }
    Ok(Value::Array(out))
}

pub use super::json_depth::{MAX_VALUE_DEPTH, nesting};

/// Checks one event against every rule that needs no stored state. Sizes
/// come first, and every check takes time in proportion to the event.
pub fn validate(raw: RawEvent, now: DateTime<Utc>) -> Result<ValidEvent, FieldError> {
    let count = raw.epc_list.len() + raw.child_epcs.len() + usize::from(raw.parent_id.is_some());
    if count > MAX_EVENT_DEVICES {
        return Err(FieldError::new(
            if raw.epc_list.len() >= raw.child_epcs.len() {
                "epcList"
            } else {
                "childEPCs"
            },
            format!("names {count} devices; an event names at most {MAX_EVENT_DEVICES}"),
        ));
    }
    if raw.extensions.len() > MAX_EVENT_FIELDS {
        return Err(FieldError::new(
            "",
            format!("more than {MAX_EVENT_FIELDS} fields"),
        ));
    }
    let event_id = raw.event_id.trim().to_owned();
    if event_id.is_empty() || event_id.len() > 512 || event_id != raw.event_id {
        return Err(FieldError::new(
            "eventID",
            "must be 1-512 characters without surrounding spaces",
        ));
    }
    match (raw.event_type, raw.action) {
        (EventType::Transformation, Some(_)) => {
            return Err(FieldError::new(
                "action",
                "a TransformationEvent has no action",
            ));
        }
        (EventType::Transformation, None) => {}
        (_, None) => return Err(FieldError::new("action", "required for this event type")),
        _ => {}
    }
    let offset = parse_offset(&raw.event_time_zone_offset)
        .map_err(|r| FieldError::new("eventTimeZoneOffset", r))?;
    let event_time = DateTime::parse_from_rfc3339(&raw.event_time)
        .map_err(|e| FieldError::new("eventTime", format!("not an RFC 3339 timestamp: {e}")))?
        .with_timezone(&Utc);
    if event_time > now + MAX_FUTURE_SKEW {
        return Err(FieldError::new("eventTime", "lies in the future"));
    }
    let biz_step = raw
        .biz_step
        .as_deref()
        .map(BizStep::parse)
        .transpose()
        .map_err(|r| FieldError::new("bizStep", r))?;
    let disposition = raw
        .disposition
        .as_deref()
        .map(Disposition::parse)
        .transpose()
        .map_err(|r| FieldError::new("disposition", r))?;

    let epcs = raw
        .epc_list
        .iter()
        .map(|u| device_ref("epcList", u))
        .collect::<Result<Vec<_>, _>>()?;
    let parent = raw
        .parent_id
        .as_deref()
        .map(|u| device_ref("parentID", u))
        .transpose()?;
    let children = raw
        .child_epcs
        .iter()
        .map(|u| device_ref("childEPCs", u))
        .collect::<Result<Vec<_>, _>>()?;
    for (name, list) in [("epcList", &epcs), ("childEPCs", &children)] {
        let mut seen: HashSet<&DeviceKey> = HashSet::with_capacity(list.len());
        if let Some(d) = list.iter().find(|d| !seen.insert(&d.key)) {
            return Err(FieldError::new(name, format!("{} is listed twice", d.key)));
        }
    }
    // A device is named once per event, in one of parentID, epcList and
    // childEPCs: each device takes one role in the event's leaves.
    let mut named: HashSet<&DeviceKey> = children.iter().map(|c| &c.key).collect();
    if let Some(p) = &parent
        && !named.insert(&p.key)
        && !matches!(
            raw.event_type,
            EventType::Aggregation | EventType::Association
        )
    {
        return Err(FieldError::new(
            "parentID",
            format!(
                "{} is also named in childEPCs; name each device once per event",
                p.key
            ),
        ));
    }
    if let Some(d) = epcs.iter().find(|d| named.contains(&d.key)) {
        return Err(FieldError::new(
            "epcList",
            format!(
                "{} is also named in parentID or childEPCs; name each device once per event",
                d.key
            ),
        ));
    }
    match raw.event_type {
        EventType::Object | EventType::Transaction if epcs.is_empty() => {
            return Err(FieldError::new("epcList", "names no device"));
        }
        EventType::Aggregation | EventType::Association => {
            let Some(p) = &parent else {
                return Err(FieldError::new("parentID", "required for this event type"));
            };
            if children.is_empty() && raw.action != Some(Action::Observe) {
                return Err(FieldError::new("childEPCs", "names no device"));
            }
            if children.iter().any(|c| c.key == p.key) {
                return Err(FieldError::new(
                    "childEPCs",
                    "a device cannot contain itself",
                ));
            }
        }
        EventType::Transformation if epcs.is_empty() => {
            return Err(FieldError::new("epcList", "names no device"));
        }
        _ => {}
    }
    let read_point = optional_uri("readPoint", &raw.read_point)?;
    let biz_location = optional_uri("bizLocation", &raw.biz_location)?;
    let revision = match raw.ilmd.as_ref().and_then(|v| v.get("revision")) {
        None => None,
        Some(Value::String(s)) => Some(
            super::RevisionTag::parse(s)
                .map_err(|e| FieldError::new("ilmd", format!("revision: {e}")))?
                .as_str()
                .to_owned(),
        ),
        Some(_) => return Err(FieldError::new("ilmd", "revision must be a string")),
    };
    if let Some(ilmd) = &raw.ilmd
        && !ilmd.is_object()
    {
        return Err(FieldError::new("ilmd", "must be an object"));
    }
    if let Some(s) = &raw.sensor_element_list
        && !s.is_array()
    {
        return Err(FieldError::new("sensorElementList", "must be a list"));
    }

    let mut fields: Vec<Field> = Vec::new();
    let mut push = |name: &str, value: Value| {
        let class = standard_class(name).unwrap_or(Visibility::Internal);
        fields.push(Field {
            name: name.to_owned(),
            value,
            class,
        });
    };
    push("eventID", json!(event_id));
    push("type", json!(raw.event_type.as_str()));
    if let Some(a) = raw.action {
        push("action", json!(a.as_str()));
    }
    if let Some(b) = &biz_step {
        push("bizStep", json!(b.as_str()));
    }
    if let Some(d) = &disposition {
        push("disposition", json!(d.as_str()));
    }
    // Stored as the instant in UTC with milliseconds; the offset says how the
    // capturing site wrote it.
    push(
        "eventTime",
        json!(event_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
    );
    push("eventTimeZoneOffset", json!(raw.event_time_zone_offset));
    if !epcs.is_empty() {
        push(
            "epcList",
            Value::Array(epcs.iter().map(|d| json!(canonical_epc(d))).collect()),
        );
    }
    if let Some(p) = &parent {
        push("parentID", json!(canonical_epc(p)));
    }
    if !children.is_empty() {
        push(
            "childEPCs",
            Value::Array(children.iter().map(|d| json!(canonical_epc(d))).collect()),
        );
    }
    if let Some(r) = &read_point {
        push("readPoint", json!({ "id": r }));
    }
    if let Some(b) = &biz_location {
        push("bizLocation", json!({ "id": b }));
    }
    if !raw.source_list.is_empty() {
        push("sourceList", parties("sourceList", &raw.source_list)?);
    }
    if !raw.destination_list.is_empty() {
        push(
            "destinationList",
            parties("destinationList", &raw.destination_list)?,
        );
    }
    if let Some(s) = raw.sensor_element_list {
        push("sensorElementList", s);
    }
    if let Some(i) = raw.ilmd {
        push("ilmd", i);
    }
    // Derived public fields, committed on their own so that a customer view
    // can disclose a day without the full timestamp.
    push("eventType", json!(raw.event_type.as_str()));
    push(
        "eventDate",
        json!(
            event_time
                .with_timezone(&offset)
                .format("%Y-%m-%d")
                .to_string()
        ),
    );
    let error_declaration = match raw.error_declaration {
        None => None,
        Some(d) => {
            let (valid, value) = validate_declaration(d, now)?;
            push("errorDeclaration", value);
            Some(valid)
        }
    };
    let mut names: HashSet<String> = fields.iter().map(|f| f.name.clone()).collect();
    for ext in raw.extensions {
        if !valid_extension_name(&ext.name) {
            return Err(FieldError::new(
                &ext.name,
                "extension names must match ^[a-z][A-Za-z0-9_]{0,63}$",
            ));
        }
        if is_reserved_name(&ext.name) {
            return Err(FieldError::new(
                &ext.name,
                "is reserved (a standard member, or a leaf's own commitment: device, prev), not an extension name",
            ));
        }
        if !names.insert(ext.name.clone()) {
            return Err(FieldError::new(&ext.name, "given twice"));
        }
        fields.push(Field {
            name: ext.name,
            value: ext.value,
            class: ext.visibility.unwrap_or(Visibility::Internal),
        });
    }
    if fields.len() > MAX_EVENT_FIELDS {
        return Err(FieldError::new(
            "",
            format!("more than {MAX_EVENT_FIELDS} fields"),
        ));
    }
    if let Some(f) = fields.iter().find(|f| nesting(&f.value) > MAX_VALUE_DEPTH) {
        return Err(FieldError::new(
            &f.name,
            format!("nests arrays and objects more than {MAX_VALUE_DEPTH} levels deep"),
        ));
    }
    let event = ValidEvent {
        event_id,
        event_type: raw.event_type,
        action: raw.action,
        biz_step,
        disposition,
        event_time,
        event_time_zone_offset: raw.event_time_zone_offset,
        epcs,
        parent,
        children,
        read_point,
        biz_location,
        destinations: raw.destination_list,
        revision,
        fields,
        error_declaration,
    };
    let size = serde_json::to_vec(&event.normalised_json()).map_or(usize::MAX, |v| v.len());
    if size > MAX_EVENT_JSON_BYTES {
        return Err(FieldError::new(
            "",
            format!(
                "the event is {size} bytes of JSON; at most {MAX_EVENT_JSON_BYTES} are allowed"
            ),
        ));
    }
    Ok(event)
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
