//! The audit's check of one leaf (docs/ledger-format.md §7c, items 2–5):
//! its data, hash, chain link and every commitment.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{AuditSummary, Check, Finding, fail};
use crate::domain::DeviceKey;
use crate::domain::visibility::{Visibility, standard_class};
use crate::ledger::{self, Hash, Leaf, Opening, Salt, leaf_hash};
use crate::services::log::{RECORD_TIME, record_time_text};
use crate::store::audit::EventColumns;
use crate::store::log::LeafRow;

fn json_str(fields: &HashMap<String, (Value, String)>, name: &str) -> Option<String> {
    fields
        .get(name)
        .and_then(|(v, _)| v.as_str().map(str::to_owned))
}

/// The event's columns must say what its committed members say.
fn columns_match(cols: &EventColumns, fields: &HashMap<String, (Value, String)>) -> Check<()> {
    let event_time = cols
        .event_time
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let pairs: [(&str, Option<String>); 6] = [
        ("type", Some(cols.event_type.clone())),
        ("action", cols.action.clone()),
        ("bizStep", cols.biz_step.clone()),
        ("disposition", cols.disposition.clone()),
        ("eventTime", Some(event_time)),
        (
            "eventTimeZoneOffset",
            Some(cols.event_time_zone_offset.clone()),
        ),
    ];
    for (name, column) in pairs {
        // An erased member cannot be compared (none of these is personal,
        // so erasure never takes them).
        if fields.contains_key(name) || column.is_some() {
            let committed = json_str(fields, name);
            if committed != column {
                return Err(fail("the event row disagrees with its committed member")
                    .event(&cols.event_id)
                    .field(name));
            }
        }
    }
    Ok(())
}

/// One leaf: its data, hash, chain link and every commitment.
#[allow(clippy::too_many_arguments)]
pub(super) fn check_leaf(
    row: &LeafRow,
    cols: &EventColumns,
    organisation: Option<&str>,
    stored: &HashMap<String, (Value, String)>,
    devices: &HashMap<i64, crate::store::audit::DeviceKeyRow>,
    erased: &HashMap<(i64, String), crate::store::audit::ErasedRow>,
    chains: &mut HashMap<i64, (u64, Hash)>,
    erased_seen: &mut HashSet<(i64, String)>,
    summary: &mut AuditSummary,
) -> Check<()> {
    let here = |what: &str| fail(what).at_leaf(row).event(&cols.event_id);
    let (gtin, serial, created_at) = devices
        .get(&row.device_id)
        .ok_or_else(|| here("the leaf's device does not exist"))?;
    let element = DeviceKey::parse(&format!("{gtin}/{serial}"))
        .map(|k| k.element_string())
        .map_err(|_| here("the leaf's device has an invalid key"))?;
    let here = |what: &str| here(what).device(&element);
    let leaf = Leaf::decode(&row.data).map_err(|e| here(&format!("leaf data: {e}")))?;
    // Capture writes version 2 since it exists: a version-1 leaf after
    // one is not the portal's.
    if leaf.version() == 1 && (summary.v2_leaves > 0 || summary.anchors > 0) {
        return Err(here("a version-1 leaf follows version-2 leaves"));
    }
    if leaf.version() == 2 {
        summary.v2_leaves += 1;
    }
    if row.hash != leaf_hash(&row.data).0.to_vec() {
        return Err(here(
            "the stored leaf hash is not the hash of the leaf data",
        ));
    }
    let salts: HashMap<String, String> =
        serde_json::from_str::<HashMap<String, String>>(&row.salts)
            .map_err(|_| here("the stored salts are not a JSON object of strings"))?;
    // The device chain: seq from 0, prev = the device's previous leaf (in
    // version 2 opened with its stored salt).
    let expected = chains
        .get(&row.device_id)
        .map_or((0, None), |(s, h)| (s + 1, Some(*h)));
    let prev_salt = salts
        .get(ledger::leaf::PREV_FIELD)
        .and_then(|s| Salt::from_base64(s).ok());
    if leaf.seq != expected.0
        || row.seq != expected.0 as i64
        || !leaf.prev.links_to(expected.1.as_ref(), prev_salt.as_ref())
    {
        return Err(here(&format!(
            "the device chain is broken: seq {} where {} was due, or prev is not the previous leaf",
            leaf.seq, expected.0
        )));
    }
    chains.insert(row.device_id, (leaf.seq, leaf_hash(&row.data)));
    // A device row is created by the batch of its first event.
    if leaf.seq == 0 && *created_at != cols.record_time {
        return Err(here(
            "the device row's created_at is not the record time of its first event",
        ));
    }
    let open = |name: &str, value: Value, commitment: &ledger::Commitment| -> Check<()> {
        let salt = salts
            .get(name)
            .and_then(|s| Salt::from_base64(s).ok())
            .ok_or_else(|| here("the salt is missing or malformed").field(name))?;
        let (_, c) = Opening::new(name, value, salt)
            .map_err(|e| here(&format!("cannot be committed: {e}")).field(name))?;
        if &c != commitment {
            return Err(
                here("the stored value and salt do not open the leaf's commitment").field(name),
            );
        }
        Ok(())
    };
    open(
        ledger::leaf::DEVICE_FIELD,
        Value::String(element.clone()),
        &leaf.device,
    )?;
    open(
        ledger::leaf::EVENT_FIELD,
        Value::String(cols.event_id.clone()),
        &leaf.event,
    )?;
    summary.commitments += 2;
    if leaf.version() == 2 {
        // `prev` opened above, with the chain.
        summary.commitments += 1;
        if !leaf.fields.contains_key(RECORD_TIME) {
            return Err(here("a version-2 leaf commits no record time").field(RECORD_TIME));
        }
    }
    for (name, commitment) in &leaf.fields {
        // The record time is the event row's column, not a stored member.
        if name == RECORD_TIME {
            open(
                name,
                Value::String(record_time_text(cols.record_time)),
                commitment,
            )
            .map_err(|f| Finding {
                what: "the event row's record time is not the committed one".into(),
                ..f
            })?;
            summary.commitments += 1;
            continue;
        }
        match stored.get(name) {
            Some((value, _)) => {
                open(name, value.clone(), commitment)?;
                summary.commitments += 1;
            }
            None => {
                let record = erased.get(&(row.leaf_index, name.clone())).ok_or_else(|| {
                    here("the value is missing and no erasure record names it").field(name)
                })?;
                let personal = Visibility::Personal.as_str();
                // A version-2 leaf says which fields are personal; for a
                // version-1 leaf only a standard member's class is known.
                let class_ok = record.class == personal
                    && standard_class(name).is_none_or(|c| c == Visibility::Personal)
                    && leaf.is_personal(name) != Some(false);
                if !class_ok {
                    return Err(
                        here("an erasure record names a value that is not personal").field(name)
                    );
                }
                if record.commitment != commitment.to_base64() || record.event_id != row.event_id {
                    return Err(here("the erasure record names another commitment").field(name));
                }
                if salts.contains_key(name) {
                    return Err(here("an erased value's salt is still stored").field(name));
                }
                erased_seen.insert((row.leaf_index, name.clone()));
            }
        }
    }
    // Each stored member has its class: a standard member the fixed one,
    // an extension a known one.
    for (name, (_, class)) in stored {
        // `recordTime` is the event row's column, `device` and `prev` the
        // leaf's own commitments: never stored members.
        if matches!(name.as_str(), "recordTime" | "device" | "prev") {
            return Err(here("a stored value has a reserved name").field(name));
        }
        // `errorDeclaration` became a standard member with declarations;
        // before, it could be an extension's name.
        let fixed = if name == "errorDeclaration"
            && !cols
                .event_id
                .ends_with(crate::services::capture::DECLARATION_SUFFIX)
        {
            None
        } else {
            standard_class(name)
        };
        let ok = match fixed {
            Some(c) => c.as_str() == class,
            None => class.parse::<Visibility>().is_ok(),
        };
        if !ok {
            return Err(here("the stored class is not the member's class").field(name));
        }
        let stored_personal = class == Visibility::Personal.as_str();
        if leaf.is_personal(name).is_some_and(|p| p != stored_personal) {
            return Err(
                here("the stored class disagrees with the leaf's list of personal fields")
                    .field(name),
            );
        }
    }
    // The acting organisation committed is the event row's.
    if json_str(stored, "organisation").as_deref() != organisation
        && stored.contains_key("organisation")
    {
        return Err(
            here("the event row's organisation is not the committed one").field("organisation"),
        );
    }
    // Nothing stored that the leaf does not commit.
    for name in stored.keys() {
        if name != ledger::leaf::EVENT_FIELD && !leaf.fields.contains_key(name) {
            return Err(here("a stored value is not committed in the leaf").field(name));
        }
    }
    columns_match(cols, stored).map_err(|f| Finding {
        leaf: Some(row.leaf_index),
        device: Some(element.clone()),
        ..f
    })?;
    Ok(())
}
