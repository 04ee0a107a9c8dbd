//! The JSON body of a GraphQL POST, parsed straight into requests with
//! bounded work: no intermediate tree (async-graphql's `BatchRequest` is an
//! untagged enum, which serde buffers whole before choosing a variant), at
//! most [`MAX_VALUES`] JSON values in variables and extensions, nested at
//! most [`MAX_DEPTH`] deep, and at most `max_operations` operations. Memory
//! stays proportional to the body.

use std::collections::HashMap;
use std::fmt;

use async_graphql::{BatchRequest, Name, Number, Request, Value, Variables};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// JSON values in one body's variables and extensions, counted over all its
/// operations. A 10,000-event capture batch holds about 400,000.
pub const MAX_VALUES: usize = 2_000_000;
/// Nesting of a variable's value (arrays and objects).
pub const MAX_DEPTH: usize = 64;

/// Why a body was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Over a limit: the message names it.
    Limit(String),
    /// Not a GraphQL request in JSON.
    Malformed(String),
}

struct Budget {
    values: usize,
    max_operations: usize,
    /// The limit that stopped the parse, if one did.
    hit: Option<String>,
}

impl Budget {
    fn refuse<E: de::Error>(&mut self, message: String) -> E {
        let e = E::custom(&message);
        self.hit = Some(message);
        e
    }

    fn take<E: de::Error>(&mut self) -> Result<(), E> {
        if self.values == 0 {
            return Err(self.refuse(format!(
                "a request holds at most {MAX_VALUES} values in its variables"
            )));
        }
        self.values -= 1;
        Ok(())
    }
}

/// Parses a POST body: one operation (an object) or a batch (an array).
pub fn parse(body: &[u8], max_operations: usize) -> Result<BatchRequest, BodyError> {
    let mut budget = Budget {
        values: MAX_VALUES,
        max_operations,
        hit: None,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let batch = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let parsed = if batch {
        BatchSeed(&mut budget)
            .deserialize(&mut de)
            .map(BatchRequest::Batch)
    } else {
        RequestSeed(&mut budget)
            .deserialize(&mut de)
            .map(BatchRequest::Single)
    };
    let parsed = parsed.and_then(|r| de.end().map(|()| r));
    parsed.map_err(|e| match budget.hit.take() {
        Some(limit) => BodyError::Limit(limit),
        None if e.to_string().starts_with("recursion limit exceeded") => BodyError::Limit(format!(
            "a variable's value nests at most {MAX_DEPTH} levels deep"
        )),
        None => BodyError::Malformed(e.to_string()),
    })
}

struct BatchSeed<'a>(&'a mut Budget);

impl<'de> DeserializeSeed<'de> for BatchSeed<'_> {
    type Value = Vec<Request>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for BatchSeed<'_> {
    type Value = Vec<Request>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of GraphQL requests")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        loop {
            if out.len() == self.0.max_operations {
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    let max = self.0.max_operations;
                    return Err(self
                        .0
                        .refuse(format!("at most {max} operations per request")));
                }
                return Ok(out);
            }
            match seq.next_element_seed(RequestSeed(self.0))? {
                Some(r) => out.push(r),
                None => return Ok(out),
            }
        }
    }
}

struct RequestSeed<'a>(&'a mut Budget);

impl<'de> DeserializeSeed<'de> for RequestSeed<'_> {
    type Value = Request;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RequestSeed<'_> {
    type Value = Request;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GraphQL request (an object with a `query`)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut query: Option<String> = None;
        let mut operation_name: Option<Option<String>> = None;
        let mut variables: Option<Value> = None;
        let mut extensions: Option<Value> = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let duplicate = match key.as_ref() {
                "query" => query.replace(map.next_value()?).is_some(),
                "operationName" => operation_name.replace(map.next_value()?).is_some(),
                "variables" => variables
                    .replace(map.next_value_seed(ValueSeed {
                        budget: self.0,
                        depth: 0,
                    })?)
                    .is_some(),
                "extensions" => extensions
                    .replace(map.next_value_seed(ValueSeed {
                        budget: self.0,
                        depth: 0,
                    })?)
                    .is_some(),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    false
                }
            };
            if duplicate {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
        }
        let query = query.ok_or_else(|| de::Error::missing_field("query"))?;
        let mut request = Request::new(query);
        if let Some(Some(name)) = operation_name {
            request = request.operation_name(name);
        }
        match variables {
            None | Some(Value::Null) => {}
            Some(v @ Value::Object(_)) => request = request.variables(Variables::from_value(v)),
            Some(_) => return Err(de::Error::custom("`variables` must be an object")),
        }
        match extensions {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                request.extensions.0 = map
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect::<HashMap<_, _>>();
            }
            Some(_) => return Err(de::Error::custom("`extensions` must be an object")),
        }
        Ok(request)
    }
}

/// One JSON value, counted against the budget.
struct ValueSeed<'a> {
    budget: &'a mut Budget,
    depth: usize,
}

impl ValueSeed<'_> {
    fn nest<E: de::Error>(&mut self) -> Result<ValueSeed<'_>, E> {
        if self.depth + 1 > MAX_DEPTH {
            return Err(self.budget.refuse(format!(
                "a variable's value nests at most {MAX_DEPTH} levels deep"
            )));
        }
        Ok(ValueSeed {
            budget: self.budget,
            depth: self.depth + 1,
        })
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.budget.take()?;
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.budget.take()?;
        Ok(Value::Boolean(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.budget.take()?;
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.budget.take()?;
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.budget.take()?;
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.budget.take()?;
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.budget.take()?;
        Ok(Value::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Value, A::Error> {
        self.budget.take()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.nest()?)? {
            out.push(v);
        }
        Ok(Value::List(out))
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Value, A::Error> {
        self.budget.take()?;
        let mut out = Vec::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let value = map.next_value_seed(self.nest()?)?;
            out.push((Name::new(key), value));
        }
        Ok(Value::Object(out.into_iter().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(body: &str) -> Request {
        match parse(body.as_bytes(), 16).unwrap() {
            BatchRequest::Single(r) => r,
            BatchRequest::Batch(_) => panic!("a batch"),
        }
    }

    #[test]
    fn requests_read_back_as_sent() {
        let r = single(
            r#"{"query":"query Q($a: [Int]) { me { org } }","operationName":"Q","variables":{"a":[1,-2,3.5,"x",null,true,{"k":[]}]},"extensions":{"e":1},"other":[1,2]}"#,
        );
        assert_eq!(r.query, "query Q($a: [Int]) { me { org } }");
        assert_eq!(r.operation_name.as_deref(), Some("Q"));
        assert_eq!(
            r.variables.into_value().into_json().unwrap(),
            serde_json::json!({"a": [1, -2, 3.5, "x", null, true, {"k": []}]})
        );
        assert_eq!(r.extensions.0["e"], Value::Number(1.into()));
        let r = single(r#"{"query":"{ a }","variables":null,"operationName":null}"#);
        assert!(r.operation_name.is_none());
        match parse(br#" [{"query":"{ a }"},{"query":"{ b }"}]"#, 16).unwrap() {
            BatchRequest::Batch(rs) => assert_eq!(rs.len(), 2),
            BatchRequest::Single(_) => panic!("one"),
        }
    }

    #[test]
    fn malformed_bodies_are_malformed() {
        for body in [
            r#"{"query": 42}"#,
            r#"{"variables": {}}"#,
            r#"{"query": "{ a }", "query": "{ b }"}"#,
            r#"{"query": "{ a }", "variables": [1]}"#,
            r#"{"query": "{ a }"} trailing"#,
            r#"[{"query": "{ a }"}, 3]"#,
            "",
            "nonsense",
        ] {
            assert!(
                matches!(parse(body.as_bytes(), 16), Err(BodyError::Malformed(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn limits_stop_the_parse() {
        let zeros = vec!["0"; MAX_VALUES + 1].join(",");
        let body = format!(r#"{{"query":"{{ a }}","variables":{{"a":[{zeros}]}}}}"#);
        assert!(matches!(
            parse(body.as_bytes(), 16),
            Err(BodyError::Limit(_))
        ));
        let deep = format!(
            r#"{{"query":"{{ a }}","variables":{{"a":{}1{}}}}}"#,
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert!(matches!(
            parse(deep.as_bytes(), 16),
            Err(BodyError::Limit(_))
        ));
        let within = format!(
            r#"{{"query":"{{ a }}","variables":{{"a":{}1{}}}}}"#,
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert!(parse(within.as_bytes(), 16).is_ok());
        let ops = vec![r#"{"query":"{ a }"}"#; 17].join(",");
        assert!(matches!(
            parse(format!("[{ops}]").as_bytes(), 16),
            Err(BodyError::Limit(_))
        ));
        let ops = vec![r#"{"query":"{ a }"}"#; 16].join(",");
        assert!(parse(format!("[{ops}]").as_bytes(), 16).is_ok());
    }
}
