//! The EPCIS 2.0 event types and actions.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Object,
    Aggregation,
    Transformation,
    Transaction,
    Association,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Object => "ObjectEvent",
            EventType::Aggregation => "AggregationEvent",
            EventType::Transformation => "TransformationEvent",
            EventType::Transaction => "TransactionEvent",
            EventType::Association => "AssociationEvent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            EventType::Object,
            EventType::Aggregation,
            EventType::Transformation,
            EventType::Transaction,
            EventType::Association,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Add,
    Observe,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "ADD",
            Action::Observe => "OBSERVE",
            Action::Delete => "DELETE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Action::Add, Action::Observe, Action::Delete]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}
