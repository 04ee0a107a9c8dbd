//! Capture input types. Names mirror EPCIS 2.0 (async-graphql would
//! camel-case them otherwise: `eventID`, `parentID`, `childEPCs`).

use async_graphql::{Enum, InputObject, Json};
use serde_json::Value;

use crate::domain::event::{self, Party, RawEvent, RawExtension};
use crate::domain::visibility::Visibility as DomainVisibility;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    #[graphql(name = "ObjectEvent")]
    Object,
    #[graphql(name = "AggregationEvent")]
    Aggregation,
    #[graphql(name = "TransformationEvent")]
    Transformation,
    #[graphql(name = "TransactionEvent")]
    Transaction,
    #[graphql(name = "AssociationEvent")]
    Association,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Add,
    Observe,
    Delete,
}

/// A field's visibility class (docs/access-policy.md).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Partner,
    Internal,
    Personal,
}

impl From<Visibility> for DomainVisibility {
    fn from(v: Visibility) -> Self {
        match v {
            Visibility::Public => DomainVisibility::Public,
            Visibility::Partner => DomainVisibility::Partner,
            Visibility::Internal => DomainVisibility::Internal,
            Visibility::Personal => DomainVisibility::Personal,
        }
    }
}

impl From<DomainVisibility> for Visibility {
    fn from(v: DomainVisibility) -> Self {
        match v {
            DomainVisibility::Public => Visibility::Public,
            DomainVisibility::Partner => Visibility::Partner,
            DomainVisibility::Internal => Visibility::Internal,
            DomainVisibility::Personal => Visibility::Personal,
        }
    }
}

/// An EPCIS source or destination: `type` (e.g. `owning_party`) and the
/// organisation's slug or a URI.
#[derive(InputObject)]
pub struct PartyInput {
    #[graphql(name = "type")]
    pub kind: String,
    pub id: String,
}

/// A named extension field. Its class is `INTERNAL` unless declared.
#[derive(InputObject)]
pub struct ExtensionFieldInput {
    pub name: String,
    pub value: Json<Value>,
    pub visibility: Option<Visibility>,
}

/// One EPCIS 2.0 event.
#[derive(InputObject)]
pub struct EventInput {
    #[graphql(name = "eventID")]
    pub event_id: String,
    #[graphql(name = "type")]
    pub event_type: EventType,
    pub action: Option<Action>,
    /// CBV term (`shipping`), CBV URI, or a full URI of your own.
    #[graphql(name = "bizStep")]
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    /// RFC 3339 timestamp.
    #[graphql(name = "eventTime")]
    pub event_time: String,
    /// `+HH:MM` / `-HH:MM`.
    #[graphql(name = "eventTimeZoneOffset")]
    pub event_time_zone_offset: String,
    /// Digital Link URIs of serialized units.
    #[graphql(name = "epcList", default)]
    pub epc_list: Vec<String>,
    #[graphql(name = "parentID")]
    pub parent_id: Option<String>,
    #[graphql(name = "childEPCs", default)]
    pub child_epcs: Vec<String>,
    #[graphql(name = "readPoint")]
    pub read_point: Option<String>,
    #[graphql(name = "bizLocation")]
    pub biz_location: Option<String>,
    #[graphql(name = "sourceList", default)]
    pub source_list: Vec<PartyInput>,
    #[graphql(name = "destinationList", default)]
    pub destination_list: Vec<PartyInput>,
    #[graphql(name = "sensorElementList")]
    pub sensor_element_list: Option<Json<Value>>,
    /// Instance master data at commissioning, e.g. `{"revision": "B2"}`.
    pub ilmd: Option<Json<Value>>,
    #[graphql(default)]
    pub extensions: Vec<ExtensionFieldInput>,
    /// EPCIS `errorDeclaration`: sent with the eventID of an event already
    /// captured, it declares that event in error (staff only).
    #[graphql(name = "errorDeclaration")]
    pub error_declaration: Option<ErrorDeclarationInput>,
}

/// EPCIS 2.0 `errorDeclaration`.
#[derive(InputObject)]
pub struct ErrorDeclarationInput {
    /// RFC 3339 timestamp.
    #[graphql(name = "declarationTime")]
    pub declaration_time: String,
    /// CBV error reason (`did_not_occur`, `incorrect_data`) or a full URI.
    pub reason: Option<String>,
    /// The events that correct the declared one.
    #[graphql(name = "correctiveEventIDs", default)]
    pub corrective_event_ids: Vec<String>,
}

impl From<EventInput> for RawEvent {
    fn from(i: EventInput) -> Self {
        let parties = |l: Vec<PartyInput>| {
            l.into_iter()
                .map(|p| Party {
                    kind: p.kind,
                    id: p.id,
                })
                .collect()
        };
        RawEvent {
            event_id: i.event_id,
            event_type: match i.event_type {
                EventType::Object => event::EventType::Object,
                EventType::Aggregation => event::EventType::Aggregation,
                EventType::Transformation => event::EventType::Transformation,
                EventType::Transaction => event::EventType::Transaction,
                EventType::Association => event::EventType::Association,
            },
            action: i.action.map(|a| match a {
                Action::Add => event::Action::Add,
                Action::Observe => event::Action::Observe,
                Action::Delete => event::Action::Delete,
            }),
            biz_step: i.biz_step,
            disposition: i.disposition,
            event_time: i.event_time,
            event_time_zone_offset: i.event_time_zone_offset,
            epc_list: i.epc_list,
            parent_id: i.parent_id,
            child_epcs: i.child_epcs,
            read_point: i.read_point,
            biz_location: i.biz_location,
            source_list: parties(i.source_list),
            destination_list: parties(i.destination_list),
            sensor_element_list: i.sensor_element_list.map(|j| j.0),
            ilmd: i.ilmd.map(|j| j.0),
            extensions: i
                .extensions
                .into_iter()
                .map(|e| RawExtension {
                    name: e.name,
                    value: e.value.0,
                    visibility: e.visibility.map(Into::into),
                })
                .collect(),
            error_declaration: i.error_declaration.map(|d| event::RawErrorDeclaration {
                declaration_time: d.declaration_time,
                reason: d.reason,
                corrective_event_ids: d.corrective_event_ids,
            }),
        }
    }
}
