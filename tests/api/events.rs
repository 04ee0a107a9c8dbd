//! Event builders (the GraphQL JSON of EPCIS events) and typed GraphQL
//! helpers shared by the capture, log and demo tests.

use provenance::auth::Role;
use serde_json::{Value, json};

use crate::helpers::TestApp;

pub const PACK_GTIN: &str = "04012345000016";
pub const BMS_GTIN: &str = "04012345000023";

pub fn dl(gtin: &str, serial: &str) -> String {
    format!("https://id.example/01/{gtin}/21/{serial}")
}

pub fn object<S: AsRef<str>>(id: &str, biz_step: &str, epcs: &[S]) -> Value {
    let epcs: Vec<&str> = epcs.iter().map(AsRef::as_ref).collect();
    json!({
        "eventID": id,
        "type": "ObjectEvent",
        "action": if biz_step == "commissioning" { "ADD" } else { "OBSERVE" },
        "bizStep": biz_step,
        "eventTime": "2026-06-01T08:00:00.000+02:00",
        "eventTimeZoneOffset": "+02:00",
        "epcList": epcs,
    })
}

pub fn aggregation<S: AsRef<str>>(
    id: &str,
    action: &str,
    biz_step: &str,
    parent: &str,
    children: &[S],
) -> Value {
    let children: Vec<&str> = children.iter().map(AsRef::as_ref).collect();
    json!({
        "eventID": id,
        "type": "AggregationEvent",
        "action": action,
        "bizStep": biz_step,
        "eventTime": "2026-06-02T08:00:00.000+02:00",
        "eventTimeZoneOffset": "+02:00",
        "parentID": parent,
        "childEPCs": children,
    })
}

pub fn at(mut event: Value, time: &str) -> Value {
    event["eventTime"] = json!(time);
    event
}

const CAPTURE: &str = "mutation($e: [EventInput!]!) { captureEvents(events: $e) { receipts { eventID recordTime leafIndexes } } }";

impl TestApp {
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        self.client
            .post(format!("{}/graphql", self.address))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON")
    }

    pub async fn capture(&self, token: &str, events: Vec<Value>) -> Value {
        self.gql(token, CAPTURE, json!({ "e": events })).await
    }

    /// Registers the demo organisations and two products; returns a staff token.
    pub async fn with_products(&self) -> String {
        let staff = self.token(Role::Staff, "ampera").await;
        for (gtin, name) in [(PACK_GTIN, "Pack"), (BMS_GTIN, "BMS board")] {
            let r = self
                .gql(
                    &staff,
                    "mutation($g: String!, $n: String!) { createProduct(gtin: $g, name: $n, model: \"M1\", warrantyMonths: 24, warrantyTerms: \"2 years\") { gtin } }",
                    json!({ "g": gtin, "n": name }),
                )
                .await;
            assert_eq!(r["data"]["createProduct"]["gtin"], gtin, "{r}");
        }
        staff
    }

    pub async fn device(&self, token: &str, gtin: &str, serial: &str, selection: &str) -> Value {
        let r = self
            .gql(
                token,
                &format!("query($g: String!, $s: String!) {{ device(gtin: $g, serial: $s) {{ {selection} }} }}"),
                json!({ "g": gtin, "s": serial }),
            )
            .await;
        assert!(r.get("errors").is_none(), "{r}");
        r["data"]["device"].clone()
    }

    pub async fn count(&self, table: &str) -> i64 {
        use sea_orm::{ConnectionTrait, Database, Statement};
        let db = Database::connect(&self.database_url)
            .await
            .expect("connect");
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }
}

/// The same event as the GraphQL JSON, for the service layer.
pub fn raw_event(v: &Value) -> provenance::domain::event::RawEvent {
    use provenance::domain::event::{Action, EventType, RawEvent};
    let list = |k: &str| -> Vec<String> {
        v[k].as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let text = |k: &str| v[k].as_str().map(str::to_owned);
    RawEvent {
        event_id: text("eventID").unwrap_or_default(),
        event_type: EventType::parse(v["type"].as_str().unwrap_or_default()).expect("type"),
        action: v["action"].as_str().and_then(Action::parse),
        biz_step: text("bizStep"),
        disposition: text("disposition"),
        event_time: text("eventTime").unwrap_or_default(),
        event_time_zone_offset: text("eventTimeZoneOffset").unwrap_or_default(),
        epc_list: list("epcList"),
        parent_id: text("parentID"),
        child_epcs: list("childEPCs"),
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
