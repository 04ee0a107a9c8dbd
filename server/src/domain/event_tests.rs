//! Tests of `domain::event`: validation and normalisation.
use super::*;

pub(crate) fn raw(event_id: &str) -> RawEvent {
    RawEvent {
        event_id: event_id.into(),
        event_type: EventType::Object,
        action: Some(Action::Observe),
        biz_step: Some("inspecting".into()),
        disposition: None,
        event_time: "2026-03-01T10:00:00+01:00".into(),
        event_time_zone_offset: "+01:00".into(),
        epc_list: vec!["https://example.com/01/09520123456788/21/ABC1".into()],
        parent_id: None,
        child_epcs: vec![],
        read_point: None,
        biz_location: None,
        source_list: vec![],
        destination_list: vec![],
        sensor_element_list: None,
        ilmd: None,
        extensions: vec![],
        error_declaration: None,
    }
}

fn now() -> DateTime<Utc> {
    "2026-11-30T00:00:00Z".parse().unwrap()
}

#[test]
fn accepts_and_normalises() {
    let mut r = raw("e1");
    r.biz_step = Some("urn:epcglobal:cbv:bizstep:inspecting".into());
    r.epc_list =
        vec!["https://x.example/01/9520123456788/10/L%2F1/21/ABC1?linkType=gs1:pip".into()];
    r.extensions.push(RawExtension {
        name: "qcResult".into(),
        value: json!("pass"),
        visibility: Some(Visibility::Partner),
    });
    let e = validate(r, now()).unwrap();
    assert_eq!(e.biz_step_str(), Some("inspecting"));
    assert_eq!(e.epcs[0].key.to_string(), "09520123456788/ABC1");
    assert_eq!(e.epcs[0].lot.as_ref().unwrap().as_str(), "L/1");
    let j = e.normalised_json();
    assert_eq!(
        j["epcList"][0],
        "https://id.gs1.org/01/09520123456788/10/L%2F1/21/ABC1"
    );
    assert_eq!(j["eventTime"], "2026-03-01T09:00:00.000Z");
    assert_eq!(j["qcResult"], json!({"value": "pass", "class": "partner"}));
    assert_eq!(
        e.fields
            .iter()
            .find(|f| f.name == "qcResult")
            .unwrap()
            .class,
        Visibility::Partner
    );
}

#[test]
fn rejects_each_bad_member_by_name() {
    type Mutation = Box<dyn Fn(&mut RawEvent)>;
    let cases: Vec<(Mutation, &str)> = vec![
        (Box::new(|r| r.event_id = String::new()), "eventID"),
        (Box::new(|r| r.action = None), "action"),
        (Box::new(|r| r.biz_step = Some("burn_in".into())), "bizStep"),
        (
            Box::new(|r| r.disposition = Some("lost".into())),
            "disposition",
        ),
        (Box::new(|r| r.event_time = "yesterday".into()), "eventTime"),
        (
            Box::new(|r| r.event_time = "2027-01-01T00:00:00Z".into()),
            "eventTime",
        ),
        (
            Box::new(|r| r.event_time_zone_offset = "+1".into()),
            "eventTimeZoneOffset",
        ),
        (
            Box::new(|r| r.epc_list = vec!["https://a.example/00/006141411234567890".into()]),
            "epcList",
        ),
        (
            Box::new(|r| r.epc_list = vec!["not a uri".into()]),
            "epcList",
        ),
        (Box::new(|r| r.epc_list.clear()), "epcList"),
        (
            Box::new(|r| r.read_point = Some("dock 4".into())),
            "readPoint",
        ),
        (
            Box::new(|r| r.event_type = EventType::Aggregation),
            "parentID",
        ),
        (
            Box::new(|r| {
                r.extensions.push(RawExtension {
                    name: "Bad-Name".into(),
                    value: json!(1),
                    visibility: None,
                })
            }),
            "Bad-Name",
        ),
        (
            Box::new(|r| {
                r.extensions.push(RawExtension {
                    name: "operator".into(),
                    value: json!(1),
                    visibility: None,
                })
            }),
            "operator",
        ),
        (
            Box::new(|r| {
                r.extensions.push(RawExtension {
                    name: "big".into(),
                    value: json!("x".repeat(70_000)),
                    visibility: None,
                })
            }),
            "",
        ),
        (
            Box::new(|r| {
                for i in 0..260 {
                    r.extensions.push(RawExtension {
                        name: format!("f{i}"),
                        value: json!(i),
                        visibility: None,
                    });
                }
            }),
            "",
        ),
    ];
    for (mutate, field) in cases {
        let mut r = raw("e1");
        mutate(&mut r);
        let err = validate(r, now()).unwrap_err();
        assert_eq!(err.field, field, "{err:?}");
    }
}

#[test]
fn extension_default_class_is_internal() {
    let mut r = raw("e1");
    r.extensions.push(RawExtension {
        name: "supplierBatch".into(),
        value: json!("B7"),
        visibility: None,
    });
    let e = validate(r, now()).unwrap();
    assert_eq!(e.fields.last().unwrap().class, Visibility::Internal);
}

/// Each device takes one role in an event (its leaves and the custody
/// replay know it by that role only).
#[test]
fn a_device_is_named_once_per_event() {
    let a = "https://example.com/01/09520123456788/21/ABC1";
    let b = "https://example.com/01/09520123456788/21/ABC2";
    let mut r = raw("e1");
    r.parent_id = Some(a.into());
    r.event_type = EventType::Transaction;
    assert_eq!(validate(r, now()).unwrap_err().field, "epcList");
    let mut r = raw("e2");
    r.event_type = EventType::Aggregation;
    r.action = Some(Action::Add);
    r.parent_id = Some(b.into());
    r.child_epcs = vec![a.into()];
    assert_eq!(validate(r, now()).unwrap_err().field, "epcList");
    let mut r = raw("e3");
    r.event_type = EventType::Aggregation;
    r.action = Some(Action::Add);
    r.epc_list = vec![];
    r.parent_id = Some(a.into());
    r.child_epcs = vec![a.into()];
    let e = validate(r, now()).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.reason.as_str()),
        ("childEPCs", "a device cannot contain itself")
    );
    let mut r = raw("e4");
    r.event_type = EventType::Aggregation;
    r.action = Some(Action::Add);
    r.epc_list = vec![];
    r.parent_id = Some(b.into());
    r.child_epcs = vec![a.into()];
    assert!(validate(r, now()).is_ok());
}

fn nested(depth: usize) -> Value {
    let mut v = json!(1);
    for i in 0..depth {
        v = if i % 2 == 0 {
            json!([v])
        } else {
            json!({ "k": v })
        };
    }
    v
}

#[test]
fn values_nest_at_most_the_limit() {
    assert_eq!(nesting(&json!("x")), 0);
    assert_eq!(nesting(&json!([])), 1);
    assert_eq!(nesting(&json!({ "a": [1, [2]], "b": {} })), 3);
    assert_eq!(nesting(&nested(150)), 150);
    let mut r = raw("deep");
    r.ilmd = Some(json!({ "lot": nested(MAX_VALUE_DEPTH - 1) }));
    validate(r, now()).expect("at the limit");
    let mut r = raw("deeper");
    r.ilmd = Some(json!({ "lot": nested(MAX_VALUE_DEPTH) }));
    let e = validate(r, now()).unwrap_err();
    assert_eq!(e.field, "ilmd");
    let mut r = raw("deep extension");
    r.extensions.push(RawExtension {
        name: "deep".into(),
        value: nested(150),
        visibility: None,
    });
    assert_eq!(validate(r, now()).unwrap_err().field, "deep");
}

#[test]
fn the_device_count_is_checked_first_and_refuses_only_what_could_not_fit() {
    // The shortest stored Digital Link, with its quotes and comma: no event
    // naming more than MAX_EVENT_DEVICES could fit MAX_EVENT_JSON_BYTES.
    let shortest = DeviceRef {
        key: DeviceKey::parse("09520123456788/1").unwrap(),
        lot: None,
    };
    assert_eq!(canonical_epc(&shortest).len() + 3, 44);
    const { assert!(MAX_EVENT_DEVICES * 44 > MAX_EVENT_JSON_BYTES) };
    // Over the count, refused by count before any link is parsed (these
    // are not even Digital Links).
    let mut r = raw("many");
    r.epc_list = vec!["x".into(); MAX_EVENT_DEVICES + 1];
    let e = validate(r, now()).unwrap_err();
    assert_eq!(e.field, "epcList");
    assert!(e.reason.contains("at most 1500"), "{}", e.reason);
    // At the count, the size limit is what refuses it.
    let mut r = raw("at the count");
    r.epc_list = (0..MAX_EVENT_DEVICES)
        .map(|i| format!("https://example.com/01/09520123456788/21/{i}"))
        .collect();
    let e = validate(r, now()).unwrap_err();
    assert!(e.reason.contains("bytes of JSON"), "{}", e.reason);
    // Duplicates far apart in a long list are still found.
    let mut r = raw("twice");
    r.epc_list = (0..1000)
        .map(|i| format!("https://example.com/01/09520123456788/21/{}", i % 999))
        .collect();
    let e = validate(r, now()).unwrap_err();
    assert_eq!(e.field, "epcList");
    assert!(e.reason.contains("listed twice"), "{}", e.reason);
}
